package local

// This file replicates the regions' tables the way DynamoDB global tables (2019.11.21) do,
// as spec/local-stand-ins.md §2 describes:
//   - every committed write is sent to every other region, item by item;
//   - a receiving replica keeps the version with the later (timestamp, region): last writer
//     wins, silently, with no conflict log;
//   - conditions are evaluated only where the write happened (Replica.Put), so the same id
//     can be created in both regions during a partition; the copies then converge on one;
//   - replication takes a while: Delay, adjustable at run time (AWS: usually under a second,
//     with no SLA);
//   - Partition(region) cuts replication to and from a region. Writes keep committing on both
//     sides into the persistent outboxes and are delivered on Heal, so nothing is lost, not
//     even across a restart of the world.
//
// A replica that comes back empty (table.db deleted, emptied, or moved aside as corrupt) or
// older (an earlier copy of the file) is treated the way global tables treat a replica added
// to a table: it is backfilled from the other replicas, and it backfills them, by the same
// last-writer-wins rule. (Version 2019.11.21 adds a replica to a table that holds data with
// UpdateTable ReplicaUpdates, and DynamoDB copies the existing items into it, unlike
// 2017.11.29, whose UpdateGlobalTable wants every replica empty: API_UpdateGlobalTable.html;
// concurrent writes resolve by last writer wins: globaltables-CoreConcepts.html.) Since no
// file can prove it is the one last closed, every opening of a replica is a new epoch
// (replica.go): the outbox carries only the writes of the current epoch, a destination's
// mark names the source epoch it counts in, and a link whose destination holds no mark for
// the source's current epoch first merges every source item, then reads the outbox from the
// sequence number taken before that merge began. An outbox is trimmed only up to what every
// peer has applied in the source's current epoch. Merging is idempotent (items are keyed by
// id, the winner is a function of the versions), so an interrupted or repeated backfill
// neither loses nor duplicates anything. What a lost file held and had not yet replicated is
// gone, as a region's unreplicated writes would be: replication is asynchronous.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// DefaultReplicationDelay is the replication delay of a new Replicator: none beyond the
// time delivery takes. Raise it (SetDelay) to watch stale reads across regions.
const DefaultReplicationDelay = 0

// replicationBatch bounds the changes applied in one transaction.
const replicationBatch = 256

// lagWindow is how many recent lags Stats summarises.
const lagWindow = 4096

// Replicator delivers each replica's committed writes to every other replica.
type Replicator struct {
	replicas []*Replica
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	delay   time.Duration
	cut     map[string]bool // partitioned regions
	wakes   map[string][]chan struct{}
	trimmed map[string]time.Time // last outbox trim per source
	lags    []time.Duration      // ring of the last lagWindow lags
	next    int
	count   int64
	filled  int64                   // items stored by backfills
	fills   map[[2]string]*backfill // backfills in progress, by (source, destination)
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// NewReplicator links the replicas (at least two, of distinct regions), in a full mesh. It
// delivers nothing until Start.
func NewReplicator(logger *slog.Logger, replicas ...*Replica) (*Replicator, error) {
	if len(replicas) < 2 {
		return nil, errors.New("replicator: needs at least two replicas")
	}
	seen := map[string]bool{}
	for _, r := range replicas {
		if seen[r.region] {
			return nil, fmt.Errorf("replicator: region %s twice", r.region)
		}
		seen[r.region] = true
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Replicator{
		replicas: replicas, log: logger, now: time.Now,
		delay: DefaultReplicationDelay, cut: map[string]bool{}, trimmed: map[string]time.Time{}, wakes: map[string][]chan struct{}{},
		fills: map[[2]string]*backfill{},
	}, nil
}

// Start runs one delivery loop per ordered pair of regions until Close.
func (p *Replicator) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.mu.Lock()
	p.stop = cancel
	for _, src := range p.replicas {
		for _, dst := range p.replicas {
			if src == dst {
				continue
			}
			wake := make(chan struct{}, 1)
			p.wakes[src.region] = append(p.wakes[src.region], wake)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.run(ctx, src, dst, wake)
			}()
		}
	}
	p.mu.Unlock()
	for _, src := range p.replicas {
		src.setWake(func() { p.wakeFrom(src.region) })
	}
}

// Close stops the delivery loops and waits for them. Undelivered changes stay in the
// outboxes for the next Start.
func (p *Replicator) Close() error {
	for _, r := range p.replicas {
		r.setWake(nil)
	}
	p.mu.Lock()
	stop := p.stop
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	p.wg.Wait()
	var errs []error
	for _, r := range p.replicas {
		if err := p.trim(r, true); err != nil {
			errs = append(errs, fmt.Errorf("trim outbox of %s: %w", r.region, err))
		}
	}
	return errors.Join(errs...)
}

// SetDelay sets how long a committed write waits before it is delivered (0 or more).
func (p *Replicator) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = max(d, 0)
	p.mu.Unlock()
	p.wakeAll()
}

