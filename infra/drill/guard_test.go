package drill

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twinedge/twinedge/infra/local"
)

// The guard rails on a real local world: a breached stop condition, --max-duration, an
// interrupt, and a drill killed outright. One world serves every subtest (each drill heals
// as it ends, and the next one heals first), to spare the shared machine.
func TestDrillGuardRails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a world and runs several drills")
	}
	dir := t.TempDir()
	w := startWorldIn(t, dir)
	primary := w.Regions()[0].Name()
	step := func(name string) Step {
		for _, s := range DefaultSchedule(primary) {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no step %q", name)
		return Step{}
	}
	faults := func() map[string]int {
		out := map[string]int{}
		for _, r := range w.Status(context.Background()).Regions {
			if len(r.Faults) > 0 {
				out[r.Name] = len(r.Faults)
			}
		}
		if len(w.Replicator().Partitioned()) > 0 {
			out["partition"] = 1
		}
		return out
	}

	t.Run("stop-when", func(t *testing.T) {
		// truncate cuts every uncached answer: the viewer success rate collapses, far
		// below 95 %, long before the fault phase's planned 7.5 s are over.
		cond, err := ParseStopCondition("success<95% over 3s")
		if err != nil {
			t.Fatal(err)
		}
		opts := worldOptions(w, 40*time.Second)
		opts.Rate = 50
		opts.Schedule = []Step{step("truncate"), step("503")}
		opts.StopWhen = []StopCondition{cond}
		atStop := &onStop{check: faults}
		opts.Progress = atStop
		began := time.Now()
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		var text, js, page bytes.Buffer
		rep.WriteText(&text)
		rep.WriteJSON(&js)
		rep.WriteHTML(&page)
		t.Logf("\n%s", text.String())

		s := rep.Stop
		if !rep.StoppedEarly || s == nil || s.Reason != StoppedByCondition || s.Condition != cond.String() {
			t.Fatalf("stop %+v: want the condition %s breached", s, cond)
		}
		if s.Phase != "truncate" || !strings.HasSuffix(s.Measured, "%") || s.Requests < MinStopSamples {
			t.Errorf("stop %+v: want the truncate phase, a rate in percent, over at least %d operations", s, MinStopSamples)
		}
		// Healed at once: before the schedule's own heal of truncate was due (at 17.5 s:
		// baseline 10 s + three quarters of 10 s), and before the drill's 40 s were up.
		plannedHeal := int64(17500)
		if s.HealedMs < s.AtMs || s.HealedMs >= plannedHeal || s.HealError != "" {
			t.Errorf("stopped at %d ms, healed at %d ms (%s): want a heal after the stop and before %d ms", s.AtMs, s.HealedMs, s.HealError, plannedHeal)
		}
		if f, seen := atStop.result(); !seen || len(f) != 0 {
			t.Errorf("when the stop was reported (seen %v), faults %v: the stop must heal at once, not at exit", seen, f)
		}
		if took >= opts.Duration {
			t.Errorf("the drill took %s of its %s: not stopped early", took, opts.Duration)
		}
		// The traffic stops with it: at most the request of a tick already under way starts
		// after the stop.
		late := 0
		for _, smp := range rep.Samples {
			if smp.At > time.Duration(s.AtMs+1)*time.Millisecond {
				late++
			}
		}
		if late > 2 {
			t.Errorf("%d requests started after the stop", late)
		}
		for _, p := range rep.Phases[2:] {
			if !p.NotRun {
				t.Errorf("phase %s ran after the stop", p.Name)
			}
		}
		if rep.Pass || !strings.Contains(strings.Join(rep.Failures, "; "), "stopped early") {
			t.Errorf("pass %v, failures %v: a drill stopped early cannot pass", rep.Pass, rep.Failures)
		}
		if len(rep.StopConditions) != 1 || !rep.StopConditions[0].Breached || rep.StopConditions[0].Checks == 0 {
			t.Errorf("stop conditions %+v", rep.StopConditions)
		}
		for _, want := range []string{"STOPPED EARLY: stop condition " + cond.String() + " breached", "BREACHED"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("text report lacks %q", want)
			}
		}
		for _, want := range []string{`"stoppedEarly": true`, `"reason": "stop-when"`, `"condition": "` + cond.String() + `"`, `"measured": "`, `"atMs": `} {
			if !strings.Contains(js.String(), want) {
				t.Errorf("JSON report lacks %s", want)
			}
		}
		if !strings.Contains(page.String(), "Stopped early.") || !strings.Contains(page.String(), "not run: the drill stopped before it") {
			t.Error("HTML report does not say the drill stopped early")
		}
		if f := faults(); len(f) != 0 {
			t.Errorf("faults left after the drill: %v", f)
		}
		if !rep.Convergence.Converged || rep.Writes.Lost != 0 {
			t.Errorf("after a stop the regions must still be checked: convergence %+v, writes %+v", rep.Convergence, rep.Writes)
		}
	})

	t.Run("max-duration cuts a switch that waits", func(t *testing.T) {
		// On AWS a fault waits for a function update (up to 2 minutes); here the switch
		// sets the fault and then waits until the drill gives up on it.
		opts := worldOptions(w, 4*time.Second)
		opts.Schedule = []Step{step("503"), step("refuse")}
		opts.MaxDuration = 8 * time.Second
		opts.Switch = waitingSwitch{opts.Switch}
		atStop := &onStop{check: faults}
		opts.Progress = atStop
		began := time.Now()
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		s := rep.Stop
		if s == nil || s.Reason != StoppedByMaxDuration || s.MaxDuration != "8s" || s.Phase != "503" {
			t.Fatalf("stop %+v: want --max-duration 8s reached in phase 503", s)
		}
		if f, seen := atStop.result(); !seen || len(f) != 0 {
			t.Errorf("when the cap was reported (seen %v), faults %v: the cap must heal at once", seen, f)
		}
		if took < opts.MaxDuration {
			t.Errorf("stopped after %s, before the %s cap", took, opts.MaxDuration)
		}
		for _, p := range rep.Phases[2:] {
			if !p.NotRun {
				t.Errorf("phase %s ran after the cap", p.Name)
			}
		}
		if f := faults(); len(f) != 0 {
			t.Errorf("faults left after the cap: %v", f)
		}
		if rep.Convergence.Converged {
			t.Error("convergence checked after the cap")
		}
	})

	t.Run("max-duration cuts the convergence wait", func(t *testing.T) {
		// A replication delay far longer than the cap: the regions cannot converge in
		// time, and the wait (30 s by default) would overrun.
		w.Replicator().SetDelay(10 * time.Minute)
		defer w.Replicator().SetDelay(local.DefaultReplicationDelay)
		opts := worldOptions(w, 4*time.Second)
		opts.Schedule = []Step{step("503")}
		opts.MaxDuration = 10 * time.Second
		opts.ConvergeTimeout = 5 * time.Minute
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		s := rep.Stop
		if s == nil || s.Reason != StoppedByMaxDuration || s.Phase != "converging" {
			t.Fatalf("stop %+v: want --max-duration reached while converging", s)
		}
		if rep.Convergence.Converged || !strings.Contains(rep.Convergence.Note, "cut") || rep.Writes.Lost != 0 {
			t.Errorf("convergence %+v, lost %d: want the wait cut and no loss counted from half a listing", rep.Convergence, rep.Writes.Lost)
		}
		for _, p := range rep.Phases {
			if p.NotRun {
				t.Errorf("phase %s marked not run, though the schedule had finished", p.Name)
			}
		}
	})

	t.Run("max-duration still cuts the wait after a breach", func(t *testing.T) {
		w.Replicator().SetDelay(10 * time.Minute)
		defer w.Replicator().SetDelay(local.DefaultReplicationDelay)
		cond, _ := ParseStopCondition("success<95% over 3s")
		opts := worldOptions(w, 12*time.Second)
		opts.Rate = 50
		opts.Schedule = []Step{step("truncate")}
		opts.StopWhen = []StopCondition{cond}
		opts.MaxDuration = 14 * time.Second
		opts.ConvergeTimeout = 5 * time.Minute
		began := time.Now()
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took > 2*time.Minute {
			t.Errorf("the drill took %s: the cap did not cut the convergence wait that followed the breach", took)
		}
		if rep.Stop == nil || rep.Stop.Reason != StoppedByCondition {
			t.Fatalf("stop %+v: want the breach, which came first", rep.Stop)
		}
		if rep.Convergence.Converged || !strings.Contains(rep.Convergence.Note, "cut") {
			t.Errorf("convergence %+v: want the wait cut by the cap", rep.Convergence)
		}
	})

	t.Run("interrupt heals", func(t *testing.T) {
		cmd, stderr := drillProcess(t, dir)
		waitForFault(t, faults)
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if err := waitExit(cmd); err == nil {
			t.Errorf("an interrupted drill exited 0")
		}
		// It ended on the interrupt, while the fault was set: before the schedule's heal.
		if out := stderr.String(); !strings.Contains(out, "drill interrupted (context canceled): every region healed") || !strings.Contains(out, "fail ") || strings.Contains(out, "s] healed") {
			t.Errorf("the drill did not end on the interrupt during the fault:\n%s", out)
		}
		if f := faults(); len(f) != 0 {
			t.Errorf("faults left by an interrupted drill: %v\n%s", f, stderr.String())
		}
	})

	t.Run("a killed drill is healed by the next", func(t *testing.T) {
		cmd, _ := drillProcess(t, dir)
		waitForFault(t, faults)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		waitExit(cmd)
		if f := faults(); len(f) == 0 {
			t.Fatal("the killed drill left no fault: the test proves nothing")
		}
		opts := worldOptions(w, 4*time.Second)
		opts.Schedule = []Step{step("503")}
		rep, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		// Healed before it began: the baseline is the primary's.
		base := rep.Phases[0]
		if base.ServedBy[rep.Primary] == 0 || base.ServedBy[rep.Secondary] != 0 {
			t.Errorf("baseline served by %v: the fault the killed drill left was not healed first", base.ServedBy)
		}
		if f := faults(); len(f) != 0 {
			t.Errorf("faults left: %v", f)
		}
	})
}

