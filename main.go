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
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/twinedge/twinedge/build"
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
		usage:   "[--addr HOST:PORT] [--state DIR]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "viewer address of the local edge")
			verbose := fs.Bool("v", false, "log each event to stderr")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				return up(ctx, *addr, *verbose)
			}
		},
	})
	register("fail", command{
		summary: "break a region of the running world: --mode 500|502|503|504|403|404|refuse|blackhole|slow|reset|truncate|partition",
		usage:   "REGION --mode M [--target origin|api|all] [--delay D]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			mode := fs.String("mode", "", "fault mode (required)")
			target := fs.String("target", "all", "what to break: origin, api or all")
			delay := fs.Duration("delay", 0, "delay before headers for --mode slow (default 3s)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return fmt.Errorf("%w: want one REGION", errUsage)
				}
				if *mode == "" {
					return fmt.Errorf("%w: --mode is required", errUsage)
				}
				c, err := local.NewClient(stateDir)
				if err != nil {
					return err
				}
				req := local.FailRequest{Region: args[0], Mode: *mode, Target: *target}
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
		usage:   "[REGION]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 {
					return fmt.Errorf("%w: at most one REGION", errUsage)
				}
				c, err := local.NewClient(stateDir)
				if err != nil {
					return err
				}
				region := ""
				if len(args) == 1 {
					region = args[0]
				}
				s, err := c.Heal(ctx, region)
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
	fmt.Fprintf(w, "edge     %s  (distribution %s)\ncontrol  %s\n", s.Edge, s.DistributionID, s.Control)
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
		fmt.Fprintf(w, "%-10s %-9s %-28s origin answers %s\n", r.Name, role, faults, r.Origin)
	}
}

func up(ctx context.Context, addr string, verbose bool) error {
	logger := slog.New(slog.DiscardHandler)
	if verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	w, err := local.Start(ctx, local.Config{StateDir: stateDir, Addr: addr, Logger: logger})
	if err != nil {
		return err
	}
	defer w.Close()
	info := w.Info()
	if err := releaseLocal(ctx, &info, os.Stderr); err != nil {
		return fmt.Errorf("release the site: %w", err)
	}
	fmt.Printf("twinedge is up: %s\n", info.Edge)
	fmt.Printf("  primary %s, secondary %s; world described in %s\n", info.Regions[0].Name, info.Regions[1].Name, filepath.Join(stateDir, local.WorldFileName))
	fmt.Printf("  try: twinedge fail %s --mode 503   then reload, then: twinedge heal\n", info.Regions[0].Name)
	<-ctx.Done()
	fmt.Println("twinedge: shutting down")
	return w.Close()
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
		usage:   "[--dry-run] [--json] [--dir DIR] [--config FILE] [--max-deletes N] [--keep N] [--rollback [ID]]",
		setup: func(fs *flag.FlagSet) func(context.Context, []string) error {
			o := releaseFlags{}
			fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
			fs.BoolVar(&o.json, "json", false, "print one JSON object")
			fs.StringVar(&o.dir, "dir", "", "release this prebuilt static directory instead of twinedge's site")
			fs.StringVar(&o.config, "config", "", "per-glob rules for --dir (default DIR/.twinedge.json)")
			fs.IntVar(&o.maxDeletes, "max-deletes", 256, "fail if a bucket would lose more objects than this (-1: no limit)")
			fs.IntVar(&o.keep, "keep", 3, "releases whose files stay in the buckets")
			fs.BoolVar(&o.rollback, "rollback", false, "restore the previous release (or the release ID given as argument)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 || (len(args) == 1 && !o.rollback) {
					return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
				}
				if len(args) == 1 {
					o.rollbackID = args[0]
				}
				w, err := local.ReadWorld(stateDir)
				if err != nil {
					return err
				}
				return release(ctx, w, o, os.Stdout, os.Stderr)
			}
		},
	})
}

type releaseFlags struct {
	dryRun, json, rollback  bool
	dir, config, rollbackID string
	maxDeletes, keep        int
}

// releaseLocal is the release `twinedge up` runs: twinedge's own site, quietly.
func releaseLocal(ctx context.Context, w *local.WorldFile, progress io.Writer) error {
	return release(ctx, w, releaseFlags{maxDeletes: 256, keep: 3}, nil, progress)
}

func release(ctx context.Context, w *local.WorldFile, f releaseFlags, out, progress io.Writer) error {
	opts, err := w.Connect(ctx, build.Options{
		DryRun:     f.dryRun,
		MaxDeletes: f.maxDeletes,
		Keep:       f.keep,
		Out:        out,
		JSON:       f.json,
		Routes:     site.Routes(),
	})
	if err != nil {
		return err
	}
	if !f.json {
		opts.Progress = progress
	}
	if f.rollback {
		_, err := build.Rollback(ctx, opts, f.rollbackID)
		return err
	}
	if f.dir != "" {
		opts.Source = build.Source{Dir: f.dir, Static: true, Config: f.config}
	} else {
		opts.Source = build.Source{
			Dir:   filepath.Join(stateDir, "dist"),
			Build: func(dir string) error { _, err := site.Build(dir); return err },
		}
	}
	_, err = build.Release(ctx, opts)
	return err
}
