package jsfunc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"
)

// The two runtimes CloudFront Functions offer (CreateFunction's FunctionConfig.Runtime).
// An empty runtime is 2.0, the default of this package.
const (
	Runtime10 = "cloudfront-js-1.0"
	Runtime20 = "cloudfront-js-2.0"
)

// What runtime 1.0 differs in, from DG functions-javascript-runtime-10 and the list of
// 2.0's changes in DG functions-javascript-runtime-features:
//   - "The const and let statements are not supported", and async/await came with 2.0
//     (its page lists them as new ES 8 statements): code using them is refused at
//     compile time, as CloudFront refuses to create or publish it;
//   - ES module syntax came with 2.0 (the import of the cloudfront module); 1.0 code
//     loads modules with require;
//   - no Buffer ("Buffer module methods are available" is a 2.0 change) and no
//     cloudfront module (KeyValueStore and the origin helpers need 2.0);
//   - the nonstandard byte-string methods String.bytesFrom and
//     String.prototype.fromBytes, fromUTF8, toBytes and toUTF8, which 2.0 removed;
//   - hash.digest() and hmac.digest() with no encoding return a byte string (2.0 returns
//     a Buffer).
//
// A byte string is a string whose characters are all in [0, 255], one per byte.

// check10 refuses the syntax runtime 1.0 does not support. esbuild parses the code with
// those features marked unsupported and reports the first use, with its line.
func check10(code string) error {
	r := api.Transform(code, api.TransformOptions{Loader: api.LoaderJS, Target: api.ESNext,
		Supported: map[string]bool{"const-and-let": false, "async-await": false, "generator": false}})
	if len(r.Errors) == 0 {
		return nil
	}
	m := r.Errors[0]
	what := m.Text
	for _, f := range []string{"const", "let", "async functions", "generator functions"} {
		if strings.HasPrefix(m.Text, "Transforming "+f+" ") {
			what = f + " is not supported in " + Runtime10 + " (use " + Runtime20 + ")"
		}
	}
	if m.Location != nil {
		return fmt.Errorf("SyntaxError: %s (line %d)", what, m.Location.Line)
	}
	return fmt.Errorf("SyntaxError: %s", what)
}

// install10 turns a runtime 2.0 environment into 1.0's.
func (v *vm) install10(modules *goja.Object) error {
	rt := v.rt
	if err := rt.GlobalObject().Delete("Buffer"); err != nil {
		return err
	}
	for _, m := range []string{"buffer", "cloudfront"} {
		if err := modules.Delete(m); err != nil {
			return err
		}
	}
	str := rt.Get("String").ToObject(rt)
	if err := str.Set("bytesFrom", v.bytesFrom); err != nil {
		return err
	}
	proto := str.Get("prototype").ToObject(rt)
	methods := map[string]func(s string) (string, bool){
		// fromBytes: each byte becomes the code point of the same value; a string
		// that is not a byte string has no such reading.
		"fromBytes": func(s string) (string, bool) { return s, isByteString(s) },
		// fromUTF8: the bytes decoded as UTF-8; null when they are not UTF-8.
		"fromUTF8": func(s string) (string, bool) {
			if !isByteString(s) {
				return "", false
			}
			b := latin1Bytes(s)
			return string(b), utf8.Valid(b)
		},
		// toBytes: a byte string of the same characters; null when one is over 255.
		"toBytes": func(s string) (string, bool) { return s, isByteString(s) },
		// toUTF8: the UTF-8 bytes of the string, as a byte string.
		"toUTF8": func(s string) (string, bool) { return decodeBytes([]byte(s), "latin1"), true },
	}
	for name, f := range methods {
		method := func(call goja.FunctionCall) goja.Value {
			s := sliceArgs(call.This.String(), call.Argument(0), call.Argument(1))
			out, ok := f(s)
			if !ok {
				return goja.Null()
			}
			if err := v.alloc(len(out)); err != nil {
				panic(rt.NewGoError(err))
			}
			return rt.ToValue(out)
		}
		if err := proto.DefineDataProperty(name, rt.ToValue(method), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	return nil
}

// bytesFrom is String.bytesFrom(array | string, encoding): a byte string from an array
// of octets, or from a string in hex, base64 or base64url.
func (v *vm) bytesFrom(call goja.FunctionCall) goja.Value {
	rt := v.rt
	src := call.Argument(0)
	var b []byte
	if o, ok := src.(*goja.Object); ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		b = make([]byte, n)
		for i := range n {
			b[i] = byte(o.Get(fmt.Sprint(i)).ToInteger())
		}
	} else {
		switch e := call.Argument(1).String(); e {
		case "hex", "base64", "base64url":
			b = encodeString(src.String(), e)
		default:
			panic(rt.NewTypeError(fmt.Sprintf("String.bytesFrom: unknown encoding %q (hex, base64 or base64url)", e)))
		}
	}
	if err := v.alloc(len(b)); err != nil {
		panic(rt.NewGoError(err))
	}
	return rt.ToValue(decodeBytes(b, "latin1"))
}

// sliceArgs is s from start to end (as String.prototype.slice reads them).
func sliceArgs(s string, start, end goja.Value) string {
	r := []rune(s) // code points: byte strings and BMP text index alike
	n := len(r)
	idx := func(v goja.Value, def int) int {
		if v == nil || goja.IsUndefined(v) {
			return def
		}
		i := int(v.ToInteger())
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	from, to := idx(start, 0), idx(end, n)
	if from >= to {
		return ""
	}
	return string(r[from:to])
}

func isByteString(s string) bool {
	for _, c := range s {
		if c > 0xff {
			return false
		}
	}
	return true
}

func latin1Bytes(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, c := range s {
		b = append(b, byte(c))
	}
	return b
}

var errRuntime = errors.New("unsupported runtime")

// checkRuntime says whether runtime is one CloudFront offers.
func checkRuntime(runtime string) error {
	switch runtime {
	case "", Runtime10, Runtime20:
		return nil
	}
	return fmt.Errorf("%w %q (%s or %s)", errRuntime, runtime, Runtime10, Runtime20)
}
