package local

// This file is one region's copy of the message table: the local stand-in for a DynamoDB
// global-table replica (spec/local-stand-ins.md §2, version 2019.11.21).
//
// Storage is bbolt, one file per region under the state directory, chosen because:
//   - a conditional put must check and write atomically; bbolt's serialisable read-write
//     transactions (one writer at a time) give that without locks of our own, and the same
//     transaction appends the change to the replication outbox, so a write is never stored
//     without being queued for the other region, even across a crash;
//   - keys are kept sorted, so "newest N" is a reverse cursor walk over an index bucket;
//   - it is pure Go (CGO_ENABLED=0 builds keep working), already a dependency, and its
//     file lock stops two worlds from sharing one state directory.
// Its costs are one writer at a time and an fsync per commit (about a millisecond on an SSD):
// far below what a chat board asks. SQLite would need cgo or a large pure-Go port; LSM stores
// (pebble, badger) bring background compaction goroutines a replica this small never needs.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/twinedge/twinedge/api"
)

var (
	bucketItems   = []byte("items")   // id → itemRecord
	bucketNewest  = []byte("newest")  // Message.SortKey → id
	bucketOutbox  = []byte("outbox")  // seq (8 bytes, big endian) → change, this epoch's only
	bucketApplied = []byte("applied") // source region → mark: the source epoch and last seq applied from it
)

// An epoch is one opening of a replica file. Sequence numbers, the outbox and the applied
// marks are only meaningful between two epochs that are both still open: a file that comes
// back deleted, emptied, corrupt or as an older copy cannot be told from one that merely
// restarted, so every opening starts a new epoch, drops its outbox and its marks, and each
// link to and from it begins with a backfill — a last-writer-wins merge of every item of
// the source — before it delivers the outbox again (replicator.go says why this is what
// DynamoDB global tables do).
type epoch [16]byte

func (e epoch) String() string { return fmt.Sprintf("%x", e[:4]) }

// mark is what a destination records about a source: the source's epoch and the last
// outbox sequence number of that epoch it has applied.
type mark struct {
	Epoch epoch
	Seq   uint64
}

func (m mark) bytes() []byte { return append(m.Epoch[:], seqKey(m.Seq)...) }

func parseMark(b []byte) (mark, bool) {
	var m mark
	if len(b) != len(m.Epoch)+8 {
		return mark{}, false // a mark of an older format: no epoch matches it
	}
	copy(m.Epoch[:], b)
	m.Seq = binary.BigEndian.Uint64(b[len(m.Epoch):])
	return m, true
}

// itemRecord is a stored item with the private last-write version global tables keep per
// item: replicated writes resolve by (TS, Region), last writer wins. Neither is visible
// through the API, as in v2019.11.21, which adds no aws:rep:* attributes.
type itemRecord struct {
	Message api.Message `json:"message"`
	TS      int64       `json:"ts"`     // last write, Unix nanoseconds on the writer's clock
	Region  string      `json:"region"` // region of the last write
}

// newer reports whether a wins over b: the later timestamp, then the greater region name.
func (a itemRecord) newer(b itemRecord) bool {
	if a.TS != b.TS {
		return a.TS > b.TS
	}
	return a.Region > b.Region
}

// change is a committed local write waiting in the outbox for delivery to the peers.
type change struct {
	Item itemRecord `json:"item"`
	// Committed is when the source committed the write (Unix nanoseconds); the replication
	// delay and the measured lag count from it.
	Committed int64 `json:"committed"`
}

// Replica is one region's table: an api.Store whose conditional writes are evaluated here
// only, and whose committed writes wait in a persistent outbox until a Replicator delivers
// them to the other regions.
type Replica struct {
	region string
	path   string
	db     *bolt.DB
	now    func() time.Time
	epoch  epoch // this opening's; see epoch
	items  int   // items found by the integrity check at open

	mu     sync.Mutex
	lastTS int64
	wake   func() // set by a Replicator: called after a local write commits
	closed bool
}

// CorruptError is returned by OpenReplica for a file that bbolt cannot open or whose
// pages or items fail the integrity check. Nothing was written to the file.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string { return fmt.Sprintf("%s is corrupt: %s", e.Path, e.Reason) }