// onStop is a drill's progress writer that looks at the world's faults the moment the drill
// reports its stop (after its heal, before it goes on to exit).
type onStop struct {
	check  func() map[string]int
	mu     sync.Mutex
	seen   bool
	faults map[string]int
}

func (o *onStop) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("STOPPED")) {
		f := o.check()
		o.mu.Lock()
		o.seen, o.faults = true, f
		o.mu.Unlock()
	}
	return len(p), nil
}

func (o *onStop) result() (map[string]int, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.faults, o.seen
}

// waitingSwitch sets a fault through the world, then waits for ctx, as a switch whose
// change takes longer than the drill will wait.
type waitingSwitch struct{ Switch }

func (s waitingSwitch) Fail(ctx context.Context, f Fault) error {
	if err := s.Switch.Fail(ctx, f); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// drillProcess runs a long drill in a process of its own (this test binary, in
// TestDrillProcess) against the world in dir, through its admin API as `twinedge drill` does.
func drillProcess(t *testing.T, dir string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDrillProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "TWINEDGE_DRILL_PROCESS="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &out
}

// TestDrillProcess is the drill of drillProcess: 8 s of baseline, then a 503 for 6 s,
// stopped by SIGINT as `twinedge drill` is (signal.NotifyContext), or killed.
func TestDrillProcess(t *testing.T) {
	dir := os.Getenv("TWINEDGE_DRILL_PROCESS")
	if dir == "" {
		t.Skip("run by TestDrillGuardRails")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := ForState(dir, Options{Duration: 24 * time.Second, NoProbes: true, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	opts.Schedule = []Step{{Name: "503", Fault: Fault{Region: opts.Regions[0].Name, Mode: "503"}, FailsOver: true}}
	_, err = Run(ctx, opts)
	t.Fatalf("drill ended: %v", err)
}

func waitForFault(t *testing.T, faults func() map[string]int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for len(faults()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the drill process set no fault in 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitExit(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		return errors.New("the drill process did not exit in 2 minutes")
	}
}
