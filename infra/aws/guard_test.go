package awsinfra

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// cfnGuardPackage is the npm package that ships cfn-guard and AWS Control Tower's
// proactive rules (spec/judges.md); .ci/run installs it and sets CFN_GUARD_DIR to the
// package directory.
const cfnGuardPackage = "@cdklabs/cdk-validator-cfnguard@0.0.62"

// cfnGuard returns the cfn-guard binary and the Control Tower rules directory, or skips
// (fails in CI) with how to install them.
func cfnGuard(t *testing.T) (bin, rules string) {
	t.Helper()
	dir := os.Getenv("CFN_GUARD_DIR")
	bin = filepath.Join(dir, "bin", "ubuntu", "x86_64", "cfn-guard")
	rules = filepath.Join(dir, "rules", "control-tower", "cfn-guard")
	if _, err := os.Stat(bin); dir == "" || err != nil {
		msg := fmt.Sprintf("cfn-guard not found: npm install --prefix DIR %s, then CFN_GUARD_DIR=DIR/node_modules/@cdklabs/cdk-validator-cfnguard", cfnGuardPackage)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (required in CI)")
		}
		t.Skip(msg)
	}
	return bin, rules
}

// guardFinding is one rule one resource breaks.
type guardFinding struct{ Rule, Resource string }

var guardResourceRE = regexp.MustCompile(`/Resources/([A-Za-z0-9]+)`)

// runGuard validates one template and returns its findings. cfn-guard's JSON output is a
// stream of one object per rule file; a failing one lists its non-compliant checks, whose
// property paths name the resources.
func runGuard(t *testing.T, bin, rules, template string) []guardFinding {
	t.Helper()
	cmd := exec.Command(bin, "validate", "-d", template, "-r", rules, "--show-summary", "none", "-o", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	// cfn-guard exits 19 when a rule fails; anything else is an error of the run.
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 19) {
		t.Fatalf("cfn-guard on %s: %v\n%s", template, err, stderr.String())
	}
	var findings []guardFinding
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var report struct {
			Status       string            `json:"status"`
			NotCompliant []json.RawMessage `json:"not_compliant"`
		}
		if err := dec.Decode(&report); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("cfn-guard output on %s: %v", template, err)
		}
		for _, nc := range report.NotCompliant {
			var c struct {
				Rule struct {
					Name string `json:"name"`
				} `json:"Rule"`
			}
			if err := json.Unmarshal(nc, &c); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, m := range guardResourceRE.FindAllStringSubmatch(string(nc), -1) {
				if !seen[m[1]] {
					seen[m[1]] = true
					findings = append(findings, guardFinding{c.Rule.Name, m[1]})
				}
			}
		}
	}
	return findings
}

// readWaivers reads testdata/cfn-guard-waivers.txt: "rule resource reason" per line.
func readWaivers(t *testing.T) map[guardFinding]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "cfn-guard-waivers.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	waivers := map[guardFinding]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) < 3 || strings.TrimSpace(fields[2]) == "" {
			t.Fatalf("cfn-guard-waivers.txt:%d: want \"rule resource reason\", got %q", n, line)
		}
		waivers[guardFinding{fields[0], fields[1]}] = fields[2]
	}
	return waivers
}

// TestCFNGuard runs cfn-guard with AWS Control Tower's proactive rules on every
// synthesised template. Each finding is fixed or waived with a reason in
// testdata/cfn-guard-waivers.txt; a waiver no finding needs any more fails too.
func TestCFNGuard(t *testing.T) {
	bin, rules := cfnGuard(t)
	waivers := readWaivers(t)
	used := map[guardFinding]bool{}
	dir := t.TempDir()
	for _, c := range synthCases {
		files, err := Synth(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		paths, err := WriteDir(filepath.Join(dir, c.name), files)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			for _, f := range runGuard(t, bin, rules, p) {
				if _, ok := waivers[f]; !ok {
					t.Errorf("%s/%s: %s fails %s; fix it or waive it in testdata/cfn-guard-waivers.txt with the reason", c.name, filepath.Base(p), f.Resource, f.Rule)
				}
				used[f] = true
			}
		}
	}
	var stale []string
	for w := range waivers {
		if !used[w] {
			stale = append(stale, w.Rule+" "+w.Resource)
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Errorf("waiver %q matches no finding any more: remove it", s)
	}
}