// Delay returns the current replication delay.
func (p *Replicator) Delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay
}

// Partition cuts replication to and from region (twinedge fail REGION --mode partition).
// Both sides keep accepting writes; they queue until Heal.
func (p *Replicator) Partition(region string) error {
	if p.replica(region) == nil {
		return fmt.Errorf("replicator: no region %s", region)
	}
	p.mu.Lock()
	p.cut[region] = true
	p.mu.Unlock()
	p.log.Info("replication partitioned", "region", region)
	return nil
}

// Heal restores replication to and from region, or for every region when region is "".
// Queued changes are delivered at once (their delay has long passed).
func (p *Replicator) Heal(region string) {
	p.mu.Lock()
	if region == "" {
		clear(p.cut)
	} else {
		delete(p.cut, region)
	}
	p.mu.Unlock()
	p.log.Info("replication healed", "region", region)
	p.wakeAll()
}

// Partitioned returns the partitioned regions, sorted.
func (p *Replicator) Partitioned() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for r := range p.cut {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// ReplicationStats summarises delivery: how many changes were applied and their lag over the
// last few thousand. Lag runs from the source's write transaction (stamped inside it, so the
// source's own commit is included) to the destination's commit.
type ReplicationStats struct {
	Delivered int64 `json:"delivered"`
	// Backfilled counts the items stored by backfills (a replica reopened, emptied or
	// older); they are not counted in Delivered nor in the lags.
	Backfilled int64         `json:"backfilled"`
	LagP50     time.Duration `json:"lagP50"`
	LagP99     time.Duration `json:"lagP99"`
	LagMax     time.Duration `json:"lagMax"`
}

// Stats returns the delivery counters.
func (p *Replicator) Stats() ReplicationStats {
	p.mu.Lock()
	lags := slices.Clone(p.lags)
	s := ReplicationStats{Delivered: p.count, Backfilled: p.filled}
	p.mu.Unlock()
	if len(lags) == 0 {
		return s
	}
	slices.Sort(lags)
	at := func(q float64) time.Duration { return lags[int(q*float64(len(lags)-1))] }
	s.LagP50, s.LagP99, s.LagMax = at(0.50), at(0.99), lags[len(lags)-1]
	return s
}

// Pending returns how many changes wait for delivery, over all links (partitioned or not).
// A link that still has to backfill counts every item of its source.
func (p *Replicator) Pending() (int, error) {
	n := 0
	for _, src := range p.replicas {
		for _, dst := range p.replicas {
			if src == dst {
				continue
			}
			m, ok, err := dst.markOf(src.region)
			if err != nil {
				return 0, err
			}
			if !ok || m.Epoch != src.epoch {
				items, err := src.Len()
				if err != nil {
					return 0, err
				}
				n += items
				m = mark{}
			}
			seqs, _, err := src.pending(m.Seq, 1<<30)
			if err != nil {
				return 0, err
			}
			n += len(seqs)
		}
	}
	return n, nil
}

func (p *Replicator) replica(region string) *Replica {
	for _, r := range p.replicas {
		if r.region == region {
			return r
		}
	}
	return nil
}

// trimEvery bounds how often a source's outbox is trimmed: trimming is a commit of its own,
// and delivery should not pay for it on every write.
const trimEvery = time.Second

// trim drops the outbox entries of src that every peer has applied, at most once per
// trimEvery unless force.
func (p *Replicator) trim(src *Replica, force bool) error {
	p.mu.Lock()
	if !force && p.now().Sub(p.trimmed[src.region]) < trimEvery {
		p.mu.Unlock()
		return nil
	}
	p.trimmed[src.region] = p.now()
	p.mu.Unlock()
	low := uint64(1<<64 - 1)
	for _, r := range p.replicas {
		if r == src {
			continue
		}
		m, ok, err := r.markOf(src.region)
		if err != nil {
			return err
		}
		if !ok || m.Epoch != src.epoch {
			return nil // that peer still has to backfill: it will read the outbox after
		}
		low = min(low, m.Seq)
	}
	if low == 0 {
		return nil
	}
	return src.trim(low)
}

func (p *Replicator) linked(src, dst *Replica) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.cut[src.region] && !p.cut[dst.region]
}