// OpenReplica opens (creating if needed) the replica of region in the bbolt file at path
// and checks it: bbolt's own consistency check over every page (Tx.Check), then a decode of
// every item, so a damaged file is refused here with a *CorruptError and never reaches a
// request handler. It fails rather than waits when another process holds the file. Every
// opening is a new epoch (see epoch): the outbox and applied marks of the last one are
// dropped, and the replicator backfills both directions.
func OpenReplica(path, region string) (*Replica, error) {
	if region == "" {
		return nil, errors.New("replica: region is required")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("replica %s: %w", region, err)
	}
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("replica %s: %s is in use by another twinedge; stop it or use another --state", region, path)
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("replica %s: open %s: %w", region, path, err)
	}
	r := &Replica{region: region, path: path, db: db, now: time.Now}
	if r.items, err = checkReplica(db); err != nil {
		db.Close()
		return nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	if _, err := rand.Read(r.epoch[:]); err != nil {
		db.Close()
		return nil, fmt.Errorf("replica %s: epoch: %w", region, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		// The last epoch's outbox and marks: the backfills that start this one supersede them.
		for _, b := range [][]byte{bucketOutbox, bucketApplied} {
			if err := tx.DeleteBucket(b); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		for _, b := range [][]byte{bucketItems, bucketNewest, bucketOutbox, bucketApplied} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("replica %s: init %s: %w", region, path, err)
	}
	return r, nil
}

// openBolt opens a bbolt file, turning bbolt's refusals of a damaged file (and its panics:
// some damaged pages panic while the freelist is read) into a *CorruptError.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, &CorruptError{Path: path, Reason: fmt.Sprint(p)}
		}
	}()
	db, err = bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil && (errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) ||
		errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrInvalidMapping)) {
		return nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	return db, err
}

// checkReplica runs bbolt's page check and decodes every item and index entry; it returns
// the number of items. A missing bucket is not damage (a new file has none yet).
func checkReplica(db *bolt.DB) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err // the first is enough to refuse the file
		}
		items, newest := tx.Bucket(bucketItems), tx.Bucket(bucketNewest)
		if items == nil {
			return nil
		}
		if err := items.ForEach(func(k, v []byte) error {
			var rec itemRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.Message.ID != string(k) {
				return fmt.Errorf("item %q does not decode", k)
			}
			if newest == nil || !bytes.Equal(newest.Get([]byte(rec.Message.SortKey())), k) {
				return fmt.Errorf("item %q is missing from the newest index", k)
			}
			n++
			return nil
		}); err != nil {
			return err
		}
		if newest != nil && newest.Stats().KeyN != n {
			return fmt.Errorf("the newest index has %d entries for %d items", newest.Stats().KeyN, n)
		}
		return nil
	})
	return n, err
}

// Region is the replica's region.
func (r *Replica) Region() string { return r.region }

// Close closes the file. Close the Replicator first.
func (r *Replica) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.db.Close()
}

func (r *Replica) setWake(f func()) {
	r.mu.Lock()
	r.wake = f
	r.mu.Unlock()
}

// nextTS returns a write timestamp that never repeats or goes backwards in this replica,
// even if the wall clock does.
func (r *Replica) nextTS() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := r.now().UnixNano()
	if ts <= r.lastTS {
		ts = r.lastTS + 1
	}
	r.lastTS = ts
	return ts
}

// Put implements api.Store: a conditional write (the id must not exist) evaluated in this
// region only, as global tables evaluate conditions. The item and its outbox entry commit
// together.
func (r *Replica) Put(ctx context.Context, m api.Message) (api.Message, api.Outcome, error) {
	if err := ctx.Err(); err != nil {
		return api.Message{}, 0, err
	}
	var stored api.Message
	var outcome api.Outcome
	err := r.db.Update(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		if v := items.Get([]byte(m.ID)); v != nil {
			var old itemRecord
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("item %s: %w", m.ID, err)
			}
			stored, outcome = old.Message, api.Conflict
			if old.Message.SameContent(m) {
				outcome = api.Existing
			}
			return nil
		}
		rec := itemRecord{Message: m, TS: r.nextTS(), Region: r.region}
		if err := writeItem(tx, rec, nil); err != nil {
			return err
		}
		out := tx.Bucket(bucketOutbox)
		seq, err := out.NextSequence()
		if err != nil {
			return err
		}
		ch, err := json.Marshal(change{Item: rec, Committed: r.now().UnixNano()})
		if err != nil {
			return err
		}
		stored, outcome = m, api.Created
		return out.Put(seqKey(seq), ch)
	})
	if err != nil {
		return api.Message{}, 0, fmt.Errorf("replica %s: put %s: %w", r.region, m.ID, err)
	}
	if outcome == api.Created {
		r.mu.Lock()
		wake := r.wake
		r.mu.Unlock()
		if wake != nil {
			wake()
		}
	}
	return stored, outcome, nil
}

