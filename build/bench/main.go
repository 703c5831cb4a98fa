// Command bench times a twinedge release to both regions of a local world against
// s3deploy and `aws s3 sync`, each run once per region, on the same two local origins:
//
//	go run ./build/bench [-files 2000] [-big-mb 200] [-runs 1]
//	S3DEPLOY=/path/to/s3deploy go run ./build/bench
//
// The world (two regions' S3 origins and the edge with its CloudFront API) runs in this
// process; every tool runs as its own process, start-up included. twinedge runs the
// CLI (`twinedge release --dir D --no-wait --json`), so its time ends when the
// invalidation is accepted, as s3deploy's does (it never waits); the wait that
// follows by default is timed apart with `twinedge release --status`.
//
// Ratios are taken run by run (the median and range over -runs), since a run's tools
// take turns under the same load.
//
// Scenarios: the initial release of a generated site; an unchanged rebuild (every file
// written again, so every mtime is new, as in CI); 1% of files changed in a fresh
// build; and, in a fresh world, the initial release of the site plus one 200 MB file.
// Run on demand, never from tests: the timings depend on the machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/infra/local"
)

func main() {
	nfiles := flag.Int("files", 2000, "files in the generated site")
	bigMB := flag.Int("big-mb", 200, "size of the large file of the last scenario in MB (0: skip it)")
	runs := flag.Int("runs", 1, "repeat every scenario this many times (fresh worlds); the table shows min–max")
	twinedge := flag.String("twinedge", "", "twinedge binary (default: go build . into a temporary directory)")
	noSync := flag.Bool("no-sync", false, "skip aws s3 sync")
	profile := flag.String("cpuprofile-dir", "", "pass --cpuprofile DIR/<scenario>.pprof to every twinedge run, and profile the world (DIR/world.pprof)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(filepath.Join(*profile, "world.pprof"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*nfiles, *bigMB, *runs, *twinedge, *noSync, *profile); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// tool is one release tool under test.
type tool struct {
	name string
	// release publishes dir to both regions of w and returns the time each region (or,
	// for twinedge, the one run) took.
	release func(ctx context.Context, w *world, dir, scenario string) ([]time.Duration, error)
}

// result is one scenario's timings for every tool, over the runs.
type result struct {
	scenario string
	times    map[string][]time.Duration // tool → one total per run
	oneReg   map[string][]time.Duration // tool → the primary region's run alone
	phases   []build.PhaseTime          // twinedge's phases in the last run
	wait     []time.Duration            // twinedge: how long the invalidation then took
	uploaded int
	rss      map[string]int64           // tool → max RSS in bytes
	cpu      map[string]time.Duration   // tool → CPU time of its runs (both regions)
	origins  map[string][]time.Duration // tool → the origins' CPU time during each region's run (twinedge: one run)
}

func run(nfiles, bigMB, runs int, twinedgeBin string, noSync bool, profileDir string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "twinedge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if twinedgeBin == "" {
		twinedgeBin = filepath.Join(tmp, "twinedge")
		cmd := exec.Command("go", "build", "-o", twinedgeBin, ".")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build twinedge: %w", err)
		}
	}
	tools := []tool{{name: "twinedge", release: twinedgeRelease(twinedgeBin, profileDir)}}
	if bin := os.Getenv("S3DEPLOY"); bin != "" {
		tools = append(tools, tool{name: "s3deploy", release: s3deployRelease(bin)})
	} else {
		fmt.Fprintln(os.Stderr, "bench: S3DEPLOY not set: s3deploy is not compared (build bep/s3deploy with go build and set S3DEPLOY to the binary)")
	}
	if !noSync {
		bin, err := exec.LookPath("aws")
		if err != nil {
			return fmt.Errorf("the aws CLI is needed (pip install awscli), or pass -no-sync: %w", err)
		}
		tools = append(tools, tool{name: "aws s3 sync", release: syncRelease(bin)})
	}

	if os.Getenv("BENCH_TWINEDGE_LAST") != "" {
		tools = append(tools[1:], tools[0])
	}
	results := map[string]*result{}
	var order []string
	add := func(scenario string, tl tool, ts []time.Duration) *result {
		r := results[scenario]
		if r == nil {
			r = &result{scenario: scenario, times: map[string][]time.Duration{}, oneReg: map[string][]time.Duration{}}
			results[scenario] = r
			order = append(order, scenario)
		}
		var total time.Duration
		for _, t := range ts {
			total += t
		}
		r.times[tl.name] = append(r.times[tl.name], total)
		r.oneReg[tl.name] = append(r.oneReg[tl.name], ts[0])
		return r
	}
	var siteBytes int64
	for n := range runs {
		s := newSite(nfiles)
		siteBytes = s.bytes()
		scenarios := []struct {
			name  string
			dir   func() string
			fresh bool
		}{
			{"initial", func() string { return s.write(filepath.Join(tmp, fmt.Sprint(n), "b1")) }, true},
			{"unchanged rebuild (mtimes touched)", func() string { return s.write(filepath.Join(tmp, fmt.Sprint(n), "b2")) }, false},
			{"1% changed", func() string { s.change(nfiles / 100); return s.write(filepath.Join(tmp, fmt.Sprint(n), "b3")) }, false},
		}
		if bigMB > 0 {
			scenarios = append(scenarios, struct {
				name  string
				dir   func() string
				fresh bool
			}{fmt.Sprintf("initial with one %d MB file", bigMB), func() string {
				d := s.write(filepath.Join(tmp, fmt.Sprint(n), "b4"))
				if err := writeBig(filepath.Join(d, "media", "film.mp4"), int64(bigMB)<<20); err != nil {
					panic(err)
				}
				return d
			}, true})
		}
		// Every tool releases into a world of its own, so none finds another's objects or
		// pays for another's first writes; the tools take turns within each scenario.
		worlds := map[string]*world{}
		closeAll := func() {
			for _, w := range worlds {
				w.close()
			}
			clear(worlds)
		}
		for i, sc := range scenarios {
			if sc.fresh {
				closeAll()
				for _, tl := range tools {
					// One state directory per run, scenario and tool: a later run's worlds are new.
					state := filepath.Join(tmp, fmt.Sprint(n), fmt.Sprintf("state-%d-%s", i, strings.ReplaceAll(tl.name, " ", "-")))
					w, err := startWorld(ctx, state)
					if err != nil {
						closeAll()
						return err
					}
					worlds[tl.name] = w
				}
			}
			dir := sc.dir()
			clear(maxRSS)
			clear(cpu)
			clear(originCPU)
			for _, tl := range tools {
				w := worlds[tl.name]
				// Flush what was written before (the site, the previous tool's objects), so
				// no tool pays for another's writeback.
				syscall.Sync()
				ts, err := tl.release(ctx, w, dir, sc.name)
				if err != nil {
					closeAll()
					return fmt.Errorf("%s: %s: %w", sc.name, tl.name, err)
				}
				r := add(sc.name, tl, ts)
				r.rss, r.cpu, r.origins = maps.Clone(maxRSS), maps.Clone(cpu), maps.Clone(originCPU)
				if tl.name == "twinedge" {
					r.phases, r.uploaded = lastPhases, lastUploaded
					if wait, err := twinedgeWait(ctx, twinedgeBin, w); err == nil {
						r.wait = append(r.wait, wait)
					} else {
						fmt.Fprintln(os.Stderr, "bench: status:", err)
					}
				}
			}
			fmt.Fprintf(os.Stderr, "run %d: %s done\n", n+1, sc.name)
		}
		closeAll()
	}

	fmt.Printf("%d-file site (%.1f MB), two local regions (infra/local origins, in this process), %d run(s)\n", nfiles, float64(siteBytes)/(1<<20), runs)
	fmt.Println("twinedge: one `twinedge release --dir D --no-wait --json` to both regions, ending when CloudFront accepted the invalidation;")
	fmt.Println("s3deploy and aws s3 sync: run once per region; \"1 region\" is the primary's run alone.")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	head := "scenario\ttwinedge (2 regions)\tthen wait"
	others := slices.DeleteFunc(slices.Clone(tools), func(t tool) bool { return t.name == "twinedge" })
	for _, tl := range others {
		head += "\t" + tl.name + " (1 region)\t" + tl.name + " (2 regions)"
	}
	for _, tl := range others {
		head += "\ttwinedge(2)/" + tl.name + "(1)"
	}
	fmt.Fprintln(tw, head+"\t")
	for _, sc := range order {
		r := results[sc]
		line := sc + "\t" + span(r.times["twinedge"]) + "\t" + span(r.wait)
		for _, tl := range others {
			line += "\t" + span(r.oneReg[tl.name]) + "\t" + span(r.times[tl.name])
		}
		for _, tl := range others {
			line += "\t" + pairedRatio(r.times["twinedge"], r.oneReg[tl.name])
		}
		fmt.Fprintln(tw, line+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Println("\ntwinedge's phases (last run, --json \"phases\"; regions' phases overlap):")
	for _, sc := range order {
		r := results[sc]
		var parts []string
		for _, p := range r.phases {
			name := p.Phase
			if p.Region != "" {
				name += " " + p.Region
			}
			parts = append(parts, fmt.Sprintf("%s %.0fms", name, p.MS))
		}
		fmt.Printf("  %s (%d uploads): %s\n", sc, r.uploaded, strings.Join(parts, ", "))
	}
	fmt.Println("\neach tool's largest resident set and CPU time, both regions (GNU time, last run):")
	for _, sc := range order {
		var parts []string
		names := slices.Sorted(maps.Keys(results[sc].rss))
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %.0f MB, %.2fs CPU", n, float64(results[sc].rss[n])/(1<<20), results[sc].cpu[n].Seconds()))
		}
		fmt.Printf("  %s: %s\n", sc, strings.Join(parts, ", "))
	}
	fmt.Println("\nthe origins' CPU time (this process, which serves both regions) during each tool's runs, last run;")
	fmt.Println("on this machine's CPUs no release can take less than (tool CPU + origins' CPU) / CPUs:")
	for _, sc := range order {
		r := results[sc]
		var parts []string
		for _, n := range slices.Sorted(maps.Keys(r.origins)) {
			var total time.Duration
			for _, d := range r.origins[n] {
				total += d
			}
			part := fmt.Sprintf("%s %.2fs", n, total.Seconds())
			if len(r.origins[n]) > 1 {
				part += fmt.Sprintf(" (primary alone %.2fs)", r.origins[n][0].Seconds())
			}
			parts = append(parts, part)
		}
		fmt.Printf("  %s: %s\n", sc, strings.Join(parts, ", "))
	}
	return nil
}

// selfCPU is this process's CPU time so far (user+system): the origins' work, since
// every tool runs as a process of its own.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func span(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	lo, hi := slices.Min(ds), slices.Max(ds)
	if len(ds) == 1 || hi-lo < 5*time.Millisecond {
		return fmt.Sprintf("%.2fs", lo.Seconds())
	}
	return fmt.Sprintf("%.2f–%.2fs", lo.Seconds(), hi.Seconds())
}

