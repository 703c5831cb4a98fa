package drill

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twinedge/twinedge/infra"
)

// Time to failover and time to recovery, per fault phase and origin group.
//
// Time to failover runs from the moment the switch has set the fault to the moment a viewer
// has the first complete success served by the secondary through that group; time to
// recovery from the moment the heal has returned to the first success served by the primary
// again. The serving region is what the edge's answer says: x-amz-meta-region on a site
// object (every object of a release, and every probe, carries its bucket's region), servedBy
// or region in an API answer. Only answers that reached an origin count: a cache hit holds
// whatever region filled it.
//
// Each has a target, derived from the distribution's own settings (infra/distribution.go and
// infra/timeouts.go) and CloudFront's failover rules (CloudFront Developer Guide, "Optimize
// high availability with CloudFront origin failover"; spec/cloudfront.md §1.3, §1.4):
//
//	failover = next request + time on the primary + the secondary's answer
//	recovery = next request + the primary's answer
//
//   - next request: the drill cannot see a fault before its next request of the group
//     reaches an origin; its traffic is an open loop, so that is the longest gap between two
//     such requests in its mix at its rate (probes for the site: every probe is a miss; API
//     reads are never cached).
//   - time on the primary, by mode: a status in the failover criteria (FailoverStatusCodes:
//     403, 404, 500, 502, 503, 504; on AWS the bucket policy's Deny gives 403 and the switched
//     API 503) and a reset connection fail over on the primary's answer, so nothing is added;
//     a refused connection costs at most ConnectionAttempts × ConnectionTimeout ("Cannot
//     connect ... fail over"); no answer (blackhole, or a slow answer past the read timeout)
//     costs ConnectionAttempts × OriginReadTimeout, CloudFront's wait for a first byte on
//     each attempt ("Controlling origin timeouts and attempts").
//   - an answer: CloudFront waits no longer than the origin's OriginReadTimeout for its
//     first byte, so a healthy origin's answer is bounded by it (2 s site, 5 s API).
//   - recovery needs no more than one answer: CloudFront "routes all incoming requests to the
//     primary origin, even when a previous request failed over to the secondary" (DG): no
//     memory, so the first miss after the heal is the primary's.
//
// A truncated body (the origin has begun to answer) and an answer slower than the fault's
// delay but within the read timeout do not fail over at all: there the target is that the
// secondary never serves. On AWS, S3 applies a bucket policy change eventually, with no
// bound documented ("Bucket configurations have an eventual consistency model", Amazon S3
// User Guide, "Amazon S3 data consistency model"); the drill cannot see when the Deny takes
// effect, so the origin targets on AWS include none, and a miss there may be S3's
// propagation. The API switch is waited for (its function update has finished) before the
// fault counts as applied.

// The origin groups the drill times (infra.SiteGroupID, infra.APIGroupID).
const (
	groupSite = infra.SiteGroupID
	groupAPI  = infra.APIGroupID
)

// Verdicts of a transition.
const (
	VerdictMet         = "met"
	VerdictMissed      = "missed"
	VerdictNotMeasured = "not measured"
)

// Transition is one timed change of serving region (or its absence) against its target.
type Transition struct {
	// Expected is false where CloudFront does not change region (truncate; an answer
	// slower than the fault's delay but within the read timeout): the target is then that
	// the other region never serves.
	Expected bool `json:"expected"`
	// Ms is the measured time, -1 when the change was not seen.
	Ms int64 `json:"ms"`
	// TargetMs is the target (0 when none is expected); Target derives it in one line.
	TargetMs int64  `json:"targetMs,omitempty"`
	Target   string `json:"target"`
	// Verdict is met, missed or not measured; Note says why when not met.
	Verdict string `json:"verdict"`
	Note    string `json:"note,omitempty"`
}

// GroupTiming is a fault phase's time to failover and time to recovery for one origin
// group the fault reached.
type GroupTiming struct {
	Group    string     `json:"group"`
	Failover Transition `json:"failover"`
	Recovery Transition `json:"recovery"`
}