// writeItem stores rec and its index entry, replacing old's index entry when old is set.
func writeItem(tx *bolt.Tx, rec itemRecord, old *itemRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	newest := tx.Bucket(bucketNewest)
	if old != nil {
		if err := newest.Delete([]byte(old.Message.SortKey())); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketItems).Put([]byte(rec.Message.ID), v); err != nil {
		return err
	}
	return newest.Put([]byte(rec.Message.SortKey()), []byte(rec.Message.ID))
}

// List implements api.Store with a reverse walk over the newest index.
func (r *Replica) List(ctx context.Context, limit int, cursor string) ([]api.Message, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var start []byte
	if cursor != "" {
		sk, err := api.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		start = []byte(sk)
	}
	var out []api.Message
	more := false
	err := r.db.View(func(tx *bolt.Tx) error {
		items := tx.Bucket(bucketItems)
		c := tx.Bucket(bucketNewest).Cursor()
		var k, id []byte
		if start == nil {
			k, id = c.Last()
		} else {
			// Seek lands on the first key ≥ start; the page continues strictly before start.
			k, id = c.Seek(start)
			if k == nil {
				k, id = c.Last()
			}
			for k != nil && bytes.Compare(k, start) >= 0 {
				k, id = c.Prev()
			}
		}
		for ; k != nil; k, id = c.Prev() {
			if len(out) == limit {
				more = true
				return nil
			}
			var rec itemRecord
			if err := json.Unmarshal(items.Get(id), &rec); err != nil {
				return fmt.Errorf("item %s: %w", id, err)
			}
			out = append(out, rec.Message)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("replica %s: list: %w", r.region, err)
	}
	next := ""
	if more {
		next = api.EncodeCursor(out[len(out)-1].SortKey())
	}
	return out, next, nil
}

// Ping implements api.Store: the replica serves while its file is open.
func (r *Replica) Ping(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("replica %s is closed", r.region)
	}
	return nil
}

// apply stores replicated items from src that win by last-writer-wins and drops those that
// lose. With to set, it also records to as src's mark, in the same transaction: a change is
// applied exactly once, and the receiver's own record says how far it got, so delivery costs
// one commit. It never touches the outbox: a replicated write is not replicated again. It
// returns how many items it stored.
func (r *Replica) apply(src string, items []itemRecord, to *mark) (int, error) {
	// Most items of a backfill are already here: a read first spares a commit for them.
	var win []itemRecord
	if err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		win, err = winners(tx, items)
		return err
	}); err != nil {
		return 0, err
	}
	if len(win) == 0 && to == nil {
		return 0, nil
	}
	n := 0
	err := r.db.Update(func(tx *bolt.Tx) error {
		n = 0
		applied := tx.Bucket(bucketApplied)
		if to != nil {
			if m, ok := parseMark(applied.Get([]byte(src))); ok && m.Epoch == to.Epoch && m.Seq >= to.Seq {
				return nil // delivered already
			}
		}
		win, err := winners(tx, win)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketItems)
		for _, rec := range win {
			var old *itemRecord
			if v := b.Get([]byte(rec.Message.ID)); v != nil {
				old = new(itemRecord)
				if err := json.Unmarshal(v, old); err != nil {
					return fmt.Errorf("item %s: %w", rec.Message.ID, err)
				}
			}
			if err := writeItem(tx, rec, old); err != nil {
				return err
			}
			n++
		}
		if to == nil {
			return nil
		}
		return applied.Put([]byte(src), to.bytes())
	})
	return n, err
}

