package edge

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// KeyValueStore limits (DG kvs-with-functions-create-s3-kvp and cloudfront-limits,
// "KeyValueStore"): a key of at most 512 characters, a value of at most 1024, and 5 MB
// of keys and values in a store.
const (
	MaxKVSKey   = 512
	MaxKVSValue = 1024
	MaxKVSSize  = 5 << 20
)

// KeyValueStore is one CloudFront KeyValueStore: its keys and values, which functions
// read with cf.kvs() and the cloudfront-keyvaluestore API changes, each change under the
// store's ETag.
type KeyValueStore struct {
	mu       sync.RWMutex
	id       string
	data     map[string]string
	size     int64
	etag     string
	created  time.Time
	modified time.Time
}

var _ fnapi.KVS = (*KeyValueStore)(nil)

// NewKeyValueStore returns an empty store with the given id.
func NewKeyValueStore(id string, now time.Time) *KeyValueStore {
	return &KeyValueStore{id: id, data: map[string]string{}, etag: mustID('E', 13), created: now, modified: now}
}

// ID implements fnapi.KVS.
func (s *KeyValueStore) ID() string { return s.id }

// Get implements fnapi.KVS.
func (s *KeyValueStore) Get(key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.data[key]
	return v, ok
}

// Meta implements fnapi.KVS.
func (s *KeyValueStore) Meta() fnapi.KVSMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fnapi.KVSMeta{Created: s.created, LastUpdated: s.modified, KeyCount: len(s.data)}
}

// ETag is the store's current version, the If-Match of its next Update.
func (s *KeyValueStore) ETag() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.etag
}

// kvsState is what a store reports after a change.
type kvsState struct {
	Items int
	Size  int64
	ETag  string
}

func (s *KeyValueStore) state() kvsState {
	return kvsState{Items: len(s.data), Size: s.size, ETag: s.etag}
}

// kvsError is a refused change, with the cloudfront-keyvaluestore error it answers.
type kvsError struct {
	status int
	code   string
	msg    string
}

func (e *kvsError) Error() string { return e.code + ": " + e.msg }

// Update puts and deletes keys in one all-or-nothing change (API UpdateKeys), if ifMatch
// is the store's ETag. A change that breaks a limit changes nothing.
func (s *KeyValueStore) Update(ifMatch string, puts map[string]string, deletes []string, now time.Time) (kvsState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifMatch != s.etag {
		return kvsState{}, &kvsError{409, "ConflictException", "The If-Match ETag does not match the key value store's current ETag."}
	}
	next := maps.Clone(s.data)
	for _, k := range deletes {
		if err := checkKVSKey(k); err != nil {
			return kvsState{}, err
		}
		delete(next, k)
	}
	for _, k := range slices.Sorted(maps.Keys(puts)) {
		v := puts[k]
		if err := checkKVSKey(k); err != nil {
			return kvsState{}, err
		}
		if len(v) > MaxKVSValue {
			return kvsState{}, &kvsError{400, "ValidationException", fmt.Sprintf("the value of %q is %d bytes; the limit is %d", k, len(v), MaxKVSValue)}
		}
		next[k] = v
	}
	var size int64
	for k, v := range next {
		size += int64(len(k) + len(v))
	}
	if size > MaxKVSSize {
		return kvsState{}, &kvsError{402, "ServiceQuotaExceededException", fmt.Sprintf("the store would hold %d bytes; the limit is 5 MB", size)}
	}
	s.data, s.size, s.etag, s.modified = next, size, mustID('E', 13), now
	return s.state(), nil
}

func checkKVSKey(k string) error {
	if k == "" || len(k) > MaxKVSKey {
		return &kvsError{400, "ValidationException", fmt.Sprintf("a key is 1-%d bytes, not %d", MaxKVSKey, len(k))}
	}
	return nil
}

// snapshot returns the keys in order with their values, and the store's state.
func (s *KeyValueStore) snapshot() ([]string, map[string]string, kvsState) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.data)), maps.Clone(s.data), s.state()
}