// pairedRatio is a/b run by run (the tools take turns within a run, so a run's two
// figures saw the same load): the median ratio, and the range over runs when there are
// several.
func pairedRatio(a, b []time.Duration) string {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, a[i].Seconds()/b[i].Seconds())
	}
	if len(rs) == 0 {
		return "-"
	}
	slices.Sort(rs)
	if len(rs) == 1 {
		return fmt.Sprintf("%.2f", rs[0])
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", rs[len(rs)/2], rs[0], rs[len(rs)-1])
}

// world is a local world with extra buckets for the other tools.
type world struct {
	w     *local.World
	state string
	info  local.WorldFile
}

func startWorld(ctx context.Context, state string) (*world, error) {
	w, err := local.Start(ctx, local.Config{StateDir: state, Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	bw := &world{w: w, state: state, info: w.Info()}
	for _, r := range bw.info.Regions {
		c, err := build.NewS3Client(ctx, r.Origin, r.Name)
		if err != nil {
			return nil, err
		}
		for _, b := range []string{"bench-s3deploy-" + r.Name, "bench-sync-" + r.Name} {
			in := &s3.CreateBucketInput{Bucket: aws.String(b)}
			if r.Name != "us-east-1" {
				in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(r.Name)}
			}
			if _, err := c.CreateBucket(ctx, in); err != nil {
				return nil, fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
	}
	return bw, nil
}

func (w *world) close() { w.w.Close() }

// maxRSS is the largest resident set of each tool's runs in the current scenario, in
// bytes, and cpu their CPU time (user+system), as GNU time reports them. (The
// rusage Go gets from wait4 is no use for the peak: a child started with vfork counts
// this process's resident set as its own until it execs.)
var (
	maxRSS    = map[string]int64{}
	cpu       = map[string]time.Duration{}
	originCPU = map[string][]time.Duration{}
)

// command runs bin under /usr/bin/time when it exists; usage reads what it measured.
func command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	tm, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		return exec.CommandContext(ctx, bin, args...)
	}
	f, err := os.CreateTemp("", "bench-time-")
	if err != nil {
		return exec.CommandContext(ctx, bin, args...)
	}
	f.Close()
	c := exec.CommandContext(ctx, tm, append([]string{"-f", "%M %U %S", "-o", f.Name(), bin}, args...)...)
	usageFiles[c] = f.Name()
	return c
}

var usageFiles = map[*exec.Cmd]string{}

func noteUsage(name string, c *exec.Cmd) {
	file, ok := usageFiles[c]
	if !ok {
		return
	}
	delete(usageFiles, c)
	defer os.Remove(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var kb int64
	var user, sys float64
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &kb, &user, &sys); err == nil {
		maxRSS[name] = max(maxRSS[name], kb<<10)
		cpu[name] += time.Duration((user + sys) * float64(time.Second))
	}
}

// lastPhases and lastUploaded carry the phases of the latest twinedge run.
var (
	lastPhases   []build.PhaseTime
	lastUploaded int
)

func twinedgeRelease(bin, profileDir string) func(context.Context, *world, string, string) ([]time.Duration, error) {
	return func(ctx context.Context, w *world, dir, scenario string) ([]time.Duration, error) {
		args := []string{"release", "--state", w.state, "--dir", dir, "--no-wait", "--json"}
		if c := os.Getenv("BENCH_CONCURRENCY"); c != "" {
			args = append(args, "--concurrency", c)
		}
		if profileDir != "" {
			name := strings.NewReplacer(" ", "-", "%", "pct", "(", "", ")", "").Replace(scenario)
			args = append(args, "--cpuprofile", filepath.Join(profileDir, name+".pprof"))
		}
		cmd := command(ctx, bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		start, startCPU := time.Now(), selfCPU()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", err, out.String())
		}
		originCPU["twinedge"] = append(originCPU["twinedge"], selfCPU()-startCPU)
		noteUsage("twinedge", cmd)
		var rep build.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return nil, fmt.Errorf("decode the report: %w", err)
		}
		lastPhases, lastUploaded = rep.Phases, rep.Uploaded
		return []time.Duration{took}, nil
	}
}

