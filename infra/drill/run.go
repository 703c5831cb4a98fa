package drill

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/site"
)

// maxInFlight bounds the requests in flight. At the default rate a blackholed primary
// holds each API request 5 s, so about 100 are in flight; beyond this bound the drill
// itself is the bottleneck and says so rather than measuring itself.
const maxInFlight = 512

// run is one drill in progress.
type run struct {
	opts      Options
	id        string
	author    string
	primary   string
	secondary string
	start     time.Time
	cf        *cloudfront.Client

	pages, assets []string
	probes        *probeSet
	api           bool

	phase     atomic.Int32
	writeN    atomic.Int64
	probeN    atomic.Int64
	pageN     atomic.Int64
	assetN    atomic.Int64
	invN      atomic.Int64
	saturated atomic.Int64

	mu      sync.Mutex
	sums    map[string][32]byte
	samples []Sample
	writes  []WriteRecord
	rep     *Report
	stage   string // what the drill is doing, for a Stop: "preparing", a phase, "converging"

	// Early stops (stop.go). capCtx ends at MaxDuration (and with the caller's context):
	// the preparation, every request and the convergence wait run under it. haltCtx also
	// ends at a breached stop condition: the schedule and the traffic run under it. halt
	// runs once; seal claims the once when the drill is over, so a late timer is a no-op.
	parent     context.Context
	capCtx     context.Context
	cancelCap  context.CancelFunc
	cancelHalt context.CancelFunc
	stopOnce   sync.Once
	mon        *monitor
	conds      []ConditionResult
}

// Run runs a drill against the target described by opts and returns its report. It heals
// every region first and last, whatever happens in between. An error means the drill
// could not run (no edge, no site); faults that could not be applied, an API that is not
// there and regions that do not converge are results, reported in the Report.
func Run(ctx context.Context, opts Options) (_ *Report, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	r := &run{
		opts:      opts,
		id:        newRunID(),
		primary:   opts.Regions[0].Name,
		secondary: opts.Regions[1].Name,
		sums:      map[string][32]byte{},
	}
	r.author = "drill " + r.id
	r.rep = &Report{
		RunID: r.id, Edge: opts.Edge, Primary: r.primary, Secondary: r.secondary, Rate: opts.Rate,
		Writes: Writes{AcceptedIn: map[string]int{}}, OnAWS: opts.OnAWS,
	}
	r.rep.Phases = plan(opts.Schedule)
	r.mon = newMonitor(opts.StopWhen)
	for _, c := range opts.StopWhen {
		r.conds = append(r.conds, ConditionResult{Condition: c.String()})
	}
	r.parent = ctx
	var haltCtx context.Context
	r.capCtx, r.cancelCap = context.WithCancel(ctx)
	defer r.cancelCap()
	haltCtx, r.cancelHalt = context.WithCancel(r.capCtx)
	defer r.cancelHalt()
	if opts.MaxDuration > 0 {
		// The cap counts from here: the heal before the drill and the preparation are
		// part of what it bounds.
		cap := time.AfterFunc(opts.MaxDuration, func() {
			// The cap holds even after a stop condition has stopped the drill: the
			// convergence wait that follows a breach is cut too.
			r.cancelCap()
			r.halt(&Stop{Reason: StoppedByMaxDuration, MaxDuration: opts.MaxDuration.String()})
		})
		defer cap.Stop()
	}

	// Whatever happens, the world is left healed and without probe objects: after an
	// error, a stop, and on Ctrl-C (the caller's context ends; the heal runs without it).
	// A drill killed outright cannot heal; the next drill heals first (below), and
	// `twinedge heal` (--aws) does it by hand.
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.healTimeout())
		defer cancel()
		healErr := r.healAll(cctx)
		// An interrupted drill says whether the world is healed: the one thing its user
		// needs to know before walking away.
		switch {
		case err != nil && ctx.Err() != nil && healErr == nil:
			err = fmt.Errorf("drill interrupted (%w): every region healed", err)
		case err != nil && healErr != nil:
			err = fmt.Errorf("%w; and the heal as the drill ended failed, run `twinedge heal`: %v", err, healErr)
		case healErr != nil:
			r.opts.Logger.Warn("heal as the drill ended", "err", healErr)
		}
		if r.probes != nil {
			if err := r.probes.remove(cctx); err != nil {
				r.opts.Logger.Warn("remove probe objects", "err", err)
			}
		}
	}()
	r.setStage("preparing")
	if err := r.healAll(r.capCtx); err != nil {
		if r.stopped() {
			return r.finish(), nil
		}
		return nil, fmt.Errorf("heal before the drill: %w", err)
	}
	if err := r.prepare(r.capCtx); err != nil {
		if r.stopped() {
			return r.finish(), nil
		}
		return nil, err
	}

	r.mu.Lock()
	r.start = opts.Now()
	r.mu.Unlock()
	r.rep.StartedAt = r.start.UTC()
	var traffic sync.WaitGroup
	traffic.Add(2)
	go func() { defer traffic.Done(); r.traffic(haltCtx, r.capCtx) }()
	go func() { defer traffic.Done(); r.watch(haltCtx) }()
	schedErr := r.schedule(haltCtx)
	r.cancelHalt() // the traffic and the watch end with the schedule
	traffic.Wait()
	r.rep.DurationMs = r.since().Milliseconds()
	if schedErr != nil && !r.stopped() {
		return nil, schedErr
	}
	if r.api {
		r.setStage("converging")
		r.converge(r.capCtx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted: healed as Run returns
	}
	return r.finish(), nil
}