func (p *Replicator) wakeFrom(region string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.wakes[region] {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (p *Replicator) wakeAll() {
	for _, r := range p.replicas {
		p.wakeFrom(r.region)
	}
}

// run is the delivery loop of one link. It sleeps until woken (a write, a heal, a new delay)
// or until the next queued change is due.
func (p *Replicator) run(ctx context.Context, src, dst *Replica, wake <-chan struct{}) {
	for {
		wait := time.Duration(-1) // until woken
		if p.linked(src, dst) {
			_, due, err := p.deliver(src, dst, p.now(), replicationBatch)
			switch {
			case err != nil:
				p.log.Error("replication failed; retrying", "from", src.region, "to", dst.region, "err", err)
				wait = time.Second
			case !due.IsZero():
				wait = max(due.Sub(p.now()), 0)
			}
		}
		var timer <-chan time.Time
		var t *time.Timer
		if wait >= 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// backfill is the progress of one link's merge of every source item into the destination.
type backfill struct {
	src, dst epoch  // the epochs it runs between: a reopening of either starts it again
	from     uint64 // the source's outbox sequence when it began: the outbox resumes after it
	after    string // the last item id merged
}

// deliver applies up to max changes from src to dst that are due at now, and acknowledges
// them. It returns how many it applied and, when more are queued, when the next one is due
// (now when it is due already). It ignores partitions: callers check the link. A link whose
// destination has no mark for the source's epoch backfills first, max items at a time.
func (p *Replicator) deliver(src, dst *Replica, now time.Time, max int) (int, time.Time, error) {
	m, ok, err := dst.markOf(src.region)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read progress of %s: %w", dst.region, err)
	}
	filled := 0
	if !ok || m.Epoch != src.epoch {
		var done bool
		filled, done, err = p.backfill(src, dst, max)
		if err != nil || !done {
			return filled, now, err
		}
		if m, _, err = dst.markOf(src.region); err != nil {
			return filled, time.Time{}, fmt.Errorf("read progress of %s: %w", dst.region, err)
		}
	}
	n, due, err := p.deliverOutbox(src, dst, m, now, max)
	return filled + n, due, err
}

// deliverOutbox applies the due outbox entries of src after m to dst.
func (p *Replicator) deliverOutbox(src, dst *Replica, m mark, now time.Time, max int) (int, time.Time, error) {
	seqs, chs, err := src.pending(m.Seq, max+1)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read outbox of %s: %w", src.region, err)
	}
	delay := p.Delay()
	n := 0
	for n < len(chs) && n < max && !time.Unix(0, chs[n].Committed).Add(delay).After(now) {
		n++
	}
	var nextDue time.Time
	if n < len(chs) {
		nextDue = time.Unix(0, chs[n].Committed).Add(delay)
		if nextDue.Before(now) {
			nextDue = now
		}
	}
	if n == 0 {
		return 0, nextDue, nil
	}
	items := make([]itemRecord, n)
	for i := range n {
		items[i] = chs[i].Item
	}
	if _, err := dst.apply(src.region, items, &mark{Epoch: src.epoch, Seq: seqs[n-1]}); err != nil {
		return 0, time.Time{}, fmt.Errorf("apply to %s: %w", dst.region, err)
	}
	applied := p.now()
	p.mu.Lock()
	for _, ch := range chs[:n] {
		lag := applied.Sub(time.Unix(0, ch.Committed))
		if len(p.lags) < lagWindow {
			p.lags = append(p.lags, lag)
		} else {
			p.lags[p.next] = lag
			p.next = (p.next + 1) % lagWindow
		}
	}
	p.count += int64(n)
	p.mu.Unlock()
	if err := p.trim(src, false); err != nil {
		// Untrimmed entries are only kept longer; delivery is not affected.
		p.log.Warn("replication: trim outbox", "region", src.region, "err", err)
	}
	return n, nextDue, nil
}

// backfill merges the next page of max source items into the destination. The outbox
// sequence is read before the first page: every write numbered up to it is already among the
// items a later page reads (items are never deleted), and every later one stays in the
// outbox, which trim keeps until this link has a mark. The last page records the mark. It
// returns how many items it read, so a caller draining the link sees progress, and whether
// the backfill is complete.
func (p *Replicator) backfill(src, dst *Replica, max int) (int, bool, error) {
	key := [2]string{src.region, dst.region}
	p.mu.Lock()
	bf := p.fills[key]
	p.mu.Unlock()
	if bf == nil || bf.src != src.epoch || bf.dst != dst.epoch {
		from, err := src.outboxSeq()
		if err != nil {
			return 0, false, fmt.Errorf("read outbox of %s: %w", src.region, err)
		}
		bf = &backfill{src: src.epoch, dst: dst.epoch, from: from}
		p.log.Info("replication: backfill", "from", src.region, "to", dst.region)
	}
	items, err := src.itemsAfter(bf.after, max)
	if err != nil {
		return 0, false, fmt.Errorf("backfill from %s: %w", src.region, err)
	}
	var to *mark
	if len(items) < max {
		to = &mark{Epoch: src.epoch, Seq: bf.from}
	}
	stored, err := dst.apply(src.region, items, to)
	if err != nil {
		return 0, false, fmt.Errorf("backfill %s: %w", dst.region, err)
	}
	p.mu.Lock()
	p.filled += int64(stored)
	if to != nil {
		delete(p.fills, key)
	} else {
		bf.after = items[len(items)-1].Message.ID
		p.fills[key] = bf
	}
	p.mu.Unlock()
	if to != nil {
		p.log.Info("replication: backfilled", "from", src.region, "to", dst.region)
	}
	return len(items), to != nil, nil
}
