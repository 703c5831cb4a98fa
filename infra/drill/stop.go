package drill

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stop conditions are the drill's guard rail, as AWS FIS's stop conditions and Gremlin's
// halt conditions are theirs: a condition on what viewers see, checked all the time the
// traffic runs, that ends the drill and heals every fault as soon as it is breached.
//
//	success<95%            the viewer success rate over the window falls below 95 %
//	p99>2s                 the p99 latency over the window rises above 2 s
//	success<99% over 30s   the same, over a 30 s window instead of DefaultStopWindow
//
// A viewer operation is one GET (page, asset, probe, API read or health check: a success is
// a 200 with the right body) or one write with the app's pinned retry (a success is the
// write accepted, first time or on the retry): what one viewer action got, whatever the
// phase. Unlike the report's GET success rate, which leaves out the phases where CloudFront
// cannot fail over, a stop condition counts everything: it protects viewers, it is not the
// verdict.
//
// The window slides: every StopCheckEvery the drill looks at the operations that finished
// within the last window. A latency condition also counts the operations still waiting
// longer than its threshold (a black-holed origin holds requests for seconds, and those
// must not be invisible until they time out); waiting operations below the threshold are
// not counted, since their latency is not known yet. A condition is only evaluated over at
// least MinStopSamples operations, so it cannot trip on one slow or failed request: with 100
// operations a p99 is the second slowest (two slow requests are needed, more as the window
// fills), and success<95% needs six failures. At the default 20 requests/s a 10 s window
// holds 200 operations; a condition whose window cannot hold MinStopSamples at the drill's
// rate is refused before the drill starts, since it would never be checked.
const (
	// DefaultStopWindow is the sliding window of a condition without "over": 10 s is the
	// shortest period of a CloudWatch alarm, which is what an AWS FIS stop condition watches
	// (CloudWatch API Reference, PutMetricAlarm, Period: "Valid values are 10, 20, 30, and
	// any multiple of 60"), and it is longer
	// than the slowest expected failover here (an API read waits APIOriginReadTimeout, 5 s,
	// on a black-holed primary), so one transition fills at most half the window.
	DefaultStopWindow = 10 * time.Second
	// MinStopSamples is the fewest operations a condition is evaluated over.
	MinStopSamples = 100
	// StopCheckEvery is how often the conditions are checked while traffic runs.
	StopCheckEvery = 250 * time.Millisecond
	// RequestTimeout is the drill's default timeout of one viewer request: a p99 at or
	// above it cannot be observed.
	RequestTimeout = 30 * time.Second
)

// Metric is what a stop condition watches.
type Metric string

// The metrics of stop conditions.
const (
	MetricSuccess Metric = "success"
	MetricP99     Metric = "p99"
)

// StopCondition stops the drill when breached. Parse one with ParseStopCondition.
type StopCondition struct {
	Metric Metric
	// Percent is, for success, the rate in percent below which the drill stops.
	Percent float64
	// Latency is, for p99, the latency above which the drill stops.
	Latency time.Duration
	// Window is the sliding window (DefaultStopWindow when parsed without "over").
	Window time.Duration
}

// String renders the condition as ParseStopCondition reads it.
func (c StopCondition) String() string {
	var s string
	switch c.Metric {
	case MetricSuccess:
		s = "success<" + strconv.FormatFloat(c.Percent, 'f', -1, 64) + "%"
	case MetricP99:
		s = "p99>" + c.Latency.String()
	default:
		s = string(c.Metric) + "?"
	}
	return s + " over " + c.Window.String()
}

