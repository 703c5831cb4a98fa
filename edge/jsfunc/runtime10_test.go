package jsfunc

import (
	"strings"
	"testing"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

const pageRuntime10 = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-10.html"

// value10 is value for runtime 1.0 code.
func value10(t *testing.T, prelude, expr string) string {
	t.Helper()
	p, err := Compile("f", Runtime10, prelude+"\nfunction handler(event) { return { v: ("+expr+") }; }")
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	res, err := p.Run([]byte(viewerRequest), fnapi.Env{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := string(res.Output)
	return strings.TrimSuffix(strings.TrimPrefix(out, `{"v":`), "}")
}

// pageRuntime10, "Statements": const and let are not supported; async/await and ES
// modules came with 2.0 (pageRuntime20 lists them as its own). CloudFront refuses such
// code when it is created; 2.0 runs it.
func TestRuntime10RefusesLaterSyntax(t *testing.T) {
	for _, code := range []string{
		"const a = 1;\nfunction handler(e) { return e.request; }",
		"function handler(e) {\n  let r = e.request;\n  return r;\n}",
		"async function handler(e) { return e.request; }",
		"import crypto from 'crypto';\nfunction handler(e) { return e.request; }",
		"function handler(e) { return e.request; }\nexport { handler };",
	} {
		_, err := Compile("f", Runtime10, code)
		if err == nil || !strings.Contains(err.Error(), "SyntaxError") && !strings.Contains(err.Error(), "Unexpected") {
			t.Errorf("1.0 compiled %q: %v", code, err)
		}
		if _, err := Compile("f", Runtime20, code); err != nil {
			t.Errorf("2.0 refused %q: %v", code, err)
		}
	}
	if _, err := Compile("f", Runtime10, "var a = `x${1}`; var f = (b, ...c) => b ** 2;\nfunction handler(e) { return e.request; }"); err != nil {
		t.Errorf("1.0 refused template literals, arrows, rest parameters or **, which it supports: %v", err)
	}
	if _, err := Compile("f", "cloudfront-js-3.0", "function handler(e) { return e.request; }"); err == nil {
		t.Error("an unknown runtime compiled")
	}
}

// pageRuntime10, "String": the nonstandard byte-string methods; pageFeatures: 2.0
// removed them, added Buffer, and changed digest() to return a Buffer.
func TestRuntime10ByteStrings(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`String.bytesFrom('414243', 'hex')`, `"ABC"`},
		{`String.bytesFrom('QUJD', 'base64')`, `"ABC"`},
		{`String.bytesFrom('_-8', 'base64url')`, "\"\u00ff\u00ef\""},
		{`String.bytesFrom([0x41, 0x42, 0x1ff])`, "\"AB\u00ff\""},
		{`'é€'.toUTF8()`, "\"\u00c3\u00a9\u00e2\u0082\u00ac\""},
		{`'é€'.toUTF8().fromUTF8()`, `"é€"`},
		{`'\u00ff\u00fe'.fromUTF8()`, `null`},
		{`'é€'.toBytes()`, `null`},
		{`'abcdef'.toBytes(1, 3)`, `"bc"`},
		{`'abcdef'.fromBytes(-2)`, `"ef"`},
		{`require('crypto').createHash('sha256').update('abc').digest().length`, `32`},
		{`require('crypto').createHash('md5').update('').digest().toUTF8().length`, `26`}, // 16 bytes, 10 of them ≥ 0x80,
		{`require('crypto').createHmac('sha256', 'k').update('m').digest('hex').length`, `64`},
		{`typeof Buffer`, `"undefined"`},
		{`(function () { try { require('buffer'); return 'loaded'; } catch (e) { return 'refused'; } })()`, `"refused"`},
		{`(function () { try { require('cloudfront'); return 'loaded'; } catch (e) { return 'refused'; } })()`, `"refused"`},
	} {
		if got := value10(t, "", c.expr); got != c.want {
			t.Errorf("1.0: %s = %s, want %s (%s)", c.expr, got, c.want, pageRuntime10)
		}
	}
	if got := value(t, "", `typeof String.bytesFrom + ' ' + typeof Buffer + ' ' + Buffer.isBuffer(require('crypto').createHash('sha1').update('a').digest())`); got != `"undefined function true"` {
		t.Errorf("2.0: %s (%s)", got, pageFeatures)
	}
}
