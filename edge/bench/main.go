// Command bench compares the edge's cache hits with nginx as a caching proxy on the
// same machine (DESIGN.md, "Budgets": at least nginx's requests/s with wrk at 64
// connections, p99 no worse). It starts two origins (primary and backup) serving the
// same objects, nginx with both as upstreams (backup) and proxy_cache, and the edge as
// the local world runs it (edge.New + Edge.Serve) over an origin group of the two;
// warms both caches; then runs wrk against each in interleaved rounds and prints the
// best round of each, with the ratio edge/nginx. With -tls it adds the same hits over TLS:
// HTTP/1.1 (wrk) and HTTP/2 (h2load), the edge's ServeViewers beside nginx's ssl and http2
// listener, with one certificate from a local CA for both.
//
// Run it with edge/bench/compare.sh, or `go run ./edge/bench -h`. The same code runs as
// `EDGE_COMPARE=1 go test -run TestCompareWithNginx -v ./edge/bench`. It is a
// measurement, never a pass/fail test: the machine is shared and noisy.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/infra/local"
)

func main() {
	cfg := defaultConfig()
	flag.StringVar(&cfg.Nginx, "nginx", cfg.Nginx, "nginx binary")
	flag.StringVar(&cfg.Wrk, "wrk", cfg.Wrk, "wrk binary")
	flag.DurationVar(&cfg.Duration, "d", cfg.Duration, "duration of one wrk run")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "interleaved rounds; the best of each target is reported")
	flag.IntVar(&cfg.Connections, "c", cfg.Connections, "wrk connections")
	flag.IntVar(&cfg.Threads, "t", cfg.Threads, "wrk threads")
	sizes := flag.String("sizes", "10KB,1MB", "object sizes, comma-separated (KB, MB)")
	flag.StringVar(&cfg.Only, "only", "", "measure only targets whose name contains this (nginx always runs)")
	flag.BoolVar(&cfg.Extra, "extra", false, "also measure the edge behind net/http's http.Server")
	flag.IntVar(&cfg.NginxWorkers, "nginx-workers", cfg.NginxWorkers, "nginx worker_processes (default GOMAXPROCS, the edge's share of CPUs)")
	flag.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the edge's process during the measured rounds")
	flag.BoolVar(&cfg.TLS, "tls", false, "also measure hits over TLS: HTTP/1.1 (wrk) and HTTP/2 (h2load), the edge's ServeViewers beside nginx with ssl and http2")
	flag.StringVar(&cfg.H2load, "h2load", cfg.H2load, "h2load binary (Debian nghttp2-client), for -tls")
	flag.Parse()
	var err error
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is one comparison.
type config struct {
	Nginx, Wrk  string        // binaries (default /usr/sbin/nginx, wrk from PATH)
	Duration    time.Duration // one wrk run (default 5 s)
	Rounds      int           // interleaved rounds, best of each reported (default 5)
	Connections int           // wrk -c (default 64)
	Threads     int           // wrk -t (default 2)
	Sizes       []int         // object sizes (default 10 KB and 1 MB)
	Only        string        // measure only targets containing this, plus nginx
	Extra       bool          // also the edge behind http.Server
	CPUProfile  string        // CPU profile file for the measured rounds
	// NginxWorkers is nginx's worker_processes (default GOMAXPROCS).
	NginxWorkers int
	// TLS adds hits over TLS: HTTP/1.1 with wrk and HTTP/2 with H2load, for the edge's
	// ServeViewers and for nginx with ssl and http2 (a certificate from a local CA).
	TLS    bool
	H2load string
}

func defaultConfig() config {
	nginx := "/usr/sbin/nginx"
	if p, err := exec.LookPath("nginx"); err == nil {
		nginx = p
	}
	return config{Nginx: nginx, Wrk: "wrk", H2load: "h2load", Duration: 5 * time.Second, Rounds: 5, Connections: 64, Threads: 2,
		Sizes: []int{10 << 10, 1 << 20}, NginxWorkers: runtime.GOMAXPROCS(0)}
}

