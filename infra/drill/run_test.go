package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeWorld is an edge and two regions in one handler, behaving as the drill expects the
// real ones to: site objects fail over to the secondary under any fault but truncate (which
// streams half a body and hangs up), the API fails over for GETs only, pinned paths never
// fail over. It lets the drill's bookkeeping be tested without a world; the real world is
// TestDrillLocalWorld's.
type fakeWorld struct {
	primary, secondary string

	mu     sync.Mutex
	fault  *Fault
	msgs   map[string][]message // per region, in acceptance order
	loseIn string               // a region whose accepted writes vanish (to prove loss is seen)
}

func newFakeWorld() *fakeWorld {
	return &fakeWorld{primary: "us-east-1", secondary: "eu-west-2", msgs: map[string][]message{}}
}

func (f *fakeWorld) Fail(_ context.Context, fl Fault) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl.Mode == "partition" {
		return fmt.Errorf("this world has no replication")
	}
	f.fault = &fl
	return nil
}

func (f *fakeWorld) Heal(context.Context, string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = nil
	return nil
}

const fakeHome = `<!doctype html><html><head><link rel="stylesheet" href="/assets/app-1.css"></head><body><script src="/assets/app-1.js"></script></body></html>`

func (f *fakeWorld) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fault := f.fault
	f.mu.Unlock()
	siteDown := fault != nil && fault.Target != "api"
	apiDown := fault != nil
	w.Header().Set("X-Cache", "Miss from cloudfront")
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/r/"):
		rest := strings.TrimPrefix(p, "/api/r/")
		region, route, _ := strings.Cut(rest, "/")
		if region == f.primary && apiDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		f.api(w, r, region, "/api/"+route)
	case strings.HasPrefix(p, "/api/") && r.Method == http.MethodPost:
		// The /api/* behaviour targets the origin group: GET, HEAD and OPTIONS only.
		http.Error(w, "This distribution is not configured to allow the HTTP request method that was used for this request.", http.StatusForbidden)
	case strings.HasPrefix(p, "/api/"):
		region := f.primary
		if apiDown {
			if fault.Mode == "truncate" {
				// A truncated body cannot fail over.
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			region = f.secondary
		}
		f.api(w, r, region, p)
	default:
		region := f.primary
		if siteDown && fault.Mode != "truncate" {
			region = f.secondary
		}
		body := fakeHome
		if strings.HasPrefix(p, "/assets/") {
			body = "asset " + p
		}
		w.Header().Set("X-Amz-Meta-Region", region)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if siteDown && fault.Mode == "truncate" {
			io.WriteString(w, body[:len(body)/2])
			return // the server hangs up short of Content-Length
		}
		io.WriteString(w, body)
	}
}

func (f *fakeWorld) api(w http.ResponseWriter, r *http.Request, region, route string) {
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case route == "/api/health":
		json.NewEncoder(w).Encode(map[string]string{"region": region})
	case route == "/api/messages" && r.Method == http.MethodPost:
		var m message
		json.NewDecoder(r.Body).Decode(&m)
		for _, o := range f.msgs[region] {
			if o.ID == m.ID {
				w.WriteHeader(http.StatusOK)
				json.NewEncoder(w).Encode(o)
				return
			}
		}
		m.AcceptedIn, m.AcceptedAt = region, time.Now().UTC()
		if region != f.loseIn {
			// Replication is immediate here: both regions hold every write.
			f.msgs[f.primary] = append(f.msgs[f.primary], m)
			f.msgs[f.secondary] = append(f.msgs[f.secondary], m)
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(m)
	case route == "/api/messages":
		list := slices.Clone(f.msgs[region])
		slices.Reverse(list)
		json.NewEncoder(w).Encode(map[string]any{"messages": list, "servedBy": region})
	default:
		http.NotFound(w, r)
	}
}

