// Command twinedge runs a public website that survives a cloud region going down, and shows
// it happening: locally with two regions and a CloudFront-like edge, or on AWS.
//
// main.go only parses flags and wires the packages together; see DESIGN.md for the CLI contract.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/edge/source"
	"github.com/twinedge/twinedge/infra"
	awsinfra "github.com/twinedge/twinedge/infra/aws"
	"github.com/twinedge/twinedge/infra/drill"
	"github.com/twinedge/twinedge/infra/local"
	"github.com/twinedge/twinedge/site"
)

// command is one subcommand: its flags are registered by setup, and run does the work.
type command struct {
	summary string
	usage   string // arguments after the command name
	setup   func(fs *flag.FlagSet) func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

// errUsage marks an error in the command line: the usage is printed after it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args[0]
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "twinedge: unknown command %q (run `twinedge --help`)\n", name)
		return 2
	}
	fs := flag.NewFlagSet("twinedge "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	state := fs.String("state", ".twinedge", "state directory of the local world")
	runFn := c.setup(fs)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: twinedge %s %s\n\n%s\n\nflags:\n", name, c.usage, c.summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "twinedge %s: %v (run `twinedge %s --help`)\n", name, err, name)
		return 2
	}
	stateDir = *state
	if err := runFn(ctx, pos); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "twinedge %s: %v (run `twinedge %s --help`)\n", name, err, name)
			return 2
		}
		fmt.Fprintf(stderr, "twinedge %s: %s\n", name, oneLine(err))
		return 1
	}
	return 0
}

// stateDir is the --state flag every command takes.
var stateDir string

// parseInterspersed parses flags that may follow positional arguments
// (`twinedge fail us-east-1 --mode 503`), which the flag package alone does not allow.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "twinedge: a website that survives a region going down, and a way to show it.")
	fmt.Fprintln(w, "\nusage: twinedge <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --state DIR (default .twinedge) and --help.")
}

// oneLine keeps an error to one line for the user.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func init() {
	register("up", command{
		summary: "run the local world (two regions and an edge) and release the site into it, until interrupted",
		usage:   "[--addr HOST:PORT] [--state DIR] [--break-lock] [--geo FILE]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "viewer address of the local edge")
			verbose := fs.Bool("v", false, "log each event to stderr")
			breakLock := fs.Bool("break-lock", false, "take over a release lock left in the world's record buckets even if it has not expired (its release died)")
			geoFile := fs.String("geo", "", geoFlagUsage)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				geo, err := loadGeo(*geoFile)
				if err != nil {
					return err
				}
				return up(ctx, *addr, *verbose, *breakLock, geo)
			}
		},
	})
	register("fail", command{
		summary: "break a region of the running world: --mode 500|502|503|504|403|404|refuse|blackhole|slow|reset|truncate|partition",
		usage:   "REGION --mode M [--target origin|api|all] [--delay D]  |  --origin ID --mode M  |  REGION --aws [--target origin|api|all]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			mode := fs.String("mode", "", "fault mode (required, except with --aws)")
			target := fs.String("target", "all", "what to break: origin, api or all (aws: the same as --aws --target all)")
			onAWS := fs.Bool("aws", false, "fail the region of the deployment on AWS (STATE/aws.json): the origin answers CloudFront 403, the API 503")
			delay := fs.Duration("delay", 0, "delay before headers for --mode slow (default 3s)")
			origin := fs.String("origin", "", "break one origin by id instead of a region (any origin of a `twinedge edge`)")
			return func(ctx context.Context, args []string) error {
				if *origin != "" {
					if len(args) != 0 || *onAWS {
						return fmt.Errorf("%w: --origin takes no REGION and no --aws", errUsage)
					}
					args = []string{""}
				}
				if len(args) != 1 {
					return fmt.Errorf("%w: want one REGION (or --origin ID)", errUsage)
				}
				if *onAWS || *target == "aws" {
					// On AWS a fault is what AWS lets one switch: the bucket policy denies
					// the distribution, the API answers 503 (see infra/aws/failure.go).
					if *mode != "" {
						return fmt.Errorf("%w: --mode does not apply on AWS: the origin answers 403, the API 503", errUsage)
					}
					t := *target
					if t == "aws" {
						t = string(infra.TargetAll)
					}
					return awsinfra.FailAWS(ctx, awsinfra.AccessOptions{StateDir: stateDir}, args[0], t)
				}
				if *mode == "" {
					return fmt.Errorf("%w: --mode is required", errUsage)
				}
				c, err := local.NewClient(stateDir)
				if err != nil {
					return err
				}
				req := local.FailRequest{Region: args[0], Origin: *origin, Mode: *mode, Target: *target}
				if *origin != "" {
					req.Target = ""
				}
				if *delay > 0 {
					req.Delay = delay.String()
				}
				s, err := c.Fail(ctx, req)
				if err != nil {
					return err
				}
				printStatus(os.Stdout, s)
				return nil
			}
		},
	})
	register("heal", command{
		summary: "clear the faults of one region, or of all regions",
		usage:   "[REGION] [--aws]  |  --origin ID",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			target := fs.String("target", "", "aws: the same as --aws")
			onAWS := fs.Bool("aws", false, "heal the deployment on AWS (STATE/aws.json) instead of the local world")
			origin := fs.String("origin", "", "heal one origin of a `twinedge edge` by id")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 {
					return fmt.Errorf("%w: at most one REGION", errUsage)
				}
				region := ""
				if len(args) == 1 {
					region = args[0]
				}
				if *onAWS {
					*target = "aws"
				}
				switch *target {
				case "aws":
					return awsinfra.HealAWS(ctx, awsinfra.AccessOptions{StateDir: stateDir}, region)
				case "", "all":
				default:
					return fmt.Errorf("%w: --target for heal is aws or nothing", errUsage)
				}
				c, err := local.NewClient(stateDir)
				if err != nil {
					return err
				}
				s, err := c.Heal(ctx, local.HealRequest{Region: region, Origin: *origin})
				if err != nil {
					return err
				}
				printStatus(os.Stdout, s)
				return nil
			}
		},
	})
	register("status", command{
		summary: "show the running world: endpoints, faults, and what each origin answers",
		usage:   "[--json]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print one JSON object")
			return func(ctx context.Context, args []string) error {
				c, err := local.NewClient(stateDir)
				if err != nil {
					return err
				}
				s, err := c.Status(ctx)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(os.Stdout).Encode(s)
				}
				printStatus(os.Stdout, s)
				return nil
			}
		},
	})
}

