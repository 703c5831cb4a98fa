package drill

import (
	"fmt"
	"time"
)

// Fault is one fault the drill applies to a region, in the terms of `twinedge fail`.
type Fault struct {
	// Region is the region to break (the primary, in the default schedule).
	Region string `json:"region"`
	// Mode is a fault mode: 500, 502, 503, 504, 403, 404, refuse, blackhole, slow, reset,
	// truncate, or partition (replication cut to and from the region).
	Mode string `json:"mode"`
	// Target is origin, api or all (empty: all). Ignored for partition.
	Target string `json:"target,omitempty"`
	// Delay is the slow mode's delay before headers.
	Delay time.Duration `json:"-"`
}

// String renders the fault as the `twinedge fail` arguments that would set it.
func (f Fault) String() string {
	s := f.Region + " --mode " + f.Mode
	if f.Target != "" && f.Target != "all" {
		s += " --target " + f.Target
	}
	if f.Delay > 0 {
		s += " --delay " + f.Delay.String()
	}
	return s
}

// Step is one fault of a schedule and what CloudFront is expected to do about it.
type Step struct {
	// Name labels the phase in the report ("503", "api 503", "partition").
	Name  string
	Fault Fault
	// FailsOver says whether CloudFront itself fails every GET over while the fault lasts.
	// When false the drill still runs the phase and reports what the viewer saw, but its
	// GETs do not count towards the GET success rate.
	FailsOver bool
	// Expect says in one line what a viewer should see, for the report.
	Expect string
}

// SlowDelay is the slow mode's delay: above the site origins' 2 s read timeout, so page
// and asset fetches fail over, and below the API origins' 5 s, so API reads are answered
// slowly by the primary (infra/distribution.go documents both timeouts).
const SlowDelay = 3 * time.Second

// DefaultSchedule fails the primary region in every mode the local world knows, one after
// the other, healing after each: the origin group's status codes, the connection faults,
// a truncated body (which CloudFront cannot fail over once it has started streaming, per
// spec/cloudfront.md §1.3 and TEAM.md's decision), the API alone, and a replication
// partition.
func DefaultSchedule(primary string) []Step {
	all := func(mode string) Fault { return Fault{Region: primary, Mode: mode} }
	var steps []Step
	for _, code := range []string{"500", "502", "503", "504", "403", "404"} {
		steps = append(steps, Step{
			Name: code, Fault: all(code), FailsOver: true,
			Expect: fmt.Sprintf("%s is in the origin groups' failover criteria: every GET is answered by the secondary", code),
		})
	}
	steps = append(steps,
		Step{Name: "refuse", Fault: all("refuse"), FailsOver: true,
			Expect: "connection refused: GETs fail over at once"},
		Step{Name: "blackhole", Fault: all("blackhole"), FailsOver: true,
			Expect: "no answer: GETs fail over after the origin read timeout (2 s site, 5 s API); POSTs time out and the app retries them pinned"},
		Step{Name: "slow", Fault: Fault{Region: primary, Mode: "slow", Delay: SlowDelay}, FailsOver: true,
			Expect: "headers after 3 s: site GETs fail over after 2 s; API requests wait and are answered by the primary"},
		Step{Name: "reset", Fault: all("reset"), FailsOver: true,
			Expect: "connection reset before an answer: GETs fail over"},
		Step{Name: "truncate", Fault: all("truncate"), FailsOver: false,
			Expect: "body cut after the headers: CloudFront has started streaming and cannot fail over; uncached GETs arrive truncated"},
		Step{Name: "api 503", Fault: Fault{Region: primary, Mode: "503", Target: "api"}, FailsOver: true,
			Expect: "API only: pages stay on the primary, API reads fail over, writes are retried pinned to the secondary"},
		Step{Name: "partition", Fault: all("partition"), FailsOver: true,
			Expect: "replication cut: both regions serve; writes replicate after the heal"},
	)
	return steps
}
