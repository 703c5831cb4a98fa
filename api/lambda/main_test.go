package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/twinedge/twinedge/api/dynamo"
	"github.com/twinedge/twinedge/internal/testtool"
)

// MaxZipBytes is the budget for the deployment zip (DESIGN.md "Budgets").
const MaxZipBytes = 8 << 20

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// bootstrap builds the artifact that ships: linux, no cgo, -tags lambda.norpc, stripped. The
// architecture is the host's, so the test can run it.
func bootstrap(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the bootstrap runs on linux only")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "twinedge-bootstrap-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(buildDir, "bootstrap"), ".")
		cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "bootstrap")
}

func TestMain(m *testing.M) {
	code := m.Run()
	testtool.StopMoto()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// fakeRuntime is a small Lambda Runtime API (modelled on aws-lambda-go's
// lambda/invoke_loop_test.go runtimeAPIServer): it hands out queued events on
// /invocation/next and collects what the function posts back.
type fakeRuntime struct {
	srv       *httptest.Server
	events    chan []byte
	results   chan result
	firstPoll chan time.Time
	pollOnce  sync.Once
}

type result struct {
	kind string // "response", "error", "init-error"
	body []byte
}

func newFakeRuntime(t testing.TB) *fakeRuntime {
	rt := &fakeRuntime{events: make(chan []byte, 10), results: make(chan result, 10), firstPoll: make(chan time.Time, 1)}
	n := 0
	var mu sync.Mutex
	rt.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const base = "/2018-06-01/runtime/"
		switch {
		case r.Method == "GET" && r.URL.Path == base+"invocation/next":
			rt.pollOnce.Do(func() { rt.firstPoll <- time.Now() })
			select {
			case ev := <-rt.events:
				mu.Lock()
				n++
				id := fmt.Sprintf("request-%d", n)
				mu.Unlock()
				w.Header().Set("Lambda-Runtime-Aws-Request-Id", id)
				w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
				w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:twinedge-api")
				w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1")
				w.Write(ev)
			case <-r.Context().Done():
			}
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/response"):
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			rt.results <- result{"response", b}
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/error"):
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			kind := "error"
			if strings.HasSuffix(r.URL.Path, "init/error") {
				kind = "init-error"
			}
			rt.results <- result{kind, b}
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(rt.srv.Close)
	return rt
}

// start runs the bootstrap against the fake runtime and returns when it was started.
// bootProcess is a running bootstrap. Only its own goroutine calls cmd.Wait (a second
// Wait on one exec.Cmd can hang); exited closes when the process is gone, and err then
// holds what Wait returned.
type bootProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func (rt *fakeRuntime) start(t testing.TB, bin string, env ...string) (*bootProcess, time.Time) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(rt.srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=twinedge-api",
		"AWS_REGION=us-east-1",
		"TWINEDGE_REGIONS=us-east-1,eu-west-2",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &bootProcess{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("bootstrap stderr:\n%s", stderr.String())
		}
	})
	return p, started
}

// invoke queues a function-URL event and waits for the function's answer.
func (rt *fakeRuntime) invoke(t testing.TB, method, path, body string) events.LambdaFunctionURLResponse {
	t.Helper()
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, Headers: map[string]string{"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
		Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "123456789012", APIID: "abc", DomainName: "abc.lambda-url.us-east-1.on.aws", DomainPrefix: "abc",
			HTTP:      events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			RequestID: "r", TimeEpoch: time.Now().UnixMilli(),
		},
	}
	b, _ := json.Marshal(ev)
	rt.events <- b
	select {
	case res := <-rt.results:
		if res.kind != "response" {
			t.Fatalf("function posted %s: %s", res.kind, res.body)
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(res.body, &resp); err != nil {
			t.Fatalf("response %s: %v", res.body, err)
		}
		return resp
	case <-time.After(2 * time.Minute): // a hang guard, not a timing assertion
		t.Fatal("no answer from the bootstrap")
	}
	return events.LambdaFunctionURLResponse{}
}

