package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twinedge/twinedge/infra/local"
)

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"--help"}, 0, "commands:"},
		{[]string{"launch"}, 2, `unknown command "launch"`},
		{[]string{"fail"}, 2, "want one REGION"},
		{[]string{"fail", "us-east-1"}, 2, "--mode is required"},
		{[]string{"fail", "us-east-1", "--mode"}, 2, "flag needs an argument"},
		{[]string{"up", "--help"}, 0, "usage: twinedge up"},
		{[]string{"release", "--keep", "0"}, 2, "at least 1"},
		{[]string{"fail", "us-east-1", "--aws", "--mode", "503"}, 2, "--mode does not apply on AWS"},
		{[]string{"fail", "us-east-1", "--aws", "--target", "edge", "--state", "/nonexistent/twinedge-state"}, 1, "origin, api or all"},
		{[]string{"release", "--history", "-3"}, 2, "at least 1"},
		{[]string{"status", "--state", "/nonexistent/twinedge-state"}, 1, "no running world"},
		{[]string{"edge"}, 2, "want one SOURCE"},
		{[]string{"edge", "t.yaml", "--origin", "noequals"}, 2, "want NAME=VALUE"},
		{[]string{"edge", "t.yaml", "--origin", "a=1", "--origin", "a=2"}, 2, "a given twice"},
		{[]string{"edge", "/nonexistent/template.yaml", "--state", "/nonexistent/twinedge-state"}, 1, "source:"},
		{[]string{"edge", "edge/source/testdata/corpus/cdk-integ-origin-group.template.json", "--state", "/nonexistent/twinedge-state"}, 1, "origins not mapped"},
		{[]string{"fail", "--origin", "x", "us-east-1", "--mode", "503"}, 2, "--origin takes no REGION"},
		{[]string{"drill", "--stop-when", "succes<95%"}, 2, `unknown metric "succes"`},
		{[]string{"drill", "--stop-when", "p99>2s over 10"}, 2, `window "10" is not a duration`},
		// Refused before the world is looked for, and before AWS asks to confirm.
		{[]string{"drill", "--max-duration", "1m", "--state", "/nonexistent/twinedge-state"}, 1, "shorter than --duration 2m0s"},
		{[]string{"drill", "--target", "aws", "--rate", "5", "--stop-when", "p99>2s", "--state", "/nonexistent/twinedge-state"}, 1, "fewer than the 100"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), c.args, &out, &errOut)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errOut.String())
			}
			all := out.String() + errOut.String()
			if !strings.Contains(all, c.want) {
				t.Errorf("output %q lacks %q", all, c.want)
			}
			if c.code != 0 && strings.Count(strings.TrimSpace(errOut.String()), "\n") > 0 {
				t.Errorf("error is more than one line: %q", errOut.String())
			}
		})
	}
}

// TestCLI runs the real binary: up, fail, status, heal, then SIGINT for a clean shutdown.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "twinedge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := t.TempDir()
	up := exec.Command(bin, "up", "--state", state, "--addr", "127.0.0.1:0")
	stdout, _ := up.StdoutPipe()
	var stderr bytes.Buffer
	up.Stderr = &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Process.Kill(); up.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "twinedge is up: ") {
				ready <- strings.TrimPrefix(sc.Text(), "twinedge is up: ")
			}
		}
	}()
	var edgeURL string
	select {
	case edgeURL = <-ready:
	case <-time.After(90 * time.Second):
		t.Fatalf("twinedge up did not come up; stderr:\n%s", stderr.String())
	}
	w, err := local.ReadWorld(state)
	if err != nil {
		t.Fatal(err)
	}
	if w.Edge != edgeURL || w.Control == "" || !w.Regions[0].Primary || w.Regions[0].Name != "us-east-1" || w.Regions[1].Name != "eu-west-2" {
		t.Errorf("world.json = %+v", w)
	}

	cli := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append(args, "--state", state)...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), &cliError{string(ee.Stderr)}
		}
		return string(out), err
	}
	if _, err := cli("fail", "us-east-1", "--mode", "503", "--target", "origin"); err != nil {
		t.Fatalf("fail: %v", err)
	}
	out, err := cli("status", "--json")
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	var st local.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json is not one JSON object: %v\n%s", err, out)
	}
	if st.Regions[0].Faults[local.TargetOrigin].Mode != "503" || st.Regions[0].Origin != "503" {
		t.Errorf("status after fail: %+v", st.Regions[0])
	}
	if _, err := cli("fail", "mars-1", "--mode", "503"); err == nil || !strings.Contains(err.Error(), "unknown region") {
		t.Errorf("fail mars-1: %v", err)
	}
	if _, err := cli("heal"); err != nil {
		t.Fatalf("heal: %v", err)
	}
	drillGuardRails(t, bin, state, cli)
	out, _ = cli("status", "--json")
	var healed local.Status
	if err := json.Unmarshal([]byte(out), &healed); err != nil {
		t.Fatalf("status --json after heal: %v\n%s", err, out)
	}
	if len(healed.Regions[0].Faults) != 0 || healed.Regions[0].Origin != "200" {
		t.Errorf("status after heal: %+v", healed.Regions[0])
	}

	up.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("up exited with %v after SIGINT; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("up did not stop after SIGINT")
	}
	if w, err := local.ReadWorld(state); err != nil || w.PID != 0 {
		t.Errorf("after shutdown world.json pid = %v, %v; want 0", w, err)
	}
	if _, err := os.Stat(filepath.Join(state, "regions")); err != nil {
		t.Errorf("state lost: %v", err)
	}
}