// finish seals the drill against a late stop and summarises the report.
func (r *run) finish() *Report {
	// Once claimed here, a cap that fires now cannot stop a drill that is over; a halt
	// still healing is waited for (Once.Do returns when the first call's function has).
	r.stopOnce.Do(func() {})
	r.cutPhases()
	for i := range r.rep.Phases {
		p := &r.rep.Phases[i]
		p.StartMs, p.EndMs = p.start.Milliseconds(), p.end.Milliseconds()
		if p.applied > 0 {
			p.AppliedMs = p.applied.Milliseconds()
		}
		if p.healed > 0 {
			p.HealedMs = p.healed.Milliseconds()
		}
	}
	r.rep.StopConditions = r.conds
	if n := r.saturated.Load(); n > 0 {
		r.note("%d requests were not sent: %d were already in flight (the drill, not the edge, was the bottleneck)", n, maxInFlight)
	}
	r.mu.Lock()
	r.rep.Samples, r.rep.WriteLog = r.samples, r.writes
	r.mu.Unlock()
	r.rep.Invalidations = int(r.invN.Load())
	r.rep.summarise()
	return r.rep
}

func (r *run) setStage(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stage = s
}

// stopped reports whether the drill was stopped early.
func (r *run) stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rep.Stop != nil
}

// halt stops the drill early, once: it ends the schedule and the traffic (and, at the cap,
// every request in flight and the convergence wait), then heals every region at once,
// without waiting for the schedule to notice. The schedule's own switch call may still be
// under way; the heal as Run returns covers a fault it sets after this one.
func (r *run) halt(s *Stop) {
	r.stopOnce.Do(func() {
		r.cancelHalt()
		r.mu.Lock()
		if !r.start.IsZero() {
			s.AtMs = r.opts.Now().Sub(r.start).Milliseconds()
		}
		s.Phase = r.stage
		r.rep.Stop = s
		r.mu.Unlock()
		hctx, cancel := context.WithTimeout(context.WithoutCancel(r.parent), r.healTimeout())
		defer cancel()
		if err := r.healAll(hctx); err != nil {
			s.HealError = strings.ReplaceAll(err.Error(), "\n", "; ")
		}
		r.mu.Lock()
		if !r.start.IsZero() {
			s.HealedMs = r.opts.Now().Sub(r.start).Milliseconds()
		}
		r.mu.Unlock()
		r.progress("STOPPED: %s", s)
	})
}

// healTimeout bounds a heal of every region that runs without the caller's context (at a
// stop, and as the drill exits). Locally the switch answers in milliseconds; on AWS each
// region's heal waits for its function update, up to 2 minutes (infra/aws/failure.go), and
// the regions are healed one after the other.
func (r *run) healTimeout() time.Duration {
	if r.opts.OnAWS {
		return 5 * time.Minute
	}
	return 30 * time.Second
}

// watch checks the stop conditions every StopCheckEvery until ctx ends, and halts the
// drill at the first breach.
func (r *run) watch(ctx context.Context) {
	if len(r.opts.StopWhen) == 0 {
		return
	}
	worst := make([]float64, len(r.opts.StopWhen))
	t := time.NewTicker(StopCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.since()
		for i, c := range r.opts.StopWhen {
			ch := r.mon.eval(c, now)
			if !ch.ok {
				continue
			}
			res := &r.conds[i]
			res.Checks++
			if res.Checks == 1 || (c.Metric == MetricSuccess && ch.value < worst[i]) || (c.Metric == MetricP99 && ch.value > worst[i]) {
				worst[i] = ch.value
				res.Worst, res.WorstAt = c.measured(ch.value), now.Milliseconds()
			}
			if ch.breached {
				res.Breached = true
				r.halt(&Stop{Reason: StoppedByCondition, Condition: c.String(), Measured: c.measured(ch.value), Requests: ch.n})
				return
			}
		}
	}
}

