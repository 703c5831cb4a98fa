// Package testtool lets tests depend on the real third-party tools twinedge is judged by
// (the aws CLI, moto_server, cfn-lint, chromium). In CI a missing tool is a failure; on a
// developer's machine the test skips and says what to install.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// install says how to get each tool on Debian.
var install = map[string]string{
	"aws":         "pip install awscli (or apt-get install awscli)",
	"moto_server": "pip install 'moto[server]'",
	"cfn-lint":    "pip install cfn-lint",
	"chromium":    "apt-get install chromium",
	"nginx":       "apt-get install nginx-light",
	"wrk":         "apt-get install wrk",
	"node":        "apt-get install nodejs npm",
}

// Require returns the path of the named executable. When it is missing the test fails if
// the CI environment variable is set, and skips with an install hint otherwise.
func Require(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	hint := install[name]
	if hint == "" {
		hint = "install " + name
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI and was not found on PATH (%s)", name, hint)
	}
	t.Skipf("%s not found on PATH; %s to run this test", name, hint)
	return ""
}
