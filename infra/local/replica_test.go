package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/twinedge/twinedge/api"
	"github.com/twinedge/twinedge/api/storetest"
)

func openTestReplica(t testing.TB, dir, region string) *Replica {
	t.Helper()
	r, err := OpenReplica(filepath.Join(dir, region, "table.db"), region)
	if err != nil {
		t.Fatal(err)
	}
	r.db.NoSync = true // tests need no durability against power loss
	t.Cleanup(func() { r.Close() })
	return r
}

func TestReplicaStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) api.Store { return openTestReplica(t, t.TempDir(), "us-east-1") })
}

func testMessage(i int, text string) api.Message {
	return api.Message{ID: fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i), Author: "ann", Text: text,
		AcceptedIn: "us-east-1", AcceptedAt: time.Date(2026, 11, 26, 5, 0, i, 0, time.UTC)}
}

func TestReplicaPersistsItemsAndOutbox(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := OpenReplica(filepath.Join(dir, "a.db"), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, out, err := a.Put(ctx, testMessage(1, "before restart")); err != nil || out != api.Created {
		t.Fatal(out, err)
	}
	if _, err := OpenReplica(filepath.Join(dir, "a.db"), "us-east-1"); err == nil {
		t.Error("a second open of a replica file in use succeeded")
	}
	a.Close()

	a, err = OpenReplica(filepath.Join(dir, "a.db"), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := openTestReplica(t, dir, "eu-west-2")
	if list, _, _ := a.List(ctx, 10, ""); len(list) != 1 {
		t.Fatalf("after reopen: %v", list)
	}
	// The write was queued before any replicator existed and before the restart; the
	// reopening started a new epoch, so it reaches the peer by the backfill.
	p, _ := NewReplicator(nil, a, b)
	if n, _ := p.Pending(); n != 1 {
		t.Errorf("%d changes pending before delivery, want 1", n)
	}
	if n, _, err := p.deliver(a, b, time.Now(), 10); err != nil || n != 1 {
		t.Fatalf("deliver queued change: %d %v", n, err)
	}
	if _, ok, _ := b.get(testMessage(1, "").ID); !ok {
		t.Error("queued change did not reach the peer")
	}
	if _, _, err := p.deliver(b, a, time.Now(), 10); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Pending(); n != 0 {
		t.Errorf("%d changes still pending", n)
	}
}

func TestReplicationDelayAndPartition(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, b := openTestReplica(t, dir, "us-east-1"), openTestReplica(t, dir, "eu-west-2")
	p, _ := NewReplicator(nil, a, b)
	p.SetDelay(time.Minute)
	now := time.Now()
	if _, _, err := p.deliver(a, b, now, 10); err != nil { // the link's backfill, which has no delay
		t.Fatal(err)
	}
	a.Put(ctx, testMessage(1, "x"))
	if n, due, _ := p.deliver(a, b, now, 10); n != 0 || due.Before(now.Add(59*time.Second)) {
		t.Fatalf("delivered %d before the delay; next due %v", n, due)
	}
	if n, _, _ := p.deliver(a, b, now.Add(2*time.Minute), 10); n != 1 {
		t.Fatalf("delivered %d after the delay", n)
	}
	if err := p.Partition("nowhere"); err == nil {
		t.Error("partitioned an unknown region")
	}
	p.Partition("eu-west-2")
	if p.linked(a, b) || p.linked(b, a) {
		t.Error("partition did not cut both directions")
	}
	if d := cmp.Diff([]string{"eu-west-2"}, p.Partitioned()); d != "" {
		t.Error(d)
	}
	p.Heal("")
	if !p.linked(a, b) || len(p.Partitioned()) != 0 {
		t.Error("heal did not restore the link")
	}
}

// TestReplicationConverges is the property test: random interleavings of writes in both
// regions (colliding ids, skewed clocks, ties), partial deliveries, partitions and heals. After
// a final heal both replicas hold identical items; every id ever created is present (nothing
// lost) with the version last-writer-wins picks among all created versions; and the newest
// index agrees with the items.
func TestReplicationConverges(t *testing.T) { forSeeds(t, 200, checkConvergence) }

// forSeeds runs check in parallel subtests over seeds 0…n-1 (20 with -short).
func forSeeds(t *testing.T, n int, check func(*testing.T, uint64)) {
	if testing.Short() {
		n = 20
	}
	for seed := range n {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			check(t, uint64(seed))
		})
	}
}

