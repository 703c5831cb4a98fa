package jsfunc

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// Pages of the CloudFront Developer Guide the tests cite.
const (
	pageRuntime20    = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html"
	pageFeatures     = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-features.html"
	pageRestrictions = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-function-restrictions.html"
	pageHelpers      = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/helper-functions-origin-modification.html"
	pageKVSHelper    = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-kvs-helper.html"
	pageLimits       = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-functions"
)

const viewerRequest = `{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/a","querystring":{},"headers":{},"cookies":{}}}`

func mustCompile(t *testing.T, code string) fnapi.Program {
	t.Helper()
	p, err := Compile("f", "", code)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

// run runs code on event and returns the output, failing the test on an error.
func run(t *testing.T, code, event string, env fnapi.Env) *fnapi.Result {
	t.Helper()
	res, err := mustCompile(t, code).Run([]byte(event), env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// value runs a handler that returns {v: <expr>} and gives the JSON of v.
func value(t *testing.T, prelude, expr string) string {
	t.Helper()
	code := prelude + "\nfunction handler(event) { return { v: (" + expr + ") }; }"
	out := string(run(t, code, viewerRequest, fnapi.Env{}).Output)
	return strings.TrimSuffix(strings.TrimPrefix(out, `{"v":`), "}")
}

func runErr(t *testing.T, code string, env fnapi.Env) error {
	t.Helper()
	_, err := mustCompile(t, code).Run([]byte(viewerRequest), env)
	return err
}

func TestRunsHandlerAndAwaitsPromise(t *testing.T) {
	for _, code := range []string{
		`function handler(event) { event.request.uri = '/x' + event.request.uri; return event.request; }`,
		`async function handler(event) { event.request.uri = '/x' + event.request.uri; return event.request; }`,
	} {
		out := run(t, code, `{"request":{"uri":"/a"}}`, fnapi.Env{})
		if string(out.Output) != `{"uri":"/x/a"}` {
			t.Errorf("%s: %s", code, out.Output)
		}
	}
}

func TestBudgetStopsRunawayCodeAndThePoolRecovers(t *testing.T) {
	p := mustCompile(t, `function handler(event) { if (event.loop) { while (true) {} } return event; }`)
	res, err := p.Run([]byte(`{"loop":true}`), fnapi.Env{})
	if err == nil || !strings.Contains(err.Error(), "compute") || res.ComputeUtilization != 100 {
		t.Fatalf("runaway handler: %v (utilization %d)", err, res.ComputeUtilization)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if out, err := p.Run([]byte(`{"loop":false}`), fnapi.Env{}); err != nil || string(out.Output) != `{"loop":false}` {
				t.Errorf("after an interrupt: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestRefusesBadCodeAndBadEvents(t *testing.T) {
	for _, code := range []string{"function handler(event) { return ", "var x = 1;", "throw new Error('at load')", "import x from 'nope'; function handler(e) { return e; }", "export { nothing }"} {
		if _, err := Compile("f", "", code); err == nil {
			t.Errorf("Compile(%q) succeeded", code)
		}
	}
	p := mustCompile(t, `function handler(event) { return undefined; }`)
	if _, err := p.Run([]byte(`{}`), fnapi.Env{}); err == nil {
		t.Error("a handler returning nothing succeeded")
	}
	if _, err := p.Run([]byte(`{not json`), fnapi.Env{}); err == nil {
		t.Error("a malformed event was run")
	}
}

// pageRuntime20, "Built-in modules"; pageHelpers: "import cf from 'cloudfront'" on the
// first line; AWS's KVS samples import crypto the same way.
func TestModuleSyntax(t *testing.T) {
	for _, code := range []string{
		"import cf from 'cloudfront';\nimport crypto from 'crypto';\nfunction handler(event) { return {v: typeof cf.kvs + typeof crypto.createHash}; }",
		"import crypto from 'crypto';\nconst handler = (event) => ({v: typeof crypto.createHmac + 'function'});\nexport { handler };",
		"import qs from 'querystring';\nexport function handler(event) { return {v: typeof qs.parse + 'function'}; }",
		"const crypto = require('crypto');\nfunction handler(event) { return {v: typeof crypto.createHash + 'function'}; }",
	} {
		if out := string(run(t, code, viewerRequest, fnapi.Env{}).Output); out != `{"v":"functionfunction"}` {
			t.Errorf("%s\n→ %s", code, out)
		}
	}
}

// pageRuntime20, "Crypto"; pageFeatures: digest() with no encoding returns a Buffer in 2.0.
func TestCrypto(t *testing.T) {
	const imp = "import crypto from 'crypto';"
	cases := []struct{ expr, want string }{
		{`crypto.createHash('md5').update('abc').digest('hex')`, `"900150983cd24fb0d6963f7d28e17f72"`},
		{`crypto.createHash('sha1').update('abc').digest('hex')`, `"a9993e364706816aba3e25717850c26c9cd0d89d"`},
		{`crypto.createHash('sha256').update('a').update('bc').digest('base64')`, `"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="`},
		{`crypto.createHash('sha256').update('abc').digest('base64url')`, `"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"`},
		{`crypto.createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex')`, `"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"`},
		{`crypto.createHmac('sha256', Buffer.from('key')).update(Buffer.from('The quick brown fox jumps over the lazy dog')).digest('hex')`, `"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"`},
		{`Buffer.isBuffer(crypto.createHash('md5').update('abc').digest())`, `true`},
		{`crypto.createHash('md5').update('abc').digest().toString('hex')`, `"900150983cd24fb0d6963f7d28e17f72"`},
		{`crypto.createHash('md5').update('616263', 'hex').digest('hex')`, `"900150983cd24fb0d6963f7d28e17f72"`},
	}
	for _, c := range cases {
		if got := value(t, imp, c.expr); got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
	for _, expr := range []string{`crypto.createHash('sha512')`, `(function(){ const h = crypto.createHash('md5'); h.digest(); return h.digest(); })()`} {
		if err := runErr(t, imp+"function handler(e) { return {v: "+expr+"}; }", fnapi.Env{}); err == nil {
			t.Errorf("%s did not fail", expr)
		}
	}
}

// pageRuntime20, "Buffer".
func TestBuffer(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`Buffer.from('héllo').toString('hex')`, `"68c3a96c6c6f"`},
		{`Buffer.from('68c3a96c6c6f', 'hex').toString()`, `"héllo"`},
		{`Buffer.from('aGk/Pz4-', 'base64url').toString('latin1')`, `"hi??>>"`},
		{`Buffer.from('aGk_Pz4', 'base64').toString('base64')`, `"aGk/Pz4="`},
		{`Buffer.from([104, 105]).toString()`, `"hi"`},
		{`Buffer.alloc(3, 'ab').toString()`, `"aba"`},
		{`Buffer.concat([Buffer.from('a'), Buffer.from('bc')]).toString()`, `"abc"`},
		{`Buffer.byteLength('héllo')`, `6`},
		{`Buffer.from('abc').equals(Buffer.from('abc'))`, `true`},
		{`Buffer.compare(Buffer.from('a'), Buffer.from('b'))`, `-1`},
		{`Buffer.from('hello').slice(1, 3).toString()`, `"el"`},
		{`Buffer.isBuffer(Buffer.from('x').subarray(0))`, `true`},
		{`Buffer.from('hello').indexOf('ll')`, `2`},
		{`Buffer.from([1, 2, 3, 4]).readUInt32BE(0)`, `16909060`},
		{`(function(){ const b = Buffer.alloc(2); b.writeUInt16LE(258); return b.toString('hex'); })()`, `"0201"`},
		{`Buffer.isEncoding('base64url') && !Buffer.isEncoding('nope')`, `true`},
		{`JSON.stringify(Buffer.from('hi'))`, `"{\"type\":\"Buffer\",\"data\":[104,105]}"`},
		{`require('buffer').Buffer === Buffer`, `true`},
	}
	for _, c := range cases {
		if got := value(t, "", c.expr); got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
}

// pageRuntime20, "Query string".
func TestQuerystring(t *testing.T) {
	const imp = "import querystring from 'querystring';"
	cases := []struct{ expr, want string }{
		{`querystring.parse('a=1&b=x%20y&a=2&c&d=e+f')`, `{"a":["1","2"],"b":"x y","c":"","d":"e f"}`},
		{`querystring.stringify({a: ['1', '2'], b: 'x y', c: 3, d: true, e: null})`, `"a=1&a=2&b=x%20y&c=3&d=true&e="`},
		{`querystring.parse('a:1;b:2', ';', ':')`, `{"a":"1","b":"2"}`},
		{`querystring.escape('a b&c/é')`, `"a%20b%26c%2F%C3%A9"`},
		{`querystring.unescape('a%20b%zz')`, `"a b%zz"`},
		{`Object.keys(querystring.parse('a=1&b=2&c=3', null, null, {maxKeys: 2})).length`, `2`},
		{`querystring.decode === querystring.parse && querystring.encode === querystring.stringify`, `true`},
	}
	for _, c := range cases {
		if got := value(t, imp, c.expr); got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, got, c.want)
		}
	}
}

// pageRestrictions, "Logs": console output is the run's log, truncated at 10 KB; logging
// never fails a run.
func TestConsoleLogs(t *testing.T) {
	res := run(t, `function handler(event) {
		console.log('uri', event.request.uri, 1, {a: 1});
		console.warn(new Error('boom'));
		for (let i = 0; i < 2000; i++) console.log('0123456789');
		return event.request;
	}`, viewerRequest, fnapi.Env{})
	if len(res.Logs) < 2 || res.Logs[0] != `uri /a 1 {"a":1}` || res.Logs[1] != "Error: boom" {
		t.Errorf("logs start %q", res.Logs[:2])
	}
	total := 0
	for _, l := range res.Logs {
		total += len(l)
	}
	if total != logLimit {
		t.Errorf("logs hold %d bytes, want the 10 KB limit %d", total, logLimit)
	}
}

// pageRuntime20, "Core features": functions run in strict mode.
func TestStrictMode(t *testing.T) {
	if err := runErr(t, `function handler(event) { undeclared = 1; return event.request; }`, fnapi.Env{}); err == nil || !strings.Contains(err.Error(), "undeclared") {
		t.Errorf("assignment to an undeclared variable: %v", err)
	}
	if got := value(t, "", `(function() { return this === undefined; })()`); got != "true" {
		t.Errorf("this in a plain call is %s, want undefined (strict)", got)
	}
}

// pageRuntime20, "Restricted features": dynamic code evaluation and timers.
func TestNoDynamicCodeNoTimers(t *testing.T) {
	for _, expr := range []string{
		`eval('1 + 1')`,
		`new Function('return 1')()`,
		`Function('return 1')()`,
		`(function(){}).constructor('return 1')()`,
		`(async function(){}).constructor('return 1')`,
		`setTimeout(function() {}, 1)`,
	} {
		if err := runErr(t, "function handler(event) { return {v: "+expr+"}; }", fnapi.Env{}); err == nil {
			t.Errorf("%s ran", expr)
		}
	}
}

// pageRuntime20, "Restricted features": every Date reading during a run is the time the
// run started.
func TestDateIsFrozenDuringARun(t *testing.T) {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	res := run(t, `function handler(event) {
		const a = Date.now();
		let x = 0;
		for (let i = 0; i < 20000; i++) x += i;
		return {a: a, b: Date.now(), iso: new Date().toISOString(), x: x > 0};
	}`, viewerRequest, fnapi.Env{Now: start})
	want := `{"a":1772600767000,"b":1772600767000,"iso":"2026-03-04T05:06:07.000Z","x":true}`
	if string(res.Output) != want {
		t.Errorf("got %s, want %s", res.Output, want)
	}
}

// pageLimits: 2 MB of memory. A 3 MiB string is refused, even when the function catches
// the error; the pool gives the next run a fresh runtime.
func TestMemoryLimit(t *testing.T) {
	for _, code := range []string{
		`function handler(event) { const s = 'x'.repeat(3 * 1024 * 1024); return {n: s.length}; }`,
		`function handler(event) { try { const s = 'x'.repeat(3 * 1024 * 1024); } catch (e) {} return {ok: true}; }`,
		`function handler(event) { const parts = []; for (let i = 0; i < 96; i++) parts.push('x'.repeat(32768)); return {n: parts.join('').length}; }`,
		`function handler(event) { return {b: Buffer.alloc(3 * 1024 * 1024).length}; }`,
		`function handler(event) { let s = 'xxxxxxxx'; while (s.length < 3 * 1024 * 1024) s += s; return {s: s}; }`,
	} {
		err := runErr(t, code, fnapi.Env{})
		if err == nil || !strings.Contains(err.Error(), "memory limit") {
			t.Errorf("%s: %v", code, err)
		}
	}
	if got := value(t, "", `'x'.repeat(512 * 1024).length`); got != "524288" {
		t.Errorf("a 512 KiB string: %s", got)
	}
}

type store struct{ kv map[string]string }

func (s store) ID() string { return "kvs-1" }
func (s store) Get(k string) (string, bool) {
	v, ok := s.kv[k]
	return v, ok
}
func (s store) Meta() fnapi.KVSMeta {
	return fnapi.KVSMeta{Created: time.Unix(0, 0), LastUpdated: time.Unix(60, 0), KeyCount: len(s.kv)}
}

// pageKVSHelper: cf.kvs() reads the associated store; get (string, json, bytes), exists
// and meta return promises; a missing key rejects.
func TestKVS(t *testing.T) {
	env := fnapi.Env{KVS: store{kv: map[string]string{"a": "1", "j": `{"x":[1,2]}`}}}
	res := run(t, `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
	const out = {a: await kvs.get('a'), j: (await kvs.get('j', {format: 'json'})).x[1],
		b: (await kvs.get('a', {format: 'bytes'})).toString('hex'), e: await kvs.exists('a'), n: await kvs.exists('n'),
		m: (await cf.kvs('kvs-1').meta()).keyCount};
	try { await kvs.get('missing'); } catch (e) { out.missing = 'rejected'; }
	return out;
}`, viewerRequest, env)
	want := `{"a":"1","j":2,"b":"31","e":true,"n":false,"m":2,"missing":"rejected"}`
	if string(res.Output) != want {
		t.Errorf("got %s, want %s", res.Output, want)
	}
	if err := runErr(t, `import cf from 'cloudfront'; async function handler(e) { return {v: await cf.kvs().get('a')}; }`, fnapi.Env{}); err == nil || !strings.Contains(err.Error(), "no key value store") {
		t.Errorf("without a store: %v", err)
	}
	if err := runErr(t, `import cf from 'cloudfront'; function handler(e) { cf.kvs('other'); return e.request; }`, env); err == nil {
		t.Error("cf.kvs with the id of another store succeeded")
	}
}

// pageHelpers: the origin helpers record the change for the edge; bad arguments throw.
func TestOriginHelpers(t *testing.T) {
	res := run(t, `import cf from 'cloudfront';
function handler(event) {
	cf.updateRequestOrigin({domainName: 'example.com', originPath: '/v2'});
	cf.selectRequestOriginById('origin-b');
	cf.createRequestOriginGroup({originIds: ['a', 'b'], failoverCriteria: {statusCodes: [500]}});
	return event.request;
}`, viewerRequest, fnapi.Env{})
	if len(res.Origin) != 3 || res.Origin[0].Method != "updateRequestOrigin" || string(res.Origin[0].Params) != `{"domainName":"example.com","originPath":"/v2"}` ||
		res.Origin[1].ID != "origin-b" || res.Origin[2].Method != "createRequestOriginGroup" {
		t.Errorf("origin changes %+v", res.Origin)
	}
	for _, call := range []string{`cf.updateRequestOrigin()`, `cf.updateRequestOrigin({domainName: ''})`, `cf.selectRequestOriginById(3)`, `cf.createRequestOriginGroup({originIds: ['a']})`} {
		if err := runErr(t, "import cf from 'cloudfront'; function handler(e) { "+call+"; return e.request; }", fnapi.Env{}); err == nil {
			t.Errorf("%s succeeded", call)
		}
	}
	resp := `{"context":{"eventType":"viewer-response"},"response":{"statusCode":200}}`
	if _, err := mustCompile(t, "import cf from 'cloudfront'; function handler(e) { cf.selectRequestOriginById('a'); return e.response; }").Run([]byte(resp), fnapi.Env{EventType: "viewer-response"}); err == nil {
		t.Error("an origin helper ran in a viewer-response function")
	}
}

// pageFeatures: the non-standard String methods of runtime 1.0 are gone in 2.0.
func TestNoRuntime10StringMethods(t *testing.T) {
	if got := value(t, "", `['bytesFrom', 'fromBytes', 'fromUTF8', 'toBytes', 'toUTF8'].filter(m => typeof ''[m] === 'function').length`); got != "0" {
		t.Errorf("%s of the 1.0 string methods exist", got)
	}
}

// Budget's comment: a JWT check with HMAC-SHA256 fits the budget with room to spare.
func TestComputeUtilizationOfAJWTCheck(t *testing.T) {
	p := mustCompile(t, jwtCheck)
	var res *fnapi.Result
	var err error
	for range 20 { // warm: the first runs build the runtime
		res, err = p.Run([]byte(jwtEvent), fnapi.Env{Now: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(res.Output) != `{"ok":true}` {
		t.Fatalf("JWT check: %s", res.Output)
	}
	t.Logf("compute utilization of the JWT check: %d", res.ComputeUtilization)
	if res.ComputeUtilization < 1 || res.ComputeUtilization > 100 {
		t.Errorf("compute utilization %d outside 1–100", res.ComputeUtilization)
	}
}

const jwtCheck = `import crypto from 'crypto';
function handler(event) {
	const [h, p, sig] = event.request.querystring.jwt.value.split('.');
	const want = crypto.createHmac('sha256', 'secret').update(h + '.' + p).digest('base64url');
	const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
	return {ok: want === sig && claims.exp * 1000 > Date.now()};
}`

// A token signed with HMAC-SHA256 and the key "secret", expiring in 2286.
const jwtEvent = `{"context":{"eventType":"viewer-request"},"request":{"method":"GET","uri":"/","querystring":{"jwt":{"value":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwiZXhwIjo5OTk5OTk5OTk5fQ.5wUcwPU_0ILLPIJuah8ZdTiuXJ7XiQc8pfUFGcNkBiM"}},"headers":{},"cookies":{}}}`
