package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/infra"
)

// DefaultRegions are the local regions, primary first.
var DefaultRegions = []string{"us-east-1", "eu-west-2"}

// Config configures a local world.
type Config struct {
	// StateDir holds everything the world persists (default ".twinedge").
	StateDir string
	// Addr is the edge's viewer address (default "127.0.0.1:8080").
	Addr string
	// ControlAddr is the control API's address (default "127.0.0.1:0": a free port).
	ControlAddr string
	// Regions are the region names, primary first (default DefaultRegions).
	Regions []string
	// Credentials are the world's key pair: every local server verifies SigV4 with it and
	// the edge signs origin requests with it (default: Credentials()).
	Credentials aws.Credentials
	// Geo locates viewers for CloudFront's location headers and geographic restriction
	// (an edge.GeoTable's Lookup, from --geo); nil: no viewer's location is known.
	Geo func(netip.Addr) (edge.Geo, bool)
	// Logger receives the world's logs (default: discard).
	Logger *slog.Logger
}

// World is a running local world: two regions and an edge in front of them.
type World struct {
	cfg        Config
	file       WorldFile
	regions    []*Region
	replicator *Replicator
	edge       *edge.Edge
	viewerLn   net.Listener
	viewerDone chan struct{}
	control    *http.Server
	lock       *os.File

	faultsMu sync.Mutex // serialises Fail and Heal with the writes of faults.json
	restored string     // what Start restored from faults.json, for Integrity

	closeOnce sync.Once
	closeErr  error
}

// Credentials returns the world's key pair from the standard AWS_* variables, defaulting to
// access key "test" and secret "test".
func Credentials() aws.Credentials {
	c := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "twinedge"}
	if v := os.Getenv("AWS_ACCESS_KEY_ID"); v != "" {
		c.AccessKeyID = v
		c.SecretAccessKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		c.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
	}
	return c
}