// result is the best requests/s and the best p99 of one target's rounds for one object.
type result struct {
	Size   int
	Target string
	RPS    float64
	P99    time.Duration
	Failed int // failed requests over all rounds
	// CPUPerReq is the server's CPU time (user+system) per request, lowest round.
	CPUPerReq time.Duration
	// WrkCPUPerReq is wrk's CPU time per request, lowest round.
	WrkCPUPerReq time.Duration
}

const (
	primaryDomain = "site-a.s3.us-east-1.amazonaws.com"
	backupDomain  = "site-b.s3.us-west-2.amazonaws.com"
)

// run performs the comparison, prints the table to out and returns the results.
func run(ctx context.Context, cfg config, out io.Writer) ([]result, error) {
	bins := []*string{&cfg.Nginx, &cfg.Wrk}
	if cfg.TLS {
		bins = append(bins, &cfg.H2load)
	}
	for _, bin := range bins {
		p, err := exec.LookPath(*bin)
		if err != nil {
			return nil, fmt.Errorf("%s not found (install nginx-light, wrk and, for -tls, nghttp2-client): %w", *bin, err)
		}
		*bin = p
	}
	objects := map[string][]byte{}
	for _, n := range cfg.Sizes {
		objects[objectPath(n)] = []byte(strings.Repeat("x", n))
	}
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	listen := func(h http.Handler) (string, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		closers = append(closers, func() { srv.Close() })
		return l.Addr().String(), nil
	}
	// Two origins with the same objects, like the two regions' buckets.
	originAddr := map[string]string{}
	for _, d := range []string{primaryDomain, backupDomain} {
		addr, err := listen(originHandler(objects))
		if err != nil {
			return nil, err
		}
		originAddr[d] = addr
	}

	// The edge, as infra/local's world builds it.
	e, err := edge.New(distribution(), edge.Options{
		DistributionID: "EBENCH00000001",
		Credentials:    aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		Resolve:        func(d string) (string, bool) { a, ok := originAddr[d]; return a, ok },
		OriginScheme:   "http",
		ViewerHTTPS:    true,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	el, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	serveDone := make(chan struct{})
	go func() { defer close(serveDone); e.Serve(el) }()
	closers = append(closers, func() { el.Close(); <-serveDone })
	edgeURL := "http://" + el.Addr().String()

	var viewerTLS *tls.Config
	var certPEM, keyPEM []byte
	client := http.DefaultClient
	if cfg.TLS {
		dir, err := os.MkdirTemp("", "edge-bench-ca-")
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { os.RemoveAll(dir) })
		ca, err := local.OpenCA(dir)
		if err != nil {
			return nil, err
		}
		if viewerTLS, err = ca.ServerConfig(nil); err != nil {
			return nil, err
		}
		if certPEM, keyPEM, err = pemPair(viewerTLS.Certificates[0]); err != nil {
			return nil, err
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	}
	edgeTLSURL := ""
	if viewerTLS != nil {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		tlsDone := make(chan struct{})
		go func() { defer close(tlsDone); e.ServeViewers(tl, viewerTLS) }()
		closers = append(closers, func() { tl.Close(); <-tlsDone })
		edgeTLSURL = "https://" + tl.Addr().String()
	}

	ng, err := startNginx(cfg.Nginx, cfg.NginxWorkers, originAddr[primaryDomain], originAddr[backupDomain], certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	closers = append(closers, ng.stop)

	type target struct {
		name, base, hitHeader, hitValue string
		cpu                             func() time.Duration // CPU time used so far by the server
		h2                              bool                 // measured with h2load over HTTP/2
		peer                            int                  // the nginx target its ratios are against
	}
	nginxCPU := func() time.Duration { return processTreeCPU(ng.pid) }
	targets := []target{
		{name: "nginx proxy_cache", base: ng.url, hitHeader: "X-Cache-Status", hitValue: "HIT", cpu: nginxCPU},
		{name: "edge (Edge.Serve)", base: edgeURL, hitHeader: "X-Cache", hitValue: "Hit from cloudfront", cpu: selfCPU},
	}
	if cfg.TLS {
		n := len(targets)
		targets = append(targets,
			target{name: "nginx TLS h1", base: ng.tlsURL, hitHeader: "X-Cache-Status", hitValue: "HIT", cpu: nginxCPU, peer: n},
			target{name: "edge TLS h1", base: edgeTLSURL, hitHeader: "X-Cache", hitValue: "Hit from cloudfront", cpu: selfCPU, peer: n},
			target{name: "nginx TLS h2", base: ng.tlsURL, hitHeader: "X-Cache-Status", hitValue: "HIT", cpu: nginxCPU, h2: true, peer: n + 2},
			target{name: "edge TLS h2", base: edgeTLSURL, hitHeader: "X-Cache", hitValue: "Hit from cloudfront", cpu: selfCPU, h2: true, peer: n + 2},
		)
	}
	if cfg.Extra {
		u, err := listen(e)
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{name: "edge (http.Server)", base: "http://" + u, hitHeader: "X-Cache", hitValue: "Hit from cloudfront", cpu: selfCPU})
	}
	if cfg.Only != "" {
		for i := len(targets) - 1; i >= 1; i-- {
			if !strings.Contains(targets[i].name, cfg.Only) {
				targets = append(targets[:i], targets[i+1:]...)
			}
		}
	}
	// Warm every cache until it answers a hit.
	for _, tg := range targets {
		for _, n := range cfg.Sizes {
			if err := warm(ctx, client, tg.base+objectPath(n), tg.hitHeader, tg.hitValue, n); err != nil {
				return nil, fmt.Errorf("warm %s: %w", tg.name, err)
			}
		}
	}

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Fprintf(out, "wrk -t%d -c%d -d%s --latency, %d interleaved rounds, best of each; GOMAXPROCS %d, nginx worker_processes %d, %d CPUs\n",
		cfg.Threads, cfg.Connections, cfg.Duration, cfg.Rounds, runtime.GOMAXPROCS(0), cfg.NginxWorkers, runtime.NumCPU())
	var results []result
	for _, n := range cfg.Sizes {
		best := make([]result, len(targets))
		for round := 0; round < cfg.Rounds; round++ {
			for i, tg := range targets {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				cpu0 := tg.cpu()
				run := runWrk
				if tg.h2 {
					run = runH2load
				}
				rps, p99, failed, wrkCPU, err := run(ctx, cfg, tg.base+objectPath(n))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", tg.name, err)
				}
				// CPU per request is the measure noise disturbs least: a starved round
				// serves fewer requests but each costs about the same.
				if reqs := rps * cfg.Duration.Seconds(); reqs > 0 {
					perReq := time.Duration(float64(tg.cpu()-cpu0) / reqs)
					if best[i].CPUPerReq == 0 || perReq < best[i].CPUPerReq {
						best[i].CPUPerReq = perReq
					}
					if c := time.Duration(float64(wrkCPU) / reqs); best[i].WrkCPUPerReq == 0 || c < best[i].WrkCPUPerReq {
						best[i].WrkCPUPerReq = c
					}
				}
				// Best of each measure: the machine is shared, so a slow round is noise.
				best[i].Size, best[i].Target = n, tg.name
				best[i].Failed += failed
				best[i].RPS = max(best[i].RPS, rps)
				if best[i].P99 == 0 || p99 < best[i].P99 {
					best[i].P99 = p99
				}
			}
		}
		fmt.Fprintf(out, "\n%-8s %-20s %10s %10s %12s %10s %12s %12s %8s\n", "object", "server", "req/s", "p99", "req/s ratio", "p99 ratio", "CPU µs/req", "wrk µs/req", "failed")
		for i, tg := range targets {
			peer := best[tg.peer]
			fmt.Fprintf(out, "%-8s %-20s %10.0f %10s %11.2f× %9.2f× %12.1f %12.1f %8d\n", sizeName(n), best[i].Target, best[i].RPS, best[i].P99.Round(10*time.Microsecond),
				best[i].RPS/peer.RPS, float64(best[i].P99)/float64(peer.P99), float64(best[i].CPUPerReq)/float64(time.Microsecond), float64(best[i].WrkCPUPerReq)/float64(time.Microsecond), best[i].Failed)
		}
		if cfg.TLS {
			fmt.Fprintln(out, "ratios are against the nginx row of the same protocol; h2 rows: h2load reports no percentiles, so their p99 column is its mean, and the client column is h2load's CPU")
		}
		results = append(results, best...)
	}
	return results, nil
}

func objectPath(size int) string { return "/assets/object-" + sizeName(size) + ".bin" }

func sizeName(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.Itoa(n>>20) + "MB"
	}
	if n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + "KB"
	}
	return strconv.Itoa(n) + "B"
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToUpper(f))
		mult := 1
		switch {
		case strings.HasSuffix(f, "MB"):
			mult, f = 1<<20, strings.TrimSuffix(f, "MB")
		case strings.HasSuffix(f, "KB"):
			mult, f = 1<<10, strings.TrimSuffix(f, "KB")
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("size %q: want e.g. 10KB or 1MB", f)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// originHandler answers like an S3 bucket for the benchmark objects.
func originHandler(objects map[string][]byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := objects[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"bench"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})
}

