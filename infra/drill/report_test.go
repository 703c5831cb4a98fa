package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// syntheticReport builds a report as a drill of the default schedule would, from made-up
// samples: the primary serves until a fault, the secondary during it, truncate fails
// uncached GETs, and writes fail over by the retry rule. It feeds the report tests and the
// HTML rendering check.
func syntheticReport(seed uint64) *Report {
	rnd := rand.New(rand.NewPCG(seed, 1))
	const primary, secondary = "us-east-1", "eu-west-2"
	r := &Report{RunID: "0badc0de", StartedAt: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC),
		Edge: "http://127.0.0.1:8080", Primary: primary, Secondary: secondary, Rate: 20,
		Probes: 700, Invalidations: 27, Writes: Writes{Measured: true}}
	r.API.Measured = true
	r.Phases = plan(DefaultSchedule(primary))
	unit := 8 * time.Second
	at := time.Duration(0)
	for i := range r.Phases {
		p := &r.Phases[i]
		d := unit
		switch p.Kind {
		case "fault":
			d = unit * 3 / 4
		case "healed":
			d = unit / 4
		}
		p.start, p.end = at, at+d
		p.StartMs, p.EndMs = at.Milliseconds(), (at + d).Milliseconds()
		at += d
	}
	r.DurationMs = at.Milliseconds()
	n := 0
	for t := time.Duration(0); t < at; t += 50 * time.Millisecond {
		pi := 0
		for i, p := range r.Phases {
			if t >= p.start && t < p.end {
				pi = i
			}
		}
		p := r.Phases[pi]
		kind := mix[n%len(mix)]
		n++
		s := Sample{At: t, Kind: kind, Phase: pi, Status: 200, Outcome: "200", OK: true,
			Took: time.Duration(2+rnd.IntN(6)) * time.Millisecond, Region: primary, Cache: "Miss"}
		faulted := p.Kind == "fault" && p.NotApplied == ""
		api := kind == KindAPIRead || kind == KindAPIHealth || kind == KindWrite
		if (kind == KindPage || kind == KindAsset) && rnd.IntN(4) > 0 {
			s.Cache = "Hit"
			s.Took = time.Millisecond
		}
		if faulted && s.Cache != "Hit" && !(p.Name == "api 503" && !api) && p.Name != "partition" {
			s.Region = secondary
			if p.Name == "blackhole" {
				s.Took += 2 * time.Second
			}
			if p.Name == "truncate" {
				s.OK, s.Status, s.Outcome, s.Region = false, 200, "truncated body", primary
			}
		}
		if kind == KindWrite {
			rec := WriteRecord{ID: fmt.Sprint(n), At: t, Phase: pi, Accepted: true, AcceptedIn: primary, First: 201}
			if faulted && p.Name != "partition" && p.Name != "slow" {
				s.OK, s.Status, s.Outcome, s.Region, s.Retried = false, 503, "503", "", true
				rec.First, rec.Retried, rec.AcceptedIn = 503, true, secondary
				r.Samples = append(r.Samples, Sample{At: t + s.Took, Took: 3 * time.Millisecond, Kind: KindWriteRetry,
					Phase: pi, Status: 201, Outcome: "201", OK: true, Region: secondary, Cache: "Miss"})
			}
			r.WriteLog = append(r.WriteLog, rec)
		}
		r.Samples = append(r.Samples, s)
	}
	r.Convergence = Convergence{Checked: true, Converged: true, Ms: 412, Messages: map[string]int{primary: len(r.WriteLog), secondary: len(r.WriteLog)}}
	r.summarise()
	return r
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd", ms(5, 1, 3), 0.5, 3 * time.Millisecond},
		{"median of even is the lower (nearest rank)", ms(4, 1, 3, 2), 0.5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p99 of 10 is the max", ms(seq(10)...), 0.99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.q); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.in, tt.q, got, tt.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = n - i
	}
	return out
}

