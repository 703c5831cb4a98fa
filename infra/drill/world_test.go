package drill

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDrillLocalWorld runs a short drill of the default schedule against a local world and
// checks the verdicts, not the timings: every GET where CloudFront fails over succeeds,
// truncate is marked as not failing over, and no write is lost or duplicated.
func TestDrillLocalWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a world and runs a 30 s drill")
	}
	w := startWorld(t)
	rep, err := Run(context.Background(), worldOptions(w, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("\n%s", text.String())
	if rep.GetSuccessRate != 1 {
		t.Errorf("getSuccessRate = %v, want 1: %v", rep.GetSuccessRate, rep.Failures)
	}
	for _, p := range rep.Phases {
		if p.Name == "truncate" && p.FailsOver {
			t.Error("truncate is marked as failing over")
		}
		if p.Kind == "fault" && p.Requests == 0 {
			t.Errorf("phase %s has no requests", p.Name)
		}
	}
	if !rep.Writes.Measured {
		t.Fatalf("writes not measured: %s", rep.Writes.Note)
	}
	if rep.Writes.Accepted == 0 || rep.Writes.Retried == 0 {
		t.Errorf("writes %+v: want writes accepted, some after the pinned retry", rep.Writes)
	}
	if rep.Writes.Lost != 0 || rep.Writes.Duplicated != 0 || !rep.Convergence.Converged {
		t.Errorf("writes lost %d, duplicated %d; convergence %+v", rep.Writes.Lost, rep.Writes.Duplicated, rep.Convergence)
	}
	for _, p := range rep.Phases {
		if p.Kind == "fault" && p.NotApplied != "" {
			t.Errorf("phase %s not applied: %s", p.Name, p.NotApplied)
		}
		if p.Name == "503" && p.ServedBy[rep.Secondary] == 0 {
			t.Errorf("phase 503 served by %v: the secondary never answered", p.ServedBy)
		}
	}
	if rep.Probes == 0 {
		t.Errorf("no probe objects: %v", rep.Notes)
	}
}

// TestDrillThroughAdminAPI drives the faults the way `twinedge drill` does: ForState reads
// world.json and the Switch speaks the world's signed admin API.
func TestDrillThroughAdminAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a world")
	}
	dir := t.TempDir()
	w := startWorldIn(t, dir)
	primary := w.Regions()[0].Name()
	var schedule []Step
	for _, s := range DefaultSchedule(primary) {
		if s.Name == "503" || s.Name == "partition" {
			schedule = append(schedule, s)
		}
	}
	opts, err := ForState(dir, Options{Duration: 8 * time.Second, Schedule: schedule})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass {
		t.Errorf("drill failed: %v", rep.Failures)
	}
	for _, p := range rep.Phases {
		if p.NotApplied != "" {
			t.Errorf("phase %s not applied through the admin API: %s", p.Name, p.NotApplied)
		}
		if p.Name == "503" && p.ServedBy[rep.Secondary] == 0 {
			t.Errorf("phase 503 served by %v: the fault did not take", p.ServedBy)
		}
	}
	st := w.Status(context.Background())
	for _, r := range st.Regions {
		if len(r.Faults) != 0 {
			t.Errorf("region %s left with faults %v after the drill", r.Name, r.Faults)
		}
	}
}

// TestTimeToFailoverLocalWorld times a status fault and a black hole on a real world. It
// checks what holds however loaded the machine is: each change of region is seen, a black
// hole costs at least the origin read timeout that CloudFront waits before it fails over
// (2 s site, 5 s API), and a 503 fails over sooner than a black hole.
func TestTimeToFailoverLocalWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a world and runs a 32 s drill")
	}
	w := startWorld(t)
	primary := w.Regions()[0].Name()
	var schedule []Step
	for _, s := range DefaultSchedule(primary) {
		if s.Name == "503" || s.Name == "blackhole" {
			schedule = append(schedule, s)
		}
	}
	opts := worldOptions(w, 32*time.Second) // 8 s a unit: each fault lasts 6 s
	opts.Schedule = schedule
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("\n%s", text.String())
	got := map[string]GroupTiming{}
	for _, p := range rep.Phases {
		for _, g := range p.Timings {
			got[p.Name+" "+g.Group] = g
		}
	}
	for _, k := range []string{"503 site", "503 api", "blackhole site", "blackhole api"} {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: not timed", k)
			continue
		}
		if !g.Failover.Expected || g.Failover.Ms < 0 || g.Recovery.Ms < 0 {
			t.Errorf("%s: failover %+v, recovery %+v: want both seen", k, g.Failover, g.Recovery)
		}
		if g.Failover.TargetMs <= 0 || !strings.Contains(g.Failover.Target, "read timeout") {
			t.Errorf("%s: target %d ms %q", k, g.Failover.TargetMs, g.Failover.Target)
		}
	}
	if ms := got["blackhole site"].Failover.Ms; ms < 2000 {
		t.Errorf("blackhole site failover in %d ms, under the 2 s read timeout CloudFront waits first", ms)
	}
	if ms := got["blackhole api"].Failover.Ms; ms < 5000 {
		t.Errorf("blackhole api failover in %d ms, under the 5 s read timeout CloudFront waits first", ms)
	}
	if a, b := got["503 site"].Failover.Ms, got["blackhole site"].Failover.Ms; a >= b {
		t.Errorf("503 failed over in %d ms, a black hole in %d ms: a status fails over on the answer", a, b)
	}
	if rep.Targets.Met+rep.Targets.Missed != 8 {
		t.Errorf("targets %+v: want 8 verdicts (2 phases × 2 groups × failover, recovery)", rep.Targets)
	}
}