func checkConvergence(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7e1ce))
	dir := t.TempDir()
	ctx := context.Background()
	regions := []string{"us-east-1", "eu-west-2"}
	var reps []*Replica
	clock := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
	for i, name := range regions {
		r := openTestReplica(t, dir, name)
		skew := time.Duration(rng.IntN(5)-2) * time.Millisecond // clocks disagree a little
		if i == 0 && rng.IntN(4) == 0 {
			skew = 0
		}
		r.now = func() time.Time { return clock.Add(skew) }
		reps = append(reps, r)
	}
	p, err := NewReplicator(nil, reps...)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return clock }

	winners := map[string]itemRecord{} // id → LWW winner among created versions
	var trace []string
	steps := 30 + rng.IntN(90)
	for range steps {
		clock = clock.Add(time.Duration(rng.IntN(3)) * time.Millisecond) // 0 makes ties
		switch op := rng.IntN(10); {
		case op < 5: // write
			r := reps[rng.IntN(len(reps))]
			m := testMessage(rng.IntN(12), fmt.Sprint("text", rng.IntN(3)))
			m.AcceptedIn, m.AcceptedAt = r.region, clock
			_, out, err := r.Put(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			trace = append(trace, fmt.Sprintf("put %s %s %s", r.region, m.ID[24:], out))
			if out == api.Created {
				rec, _, _ := r.get(m.ID)
				if w, ok := winners[m.ID]; !ok || rec.newer(w) {
					winners[m.ID] = rec
				}
			}
		case op < 8: // deliver part of one link
			src := reps[rng.IntN(2)]
			dst := reps[1-indexOf(reps, src)]
			if p.linked(src, dst) {
				n, _, err := p.deliver(src, dst, clock, 1+rng.IntN(4))
				if err != nil {
					t.Fatal(err)
				}
				trace = append(trace, fmt.Sprintf("deliver %s→%s %d", src.region, dst.region, n))
			}
		case op == 8:
			r := regions[rng.IntN(2)]
			p.Partition(r)
			trace = append(trace, "partition "+r)
		default:
			p.Heal(regions[rng.IntN(2)])
			trace = append(trace, "heal")
		}
	}

	p.Heal("")
	clock = clock.Add(time.Second) // past every source clock's skew: everything is due
	for rounds := 0; ; rounds++ {
		if rounds > 1000 {
			t.Fatal("replication does not drain")
		}
		n1, _, err1 := p.deliver(reps[0], reps[1], clock, replicationBatch)
		n2, _, err2 := p.deliver(reps[1], reps[0], clock, replicationBatch)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if n1+n2 == 0 {
			break
		}
	}
	if n, _ := p.Pending(); n != 0 {
		t.Fatalf("%d changes pending after draining", n)
	}

	var want []itemRecord
	for _, w := range winners {
		want = append(want, w)
	}
	sortRecords(want)
	for _, r := range reps {
		got, err := r.snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s differs from the expected last-writer-wins state (-want +got)\n%s\ntrace:\n%v", r.region, d, trace)
		}
		list, _, err := r.List(ctx, api.MaxLimit, "")
		if err != nil || len(list) != len(want) {
			t.Fatalf("%s lists %d messages, holds %d (%v)", r.region, len(list), len(want), err)
		}
	}
}

func indexOf(reps []*Replica, r *Replica) int {
	for i, x := range reps {
		if x == r {
			return i
		}
	}
	return -1
}

func sortRecords(rs []itemRecord) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Message.ID < rs[j-1].Message.ID; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// TestReplicatorLive runs the real delivery loops: concurrent writers in both regions while
// a partition comes and goes; after the heal both replicas converge with every message.
func TestReplicatorLive(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, b := openTestReplica(t, dir, "us-east-1"), openTestReplica(t, dir, "eu-west-2")
	p, _ := NewReplicator(nil, a, b)
	p.Start()
	defer p.Close()

	var wg sync.WaitGroup
	for w, r := range []*Replica{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				m := testMessage(w*1000+i, "live")
				m.AcceptedIn, m.AcceptedAt = r.region, time.Now().UTC().Truncate(time.Millisecond)
				if _, _, err := r.Put(ctx, m); err != nil {
					t.Error(err)
					return
				}
				if i == 30 && w == 0 {
					p.Partition("eu-west-2")
				}
				if i == 70 && w == 0 {
					p.Heal("eu-west-2")
				}
			}
		}()
	}
	wg.Wait()
	p.Heal("")
	// Wait for delivery; the bound turns a hang into a failure and times nothing.
	deadline := time.Now().Add(time.Minute)
	for {
		na, _ := a.Len()
		nb, _ := b.Len()
		if na == 200 && nb == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged: %d and %d of 200", na, nb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sa, _ := a.snapshot()
	sb, _ := b.snapshot()
	if d := cmp.Diff(sa, sb); d != "" {
		t.Errorf("replicas differ\n%s", d)
	}
	if s := p.Stats(); s.Delivered+s.Backfilled < 200 {
		t.Errorf("stats count %d deliveries and %d backfilled", s.Delivered, s.Backfilled)
	}
}

// BenchmarkReplicationLag measures the time from a write's commit in one region to its
// commit in the other, at default settings (DefaultReplicationDelay, fsync on: "default"), and
// without fsync ("nosync": the mechanism's own cost, without the disk's):
//
//	go test -run '^$' -bench ReplicationLag -benchtime 2000x ./infra/local
func BenchmarkReplicationLag(b *testing.B) {
	b.Run("default", func(b *testing.B) { benchmarkReplicationLag(b, false) })
	b.Run("nosync", func(b *testing.B) { benchmarkReplicationLag(b, true) })
}

func benchmarkReplicationLag(b *testing.B, noSync bool) {
	dir := b.TempDir()
	ctx := context.Background()
	var reps []*Replica
	for _, name := range []string{"us-east-1", "eu-west-2"} {
		r, err := OpenReplica(filepath.Join(dir, name, "table.db"), name)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		r.db.NoSync = noSync
		reps = append(reps, r)
	}
	p, _ := NewReplicator(nil, reps...)
	p.Start()
	defer p.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := testMessage(i, "lag")
		if _, _, err := reps[i%2].Put(ctx, m); err != nil {
			b.Fatal(err)
		}
		for p.Stats().Delivered < int64(i+1) {
			time.Sleep(20 * time.Microsecond)
		}
	}
	b.StopTimer()
	s := p.Stats()
	b.ReportMetric(float64(s.LagP50.Microseconds()), "lag-p50-µs")
	b.ReportMetric(float64(s.LagP99.Microseconds()), "lag-p99-µs")
}