// cutPhases ends the phase a stop interrupted at the stop and marks the later ones as not
// run.
func (r *run) cutPhases() {
	s := r.rep.Stop
	if s == nil {
		return
	}
	at := time.Duration(s.AtMs) * time.Millisecond
	cur := int(r.phase.Load())
	if r.start.IsZero() {
		cur = -1 // stopped before the traffic began: no phase ran
	}
	for i := range r.rep.Phases {
		p := &r.rep.Phases[i]
		switch {
		case i == cur && p.end == 0:
			p.end = at
		case i > cur:
			p.NotRun, p.start, p.end = true, at, at
		}
	}
}

// plan lays the schedule out as phases: a baseline, each step followed by a healed
// interval, and a final healed phase.
func plan(steps []Step) []Phase {
	ps := []Phase{{Name: "baseline", Kind: "baseline", FailsOver: true, Expect: "healthy: the primary serves every origin fetch"}}
	for _, s := range steps {
		f := s.Fault
		ps = append(ps,
			Phase{Name: s.Name, Kind: "fault", Fault: &f, FailsOver: s.FailsOver, Expect: s.Expect},
			Phase{Name: "healed after " + s.Name, Kind: "healed", FailsOver: true, Expect: "healed: origin fetches return to the primary"})
	}
	return append(ps, Phase{Name: "final", Kind: "final", FailsOver: true, Expect: "healed; then both regions must converge"})
}

func newRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *run) since() time.Duration { return r.opts.Now().Sub(r.start) }

func (r *run) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

func (r *run) progress(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "[%5.1fs] "+format+"\n", append([]any{r.since().Seconds()}, args...)...)
	}
}

func (r *run) healAll(ctx context.Context) error {
	var errs []error
	for _, reg := range r.opts.Regions {
		if err := r.opts.Switch.Heal(ctx, reg.Name); err != nil {
			errs = append(errs, fmt.Errorf("heal %s: %w", reg.Name, err))
		}
	}
	return errors.Join(errs...)
}

