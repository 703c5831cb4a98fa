package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Two releases at once would interleave their uploads, and each would record itself as
// live. A release therefore holds a lock in every region's record bucket while it
// changes anything:
//
//	releases/lock.json   {"release", "holder", "acquired", "expires", "host", "pid"}
//
// It is taken after planning, so a dry run or an unchanged rebuild writes nothing, not
// even the lock. Taking it is an S3 conditional write (If-None-Match: *), which S3
// decides atomically: of two releases only one creates it. Regions are locked in the
// order of Targets, primary first, so two releases never each hold a region. A lock past
// its expiry, or one whose process ran on this machine and has exited, belongs to a
// release that died; it is replaced with If-Match on its ETag, so of two releases taking
// over a stale lock only one wins. Unlocking deletes the lock
// with If-Match on the ETag this release wrote, so a release whose lock was taken over
// never deletes the new holder's lock. (S3 conditional writes and deletes, in general
// purpose buckets: docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html
// and conditional-deletes.html; a delete with an ETag needs s3:GetObject too.)
//
// Once locked, the release checks that the newest record is still the one it planned
// from: a release that finished in between makes this one stop before changing anything.
const lockKey = recordsDir + "lock.json"

// defaultLockTTL bounds how long a lock outlives a release that died holding it.
const defaultLockTTL = 30 * time.Minute

// ErrLocked is wrapped by the error of a release that found another release holding
// the lock, or finishing while it planned. Nothing has been changed.
var ErrLocked = errors.New("another release is in progress")

