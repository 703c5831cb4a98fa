package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Release publishes the site described by opts.Source to every target bucket and
// invalidates what changed, in an order that never breaks the site mid-release:
//
//  1. plan: one listing per bucket plus the last release record; the plan is data,
//     printed by a dry run, which then stops;
//  2. assets (content-hashed files and new non-HTML files) to all buckets at once,
//     opts.Concurrency requests per bucket, each verified (Content-MD5 and ETag);
//  3. pages (HTML and other changed mutable files): secondary buckets first, the
//     primary last, each live file copied to the record bucket before it is overwritten;
//  4. deletes of keys no kept release references, already checked against MaxDeletes;
//  5. one invalidation of the changed cached paths, then the release record, then the
//     wait for the invalidation to complete.
//
// Any error in 2 or 3 stops the release before further pages and before any delete;
// the returned *ReleaseError says what each bucket serves. Re-running the same release
// completes it: its id, and so its invalidation's CallerReference, is unchanged.
// The Report is returned with the error when one was built.
func Release(ctx context.Context, opts Options) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	src := o.Source
	if src.Dir == "" {
		return nil, errors.New("release needs a site directory")
	}
	started := time.Now()
	if src.Build != nil {
		if err := src.Build(src.Dir); err != nil {
			return nil, fmt.Errorf("build site into %s: %w", src.Dir, err)
		}
	}
	r := &run{o: o, kind: "release", routes: o.Routes, source: src.Dir, content: dirContent{dir: src.Dir, parts: new(partDigests)}, started: started}
	if src.Build != nil {
		r.timed("build", "", r.started)
	}
	r.load = func() error {
		if src.Static {
			files, cfg, err := scanStatic(src.Dir, src.Config)
			if err != nil {
				return err
			}
			r.files = files
			r.routes = append(append([]string(nil), r.routes...), cfg.Routes...)
			return nil
		}
		m, err := loadBuiltSite(src.Dir)
		if err != nil {
			return err
		}
		r.files = m.Files
		return nil
	}
	load := r.load
	r.load = func() error {
		if err := load(); err != nil {
			return err
		}
		return r.loadRedirects(src.Dir)
	}
	return r.do(ctx)
}

// content supplies the bytes of planned uploads.
type content interface {
	// available reports, at plan time, whether f can be written to t.
	available(t *Target, rs *recordStore, f File) error
	// put writes f to t for the release (or rollback) with id release, which the
	// object carries as x-amz-meta-release. done is called with the bytes stored as
	// they are (the whole file at once, or part by part).
	put(ctx context.Context, t *Target, rs *recordStore, f File, release string, done func(int64)) error
}

// dirContent uploads files from a built site directory.
type dirContent struct {
	dir   string
	parts *partDigests // of large files, shared by the regions
}

func (d dirContent) available(*Target, *recordStore, File) error { return nil }

