package drill

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes a short plain-text summary: the verdict, the headline figures and one
// line per fault phase. It is what `twinedge drill` prints without --json.
func (r *Report) WriteText(w io.Writer) error {
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "drill %s: %s  (%.0f s, %g requests/s, primary %s, secondary %s)\n",
		r.RunID, verdict, float64(r.DurationMs)/1000, r.Rate, r.Primary, r.Secondary)
	if r.Stop != nil {
		fmt.Fprintf(&b, "STOPPED EARLY: %s\n", r.Stop)
	}
	for _, c := range r.StopConditions {
		switch {
		case c.Breached:
			fmt.Fprintf(&b, "stop condition %s: BREACHED (checked %d times)\n", c.Condition, c.Checks)
		case c.Checks == 0:
			fmt.Fprintf(&b, "stop condition %s: never checked (its window never held %d operations)\n", c.Condition, MinStopSamples)
		default:
			fmt.Fprintf(&b, "stop condition %s: held (checked %d times; worst %s at %.1f s)\n", c.Condition, c.Checks, c.Worst, float64(c.WorstAt)/1000)
		}
	}
	fmt.Fprintf(&b, "GET success rate where CloudFront fails over: %.4f (%d of %d)\n", r.GetSuccessRate, r.GETsOK, r.GETs)
	if r.Writes.Measured {
		fmt.Fprintf(&b, "writes: %d accepted of %d (%d retried pinned, %d rejected); after convergence %d lost, %d duplicated",
			r.Writes.Accepted, r.Writes.Attempted, r.Writes.Retried, r.Writes.Rejected, r.Writes.Lost, r.Writes.Duplicated)
		if r.Convergence.Converged {
			fmt.Fprintf(&b, "; converged in %d ms\n", r.Convergence.Ms)
		} else {
			fmt.Fprintf(&b, "; NOT converged: %s\n", r.Convergence.Note)
		}
	} else {
		fmt.Fprintf(&b, "writes: %s\n", r.Writes.Note)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tfails over\trequests\tGETs ok\tp50\tp99\torigin p50\torigin p99\tto origin\twrites a/r/x\tviewer saw")
	for _, p := range r.tableRows() {
		fo := "yes"
		switch {
		case p.NotRun:
			fo = "not run"
		case p.NotApplied != "":
			fo = "not applied"
		case !p.FailsOver:
			fo = "NO"
		case p.Healthy:
			fo = "-"
		}
		var seen []string
		for i, k := range sortedKeys(p.Outcomes) {
			if i == 3 {
				break
			}
			seen = append(seen, fmt.Sprintf("%s×%d", k, p.Outcomes[k]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d/%d\t%.0fms\t%.0fms\t%.0fms\t%.0fms\t%.0f%%\t%d/%d/%d\t%s\n", p.Name, fo, p.Requests, p.GETsOK, p.GETs,
			p.P50Ms, p.P99Ms, p.OriginP50Ms, p.OriginP99Ms, p.OriginShare*100, p.Writes.Accepted, p.Writes.Retried, p.Writes.Rejected, strings.Join(seen, ", "))
	}
	tw.Flush()
	if r.Targets != (TargetCounts{}) {
		fmt.Fprintf(&b, "time to failover (fault set → first success from %s) and to recovery (heal → first success from %s): %d met, %d missed, %d not measured\n",
			r.Secondary, r.Primary, r.Targets.Met, r.Targets.Missed, r.Targets.NotMeasured)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "phase\tgroup\tfailover\ttarget\tverdict\trecovery\ttarget\tverdict")
		for _, p := range r.Phases {
			for _, t := range p.Timings {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, t.Group,
					t.Failover.measured(), t.Failover.target(), t.Failover.Verdict,
					t.Recovery.measured(), t.Recovery.target(), t.Recovery.Verdict)
			}
		}
		tw.Flush()
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "FAILED: %s\n", f)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// measured is the transition's measured time, or what was seen instead.
func (t Transition) measured() string {
	switch {
	case t.Ms >= 0:
		return fmt.Sprintf("%.2f s", float64(t.Ms)/1000)
	case !t.Expected:
		return "none"
	}
	return "not seen"
}

// target is the transition's target, short.
func (t Transition) target() string {
	if !t.Expected {
		return "none expected"
	}
	return fmt.Sprintf("≤ %.2f s", float64(t.TargetMs)/1000)
}
