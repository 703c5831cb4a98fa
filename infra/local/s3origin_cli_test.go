package local

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/twinedge/twinedge/internal/testtool"
)

// TestS3OriginAWSCLI drives the origin with the aws CLI, with no user configuration in play.
func TestS3OriginAWSCLI(t *testing.T) {
	awsBin := testtool.Require(t, "aws")
	f := newS3Fixture(t)
	home := t.TempDir()
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION="+s3TestRegion,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+home,
		"AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsBin, append(args, "--endpoint-url", f.srv.URL)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return string(out)
	}

	run("s3", "mb", "s3://cli-bucket")
	if out := run("s3", "ls"); !strings.Contains(out, "cli-bucket") {
		t.Errorf("s3 ls:\n%s", out)
	}
	src := filepath.Join(home, "site")
	files := map[string]string{
		"index.html":           "<html>hi</html>",
		"assets/app.js":        "console.log(1)",
		"with space/a+b.txt":   "odd key",
		"unicodé/✓.txt":        "unicode key",
		"percent%20literal.md": "percent",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	// A file above the CLI's 8 MB multipart threshold.
	big := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16)
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)

	run("s3", "sync", src, "s3://cli-bucket/", "--cache-control", "public, max-age=60")
	out := run("s3", "ls", "s3://cli-bucket/", "--recursive")
	for name := range files {
		if !strings.Contains(out, name) {
			t.Errorf("s3 ls --recursive lacks %q:\n%s", name, out)
		}
	}
	head := run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "with space/a+b.txt")
	if !strings.Contains(head, `"CacheControl": "public, max-age=60"`) {
		t.Errorf("head-object lacks CacheControl:\n%s", head)
	}
	// A second sync uploads nothing.
	if out := run("s3", "sync", src, "s3://cli-bucket/", "--cache-control", "public, max-age=60"); strings.Contains(out, "upload:") {
		t.Errorf("second sync uploaded again:\n%s", out)
	}
	// Downloads, including the multipart object.
	dst := filepath.Join(home, "down")
	run("s3", "cp", "s3://cli-bucket/", dst, "--recursive")
	for name, body := range files {
		if b, err := os.ReadFile(filepath.Join(dst, name)); err != nil || string(b) != body {
			t.Errorf("downloaded %q = %q, %v", name, b, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dst, "big.bin")); err != nil || !bytes.Equal(b, big) {
		t.Errorf("big.bin round trip: %d bytes, %v", len(b), err)
	}
	obj, err := f.origin.store.head("cli-bucket", "big.bin")
	if err != nil || obj.Parts < 2 || !strings.HasSuffix(obj.ETag, `-`+itoa(obj.Parts)+`"`) {
		t.Errorf("big.bin was not a multipart upload: %+v %v", obj, err)
	}
	if out := run("s3", "cp", "s3://cli-bucket/index.html", "-"); out != files["index.html"] {
		t.Errorf("cp to stdout = %q", out)
	}
	run("s3", "rm", "s3://cli-bucket/", "--recursive")
	n := 0
	if p, err := f.client.ListObjectsV2(context.Background(), &s3ListInput{Bucket: aws.String("cli-bucket")}); err == nil {
		n = len(p.Contents)
	}
	if n != 0 {
		t.Errorf("%d objects left after s3 rm --recursive", n)
	}
	run("s3", "rb", "s3://cli-bucket")
}
