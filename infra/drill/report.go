package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is the kind of a viewer request.
type Kind string

// Request kinds. Pages, assets and probes are site GETs through the default behaviour;
// API reads and health checks are GETs through the API origin group; writes are POSTs,
// which CloudFront never fails over, so the app retries them itself (write-retry).
const (
	KindPage       Kind = "page"
	KindAsset      Kind = "asset"
	KindProbe      Kind = "probe"
	KindAPIRead    Kind = "api-read"
	KindAPIHealth  Kind = "api-health"
	KindWrite      Kind = "write"
	KindWriteRetry Kind = "write-retry"
)

// IsGET reports whether requests of the kind are GETs.
func (k Kind) IsGET() bool { return k != KindWrite && k != KindWriteRetry }

// IsSite reports whether the kind is served by the site origin group.
func (k Kind) IsSite() bool { return k == KindPage || k == KindAsset || k == KindProbe }

// Sample is one viewer request as the drill saw it.
type Sample struct {
	// At is when the request started, from the drill's start; Took is until its body was
	// read to the end (or the request failed).
	At   time.Duration
	Took time.Duration
	Kind Kind
	Path string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Region is the region that served: x-amz-meta-region of a site object, servedBy of an
	// API read, acceptedIn of a write. Empty when unknown.
	Region string
	// Cache is the first word of X-Cache: Hit, Miss, RefreshHit, Error; empty when absent.
	Cache string
	OK    bool
	// Outcome is what the viewer saw, short: "200", "503", "truncated body", "timeout".
	Outcome string
	Phase   int
	// Retried marks a failed write that the app retried pinned to the secondary.
	Retried bool
	// AcceptedIn is, for an accepted write, the region that accepted it (Region is the
	// one that answered).
	AcceptedIn string
}

// reachedOrigin reports whether the edge went to an origin for this request.
func (s *Sample) reachedOrigin() bool { return s.Cache != "Hit" }

// KindStats summarises one kind of request in a phase.
type KindStats struct {
	Requests int     `json:"requests"`
	OK       int     `json:"ok"`
	P50Ms    float64 `json:"p50Ms"`
	P99Ms    float64 `json:"p99Ms"`
}

// PhaseWrites counts a phase's writes by the app's retry rule.
type PhaseWrites struct {
	// Attempted writes started in the phase; Accepted ended in 200 or 201, first time or on
	// the pinned retry; Retried needed the retry; Rejected failed both times (the app tells
	// the user and keeps the text).
	Attempted  int            `json:"attempted"`
	Accepted   int            `json:"accepted"`
	Retried    int            `json:"retried"`
	Rejected   int            `json:"rejected"`
	AcceptedIn map[string]int `json:"acceptedIn"`
}

// Phase is one interval of the drill with a constant fault state.
type Phase struct {
	Name string `json:"name"`
	// Kind is baseline, fault, healed (the interval after a heal) or final.
	Kind  string `json:"kind"`
	Fault *Fault `json:"fault,omitempty"`
	// FailsOver is false for the phases where CloudFront itself does not fail over
	// (their GETs are left out of getSuccessRate); true for healthy phases.
	FailsOver bool   `json:"cloudFrontFailsOver"`
	Expect    string `json:"expect,omitempty"`
	// NotApplied is set when the fault could not be applied (for example a world without
	// an API for an API-only fault): the phase then ran healthy and proves nothing.
	NotApplied string `json:"notApplied,omitempty"`
	// NotRun marks a phase the drill never reached: it stopped early (Report.Stop).
	NotRun bool `json:"notRun,omitempty"`

	StartMs int64 `json:"startMs"`
	EndMs   int64 `json:"endMs"`
	// AppliedMs is when the switch had set the fault, HealedMs when its heal had returned
	// (fault phases; from the drill's start). Time to failover and to recovery count from
	// them.
	AppliedMs int64 `json:"appliedMs,omitempty"`
	HealedMs  int64 `json:"healedMs,omitempty"`
	// Timings are the time to failover and to recovery of each origin group the fault
	// reached, against their targets (targets.go).
	Timings []GroupTiming `json:"timings,omitempty"`

	Requests       int     `json:"requests"`
	OK             int     `json:"ok"`
	SuccessRate    float64 `json:"successRate"`
	GETs           int     `json:"gets"`
	GETsOK         int     `json:"getsOk"`
	GETSuccessRate float64 `json:"getSuccessRate"`
	P50Ms          float64 `json:"p50Ms"`
	P99Ms          float64 `json:"p99Ms"`
	// OriginP50Ms and OriginP99Ms are over the requests that reached an origin (not cache
	// hits): what a failover costs the viewer who waits for it.
	OriginP50Ms float64 `json:"originP50Ms"`
	OriginP99Ms float64 `json:"originP99Ms"`
	// ServedBy counts answered requests by serving region; cache hits count as "edge cache".
	ServedBy map[string]int `json:"servedBy"`
	// OriginShare is the fraction of site GETs that reached an origin (X-Cache not Hit):
	// the share of the phase's page, asset and probe requests that actually tested the fault.
	OriginShare float64 `json:"originShare"`
	// Outcomes counts what the viewer saw ("200 eu-west-2", "truncated body", ...).
	Outcomes map[string]int     `json:"outcomes"`
	Kinds    map[Kind]KindStats `json:"kinds"`
	Writes   PhaseWrites        `json:"writes"`
	start    time.Duration      // unexported copies for the timeline
	end      time.Duration
	applied  time.Duration // 0: not applied
	healed   time.Duration // 0: not healed by the schedule
}

