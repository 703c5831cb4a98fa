package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// recordBucket is the record bucket of target i as Options fills it in.
func (w *testWorld) recordBucket(i int) string {
	if b := w.targets[i].RecordBucket; b != "" {
		return b
	}
	return w.targets[i].Bucket + "-releases"
}

// plantLock stores a lock of another release in region i's record bucket, held by a
// process on another machine unless a host and pid are given.
func (w *testWorld) plantLock(t *testing.T, i int, expires time.Time, hostPID ...any) string {
	t.Helper()
	lk := releaseLock{Release: "0123456789ab", Holder: "ci@elsewhere pid 42", Acquired: expires.Add(-time.Hour), Expires: expires}
	if len(hostPID) == 2 {
		lk.Host, lk.PID = hostPID[0].(string), hostPID[1].(int)
	}
	body, _ := json.Marshal(lk)
	if _, err := w.raw[i].PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(w.recordBucket(i)),
		Key: aws.String(w.targets[i].Prefix + lockKey), Body: strings.NewReader(string(body))}); err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func (w *testWorld) removeLock(t *testing.T, i int) {
	t.Helper()
	if _, err := w.raw[i].DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(w.recordBucket(i)),
		Key: aws.String(w.targets[i].Prefix + lockKey)}); err != nil {
		t.Fatal(err)
	}
}

// assertUnlocked fails when a lock is left in any region.
func (w *testWorld) assertUnlocked(t *testing.T, when string) {
	t.Helper()
	for i := range w.targets {
		if hasObject(t, w.raw[i], w.recordBucket(i), w.targets[i].Prefix+lockKey) {
			t.Errorf("%s: a release lock is left in %s", when, w.recordBucket(i))
		}
	}
}

// assertLive checks every bucket serves version v's index.html.
func (w *testWorld) assertLive(t *testing.T, v, when string) {
	t.Helper()
	want := siteVersion(v)["index.html"].body
	for i, tg := range w.targets {
		if body, _ := getObject(t, w.raw[i], tg.Bucket, tg.Prefix+"index.html"); body != want {
			t.Errorf("%s: %s holds %q, want release %s", when, tg.Bucket, body, v)
		}
	}
}

// lockHook runs before on the first PUT of the lock through the wrapped client.
type lockHook struct {
	S3API
	once   sync.Once
	before func()
}

func (h *lockHook) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if strings.HasSuffix(aws.ToString(in.Key), lockKey) {
		h.once.Do(h.before)
	}
	return h.S3API.PutObject(ctx, in, o...)
}

