package infra_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/testtool"
)

// netlifyPackages are Netlify's redirect parser and engine (npm), the judges of the
// redirects: .ci/run installs them and sets NETLIFY_REDIRECTS_DIR to the install prefix.
const netlifyPackages = "@netlify/redirect-parser@16.1.1 @netlify/redirects@4.0.2"

type judgeCase struct {
	Rules string   `json:"rules"`
	Paths []string `json:"paths"`
}

type judgeRule struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Status int    `json:"status"`
	Force  bool   `json:"force"`
}

type judgeMatch struct {
	Status   int    `json:"status"`
	Location string `json:"location"`
}

type judgeResult struct {
	Rules   []judgeRule   `json:"rules"`
	Errors  []string      `json:"errors"`
	Matches []*judgeMatch `json:"matches"`
}

// runNetlify runs the cases through Netlify's parser and engine (testdata/netlify/judge.mjs).
func runNetlify(t *testing.T, cases []judgeCase) []judgeResult {
	t.Helper()
	node := testtool.Require(t, "node")
	dir := os.Getenv("NETLIFY_REDIRECTS_DIR")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@netlify", "redirects", "package.json")); dir == "" || err != nil {
		msg := "Netlify's redirect engine not found: npm install --prefix DIR " + netlifyPackages + ", then NETLIFY_REDIRECTS_DIR=DIR"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (required in CI)")
		}
		t.Skip(msg)
	}
	// ES modules resolve packages from the script's directory: run a copy beside them.
	src, err := os.ReadFile(filepath.Join("testdata", "netlify", "judge.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, fmt.Sprintf("twinedge-judge-%d.mjs", os.Getpid()))
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(script)
	in, _ := json.Marshal(cases)
	cmd := exec.Command(node, script)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("netlify judge: %v\n%s", err, stderr.String())
	}
	var res []judgeResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("netlify judge answered %d results for %d cases: %v", len(res), len(cases), err)
	}
	return res
}