func printStatus(w io.Writer, s *local.Status) {
	fmt.Fprintf(w, "edge     %s  (distribution %s)\n", s.Edge, s.DistributionID)
	if s.EdgeTrouble != "" {
		fmt.Fprintf(w, "         TROUBLE: %s\n", s.EdgeTrouble)
	}
	fmt.Fprintf(w, "control  %s\n", s.Control)
	for _, r := range s.Regions {
		role := "secondary"
		if r.Primary {
			role = "primary"
		}
		faults := "healthy"
		if len(r.Faults) > 0 || r.Partitioned {
			var parts []string
			for t, f := range r.Faults {
				p := string(t) + "=" + f.Mode
				if f.Delay != "" {
					p += "(" + f.Delay + ")"
				}
				parts = append(parts, p)
			}
			if r.Partitioned {
				parts = append(parts, "replication=partitioned")
			}
			sort.Strings(parts)
			faults = "FAILED " + strings.Join(parts, " ")
		}
		line := fmt.Sprintf("%-10s %-9s %s", r.Name, role, faults)
		if r.Origin != "" {
			line = fmt.Sprintf("%-48s origin answers %s", line, r.Origin)
		}
		fmt.Fprintln(w, line)
	}
	for _, o := range s.Origins {
		state := "healthy"
		if o.Fault != nil {
			state = "FAILED " + o.Fault.Mode
			if o.Fault.Delay != "" {
				state += "(" + o.Fault.Delay + ")"
			}
		}
		fmt.Fprintf(w, "origin %-24s %-32s %s\n", o.ID, o.Target, state)
	}
}