// readTimeout is a group's OriginReadTimeout.
func readTimeout(group string) time.Duration {
	if group == groupAPI {
		return infra.APIOriginReadTimeout * time.Second
	}
	return infra.SiteOriginReadTimeout * time.Second
}

// groupOf is the origin group a request of kind k goes through ("" for writes, which use
// the pinned, single-origin behaviours and never fail over at CloudFront).
func groupOf(k Kind) string {
	switch {
	case k.IsSite():
		return groupSite
	case k == KindAPIRead || k == KindAPIHealth:
		return groupAPI
	}
	return ""
}

// reaches reports whether fault f reaches group.
func reaches(f Fault, group string) bool {
	switch {
	case f.Mode == "partition":
		return false // replication only: both regions keep serving
	case f.Target == string(infra.TargetAPI):
		return group == groupAPI
	case f.Target == string(infra.TargetOrigin):
		return group == groupSite
	}
	return true
}

// onPrimary is CloudFront's time on the primary, in fault f, before it sends the request to
// the secondary of group; failsOver false means it does not; why says which rule.
func onPrimary(f Fault, group string) (wait time.Duration, failsOver bool, why string) {
	attempts := time.Duration(infra.ConnectionAttempts)
	read := readTimeout(group)
	switch f.Mode {
	case "500", "502", "503", "504", "403", "404", AWSMode:
		code, _ := strconv.Atoi(f.Mode)
		if f.Mode == AWSMode {
			// infra/aws/failure.go: S3 answers the Deny with 403; the switched API with 503.
			code = 403
			if group == groupAPI {
				code = 503
			}
		}
		if !slices.Contains(infra.FailoverStatusCodes, int32(code)) {
			return 0, false, fmt.Sprintf("%d is not in the failover criteria: the viewer gets it", code)
		}
		return 0, true, fmt.Sprintf("%d is in the failover criteria: fails over on the primary's answer", code)
	case "reset":
		return 0, true, "connection reset before an answer: fails over at once"
	case "refuse":
		return attempts * infra.ConnectionTimeout * time.Second, true,
			fmt.Sprintf("connection refused: ≤ %d × %d s connection timeout", infra.ConnectionAttempts, infra.ConnectionTimeout)
	case "blackhole":
		return attempts * read, true, fmt.Sprintf("no answer: %d × %s read timeout", infra.ConnectionAttempts, read)
	case "slow":
		delay := f.Delay
		if delay == 0 {
			delay = SlowDelay
		}
		if delay <= read {
			return 0, false, fmt.Sprintf("headers after %s, within the %s read timeout: the primary answers, slowly", delay, read)
		}
		return attempts * read, true, fmt.Sprintf("headers after %s, past the read timeout: %d × %s", delay, infra.ConnectionAttempts, read)
	case "truncate":
		return 0, false, "body cut after the headers: CloudFront has begun to answer and cannot fail over"
	}
	return 0, false, fmt.Sprintf("mode %q has no failover rule", f.Mode)
}

// nextRequest is the longest wait for the drill's next request of group to reach an origin:
// the largest gap between two such kinds in the mix, at rate.
func nextRequest(group string, rate float64, probes bool) time.Duration {
	counts := func(k Kind) bool {
		if group == groupSite {
			if probes {
				return k == KindProbe
			}
			return k.IsSite() // without probes, pages and assets: only their misses count
		}
		return groupOf(k) == group
	}
	var at []int
	for i, k := range mix {
		if counts(k) {
			at = append(at, i)
		}
	}
	if len(at) == 0 || rate <= 0 {
		return 0
	}
	gap := at[0] + len(mix) - at[len(at)-1] // across the end of one turn
	for i := 1; i < len(at); i++ {
		gap = max(gap, at[i]-at[i-1])
	}
	return time.Duration(float64(gap) / rate * float64(time.Second))
}