const postBody = `{"id":"0190a6b2-7c1e-7d3a-9f00-000000000001","author":"ann","text":"from the bootstrap"}`

func TestBootstrapMemoryStore(t *testing.T) {
	rt := newFakeRuntime(t)
	_, started := rt.start(t, bootstrap(t), "TWINEDGE_STORE=memory")
	ready := <-rt.firstPoll
	t.Logf("start-to-ready (exec to first /next): %v", ready.Sub(started))

	health := rt.invoke(t, "GET", "/api/health", "")
	if health.StatusCode != 200 || !strings.Contains(health.Body, `"regions":["us-east-1","eu-west-2"]`) {
		t.Fatalf("health: %+v", health)
	}
	if resp := rt.invoke(t, "POST", "/api/messages", postBody); resp.StatusCode != 201 {
		t.Fatalf("post: %+v", resp)
	}
	list := rt.invoke(t, "GET", "/api/messages", "")
	if list.StatusCode != 200 || !strings.Contains(list.Body, "from the bootstrap") || !strings.Contains(list.Body, `"servedBy":"us-east-1"`) {
		t.Fatalf("list: %+v", list)
	}
	if resp := rt.invoke(t, "GET", "/api/r/eu-west-2/health", ""); resp.StatusCode != 421 {
		t.Errorf("pinned elsewhere: %+v", resp)
	}
}

func TestBootstrapDynamoDB(t *testing.T) {
	endpoint := testtool.Moto(t)
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamo.CreateTable(context.Background(), client, "messages"); err != nil {
		t.Fatal(err)
	}
	rt := newFakeRuntime(t)
	rt.start(t, bootstrap(t), "TWINEDGE_TABLE=messages", "AWS_ENDPOINT_URL_DYNAMODB="+endpoint)
	if resp := rt.invoke(t, "GET", "/api/health", ""); resp.StatusCode != 200 {
		t.Fatalf("health: %+v", resp)
	}
	if resp := rt.invoke(t, "POST", "/api/messages", postBody); resp.StatusCode != 201 {
		t.Fatalf("post: %+v", resp)
	}
	if resp := rt.invoke(t, "POST", "/api/messages", postBody); resp.StatusCode != 200 {
		t.Fatalf("retry: %+v", resp)
	}
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("messages")})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("table holds %v items (%v)", len(out.Items), err)
	}
}

func TestBootstrapInitError(t *testing.T) {
	rt := newFakeRuntime(t)
	p, _ := rt.start(t, bootstrap(t), "TWINEDGE_STORE=nonsense")
	<-p.exited
	if p.err == nil {
		t.Error("bootstrap with a bad store setting exited 0")
	}
}

// TestBootstrapZipSize zips the bootstrap as a deployment package and holds it to the budget.
func TestBootstrapZipSize(t *testing.T) {
	bin := bootstrap(t)
	n, err := zipSize(bin)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(bin)
	t.Logf("bootstrap %d bytes, zip %d bytes (%.2f MB; budget %d MB)", fi.Size(), n, float64(n)/(1<<20), MaxZipBytes>>20)
	if n >= MaxZipBytes {
		t.Errorf("zip is %d bytes, over the %d-byte budget", n, MaxZipBytes)
	}
}

func zipSize(bin string) (int, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}

// BenchmarkBootstrapStart measures the bootstrap's start-to-ready time: from exec to its first
// poll of /runtime/invocation/next, with the DynamoDB store configured (the SDK config is
// loaded at init, so this is the cold start's own cost before the first request):
//
//	go test -run '^$' -bench BootstrapStart -benchtime 20x ./api/lambda
func BenchmarkBootstrapStart(b *testing.B) {
	bin := bootstrap(b)
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		rt := newFakeRuntime(b)
		p, started := rt.start(b, bin, "TWINEDGE_TABLE=messages")
		ready := <-rt.firstPoll
		lat = append(lat, ready.Sub(started))
		p.cmd.Process.Kill()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ready-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ready-p99-ms")
	if n, err := zipSize(bin); err == nil {
		b.ReportMetric(float64(n)/(1<<20), "zip-MB")
	}
}
