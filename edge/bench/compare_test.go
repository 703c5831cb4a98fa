package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twinedge/twinedge/internal/testtool"
)

// TestCompareWithNginx runs the comparison (the same code as compare.sh) with short
// rounds. It is a measurement, not a pass/fail test (DESIGN.md budgets are measured, not
// asserted): it runs only with EDGE_COMPARE=1 and logs the table. EDGE_COMPARE_ONLY
// focuses one target and EDGE_CPUPROFILE writes a CPU profile of the measured rounds.
func TestCompareWithNginx(t *testing.T) {
	if os.Getenv("EDGE_COMPARE") == "" {
		t.Skip("set EDGE_COMPARE=1 to compare with nginx (needs nginx and wrk)")
	}
	cfg := defaultConfig()
	cfg.Nginx = testtool.Require(t, "nginx")
	cfg.Wrk = testtool.Require(t, "wrk")
	cfg.Duration, cfg.Rounds = 3*time.Second, 3
	cfg.Only = os.Getenv("EDGE_COMPARE_ONLY")
	cfg.CPUProfile = os.Getenv("EDGE_CPUPROFILE")
	cfg.Extra = true
	var out strings.Builder
	res, err := run(context.Background(), cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.RPS <= 0 || r.P99 <= 0 {
			t.Errorf("%s %s: no measurement", sizeName(r.Size), r.Target)
		}
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("10KB, 1mb,512")
	if err != nil || len(got) != 3 || got[0] != 10<<10 || got[1] != 1<<20 || got[2] != 512 {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	if _, err := parseSizes("ten"); err == nil {
		t.Error("parseSizes(ten): no error")
	}
}