func (d dirContent) put(ctx context.Context, t *Target, _ *recordStore, f File, release string, done func(int64)) error {
	fh, err := os.Open(filepath.Join(d.dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return err
	}
	defer fh.Close()
	if f.Size >= multipartThreshold {
		return putMultipart(ctx, t, f, fh, d.parts, release, done)
	}
	var body io.ReadSeeker = fh
	if f.Size <= memoryBodyMax {
		// The SDK seeks a body to learn its length and to rewind it (five lseeks per PUT
		// of a file); a small file is read into memory in one read instead. The bytes
		// are the first f.Size of the file, what Content-Length sends of a file too, and
		// Content-MD5 (from the manifest) still makes S3 refuse them if the file changed.
		b := make([]byte, f.Size)
		if _, err := io.ReadFull(fh, b); err != nil {
			return fmt.Errorf("read %s: %w", f.Path, err)
		}
		body = bytes.NewReader(b)
	}
	if err := putObject(ctx, t, f, body, release); err != nil {
		return err
	}
	done(f.Size)
	return nil
}

// memoryBodyMax is the largest file a PUT sends from memory: with Concurrency (32)
// requests per bucket and two buckets, at most 16 MiB of bodies are held at once.
const memoryBodyMax = 256 << 10

// run is one release or rollback in progress.
type run struct {
	o     Options
	kind  string // "release" or "rollback"
	of    string // for a rollback: the release restored
	files []File // the desired site, sorted by path
	// load, when set, fills files (and routes); it runs while the buckets are read.
	load    func() error
	routes  []string
	source  string
	content content
	// redirects are the rules the run serves (redirectstore.go), and redirectPlan the
	// change of the redirect store; nil without Options.Redirects.
	redirects    []Redirect
	redirectPlan *redirectPlan

	prog     *progress
	stores   []*recordStore
	states   []*bucketState
	plans    []BucketPlan
	parent   string
	prev     []File // files of the live release (the parent), for invalidation
	id       string
	paths    []string
	started  time.Time
	rep      *Report
	guardErr error // the plan deletes more than MaxDeletes allows
	// uploaded counts the PUTs and copies done, for the report of a stopped release.
	uploaded, uploadedBytes atomic.Int64
	phases                  struct {
		sync.Mutex
		list []PhaseTime
	}
	progress struct {
		sync.Mutex
		assetsDone, pagesStarted, pagesDone []bool
	}
}

// timed records that phase (in region, or "" for all) ran from start until now.
func (r *run) timed(phase, region string, start time.Time) {
	d := time.Since(start)
	r.phases.Lock()
	r.phases.list = append(r.phases.list, PhaseTime{Phase: phase, Region: region, MS: float64(d.Microseconds()) / 1000})
	r.phases.Unlock()
	r.o.Logger.Debug("phase done", "phase", phase, "region", region, "took", d)
}

func (r *run) do(ctx context.Context) (*Report, error) {
	o := r.o
	if r.started.IsZero() {
		r.started = time.Now()
	}
	planned := time.Now()
	r.prog = newProgress(o.Progress)
	// The distribution check and the buckets' state are independent reads: both at once.
	var warnings []string
	g, gctx := errgroup.WithContext(ctx)
	if o.CloudFront != nil {
		g.Go(func() (err error) {
			warnings, err = checkDistribution(gctx, o.CloudFront, o.DistributionID, o.Targets)
			return err
		})
	}
	g.Go(func() error { return r.gather(gctx) })
	g.Go(func() error { return r.readRedirectStore(gctx) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := r.plan(ctx); err != nil {
		return nil, err
	}
	r.timed("plan", "", planned)
	rep := r.report()
	rep.Warnings = append(warnings, rep.Warnings...)
	for _, rs := range r.stores {
		rep.Warnings = append(rep.Warnings, rs.warnings...)
	}
	r.rep = rep
	if r.guardErr != nil && !o.DryRun {
		rep.stoppedBefore("the release was stopped by the delete guard")
	}
	if o.DryRun && !rep.Unchanged {
		for i := range o.Targets {
			if w := lockWarning(ctx, &o.Targets[i], o.Now()); w != "" {
				rep.Warnings = append(rep.Warnings, w)
			}
		}
	}
	if rep.Unchanged || o.DryRun || r.guardErr != nil {
		// A dry run over the delete guard prints its plan, then fails like the release would.
		return rep, r.output(r.guardErr)
	}
	err := r.execute(ctx)
	rep.Uploaded, rep.Bytes = int(r.uploaded.Load()), r.uploadedBytes.Load()
	if errors.Is(err, ErrLocked) {
		rep.stoppedBefore("another release holds the lock")
	}
	return rep, r.output(err)
}

// gather reads every bucket's listing and records, all regions at once, and meanwhile
// r.load (the hashing of the site) when set: the plan needs both, neither needs the
// other.
func (r *run) gather(ctx context.Context) error {
	n := len(r.o.Targets)
	r.stores = make([]*recordStore, n)
	r.states = make([]*bucketState, n)
	lasts := make([]*Record, n)
	cache := &recordCache{}
	g, gctx := errgroup.WithContext(ctx)
	if r.load != nil {
		g.Go(func() error {
			hashed := time.Now()
			if err := r.load(); err != nil {
				return err
			}
			r.timed("hash", "", hashed)
			return nil
		})
	}
	for i := range r.o.Targets {
		t := &r.o.Targets[i]
		g.Go(func() error {
			// The site bucket's listing and the record bucket's are independent.
			var objs map[string]remoteObject
			lg, lctx := errgroup.WithContext(gctx)
			lg.Go(func() (err error) {
				objs, err = listObjects(lctx, t.Client, t.Bucket, t.Prefix)
				return err
			})
			var rs *recordStore
			lg.Go(func() (err error) {
				if rs, err = openRecords(lctx, t); err != nil {
					return fmt.Errorf("%s (%s): %w", t.Bucket, t.Region, err)
				}
				rs.cache = cache
				return nil
			})
			if err := lg.Wait(); err != nil {
				return err
			}
			var recs []*Record
			var refs []recordRef
			var pend *pendingRelease
			lg, lctx = errgroup.WithContext(gctx)
			lg.Go(func() (err error) {
				recs, refs, err = rs.latest(lctx, max(r.o.Keep-1, 1))
				return err
			})
			lg.Go(func() (err error) {
				pend, err = rs.readPending(lctx)
				return err
			})
			if err := lg.Wait(); err != nil {
				return err
			}
			st := &bucketState{objects: objs, keep: map[string]bool{}, blobs: rs.blobs, heads: map[string]headMeta{}, untrusted: map[string]bool{}}
			if len(recs) > 0 {
				st.last, st.lastStored = recs[0], refs[0].Stored
				lasts[i] = recs[0]
			}
			st.detectOpaqueETags()
			if pend != nil && (st.last == nil || pend.ID != st.last.ID) {
				st.interrupted, st.pendingKeys = pend.ID, pend.Keys
				for _, k := range pend.Keys {
					st.untrusted[k] = true
				}
			}
			for j, rec := range recs {
				if j >= r.o.Keep-1 {
					break
				}
				st.keptRecs = append(st.keptRecs, rec)
				for _, f := range rec.Files {
					st.keep[f.Path] = true
				}
			}
			r.stores[i], r.states[i] = rs, st
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, l := range lasts {
		if l != nil {
			r.parent, r.prev = l.ID, l.Files
			break
		}
	}
	return nil
}

// plan fills r.plans and r.paths and checks the delete guard.
func (r *run) plan(ctx context.Context) error {
	o := r.o
	r.id = releaseID(r.parent, r.kind, r.files, r.redirects)
	for _, st := range r.states {
		if st.interrupted != r.id {
			st.planRecovery()
		}
	}
	// HEAD the keys no record vouches for, bounded per bucket, all buckets at once.
	g, gctx := errgroup.WithContext(ctx)
	for i := range o.Targets {
		t, st := &o.Targets[i], r.states[i]
		keys := st.needsHead(r.files)
		var mu sync.Mutex
		bg := &errgroup.Group{}
		bg.SetLimit(o.Concurrency)
		g.Go(func() error {
			for _, k := range keys {
				bg.Go(func() error {
					m, ok, err := headObject(gctx, t, k)
					if ok {
						mu.Lock()
						st.heads[k] = m
						mu.Unlock()
					}
					return err
				})
			}
			return bg.Wait()
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	r.plans = make([]BucketPlan, len(o.Targets))
	for i := range o.Targets {
		t := &o.Targets[i]
		r.plans[i] = planBucket(t, r.files, r.states[i])
		for _, u := range r.plans[i].Uploads {
			if err := r.content.available(t, r.stores[i], u.file); err != nil {
				return err
			}
		}
		if o.MaxDeletes >= 0 && len(r.plans[i].Deletes) > o.MaxDeletes && r.guardErr == nil {
			r.guardErr = fmt.Errorf("%s %s would delete %d objects from %s (%s), more than --max-deletes %d; nothing was changed (raise --max-deletes if that is intended): %w",
				r.kind, r.id, len(r.plans[i].Deletes), t.Bucket, t.Region, o.MaxDeletes, ErrTooManyDeletes)
		}
	}
	redirectPaths, err := r.planRedirects()
	if err != nil {
		return err
	}
	r.paths = mergePaths(invalidationPaths(r.changedKeys(), r.routes), redirectPaths)
	if o.CloudFront != nil && len(r.paths) > o.InvalidationBudget {
		paths, wild, err := inFlight(ctx, o.CloudFront, o.DistributionID)
		if err != nil {
			return err
		}
		r.paths = collapse(r.paths, o.InvalidationBudget, max(maxWildcardsInProgress-wild, 0), max(maxPathsInProgress-paths, 1))
	} else {
		r.paths = collapse(r.paths, o.InvalidationBudget, maxWildcardsInProgress, maxPathsInProgress)
	}
	return nil
}

// changedKeys lists the keys whose cached copies at the edge are stale after this
// release: changed against the live release's record, re-uploaded because a bucket
// held something else (drift, or a release that stopped part way), or deleted while
// still cacheable. A new key was never served, so it needs no invalidation.
func (r *run) changedKeys() []string {
	set := map[string]bool{}
	for _, f := range r.files {
		if p, ok := findFile(r.prev, f.Path); ok && (p.SHA256 != f.SHA256 || headersHash(p) != headersHash(f)) {
			set[f.Path] = true
		}
	}
	for _, p := range r.plans {
		for _, u := range p.Uploads {
			if u.Reason != ReasonNew {
				set[u.Path] = true
			}
		}
		// The interrupted release's pages may be cached: what replaces them is news.
		for _, k := range p.Recover {
			set[k] = true
		}
		for _, d := range p.Deletes {
			if f, ok := findFile(r.prev, d); ok && isImmutable(f.CacheControl) || !ok && hashedName(path.Base(d)) {
				continue
			}
			set[d] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// report builds the report of the plan.
func (r *run) report() *Report {
	rep := &Report{ReleaseID: r.id, Previous: r.parent, Kind: r.kind, RollbackTo: r.of, DryRun: r.o.DryRun,
		InvalidationPaths: r.paths, InvalidationCostUSD: pathsCostUSD(r.paths)}
	if rep.InvalidationPaths == nil {
		rep.InvalidationPaths = []string{}
	}
	unchanged := len(r.paths) == 0
	digest := manifestDigest(r.files)
	for i, p := range r.plans {
		rep.Buckets = append(rep.Buckets, BucketReport{BucketPlan: p})
		rep.Uploaded += len(p.Uploads)
		rep.Deleted += len(p.Deletes)
		rep.Skipped += p.Skipped
		rep.Bytes += p.Bytes()
		last := r.states[i].last
		if len(p.Uploads) > 0 || len(p.Deletes) > 0 || len(p.Recover) > 0 || last == nil || manifestDigest(last.Files) != digest {
			unchanged = false
		}
		if st := r.states[i]; len(p.Recover) > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("release %s stopped part way in %s (%s), which serves some of its pages: %d pages of release %s are restored there before anything else",
				st.interrupted, p.Region, p.Bucket, len(p.Recover), st.last.ID))
		}
	}
	if rep.Redirects = r.redirectReport(); !r.redirectPlan.empty() || len(r.states) > 0 && r.states[0].last != nil && redirectsDigest(r.states[0].last.Redirects) != redirectsDigest(r.redirects) {
		unchanged = false
	}
	if unchanged && r.kind == "release" {
		rep.Unchanged = true
		rep.ReleaseID = r.parent
		rep.Previous = ""
		for i := range rep.Buckets {
			rep.Buckets[i].State = "unchanged"
		}
	}
	if r.o.CloudFront == nil && len(r.paths) > 0 {
		rep.Warnings = append(rep.Warnings, "no CloudFront client: nothing will be invalidated")
	}
	return rep
}

// output writes the report to Out and finishes it with err.
func (r *run) output(err error) error {
	r.rep.DurationMS = time.Since(r.started).Milliseconds()
	r.phases.Lock()
	r.rep.Phases = append([]PhaseTime{}, r.phases.list...)
	r.phases.Unlock()
	if err != nil {
		r.rep.Error = err.Error()
	}
	if r.o.Out != nil {
		var werr error
		if r.o.JSON {
			werr = r.rep.WriteJSON(r.o.Out)
		} else {
			werr = r.rep.WriteText(r.o.Out)
		}
		if err == nil && werr != nil {
			err = fmt.Errorf("write report: %w", werr)
		}
	}
	return err
}

// execute carries out the plan.
func (r *run) execute(ctx context.Context) error {
	o, rep := r.o, r.rep
	n := len(o.Targets)
	r.progress.assetsDone = make([]bool, n)
	r.progress.pagesStarted = make([]bool, n)
	r.progress.pagesDone = make([]bool, n)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	locked := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for _, rs := range r.stores {
		g.Go(func() error { return rs.ensureBucket(gctx) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%s %s: nothing was changed: %w", r.kind, r.id, err)
	}
	unlock, err := r.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.writePending(ctx); err != nil {
		return err
	}
	r.timed("lock", "", locked)
	if err := r.recoverPages(ctx); err != nil {
		return fmt.Errorf("%s %s: nothing of it was uploaded: %w", r.kind, r.id, err)
	}
	if err := r.upload(ctx, PhaseAssets, all); err != nil {
		return r.stopped(PhaseAssets, err)
	}
	// The assets are verified by now: S3 checked each body against its Content-MD5 and
	// putObject the returned ETag, and S3 is strongly consistent (read-after-write for
	// PUTs and lists since December 2020), so a second listing would prove nothing more.
	// Secondaries first: while the primary still serves the previous release, a viewer
	// failed over to a secondary already gets the new one, complete with its assets.
	if n > 1 {
		if err := r.upload(ctx, PhasePages, all[1:]); err != nil {
			return r.stopped(PhasePages, err)
		}
	}
	if err := r.upload(ctx, PhasePages, all[:1]); err != nil {
		return r.stopped(PhasePages, err)
	}
	for i := range rep.Buckets {
		rep.Buckets[i].State = describeState(true, true, true)
	}
	// The redirects go live once every page they may point at is in place, and before
	// the deletes (redirectstore.go).
	if err := r.applyRedirects(ctx); err != nil {
		return r.stopped(PhaseRedirects, err)
	}

	var errs []error
	deleted := time.Now()
	if err := r.deletes(ctx); err != nil {
		errs = append(errs, err)
	}
	r.pruneCopies(ctx)
	r.timed("deletes", "", deleted)
	if o.CloudFront != nil && len(r.paths) > 0 {
		invalidated := time.Now()
		deadline := time.Now().Add(max(o.WaitTimeout, defaultWaitTimeout))
		id, err := createInvalidation(ctx, o.CloudFront, o.DistributionID, callerReference(r.id, r.paths), r.paths, deadline,
			func(s string) { r.prog.line("invalidate: %s", s) })
		if err != nil {
			// No record: a re-run is the same release and sends the same invalidation.
			return errors.Join(append(errs, fmt.Errorf("release %s is uploaded but not invalidated (re-run to invalidate): %w", r.id, err))...)
		}
		rep.InvalidationID, rep.InvalidationStatus = id, "InProgress"
		r.prog.line("invalidate: %s created for %d paths", id, len(r.paths))
		r.timed("invalidate", "", invalidated)
	}
	recorded := time.Now()
	if err := r.writeRecords(ctx); err != nil {
		errs = append(errs, err)
	} else {
		r.pruneRecords(ctx)
	}
	// The release is complete; waiting for the invalidation needs no lock.
	unlock()
	r.timed("records", "", recorded)
	if rep.InvalidationID != "" && o.WaitTimeout > 0 {
		waited := time.Now()
		defer r.timed("wait", "", waited)
		err := waitInvalidation(ctx, o.CloudFront, o.DistributionID, rep.InvalidationID, o.WaitTimeout,
			func(s string) { r.prog.line("invalidate: %s", s) })
		switch {
		case err == nil:
			rep.InvalidationStatus = "Completed"
		case errors.Is(err, errWaitTimeout):
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("invalidation %s still in progress after %s; the files are live, cached copies expire as it completes", rep.InvalidationID, o.WaitTimeout))
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopped builds the error of a release that stopped in phase.
func (r *run) stopped(phase string, err error) error {
	e := &ReleaseError{ReleaseID: r.id, Phase: phase, Err: err}
	r.progress.Lock()
	defer r.progress.Unlock()
	for i, t := range r.o.Targets {
		s := describeState(r.progress.assetsDone[i], r.progress.pagesStarted[i], r.progress.pagesDone[i])
		if len(r.plans[i].Uploads) == 0 {
			s = "unchanged"
		}
		r.rep.Buckets[i].State = s
		e.States = append(e.States, fmt.Sprintf("%s (%s): %s", t.Region, t.Bucket, s))
	}
	// The counters say what was planned; a stopped release did not do all of it.
	r.rep.Deleted = 0
	return e
}

// upload runs one phase on the buckets idxs at once, Concurrency requests per bucket.
// The first error cancels every bucket's remaining work.
func (r *run) upload(ctx context.Context, phase string, idxs []int) error {
	o := r.o
	names := make([]string, len(idxs))
	files := make([]int64, len(idxs))
	bytes := make([]int64, len(idxs))
	work := make([][]Upload, len(idxs))
	for j, i := range idxs {
		work[j] = r.plans[i].phase(phase)
		names[j] = o.Targets[i].Region
		files[j] = int64(len(work[j]))
		for _, u := range work[j] {
			bytes[j] += u.Size
		}
	}
	bars := r.prog.start(phase, names, files, bytes)
	defer r.prog.end()
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for j, i := range idxs {
		t, rs, st := &o.Targets[i], r.stores[i], r.plans[i]
		g.Go(func() error {
			if phase == PhasePages {
				r.progress.Lock()
				r.progress.pagesStarted[i] = len(work[j]) > 0
				r.progress.Unlock()
				if err := r.archive(gctx, rs, st.archive); err != nil {
					return err
				}
			}
			err := inWorkers(gctx, o.Concurrency, work[j], func(ctx context.Context, u Upload) error {
				if err := r.content.put(ctx, t, rs, u.file, r.id, func(n int64) { r.prog.add(bars[j], 0, n) }); err != nil {
					return err
				}
				r.prog.add(bars[j], 1, 0)
				r.uploaded.Add(1)
				r.uploadedBytes.Add(u.Size)
				o.Logger.Debug("uploaded", "bucket", t.Bucket, "key", u.Path, "reason", u.Reason)
				return nil
			})
			if err != nil {
				return err
			}
			r.timed(phase, t.Region, began)
			r.prog.finish(bars[j])
			r.progress.Lock()
			if phase == PhasePages {
				r.progress.pagesDone[i] = true
			} else {
				r.progress.assetsDone[i] = true
			}
			r.progress.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// inWorkers calls fn for every item, n at a time, and returns the first error, after
// which no further item starts. The n workers are long-lived goroutines rather than one
// per item: an SDK request runs through some fifty nested middleware calls, and a fresh
// goroutine grows (copies) its stack on every one of them.
func inWorkers[T any](ctx context.Context, n int, items []T, fn func(context.Context, T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range min(n, len(items)) {
		g.Go(func() error {
			for gctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= len(items) {
					return nil
				}
				if err := fn(gctx, items[k]); err != nil {
					return err
				}
			}
			return gctx.Err()
		})
	}
	return g.Wait()
}

// archive keeps rollback copies of the live files a pages phase will overwrite.
func (r *run) archive(ctx context.Context, rs *recordStore, keys map[string]string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.Concurrency)
	var mu sync.Mutex
	done := map[string]bool{}
	for key, sha := range keys {
		mu.Lock()
		dup := done[sha]
		done[sha] = true
		mu.Unlock()
		if dup {
			continue
		}
		g.Go(func() error { return rs.archive(gctx, key, sha) })
	}
	return g.Wait()
}

// deletes removes the planned keys from every bucket; per-key failures are reported.
func (r *run) deletes(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	r.rep.Deleted = 0
	g, gctx := errgroup.WithContext(ctx)
	for i := range r.o.Targets {
		t, keys := &r.o.Targets[i], r.plans[i].Deletes
		if len(keys) == 0 {
			continue
		}
		g.Go(func() error {
			deleted, failed, err := deleteKeys(gctx, t, keys)
			mu.Lock()
			defer mu.Unlock()
			r.rep.Deleted += len(deleted)
			if len(failed) > 0 {
				r.rep.Buckets[i].DeleteErrors = failed
				var first string
				for k, e := range failed {
					first = k + ": " + e
					break
				}
				errs = append(errs, fmt.Errorf("%d of %d deletes failed in %s (%s), for example %s", len(failed), len(keys), t.Bucket, t.Region, first))
			}
			if err != nil {
				errs = append(errs, err)
			}
			r.prog.line("delete: %s %d objects", t.Region, len(deleted))
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// pruneCopies deletes the rollback copies no kept release refers to: a rollback
// beyond the kept releases is refused anyway, because their assets are gone.
// Failures are warnings; the copies are retried next time.
func (r *run) pruneCopies(ctx context.Context) {
	for i, rs := range r.stores {
		used := map[string]bool{}
		for _, f := range r.files {
			used[f.SHA256] = true
		}
		for _, rec := range r.states[i].keptRecs {
			for _, f := range rec.Files {
				used[f.SHA256] = true
			}
		}
		var stale []string
		for sha := range rs.blobs {
			if !used[sha] {
				stale = append(stale, blobsDir+sha)
			}
		}
		if len(stale) == 0 {
			continue
		}
		sort.Strings(stale)
		t := rs.t
		deleted, failed, err := deleteIn(ctx, t.Client, t.RecordBucket, t.Region, t.Prefix, stale)
		r.rep.PrunedCopies += len(deleted)
		if err != nil || len(failed) > 0 {
			r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("%d old rollback copies in %s could not be deleted (%v); the next release retries", len(stale)-len(deleted), t.RecordBucket, err))
		}
	}
}

// pruneRecords deletes the records beyond the newest Options.History in every region.
// Failures are warnings; the next release retries.
func (r *run) pruneRecords(ctx context.Context) {
	for _, rs := range r.stores {
		// rs.refs is the listing before this release's record, oldest first.
		excess := len(rs.refs) + 1 - r.o.History
		if excess <= 0 {
			continue
		}
		keys := make([]string, 0, excess)
		for _, ref := range rs.refs[:excess] {
			keys = append(keys, ref.Key)
		}
		t := rs.t
		deleted, failed, err := deleteIn(ctx, t.Client, t.RecordBucket, t.Region, t.Prefix, keys)
		r.rep.PrunedRecords += len(deleted)
		if err != nil || len(failed) > 0 {
			r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("%d old release records in %s could not be deleted (%v); the next release retries", len(keys)-len(deleted), t.RecordBucket, err))
		}
	}
}

// recoverPages restores, in every region at once, the pages an interrupted release
// left (bucketState.planRecovery): copies back from the record bucket, deletes of the
// pages it added.
func (r *run) recoverPages(ctx context.Context) error {
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	work := false
	for i, st := range r.states {
		if len(st.restore) == 0 && len(st.drop) == 0 {
			continue
		}
		work = true
		t := &r.o.Targets[i]
		g.Go(func() error {
			cg, cctx := errgroup.WithContext(gctx)
			cg.SetLimit(r.o.Concurrency)
			for _, f := range st.restore {
				cg.Go(func() error { return copyObject(cctx, t, t.RecordBucket, t.Prefix+blobsDir+f.SHA256, f, st.last.ID) })
			}
			if err := cg.Wait(); err != nil {
				return err
			}
			if len(st.drop) > 0 {
				_, failed, err := deleteKeys(gctx, t, st.drop)
				if err != nil {
					return err
				}
				for k, e := range failed {
					return fmt.Errorf("remove %s, a page of interrupted release %s, from %s (%s): %s", k, st.interrupted, t.Bucket, t.Region, e)
				}
			}
			r.prog.line("recover: %s restored %d pages of release %s (interrupted release %s)", t.Region, len(st.restore)+len(st.drop), st.last.ID, st.interrupted)
			return nil
		})
	}
	if !work {
		return nil
	}
	defer r.timed("recover", "", began)
	return g.Wait()
}

// writePending announces the release in every region before anything changes. The
// keys are every key it may write: its uploads, and the pages it restores.
func (r *run) writePending(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for i, rs := range r.stores {
		p := &pendingRelease{ID: r.id, Keys: append([]string{}, r.plans[i].Recover...)}
		for _, u := range r.plans[i].Uploads {
			p.Keys = append(p.Keys, u.Path)
		}
		g.Go(func() error { return rs.writePending(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("%s %s: nothing was changed: %w", r.kind, r.id, err)
	}
	return nil
}

// writeRecords stores the release record in every region.
func (r *run) writeRecords(ctx context.Context) error {
	rec := &Record{ID: r.id, Parent: r.parent, Kind: r.kind, Of: r.of, Time: r.o.Now().UTC(), Source: r.source, Files: r.files, Redirects: r.redirects, Invalidation: r.rep.InvalidationID}
	// One encoding for every region: identical bytes, so identical ETags (recordCache).
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	var errs []error
	for _, rs := range r.stores {
		g.Go(func() error {
			if err := rs.write(gctx, rec, b); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("release %s is live, but %w (a later release re-checks its files with HEAD)", r.id, err))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}