// distribution is the default behaviour of twinedge's distribution (infra.Distribution):
// an origin group of two S3 origins failing over on 403, 404 and 5xx, CachingOptimized,
// compression, the SPA viewer-request function and the managed security headers.
func distribution() *types.DistributionConfig {
	i32 := aws.Int32
	s3 := func(id, domain string) types.Origin {
		return types.Origin{Id: aws.String(id), DomainName: aws.String(domain), OriginPath: aws.String(""),
			S3OriginConfig:     &types.S3OriginConfig{OriginAccessIdentity: aws.String("")},
			ConnectionAttempts: i32(1), ConnectionTimeout: i32(1), CustomHeaders: &types.CustomHeaders{Quantity: i32(0)}}
	}
	return &types.DistributionConfig{
		CallerReference: aws.String("bench"), Comment: aws.String("bench"), Enabled: aws.Bool(true),
		DefaultRootObject: aws.String("index.html"),
		Origins:           &types.Origins{Quantity: i32(2), Items: []types.Origin{s3("primary", primaryDomain), s3("backup", backupDomain)}},
		OriginGroups: &types.OriginGroups{Quantity: i32(1), Items: []types.OriginGroup{{Id: aws.String("site"),
			FailoverCriteria: &types.OriginGroupFailoverCriteria{StatusCodes: &types.StatusCodes{Quantity: i32(6), Items: []int32{403, 404, 500, 502, 503, 504}}},
			Members:          &types.OriginGroupMembers{Quantity: i32(2), Items: []types.OriginGroupMember{{OriginId: aws.String("primary")}, {OriginId: aws.String("backup")}}}}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId: aws.String("site"), ViewerProtocolPolicy: types.ViewerProtocolPolicyRedirectToHttps,
			CachePolicyId: aws.String(edge.CachingOptimizedID), ResponseHeadersPolicyId: aws.String(edge.SecurityHeadersPolicyID),
			Compress: aws.Bool(true),
			AllowedMethods: &types.AllowedMethods{Quantity: i32(3), Items: []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions},
				CachedMethods: &types.CachedMethods{Quantity: i32(2), Items: []types.Method{types.MethodGet, types.MethodHead}}},
			FunctionAssociations: &types.FunctionAssociations{Quantity: i32(1), Items: []types.FunctionAssociation{
				{EventType: types.EventTypeViewerRequest, FunctionARN: aws.String("arn:aws:cloudfront::000000000000:function/" + edge.SPARewriteName)}}},
		},
		CustomErrorResponses: &types.CustomErrorResponses{Quantity: i32(0)},
	}
}