// timings measures the time to failover and to recovery of fault phase i, for each group
// the fault reached, against its targets.
func (r *Report) timings(i int) []GroupTiming {
	p := r.Phases[i]
	if p.Kind != "fault" || p.Fault == nil || p.NotApplied != "" || p.NotRun || p.applied == 0 {
		return nil
	}
	var healedEnd time.Duration // the end of the healed interval after this fault
	if i+1 < len(r.Phases) && !r.Phases[i+1].NotRun {
		healedEnd = r.Phases[i+1].end
	}
	var out []GroupTiming
	for _, g := range []string{groupSite, groupAPI} {
		if !reaches(*p.Fault, g) || (g == groupAPI && !r.API.Measured) {
			continue
		}
		next := nextRequest(g, r.Rate, r.Probes > 0)
		read := readTimeout(g)
		wait, failsOver, why := onPrimary(*p.Fault, g)
		aws := ""
		if p.Fault.Mode == AWSMode && g == groupSite {
			aws = "; S3 applies the bucket policy eventually, no bound documented: not included"
		}
		gt := GroupTiming{Group: g}

		// Failover: the first success from the secondary of a request started in the phase.
		first := firstServed(r.Samples, g, r.Secondary, p.start, p.end)
		fo := &gt.Failover
		fo.Expected = failsOver
		fo.Ms = since(first, p.applied)
		if failsOver {
			target := next + wait + read
			fo.TargetMs = target.Milliseconds()
			fo.Target = fmt.Sprintf("next request ≤ %s + %s + secondary's answer ≤ %s read timeout%s", short(next), why, read, aws)
			fo.judge("no success from " + r.Secondary + " while the fault lasted")
		} else {
			fo.Target = why
			fo.Verdict = VerdictMet
			if fo.Ms >= 0 {
				fo.Verdict, fo.Note = VerdictMissed, r.Secondary+" served, where CloudFront would not fail over"
			}
		}

		// Recovery: the first success from the primary after the heal.
		rc := &gt.Recovery
		rc.Expected = true
		target := next + read
		rc.TargetMs = target.Milliseconds()
		rc.Target = fmt.Sprintf("next request ≤ %s + primary's answer ≤ %s read timeout (no memory between requests)%s", short(next), read, aws)
		rc.Ms = -1
		switch {
		case p.healed == 0 || healedEnd == 0:
			rc.Verdict, rc.Note = VerdictNotMeasured, "the drill stopped before the traffic after the heal"
		default:
			rc.Ms = since(firstServed(r.Samples, g, r.Primary, p.healed, healedEnd), p.healed)
			rc.judge("no success from " + r.Primary + " after the heal")
		}
		out = append(out, gt)
	}
	return out
}

// judge gives an expected transition its verdict against its target; unseen says why it
// was missed when it was not seen at all.
func (t *Transition) judge(unseen string) {
	switch {
	case t.Ms < 0:
		t.Verdict, t.Note = VerdictMissed, unseen
	case t.Ms <= t.TargetMs:
		t.Verdict = VerdictMet
	default:
		t.Verdict = VerdictMissed
	}
}

// firstServed returns when the first success served by region through group finished,
// among the requests started in [from, to) that reached an origin; -1 when there is none.
func firstServed(samples []Sample, group, region string, from, to time.Duration) time.Duration {
	first := time.Duration(-1)
	for _, s := range samples {
		if !s.OK || groupOf(s.Kind) != group || s.Region != region || s.At < from || s.At >= to {
			continue
		}
		// Only an origin's answer says who serves now; a site object revalidated
		// (RefreshHit) keeps the region of the copy cached earlier.
		if s.Cache == "Hit" || (group == groupSite && s.Cache == "RefreshHit") {
			continue
		}
		if done := s.At + s.Took; first < 0 || done < first {
			first = done
		}
	}
	return first
}

// since is t − from in ms, -1 when t is -1. It is 0 when the first success finished
// before from: a request sent while the switch was setting the fault had already failed
// over when the switch returned (locally the switch takes milliseconds).
func since(t, from time.Duration) int64 {
	if t < 0 {
		return -1
	}
	return max(0, (t - from).Milliseconds())
}

func short(d time.Duration) string { return d.Round(time.Millisecond).String() }