// Writes summarises every write of the drill and the check after convergence.
type Writes struct {
	// Measured is false when the world has no API; Note says why.
	Measured   bool           `json:"measured"`
	Note       string         `json:"note,omitempty"`
	Attempted  int            `json:"attempted"`
	Accepted   int            `json:"accepted"`
	Retried    int            `json:"retried"`
	Rejected   int            `json:"rejected"`
	AcceptedIn map[string]int `json:"acceptedIn"`
	// Lost counts accepted writes missing from either region after convergence.
	Lost int `json:"lost"`
	// Duplicated counts ids listed more than once in a region, plus messages of this drill
	// stored under more than one id.
	Duplicated int `json:"duplicated"`
	// StoredAfterRejection counts writes the viewer was told had failed that a region
	// stored anyway (a response lost after the write, e.g. truncate). Not lost, not
	// duplicated: the same id, so a resend is recognised.
	StoredAfterRejection int `json:"storedAfterRejection"`
}

// Convergence is the check after the final heal: both regions list the same messages.
type Convergence struct {
	Checked   bool           `json:"checked"`
	Converged bool           `json:"converged"`
	Ms        int64          `json:"ms"`
	Messages  map[string]int `json:"messages"`
	Note      string         `json:"note,omitempty"`
}

// Report is a drill's result. Its JSON form is the output of `twinedge drill --json`.
type Report struct {
	RunID      string    `json:"runId"`
	StartedAt  time.Time `json:"startedAt"`
	DurationMs int64     `json:"durationMs"`
	Edge       string    `json:"edge"`
	Primary    string    `json:"primary"`
	Secondary  string    `json:"secondary"`
	Rate       float64   `json:"rate"`
	// OnAWS says the target was a deployment on AWS.
	OnAWS bool `json:"onAws,omitempty"`

	// StoppedEarly says the drill ended before its schedule did; Stop says why (a stop
	// condition breached, --max-duration reached), its measured value and when.
	StoppedEarly bool  `json:"stoppedEarly"`
	Stop         *Stop `json:"stop,omitempty"`
	// StopConditions are the --stop-when conditions and how they fared.
	StopConditions []ConditionResult `json:"stopConditions,omitempty"`
	// Targets counts the time-to-failover and time-to-recovery verdicts of every phase.
	Targets TargetCounts `json:"targets"`

	// GetSuccessRate is the share of successful GETs (status 200, complete and correct
	// body) over the phases where CloudFront fails over, healthy phases included.
	GetSuccessRate float64     `json:"getSuccessRate"`
	GETs           int         `json:"gets"`
	GETsOK         int         `json:"getsOk"`
	Writes         Writes      `json:"writes"`
	Convergence    Convergence `json:"convergence"`
	// API says whether the API was measured: false when the edge's /api/health does not
	// answer as the API does.
	API struct {
		Measured bool   `json:"measured"`
		Note     string `json:"note,omitempty"`
	} `json:"api"`
	// Probes is the number of probe objects the drill uploaded to make site GETs miss the
	// cache; Invalidations the number of "/*" invalidations it sent.
	Probes        int      `json:"probes"`
	Invalidations int      `json:"invalidations"`
	Notes         []string `json:"notes,omitempty"`
	Phases        []Phase  `json:"phases"`

	// Pass is true when every GET of a failing-over phase succeeded, no write was lost or
	// duplicated and the regions converged; Failures says what did not hold.
	Pass     bool     `json:"pass"`
	Failures []string `json:"failures,omitempty"`

	// Samples are every request, for the timeline; Writes in detail are in writeLog.
	Samples  []Sample      `json:"-"`
	WriteLog []WriteRecord `json:"-"`
}