// nginxConf is nginx as the equivalent caching proxy: the same origins as primary and
// backup upstreams (next upstream on the same statuses as the origin group), a cache
// that honours the origins' Cache-Control, request collapsing (proxy_cache_lock, like
// the edge), the same security headers the edge's policy adds, keep-alive to viewers and
// upstreams, no access log (the edge has none either), one worker per GOMAXPROCS.
const nginxConf = `worker_processes %[4]d;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  proxy_cache_path %[1]s/cache levels=1:2 keys_zone=edge:10m max_size=1g inactive=60m;
  proxy_temp_path %[1]s/tmp;
  client_body_temp_path %[1]s/body;
  upstream site {
    server %[2]s max_fails=0;
    server %[3]s backup;
    keepalive 32;
  }
  server {
    listen 127.0.0.1:%[5]d;
    location / {
      proxy_pass http://site;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache edge;
      proxy_cache_lock on;
      proxy_next_upstream error timeout http_403 http_404 http_500 http_502 http_503 http_504;
      add_header X-Cache-Status $upstream_cache_status;
      add_header Strict-Transport-Security "max-age=31536000";
      add_header X-Content-Type-Options nosniff;
      add_header X-Frame-Options SAMEORIGIN;
      add_header Referrer-Policy strict-origin-when-cross-origin;
      add_header X-XSS-Protection "1; mode=block";
    }
  }
}
`