func up(ctx context.Context, addr string, verbose, breakLock bool, geo func(netip.Addr) (edge.Geo, bool)) error {
	logger := slog.New(slog.DiscardHandler)
	if verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	w, err := local.Start(ctx, local.Config{StateDir: stateDir, Addr: addr, Geo: geo, Logger: logger})
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Println(w.Integrity())
	info := w.Info()
	if err := releaseLocal(ctx, &info, breakLock, os.Stderr); err != nil {
		return fmt.Errorf("release the site: %w", err)
	}
	fmt.Printf("twinedge is up: %s\n", info.Edge)
	fmt.Printf("  primary %s, secondary %s; world described in %s\n", info.Regions[0].Name, info.Regions[1].Name, filepath.Join(stateDir, local.WorldFileName))
	self := invokedAs()
	fmt.Printf("  try: %s fail %s --mode 503   then reload, then: %s heal\n", self, info.Regions[0].Name, self)
	<-ctx.Done()
	fmt.Println("twinedge: shutting down")
	return w.Close()
}

func init() {
	register("edge", command{
		summary: "serve any CloudFront distribution locally (HTTP, HTTPS, HTTP/2) from its CloudFormation template or get-distribution-config JSON",
		usage:   "SOURCE --origin ID=URL|DIR ... [--addr HOST:PORT] [--resource ID] [--param NAME=VALUE ...] [--watch] [--geo FILE]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "viewer address: HTTP and HTTPS on one port")
			controlAddr := fs.String("control-addr", "127.0.0.1:0", "address of the CloudFront control API (aws cloudfront --endpoint-url)")
			resource := fs.String("resource", "", "logical id of the AWS::CloudFront::Distribution when the template has several")
			origins := keyValues{}
			params := keyValues{}
			fs.Var(origins, "origin", "map an origin: ID=http://127.0.0.1:3000 (a server) or ID=./public (a folder served as its S3 bucket); repeatable")
			fs.Var(params, "param", "give a template parameter or an Fn::ImportValue name a value: NAME=VALUE; repeatable")
			watch := fs.Bool("watch", false, "reload SOURCE when it changes (a config CloudFront would refuse keeps the last good one serving)")
			verbose := fs.Bool("v", false, "log each event to stderr")
			geoFile := fs.String("geo", "", geoFlagUsage)
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("%w: want one SOURCE (a template or get-distribution-config JSON)", errUsage)
				}
				geo, err := loadGeo(*geoFile)
				if err != nil {
					return err
				}
				logger := slog.New(slog.DiscardHandler)
				if *verbose {
					logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
				}
				w, err := local.StartEdge(ctx, local.EdgeConfig{
					Source: args[0], Origins: origins, Addr: *addr, ControlAddr: *controlAddr, StateDir: stateDir,
					Load: source.Options{Resource: *resource, Params: params}, JS: jsfunc.Compile, Geo: geo, Logger: logger,
				})
				if err != nil {
					return err
				}
				defer w.Close()
				printEdge(os.Stdout, w)
				if *watch {
					go w.Watch(ctx, 500*time.Millisecond, func(err error) {
						if err != nil {
							fmt.Fprintf(os.Stderr, "twinedge edge: %s changed but is not served (the last good config keeps serving): %s\n", args[0], oneLine(err))
							return
						}
						fmt.Fprintf(os.Stderr, "twinedge edge: reloaded %s\n", args[0])
					})
				}
				<-ctx.Done()
				fmt.Println("twinedge edge: shutting down")
				return nil
			}
		},
	})
}

const geoFlagUsage = "where viewers are, for CloudFront's location headers (CloudFront-Viewer-Country …) and the distribution's geographic restriction: lines of `CIDR COUNTRY [key=value …]` (edge.GeoTable); without it no viewer's location is known"

// loadGeo reads the --geo table; "" is none.
func loadGeo(path string) (func(netip.Addr) (edge.Geo, bool), error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--geo: %w", err)
	}
	defer f.Close()
	t, err := edge.ParseGeoTable(f)
	if err != nil {
		return nil, fmt.Errorf("--geo %s: %w", path, err)
	}
	return t.Lookup, nil
}

// keyValues is a repeatable NAME=VALUE flag.
type keyValues map[string]string

func (kv keyValues) String() string { return "" }

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if _, dup := kv[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	kv[k] = v
	return nil
}