// percentRE is a plain decimal: strconv.ParseFloat would also take "1e2", "0x1p6", "Inf".
var percentRE = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{1,6})?$`)

// ParseStopCondition parses "success<N%" or "p99>D", optionally followed by "over D",
// with any spaces between the parts. The error is one line naming what is wrong.
func ParseStopCondition(s string) (StopCondition, error) {
	bad := func(format string, args ...any) (StopCondition, error) {
		return StopCondition{}, fmt.Errorf("stop condition %q: %s", s, fmt.Sprintf(format, args...))
	}
	text := strings.ToLower(strings.TrimSpace(s))
	c := StopCondition{Window: DefaultStopWindow}
	if cond, window, ok := strings.Cut(text, " over "); ok {
		text = strings.TrimSpace(cond)
		d, err := time.ParseDuration(strings.TrimSpace(window))
		if err != nil {
			return bad("window %q is not a duration such as 30s", strings.TrimSpace(window))
		}
		if d < time.Second {
			return bad("window %s is shorter than 1s", d)
		}
		c.Window = d
	}
	i := strings.IndexAny(text, "<>=!")
	if i < 0 {
		return bad("no comparison; want success<N%% (e.g. success<95%%) or p99>D (e.g. p99>2s)")
	}
	metric, rest := strings.TrimSpace(text[:i]), text[i:]
	op := rest[:1]
	if len(rest) > 1 && strings.ContainsAny(rest[1:2], "<>=") {
		return bad("%q is not a comparison here: success takes < and p99 takes >", rest[:2])
	}
	value := strings.TrimSpace(rest[1:])
	switch Metric(metric) {
	case MetricSuccess:
		if op != "<" {
			return bad("success stops the drill when it falls: write success<N%%")
		}
		num, ok := strings.CutSuffix(value, "%")
		if !ok || !percentRE.MatchString(strings.TrimSpace(num)) {
			return bad("%q is not a percentage such as 95%% or 99.5%%", value)
		}
		p, _ := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if p <= 0 || p > 100 {
			return bad("%s%% is not above 0%% and at most 100%%", strings.TrimSpace(num))
		}
		c.Metric, c.Percent = MetricSuccess, p
	case MetricP99:
		if op != ">" {
			return bad("p99 stops the drill when it rises: write p99>D")
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return bad("%q is not a duration such as 2s or 1500ms", value)
		}
		if d <= 0 || d >= RequestTimeout {
			return bad("%s is not above 0 and below the drill's %s request timeout", d, RequestTimeout)
		}
		c.Metric, c.Latency = MetricP99, d
	default:
		return bad("unknown metric %q; want success (e.g. success<95%%) or p99 (e.g. p99>2s)", metric)
	}
	return c, nil
}

// check is the state of one condition as last measured over its window.
type check struct {
	ok       bool    // evaluated: at least MinStopSamples operations
	value    float64 // the success rate (0–1) or the p99 in ms
	n        int
	breached bool
}

// measured renders a condition's value as the condition writes it.
func (c StopCondition) measured(value float64) string {
	if c.Metric == MetricSuccess {
		return strconv.FormatFloat(math.Floor(value*10000)/100, 'f', -1, 64) + "%"
	}
	return (time.Duration(value * float64(time.Millisecond))).Round(time.Millisecond).String()
}

// op is one finished viewer operation.
type op struct {
	done, took time.Duration
	ok         bool
}

// monitor holds the viewer operations for the stop conditions: the finished ones, in the
// order they finished, and the ones in flight with their start.
type monitor struct {
	mu       sync.Mutex
	ops      []op
	inflight map[int64]time.Duration
	next     int64
	keep     time.Duration // the longest window: older operations are dropped
}

func newMonitor(conds []StopCondition) *monitor {
	m := &monitor{inflight: map[int64]time.Duration{}}
	for _, c := range conds {
		m.keep = max(m.keep, c.Window)
	}
	return m
}

// begin records an operation started at at and returns its handle for end.
func (m *monitor) begin(at time.Duration) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.inflight[m.next] = at
	return m.next
}

// end records the operation id finished at done: ok or not. An operation the drill itself
// cut (dropped) is only forgotten.
func (m *monitor) end(id int64, done time.Duration, ok, dropped bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, found := m.inflight[id]
	if !found {
		return
	}
	delete(m.inflight, id)
	if dropped {
		return
	}
	m.ops = append(m.ops, op{done: done, took: done - at, ok: ok})
	// Drop what no window reaches any more, in bulk so appends stay cheap.
	if len(m.ops) > 4096 {
		i := 0
		for i < len(m.ops) && m.ops[i].done < done-m.keep {
			i++
		}
		if i > len(m.ops)/2 {
			m.ops = append(m.ops[:0], m.ops[i:]...)
		}
	}
}

// eval measures c at now over its window.
func (m *monitor) eval(c StopCondition, now time.Duration) check {
	m.mu.Lock()
	defer m.mu.Unlock()
	from := now - c.Window
	var ch check
	switch c.Metric {
	case MetricSuccess:
		good := 0
		for i := len(m.ops) - 1; i >= 0 && m.ops[i].done > from; i-- {
			ch.n++
			if m.ops[i].ok {
				good++
			}
		}
		if ch.n >= MinStopSamples {
			ch.ok, ch.value = true, float64(good)/float64(ch.n)
			ch.breached = ch.value*100 < c.Percent
		}
	case MetricP99:
		var ds []time.Duration
		for i := len(m.ops) - 1; i >= 0 && m.ops[i].done > from; i-- {
			ds = append(ds, m.ops[i].took)
		}
		for _, at := range m.inflight {
			if waited := now - at; waited > c.Latency {
				ds = append(ds, waited)
			}
		}
		ch.n = len(ds)
		if ch.n >= MinStopSamples {
			p := percentile(ds, 0.99)
			ch.ok, ch.value = true, float64(p)/float64(time.Millisecond)
			ch.breached = p > c.Latency
		}
	}
	return ch
}

// StopReason says why a drill ended before its schedule did.
type StopReason string

// The reasons a drill stops early.
const (
	StoppedByCondition   StopReason = "stop-when"
	StoppedByMaxDuration StopReason = "max-duration"
)

// Stop is how a drill that ended early ended.
type Stop struct {
	Reason StopReason `json:"reason"`
	// Condition is the stop condition that was breached, as written; Measured its value
	// then ("81.5%", "2.31s") over Requests viewer operations of its window.
	Condition string `json:"condition,omitempty"`
	Measured  string `json:"measured,omitempty"`
	Requests  int    `json:"requests,omitempty"`
	// MaxDuration is the cap that was reached.
	MaxDuration string `json:"maxDuration,omitempty"`
	// AtMs is when the drill stopped, from the start of its traffic (0 when it stopped
	// before the traffic began); Phase is what it was doing: a phase's name, "preparing"
	// or "converging".
	AtMs  int64  `json:"atMs"`
	Phase string `json:"phase"`
	// HealedMs is when every region had been healed after the stop; HealError says why a
	// heal failed (the drill heals again as it exits).
	HealedMs  int64  `json:"healedMs"`
	HealError string `json:"healError,omitempty"`
}

// String is the stop in one line.
func (s *Stop) String() string {
	var b strings.Builder
	switch s.Reason {
	case StoppedByCondition:
		fmt.Fprintf(&b, "stop condition %s breached: %s over %d viewer operations", s.Condition, s.Measured, s.Requests)
	case StoppedByMaxDuration:
		fmt.Fprintf(&b, "--max-duration %s reached", s.MaxDuration)
	}
	fmt.Fprintf(&b, " at %.1f s (%s); every region healed at %.1f s", float64(s.AtMs)/1000, s.Phase, float64(s.HealedMs)/1000)
	if s.HealError != "" {
		fmt.Fprintf(&b, " (heal failed: %s; healed again on exit)", s.HealError)
	}
	return b.String()
}

// ConditionResult is one stop condition's record over the drill: how often it was
// checked over enough operations, and its worst value.
type ConditionResult struct {
	Condition string `json:"condition"`
	// Checks counts the checks made over at least MinStopSamples operations: 0 means the
	// condition was never in force.
	Checks   int    `json:"checks"`
	Breached bool   `json:"breached"`
	Worst    string `json:"worst,omitempty"`
	WorstAt  int64  `json:"worstAtMs,omitempty"`
}

// StopConditions is a list of stop conditions, and a repeatable flag (flag.Value): each
// --stop-when adds one.
type StopConditions []StopCondition

// String lists the conditions, comma-separated.
func (cs *StopConditions) String() string {
	if cs == nil {
		return ""
	}
	var out []string
	for _, c := range *cs {
		out = append(out, c.String())
	}
	return strings.Join(out, ", ")
}

// Set parses one more condition.
func (cs *StopConditions) Set(s string) error {
	c, err := ParseStopCondition(s)
	if err != nil {
		return err
	}
	*cs = append(*cs, c)
	return nil
}