// winners returns the items that win over the stored versions (or are not stored).
func winners(tx *bolt.Tx, items []itemRecord) ([]itemRecord, error) {
	b := tx.Bucket(bucketItems)
	var out []itemRecord
	for _, rec := range items {
		if v := b.Get([]byte(rec.Message.ID)); v != nil {
			var old itemRecord
			if err := json.Unmarshal(v, &old); err != nil {
				return nil, fmt.Errorf("item %s: %w", rec.Message.ID, err)
			}
			if !rec.newer(old) {
				continue // the stored version wins (or is this very write)
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// markOf returns what this replica has applied from src: false when it has no mark, as
// after its own reopening.
func (r *Replica) markOf(src string) (mark, bool, error) {
	var m mark
	ok := false
	err := r.db.View(func(tx *bolt.Tx) error {
		m, ok = parseMark(tx.Bucket(bucketApplied).Get([]byte(src)))
		return nil
	})
	return m, ok, err
}

// outboxSeq is the last sequence number given to a local write.
func (r *Replica) outboxSeq() (uint64, error) {
	var seq uint64
	err := r.db.View(func(tx *bolt.Tx) error {
		seq = tx.Bucket(bucketOutbox).Sequence()
		return nil
	})
	return seq, err
}

// itemsAfter returns up to max items whose ids sort after after ("" for the first page),
// in id order: one page of a backfill.
func (r *Replica) itemsAfter(after string, max int) ([]itemRecord, error) {
	var out []itemRecord
	err := r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < max; k, v = c.Next() {
			var rec itemRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("item %s: %w", k, err)
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// pending returns up to max outbox entries after sequence number after, oldest first, with
// their sequence numbers.
func (r *Replica) pending(after uint64, max int) ([]uint64, []change, error) {
	var seqs []uint64
	var chs []change
	err := r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(chs) < max; k, v = c.Next() {
			var ch change
			if err := json.Unmarshal(v, &ch); err != nil {
				return fmt.Errorf("outbox entry %x: %w", k, err)
			}
			seqs = append(seqs, binary.BigEndian.Uint64(k))
			chs = append(chs, ch)
		}
		return nil
	})
	return seqs, chs, err
}

// trim drops outbox entries up to and including seq: every peer has applied them.
func (r *Replica) trim(seq uint64) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// snapshot returns every item with its version, sorted by id: for tests and status.
func (r *Replica) snapshot() ([]itemRecord, error) {
	var out []itemRecord
	err := r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(_, v []byte) error {
			var rec itemRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Message.ID < out[j].Message.ID })
	return out, err
}

// Len returns the number of messages in the replica.
func (r *Replica) Len() (int, error) {
	n := 0
	err := r.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketItems).Stats().KeyN
		return nil
	})
	return n, err
}

func seqKey(seq uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	return b[:]
}

var _ api.Store = (*Replica)(nil)

// get returns the stored version of one item.
func (r *Replica) get(id string) (itemRecord, bool, error) {
	var rec itemRecord
	found := false
	err := r.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketItems).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	return rec, found, err
}

// OpenReplicaRecovering opens the replica like OpenReplica, except that a corrupt file is
// moved aside (to path.corrupt-<UTC time>, kept for salvage) and an empty replica opened in
// its place, which the replicator backfills from its peers. It returns, in a few words,
// what it found, for the integrity line `twinedge up` prints.
func OpenReplicaRecovering(path, region string, now time.Time) (*Replica, string, error) {
	fresh := true
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		fresh = false
	}
	r, err := OpenReplica(path, region)
	var ce *CorruptError
	if !errors.As(err, &ce) {
		if err != nil {
			return nil, "", err
		}
		if fresh {
			return r, "table new, to be backfilled", nil
		}
		return r, fmt.Sprintf("table ok (%d items)", r.items), nil
	}
	aside := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, aside); err != nil {
		return nil, "", fmt.Errorf("replica %s: %w; moving it aside failed too: %v", region, ce, err)
	}
	if r, err = OpenReplica(path, region); err != nil {
		return nil, "", err
	}
	return r, fmt.Sprintf("table CORRUPT (%s), moved to %s, starting empty, to be backfilled", ce.Reason, filepath.Base(aside)), nil
}