func printEdge(w io.Writer, e *local.EdgeWorld) {
	info, d := e.Info(), e.Loaded()
	name := d.LogicalID
	if name == "" {
		name = "the distribution"
	}
	fmt.Fprintf(w, "twinedge edge is serving %s: %s and %s (HTTP/2 by ALPN)\n", name, info.Edge, info.HTTPS)
	fmt.Fprintf(w, "  control API %s (aws cloudfront --endpoint-url %s, distribution %s)\n", info.Control, info.Control, info.DistributionID)
	for _, o := range info.Origins {
		fmt.Fprintf(w, "  origin %s → %s\n", o.ID, o.Target)
	}
	for _, u := range d.Unresolved {
		fmt.Fprintf(w, "  unresolved: %s\n", u.Why)
	}
	fmt.Fprintf(w, "  HTTPS certificate from the local CA %s; %s\n", info.CACert, e.CA().TrustHint())
	if len(info.Origins) > 0 {
		self := invokedAs()
		fmt.Fprintf(w, "  try: %s fail --origin %s --mode 503   then: %s heal\n", self, info.Origins[0].ID, self)
	}
}

func init() {
	register("build", command{
		summary: "build the site: HTML, content-hashed assets and manifest.json",
		usage:   "[--out DIR]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			out := fs.String("out", "dist", "output directory")
			asJSON := fs.Bool("json", false, "print the manifest as one JSON object")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				m, err := site.Build(*out)
				if err != nil {
					return err
				}
				if *asJSON {
					return json.NewEncoder(os.Stdout).Encode(m)
				}
				var total int64
				for _, f := range m.Files {
					total += f.Size
				}
				fmt.Printf("built %d files (%d bytes) into %s\n", len(m.Files), total, *out)
				return nil
			}
		},
	})
}

func init() {
	register("release", command{
		summary: "build the site and release it to both regions' buckets, then invalidate the edge",
		usage:   "[--dry-run] [--json] [--no-wait] [--dir DIR] [--config FILE] [--max-deletes N] [--keep N] [--history N] [--break-lock] [--rollback [ID] | --status [ID]] [--cpuprofile FILE] [--target local|aws]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			o := releaseFlags{}
			fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
			fs.BoolVar(&o.json, "json", false, "print one JSON object")
			fs.StringVar(&o.dir, "dir", "", "release this prebuilt static directory instead of twinedge's site")
			fs.StringVar(&o.config, "config", "", "per-glob rules for --dir (default DIR/.twinedge.json)")
			fs.IntVar(&o.maxDeletes, "max-deletes", 256, "fail if a bucket would lose more objects than this (-1: no limit)")
			fs.IntVar(&o.keep, "keep", 3, "releases whose files stay in the buckets")
			fs.IntVar(&o.history, "history", 100, "release records kept in each region (at least --keep)")
			fs.BoolVar(&o.breakLock, "break-lock", false, "take over the release lock even if it has not expired (its release died)")
			fs.BoolVar(&o.rollback, "rollback", false, "restore the previous release (or the release ID given as argument)")
			fs.BoolVar(&o.noWait, "no-wait", false, "return once CloudFront has accepted the invalidation, without waiting for it to complete")
			fs.BoolVar(&o.status, "status", false, "report the newest release (or the release ID given as argument) and its invalidation; change nothing")
			fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the release to this file")
			fs.IntVar(&o.concurrency, "concurrency", 0, "requests in flight per region (default 32)")
			target := fs.String("target", "local", "local: the world of --state; aws: the deployment in STATE/aws.json")
			endpoint := fs.String("endpoint-url", "", "with --target aws, send every AWS call here (for example a moto_server)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 || (len(args) == 1 && !o.rollback && !o.status) {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				if o.keep < 1 || o.history < 1 {
					return fmt.Errorf("%w: --keep and --history count releases: at least 1", errUsage)
				}
				if o.rollback && o.status {
					return fmt.Errorf("%w: --rollback and --status exclude each other", errUsage)
				}
				if len(args) == 1 {
					o.rollbackID = args[0]
				}
				tuneGCForRelease()
				if o.cpuProfile != "" {
					stop, err := startCPUProfile(o.cpuProfile)
					if err != nil {
						return err
					}
					defer stop()
				}
				connect, err := releaseTarget(*target, *endpoint)
				if err != nil {
					return err
				}
				return release(ctx, connect, o, os.Stdout, os.Stderr)
			}
		},
	})
}

