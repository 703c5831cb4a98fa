package edge

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

// awsCRT returns the environment under which the aws CLI signs SigV4A: botocore signs it
// only with awscrt importable (botocore/compat.py, HAS_CRT). When the CLI's own Python
// lacks awscrt and Debian's python3-awscrt is built for the same Python version, a
// directory holding just that module goes on PYTHONPATH. Otherwise the test skips.
func awsCRT(t *testing.T) []string {
	t.Helper()
	bin := testtool.Require(t, "aws")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Skipf("aws --version: %v", err)
	}
	m := regexp.MustCompile(`Python/(\d+)\.(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Skipf("aws --version does not name its Python: %q", out)
	}
	if probe(bin) {
		return nil
	}
	const debian = "/usr/lib/python3/dist-packages"
	so := filepath.Join(debian, "_awscrt.cpython-"+m[1]+m[2]+"-x86_64-linux-gnu.so")
	if _, err := os.Stat(so); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("awscrt is required in CI: .ci/run installs python3-awscrt; %s is missing", so)
		}
		t.Skipf("the aws CLI (Python %s.%s) has no awscrt, which it needs to sign SigV4A: install it for that Python (Debian: apt-get install python3-awscrt)", m[1], m[2])
	}
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(debian, "awscrt"), filepath.Join(dir, "awscrt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(so, filepath.Join(dir, filepath.Base(so))); err != nil {
		t.Fatal(err)
	}
	return []string{"PYTHONPATH=" + dir}
}

// probe reports whether the aws CLI at bin already imports awscrt, asking the Python that
// runs it (the script's #! line).
func probe(bin string) bool {
	script, err := os.ReadFile(bin)
	if err != nil || !strings.HasPrefix(string(script), "#!") {
		return false
	}
	interp := strings.Fields(strings.SplitN(string(script[2:]), "\n", 2)[0])
	if len(interp) == 0 {
		return false
	}
	return exec.Command(interp[0], append(interp[1:], "-c", "import awscrt.auth")...).Run() == nil
}

// The aws CLI's cloudfront-keyvaluestore commands, signed with SigV4A by awscrt, against the
// control API: the store is created with `aws cloudfront create-key-value-store`, then keys
// are put, read, listed and deleted with the ETag each change returns.
//
// The CLI puts the account id in front of the endpoint's host (<account>.127.0.0.1), as the
// SDK does; HTTP_PROXY sends those requests to the control API itself, unchanged (the
// request still names, and signs, the host the CLI chose).
func TestControlKeyValueStoreAWSCLI(t *testing.T) {
	env := awsCRT(t)
	f := newFunctionsFixture(t, filepath.Join(t.TempDir(), "control.json"))
	var created struct {
		ETag          string
		KeyValueStore struct{ ARN, Status string }
	}
	awsCLIAt(t, f.ctl.URL, &created, "create-key-value-store", "--name", "cli-store", "--comment", "from the aws CLI")
	if created.KeyValueStore.Status != "READY" {
		t.Fatalf("create-key-value-store: %+v", created)
	}
	arn := created.KeyValueStore.ARN
	u, _ := url.Parse(f.ctl.URL)
	env = append(env, "HTTP_PROXY="+f.ctl.URL, "http_proxy="+f.ctl.URL, "NO_PROXY=", "no_proxy=")
	kvs := func(out any, args ...string) {
		t.Helper()
		stdout, stderr, err := awsService(t, "cloudfront-keyvaluestore", "http://"+u.Host, env, args...)
		if err != nil {
			t.Fatalf("aws cloudfront-keyvaluestore %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		if err := json.Unmarshal(stdout, out); err != nil {
			t.Fatalf("aws cloudfront-keyvaluestore %s: output %q: %v", strings.Join(args, " "), stdout, err)
		}
	}
	var desc struct {
		ETag      string
		ItemCount int
	}
	kvs(&desc, "describe-key-value-store", "--kvs-arn", arn)
	var put struct {
		ETag      string
		ItemCount int
	}
	kvs(&put, "put-key", "--kvs-arn", arn, "--key", "/old", "--value", "/new", "--if-match", desc.ETag)
	if put.ItemCount != 1 || put.ETag == desc.ETag {
		t.Fatalf("put-key: %+v after %+v", put, desc)
	}
	var got struct{ Key, Value string }
	kvs(&got, "get-key", "--kvs-arn", arn, "--key", "/old")
	if got.Value != "/new" {
		t.Errorf("get-key: %+v", got)
	}
	// A stale ETag is refused with ConflictException.
	_, stderr, err := awsService(t, "cloudfront-keyvaluestore", "http://"+u.Host, env, "put-key", "--kvs-arn", arn, "--key", "x", "--value", "y", "--if-match", desc.ETag)
	if err == nil || !strings.Contains(string(stderr), "ConflictException") {
		t.Errorf("put-key with a stale ETag: %v %s", err, stderr)
	}
	var list struct{ Items []struct{ Key, Value string } }
	kvs(&list, "list-keys", "--kvs-arn", arn)
	if len(list.Items) != 1 || list.Items[0].Key != "/old" {
		t.Errorf("list-keys: %+v", list)
	}
	var del struct{ ItemCount int }
	kvs(&del, "delete-key", "--kvs-arn", arn, "--key", "/old", "--if-match", put.ETag)
	if del.ItemCount != 0 {
		t.Errorf("delete-key: %+v", del)
	}
	// A request signed with the wrong secret is refused.
	bad := append(append([]string{}, env...), "AWS_SECRET_ACCESS_KEY=wrong")
	if _, stderr, err := awsService(t, "cloudfront-keyvaluestore", "http://"+u.Host, bad, "describe-key-value-store", "--kvs-arn", arn); err == nil {
		t.Errorf("a wrong secret was accepted: %s", stderr)
	}
}