// drillGuardRails runs the real `twinedge drill` against the running world: a stop
// condition that the default schedule's truncate phase breaches (exit 1, the JSON says why),
// then a drill interrupted with SIGINT while a fault is set (exit 1, every region healed).
func drillGuardRails(t *testing.T, bin, state string, cli func(...string) (string, error)) {
	t.Helper()
	faulted := func() bool {
		out, _ := cli("status", "--json")
		var st local.Status
		json.Unmarshal([]byte(out), &st)
		for _, r := range st.Regions {
			if len(r.Faults) > 0 {
				return true
			}
		}
		return false
	}
	// 45 s: each fault lasts 2.25 s, so truncate keeps a second of its own even when a
	// loaded machine makes the switch slow (the schedule's clock does not wait for it).
	out, err := cli("drill", "--duration", "45s", "--rate", "50", "--stop-when", "success<95% over 3s", "--max-duration", "3m", "--json")
	var ce *cliError
	if !errors.As(err, &ce) {
		t.Fatalf("a drill stopped early must exit non-zero: %v\n%s", err, out)
	}
	var rep struct {
		StoppedEarly bool `json:"stoppedEarly"`
		Stop         struct {
			Reason, Condition, Phase string
		} `json:"stop"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("drill --json is not one JSON object: %v\n%s", err, out)
	}
	if !rep.StoppedEarly || rep.Stop.Reason != "stop-when" || rep.Stop.Condition != "success<95% over 3s" || rep.Stop.Phase != "truncate" {
		t.Errorf("stop %+v: want success<95%% over 3s breached in the truncate phase", rep)
	}
	if !strings.Contains(ce.stderr, "stopped early: stop condition success<95% over 3s breached") {
		t.Errorf("stderr %q", ce.stderr)
	}
	if faulted() {
		t.Error("faults left after a stopped drill")
	}

	cmd := exec.Command(bin, "drill", "--duration", "60s", "--state", state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(2 * time.Minute); !faulted(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the drill set no fault; stderr:\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "drill interrupted (context canceled): every region healed") {
			t.Errorf("interrupted drill: %v\n%s", err, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the drill did not stop after SIGINT")
	}
	if faulted() {
		t.Error("faults left after an interrupted drill")
	}
}

type cliError struct{ stderr string }

func (e *cliError) Error() string { return strings.TrimSpace(e.stderr) }

// A drill on AWS breaks a real region: without --yes, and with stdin not a terminal (as
// under go test), it refuses before any AWS call.
func TestAWSDrillNeedsConfirmation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "aws.json"), []byte(`{"stack":"twinedge","account":"123456789012","distributionId":"E2QWRUHAPOMQZL","domainName":"d1.cloudfront.net",`+
		`"regions":[{"name":"us-east-1","primary":true,"bucket":"a"},{"name":"eu-west-2","bucket":"b"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// An endpoint nothing listens on: a call reaching AWS would fail differently.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	// A pipe for stdin, as under a script or CI.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w.Close()
	stdin := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = stdin }()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"drill", "--target", "aws", "--state", dir}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "not confirmed: nothing was changed") {
		t.Errorf("drill --target aws without --yes: exit %d, stderr %q", code, errOut.String())
	}
}