// tuneGCForRelease lets the heap grow to three times what is live (GOGC=200) instead of
// twice, within a 512 MiB soft limit, unless GOGC or GOMEMLIMIT say otherwise. A
// release's live heap is small (the plan: a few KB per file) while every request
// allocates its own (the SDK builds each request's middleware stack anew), so the
// default collects every few hundred requests. Measured (build/bench and a one-region
// in-process release, /work/notes/speed.md): GOGC=400 took 18% less CPU on 2,000 files
// (1.41 s against 1.15 s user, three runs each) and 9% less on 20,000, but doubled the
// 20,000-file release's peak resident set (105–110 MB to 249 MB); 200 keeps part of the
// saving at a smaller cost. The limit bounds a very large site's peak (runtime/debug,
// SetMemoryLimit: the collector runs as often as needed to stay under it); a site whose
// plan alone passes it (well over 100,000 files) is collected more often than by
// default, and GOGC=100 restores the default.
func tuneGCForRelease() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(200)
		debug.SetMemoryLimit(512 << 20)
	}
}

type releaseFlags struct {
	dryRun, json, rollback  bool
	breakLock, noWait       bool
	status                  bool
	cpuProfile              string
	dir, config, rollbackID string
	maxDeletes, keep        int
	history, concurrency    int
}

// connector fills release options with the targets and CloudFront client of a world.
type connector func(ctx context.Context, opts build.Options) (build.Options, error)

// releaseTarget reads what --target names: the local world's world.json or AWS's aws.json.
func releaseTarget(target, endpoint string) (connector, error) {
	switch target {
	case "local":
		w, err := local.ReadWorld(stateDir)
		if err != nil {
			return nil, err
		}
		return w.Connect, nil
	case "aws":
		s, err := awsinfra.ReadState(stateDir)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, opts build.Options) (build.Options, error) {
			return s.Connect(ctx, endpoint, opts)
		}, nil
	}
	return nil, fmt.Errorf("%w: --target is local or aws, not %q", errUsage, target)
}

// invokedAs is how the user runs twinedge, for the hints it prints: "go run ." when the
// binary is go run's temporary build (the README's way), "twinedge" otherwise.
func invokedAs() string {
	exe, err := os.Executable()
	if err == nil && strings.Contains(filepath.ToSlash(exe), "/go-build") {
		return "go run ."
	}
	return "twinedge"
}

// startCPUProfile writes a CPU profile to file until the returned stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// releaseLocal is the release `twinedge up` runs: twinedge's own site, quietly.
func releaseLocal(ctx context.Context, w *local.WorldFile, breakLock bool, progress io.Writer) error {
	return release(ctx, w.Connect, releaseFlags{maxDeletes: 256, keep: 3, history: 100, breakLock: breakLock}, nil, progress)
}

func release(ctx context.Context, connect connector, f releaseFlags, out, progress io.Writer) error {
	opts, err := connect(ctx, build.Options{
		DryRun:      f.dryRun,
		MaxDeletes:  f.maxDeletes,
		Keep:        f.keep,
		BreakLock:   f.breakLock,
		History:     f.history,
		Concurrency: f.concurrency,
		Out:         out,
		JSON:        f.json,
	})
	if err != nil {
		return err
	}
	if !f.json {
		opts.Progress = progress
	}
	if f.noWait {
		opts.WaitTimeout = -1
	}
	if f.status {
		_, err := build.Status(ctx, opts, f.rollbackID)
		return err
	}
	if f.rollback {
		_, err := build.Rollback(ctx, opts, f.rollbackID)
		return err
	}
	if f.dir != "" {
		// A prebuilt directory's SPA routes come from its own config file.
		opts.Source = build.Source{Dir: f.dir, Static: true, Config: f.config}
	} else {
		opts.Routes = site.Routes()
		// The pages name the release's regions, primary first, so the app posts to the
		// primary's pinned path and retries on the secondary's (site.Options).
		opts.Source = build.Source{Dir: filepath.Join(stateDir, "dist"), Build: site.Builder(opts.Regions())}
	}
	rep, err := build.Release(ctx, opts)
	if out == nil && progress != nil && rep != nil {
		// No report is printed (`up`): its warnings still are, such as a lock taken over
		// or an unreadable release record skipped.
		for _, w := range rep.Warnings {
			fmt.Fprintf(progress, "warning: %s\n", oneLine(errors.New(w)))
		}
	}
	return err
}

