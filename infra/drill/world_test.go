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