// TestRedirectsAgainstNetlify: every _redirects file twinedge accepts is read by
// Netlify's own parser as the same rules, and every request gets from the site function
// (through TestFunction, the store filled as a release fills it) the redirect Netlify's
// engine answers: same status, same Location, or no redirect at all. The files are a
// hand-written set and a few hundred generated ones; twinedge refuses some that Netlify
// reads (it serves a subset), and those are only counted.
func TestRedirectsAgainstNetlify(t *testing.T) {
	cases := []judgeCase{
		{Rules: "/old /new\n/news/* /blog/:splat 302\n/docs/ https://docs.example.com/ 308\n/keep /target 307\n"},
		{Rules: "/a/b/* /deep/:splat\n/a/* /shallow/:splat 302\n/a/b/c /exact 301!\n"},
		{Rules: "/ /home 302\n/* https://new.example.com/:splat 301!\n"},
		{Rules: "# comment\n\n/Mixed/Case /lower\n/x.html /y.html\n"},
	}
	rng := rand.New(rand.NewPCG(12, 2026))
	for range 300 {
		cases = append(cases, judgeCase{Rules: randomRules(rng)})
	}
	var accepted []judgeCase
	var parsed [][]build.Redirect
	refused := 0
	for _, c := range cases {
		rules, err := build.ParseRedirects("_redirects", []byte(c.Rules))
		if err != nil {
			refused++
			continue
		}
		c.Paths = probePaths(rules)
		accepted = append(accepted, c)
		parsed = append(parsed, rules)
	}
	if len(accepted) < 100 {
		t.Fatalf("only %d of %d files accepted: the generator no longer exercises the matcher", len(accepted), len(cases))
	}
	results := runNetlify(t, accepted)
	e := newJSEdge(t)
	compared := 0
	for i, c := range accepted {
		res := results[i]
		if len(res.Errors) > 0 {
			t.Errorf("%q: twinedge accepts it, Netlify's parser refuses it: %v", c.Rules, res.Errors)
			continue
		}
		var want []judgeRule
		for _, r := range parsed[i] {
			want = append(want, judgeRule{From: r.From, To: r.To, Status: r.Status, Force: r.Force})
		}
		var got []judgeRule
		for _, r := range res.Rules {
			if from := strings.TrimSuffix(r.From, "/"); !strings.HasSuffix(r.From, "/*") && from != "" {
				r.From = from // twinedge keeps FROM without its trailing slash; both match both
			}
			got = append(got, r)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: Netlify parses %v, twinedge %v", c.Rules, got, want)
			continue
		}
		store := edge.NewKeyValueStore("kvs", time.Now())
		puts := map[string]string{}
		for _, r := range parsed[i] {
			k, v := r.Entry()
			puts[k] = v
		}
		if _, err := store.Update(store.ETag(), puts, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		fn := &edge.Function{Name: infra.SiteFunctionName, Runtime: edge.FunctionRuntime, Code: infra.SiteFunctionJS, KVS: store}
		for j, p := range c.Paths {
			uri, query, _ := strings.Cut(p, "?")
			tr, err := e.TestFunction(fn, testEvent(uri, query), store)
			if err != nil || tr.Error != "" {
				t.Fatalf("TestFunction %s: %v %s", p, err, tr.Error)
			}
			var out struct {
				Response *struct {
					StatusCode int                          `json:"statusCode"`
					Headers    map[string]map[string]string `json:"headers"`
				} `json:"response"`
			}
			json.Unmarshal([]byte(tr.Output), &out)
			var ours *judgeMatch
			if out.Response != nil {
				ours = &judgeMatch{Status: out.Response.StatusCode, Location: out.Response.Headers["location"]["value"]}
			}
			theirs := res.Matches[j]
			if fmt.Sprint(ours) != fmt.Sprint(theirs) {
				t.Errorf("rules %q, GET %s: the site function answers %v, Netlify %v", c.Rules, p, ours, theirs)
			}
			compared++
		}
	}
	t.Logf("%d files: %d accepted and compared with Netlify (%d requests), %d refused (outside twinedge's subset)", len(cases), len(accepted), compared, refused)
}

// probePaths are the requests asked of a rule set: each FROM as written, with and
// without a trailing slash, below a splat, in upper case, with a query; and paths that
// match nothing.
func probePaths(rules []build.Redirect) []string {
	paths := []string{"/", "/nothing-here", "/index.html?x=1"}
	for _, r := range rules {
		base := strings.TrimSuffix(r.From, "/*")
		if base == "" {
			base = "/"
		}
		paths = append(paths, base, strings.TrimSuffix(base, "/")+"/", base+"?q=1&r=2", strings.ToUpper(base), base+"x")
		if r.Splat() {
			paths = append(paths, strings.TrimSuffix(base, "/")+"/s1", strings.TrimSuffix(base, "/")+"/s1/s2.html?k=v")
		}
	}
	return paths
}

// randomRules writes a small _redirects file from a grammar around the subset: exact
// and splat FROMs over a few segments, paths and URLs as targets, :splat, statuses and !.
func randomRules(rng *rand.Rand) string {
	segs := []string{"a", "b", "old", "new", "x.html", "blog", "A"}
	path := func(max int) string {
		var b strings.Builder
		for range 1 + rng.IntN(max) {
			b.WriteString("/" + segs[rng.IntN(len(segs))])
		}
		return b.String()
	}
	var b strings.Builder
	for range 1 + rng.IntN(4) {
		from := path(3)
		splat := rng.IntN(3) == 0
		if splat {
			from += "/*"
		} else if rng.IntN(4) == 0 {
			from += "/"
		}
		to := path(2)
		switch rng.IntN(4) {
		case 0:
			to = "https://other.example" + to
		case 1:
			to += "/"
		}
		if splat && rng.IntN(2) == 0 {
			to = strings.TrimSuffix(to, "/") + "/:splat"
		}
		line := from + " " + to
		if s := rng.IntN(5); s > 0 {
			line += " " + []string{"301", "302", "307", "308"}[s-1]
			if rng.IntN(4) == 0 {
				line += "!"
			}
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
