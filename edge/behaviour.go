package edge

import (
	"strings"
)

// matchPattern reports whether path matches a CloudFront cache-behaviour path pattern
// (spec/cloudfront.md §2.1): '*' matches zero or more characters and crosses '/', '?'
// matches exactly one character, matching is case-sensitive, and a leading '/' on either
// side is optional ("CloudFront behavior is the same with or without the leading /").
// The query string is never part of path. Runs in O(len(pattern)·len(path)) worst case
// without recursion, so hostile paths cannot blow the stack.
func matchPattern(pattern, path string) bool {
	pattern = strings.TrimPrefix(pattern, "/")
	path = strings.TrimPrefix(path, "/")
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(path) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == path[s]) && pattern[p] != '*':
			p++
			s++
		case p < len(pattern) && pattern[p] == '*':
			starP, starS = p, s
			p++
		case starP >= 0:
			starS++
			p, s = starP+1, starS
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// normalizePath returns the path CloudFront compares with path patterns. The current
// Developer Guide ("Path pattern") says CloudFront normalises URI paths consistent with
// RFC 3986 before matching a cache behaviour, and still sends the raw path to the origin
// [DG-now; not in the 2023 snapshot spec/cloudfront.md cites, so treat as INFER]. Here:
// percent-encoded unreserved characters are decoded (so "%2e%2e" is "..", but "%2F" stays
// an encoded slash and never becomes a separator), runs of '/' collapse, and dot segments
// are removed (RFC 3986 §5.2.4) without ever climbing above the root.
func normalizePath(raw string) string {
	if raw == "" {
		return "/"
	}
	// Fast path: nothing to normalise (the common case for assets and pages).
	if !strings.Contains(raw, "%") && !strings.Contains(raw, "//") && !strings.Contains(raw, "/.") && raw[0] == '/' {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		v, ok := byte(0), false
		if i+2 < len(raw) {
			v, ok = unhex2(raw[i+1], raw[i+2])
		}
		switch {
		case ok && isUnreserved(v):
			b.WriteByte(v)
		case ok:
			// RFC 3986 §6.2.2.1: escapes of reserved bytes stay, in upper case.
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(raw[i+1 : i+3]))
		default:
			// A '%' that starts no escape is itself escaped, so no escape can be formed
			// by what follows it ("%7%30" must not become "%70", then "p"): normalising
			// twice gives what normalising once gave.
			b.WriteString("%25")
			continue
		}
		i += 2
	}
	decoded := b.String()
	segs := strings.Split(decoded, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, s)
	}
	n := "/" + strings.Join(out, "/")
	last := segs[len(segs)-1]
	if (last == "" || last == "." || last == "..") && n != "/" {
		n += "/"
	}
	return n
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validPathPattern checks a cache behaviour's PathPattern against the documented limits
// (§2.1: at most 255 characters from A-Z a-z 0-9 _ - . * $ / ~ " ' @ : + and &).
func validPathPattern(p string) bool {
	if p == "" || len(p) > 255 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("_-.*$/~\"'@:+&?", rune(c)) {
			return false
		}
	}
	return true
}
