package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWorldFaultsSurviveRestart: a world restarted while failed comes back failed the same
// way and says so (issue 14: it came back healthy, silently); heal is remembered too, and an
// unreadable faults.json is reported, not fatal.
func TestWorldFaultsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	w := startWorld(t, dir)
	for _, req := range []FailRequest{
		{Region: "us-east-1", Mode: "503", Target: "api"},
		{Region: "us-east-1", Mode: "slow", Target: "origin", Delay: "2s"},
		{Region: "eu-west-2", Mode: ModePartition},
	} {
		if err := w.Fail(req); err != nil {
			t.Fatal(err)
		}
	}
	before := w.status(context.Background(), false).Regions
	w.Close()

	w = startWorld(t, dir)
	if d := cmp.Diff(before, w.status(context.Background(), false).Regions); d != "" {
		t.Errorf("faults after a restart differ (-before +after)\n%s", d)
	}
	if got := w.Integrity(); !strings.Contains(got, "faults restored from the last run: us-east-1 origin=slow, us-east-1 api=503, eu-west-2 partition") {
		t.Errorf("integrity line does not say which faults came back: %s", got)
	}
	if err := w.Heal(""); err != nil {
		t.Fatal(err)
	}
	w.Close()

	w = startWorld(t, dir)
	for _, r := range w.status(context.Background(), false).Regions {
		if len(r.Faults) > 0 || r.Partitioned {
			t.Errorf("healed before the restart, %s comes back failed: %+v", r.Name, r)
		}
	}
	if got := w.Integrity(); !strings.HasSuffix(got, "no faults recorded") {
		t.Errorf("integrity after a healed restart: %s", got)
	}
	w.Close()

	if err := os.WriteFile(filepath.Join(dir, FaultsFileName), []byte(`{"faults": [{"region": "us-east-1", "mode": `), 0o644); err != nil {
		t.Fatal(err)
	}
	w = startWorld(t, dir)
	if got := w.Integrity(); !strings.Contains(got, "faults.json unreadable") || !strings.Contains(got, "every region starts healthy") {
		t.Errorf("integrity with a corrupt faults.json: %s", got)
	}
}