// assetLinks returns the same-origin asset paths a page links (src and href attributes with
// a file extension), each once, in order of appearance.
func assetLinks(page []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range assetRE.FindAllSubmatch(page, -1) {
		p := string(m[1])
		if !seen[p] && !strings.HasPrefix(p, "//") {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

var assetRE = regexp.MustCompile(`(?:src|href)="(/[^"?#]+\.(?:js|css|svg|png|ico|webmanifest|woff2?|json|txt))(?:[?#][^"]*)?"`)

// prepare learns what the site holds (pages, the assets the home page links, their bytes),
// whether the API is there, and uploads the probe objects.
func (r *run) prepare(ctx context.Context) error {
	if (r.opts.Control != "" || r.opts.OnAWS) && r.opts.DistributionID != "" {
		cf, err := build.NewCloudFrontClient(ctx, r.opts.Control)
		if err != nil {
			return err
		}
		r.cf = cf
	} else {
		r.note("no CloudFront endpoint or distribution id: nothing was invalidated, so pages and assets mostly came from the edge cache")
	}
	r.invalidate(ctx)

	home := r.send(ctx, http.MethodGet, "/", nil, nil)
	if home.err != nil || home.status != http.StatusOK {
		return fmt.Errorf("the edge at %s does not serve the site (GET / = %d %v): run `twinedge up` or `twinedge release` first", r.opts.Edge, home.status, home.err)
	}
	r.sums["/"] = sha256.Sum256(home.body)
	r.pages = []string{"/"}
	for _, p := range append(site.Routes(), "/index.html") {
		if p == "/" {
			continue
		}
		res := r.send(ctx, http.MethodGet, p, nil, nil)
		if res.err == nil && res.status == http.StatusOK {
			r.sums[p] = sha256.Sum256(res.body)
			r.pages = append(r.pages, p)
		}
	}
	for _, p := range assetLinks(home.body) {
		res := r.send(ctx, http.MethodGet, p, nil, nil)
		if res.err == nil && res.status == http.StatusOK {
			r.sums[p] = sha256.Sum256(res.body)
			r.assets = append(r.assets, p)
		}
	}
	if len(r.assets) == 0 {
		r.assets = r.pages
		r.note("the home page links no asset the drill could fetch; asset requests load pages instead")
	}

	r.api, r.rep.API.Note = r.checkAPI(ctx)
	r.rep.API.Measured = r.api
	r.rep.Writes.Measured = r.api
	if !r.api {
		r.rep.Writes.Note = "not measured: " + r.rep.API.Note
	}

	if !r.opts.NoProbes {
		n := int(r.opts.Rate*r.opts.Duration.Seconds()*share(KindProbe)*1.1) + 16
		ps, err := uploadProbes(ctx, r.opts.Regions, r.id, min(n, maxProbes))
		if err != nil {
			r.note("probe objects could not be uploaded (%v): probe requests load pages instead", err)
		} else {
			r.probes = ps
			r.rep.Probes = len(ps.keys)
			for i, k := range ps.keys {
				r.sums["/"+k] = ps.sums[i]
			}
		}
	}
	return nil
}

// checkAPI asks the edge's /api/health whether the API is there: it answers JSON naming a
// region. Without an API origin the path falls to the site's SPA rewrite (HTML) or an error.
func (r *run) checkAPI(ctx context.Context) (bool, string) {
	res := r.send(ctx, http.MethodGet, "/api/health", nil, nil)
	if res.err != nil {
		return false, fmt.Sprintf("GET /api/health failed: %v", res.err)
	}
	ct, _, _ := mime.ParseMediaType(res.header.Get("Content-Type"))
	var body struct {
		Region string `json:"region"`
	}
	if res.status != http.StatusOK || ct != "application/json" || json.Unmarshal(res.body, &body) != nil || body.Region == "" {
		return false, fmt.Sprintf("the world has no API yet (GET /api/health answered %d %s)", res.status, ct)
	}
	return true, ""
}

func (r *run) invalidate(ctx context.Context) {
	if r.cf == nil || ctx.Err() != nil {
		return
	}
	n := r.invN.Add(1)
	_, err := r.cf.CreateInvalidation(ctx, &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(r.opts.DistributionID),
		InvalidationBatch: &cftypes.InvalidationBatch{
			CallerReference: aws.String(fmt.Sprintf("twinedge-drill-%s-%d", r.id, n)),
			Paths:           &cftypes.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}},
		},
	})
	if err != nil {
		r.invN.Add(-1)
		r.note("invalidation %d failed: %v", n, err)
	}
}

// schedule walks the phases on a fixed clock (boundaries are planned from the start, so a
// slow fault switch does not stretch the drill) and applies each fault and heal.
func (r *run) schedule(ctx context.Context) error {
	steps := len(r.opts.Schedule)
	unit := r.opts.Duration / time.Duration(steps+2)
	faultLen := unit * 3 / 4
	at := time.Duration(0)
	wait := func(d time.Duration) error {
		at += d
		t := time.NewTimer(at - r.since())
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	begin := func(i int) {
		now := r.since()
		if i > 0 {
			r.rep.Phases[i-1].end = now
		}
		r.rep.Phases[i].start = now
		r.phase.Store(int32(i))
		r.setStage(r.rep.Phases[i].Name)
	}

	begin(0)
	r.progress("baseline")
	if err := wait(unit); err != nil {
		return err
	}
	for s, step := range r.opts.Schedule {
		fi := 1 + 2*s
		// Requests started while the fault is being set count for the fault phase, and
		// those started while it is being healed too: the healed phase starts healed.
		begin(fi)
		r.progress("fail %s", step.Fault)
		if err := r.opts.Switch.Fail(ctx, step.Fault); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // stopped while the fault was being set: the stop heals
			}
			r.rep.Phases[fi].NotApplied = err.Error()
			r.progress("  not applied: %v", err)
		} else {
			// Time to failover counts from here: the switch has set the fault.
			r.rep.Phases[fi].applied = r.since()
		}
		r.invalidate(ctx)
		if err := wait(faultLen); err != nil {
			return err
		}
		if err := r.opts.Switch.Heal(ctx, step.Fault.Region); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("heal %s after %s: %w", step.Fault.Region, step.Name, err)
		}
		// Time to recovery counts from here.
		r.rep.Phases[fi].healed = r.since()
		// The clock does not wait for the switch: a slow one (a loaded machine, AWS's
		// function update) eats into the fault, which the report must say.
		if p := &r.rep.Phases[fi]; p.applied > 0 && p.healed-p.applied < faultLen/2 {
			r.note("phase %s: the fault held %s of its planned %s (setting it took %s): lengthen --duration", p.Name,
				(p.healed - p.applied).Round(time.Millisecond), faultLen.Round(time.Millisecond), (p.applied - p.start).Round(time.Millisecond))
		}
		begin(fi + 1)
		r.progress("healed")
		r.invalidate(ctx)
		if err := wait(unit - faultLen); err != nil {
			return err
		}
	}
	last := len(r.rep.Phases) - 1
	begin(last)
	r.progress("final")
	if err := wait(unit); err != nil {
		return err
	}
	r.rep.Phases[last].end = r.since()
	return nil
}