// twinedgeWait polls `twinedge release --status` until the last release's invalidation
// completes and returns how long that took.
func twinedgeWait(ctx context.Context, bin string, w *world) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < 5*time.Minute {
		cmd := exec.CommandContext(ctx, bin, "release", "--state", w.state, "--status", "--json")
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("%w: %s", err, out)
		}
		var st build.StatusReport
		if err := json.Unmarshal(out, &st); err != nil {
			return 0, err
		}
		if st.InvalidationStatus != "InProgress" {
			return time.Since(start), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("the invalidation did not complete")
}

// perRegion runs the command cmd gives for each region in turn and times each run.
func perRegion(name string, cmd func(ctx context.Context, r local.RegionInfo, dir string) *exec.Cmd) func(context.Context, *world, string, string) ([]time.Duration, error) {
	return func(ctx context.Context, w *world, dir, _ string) ([]time.Duration, error) {
		var ts []time.Duration
		for _, r := range w.info.Regions {
			c := cmd(ctx, r, dir)
			c.Stdout, c.Stderr = os.Stderr, os.Stderr
			start, startCPU := time.Now(), selfCPU()
			if err := c.Run(); err != nil {
				return nil, err
			}
			ts = append(ts, time.Since(start))
			originCPU[name] = append(originCPU[name], selfCPU()-startCPU)
			noteUsage(name, c)
		}
		return ts, nil
	}
}

