// Command bench compares a twinedge release to both regions with `aws s3 sync` to one,
// against the same S3 endpoint in the same run, on a generated 2,000-file site:
//
//	go run ./build/bench [-s3 local|moto|URL] [-files 2000]
//
// Scenarios: the initial upload; an unchanged rebuild (every file rewritten, so every
// mtime is new, as in CI); 1% of files changed in a fresh build; and 1% changed in
// place (only the changed files get new mtimes: the best case for sync). Each tool's
// requests pass through a counting proxy, so the PUT counts are what the server saw.
// Run on demand, never from tests: the timings depend on the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/infra/local"
)

var logger *slog.Logger

func main() {
	s3flag := flag.String("s3", "local", `S3 endpoint: "local" (infra/local origins in process), "moto" (start moto_server) or a URL`)
	nfiles := flag.Int("files", 2000, "files in the generated site")
	verbose := flag.Bool("v", false, "log twinedge's phases to stderr")
	flag.Parse()
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := run(*s3flag, *nfiles); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// counter is a reverse proxy that counts requests by kind.
type counter struct {
	srv                       *httptest.Server
	puts, deletes, reads, all atomic.Int64
}

func newCounter(backend string) (*counter, error) {
	u, err := url.Parse(backend)
	if err != nil {
		return nil, err
	}
	c := &counter{}
	rp := httputil.NewSingleHostReverseProxy(u)
	// The Host header is left as the client sent it: SigV4 signs it.
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.all.Add(1)
		switch {
		case r.Method == http.MethodPut:
			c.puts.Add(1)
		case r.Method == http.MethodDelete || r.Method == http.MethodPost && r.URL.Query().Has("delete"):
			c.deletes.Add(1)
		default:
			c.reads.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	return c, nil
}

type snapshot struct{ puts, deletes, all int64 }

func (c *counter) snap() snapshot { return snapshot{c.puts.Load(), c.deletes.Load(), c.all.Load()} }

func run(s3flag string, nfiles int) error {
	ctx := context.Background()
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		return fmt.Errorf("the aws CLI is needed (pip install awscli): %w", err)
	}
	tmp, err := os.MkdirTemp("", "twinedge-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	backends, stop, err := startS3(s3flag, tmp)
	if err != nil {
		return err
	}
	defer stop()
	regions := []string{"us-east-1", "eu-west-2"}
	var proxies []*counter
	var targets []build.Target
	for i, r := range regions {
		p, err := newCounter(backends[i])
		if err != nil {
			return err
		}
		defer p.srv.Close()
		proxies = append(proxies, p)
		c, err := build.NewS3Client(ctx, p.srv.URL, r)
		if err != nil {
			return err
		}
		targets = append(targets, build.Target{Region: r, Bucket: "bench-site-" + r, RecordBucket: "bench-records-" + r, Client: c})
	}
	// aws s3 sync goes to a bucket of its own behind the primary's proxy.
	syncBucket := "bench-sync"
	if err := createBuckets(ctx, awsBin, proxies[0].srv.URL, regions[0], syncBucket, targets[0].Bucket, targets[0].RecordBucket); err != nil {
		return err
	}
	if err := createBuckets(ctx, awsBin, proxies[1].srv.URL, regions[1], targets[1].Bucket, targets[1].RecordBucket); err != nil {
		return err
	}

	site := newSite(nfiles)
	type row struct {
		scenario       string
		teTime, syTime time.Duration
		tePuts, syPuts int64
		teReqs, syReqs int64
	}
	var rows []row
	step := func(name string, dir string) error {
		before := [2]snapshot{proxies[0].snap(), proxies[1].snap()}
		start := time.Now()
		_, err := build.Release(ctx, build.Options{
			Source:     build.Source{Dir: dir, Static: true},
			Targets:    targets,
			MaxDeletes: build.DefaultMaxDeletes,
			Logger:     logger,
		})
		te := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: twinedge: %w", name, err)
		}
		after := [2]snapshot{proxies[0].snap(), proxies[1].snap()}
		tePuts := after[0].puts - before[0].puts + after[1].puts - before[1].puts
		teReqs := after[0].all - before[0].all + after[1].all - before[1].all

		before[0] = proxies[0].snap()
		start = time.Now()
		cmd := exec.CommandContext(ctx, awsBin, "--endpoint-url", proxies[0].srv.URL, "s3", "sync", dir, "s3://"+syncBucket, "--only-show-errors")
		cmd.Env = awsEnv(regions[0])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: aws s3 sync: %w", name, err)
		}
		sy := time.Since(start)
		after[0] = proxies[0].snap()
		rows = append(rows, row{name, te, sy, tePuts, after[0].puts - before[0].puts, teReqs, after[0].all - before[0].all})
		fmt.Fprintf(os.Stderr, "%s done\n", name)
		return nil
	}

	if err := step("initial upload", site.write(filepath.Join(tmp, "b1"))); err != nil {
		return err
	}
	if err := step("unchanged rebuild (all mtimes new)", site.write(filepath.Join(tmp, "b2"))); err != nil {
		return err
	}
	changed := site.change(nfiles / 100)
	if err := step("1% changed, fresh build", site.write(filepath.Join(tmp, "b3"))); err != nil {
		return err
	}
	_ = changed
	// In place: rewrite only the changed files of the last build (sync's best case).
	dir := filepath.Join(tmp, "b3")
	for _, p := range site.change(nfiles / 100) {
		if err := site.writeOne(dir, p); err != nil {
			return err
		}
	}
	site.removeStale(dir)
	if err := step("1% changed in place", dir); err != nil {
		return err
	}

	start := time.Now()
	ver := exec.CommandContext(ctx, awsBin, "--version")
	ver.Env = awsEnv(regions[0])
	if err := ver.Run(); err != nil {
		return err
	}
	startup := time.Since(start)

	before := [2]snapshot{proxies[0].snap(), proxies[1].snap()}
	start = time.Now()
	rb, err := build.Rollback(ctx, build.Options{Targets: targets, MaxDeletes: build.DefaultMaxDeletes, Logger: logger}, "")
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	rollback := time.Since(start)
	after := [2]snapshot{proxies[0].snap(), proxies[1].snap()}

	fmt.Printf("twinedge release to 2 regions vs aws s3 sync to 1; %d files, %s total; S3: %s\n", nfiles, human(site.bytes()), s3flag)
	fmt.Printf("(aws CLI start-up, included in its times: %.2fs for `aws --version`; twinedge ran in process, without CloudFront)\n", startup.Seconds())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttwinedge (2 regions)\tPUTs\trequests\taws s3 sync (1 region)\tPUTs\trequests\ttime ratio twinedge/sync\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.2fs\t%d\t%d\t%.2fs\t%d\t%d\t%.3f\t\n", r.scenario, r.teTime.Seconds(), r.tePuts, r.teReqs,
			r.syTime.Seconds(), r.syPuts, r.syReqs, r.teTime.Seconds()/r.syTime.Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Printf("rollback to the previous release, both regions: %.2fs, %d files copied server-side, %d requests\n",
		rollback.Seconds(), rb.Uploaded, after[0].all-before[0].all+after[1].all-before[1].all)
	return nil
}

