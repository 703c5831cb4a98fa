package infra

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// SiteFunctionTwin is the Go implementation of SiteFunctionJS (edge.Twin). The local edge
// runs it instead of the JavaScript while the published code is exactly SiteFunctionJS:
// the JavaScript costs a JS run on every request, cache hits included (about 9× fewer hits
// per second through `twinedge up`), while this costs a few map lookups and keeps the
// cache-hit fast path. TestSiteFunctionTwin runs both on the same requests and stores and
// requires the same output. Where the JavaScript's answer depends on a value the release
// never writes (a store value that is not "<301|302|307|308> <target>"), the twin does not
// decide and the JavaScript runs.
func SiteFunctionTwin(kvs fnapi.KVS) (rewrite func(uri string) string, respond func(uri, rawQuery string) (*edge.FunctionResponse, bool)) {
	respond = func(uri, rawQuery string) (*edge.FunctionResponse, bool) {
		if kvs == nil {
			return nil, false // cf.kvs() would throw: the JavaScript's error it is
		}
		value, splat, found := findRedirect(kvs, uri)
		if !found {
			return nil, true
		}
		space := strings.IndexByte(value, ' ')
		if space < 0 {
			return nil, false
		}
		status, err := strconv.Atoi(value[:space])
		reason, known := redirectReasons[status]
		if err != nil || !known || value[:space] != strconv.Itoa(status) {
			return nil, false
		}
		location := strings.ReplaceAll(value[space+1:], ":splat", splat)
		if q := eventQueryString(rawQuery); q != "" {
			location += "?" + q
		}
		return &edge.FunctionResponse{StatusCode: status, StatusDescription: reason,
			Headers: map[string]edge.FunctionValue{"location": {Value: location}}}, true
	}
	return edge.SPARewriteURI, respond
}

var redirectReasons = map[int]string{301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect", 308: "Permanent Redirect"}

// findRedirect is the JavaScript's findRedirect: the path without one trailing slash, then
// path/*, then each splat prefix from the longest. The URIs the edge gives a function
// are ASCII (the escaped path), so byte and UTF-16 lengths agree.
func findRedirect(kvs fnapi.KVS, uri string) (value, splat string, found bool) {
	path := uri
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	rule := func(key string) (string, bool) {
		if len(key) > 512 {
			return "", false
		}
		return kvs.Get(key)
	}
	if !strings.HasSuffix(path, "/*") {
		if v, ok := rule(path); ok {
			return v, "", true
		}
	}
	if path != "/" {
		if v, ok := rule(path + "/*"); ok {
			return v, "", true
		}
	}
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			if v, ok := rule(path[:i+1] + "*"); ok {
				return v, path[i+1:], true
			}
		}
	}
	return "", "", false
}

// eventQueryString is the JavaScript's queryString(request.querystring): the query as
// the edge hands it to a function (each name and value percent-decoded, invalid UTF-8
// replaced byte by byte, as JSON carries it; repeated names grouped, in the first one's
// place), its names in the order JavaScript enumerates the event's object (array-index
// names ascending, then the others in the order of the event's JSON, which sorts them),
// each pair encoded with encodeURIComponent.
func eventQueryString(raw string) string {
	// As the edge builds the event (edge.EventQuery).
	query := edge.EventQuery(raw)
	values := make(map[string][]string, len(query))
	for k, v := range query {
		vs := []string{v.Value}
		if len(v.MultiValue) > 0 {
			vs = vs[:0]
			for _, m := range v.MultiValue {
				vs = append(vs, m.Value)
			}
		}
		for i := range vs {
			vs[i] = jsonString(vs[i])
		}
		values[k] = vs
	}
	// As encoding/json writes the object (names sorted) and JSON.parse reads it: two names
	// that become the same string keep the first one's place and the last one's values.
	type entry struct {
		name   string
		values []string
	}
	var entries []entry
	pos := map[string]int{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		name := jsonString(k)
		if i, seen := pos[name]; seen {
			entries[i].values = values[k]
			continue
		}
		pos[name] = len(entries)
		entries = append(entries, entry{name, values[k]})
	}
	// As JavaScript enumerates an object: array indexes first, ascending; then the rest
	// in the order they were added.
	slices.SortStableFunc(entries, func(a, b entry) int {
		ia, aIndex := arrayIndex(a.name)
		ib, bIndex := arrayIndex(b.name)
		switch {
		case aIndex && bIndex:
			return cmp.Compare(ia, ib)
		case aIndex:
			return -1
		case bIndex:
			return 1
		}
		return 0
	})
	var parts []string
	for _, e := range entries {
		for _, v := range e.values {
			parts = append(parts, encodeURIComponent(e.name)+"="+encodeURIComponent(v))
		}
	}
	return strings.Join(parts, "&")
}

// arrayIndex reports whether s is an array index (ECMA-262 §6.1.7: a canonical numeric
// string of an integer below 2³²−1), which JavaScript enumerates before other names.
func arrayIndex(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n >= 1<<32-1 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}

// jsonString is s as encoding/json carries it to the runtime: each byte of invalid UTF-8
// becomes U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		b.WriteRune(r) // RuneError for a bad byte
		s = s[n:]
	}
	return b.String()
}

// encodeURIComponent is JavaScript's (ECMA-262 §19.2.6.5): UTF-8 percent-encoding of
// everything but A–Z a–z 0–9 - _ . ! ~ * ' ( ).
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
