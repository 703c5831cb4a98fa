package edge

import (
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cacheKey identifies one cached object. path is the request path after viewer-request
// functions (the URI CloudFront looks up); variant holds everything else the cache policy
// puts in the key (normalised Accept-Encoding, query strings, headers, cookies), "" when
// nothing. Keeping path separate lets Invalidate match paths without parsing keys
// (spec/cloudfront.md §4.1: an invalidation removes every variant of a path).
type cacheKey struct {
	path    string
	variant string
}

// entry is one cached response, stored exactly as it is sent to viewers so a hit copies
// header slices and writes the body once.
type entry struct {
	key    cacheKey
	uri    string // path plus "?query" when query strings are in the key, for invalidation
	status int
	header http.Header // viewer-facing headers; slices are clipped and never mutated
	body   []byte
	stored time.Time
	// initialAge is the Age the response had when it was stored (RFC 9111 §4.2.3
	// corrected_initial_age), in seconds.
	initialAge int64
	fresh      freshness
	// errorTTL > 0 marks a cached error response (spec/cloudfront.md §3.2).
	isError bool
	etag    string
	lastMod string
	// varyAll: "Vary: *" — keep, but go to the origin on every request without
	// conditional headers (§2.4).
	varyAll bool
	// wire caches the prepared response head for the hit fast path (hitpath.go); set
	// by cache.put, nil for entries that were never stored.
	wire *wireSlot
}

// expires returns when the entry stops being fresh.
func (e *entry) expires() time.Time { return e.stored.Add(e.fresh.ttl) }

// age is the entry's current_age of RFC 9111 §4.2.3, the value of the Age header on a
// hit: the age it had when it arrived (initialAge) plus the seconds it has been in the
// cache since. CloudFront documents no Age handling of its own (spec §2.8), so the RFC
// decides; an object that came from the origin with "Age: 7200" is never younger than
// 7200 on a hit.
func (e *entry) age(now time.Time) int64 {
	a := int64(now.Sub(e.stored) / time.Second)
	if a < 0 {
		a = 0
	}
	return min(e.initialAge+a, maxAge)
}

// maxAge is the largest Age a cache sends: "If a cache receives a delta-seconds value
// greater than the greatest integer it can represent, or if any of its subsequent
// calculations overflows, the cache MUST consider the value to be 2147483648 (2^31)"
// (RFC 9111 §1.2.2).
const maxAge = 1 << 31

// initialAge is corrected_initial_age (RFC 9111 §4.2.3) for a response with header h
// received at now: the larger of its apparent age (now − Date) and its Age field. The
// request is sent and answered within the same second here, so response_delay is 0.
func initialAge(h http.Header, now time.Time) int64 {
	var apparent int64
	if d, ok := h["Date"]; ok && len(d) == 1 {
		if t, err := parseHTTPDate(d[0], now); err == nil && now.After(t) {
			apparent = min(int64(now.Sub(t)/time.Second), maxAge)
		}
	}
	return max(apparent, parseAge(h["Age"]))
}

// parseAge reads an Age field (RFC 9111 §5.1): "a cache encountering a message with a
// list-based Age field value SHOULD use the first member of the field value, discarding
// subsequent ones", and "If the field value ... is invalid (e.g., it contains something
// other than a non-negative integer), a cache SHOULD ignore the field". Too large a
// value is 2^31.
func parseAge(vs []string) int64 {
	if len(vs) == 0 {
		return 0
	}
	first, _, _ := strings.Cut(vs[0], ",")
	first = strings.Trim(first, " \t")
	n, ok := int64(0), first != ""
	for i := 0; i < len(first) && ok; i++ {
		c := first[i]
		if c < '0' || c > '9' {
			ok = false
			break
		}
		if n = n*10 + int64(c-'0'); n > maxAge {
			n = maxAge
		}
	}
	if !ok {
		return 0
	}
	return n
}

const cacheShards = 64

// cache is a sharded map: hits take one shard's read lock, so concurrent hits on different
// keys never contend and hits on the same key only share a read lock.
type cache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	// size is the bytes of bodies held; beyond max, put evicts (expired entries first).
	size    atomic.Int64
	max     int64
	now     func() time.Time
	evictMu sync.Mutex
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[cacheKey]*entry
}

func newCache(max int64, now func() time.Time) *cache {
	c := &cache{seed: maphash.MakeSeed(), max: max, now: now}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]*entry)
	}
	return c
}

func (c *cache) shard(k cacheKey) *cacheShard {
	return &c.shards[maphash.String(c.seed, k.path)%cacheShards]
}

func (c *cache) get(k cacheKey) *entry {
	s := c.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	return e
}

func (c *cache) put(e *entry) {
	if e.wire == nil {
		e.wire = new(wireSlot)
	}
	s := c.shard(e.key)
	s.mu.Lock()
	if old := s.m[e.key]; old != nil {
		c.size.Add(-int64(len(old.body)))
	}
	s.m[e.key] = e
	s.mu.Unlock()
	if c.size.Add(int64(len(e.body))) > c.max {
		c.evict()
	}
}

// evict brings the cache under 90% of its budget: expired entries go first, then
// whatever the shards yield (CloudFront evicts less-requested objects; the local edge
// only needs a bound).
func (c *cache) evict() {
	if !c.evictMu.TryLock() {
		return // another put is already evicting
	}
	defer c.evictMu.Unlock()
	target := c.max / 10 * 9
	now := c.now()
	for pass := 0; pass < 2 && c.size.Load() > target; pass++ {
		for i := range c.shards {
			s := &c.shards[i]
			s.mu.Lock()
			for k, e := range s.m {
				if pass == 0 && now.Before(e.expires().Add(max(e.fresh.swr, e.fresh.sie))) {
					continue
				}
				delete(s.m, k)
				c.size.Add(-int64(len(e.body)))
				if c.size.Load() <= target {
					break
				}
			}
			s.mu.Unlock()
			if c.size.Load() <= target {
				return
			}
		}
	}
}

// remove deletes e if it is still the entry stored under its key.
func (c *cache) remove(e *entry) {
	s := c.shard(e.key)
	s.mu.Lock()
	if s.m[e.key] == e {
		delete(s.m, e.key)
		c.size.Add(-int64(len(e.body)))
	}
	s.mu.Unlock()
}

// invalidate removes every entry matched by one of the paths, with CloudFront semantics
// (spec/cloudfront.md §4.1): a path matches exactly, or as a prefix when it ends with
// '*'; matching is case-sensitive; all variants of a path go regardless of the headers,
// cookies or Accept-Encoding in their key; a path without '?' matches the object
// whatever its query string. It returns the number of entries removed.
func (c *cache) invalidate(paths []string) int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if invalidationMatches(paths, e) {
				delete(s.m, k)
				c.size.Add(-int64(len(e.body)))
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

func invalidationMatches(paths []string, e *entry) bool {
	for _, p := range paths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(e.uri, prefix) {
				return true
			}
			continue
		}
		if p == e.key.path || p == e.uri {
			return true
		}
	}
	return false
}

// len returns the number of cached entries (for tests and status).
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