func runFake(t *testing.T, f *fakeWorld, schedule []Step) *Report {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	rep, err := Run(context.Background(), Options{
		Edge:     srv.URL,
		Regions:  []Region{{Name: f.primary}, {Name: f.secondary}},
		Switch:   f,
		Duration: 2 * time.Second,
		Rate:     200,
		Schedule: schedule,
		NoProbes: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRunFakeWorld(t *testing.T) {
	f := newFakeWorld()
	all := DefaultSchedule(f.primary)
	var schedule []Step
	for _, s := range all {
		if s.Name == "503" || s.Name == "truncate" || s.Name == "api 503" || s.Name == "partition" {
			schedule = append(schedule, s)
		}
	}
	rep := runFake(t, f, schedule)
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("\n%s", text.String())

	if !rep.Pass {
		t.Errorf("drill failed: %v", rep.Failures)
	}
	if rep.GetSuccessRate != 1 {
		t.Errorf("getSuccessRate = %v, want 1", rep.GetSuccessRate)
	}
	byName := map[string]Phase{}
	for _, p := range rep.Phases {
		byName[p.Name] = p
	}
	if p := byName["503"]; p.ServedBy[f.secondary] == 0 || p.Writes.Retried == 0 || p.Writes.Rejected != 0 {
		t.Errorf("503 phase: served by %v, writes %+v; want the secondary to serve and writes retried", p.ServedBy, p.Writes)
	}
	if p := byName["truncate"]; p.FailsOver || p.Outcomes["truncated body"] == 0 || p.GETsOK == p.GETs {
		t.Errorf("truncate phase: failsOver %v, outcomes %v; want truncated bodies reported", p.FailsOver, p.Outcomes)
	}
	if p := byName["api 503"]; p.Kinds[KindPage].OK == 0 || p.ServedBy[f.primary] == 0 || p.ServedBy[f.secondary] == 0 {
		t.Errorf("api 503 phase: served by %v; want pages from the primary and the API from the secondary", p.ServedBy)
	}
	if p := byName["partition"]; p.NotApplied == "" {
		t.Error("a fault the world refused is not reported as not applied")
	}
	if rep.Writes.Accepted == 0 || rep.Writes.Lost != 0 || rep.Writes.Duplicated != 0 || !rep.Convergence.Converged {
		t.Errorf("writes %+v, convergence %+v", rep.Writes, rep.Convergence)
	}
}

// TestRunSeesLostWrites: a region that accepts writes and then loses them must fail the drill.
func TestRunSeesLostWrites(t *testing.T) {
	f := newFakeWorld()
	f.loseIn = f.secondary
	var schedule []Step
	for _, s := range DefaultSchedule(f.primary) {
		if s.Name == "503" {
			schedule = append(schedule, s)
		}
	}
	rep := runFake(t, f, schedule)
	if rep.Pass || rep.Writes.Lost == 0 || rep.Writes.Lost != rep.Writes.Retried {
		t.Errorf("pass %v, writes %+v: every write accepted by the secondary was lost and must be counted", rep.Pass, rep.Writes)
	}
}

// TestRunWithoutAPI: a world without the API is measured for pages and says the API was not.
func TestRunWithoutAPI(t *testing.T) {
	f := newFakeWorld()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// No API behaviour: the SPA rewrite serves index.html.
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, fakeHome)
			return
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Options{
		Edge: srv.URL, Regions: []Region{{Name: f.primary}, {Name: f.secondary}}, Switch: f,
		Duration: time.Second, Rate: 100, NoProbes: true,
		Schedule: DefaultSchedule(f.primary)[:1],
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.API.Measured || rep.Writes.Measured || !strings.Contains(rep.Writes.Note, "no API") {
		t.Errorf("api %+v, writes %+v: want not measured, with the reason", rep.API, rep.Writes)
	}
	for _, s := range rep.Samples {
		if !s.Kind.IsSite() {
			t.Fatalf("sent %s to a world without an API", s.Kind)
		}
	}
	if rep.GetSuccessRate != 1 || !rep.Pass {
		t.Errorf("getSuccessRate %v, failures %v", rep.GetSuccessRate, rep.Failures)
	}
}

// TestAWSScheduleTimings: the AWS schedule is timed per origin group it reaches, against
// targets from the statuses AWS answers (403 from the bucket policy, 503 from the API).
func TestAWSScheduleTimings(t *testing.T) {
	f := newFakeWorld()
	rep := runFake(t, f, AWSSchedule(f.primary))
	rep.OnAWS = true
	groups := map[string][]string{}
	for _, p := range rep.Phases {
		for _, g := range p.Timings {
			groups[p.Name] = append(groups[p.Name], g.Group)
			if g.Failover.Ms < 0 || !g.Failover.Expected {
				t.Errorf("%s %s: failover %+v not seen", p.Name, g.Group, g.Failover)
			}
			want := "403 is in the failover criteria"
			if g.Group == groupAPI {
				want = "503 is in the failover criteria"
			}
			if !strings.Contains(g.Failover.Target, want) {
				t.Errorf("%s %s: target %q lacks %q", p.Name, g.Group, g.Failover.Target, want)
			}
			if s3 := strings.Contains(g.Failover.Target, "S3 applies the bucket policy eventually"); s3 != (g.Group == groupSite) {
				t.Errorf("%s %s: target %q: the S3 propagation note belongs to the site group only", p.Name, g.Group, g.Failover.Target)
			}
		}
	}
	want := map[string][]string{"aws origin": {"site"}, "aws api": {"api"}, "aws": {"site", "api"}}
	if !cmp.Equal(groups, want) {
		t.Errorf("timed groups %v, want %v", groups, want)
	}
}
