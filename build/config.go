package build

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ConfigFile is the name of the per-directory release config looked for in a static
// directory (`twinedge release --dir DIR`). It is never uploaded.
const ConfigFile = ".twinedge.json"

// Config overrides, by glob, what a static directory's files are served with.
//
//	{
//	  "rules": [
//	    {"match": "assets/**", "cacheControl": "public, max-age=31536000, immutable"},
//	    {"match": "*.html", "contentType": "text/html; charset=utf-8"}
//	  ],
//	  "exclude": ["**/*.map"],
//	  "routes": ["/status", "/about"]
//	}
//
// For each header the first rule that matches the file and sets the header wins, so
// one rule can set Cache-Control and a later one Content-Type. Files matching an
// exclude glob are neither uploaded nor deleted... they are simply not part of the site.
// Routes are SPA routes invalidated with index.html.
type Config struct {
	Rules   []Rule   `json:"rules"`
	Exclude []string `json:"exclude"`
	Routes  []string `json:"routes"`
}

// Rule sets headers for the files that Match.
type Rule struct {
	// Match is a glob over the slash path relative to the directory: "*" matches any
	// run of characters but "/", "**" any run including "/", "?" one character but
	// "/", and "\" quotes the next character. A pattern without "/" is matched
	// against the file's base name ("*.html" matches "docs/a.html").
	Match        string `json:"match"`
	CacheControl string `json:"cacheControl,omitempty"`
	ContentType  string `json:"contentType,omitempty"`
}

// ParseConfig decodes and validates a config file.
func ParseConfig(data []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode release config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode release config: trailing data after the JSON object")
	}
	for i, r := range c.Rules {
		if err := validGlob(r.Match); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		if strings.ContainsAny(r.CacheControl+r.ContentType, "\r\n\x00") {
			return nil, fmt.Errorf("rule %d (%s): header value contains a control character", i+1, r.Match)
		}
	}
	for _, g := range c.Exclude {
		if err := validGlob(g); err != nil {
			return nil, fmt.Errorf("exclude: %w", err)
		}
	}
	for _, r := range c.Routes {
		if !strings.HasPrefix(r, "/") || strings.ContainsAny(r, "*?\r\n\x00") || len(r) > maxPathLength {
			return nil, fmt.Errorf("route %q: want a path like /status", r)
		}
	}
	return &c, nil
}

func validGlob(g string) error {
	switch {
	case g == "":
		return errors.New("empty glob")
	case len(g) > 1024:
		return fmt.Errorf("glob %.40q… is too long", g)
	case strings.HasPrefix(g, "/"):
		return fmt.Errorf("glob %q: paths are relative, drop the leading /", g)
	case strings.HasSuffix(g, `\`) && !strings.HasSuffix(g, `\\`):
		return fmt.Errorf("glob %q ends with a lone backslash", g)
	}
	return nil
}

// loadConfig reads the config for a static directory: file when given, otherwise
// dir/.twinedge.json when it exists, otherwise an empty config.
func loadConfigFile(dir, file string) (*Config, error) {
	name := file
	if name == "" {
		name = filepath.Join(dir, ConfigFile)
		if _, err := os.Stat(name); errors.Is(err, os.ErrNotExist) {
			return &Config{}, nil
		}
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read release config: %w", err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// matchGlob reports whether the slash path p matches glob g (syntax in Rule.Match).
func matchGlob(g, p string) bool {
	if !strings.Contains(g, "/") {
		p = path.Base(p)
	}
	return globMatch(g, p)
}

// globMatch is an iterative matcher with one backtrack point per star kind, linear in
// practice and never exponential: "**" subsumes any later "*" backtracking.
func globMatch(g, s string) bool {
	// Dynamic programming over positions keeps the worst case at len(g)*len(s).
	type tok struct {
		kind byte // 'l' literal, '?' one non-slash, '*' non-slash run, 'S' any run
		c    byte
	}
	var toks []tok
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '\\' && i+1 < len(g):
			i++
			toks = append(toks, tok{'l', g[i]})
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			for i+1 < len(g) && g[i+1] == '*' {
				i++
			}
			toks = append(toks, tok{kind: 'S'})
		case c == '*':
			toks = append(toks, tok{kind: '*'})
		case c == '?':
			toks = append(toks, tok{kind: '?'})
		default:
			toks = append(toks, tok{'l', c})
		}
	}
	// cur[j]: toks[:i] can match s[:j].
	cur := make([]bool, len(s)+1)
	next := make([]bool, len(s)+1)
	cur[0] = true
	for _, t := range toks {
		for j := range next {
			next[j] = false
		}
		switch t.kind {
		case 'S', '*':
			reach := false
			for j := 0; j <= len(s); j++ {
				if cur[j] {
					reach = true
				}
				if reach {
					next[j] = true
				}
				if t.kind == '*' && j < len(s) && s[j] == '/' {
					reach = false
				}
			}
		default:
			for j := 0; j < len(s); j++ {
				if cur[j] && (t.kind == '?' && s[j] != '/' || t.kind == 'l' && s[j] == t.c) {
					next[j+1] = true
				}
			}
		}
		cur, next = next, cur
	}
	return cur[len(s)]
}
