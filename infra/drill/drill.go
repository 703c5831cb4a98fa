// Package drill runs a failover drill: steady viewer traffic through the edge (pages,
// assets, API reads and message writes through the app's own retry rule) while a schedule
// fails the primary region in every fault mode and heals it after each. It measures what a
// viewer saw in each phase, checks after the last heal that both regions converge with no
// write lost or duplicated, and renders the result as JSON and as a self-contained HTML
// report with an SVG timeline.
//
// The drill only speaks to the world the way a viewer and an operator do: HTTP through the
// edge, the CloudFront API for invalidations, the S3 API for its probe objects, and a
// Switch (for the local world, its admin API) to break and heal regions.
package drill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Switch breaks and heals regions. For the local world it is the admin API behind
// `twinedge fail` and `twinedge heal` (see LocalSwitch).
type Switch interface {
	Fail(ctx context.Context, f Fault) error
	Heal(ctx context.Context, region string) error
}

// Region names one region of the target and its S3 endpoint for the drill's probe objects.
type Region struct {
	Name string
	// Bucket is the site bucket.
	Bucket string
	// Origin is the S3 API endpoint (a local origin's URL; empty means AWS's own endpoint).
	Origin string
	// API is the region's function-URL host; empty when the region runs no API (the drill
	// then still probes the edge's /api/ routes and reports the API as not measured when
	// they do not answer as the API does).
	API string
}

// Options configures Run. Edge, Regions and Switch are required.
type Options struct {
	// Edge is the viewer URL of the distribution, e.g. http://127.0.0.1:8080.
	Edge string
	// Control is the CloudFront API endpoint used for invalidations (the local control API;
	// empty means AWS). DistributionID names the distribution; with an empty one the drill
	// does not invalidate and says so in the report.
	Control        string
	DistributionID string
	// OnAWS says the target is a deployment on AWS: an empty Control or region Origin
	// then means AWS's own endpoints rather than "none".
	OnAWS bool
	// Regions are the regions, primary first. The drill fails Regions[0] and retries writes
	// pinned to Regions[1].
	Regions []Region
	// Switch applies the faults.
	Switch Switch

	// Duration is the drill's whole length, split evenly across a baseline, one slot per
	// step (three quarters with the fault, one quarter healed) and a final healed phase
	// (default 2 minutes).
	Duration time.Duration
	// Rate is the number of viewer requests started per second, whatever the answers take
	// (an open loop, so a hung origin cannot slow the traffic down; default 20).
	Rate float64
	// Schedule replaces DefaultSchedule(Regions[0].Name).
	Schedule []Step
	// ConvergeTimeout bounds the wait, after the final heal, for both regions to hold the
	// same messages (default 30 s).
	ConvergeTimeout time.Duration
	// NoProbes disables the probe objects (see probes.go): then only the site's own pages
	// and assets are requested, and most GETs are cache hits.
	NoProbes bool

	// StopWhen are the stop conditions (stop.go): the first one breached heals every
	// region at once, stops the traffic, and the report says which, its value and when.
	StopWhen []StopCondition
	// MaxDuration caps the whole drill, from the heal before it to the end of the
	// convergence wait (0: no cap). Reaching it heals and stops as a breach does. It may
	// not be shorter than Duration: a cap that the schedule alone is sure to reach would
	// not guard the drill, it would be a different, shorter drill (use Duration). It is
	// for what can overrun: a fault switch that waits (on AWS a function update is waited
	// for), the probe upload, regions that do not converge.
	MaxDuration time.Duration

	// HTTPClient sends the viewer requests (default: a client with a 30 s timeout and
	// enough idle connections for the rate).
	HTTPClient *http.Client
	// Progress receives one line per phase as the drill runs; nil is quiet.
	Progress io.Writer
	// Logger receives debug events (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Edge == "" {
		return errors.New("drill: no edge URL")
	}
	if len(o.Regions) < 2 {
		return fmt.Errorf("drill: need a primary and a secondary region, got %d", len(o.Regions))
	}
	if o.Switch == nil {
		return errors.New("drill: no fault switch")
	}
	if err := o.limits(); err != nil {
		return err
	}
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule(o.Regions[0].Name)
	}
	if o.ConvergeTimeout <= 0 {
		o.ConvergeTimeout = 30 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			Timeout: RequestTimeout,
			Transport: &http.Transport{
				Proxy:               nil,
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     30 * time.Second,
				// The drill reads bodies as the viewer does; compression would hide
				// truncation behind a decoder error, so ask for identity.
				DisableCompression: true,
			},
			// A redirect is an answer worth recording, not following.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// CheckLimits checks the drill's length, rate and guard rails (MaxDuration, StopWhen) as
// Run would, with Run's defaults, before anything is faulted: a command checks them before
// it asks to fault a real account.
func (o Options) CheckLimits() error { return o.limits() }

func (o *Options) limits() error {
	if o.Duration <= 0 {
		o.Duration = 2 * time.Minute
	}
	if o.Rate <= 0 {
		o.Rate = 20
	}
	if o.MaxDuration < 0 {
		return fmt.Errorf("drill: --max-duration %s is negative", o.MaxDuration)
	}
	if o.MaxDuration > 0 && o.MaxDuration < o.Duration {
		return fmt.Errorf("drill: --max-duration %s is shorter than --duration %s, which the schedule needs: the cap guards against overruns; to run a shorter drill, lower --duration", o.MaxDuration, o.Duration)
	}
	for _, c := range o.StopWhen {
		// A window that cannot hold MinStopSamples operations at this rate would never be
		// checked: refused rather than silently idle.
		if n := int(o.Rate * c.Window.Seconds()); n < MinStopSamples {
			return fmt.Errorf("drill: stop condition %s: at %g requests/s its window holds about %d viewer operations, fewer than the %d it is checked over; lengthen the window (over D) or raise --rate", c, o.Rate, n, MinStopSamples)
		}
	}
	return nil
}