func s3deployRelease(bin string) func(context.Context, *world, string, string) ([]time.Duration, error) {
	return perRegion("s3deploy", func(ctx context.Context, r local.RegionInfo, dir string) *exec.Cmd {
		// Flags as in spec/judges.md.
		return command(ctx, bin, "-source", dir, "-bucket", "bench-s3deploy-"+r.Name, "-region", r.Name,
			"-endpoint-url", r.Origin, "-key", "test", "-secret", "test", "-quiet")
	})
}

func syncRelease(bin string) func(context.Context, *world, string, string) ([]time.Duration, error) {
	return perRegion("aws s3 sync", func(ctx context.Context, r local.RegionInfo, dir string) *exec.Cmd {
		cmd := command(ctx, bin, "--endpoint-url", r.Origin, "s3", "sync", dir, "s3://bench-sync-"+r.Name, "--delete", "--only-show-errors")
		env := os.Environ()
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
			env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
		}
		cmd.Env = append(env, "AWS_DEFAULT_REGION="+r.Name, "AWS_PAGER=")
		return cmd
	})
}

// writeBig writes n pseudo-random bytes to p, 1 MB at a time.
func writeBig(p string, n int64) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 1<<20)
	for n > 0 {
		for i := 0; i < len(buf); i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8; j++ {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		k := min(int64(len(buf)), n)
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		n -= k
	}
	return f.Close()
}

