package local

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/internal/testtool"
	"github.com/twinedge/twinedge/site"
)

// startWorld starts a world on free ports under a fresh state directory and releases the
// site into it, as `twinedge up` does.
func startWorld(t *testing.T, stateDir string) *World {
	t.Helper()
	ctx := context.Background()
	w, err := Start(ctx, Config{StateDir: stateDir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("start world: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close world: %v", err)
		}
	})
	return w
}

func releaseSite(t *testing.T, w *World) *build.Report {
	t.Helper()
	ctx := context.Background()
	info := w.Info()
	opts, err := info.Connect(ctx, build.Options{
		Routes:      site.Routes(),
		WaitTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pages name the world's regions, primary first, as `twinedge release` builds them.
	opts.Source = build.Source{Dir: filepath.Join(t.TempDir(), "dist"), Build: site.Builder(opts.Regions())}
	rep, err := build.Release(ctx, opts)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	return rep
}

type viewerResponse struct {
	status int
	header http.Header
	body   string
	err    error
	took   time.Duration
}

func get(t *testing.T, url string) viewerResponse {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		return viewerResponse{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return viewerResponse{status: resp.StatusCode, header: resp.Header, body: string(b), err: err, took: time.Since(start)}
}

func TestWorldServesSiteAndFailsOver(t *testing.T) {
	w := startWorld(t, t.TempDir())
	rep := releaseSite(t, w)
	if rep.Uploaded == 0 {
		t.Fatalf("first release uploaded nothing: %+v", rep)
	}
	edgeURL := w.Info().Edge
	primary, secondary := w.Regions()[0].Name(), w.Regions()[1].Name()

	first := get(t, edgeURL+"/")
	if first.err != nil || first.status != 200 {
		t.Fatalf("GET / = %d %v", first.status, first.err)
	}
	if ct := first.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET / content type %q, want text/html", ct)
	}
	if got := first.header.Get("X-Amz-Meta-Region"); got != primary {
		t.Errorf("GET / served by %q, want %q", got, primary)
	}
	// The site's _redirects (site/build.go), served by the site function.
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Get(edgeURL + "/board"); err != nil || resp.StatusCode != 301 || resp.Header.Get("Location") != "/" {
		t.Errorf("GET /board = %v %v, want the site's 301 to /", resp, err)
	} else {
		resp.Body.Close()
	}
	second := get(t, edgeURL+"/")
	if got := second.header.Get("X-Cache"); got != "Hit from cloudfront" {
		t.Errorf("second GET / X-Cache = %q, want a hit", got)
	}
	deep := get(t, edgeURL+"/status")
	if deep.status != 200 || !strings.Contains(deep.body, "<html") {
		t.Errorf("deep link /status = %d", deep.status)
	}

	// Every fault mode: the next uncached request is answered by the secondary, or — where
	// CloudFront does not fail over — what CloudFront would answer.
	modes := []struct {
		mode     string
		delay    time.Duration
		failover bool
	}{
		{"500", 0, true}, {"502", 0, true}, {"503", 0, true}, {"504", 0, true},
		{"403", 0, true}, {"404", 0, true},
		{"refuse", 0, true},
		{"blackhole", 0, true},
		{"slow", 3 * time.Second, true}, // beyond the 2 s origin read timeout
		{"reset", 0, true},
		// The origin's headers arrive, then the body stops: CloudFront has begun streaming
		// to the viewer and cannot fail over (spec: truncate on an uncached object).
		{"truncate", 0, false},
	}
	for _, m := range modes {
		t.Run(m.mode, func(t *testing.T) {
			if err := w.Fail(FailRequest{Region: primary, Mode: m.mode, Target: "origin", Delay: durationString(m.delay)}); err != nil {
				t.Fatal(err)
			}
			defer w.Heal("")
			w.Edge().Invalidate([]string{"/*"})
			r := get(t, edgeURL+"/about")
			t.Logf("mode %-9s → %d %v from %q in %v", m.mode, r.status, r.err, r.header.Get("X-Amz-Meta-Region"), r.took.Round(time.Millisecond))
			if m.failover {
				if r.err != nil || r.status != 200 {
					t.Fatalf("GET /about with %s primary = %d %v, want 200", m.mode, r.status, r.err)
				}
				if got := r.header.Get("X-Amz-Meta-Region"); got != secondary {
					t.Fatalf("served by %q, want the secondary %q", got, secondary)
				}
				return
			}
			if r.err == nil && r.status == 200 && r.header.Get("X-Amz-Meta-Region") == secondary {
				t.Fatalf("mode %s failed over; CloudFront would not", m.mode)
			}
			if r.err == nil && r.status == 200 && r.header.Get("X-Amz-Meta-Region") == primary {
				t.Fatalf("mode %s: the viewer got a complete answer from the truncating primary", m.mode)
			}
		})
	}

	// Healed, the primary serves again: CloudFront keeps no memory of the failure.
	w.Edge().Invalidate([]string{"/*"})
	healed := get(t, edgeURL+"/about")
	if healed.status != 200 || healed.header.Get("X-Amz-Meta-Region") != primary {
		t.Errorf("after heal: %d from %q, want 200 from %s", healed.status, healed.header.Get("X-Amz-Meta-Region"), primary)
	}
}

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func TestWorldKeepsContentAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	w := startWorld(t, dir)
	releaseSite(t, w)
	id := w.Info().DistributionID
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := startWorld(t, dir)
	if got := w2.Info().DistributionID; got != id {
		t.Errorf("distribution id changed across restart: %s → %s", id, got)
	}
	r := get(t, w2.Info().Edge+"/")
	if r.status != 200 {
		t.Fatalf("GET / after restart without a release = %d %v", r.status, r.err)
	}
}

func TestWorldRefusesBadStart(t *testing.T) {
	t.Run("corrupt world.json", func(t *testing.T) {
		dir := t.TempDir()
		corrupt := []byte(`{"edge": "http://127.0.0.1:1", "distributionId": `)
		if err := os.WriteFile(filepath.Join(dir, WorldFileName), corrupt, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Start(context.Background(), Config{StateDir: dir, Addr: "127.0.0.1:0"})
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("Start with a corrupt world.json: %v, want a 'corrupt' error", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, WorldFileName)); string(b) != string(corrupt) {
			t.Error("the corrupt world.json was changed")
		}
	})
	t.Run("port in use", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		_, err = Start(context.Background(), Config{StateDir: t.TempDir(), Addr: ln.Addr().String()})
		if err == nil || !strings.Contains(err.Error(), "already in use") {
			t.Fatalf("Start on a used port: %v", err)
		}
	})
	t.Run("unknown region", func(t *testing.T) {
		_, err := Start(context.Background(), Config{StateDir: t.TempDir(), Addr: "127.0.0.1:0", Regions: []string{"us-east-1", "mars-1"}})
		if err == nil || !strings.Contains(err.Error(), "unknown region") {
			t.Fatalf("Start with region mars-1: %v", err)
		}
	})
	t.Run("region that cannot start frees the ports", func(t *testing.T) {
		dir := t.TempDir()
		// A file where the region's directory belongs: the region fails after both
		// listeners are open.
		if err := os.MkdirAll(filepath.Join(dir, "regions"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "regions", "us-east-1"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		if _, err := Start(context.Background(), Config{StateDir: dir, Addr: addr}); err == nil || !strings.Contains(err.Error(), "us-east-1") {
			t.Fatalf("Start with a broken region directory: %v", err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the failed start kept the edge port: %v", err)
		}
		ln.Close()
		if _, err := os.Stat(filepath.Join(dir, WorldFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a failed start wrote world.json: %v", err)
		}
	})
	t.Run("state in use", func(t *testing.T) {
		dir := t.TempDir()
		startWorld(t, dir)
		_, err := Start(context.Background(), Config{StateDir: dir, Addr: "127.0.0.1:0"})
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("second Start on the same state: %v", err)
		}
	})
}

func TestWorldFailRejectsBadInput(t *testing.T) {
	w := startWorld(t, t.TempDir())
	for _, req := range []FailRequest{
		{Region: "mars-1", Mode: "503"},
		{Region: "us-east-1", Mode: "teapot"},
		{Region: "us-east-1", Mode: "503", Target: "dns"},
		{Region: "us-east-1", Mode: "slow", Delay: "forever"},
	} {
		if err := w.Fail(req); err == nil {
			t.Errorf("Fail(%+v) accepted", req)
		}
	}
	for _, r := range w.Regions() {
		if f := r.Faults(); len(f) != 0 {
			t.Errorf("a rejected request left faults in %s: %v", r.Name(), f)
		}
	}
}

// TestAWSCLIAgainstWorld drives the local origin with `aws s3` and the edge's control API
// with `aws cloudfront`, as a user would.
func TestAWSCLIAgainstWorld(t *testing.T) {
	awsBin := testtool.Require(t, "aws")
	w := startWorld(t, t.TempDir())
	releaseSite(t, w)
	info := w.Info()
	primary := info.Regions[0]
	home := t.TempDir()
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION="+primary.Name,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+home)
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(awsBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	s3 := []string{"--endpoint-url", primary.Origin}
	if out := aws(append([]string{"s3", "ls"}, s3...)...); !strings.Contains(out, primary.Bucket) {
		t.Errorf("aws s3 ls does not list %s:\n%s", primary.Bucket, out)
	}
	if out := aws(append([]string{"s3", "ls", "s3://" + primary.Bucket + "/"}, s3...)...); !strings.Contains(out, "index.html") {
		t.Errorf("aws s3 ls of the bucket lacks index.html:\n%s", out)
	}
	got := filepath.Join(home, "index.html")
	aws(append([]string{"s3", "cp", "s3://" + primary.Bucket + "/index.html", got}, s3...)...)
	if b, err := os.ReadFile(got); err != nil || !strings.Contains(string(b), "<html") {
		t.Errorf("aws s3 cp gave %q, %v", b, err)
	}
	src := filepath.Join(home, "extra")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the aws CLI\n"), 0o644)
	aws(append([]string{"s3", "sync", src, "s3://" + primary.Bucket + "/extra/", "--cache-control", "max-age=60"}, s3...)...)
	head := aws(append([]string{"s3api", "head-object", "--bucket", primary.Bucket, "--key", "extra/hello.txt"}, s3...)...)
	if !strings.Contains(head, "max-age=60") {
		t.Errorf("head-object lacks the Cache-Control set by sync:\n%s", head)
	}

	// The edge serves what the CLI uploaded, and the CLI's invalidation reaches the edge.
	if r := get(t, info.Edge+"/extra/hello.txt"); r.status != 200 || r.body != "hello from the aws CLI\n" {
		t.Fatalf("edge GET /extra/hello.txt = %d %q", r.status, r.body)
	}
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("changed\n"), 0o644)
	aws(append([]string{"s3", "cp", filepath.Join(src, "hello.txt"), "s3://" + primary.Bucket + "/extra/hello.txt"}, s3...)...)
	if r := get(t, info.Edge+"/extra/hello.txt"); r.body != "hello from the aws CLI\n" {
		t.Fatalf("edge did not serve the cached copy before invalidation: %q", r.body)
	}
	out := aws("cloudfront", "create-invalidation", "--endpoint-url", info.Control,
		"--distribution-id", info.DistributionID, "--paths", "/extra/*")
	if !strings.Contains(out, "InProgress") && !strings.Contains(out, "Completed") {
		t.Errorf("create-invalidation output:\n%s", out)
	}
	if r := get(t, info.Edge+"/extra/hello.txt"); r.body != "changed\n" {
		t.Errorf("edge after invalidation = %q, want the new content", r.body)
	}
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
