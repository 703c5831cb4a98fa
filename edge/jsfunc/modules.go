package jsfunc

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"unicode/utf16"

	"github.com/dop251/goja"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// encode is the enc helper of prelude.js: the bytes of s in encoding e (one of the names
// prelude.js normalises to), as an ArrayBuffer. Decoding is lenient as Node's is: base64
// accepts both alphabets, whitespace and missing padding; hex stops at the first pair
// that is not hex.
func (v *vm) encode(s goja.Value, e string) goja.ArrayBuffer {
	return v.rt.NewArrayBuffer(encodeString(s.String(), e))
}

func encodeString(s, e string) []byte {
	switch e {
	case "hex":
		n := len(s) / 2
		out := make([]byte, 0, n)
		for i := 0; i+1 < len(s); i += 2 {
			b, err := hex.DecodeString(s[i : i+2])
			if err != nil {
				break
			}
			out = append(out, b[0])
		}
		return out
	case "base64", "base64url":
		var clean strings.Builder
		for _, c := range s {
			switch {
			case c == '-':
				clean.WriteByte('+')
			case c == '_':
				clean.WriteByte('/')
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
				clean.WriteRune(c)
			case c == '=':
				goto done
			}
		}
	done:
		str := clean.String()
		if len(str)%4 == 1 {
			str = str[:len(str)-1]
		}
		out, _ := base64.RawStdEncoding.DecodeString(str)
		return out
	case "latin1", "ascii":
		units := utf16.Encode([]rune(s))
		out := make([]byte, len(units))
		for i, u := range units {
			out[i] = byte(u)
		}
		return out
	case "utf16le":
		units := utf16.Encode([]rune(s))
		out := make([]byte, 2*len(units))
		for i, u := range units {
			out[2*i], out[2*i+1] = byte(u), byte(u>>8)
		}
		return out
	}
	return []byte(s)
}

// decode is the dec helper of prelude.js: b (a Uint8Array) as a string in encoding e.
func (v *vm) decode(b goja.Value, e string) string {
	bytes, _ := b.Export().([]byte)
	return decodeBytes(bytes, e)
}

func decodeBytes(b []byte, e string) string {
	switch e {
	case "hex":
		return hex.EncodeToString(b)
	case "base64":
		return base64.StdEncoding.EncodeToString(b)
	case "base64url":
		return base64.RawURLEncoding.EncodeToString(b)
	case "latin1":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	case "ascii":
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c & 0x7f)
		}
		return string(r)
	case "utf16le":
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
		return string(utf16.Decode(units))
	}
	// Invalid UTF-8 becomes U+FFFD, one per bad byte, as in Node.
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// bytesOf is the data argument of hash.update and the key of createHmac: a string in
// the input encoding (UTF-8 by default), or a Buffer / typed array / ArrayBuffer.
func (v *vm) bytesOf(val goja.Value, inputEncoding goja.Value) []byte {
	if val != nil {
		switch x := val.Export().(type) {
		case []byte:
			return x
		case goja.ArrayBuffer:
			return x.Bytes()
		case string:
			e := "utf8"
			if inputEncoding != nil && !goja.IsUndefined(inputEncoding) {
				e = normaliseEncoding(inputEncoding.String())
			}
			return encodeString(x, e)
		}
	}
	panic(v.rt.NewTypeError("The data argument must be of type string or an instance of Buffer, TypedArray or DataView"))
}

func normaliseEncoding(e string) string {
	switch strings.ToLower(e) {
	case "utf-8", "utf8":
		return "utf8"
	case "binary", "latin1":
		return "latin1"
	case "ucs2", "ucs-2", "utf-16le", "utf16le":
		return "utf16le"
	}
	return strings.ToLower(e)
}