func init() {
	register("drill", command{
		summary: "fail the primary region in every mode under steady traffic and report what viewers saw",
		usage:   "[--duration D] [--report FILE.html] [--json] [--rate N] [--stop-when COND]... [--max-duration D] [--target local|aws [--yes]]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			duration := fs.Duration("duration", 2*time.Minute, "length of the whole drill")
			reportFile := fs.String("report", "", "write a self-contained HTML report here")
			asJSON := fs.Bool("json", false, "print one JSON object")
			rate := fs.Float64("rate", 20, "viewer requests started per second")
			target := fs.String("target", "local", "local: the world of --state; aws: the deployment in STATE/aws.json")
			yes := fs.Bool("yes", false, "with --target aws: fault the real deployment without asking")
			var stopWhen drill.StopConditions
			fs.Var(&stopWhen, "stop-when", "stop, heal and report when viewers see this, checked continuously over a sliding window (repeatable): 'success<95%', 'p99>2s', 'success<99% over 30s'")
			maxDuration := fs.Duration("max-duration", 0, "hard cap on the whole drill, preparation and convergence wait included (0: none; at least --duration)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				opts := drill.Options{Duration: *duration, Rate: *rate, StopWhen: stopWhen, MaxDuration: *maxDuration}
				if err := opts.CheckLimits(); err != nil {
					return err
				}
				if !*asJSON {
					opts.Progress = os.Stderr
				}
				var err error
				switch *target {
				case "local":
					opts, err = drill.ForState(stateDir, opts)
				case "aws":
					// A drill on AWS breaks a real region for real viewers: asked first.
					if !confirm(*yes, "drill --target aws faults the primary region of the deployment in "+stateDir)() {
						return awsinfra.ErrNotConfirmed
					}
					opts, err = drill.ForAWS(stateDir, opts)
				default:
					return fmt.Errorf("%w: --target is local or aws, not %q", errUsage, *target)
				}
				if err != nil {
					return err
				}
				rep, err := drill.Run(ctx, opts)
				if err != nil {
					return err
				}
				if *reportFile != "" {
					if err := writeFileWith(*reportFile, rep.WriteHTML); err != nil {
						return fmt.Errorf("write report: %w", err)
					}
				}
				write := rep.WriteText
				if *asJSON {
					write = rep.WriteJSON
				}
				if err := write(os.Stdout); err != nil {
					return err
				}
				// A drill that saw lost writes or failed GETs where CloudFront fails over
				// exits non-zero, so scripts and CI can rely on it.
				return rep.Err()
			}
		},
	})
	register("synth", command{
		summary: "write the CloudFormation templates (regional stack, global stack) rendered from the distribution",
		usage:   "[--out DIR] [--deployer-policy] [--regions A,B] [--stack NAME] [--domain D]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			out := fs.String("out", "cfn", "output directory")
			policy := fs.Bool("deployer-policy", false, "also write "+awsinfra.DeployerPolicyFile+", the least-privilege IAM policy of deploy, release, fail/heal --aws and destroy")
			o := awsFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				files, err := awsinfra.Synth(o.options())
				if err != nil {
					return err
				}
				if *policy {
					p, err := awsinfra.DeployerPolicy(o.options(), "*")
					if err != nil {
						return err
					}
					files[awsinfra.DeployerPolicyFile] = p
				}
				written, err := awsinfra.WriteDir(*out, files)
				if err != nil {
					return err
				}
				for _, f := range written {
					fmt.Println(f)
				}
				// Synth refuses a distribution CloudFront would refuse (edge.Validate); say so.
				fmt.Fprintln(os.Stderr, "distribution: accepted by CloudFront's CreateDistribution rules (edge.Validate)")
				return nil
			}
		},
	})
	register("deploy", command{
		summary: "deploy both regions and the distribution to AWS through CloudFormation change sets",
		usage:   "[--dry-run] [--regions A,B] [--stack NAME] [--domain D --hosted-zone-id Z] [--config FILE] [--wait-timeout D] [--continue-rollback]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			o := awsFlags(fs)
			dryRun := fs.Bool("dry-run", false, "create and show the change sets, execute none")
			zone := fs.String("hosted-zone-id", "", "Route 53 hosted zone of --domain")
			configFile := fs.String("config", "", "JSON file with regions, stack, domain, hostedZoneId")
			endpoint := fs.String("endpoint-url", "", "send every AWS call here (for example a moto_server)")
			waitTimeout := fs.Duration("wait-timeout", awsinfra.DefaultWaitTimeout, "longest wait for one stack operation")
			continueRollback := fs.Bool("continue-rollback", false, "unblock a stuck stack: continue a failed rollback, or delete a failed creation")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				if *waitTimeout <= 0 {
					return fmt.Errorf("%w: --wait-timeout must be positive, such as 45m", errUsage)
				}
				d := awsinfra.DeployOptions{Options: o.options(), HostedZoneID: *zone, DryRun: *dryRun, StateDir: stateDir, EndpointURL: *endpoint,
					WaitTimeout: *waitTimeout, ContinueRollback: *continueRollback}
				if *configFile != "" {
					c, err := awsinfra.LoadConfig(*configFile)
					if err != nil {
						return err
					}
					d.Config = c
				}
				return awsinfra.Deploy(ctx, d)
			}
		},
	})
}