// Start brings up the world: each region's servers, then the edge and its control API.
// It writes STATE/world.json once everything listens. Close stops it.
func Start(ctx context.Context, cfg Config) (_ *World, err error) {
	if cfg.StateDir == "" {
		cfg.StateDir = ".twinedge"
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.ControlAddr == "" {
		cfg.ControlAddr = "127.0.0.1:0"
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = DefaultRegions
	}
	if cfg.Credentials.AccessKeyID == "" {
		cfg.Credentials = Credentials()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Regions) != 2 || cfg.Regions[0] == cfg.Regions[1] {
		return nil, fmt.Errorf("a world needs two different regions, got %v", cfg.Regions)
	}
	for _, r := range cfg.Regions {
		if !infra.ValidRegion(r) {
			return nil, fmt.Errorf("unknown region %q: use AWS region names such as us-east-1", r)
		}
	}

	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	w := &World{cfg: cfg}
	if w.lock, err = lockState(cfg.StateDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()

	// A previous world's identity is kept, so the distribution id survives restarts.
	// A corrupt world.json stops the start: nothing is overwritten.
	id := newDistributionID()
	if prev, err := ReadWorld(cfg.StateDir); err == nil {
		id = prev.DistributionID
	} else if !errors.Is(err, ErrNoWorld) {
		return nil, err
	}

	// The viewer port is taken first: it is the one a user chose, and the likeliest to clash.
	viewerLn, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("edge address %s: %w", cfg.Addr, listenHint(err))
	}
	controlLn, err := net.Listen("tcp", cfg.ControlAddr)
	if err != nil {
		viewerLn.Close()
		return nil, fmt.Errorf("control address %s: %w", cfg.ControlAddr, listenHint(err))
	}
	// Until the servers own them, the listeners are closed here on any failed start.
	defer func() {
		if err != nil && w.viewerLn == nil {
			viewerLn.Close()
			controlLn.Close()
		}
	}()

	for i, name := range cfg.Regions {
		r, err := startRegion(ctx, regionConfig{
			name:    name,
			primary: i == 0,
			regions: cfg.Regions,
			dir:     filepath.Join(cfg.StateDir, "regions", name),
			creds:   cfg.Credentials,
			logger:  cfg.Logger.With("region", name),
		})
		if err != nil {
			return nil, fmt.Errorf("start region %s: %w", name, err)
		}
		w.regions = append(w.regions, r)
	}
	replicas := []*Replica{w.regions[0].replica, w.regions[1].replica}
	if w.replicator, err = NewReplicator(cfg.Logger.With("component", "replicator"), replicas...); err != nil {
		return nil, err
	}
	w.replicator.Start()
	w.restored = w.restoreFaults()

	ep := infra.Endpoints{
		SiteOAC:        "E" + "OACSITE0000001",
		APIOAC:         "E" + "OACAPI00000001",
		SPAFunctionARN: "arn:aws:cloudfront::000000000000:function/" + infra.SiteFunctionName,
	}
	for _, r := range w.regions {
		ep.Regions = append(ep.Regions, r.endpoint())
	}
	dist, err := infra.Distribution(ep)
	if err != nil {
		return nil, err
	}
	domain := "d" + strings.ToLower(id[1:]) + ".cloudfront.net"
	w.edge, err = edge.New(dist, edge.Options{
		DistributionID: id,
		DomainName:     domain,
		Credentials:    cfg.Credentials,
		Resolve:        w.resolve,
		OriginScheme:   "http",
		ViewerHTTPS:    true,
		Geo:            cfg.Geo,
		Logger:         cfg.Logger.With("component", "edge"),
		// Functions created and published through the control API are JavaScript
		// (aws cloudfront create-function / publish-function / test-function).
		JS: jsfunc.Compile,
		// The site function's code, so the distribution compiles; provisionSite
		// publishes it with its redirect store before the first request is served.
		Functions: map[string]*edge.Function{infra.SiteFunctionName: {Code: infra.SiteFunctionJS}},
		// The site function's Go twin serves while its published code is SiteFunctionJS
		// (infra.SiteFunctionTwin; proven against the JavaScript by TestSiteFunctionTwin).
		Twins: map[string]edge.Twin{infra.SiteFunctionJS: infra.SiteFunctionTwin},
	})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}

	control, err := edge.OpenControl(w.edge, edge.ControlOptions{
		DistributionID: id,
		DomainName:     domain,
		Credentials:    cfg.Credentials,
		StateFile:      filepath.Join(cfg.StateDir, "control.json"),
		ReadS3:         w.readS3,
		Logger:         cfg.Logger.With("component", "control"),
	})
	if err != nil {
		return nil, fmt.Errorf("control API: %w", err)
	}
	redirects, err := provisionSite(control)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/twinedge/", w.adminHandler())
	mux.Handle("/", control)

	// The edge's own HTTP/1.1 server: the same handler as http.Server would run, with a
	// leaner write path for cache hits (edge/server.go).
	w.viewerLn, w.viewerDone = viewerLn, make(chan struct{})
	w.control = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(w.viewerDone)
		w.edge.Serve(viewerLn)
	}()
	go w.control.Serve(controlLn)

	w.file = WorldFile{
		Edge:           "http://" + viewerLn.Addr().String(),
		Control:        "http://" + controlLn.Addr().String(),
		DistributionID: id,
		DomainName:     domain,
		RedirectStore:  redirects,
		PID:            os.Getpid(),
	}
	for _, r := range w.regions {
		w.file.Regions = append(w.file.Regions, r.info())
	}
	if err := writeWorld(cfg.StateDir, &w.file); err != nil {
		return nil, fmt.Errorf("write world.json: %w", err)
	}
	return w, nil
}