func testLock(t *testing.T, w *testWorld) {
	ctx := context.Background()
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v1")))); err != nil {
		t.Fatal(err)
	}
	w.assertUnlocked(t, "after a release")

	// A live lock in either region stops the release before it changes anything, and a
	// lock taken in the primary is given back when the secondary is held.
	for i := range w.targets {
		planted := w.plantLock(t, i, time.Now().Add(time.Hour))
		o := w.options(writeSite(t, siteVersion("v2")))
		cs := counted(&o)
		rep, err := Release(ctx, o)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "ci@elsewhere pid 42") || !strings.Contains(err.Error(), "--break-lock") {
			t.Fatalf("release against a held lock in region %d: %v", i, err)
		}
		for _, b := range rep.Buckets {
			if !strings.Contains(b.State, "another release holds the lock") {
				t.Errorf("a locked-out release reports %s as %q", b.Bucket, b.State)
			}
		}
		for j, c := range cs {
			// At most the lock PUT (refused, or given back) in each region.
			if n := c.writes() - c.puts.Load(); n != 0 || c.puts.Load() > 1 {
				t.Errorf("locked out, the release still wrote to %s: %d puts, %d copies or deletes", w.targets[j].Bucket, c.puts.Load(), n)
			}
		}
		w.assertLive(t, "v1", "after a locked-out release")
		if body, _ := getObject(t, w.raw[i], w.recordBucket(i), w.targets[i].Prefix+lockKey); body != planted {
			t.Errorf("the other release's lock was changed: %s", body)
		}
		w.removeLock(t, i)
		w.assertUnlocked(t, "after a locked-out release")
	}

	// A dry run says who holds the lock.
	w.plantLock(t, 0, time.Now().Add(time.Hour))
	o := w.options(writeSite(t, siteVersion("v2")))
	o.DryRun = true
	rep, err := Release(ctx, o)
	if err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "holds the lock") {
		t.Errorf("dry run with a held lock: %v, warnings %q", err, rep.Warnings)
	}

	// --break-lock takes over a live lock; an expired one is taken over by itself.
	o = w.options(writeSite(t, siteVersion("v2")))
	o.BreakLock = true
	if rep, err = Release(ctx, o); err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "broken with --break-lock") {
		t.Fatalf("release with --break-lock: %v, warnings %q", err, rep.Warnings)
	}
	w.assertLive(t, "v2", "after --break-lock")
	w.assertUnlocked(t, "after --break-lock")
	w.plantLock(t, 1, time.Now().Add(-time.Minute))
	if rep, err = Release(ctx, w.options(writeSite(t, siteVersion("v3")))); err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "expired at") {
		t.Fatalf("release over an expired lock: %v, warnings %q", err, rep.Warnings)
	}
	w.assertLive(t, "v3", "after taking over an expired lock")
	w.assertUnlocked(t, "after taking over an expired lock")

	// A lock whose process ran on this machine: held while it lives, stale once it exited.
	host, _ := os.Hostname()
	w.plantLock(t, 0, time.Now().Add(time.Hour), host, os.Getpid())
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v4")))); !errors.Is(err, ErrLocked) {
		t.Fatalf("release against a lock of a live process here: %v", err)
	}
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	w.plantLock(t, 0, time.Now().Add(time.Hour), host, exited.Process.Pid)
	if rep, err = Release(ctx, w.options(writeSite(t, siteVersion("v4")))); err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "has exited") {
		t.Fatalf("release over the lock of an exited process: %v, warnings %q", err, rep.Warnings)
	}
	w.assertLive(t, "v4", "after taking over the lock of an exited process")
	w.assertUnlocked(t, "after taking over the lock of an exited process")

	// A release recorded between planning and locking makes this one stop unchanged.
	o = w.options(writeSite(t, siteVersion("v5")))
	intruder := recordsDir + time.Now().UTC().Add(time.Hour).Format(timeLayout) + "-abcdefabcdef.json"
	hook := &lockHook{S3API: o.Targets[0].Client, before: func() {
		if _, err := w.raw[1].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.recordBucket(1)),
			Key: aws.String(w.targets[1].Prefix + intruder), Body: strings.NewReader("{}")}); err != nil {
			t.Error(err)
		}
	}}
	o.Targets[0].Client = hook
	if _, err := Release(ctx, o); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "abcdefabcdef was recorded") {
		t.Fatalf("release overtaken while planning: %v", err)
	}
	w.assertLive(t, "v4", "after an overtaken release")
	w.assertUnlocked(t, "after an overtaken release")
	if _, err := w.raw[1].DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(w.recordBucket(1)), Key: aws.String(w.targets[1].Prefix + intruder)}); err != nil {
		t.Fatal(err)
	}

	// Releases started together: each one either completes or stops locked out, and the
	// buckets end on the newest recorded release, the same in every region.
	versions := []string{"r1", "r2", "r3", "r4"}
	errs := make([]error, len(versions))
	var wg sync.WaitGroup
	for k, v := range versions {
		dir := writeSite(t, siteVersion(v))
		wg.Go(func() { _, errs[k] = Release(ctx, w.options(dir)) })
	}
	wg.Wait()
	var won []string
	for k, err := range errs {
		switch {
		case err == nil:
			won = append(won, versions[k])
		case !errors.Is(err, ErrLocked):
			t.Errorf("concurrent release %s: %v", versions[k], err)
		}
	}
	if len(won) == 0 {
		t.Fatal("no concurrent release completed")
	}
	tg := w.targets[0]
	tg.RecordBucket = w.recordBucket(0)
	rs, err := openRecords(ctx, &tg)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := rs.latest(ctx, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("newest record: %v", err)
	}
	live := ""
	for _, v := range won {
		for _, f := range recs[0].Files {
			if f.Path == "index.html" && f.SHA256 == sha256hex(siteVersion(v)["index.html"].body) {
				live = v
			}
		}
	}
	if live == "" {
		t.Fatalf("the newest record %s is none of the completed releases %v", recs[0].ID, won)
	}
	w.assertLive(t, live, fmt.Sprintf("after concurrent releases (%v completed)", won))
	w.assertUnlocked(t, "after concurrent releases")
}