// nginxServer is a running nginx: its plain and TLS URLs and the master's process id.
type nginxServer struct {
	url, tlsURL string
	pid         int
	stop        func()
}

// nginxTLSServer is the server block added for -tls: the same location over TLS, with
// HTTP/2 negotiated by ALPN ("listen … http2", the form of Debian 12's nginx 1.22).
const nginxTLSServer = `  server {
    listen 127.0.0.1:%[2]d ssl http2;
    ssl_certificate %[1]s/cert.pem;
    ssl_certificate_key %[1]s/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    keepalive_requests 1000000;
    http2_max_concurrent_streams 128;
    location / {
      proxy_pass http://site;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache edge;
      proxy_cache_lock on;
      add_header X-Cache-Status $upstream_cache_status;
    }
  }
}
`

// startNginx runs nginx in the foreground in a temporary prefix; with a certificate it
// also listens with TLS.
func startNginx(bin string, workers int, primary, backup string, certPEM, keyPEM []byte) (*nginxServer, error) {
	dir, err := os.MkdirTemp("", "edge-nginx-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o777) // workers may run as an unprivileged user and write the cache here
	port, tlsPort := freePort(), 0
	conf := fmt.Sprintf(nginxConf, dir, primary, backup, workers, port)
	if certPEM != nil {
		tlsPort = freePort()
		if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o644); err != nil {
			return nil, err
		}
		conf = strings.TrimSuffix(conf, "}\n") + fmt.Sprintf(nginxTLSServer, dir, tlsPort)
	}
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	stop := func() {
		// SIGTERM lets the master stop its workers (SIGKILL would orphan them).
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	ng := &nginxServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), pid: cmd.Process.Pid, stop: stop}
	if tlsPort != 0 {
		ng.tlsURL = fmt.Sprintf("https://127.0.0.1:%d", tlsPort)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return ng, nil
		}
		if i == 100 {
			stop()
			return nil, fmt.Errorf("nginx did not listen on %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pemPair encodes a certificate chain and its ECDSA key for nginx.
func pemPair(c tls.Certificate) (certPEM, keyPEM []byte, err error) {
	for _, der := range c.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, ok := c.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("the local CA's certificate key is not ECDSA")
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// warm requests url until it is a cache hit of the expected size.
func warm(ctx context.Context, client *http.Client, url, header, value string, size int) error {
	for i := 0; i < 50; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && int(n) == size && resp.Header.Get(header) == value {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("no cache hit after 50 requests")
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	p99RE    = regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)\b`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	sockRE   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk runs one wrk round and returns requests/s, the p99 latency and the number of
// CPU time wrk itself used (the client shares the machine), and the number of
// failed requests (non-2xx answers, socket errors and wrk's 2 s timeouts, which a
// starved machine produces; they are reported, not fatal).
func runWrk(ctx context.Context, cfg config, url string) (float64, time.Duration, int, time.Duration, error) {
	cmd := exec.CommandContext(ctx, cfg.Wrk, "-t"+strconv.Itoa(cfg.Threads), "-c"+strconv.Itoa(cfg.Connections),
		"-d"+cfg.Duration.String(), "--latency", url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	wrkCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	failed := 0
	if m := non2xxRE.FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		failed += n
	}
	if m := sockRE.FindSubmatch(out); m != nil {
		for _, f := range m[1:] {
			n, _ := strconv.Atoi(string(f))
			failed += n
		}
	}
	m := rpsRE.FindSubmatch(out)
	p := p99RE.FindSubmatch(out)
	if m == nil || p == nil {
		return 0, 0, 0, 0, fmt.Errorf("cannot read wrk output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	v, _ := strconv.ParseFloat(string(p[1]), 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(p[2])]
	return rps, time.Duration(v * float64(unit)), failed, wrkCPU, nil
}

var (
	h2rpsRE  = regexp.MustCompile(`finished in [\d.]+\w+, ([\d.]+) req/s`)
	h2reqRE  = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2meanRE = regexp.MustCompile(`time for request:\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)\b`)
	h2codeRE = regexp.MustCompile(`status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// runH2load runs one h2load round over HTTP/2 (one stream per connection at a time, as
// wrk's one request per connection) and returns requests/s, the mean latency (h2load
// reports no percentiles), failures and h2load's CPU time.
func runH2load(ctx context.Context, cfg config, url string) (float64, time.Duration, int, time.Duration, error) {
	cmd := exec.CommandContext(ctx, cfg.H2load, "-t"+strconv.Itoa(cfg.Threads), "-c"+strconv.Itoa(cfg.Connections),
		"-m1", "-D", strconv.Itoa(max(1, int(cfg.Duration.Seconds()))), url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("h2load: %v\n%s", err, out)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	m, mean := h2rpsRE.FindSubmatch(out), h2meanRE.FindSubmatch(out)
	if m == nil || mean == nil {
		return 0, 0, 0, 0, fmt.Errorf("cannot read h2load output:\n%s", out)
	}
	failed := 0
	for _, re := range []*regexp.Regexp{h2reqRE, h2codeRE} {
		if f := re.FindSubmatch(out); f != nil {
			for _, g := range f[1:] {
				n, _ := strconv.Atoi(string(g))
				failed += n
			}
		}
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	v, _ := strconv.ParseFloat(string(mean[1]), 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(mean[2])]
	return rps, time.Duration(v * float64(unit)), failed, cpu, nil
}

// selfCPU is this process's CPU time (the edge runs in it; the origins are idle on hits).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processTreeCPU is the CPU time of pid and its children (nginx's master and workers),
// from /proc (Linux; 0 elsewhere).
func processTreeCPU(pid int) time.Duration {
	ents, _ := os.ReadDir("/proc")
	var ticks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the ")" that ends the command name: state ppid ... utime(14) stime(15).
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if e.Name() != strconv.Itoa(pid) && ppid != pid {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}