func init() {
	register("destroy", command{
		summary: "delete the AWS deployment: stacks, then the buckets and table they retain (prints the plan first)",
		usage:   "[--dry-run] [--yes] [--keep-data] [--regions A,B] [--stack NAME]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			o := awsFlags(fs)
			dryRun := fs.Bool("dry-run", false, "print what would be deleted, delete nothing")
			yes := fs.Bool("yes", false, "delete without asking (required when stdin is not a terminal)")
			keepData := fs.Bool("keep-data", false, "keep the site, releases and log buckets and the table")
			endpoint := fs.String("endpoint-url", "", "send every AWS call here (for example a moto_server)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				d := awsinfra.DestroyOptions{Options: o.options(), StateDir: stateDir, EndpointURL: *endpoint, DryRun: *dryRun, KeepData: *keepData}
				d.Confirm = confirm(*yes, "destroy")
				_, err := awsinfra.Destroy(ctx, d)
				return err
			}
		},
	})
}

// confirm returns the confirmation of a command that changes a real account: yes, or
// the answer typed on a terminal; refused (with the reason printed) when stdin is not one.
func confirm(yes bool, what string) func() bool {
	return func() bool {
		if yes {
			return true
		}
		if fi, err := os.Stdin.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			fmt.Fprintf(os.Stderr, "%s: stdin is not a terminal; pass --yes to confirm\n", what)
			return false
		}
		fmt.Fprintf(os.Stderr, "%s: type yes to go on: ", what)
		var answer string
		fmt.Fscanln(os.Stdin, &answer)
		return answer == "yes"
	}
}

type awsOptions struct {
	regions, stack, domain  *string
	hstsSubdomains, wafRule *bool
	writeRate, reserved     *int
}

func awsFlags(fs *flag.FlagSet) awsOptions {
	return awsOptions{
		regions:        fs.String("regions", "", "primary and secondary region, comma-separated (default us-east-1,eu-west-2)"),
		stack:          fs.String("stack", "", "stack name prefix (default twinedge)"),
		domain:         fs.String("domain", "", "alternate domain name for the distribution (optional)"),
		hstsSubdomains: fs.Bool("hsts-include-subdomains", false, "add includeSubDomains to Strict-Transport-Security (forces HTTPS on every subdomain of --domain)"),
		wafRule:        fs.Bool("waf-common-rules", false, "add AWS's managed common rule set to the web ACL (extra cost per request)"),
		writeRate: fs.Int("write-rate-limit", awsinfra.DefaultWriteRateLimit,
			fmt.Sprintf("writes one client IP may send per %d s before the web ACL blocks it", awsinfra.WriteRateWindow)),
		reserved: fs.Int("reserved-concurrency", awsinfra.DefaultReservedConcurrency, "concurrency reserved for (and capping) the API function per region; 0: uncapped"),
	}
}

func (a awsOptions) options() awsinfra.Options {
	o := awsinfra.Options{StackName: *a.stack, Domain: *a.domain, HSTSIncludeSubdomains: *a.hstsSubdomains,
		WAFCommonRules: *a.wafRule, WriteRateLimit: *a.writeRate, ReservedConcurrency: a.reserved}
	if *a.regions != "" {
		o.Regions = strings.Split(*a.regions, ",")
	}
	return o
}

// writeFileWith writes a file through a writer function, replacing it only when complete.
func writeFileWith(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
