package drill

import (
	"strings"
	"testing"
	"time"
)

func TestParseStopCondition(t *testing.T) {
	ok := []struct {
		in   string
		want StopCondition
	}{
		{"success<95%", StopCondition{Metric: MetricSuccess, Percent: 95, Window: DefaultStopWindow}},
		{" success < 99.5 % ", StopCondition{Metric: MetricSuccess, Percent: 99.5, Window: DefaultStopWindow}},
		{"SUCCESS<100%", StopCondition{Metric: MetricSuccess, Percent: 100, Window: DefaultStopWindow}},
		{"p99>2s", StopCondition{Metric: MetricP99, Latency: 2 * time.Second, Window: DefaultStopWindow}},
		{"p99 > 1500ms over 30s", StopCondition{Metric: MetricP99, Latency: 1500 * time.Millisecond, Window: 30 * time.Second}},
		{"success<90% over 1m", StopCondition{Metric: MetricSuccess, Percent: 90, Window: time.Minute}},
	}
	for _, c := range ok {
		got, err := ParseStopCondition(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q = %+v, want %+v", c.in, got, c.want)
		}
	}
	bad := []struct{ in, says string }{
		{"", "no comparison"},
		{"success", "no comparison"},
		{"success>95%", "success<N%"},
		{"success<=95%", "not a comparison"},
		{"success<95", "not a percentage"},
		{"success<0.95", "not a percentage"},
		{"success<1e2%", "not a percentage"},
		{"success<NaN%", "not a percentage"},
		{"success<0%", "above 0%"},
		{"success<100.1%", "at most 100%"},
		{"p99<2s", "p99>D"},
		{"p99>=2s", "not a comparison"},
		{"p99>2", "not a duration"},
		{"p99>-1s", "above 0"},
		{"p99>0s", "above 0"},
		{"p99>30s", "request timeout"},
		{"p50>2s", "unknown metric"},
		{"latency>2s", "unknown metric"},
		{"p99>2s over", "not a duration"}, // no window after "over": "2s over" is read as the value
		{"p99>2s over 10", "window"},
		{"p99>2s over 500ms", "shorter than 1s"},
		{"p99>2s over 10s junk", "window"},
		{"success<95%\nrm -rf", "not a percentage"},
	}
	for _, c := range bad {
		_, err := ParseStopCondition(c.in)
		if err == nil {
			t.Errorf("%q accepted", c.in)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.says) || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q, want one line saying %q", c.in, msg, c.says)
		}
	}
}

// FuzzParseStopCondition: any input is refused in one line or parsed into a condition that
// renders back to itself and that Run would accept at a rate its window can hold.
func FuzzParseStopCondition(f *testing.F) {
	for _, s := range []string{"success<95%", "p99>2s", "success<99.5% over 30s", "p99 > 1500ms over 1m", "p99>2s over", "success<<1%", "p99>1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseStopCondition(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("%q: error of more than one line: %q", s, err)
			}
			return
		}
		switch c.Metric {
		case MetricSuccess:
			if !(c.Percent > 0 && c.Percent <= 100) {
				t.Fatalf("%q: percent %v", s, c.Percent)
			}
		case MetricP99:
			if c.Latency <= 0 || c.Latency >= RequestTimeout {
				t.Fatalf("%q: latency %v", s, c.Latency)
			}
		default:
			t.Fatalf("%q: metric %q", s, c.Metric)
		}
		if c.Window < time.Second {
			t.Fatalf("%q: window %v", s, c.Window)
		}
		again, err := ParseStopCondition(c.String())
		if err != nil || again != c {
			t.Fatalf("%q → %q → %+v, %v; want %+v", s, c.String(), again, err, c)
		}
	})
}

// TestMonitor feeds the sliding window by hand: a condition is not evaluated below
// MinStopSamples, does not trip on one slow or failed request, trips on a sustained
// breach, forgets what has left the window, and sees requests still waiting.
func TestMonitor(t *testing.T) {
	success, _ := ParseStopCondition("success<95%")
	p99, _ := ParseStopCondition("p99>2s")
	m := newMonitor([]StopCondition{success, p99})
	at := time.Duration(0)
	add := func(n int, took time.Duration, ok bool) {
		for range n {
			id := m.begin(at)
			at += 10 * time.Millisecond
			m.end(id, at-10*time.Millisecond+took, ok, false)
		}
	}
	add(MinStopSamples-1, time.Millisecond, false)
	if ch := m.eval(success, at); ch.ok {
		t.Fatalf("evaluated over %d operations: %+v", ch.n, ch)
	}
	// 99 failures and 101 successes, then many successes: the failures leave the window.
	add(MinStopSamples+1, time.Millisecond, true)
	if ch := m.eval(success, at); !ch.ok || !ch.breached {
		t.Fatalf("49.7%% success not a breach: %+v", ch)
	}
	add(1000, time.Millisecond, true)
	if ch := m.eval(success, at); !ch.ok || ch.breached || ch.value != 1 {
		t.Fatalf("failures still in the window after 10 s: %+v", ch)
	}
	// One failure, one slow request among hundreds: no breach.
	add(1, 3*time.Second, false)
	add(300, time.Millisecond, true)
	now := at + 3*time.Second
	if ch := m.eval(success, now); ch.breached {
		t.Errorf("one failure tripped %s: %+v", success, ch)
	}
	if ch := m.eval(p99, now); ch.breached {
		t.Errorf("one slow request tripped %s: %+v", p99, ch)
	}
	// Requests that have waited past the threshold count before they finish.
	for range 50 {
		m.begin(at)
	}
	if ch := m.eval(p99, at+2500*time.Millisecond); !ch.breached || ch.value < 2500 {
		t.Errorf("50 requests waiting 2.5 s did not trip %s: %+v", p99, ch)
	}
	if ch := m.eval(p99, at+time.Second); ch.breached {
		t.Errorf("requests waiting 1 s tripped %s: %+v", p99, ch)
	}
}

func TestLimitsRefused(t *testing.T) {
	cond := func(s string) StopCondition {
		c, err := ParseStopCondition(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, c := range []struct {
		o    Options
		says string
	}{
		{Options{Duration: time.Minute, MaxDuration: 30 * time.Second}, "shorter than --duration"},
		{Options{MaxDuration: -time.Second}, "negative"},
		{Options{Rate: 5, StopWhen: []StopCondition{cond("p99>2s")}}, "fewer than the 100"},
	} {
		err := c.o.CheckLimits()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.says)
		}
	}
	if err := (Options{Rate: 5, Duration: time.Minute, MaxDuration: time.Minute, StopWhen: []StopCondition{cond("p99>2s over 20s")}}).CheckLimits(); err != nil {
		t.Errorf("a window that holds 100 operations at 5/s, a cap equal to the duration: %v", err)
	}
}