// cryptoModule is 'crypto' (DG functions-javascript-runtime-20, "Crypto"): createHash
// and createHmac with md5, sha1 and sha256; update(data[, inputEncoding]) chains;
// digest(encoding) returns hex, base64 or base64url text, and with no encoding a
// Buffer (the runtime 2.0 change, DG functions-javascript-runtime-features; 1.0 returns
// a byte string).
func (v *vm) cryptoModule() *goja.Object {
	rt := v.rt
	newHash := func(alg string) func() hash.Hash {
		switch strings.ToLower(alg) {
		case "md5":
			return md5.New
		case "sha1":
			return sha1.New
		case "sha256":
			return sha256.New
		}
		panic(rt.NewGoError(fmt.Errorf("Digest method not supported: %q (CloudFront Functions offer md5, sha1 and sha256)", alg)))
	}
	wrap := func(h hash.Hash) *goja.Object {
		o := rt.NewObject()
		done := false
		o.Set("update", func(call goja.FunctionCall) goja.Value {
			if done {
				panic(rt.NewGoError(errors.New("Digest already called")))
			}
			h.Write(v.bytesOf(call.Argument(0), call.Argument(1)))
			return o
		})
		o.Set("digest", func(call goja.FunctionCall) goja.Value {
			if done {
				panic(rt.NewGoError(errors.New("Digest already called")))
			}
			done = true
			sum := h.Sum(nil)
			e := call.Argument(0)
			if (goja.IsUndefined(e) || goja.IsNull(e)) && v.v10 {
				return rt.ToValue(decodeBytes(sum, "latin1"))
			}
			if goja.IsUndefined(e) || goja.IsNull(e) {
				buf, err := v.bufFrom(goja.Undefined(), rt.ToValue(rt.NewArrayBuffer(sum)))
				if err != nil {
					panic(err)
				}
				return buf
			}
			switch enc := normaliseEncoding(e.String()); enc {
			case "hex", "base64", "base64url", "latin1":
				return rt.ToValue(decodeBytes(sum, enc))
			default:
				panic(rt.NewGoError(fmt.Errorf("Unknown digest encoding: %q", e.String())))
			}
		})
		return o
	}
	m := rt.NewObject()
	m.Set("createHash", func(alg string) *goja.Object { return wrap(newHash(alg)()) })
	m.Set("createHmac", func(call goja.FunctionCall) goja.Value {
		nh := newHash(call.Argument(0).String())
		key := v.bytesOf(call.Argument(1), nil)
		return wrap(hmac.New(nh, key))
	})
	return m
}

// cloudfrontModule is 'cloudfront': cf.kvs() (DG kvs-with-functions-kvs-helper) and the
// origin helpers (DG helper-functions-origin-modification), which only record what the
// run asked for; the edge applies it after the run.
func (v *vm) cloudfrontModule() *goja.Object {
	rt := v.rt
	m := rt.NewObject()
	m.Set("kvs", func(call goja.FunctionCall) goja.Value {
		id := ""
		if a := call.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
			id = a.String()
		}
		// At load (a top-level const kvsHandle = cf.kvs()) no run is under way: the handle
		// binds to each run's store when it is used.
		if v.inRun {
			if _, err := v.store(id); err != nil {
				panic(rt.NewGoError(err))
			}
		}
		return v.kvsHandle(id)
	})
	record := func(method string, needID, needParams bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			if v.event != "" && v.event != "viewer-request" {
				panic(rt.NewGoError(fmt.Errorf("cf.%s can be used in viewer-request functions only", method)))
			}
			ch := fnapi.OriginChange{Method: method}
			args := call.Arguments
			if needID {
				if len(args) == 0 || !isString(args[0]) || args[0].String() == "" {
					panic(rt.NewTypeError("cf." + method + ": the origin id must be a non-empty string"))
				}
				ch.ID, args = args[0].String(), args[1:]
			}
			if len(args) > 0 && !goja.IsUndefined(args[0]) {
				o, ok := args[0].(*goja.Object)
				if !ok {
					panic(rt.NewTypeError("cf." + method + ": the parameters must be an object"))
				}
				s, err := v.stringify(goja.Undefined(), o)
				if err != nil {
					panic(err)
				}
				ch.Params = json.RawMessage(s.String())
			} else if needParams {
				panic(rt.NewTypeError("cf." + method + ": the parameters object is required"))
			}
			if err := validateOriginChange(ch); err != nil {
				panic(rt.NewGoError(err))
			}
			v.origin = append(v.origin, ch)
			return goja.Undefined()
		}
	}
	m.Set("updateRequestOrigin", record("updateRequestOrigin", false, true))
	m.Set("selectRequestOriginById", record("selectRequestOriginById", true, false))
	m.Set("createRequestOriginGroup", record("createRequestOriginGroup", false, true))
	return m
}