// testWaysOut covers the two ways a release (and so `twinedge up`) could be stuck for good
// (issue 14): a lock whose pid is alive but names another process — the pid reused after a
// reboot, or by a process started later — and a release record that does not decode.
func testWaysOut(t *testing.T, w *testWorld) {
	ctx := context.Background()
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v1")))); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	self := newLock("0123456789ab", time.Now(), time.Hour) // this live process: pid, boot and start time
	if self.Boot == "" || self.Started == 0 {
		t.Skip("no /proc here: a reused pid cannot be told from its holder, the lock waits for --break-lock or its expiry")
	}
	plant := func(lk releaseLock) {
		t.Helper()
		body, _ := json.Marshal(lk)
		if _, err := w.raw[0].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.recordBucket(0)),
			Key: aws.String(w.targets[0].Prefix + lockKey), Body: strings.NewReader(string(body))}); err != nil {
			t.Fatal(err)
		}
	}
	held := self
	held.Host = host
	plant(held)
	if _, err := Release(ctx, w.options(writeSite(t, siteVersion("v2")))); !errors.Is(err, ErrLocked) {
		t.Fatalf("release against the lock of a live holder: %v", err)
	}
	for i, lk := range []releaseLock{
		func() releaseLock { l := held; l.Boot = "00000000-0000-0000-0000-000000000000"; return l }(), // before a reboot
		func() releaseLock { l := held; l.Started--; return l }(),                                     // an earlier process of this pid
	} {
		plant(lk)
		v := fmt.Sprint("v", 2+i)
		rep, err := Release(ctx, w.options(writeSite(t, siteVersion(v))))
		if err != nil || !strings.Contains(strings.Join(rep.Warnings, "\n"), "has exited") {
			t.Fatalf("release over a lock whose pid is reused (%+v): %v, warnings %q", lk, err, rep.Warnings)
		}
		w.assertLive(t, v, "after taking over a lock of a reused pid")
		w.assertUnlocked(t, "after taking over a lock of a reused pid")
	}

	// An undecodable record, newer than every other: skipped with a one-line warning, in a
	// dry run and in a release, and a rollback goes past it.
	key := w.targets[1].Prefix + recordsDir + time.Now().UTC().Add(time.Hour).Format(timeLayout) + "-abcdefabcdef.json"
	if _, err := w.raw[1].PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.recordBucket(1)), Key: aws.String(key),
		Body: strings.NewReader(`{"id": "abcdefabcdef", "files": [`)}); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		o := w.options(writeSite(t, siteVersion("v4")))
		o.DryRun = dry
		rep, err := Release(ctx, o)
		if err != nil {
			t.Fatalf("release (dry run %v) with an unreadable record: %v", dry, err)
		}
		if warned := strings.Join(rep.Warnings, "\n"); !strings.Contains(warned, "unreadable release record") || !strings.Contains(warned, key) {
			t.Fatalf("release (dry run %v) with an unreadable record warns %q", dry, rep.Warnings)
		}
	}
	w.assertLive(t, "v4", "after a release past an unreadable record")
	if _, err := Rollback(ctx, w.options(""), ""); err != nil {
		t.Fatalf("rollback past an unreadable record: %v", err)
	}
	w.assertLive(t, "v3", "after a rollback past an unreadable record")
}
