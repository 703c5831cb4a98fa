package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twinedge/twinedge/internal/testtool"
)

// TestCompareWithNginx measures cache-hit throughput side by side with nginx as a
// caching proxy (DESIGN.md budget: at least nginx's requests/s, wrk, 64 connections,
// 10 KB object). It is a measurement, not a pass/fail test: it runs only with
// EDGE_COMPARE=1 and prints the figures and the ratio.
func TestCompareWithNginx(t *testing.T) {
	if os.Getenv("EDGE_COMPARE") == "" {
		t.Skip("set EDGE_COMPARE=1 to compare with nginx (needs nginx and wrk)")
	}
	nginx := testtool.Require(t, "nginx")
	wrk := testtool.Require(t, "wrk")
	body := strings.Repeat("x", 10<<10)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte(body))
	}))
	defer origin.Close()

	w := newWorld(t)
	w.point(bucketA, origin.Listener.Addr().String())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: w.e}
	go srv.Serve(l)
	defer srv.Close()
	edgeURL := "http://" + l.Addr().String() + "/assets/app.js"
	ll, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go w.e.Serve(ll)
	defer ll.Close()
	leanURL := "http://" + ll.Addr().String() + "/assets/app.js"

	dir, err := os.MkdirTemp("", "edge-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	port := freePort(t)
	conf := fmt.Sprintf(`worker_processes auto; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events { worker_connections 1024; }
http { access_log off; proxy_cache_path %[1]s/cache keys_zone=c:10m; proxy_temp_path %[1]s/tmp;
  server { listen 127.0.0.1:%[2]d; location / { proxy_cache c; add_header X-Cache-Status $upstream_cache_status; proxy_pass http://%[3]s; } } }
`, dir, port, origin.Listener.Addr().String())
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	os.Chmod(dir, 0o777) // nginx workers run as an unprivileged user and write the cache here
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// SIGTERM lets the master stop its workers (SIGKILL would orphan them).
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		e, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Logf("nginx errors: %.500s", e)
	}()
	nginxURL := fmt.Sprintf("http://127.0.0.1:%d/assets/app.js", port)
	for i := 0; i < 50; i++ {
		if r, err := http.Get(nginxURL); err == nil {
			r.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	http.Get(edgeURL)
	if r, err := http.Get(nginxURL); err == nil {
		r.Body.Close()
		t.Logf("nginx cache status: %s (%d) %v", r.Header.Get("X-Cache-Status"), r.StatusCode, r.Header)
	}

	wrkRun := func(url string) (rps float64, p99 string) {
		out, err := exec.Command(wrk, "-t2", "-c64", "-d3s", "--latency", url).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		fmt.Sscan(regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindStringSubmatch(string(out))[1], &rps)
		p99 = regexp.MustCompile(`99%\s+(\S+)`).FindStringSubmatch(string(out))[1]
		return rps, p99
	}
	// The ceiling for any net/http handler: a server that writes the same bytes and nothing else.
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Content-Length", "10240")
		w.Write([]byte(body))
	}))
	defer bare.Close()
	// Interleaved rounds, best of each: the machine is shared, so single runs are noise.
	targets := []struct{ name, url string }{
		{"nginx proxy_cache", nginxURL},
		{"edge, http.Server", edgeURL},
		{"edge, Edge.Serve", leanURL},
		{"bare net/http", bare.URL + "/assets/app.js"},
	}
	if only := os.Getenv("EDGE_COMPARE_ONLY"); only != "" { // e.g. "Edge.Serve", for profiling one target
		for i := len(targets) - 1; i >= 1; i-- {
			if !strings.Contains(targets[i].name, only) {
				targets = append(targets[:i], targets[i+1:]...)
			}
		}
	}
	best := make([]float64, len(targets))
	p99s := make([]string, len(targets))
	wrkRun(targets[0].url) // warm up
	if pf := os.Getenv("EDGE_CPUPROFILE"); pf != "" {
		f, _ := os.Create(pf)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for round := 0; round < 3; round++ {
		for i, tg := range targets {
			if rps, p99 := wrkRun(tg.url); rps > best[i] {
				best[i], p99s[i] = rps, p99
			}
		}
	}
	for i, tg := range targets {
		t.Logf("%-18s %9.0f req/s  p99 %-8s  %.2f× nginx", tg.name, best[i], p99s[i], best[i]/best[0])
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
