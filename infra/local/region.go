package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/twinedge/twinedge/api"
	"github.com/twinedge/twinedge/infra"
)

// Target names what a fault applies to in a region; the vocabulary is infra's, shared
// with the AWS failure switch.
type Target = infra.Target

// Fault targets.
const (
	TargetOrigin = infra.TargetOrigin
	TargetAPI    = infra.TargetAPI
	TargetAll    = infra.TargetAll
)

// ParseTarget validates a --target value.
var ParseTarget = infra.ParseTarget

// Region is one local region: an S3-compatible origin holding the site bucket and, when
// the API is present, a function-URL host over the region's table replica.
type Region struct {
	name    string
	primary bool
	bucket  string
	logger  *slog.Logger

	origin    *S3Origin
	originSrv *Server

	replica *Replica
	found   string // what the integrity check at start found, for `up`'s integrity line
	api     *FunctionURL
	apiSrv  *Server

	mu sync.Mutex
}

type regionConfig struct {
	name    string
	primary bool
	regions []string // every region, primary first
	dir     string
	creds   aws.Credentials
	logger  *slog.Logger
}

// BucketName is the site bucket's name in a region.
func BucketName(region string) string { return "twinedge-site-" + region }

func startRegion(_ context.Context, cfg regionConfig) (*Region, error) {
	r := &Region{name: cfg.name, primary: cfg.primary, bucket: BucketName(cfg.name), logger: cfg.logger}
	o, err := NewS3Origin(filepath.Join(cfg.dir, "s3"), cfg.name, cfg.creds)
	if err != nil {
		return nil, fmt.Errorf("s3 origin: %w", err)
	}
	r.origin = o
	if err := o.EnsureBucket(r.bucket); err != nil {
		o.Close()
		return nil, fmt.Errorf("bucket %s: %w", r.bucket, err)
	}
	if r.originSrv, err = Listen("127.0.0.1:0", o); err != nil {
		o.Close()
		return nil, fmt.Errorf("s3 origin: %w", err)
	}
	if err := r.startAPI(cfg); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// startAPI opens the region's table replica and hosts the API handler over it behind a
// function URL, as Lambda would.
func (r *Region) startAPI(cfg regionConfig) error {
	var err error
	if r.replica, r.found, err = OpenReplicaRecovering(filepath.Join(cfg.dir, "table.db"), cfg.name, time.Now()); err != nil {
		return err
	}
	h, err := api.NewHandler(api.Config{
		Region:  cfg.name,
		Regions: cfg.regions,
		Store:   r.replica,
		// Locally a region is failed with fault switches, not with the function's environment;
		// every region shares this process's environment, so it is not read.
		Getenv: func(string) string { return "" },
		Logger: cfg.logger,
	})
	if err != nil {
		return err
	}
	r.api, err = NewFunctionURL(FunctionURLConfig{
		Region:      cfg.name,
		URLID:       urlID(cfg.name),
		Handler:     h.Handle,
		AuthType:    AuthIAM,
		Credentials: cfg.creds,
		Logger:      cfg.logger,
	})
	if err != nil {
		return err
	}
	if r.apiSrv, err = Listen("127.0.0.1:0", r.api); err != nil {
		return fmt.Errorf("function URL: %w", err)
	}
	return nil
}

// Name is the region's name.
func (r *Region) Name() string { return r.name }

// Primary reports whether the region is the primary.
func (r *Region) Primary() bool { return r.primary }

// Bucket is the region's site bucket.
func (r *Region) Bucket() string { return r.bucket }

// OriginURL is the URL of the region's S3 API.
func (r *Region) OriginURL() string { return r.originSrv.URL() }

func (r *Region) bucketDomain() string { return r.bucket + ".s3." + r.name + ".amazonaws.com" }

// APIURL is the URL of the region's function-URL host.
func (r *Region) APIURL() string { return r.apiSrv.URL() }

// Replica is the region's table replica.
func (r *Region) Replica() *Replica { return r.replica }

func (r *Region) endpoint() infra.Region {
	return infra.Region{Name: r.name, BucketDomain: r.bucketDomain(), FunctionURLDomain: r.api.Domain()}
}

func (r *Region) info() RegionInfo {
	return RegionInfo{
		Name:              r.name,
		Primary:           r.primary,
		Origin:            r.originSrv.URL(),
		API:               r.apiSrv.URL(),
		Bucket:            r.bucket,
		BucketDomain:      r.bucketDomain(),
		FunctionURLDomain: r.api.Domain(),
	}
}

// resolve answers for the region's own origin domain names.
func (r *Region) resolve(domain string) (string, bool) {
	switch domain {
	case r.bucketDomain():
		return r.originSrv.Addr(), true
	case r.api.Domain():
		return r.apiSrv.Addr(), true
	}
	return "", false
}

// servers returns the region's fault-switchable servers for a target.
func (r *Region) servers(t Target) []*Server {
	switch t {
	case TargetOrigin:
		return []*Server{r.originSrv}
	case TargetAPI:
		return []*Server{r.apiSrv}
	}
	return []*Server{r.originSrv, r.apiSrv}
}

// Fail sets a fault on the target's servers.
func (r *Region) Fail(t Target, f Fault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	srvs := r.servers(t)
	if len(srvs) == 0 {
		return fmt.Errorf("region %s has no %s to fail", r.name, t)
	}
	for _, s := range srvs {
		if err := s.SetFault(f); err != nil {
			return fmt.Errorf("fail %s %s: %w", r.name, t, err)
		}
	}
	r.logger.Info("fault set", "target", t, "mode", f.Mode, "delay", f.Delay)
	return nil
}

// Heal clears every fault in the region.
func (r *Region) Heal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.servers(TargetAll) {
		s.Heal()
	}
	r.logger.Info("healed")
}

// Faults reports the current fault of each target, if any.
func (r *Region) Faults() map[Target]Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[Target]Fault{}
	if f, ok := r.originSrv.Fault(); ok {
		out[TargetOrigin] = f
	}
	if f, ok := r.apiSrv.Fault(); ok {
		out[TargetAPI] = f
	}
	return out
}

// Close stops the region's servers and closes its stores.
func (r *Region) Close() error {
	var errs []error
	for _, s := range []*Server{r.originSrv, r.apiSrv} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if r.origin != nil {
		errs = append(errs, r.origin.Close())
	}
	if r.replica != nil {
		errs = append(errs, r.replica.Close())
	}
	return errors.Join(errs...)
}