func TestSummarise(t *testing.T) {
	r := syntheticReport(1)
	if !r.Pass {
		t.Fatalf("synthetic drill should pass, failures: %v", r.Failures)
	}
	if r.GetSuccessRate != 1 {
		t.Errorf("getSuccessRate = %v, want 1: the truncate phase's failed GETs must not count", r.GetSuccessRate)
	}
	var trunc *Phase
	for i := range r.Phases {
		if r.Phases[i].Name == "truncate" {
			trunc = &r.Phases[i]
		}
	}
	if trunc == nil || trunc.FailsOver || trunc.GETsOK == trunc.GETs {
		t.Fatalf("truncate phase = %+v, want a non-failing-over phase with failed GETs", trunc)
	}
	if trunc.Outcomes["truncated body"] == 0 {
		t.Errorf("truncate outcomes %v do not show what the viewer saw", trunc.Outcomes)
	}
	if r.Writes.Accepted != r.Writes.Attempted || r.Writes.Retried == 0 {
		t.Errorf("writes = %+v, want all accepted, some retried", r.Writes)
	}

	// A failed GET in a phase where CloudFront fails over fails the drill; so do a lost write
	// and a missing convergence.
	for i, s := range r.Samples {
		if r.Phases[s.Phase].Name == "503" && s.Kind == KindProbe {
			r.Samples[i].OK, r.Samples[i].Outcome = false, "502"
			break
		}
	}
	var gets int
	for _, p := range r.Phases {
		if p.Name == "503" {
			gets = p.GETs
		}
	}
	r.Writes.Lost = 1
	r.Convergence.Converged, r.Convergence.Note = false, "different"
	r.summarise()
	want := []string{fmt.Sprintf("phase 503: 1 of %d GETs failed", gets), "1 accepted writes lost", "the regions did not converge: different"}
	if r.Pass {
		t.Error("drill with a failed GET still passes")
	}
	if diff := cmp.Diff(want, r.Failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if err := r.Err(); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "1 accepted writes lost") {
		t.Errorf("Err() = %v, want ErrFailed naming the failures", err)
	}
}

// TestJSONContract checks the keys issue 7 names for `twinedge drill --json`.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := syntheticReport(2).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		GetSuccessRate *float64 `json:"getSuccessRate"`
		Writes         struct {
			Accepted, Lost, Duplicated *int
		} `json:"writes"`
		Phases       []map[string]any `json:"phases"`
		StoppedEarly *bool            `json:"stoppedEarly"`
		Targets      map[string]int   `json:"targets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.StoppedEarly == nil || *got.StoppedEarly || len(got.Targets) != 3 {
		t.Errorf("stoppedEarly %v, targets %v: want false and the three verdict counts", got.StoppedEarly, got.Targets)
	}
	if got.GetSuccessRate == nil || got.Writes.Accepted == nil || got.Writes.Lost == nil || got.Writes.Duplicated == nil {
		t.Fatalf("missing top-level keys in %s", buf.String()[:400])
	}
	if len(got.Phases) == 0 {
		t.Fatal("no phases")
	}
	for _, k := range []string{"name", "requests", "ok", "p50Ms", "p99Ms"} {
		if _, ok := got.Phases[0][k]; !ok {
			t.Errorf("phase has no key %q: %v", k, got.Phases[0])
		}
	}
}

func TestWriteHTMLSelfContained(t *testing.T) {
	r := syntheticReport(3)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"src=", "href=", "url(", "@import", "<script", "<link"} {
		if strings.Contains(page, bad) {
			t.Errorf("report contains %q: it must make no external request", bad)
		}
	}
	for _, want := range []string{"<svg", "PASS", "truncate", "does not fail over", "api 503", "partition", "eu-west-2"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A name from outside is escaped, never markup.
	r.Phases[1].Name = `<img onerror=x>`
	buf.Reset()
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<img") {
		t.Error("a phase name was rendered as markup")
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := syntheticReport(4).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"PASS", "GET success rate where CloudFront fails over: 1.0000", "truncate", "NO", "0 lost, 0 duplicated"} {
		if !strings.Contains(out, want) {
			t.Errorf("text summary lacks %q:\n%s", want, out)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("read: %w", ioUnexpectedEOF), "truncated body"},
		{fmt.Errorf("dial: %w", errRefused), "connection refused"},
		{fmt.Errorf("x: %w", errReset), "connection reset"},
		{fmt.Errorf("odd"), "error"},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestAssetLinks(t *testing.T) {
	page := `<link rel="stylesheet" href="/assets/app-1.css"><link rel="icon" href="/assets/icon.svg">
<script type="module" src="/assets/app-2.js"></script><a href="/status">x</a><a href="/assets/app-1.css">again</a>
<img src="//cdn.example/x.png"><script src="/assets/q.js?v=1"></script>`
	want := []string{"/assets/app-1.css", "/assets/icon.svg", "/assets/app-2.js", "/assets/q.js"}
	if diff := cmp.Diff(want, assetLinks([]byte(page))); diff != "" {
		t.Errorf("assetLinks (-want +got):\n%s", diff)
	}
}

// FuzzAssetLinks: whatever page the edge answers with, the links are same-origin absolute
// paths, unique, without quotes, query or fragment.
func FuzzAssetLinks(f *testing.F) {
	f.Add(`<script src="/assets/app.js"></script>`)
	f.Add(`<link href="//x/y.css"><link href="/a/b.css#x">`)
	f.Fuzz(func(t *testing.T, page string) {
		seen := map[string]bool{}
		for _, p := range assetLinks([]byte(page)) {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, `"?#`) {
				t.Fatalf("bad link %q", p)
			}
			if seen[p] {
				t.Fatalf("duplicate link %q", p)
			}
			seen[p] = true
		}
	})
}