// site is a generated static site: pages, content-hashed assets and plain images.
type site struct {
	rng   *rand.Rand
	files map[string][]byte
}

func newSite(n int) *site {
	s := &site{rng: rand.New(rand.NewPCG(1, 2)), files: map[string][]byte{}}
	pages := n * 15 / 100
	images := n * 25 / 100
	for i := 0; i < pages; i++ {
		name := fmt.Sprintf("docs/p%04d/index.html", i)
		if i == 0 {
			name = "index.html"
		}
		s.files[name] = s.body(2<<10, 24<<10, "<!doctype html><title>page</title>")
	}
	for i := 0; i < images; i++ {
		s.files[fmt.Sprintf("img/photo-%04d.png", i)] = s.body(4<<10, 64<<10, "PNG")
	}
	for len(s.files) < n {
		s.addAsset()
	}
	return s
}

func (s *site) body(minSize, maxSize int, head string) []byte {
	n := minSize + s.rng.IntN(maxSize-minSize)
	b := make([]byte, n)
	copy(b, head)
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \n"
	for i := len(head); i < n; i++ {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return b
}

func (s *site) addAsset() string {
	b := s.body(1<<10, 48<<10, "/*js*/")
	name := fmt.Sprintf("assets/chunk-%08X.js", s.rng.Uint32())
	s.files[name] = b
	return name
}

// change edits k files: half pages (same name), half assets (a new hashed name, as a
// bundler gives changed content).
func (s *site) change(k int) {
	var pages, assets []string
	for name := range s.files {
		if strings.HasSuffix(name, ".html") {
			pages = append(pages, name)
		} else if strings.HasPrefix(name, "assets/") {
			assets = append(assets, name)
		}
	}
	slices.Sort(pages)
	slices.Sort(assets)
	for i := 0; i < k; i++ {
		if i%2 == 0 {
			p := pages[s.rng.IntN(len(pages))]
			s.files[p] = s.body(2<<10, 24<<10, "<!doctype html><title>changed</title>")
		} else if old := assets[s.rng.IntN(len(assets))]; s.files[old] != nil {
			delete(s.files, old)
			s.addAsset()
		}
	}
}

func (s *site) write(dir string) string {
	for name, b := range s.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			panic(err)
		}
	}
	return dir
}

func (s *site) bytes() int64 {
	var n int64
	for _, b := range s.files {
		n += int64(len(b))
	}
	return n
}
