package build

import (
	"context"
	"errors"
	"fmt"
)

// Rollback restores a recorded release in every target bucket, without rebuilding:
// its pages and other mutable files are copied back, server-side, from the rollback
// copies kept in each region's record bucket, byte for byte and with the headers they
// were released with; its content-hashed assets are still in the buckets, because the
// last Options.Keep releases keep theirs. The restored paths are invalidated.
//
// id names the release (a unique prefix of at least 4 characters is enough); empty
// means the release before the live one, or more exactly the newest older release
// whose files differ from the live release's, so rolling back twice goes back twice
// only if the first rollback did not already land on that content.
// A rollback is recorded as a release of its own (Kind "rollback"), and the objects it
// copies back carry that rollback's id as x-amz-meta-release, not the id of the
// release they were first uploaded by: the copy replaces the metadata (copyObject),
// and the rollback's record, whose rollbackOf names the restored release, is what
// those objects now belong to. A viewer reading x-amz-meta-release from index.html
// thus sees that the rollback reached the bucket. Objects a rollback does not need
// to copy (assets still in place, pages that already match) keep the id of the
// release that wrote them. Options.Source is not used.
func Rollback(ctx context.Context, opts Options, id string) (*Report, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	target, err := findRollbackTarget(ctx, o, id)
	if err != nil {
		return nil, err
	}
	r := &run{o: o, kind: "rollback", of: target.ID, files: target.Files, redirects: target.Redirects, routes: o.Routes,
		source: "rollback to " + target.ID, content: blobContent{release: target.ID}}
	return r.do(ctx)
}

// findRollbackTarget reads the records of the first region that has them.
func findRollbackTarget(ctx context.Context, o Options, id string) (*Record, error) {
	rs, err := firstRecords(ctx, o)
	if err != nil || id != "" {
		return findIn(ctx, rs, err, id)
	}
	recs, _, err := rs.latest(ctx, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNoRecords // every record is unreadable
	}
	live := contentDigest(recs[0])
	for j := len(rs.refs) - 2; j >= 0; j-- {
		rec, err := rs.read(ctx, rs.refs[j])
		if errors.Is(err, errUnreadableRecord) {
			continue // not a release one can go back to
		}
		if err != nil {
			return nil, err
		}
		if contentDigest(rec) != live {
			return rec, nil
		}
	}
	return nil, fmt.Errorf("no release before %s to roll back to", recs[0].ID)
}

// contentDigest identifies what a release serves: its files and its redirects.
func contentDigest(rec *Record) string {
	return manifestDigest(rec.Files) + " " + redirectsDigest(rec.Redirects)
}

// findRecord reads release id (a prefix; empty: the newest) from the first region
// that has records.
func findRecord(ctx context.Context, o Options, id string) (*Record, error) {
	rs, err := firstRecords(ctx, o)
	return findIn(ctx, rs, err, id)
}

func findIn(ctx context.Context, rs *recordStore, err error, id string) (*Record, error) {
	if err != nil {
		return nil, err
	}
	if id != "" {
		return rs.find(ctx, id)
	}
	recs, _, err := rs.latest(ctx, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNoRecords // every record is unreadable
	}
	return recs[0], nil
}

// firstRecords opens the records of the first region that has any.
func firstRecords(ctx context.Context, o Options) (*recordStore, error) {
	var errs []error
	for i := range o.Targets {
		t := &o.Targets[i]
		rs, err := openRecords(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", t.RecordBucket, t.Region, err))
			continue
		}
		if len(rs.refs) > 0 {
			return rs, nil
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, errNoRecords
}

// blobContent writes files from the rollback copies in the record bucket.
type blobContent struct{ release string }

func (b blobContent) available(t *Target, rs *recordStore, f File) error {
	if rs.blobs[f.SHA256] {
		return nil
	}
	if isImmutable(f.CacheControl) {
		return fmt.Errorf("cannot roll back to %s: its asset %s is no longer in %s (%s); it is older than the releases kept, so release its source again instead",
			b.release, f.Path, t.Bucket, t.Region)
	}
	return fmt.Errorf("cannot roll back to %s: no copy of %s (sha256 %.12s) in %s (%s); release its source again instead",
		b.release, f.Path, f.SHA256, t.RecordBucket, t.Region)
}

func (b blobContent) put(ctx context.Context, t *Target, _ *recordStore, f File, release string, done func(int64)) error {
	if err := copyObject(ctx, t, t.RecordBucket, t.Prefix+blobsDir+f.SHA256, f, release); err != nil {
		return err
	}
	done(f.Size)
	return nil
}