func isString(val goja.Value) bool {
	_, ok := val.Export().(string)
	return ok
}

// store is the store a handle for id reads in this run.
func (v *vm) store(id string) (fnapi.KVS, error) {
	s := v.env.KVS
	if s == nil {
		return nil, errors.New("cf.kvs(): no key value store is associated with this function")
	}
	if id != "" && id != s.ID() {
		return nil, fmt.Errorf("cf.kvs(%q): the key value store associated with this function is %s", id, s.ID())
	}
	return s, nil
}

// kvsHandle is what cf.kvs() returns: get, exists and meta, each a promise
// (DG kvs-with-functions-kvs-helper).
func (v *vm) kvsHandle(id string) *goja.Object {
	rt := v.rt
	h := rt.NewObject()
	settle := func(f func() (any, error)) goja.Value {
		p, resolve, reject := rt.NewPromise()
		val, err := f()
		if err != nil {
			reject(rt.NewGoError(err))
		} else {
			resolve(val)
		}
		return rt.ToValue(p)
	}
	h.Set("get", func(call goja.FunctionCall) goja.Value {
		key := call.Argument(0).String()
		format := "string"
		if o, ok := call.Argument(1).(*goja.Object); ok {
			if f := o.Get("format"); f != nil && !goja.IsUndefined(f) {
				format = f.String()
			}
		}
		return settle(func() (any, error) {
			s, err := v.store(id)
			if err != nil {
				return nil, err
			}
			val, found := s.Get(key)
			if !found {
				return nil, fmt.Errorf("KVS key does not exist: %q", key)
			}
			switch format {
			case "string":
				return val, nil
			case "json":
				return v.parse(goja.Undefined(), rt.ToValue(val))
			case "bytes":
				return v.bufFrom(goja.Undefined(), rt.ToValue(rt.NewArrayBuffer([]byte(val))))
			}
			return nil, fmt.Errorf("kvsHandle.get: format must be \"string\", \"json\" or \"bytes\", not %q", format)
		})
	})
	h.Set("exists", func(key string) goja.Value {
		return settle(func() (any, error) {
			s, err := v.store(id)
			if err != nil {
				return nil, err
			}
			_, found := s.Get(key)
			return found, nil
		})
	})
	h.Set("meta", func() goja.Value {
		return settle(func() (any, error) {
			s, err := v.store(id)
			if err != nil {
				return nil, err
			}
			m := s.Meta()
			o := rt.NewObject()
			o.Set("creationDateTime", m.Created.UTC().Format("2006-01-02T15:04:05.000Z"))
			o.Set("lastUpdatedDateTime", m.LastUpdated.UTC().Format("2006-01-02T15:04:05.000Z"))
			o.Set("keyCount", m.KeyCount)
			return o, nil
		})
	})
	return h
}

// validateOriginChange checks the parameters the helper methods document (DG
// helper-functions-origin-modification); the edge applies them.
func validateOriginChange(ch fnapi.OriginChange) error {
	var p map[string]json.RawMessage
	if len(ch.Params) > 0 {
		if err := json.Unmarshal(ch.Params, &p); err != nil {
			return fmt.Errorf("cf.%s: the parameters must be an object", ch.Method)
		}
	}
	switch ch.Method {
	case "createRequestOriginGroup":
		var ids []string
		if err := json.Unmarshal(p["originIds"], &ids); err != nil || len(ids) != 2 {
			return errors.New("cf.createRequestOriginGroup: originIds must list two origin ids")
		}
	case "updateRequestOrigin":
		if raw, ok := p["domainName"]; ok {
			var d string
			if err := json.Unmarshal(raw, &d); err != nil || d == "" {
				return errors.New("cf.updateRequestOrigin: domainName must be a non-empty string")
			}
		}
	}
	return nil
}