// TargetCounts counts the verdicts of the phases' timings. A missed target is reported,
// not a failure of the drill: it times the machine the drill runs on as much as the edge.
type TargetCounts struct {
	Met         int `json:"met"`
	Missed      int `json:"missed"`
	NotMeasured int `json:"notMeasured"`
}

// WriteRecord is one message write through the app's retry rule.
type WriteRecord struct {
	ID         string
	Text       string
	At         time.Duration
	Phase      int
	First      int // status of the first attempt (0: no answer)
	Retried    bool
	Accepted   bool
	AcceptedIn string
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The report is read by people and scripts, not embedded in HTML: "success<95%", not
	// "success\u003c95%".
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// summarise fills the phases' statistics and the totals from the samples and write log.
func (r *Report) summarise() {
	byPhase := make([][]Sample, len(r.Phases))
	for _, s := range r.Samples {
		if s.Phase >= 0 && s.Phase < len(r.Phases) {
			byPhase[s.Phase] = append(byPhase[s.Phase], s)
		}
	}
	r.GETs, r.GETsOK = 0, 0
	r.Targets = TargetCounts{}
	for i := range r.Phases {
		p := &r.Phases[i]
		summarisePhase(p, byPhase[i])
		p.Timings = r.timings(i)
		for _, t := range p.Timings {
			for _, v := range []string{t.Failover.Verdict, t.Recovery.Verdict} {
				switch v {
				case VerdictMet:
					r.Targets.Met++
				case VerdictMissed:
					r.Targets.Missed++
				default:
					r.Targets.NotMeasured++
				}
			}
		}
		if p.FailsOver && p.NotApplied == "" {
			r.GETs += p.GETs
			r.GETsOK += p.GETsOK
		}
	}
	r.GetSuccessRate = ratio(r.GETsOK, r.GETs)

	w := &r.Writes
	w.Attempted, w.Accepted, w.Retried, w.Rejected = 0, 0, 0, 0
	w.AcceptedIn = map[string]int{}
	for _, rec := range r.WriteLog {
		w.Attempted++
		pw := &r.Phases[rec.Phase].Writes
		pw.Attempted++
		if rec.Retried {
			w.Retried++
			pw.Retried++
		}
		if rec.Accepted {
			w.Accepted++
			pw.Accepted++
			w.AcceptedIn[rec.AcceptedIn]++
			pw.AcceptedIn[rec.AcceptedIn]++
		} else {
			w.Rejected++
			pw.Rejected++
		}
	}

	r.Pass, r.Failures = true, nil
	fail := func(format string, args ...any) {
		r.Pass = false
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
	// A drill that stopped early did not run its schedule: it cannot pass.
	r.StoppedEarly = r.Stop != nil
	if r.Stop != nil {
		fail("stopped early: %s", r.Stop)
	}
	for _, p := range r.Phases {
		if p.FailsOver && p.NotApplied == "" && p.GETsOK < p.GETs {
			fail("phase %s: %d of %d GETs failed", p.Name, p.GETs-p.GETsOK, p.GETs)
		}
	}
	if w.Measured {
		if w.Lost > 0 {
			fail("%d accepted writes lost", w.Lost)
		}
		if w.Duplicated > 0 {
			fail("%d writes duplicated", w.Duplicated)
		}
		if !r.Convergence.Converged {
			fail("the regions did not converge: %s", r.Convergence.Note)
		}
	}
	if r.GETs == 0 {
		fail("no GET was measured")
	}
	// A phase where CloudFront would not fail over, yet every GET succeeded, is not a pass:
	// the target answered where CloudFront would have shown the viewer an error.
	for _, p := range r.Phases {
		if !p.FailsOver && p.NotApplied == "" && p.GETs > 0 && p.GETsOK == p.GETs {
			r.Notes = appendOnce(r.Notes, fmt.Sprintf("phase %s: all %d GETs succeeded, although CloudFront does not fail over here (%s): the target behaved unlike CloudFront", p.Name, p.GETs, p.Expect))
		}
	}
}

func summarisePhase(p *Phase, samples []Sample) {
	p.Requests, p.OK, p.GETs, p.GETsOK = len(samples), 0, 0, 0
	p.ServedBy = map[string]int{}
	p.Outcomes = map[string]int{}
	p.Kinds = map[Kind]KindStats{}
	p.Writes = PhaseWrites{AcceptedIn: map[string]int{}}
	var all, origin []time.Duration
	byKind := map[Kind][]time.Duration{}
	site, siteOrigin := 0, 0
	for _, s := range samples {
		all = append(all, s.Took)
		if s.reachedOrigin() {
			origin = append(origin, s.Took)
		}
		byKind[s.Kind] = append(byKind[s.Kind], s.Took)
		ks := p.Kinds[s.Kind]
		ks.Requests++
		if s.OK {
			p.OK++
			ks.OK++
		}
		p.Kinds[s.Kind] = ks
		if s.Kind.IsGET() {
			p.GETs++
			if s.OK {
				p.GETsOK++
			}
		}
		if s.Kind.IsSite() {
			site++
			if s.reachedOrigin() {
				siteOrigin++
			}
		}
		if s.Status != 0 {
			switch {
			case s.Cache == "Hit":
				p.ServedBy["edge cache"]++
			case s.Region != "":
				p.ServedBy[s.Region]++
			}
		}
		p.Outcomes[outcomeLabel(s)]++
	}
	for k, ds := range byKind {
		ks := p.Kinds[k]
		ks.P50Ms, ks.P99Ms = ms(percentile(ds, 0.50)), ms(percentile(ds, 0.99))
		p.Kinds[k] = ks
	}
	p.P50Ms, p.P99Ms = ms(percentile(all, 0.50)), ms(percentile(all, 0.99))
	p.OriginP50Ms, p.OriginP99Ms = ms(percentile(origin, 0.50)), ms(percentile(origin, 0.99))
	p.SuccessRate = ratio(p.OK, p.Requests)
	p.GETSuccessRate = ratio(p.GETsOK, p.GETs)
	p.OriginShare = ratio(siteOrigin, site)
}

// outcomeLabel is what the viewer saw, grouped: the status and the serving region for an
// answer, the failure otherwise.
func outcomeLabel(s Sample) string {
	l := s.Outcome
	if s.Status != 0 && (s.OK || s.Outcome == fmt.Sprint(s.Status)) {
		switch {
		case s.Cache == "Hit":
			l += " edge cache"
		case s.Region != "":
			l += " " + s.Region
		}
	}
	if s.OK && s.AcceptedIn != "" && s.AcceptedIn != s.Region {
		l += " (accepted in " + s.AcceptedIn + ")"
	}
	switch s.Kind {
	case KindWrite:
		l = "POST " + l
		if s.Retried {
			l += ", retried"
		}
	case KindWriteRetry:
		l = "pinned retry " + l
	}
	return l
}

// percentile returns the nearest-rank q-quantile of ds (0 for none).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// sortedKeys returns m's keys by descending count, then name.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// ErrFailed is wrapped by Report.Err when the drill did not pass.
var ErrFailed = errors.New("drill failed")

// Err returns nil when the drill passed, and otherwise an error wrapping ErrFailed that
// names what did not hold, for a command to exit non-zero after printing the report.
func (r *Report) Err() error {
	if r.Pass {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrFailed, strings.Join(r.Failures, "; "))
}
