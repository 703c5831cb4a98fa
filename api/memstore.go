package api

import (
	"context"
	"sort"
	"sync"
)

// MemoryStore is a Store in process memory: for tests, benchmarks and a bootstrap that must
// answer without a table. It keeps the same contract as dynamo.Store.
type MemoryStore struct {
	mu     sync.Mutex
	byID   map[string]Message
	sorted []Message // ascending by SortKey
	// Down, when set, makes Ping and every call fail, to exercise the 503 paths.
	down error
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{byID: map[string]Message{}}
}

// SetDown makes every call fail with err until SetDown(nil).
func (s *MemoryStore) SetDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

// Len returns the number of stored messages.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, m Message) (Message, Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return Message{}, 0, s.down
	}
	if old, ok := s.byID[m.ID]; ok {
		if old.SameContent(m) {
			return old, Existing, nil
		}
		return old, Conflict, nil
	}
	s.byID[m.ID] = m
	k := m.SortKey()
	i := sort.Search(len(s.sorted), func(i int) bool { return s.sorted[i].SortKey() >= k })
	s.sorted = append(s.sorted, Message{})
	copy(s.sorted[i+1:], s.sorted[i:])
	s.sorted[i] = m
	return m, Created, nil
}

// List implements Store.
func (s *MemoryStore) List(_ context.Context, limit int, cursor string) ([]Message, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, "", s.down
	}
	end := len(s.sorted) // exclusive; walk downwards from end-1
	if cursor != "" {
		sk, err := DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		end = sort.Search(len(s.sorted), func(i int) bool { return s.sorted[i].SortKey() >= sk })
	}
	var out []Message
	for i := end - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.sorted[i])
	}
	next := ""
	if len(out) == limit && end-limit > 0 {
		next = EncodeCursor(out[len(out)-1].SortKey())
	}
	return out, next, nil
}

// Ping implements Store.
func (s *MemoryStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

var _ Store = (*MemoryStore)(nil)
