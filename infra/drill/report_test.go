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
		Phases []map[string]any `json:"phases"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
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
