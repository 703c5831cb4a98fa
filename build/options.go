package build

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Options configures Release and Rollback. The zero value of every optional field
// means its documented default.
type Options struct {
	// Source says where the site comes from. Required for Release; Rollback ignores it.
	Source Source

	// Targets are the regional buckets, primary first. The primary is written last in
	// the mutable-file phase, so a failed release leaves it on the previous release.
	Targets []Target

	// DistributionID and CloudFront select the distribution to invalidate. With a nil
	// CloudFront client nothing is invalidated (the report says so).
	DistributionID string
	CloudFront     CloudFrontAPI

	// Redirects is the KeyValueStore the site function serves the site's redirects
	// from (redirects.go, redirectstore.go). Nil: none; a site with a _redirects file
	// is then refused.
	Redirects *RedirectStore

	// DryRun computes and prints the plan and changes nothing: no PUT, DELETE,
	// bucket creation or invalidation.
	DryRun bool

	// MaxDeletes is the most objects a release may delete from one bucket: 0 allows
	// none, negative means no limit (the CLI's default is DefaultMaxDeletes). A plan over
	// the limit fails before anything is changed, unlike hugo and s3deploy, which skip
	// or truncate the deletes and exit 0 (spec/release-tools.md).
	MaxDeletes int

	// Keep is how many releases, the new one included, keep their files in the buckets
	// (default 3): an open tab holding HTML from one of them still finds its scripts.
	Keep int

	// Concurrency is the number of requests in flight per bucket (default 32). Both
	// buckets are written at once, so twice as many are in flight overall.
	Concurrency int

	// Routes are the SPA routes ("/status") that the viewer-request function serves from
	// /index.html; they are invalidated whenever index.html changes. Pass site.Routes()
	// for twinedge's own site; for --dir they come from the config file.
	Routes []string

	// InvalidationBudget is how many explicit paths one release may invalidate before
	// paths are collapsed into wildcards (default 30). See invalidation.go.
	InvalidationBudget int

	// WaitTimeout bounds the wait for the invalidation to complete (default 10 minutes,
	// AWS's waiter default). A timeout is a warning, not a failure: the files are live
	// and the report carries the invalidation id. Negative: do not wait.
	WaitTimeout time.Duration

	// History is how many release records each region keeps (default 100, never fewer
	// than Keep); older ones are deleted after a release. Rollback reaches the Keep
	// newest releases only, so older records are history, not a way back.
	History int

	// LockTTL is how long the release lock (lock.go) outlives a release that died
	// holding it (default 30 minutes); a later release then takes it over with a
	// warning. BreakLock takes over a lock that has not expired yet.
	LockTTL   time.Duration
	BreakLock bool

	// Progress receives progress: a redrawn bar when it is a terminal, plain lines
	// otherwise. Nil means quiet.
	Progress io.Writer

	// Out receives the result: the plan or summary as text, or with JSON one JSON object.
	// Nil means no output (the caller reads the returned Report).
	Out  io.Writer
	JSON bool

	// Logger receives debug events (nil: discarded).
	Logger *slog.Logger

	// Now returns the current time (default time.Now); tests pin it.
	Now func() time.Time
}

// Regions returns the targets' regions, primary first: what site.Options.Regions needs.
func (o Options) Regions() []string {
	out := make([]string, 0, len(o.Targets))
	for _, t := range o.Targets {
		out = append(out, t.Region)
	}
	return out
}

// Source is the site to release: a directory built by site.Build (with manifest.json),
// or any static directory (Static) such as a Hugo or Vite output.
type Source struct {
	// Dir holds the built site. With Build set, Build(Dir) fills it first.
	Dir string
	// Build, when set, builds the site into Dir (for example
	// func(d string) error { _, err := site.Build(d); return err }).
	Build func(dir string) error
	// Static releases Dir as a plain static directory: no manifest.json is needed,
	// content types come from extensions, and cache rules from file names and Config.
	Static bool
	// Config is a JSON file of per-glob rules for a static directory (see config.go).
	// Empty: DIR/.twinedge.json when it exists.
	Config string
}

// Target is one regional bucket.
type Target struct {
	// Region is the bucket's AWS region, stored on every object as x-amz-meta-region so
	// a viewer can see which origin served a file.
	Region string
	// Bucket is the site bucket the distribution's origin points at.
	Bucket string
	// Prefix is the key prefix of the site inside the bucket (default none). It is
	// normalized to end with "/", so a prefix "site" never touches keys under "site2/".
	// The distribution must serve it as the origin's OriginPath ("/site"): invalidation
	// paths are viewer paths, which do not include it. Records go under the same prefix
	// in the record bucket.
	Prefix string
	// RecordBucket holds release records and rollback copies (default Bucket+"-releases").
	// It must not be an origin of the distribution; see doc.go for why records live in
	// their own bucket.
	RecordBucket string
	// Client talks to the bucket's region: an *s3.Client from NewS3Client.
	Client S3API
}

// DefaultMaxDeletes is the CLI's --max-deletes default, as in hugo deploy and s3deploy.
const DefaultMaxDeletes = 256

const (
	defaultKeep               = 3
	defaultHistory            = 100
	defaultConcurrency        = 32
	defaultInvalidationBudget = 30
	defaultWaitTimeout        = 10 * time.Minute
)

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if len(o.Targets) == 0 {
		return o, errors.New("release needs at least one target bucket")
	}
	seen := map[string]bool{}
	for i := range o.Targets {
		t := &o.Targets[i]
		if t.Bucket == "" || t.Region == "" || t.Client == nil {
			return o, fmt.Errorf("target %d: region, bucket and client are required", i)
		}
		if t.Prefix != "" {
			t.Prefix = strings.Trim(t.Prefix, "/") + "/"
			if err := validPath(strings.TrimSuffix(t.Prefix, "/")); err != nil {
				return o, fmt.Errorf("target %s prefix: %w", t.Bucket, err)
			}
		}
		if t.RecordBucket == "" {
			t.RecordBucket = t.Bucket + "-releases"
		}
		if t.RecordBucket == t.Bucket {
			return o, fmt.Errorf("target %s: the record bucket must not be the site bucket, which the edge serves", t.Bucket)
		}
		if seen[t.Bucket] {
			return o, fmt.Errorf("bucket %s listed twice", t.Bucket)
		}
		seen[t.Bucket] = true
	}
	if o.LockTTL <= 0 {
		o.LockTTL = defaultLockTTL
	}
	if o.Keep <= 0 {
		o.Keep = defaultKeep
	}
	if o.History <= 0 {
		o.History = defaultHistory
	}
	o.History = max(o.History, o.Keep)
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.InvalidationBudget <= 0 {
		o.InvalidationBudget = defaultInvalidationBudget
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = defaultWaitTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Redirects != nil && (o.Redirects.ARN == "" || o.Redirects.Client == nil) {
		return o, errors.New("a redirect store needs an ARN and a client")
	}
	if o.CloudFront != nil && o.DistributionID == "" {
		return o, errors.New("a CloudFront client needs a distribution id")
	}
	return o, nil
}