// releaseLock is the content of the lock object.
type releaseLock struct {
	Release  string    `json:"release"`
	Holder   string    `json:"holder"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
	// Host and PID name the holding process, so a release on the same machine can tell
	// that the holder has exited (killed mid-release) without waiting for Expires.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
	// Boot and Started tell a live holder from a process that merely reuses its pid: the
	// machine's boot id, and the process's start time in clock ticks since that boot
	// (Linux: /proc/sys/kernel/random/boot_id and field 22 of /proc/PID/stat, proc(5)).
	// After a reboot every pid of the last boot is gone, whatever runs under it now.
	Boot    string `json:"boot,omitempty"`
	Started uint64 `json:"started,omitempty"`
}

// holderGone reports whether the lock's process ran on this machine and has exited: its
// pid is free, the machine has rebooted since, or the pid now names a process that started
// at another time.
func (lk releaseLock) holderGone() bool {
	host, err := os.Hostname()
	if err != nil || lk.Host == "" || lk.Host != host || lk.PID <= 0 {
		return false
	}
	if processGone(lk.PID) {
		return true
	}
	if boot := bootID(); lk.Boot != "" && boot != "" && lk.Boot != boot {
		return true
	}
	started, ok := processStarted(lk.PID)
	return lk.Started != 0 && ok && started != lk.Started
}

// heldLock is a lock this release wrote: the ETag is what unlocking matches.
type heldLock struct {
	t    *Target
	etag string
}

// newLock describes a lock for release id taken now by this process: user@host and pid.
func newLock(id string, now time.Time, ttl time.Duration) releaseLock {
	host, _ := os.Hostname()
	who := os.Getenv("USER")
	if who == "" {
		who = "unknown"
	}
	pid := os.Getpid()
	started, _ := processStarted(pid)
	return releaseLock{Release: id, Holder: fmt.Sprintf("%s@%s pid %d", who, host, pid),
		Acquired: now, Expires: now.Add(ttl), Host: host, PID: pid, Boot: bootID(), Started: started}
}

// lock takes the lock in every region, then checks nothing was released meanwhile. The
// returned unlock releases what was taken; it is safe to call once the release is done
// or has failed, and reports a failure to unlock as a warning.
func (r *run) lock(ctx context.Context) (unlock func(), err error) {
	o := r.o
	now := o.Now().UTC()
	lk := newLock(r.id, now, o.LockTTL)
	var held []heldLock
	unlock = func() {
		// A cancelled release still unlocks.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		// Every region at once: the order matters only for taking the locks.
		errs := make([]error, len(held))
		var wg sync.WaitGroup
		for i, h := range held {
			wg.Go(func() { errs[i] = releaseLockIn(uctx, h) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				r.rep.Warnings = append(r.rep.Warnings, err.Error())
			}
		}
		held = nil
	}
	for i := range o.Targets {
		t := &o.Targets[i]
		etag, warning, err := acquireLock(ctx, t, lk, now, o.BreakLock)
		if err != nil {
			unlock()
			return nil, fmt.Errorf("%s %s: nothing was changed: %w", r.kind, r.id, err)
		}
		if warning != "" {
			r.rep.Warnings = append(r.rep.Warnings, warning)
		}
		held = append(held, heldLock{t: t, etag: etag})
	}
	// The regions are checked at once; the first region's error, in Targets order, is
	// the one reported.
	errs := make([]error, len(r.stores))
	var wg sync.WaitGroup
	for i, rs := range r.stores {
		wg.Go(func() { errs[i] = r.recordedMeanwhile(ctx, &o.Targets[i], rs) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			unlock()
			return nil, err
		}
	}
	return unlock, nil
}

// recordedMeanwhile fails when t's newest record is not the one the release planned from.
func (r *run) recordedMeanwhile(ctx context.Context, t *Target, rs *recordStore) error {
	planned := ""
	if n := len(rs.refs); n > 0 {
		planned = rs.refs[n-1].Key
	}
	objs, err := listObjects(ctx, t.Client, t.RecordBucket, t.Prefix+recordsDir)
	if err != nil {
		return fmt.Errorf("%s %s: nothing was changed: %w", r.kind, r.id, err)
	}
	newest := ""
	for key := range objs {
		if ref, ok := parseRecordKey(recordsDir + key); ok && ref.Key > newest && !rs.unreadable[ref.Key] {
			newest = ref.Key
		}
	}
	if newest == planned {
		return nil
	}
	what := "the release records changed"
	if ref, ok := parseRecordKey(newest); ok {
		what = "release " + ref.ID + " was recorded"
	}
	return fmt.Errorf("%s %s: nothing was changed: %s in %s (%s) while this one was planned; run it again: %w",
		r.kind, r.id, what, t.RecordBucket, t.Region, ErrLocked)
}

// acquireLock creates the lock in t's record bucket, or takes over an expired one (any
// one with breakLock). It returns the ETag written, and a warning when it took over.
func acquireLock(ctx context.Context, t *Target, lk releaseLock, now time.Time, breakLock bool) (etag, warning string, err error) {
	body, err := json.Marshal(lk)
	if err != nil {
		return "", "", err
	}
	put := func(cond func(*s3.PutObjectInput)) (string, error) {
		return putBytes(ctx, t.Client, t.RecordBucket, t.Prefix+lockKey, "application/json", body, cond,
			func(in *s3.PutObjectInput) { in.CacheControl = aws.String("no-store") })
	}
	// A few rounds: the lock can vanish between a refused create and the read of it,
	// and S3 answers 409 ConditionalRequestConflict to a write racing another.
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", "", ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		etag, err := put(func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
		if err == nil {
			return etag, "", nil
		}
		if apiErrorCode(err) == "ConditionalRequestConflict" {
			continue
		}
		if apiErrorCode(err) != "PreconditionFailed" {
			return "", "", fmt.Errorf("take the release lock in %s (%s): %w", t.RecordBucket, t.Region, err)
		}
		cur, curETag, err := readLock(ctx, t)
		if isNotFound(err) {
			continue // released between the two calls: create it again
		}
		if err != nil {
			return "", "", err
		}
		gone := cur.holderGone()
		if now.Before(cur.Expires) && !breakLock && !gone {
			return "", "", fmt.Errorf("release %s (%s) holds the lock in %s (%s) since %s, until %s; wait for it, or pass --break-lock if it died: %w",
				cur.Release, cur.Holder, t.RecordBucket, t.Region, cur.Acquired.Format(time.RFC3339), cur.Expires.Format(time.RFC3339), ErrLocked)
		}
		etag, err = put(func(in *s3.PutObjectInput) { in.IfMatch = aws.String(curETag) })
		switch code := apiErrorCode(err); {
		case err == nil:
			why := "expired at " + cur.Expires.Format(time.RFC3339)
			switch {
			case gone && now.Before(cur.Expires):
				why = fmt.Sprintf("its process (pid %d on this machine) has exited (the pid is free, or reused since a reboot or by a newer process)", cur.PID)
			case breakLock && now.Before(cur.Expires):
				why = "broken with --break-lock"
			}
			return etag, fmt.Sprintf("took over the release lock in %s (%s) from release %s (%s): %s",
				t.RecordBucket, t.Region, cur.Release, cur.Holder, why), nil
		case code == "PreconditionFailed" || code == "ConditionalRequestConflict" || code == "NoSuchKey":
			continue // another release took it over, or it was released: look again
		default:
			return "", "", fmt.Errorf("take over the release lock in %s (%s): %w", t.RecordBucket, t.Region, err)
		}
	}
	return "", "", fmt.Errorf("the release lock in %s (%s) keeps changing hands: %w", t.RecordBucket, t.Region, ErrLocked)
}

// readLock reads the lock in t's record bucket with its ETag. A lock that cannot be
// decoded counts as one that expires defaultLockTTL after it was written.
func readLock(ctx context.Context, t *Target) (releaseLock, string, error) {
	b, out, err := getBytes(ctx, t.Client, t.RecordBucket, t.Prefix+lockKey)
	if isNotFound(err) {
		return releaseLock{}, "", err
	}
	if err != nil {
		return releaseLock{}, "", fmt.Errorf("read the release lock in %s (%s): %w", t.RecordBucket, t.Region, err)
	}
	var lk releaseLock
	if err := json.Unmarshal(b, &lk); err != nil || lk.Expires.IsZero() {
		written := aws.ToTime(out.LastModified)
		lk = releaseLock{Release: "unknown", Holder: "an unreadable lock", Acquired: written, Expires: written.Add(defaultLockTTL)}
	}
	return lk, aws.ToString(out.ETag), nil
}

// releaseLockIn deletes a lock this release holds, only if it is still the one written.
func releaseLockIn(ctx context.Context, h heldLock) error {
	_, err := h.t.Client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket:  aws.String(h.t.RecordBucket),
		Key:     aws.String(h.t.Prefix + lockKey),
		IfMatch: aws.String(h.etag),
	})
	switch code := apiErrorCode(err); {
	case err == nil, code == "NoSuchKey":
		return nil
	case code == "PreconditionFailed":
		return fmt.Errorf("the release lock in %s (%s) was taken over by another release while this one ran (it had expired); it is left to that release", h.t.RecordBucket, h.t.Region)
	default:
		return fmt.Errorf("the release lock in %s (%s) could not be released (%v); it expires by itself, or the next release can pass --break-lock", h.t.RecordBucket, h.t.Region, err)
	}
}

// lockWarning describes a lock found while planning a dry run, or "".
func lockWarning(ctx context.Context, t *Target, now time.Time) string {
	cur, _, err := readLock(ctx, t)
	if err != nil || !now.Before(cur.Expires) || cur.holderGone() {
		return ""
	}
	return fmt.Sprintf("release %s (%s) holds the lock in %s (%s) until %s: a release now would stop",
		cur.Release, cur.Holder, t.RecordBucket, t.Region, cur.Expires.Format(time.RFC3339))
}