func awsEnv(region string) []string {
	env := os.Environ()
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		env = append(env, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	}
	return append(env, "AWS_DEFAULT_REGION="+region, "AWS_PAGER=")
}

func createBuckets(ctx context.Context, awsBin, endpoint, region string, buckets ...string) error {
	for _, b := range buckets {
		args := []string{"--endpoint-url", endpoint, "s3api", "create-bucket", "--bucket", b}
		if region != "us-east-1" {
			args = append(args, "--create-bucket-configuration", "LocationConstraint="+region)
		}
		cmd := exec.CommandContext(ctx, awsBin, args...)
		cmd.Env = awsEnv(region)
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "BucketAlreadyOwnedByYou") {
			return fmt.Errorf("create bucket %s: %v: %s", b, err, out)
		}
	}
	return nil
}

// startS3 returns one S3 endpoint per region.
func startS3(which, tmp string) ([]string, func(), error) {
	switch which {
	case "moto":
		bin, err := exec.LookPath("moto_server")
		if err != nil {
			return nil, nil, fmt.Errorf("moto_server not found (pip install 'moto[server]'): %w", err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", port)
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		u := "http://127.0.0.1:" + port
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if resp, err := http.Get(u + "/moto-api/"); err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				return nil, nil, fmt.Errorf("moto_server did not start on %s", u)
			}
		}
		return []string{u, u}, func() { cmd.Process.Kill(); cmd.Wait() }, nil
	case "local":
		creds := aws.Credentials{AccessKeyID: envOr("AWS_ACCESS_KEY_ID", "test"), SecretAccessKey: envOr("AWS_SECRET_ACCESS_KEY", "test")}
		var urls []string
		var closers []func()
		for _, r := range []string{"us-east-1", "eu-west-2"} {
			o, err := local.NewS3Origin(filepath.Join(tmp, "s3-"+r), r, creds)
			if err != nil {
				return nil, nil, err
			}
			srv := httptest.NewServer(o)
			urls = append(urls, srv.URL)
			closers = append(closers, func() { srv.Close(); o.Close() })
		}
		return urls, func() {
			for _, c := range closers {
				c()
			}
		}, nil
	default:
		return []string{which, which}, func() {}, nil
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// site is a generated static site: pages, content-hashed assets and plain images.
type site struct {
	rng   *rand.Rand
	files map[string][]byte
	stale []string // names replaced by the last change
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
// bundler gives changed content). It returns the names written.
func (s *site) change(k int) []string {
	var pages, assets []string
	for name := range s.files {
		if strings.HasSuffix(name, ".html") {
			pages = append(pages, name)
		} else if strings.HasPrefix(name, "assets/") {
			assets = append(assets, name)
		}
	}
	sortStrings(pages)
	sortStrings(assets)
	var out []string
	s.stale = nil
	for i := 0; i < k; i++ {
		if i%2 == 0 {
			p := pages[s.rng.IntN(len(pages))]
			s.files[p] = s.body(2<<10, 24<<10, "<!doctype html><title>changed</title>")
			out = append(out, p)
		} else {
			old := assets[s.rng.IntN(len(assets))]
			if _, ok := s.files[old]; !ok {
				continue
			}
			delete(s.files, old)
			s.stale = append(s.stale, old)
			out = append(out, s.addAsset())
		}
	}
	return out
}

func (s *site) write(dir string) string {
	for name := range s.files {
		if err := s.writeOne(dir, name); err != nil {
			panic(err)
		}
	}
	return dir
}

func (s *site) writeOne(dir, name string) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, s.files[name], 0o644)
}

func (s *site) removeStale(dir string) {
	for _, name := range s.stale {
		os.Remove(filepath.Join(dir, filepath.FromSlash(name)))
	}
}

func (s *site) bytes() int64 {
	var n int64
	for _, b := range s.files {
		n += int64(len(b))
	}
	return n
}

func sortStrings(s []string) { slices.Sort(s) }

func human(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