// traffic starts requests at the configured rate until tctx ends. Each request runs under
// rctx, so the ones in flight when the drill stops still finish and are counted.
func (r *run) traffic(tctx, rctx context.Context) {
	interval := time.Duration(float64(time.Second) / r.opts.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-tctx.Done():
			return
		case <-tick.C:
		}
		kind := r.kindFor(mix[i%len(mix)])
		if kind == "" {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			r.saturated.Add(1)
			continue
		}
		phase := int(r.phase.Load())
		at := r.since()
		id := r.mon.begin(at)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok, dropped := r.one(rctx, kind, phase, at)
			r.mon.end(id, r.since(), ok, dropped)
		}()
	}
}

// kindFor substitutes what the target cannot serve: no API means no API requests, no
// probes means pages instead.
func (r *run) kindFor(k Kind) Kind {
	switch {
	case !r.api && (k == KindAPIRead || k == KindAPIHealth || k == KindWrite):
		return ""
	case k == KindProbe && r.probes == nil:
		return KindPage
	}
	return k
}

// one makes one viewer operation (a GET, or a write with its pinned retry) and records
// it. It reports whether the operation succeeded for the viewer, and dropped when the
// drill itself cut it short (at --max-duration): such an operation is not recorded, since
// it says nothing about the edge.
func (r *run) one(ctx context.Context, kind Kind, phase int, at time.Duration) (ok, dropped bool) {
	var out []Sample
	switch kind {
	case KindPage:
		p := r.pages[int(r.pageN.Add(1)-1)%len(r.pages)]
		out = append(out, r.site(ctx, kind, p, at))
	case KindAsset:
		p := r.assets[int(r.assetN.Add(1)-1)%len(r.assets)]
		out = append(out, r.site(ctx, kind, p, at))
	case KindProbe:
		p := "/" + r.probes.keys[int(r.probeN.Add(1)-1)%len(r.probes.keys)]
		out = append(out, r.site(ctx, kind, p, at))
	case KindAPIRead:
		out = append(out, r.apiRead(ctx, kind, "/api/messages?limit=20", at))
	case KindAPIHealth:
		out = append(out, r.apiRead(ctx, kind, "/api/health", at))
	case KindWrite:
		samples, rec := r.write(ctx, int(r.writeN.Add(1)), at)
		if cut(ctx, samples) {
			return false, true
		}
		phase = r.phaseFor(phase)
		rec.Phase = phase
		for i := range samples {
			samples[i].Phase = phase
		}
		r.mu.Lock()
		r.writes = append(r.writes, rec)
		r.samples = append(r.samples, samples...)
		r.mu.Unlock()
		return rec.Accepted, false
	}
	if cut(ctx, out) {
		return false, true
	}
	phase = r.phaseFor(phase)
	for i := range out {
		out[i].Phase = phase
		ok = out[i].OK
	}
	r.mu.Lock()
	r.samples = append(r.samples, out...)
	r.mu.Unlock()
	return ok, false
}

// cut reports whether the drill's own context cut one of the samples short.
func cut(ctx context.Context, samples []Sample) bool {
	if ctx.Err() == nil {
		return false
	}
	for _, s := range samples {
		if s.Outcome == "cancelled" {
			return true
		}
	}
	return false
}

// phaseFor is the phase a finished request belongs to: the one it started in, unless it
// started healthy and a fault phase began while it was in flight. Then the request
// overlapped that fault (a body can be cut by a truncate set while it streams), and it is
// counted there, not against the healthy phase it started in.
func (r *run) phaseFor(started int) int {
	if r.rep.Phases[started].Kind == "fault" {
		return started
	}
	now := int(r.phase.Load())
	for p := started + 1; p <= now && p < len(r.rep.Phases); p++ {
		if r.rep.Phases[p].Kind == "fault" {
			return p
		}
	}
	return started
}