// TestTimings measures failover and recovery on hand-made samples: only origin answers of
// the right group and region count, from the moment the switch returned.
func TestTimings(t *testing.T) {
	const primary, secondary = "us-east-1", "eu-west-2"
	steps := []Step{
		{Name: "blackhole", Fault: Fault{Region: primary, Mode: "blackhole"}, FailsOver: true},
		{Name: "truncate", Fault: Fault{Region: primary, Mode: "truncate"}, FailsOver: false},
	}
	r := &Report{Primary: primary, Secondary: secondary, Rate: 20, Probes: 100}
	r.API.Measured = false // the site group only
	r.Phases = plan(steps)
	sec := time.Second
	bounds := [][2]time.Duration{{0, 10 * sec}, {10 * sec, 16 * sec}, {16 * sec, 20 * sec}, {20 * sec, 26 * sec}, {26 * sec, 30 * sec}, {30 * sec, 40 * sec}}
	for i := range r.Phases {
		r.Phases[i].start, r.Phases[i].end = bounds[i][0], bounds[i][1]
	}
	ms := time.Millisecond
	r.Phases[1].applied, r.Phases[1].healed = 10*sec+20*ms, 16*sec
	r.Phases[3].applied, r.Phases[3].healed = 20*sec+20*ms, 26*sec
	probe := func(at, took time.Duration, region, cache string, ok bool) Sample {
		return Sample{At: at, Took: took, Kind: KindProbe, Region: region, Cache: cache, OK: ok, Status: 200}
	}
	r.Samples = []Sample{
		probe(10*sec+5*ms, 2*ms, secondary, "Hit", true),                                   // a cache hit says nothing
		probe(10*sec+30*ms, 2100*ms, secondary, "Miss", true),                              // the first failover: done at 12.13 s
		probe(10*sec+200*ms, 2050*ms, secondary, "Miss", true),                             // later
		{At: 10*sec + 40*ms, Took: 5 * ms, Kind: KindAPIRead, Region: secondary, OK: true}, // another group
		probe(16*sec+10*ms, 3*ms, secondary, "RefreshHit", true),                           // a revalidated copy keeps its old region
		probe(16*sec+100*ms, 4*ms, primary, "Miss", true),                                  // recovery: done at 16.104 s
		probe(20*sec+50*ms, 3*ms, primary, "Miss", false),                                  // truncated
		probe(26*sec+30*ms, 2*ms, primary, "Miss", true),                                   // recovery after truncate
	}
	r.summarise()
	bh, tr := r.Phases[1].Timings, r.Phases[3].Timings
	if len(bh) != 1 || len(tr) != 1 || bh[0].Group != groupSite {
		t.Fatalf("timings %+v / %+v: want the site group of each fault", bh, tr)
	}
	next := nextRequest(groupSite, 20, true)
	if next != 200*ms {
		t.Errorf("next probe within %s at 20/s, want 200ms (4 of the mix's 20 slots)", next)
	}
	want := Transition{Expected: true, Ms: 2110, TargetMs: (next + 4*sec).Milliseconds(), Verdict: VerdictMet}
	if got := bh[0].Failover; got.Ms != want.Ms || got.TargetMs != want.TargetMs || got.Verdict != want.Verdict || !got.Expected {
		t.Errorf("blackhole failover %+v, want %+v", got, want)
	}
	if got := bh[0].Recovery; got.Ms != 104 || got.TargetMs != (next+2*sec).Milliseconds() || got.Verdict != VerdictMet {
		t.Errorf("blackhole recovery %+v, want 104 ms against next request + 2 s", got)
	}
	if got := tr[0].Failover; got.Expected || got.Ms != -1 || got.Verdict != VerdictMet {
		t.Errorf("truncate failover %+v: none expected, none seen", got)
	}
	if got := tr[0].Recovery; got.Ms != 32 || got.Verdict != VerdictMet {
		t.Errorf("truncate recovery %+v, want 32 ms", got)
	}
	// The secondary serving where CloudFront would not fail over is a miss of the target.
	r.Samples = append(r.Samples, probe(21*sec, 2*ms, secondary, "Miss", true))
	r.summarise()
	if got := r.Phases[3].Timings[0].Failover; got.Verdict != VerdictMissed || got.Ms != 982 {
		t.Errorf("truncate served by the secondary: %+v, want missed at 982 ms", got)
	}
	if r.Targets != (TargetCounts{Met: 3, Missed: 1}) {
		t.Errorf("targets %+v", r.Targets)
	}
}