// provisionSite does for the world what the global stack does on AWS
// (AWS::CloudFront::KeyValueStore and AWS::CloudFront::Function, infra/aws): the
// redirect store exists, and the site function is published with it associated. It
// returns the store's ARN, which the release writes the site's redirects to.
func provisionSite(c *edge.Control) (string, error) {
	arn, err := c.EnsureKeyValueStore(infra.RedirectStoreName, "Redirects of the site (_redirects), read by "+infra.SiteFunctionName)
	if err != nil {
		return "", fmt.Errorf("redirect store: %w", err)
	}
	if err := c.EnsureFunction(infra.SiteFunctionName, "Redirects from "+infra.RedirectStoreName+", then the SPA rewrite", []byte(infra.SiteFunctionJS), []string{arn}); err != nil {
		return "", fmt.Errorf("site function: %w", err)
	}
	return arn, nil
}

// Integrity is one line saying what the checks at start found in every store: each
// region's table (bbolt's page check and a decode of every item; a corrupt file is moved
// aside and backfilled from the peer) and bucket (object files that fail to decode are
// left out of the index), and the faults restored from the last run.
func (w *World) Integrity() string {
	var parts []string
	for _, r := range w.regions {
		parts = append(parts, fmt.Sprintf("%s %s, %s", r.name, r.found, bucketIntegrity(r.origin, r.bucket)))
	}
	return "integrity: " + strings.Join(parts, "; ") + "; " + w.restored
}

// bucketIntegrity counts a bucket's indexed objects against its object files: the store
// skips a file it cannot decode (s3store.go), and the next release uploads it again.
func bucketIntegrity(o *S3Origin, bucket string) string {
	o.store.mu.RLock()
	b := o.store.buckets[bucket]
	o.store.mu.RUnlock()
	if b == nil {
		return "bucket missing"
	}
	b.mu.RLock()
	n := len(b.objects)
	b.mu.RUnlock()
	files := 0
	filepath.WalkDir(filepath.Join(o.store.bucketDir(bucket), "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files > n {
		return fmt.Sprintf("bucket has %d damaged object files, left out (%d objects ok; the next release uploads them again)", files-n, n)
	}
	return fmt.Sprintf("bucket ok (%d objects)", n)
}

// Info returns what world.json says about this world.
func (w *World) Info() WorldFile { return w.file }

// Edge returns the world's edge.
func (w *World) Edge() *edge.Edge { return w.edge }

// Region returns the named region, or nil.
func (w *World) Region(name string) *Region {
	for _, r := range w.regions {
		if r.name == name {
			return r
		}
	}
	return nil
}

// Replicator returns the replication between the regions' tables.
func (w *World) Replicator() *Replicator { return w.replicator }

// Regions returns the regions, primary first.
func (w *World) Regions() []*Region { return append([]*Region(nil), w.regions...) }

// resolve maps the distribution's origin domain names to the regions' loopback addresses,
// as DNS would on AWS.
func (w *World) resolve(domain string) (string, bool) {
	for _, r := range w.regions {
		if addr, ok := r.resolve(domain); ok {
			return addr, true
		}
	}
	return "", false
}

// Close stops the edge and the regions and marks world.json as no longer served.
func (w *World) Close() error {
	w.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if w.viewerLn != nil {
			w.viewerLn.Close()
			<-w.viewerDone
		}
		for _, s := range []*http.Server{w.control} {
			if s != nil {
				if err := s.Shutdown(ctx); err != nil {
					s.Close()
				}
			}
		}
		if w.replicator != nil {
			errs = append(errs, w.replicator.Close())
		}
		for _, r := range w.regions {
			errs = append(errs, r.Close())
		}
		if w.file.PID != 0 {
			w.file.PID = 0
			errs = append(errs, writeWorld(w.cfg.StateDir, &w.file))
		}
		if w.lock != nil {
			errs = append(errs, w.lock.Close())
		}
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}

// lockState takes an exclusive lock on the state directory, so two worlds never share one.
func lockState(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state directory %s is in use by another `twinedge up`", dir)
	}
	return f, nil
}

func listenHint(err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return errors.New("address already in use: stop what listens there or pass another --addr")
	}
	return err
}

// urlID derives a stable function-URL id (32 lower-case characters, as Lambda's) from a name.
func urlID(name string) string {
	sum := sha256.Sum256([]byte("twinedge-function-url:" + name))
	return hex.EncodeToString(sum[:16])
}
