package jsfunc

import (
	_ "embed"
	"errors"
	"strings"
	"time"

	"github.com/dop251/goja"
)

//go:embed prelude.js
var preludeJS string

// prelude defines Buffer and querystring in JavaScript over the Go helpers of
// encoding.go, and meters the bulk allocators; it is compiled once for all runtimes.
var prelude = goja.MustCompile("prelude.js", preludeJS, true)

// install gives a fresh runtime the globals of CloudFront's runtime 2.0 and takes away
// what it refuses.
func (v *vm) install() error {
	rt := v.rt
	// DG functions-javascript-runtime-20, "Restricted features": Date methods return the
	// time the run started, for the whole run.
	rt.SetTimeSource(func() time.Time {
		if v.inRun {
			return v.env.Now
		}
		return time.Now()
	})
	js := rt.Get("JSON").ToObject(rt)
	v.parse, _ = goja.AssertFunction(js.Get("parse"))
	v.stringify, _ = goja.AssertFunction(js.Get("stringify"))

	helpers := rt.NewObject()
	helpers.Set("enc", v.encode)
	helpers.Set("dec", v.decode)
	helpers.Set("mem", func(n int) {
		if err := v.alloc(n); err != nil {
			panic(rt.NewGoError(err))
		}
	})
	fn, err := rt.RunProgram(prelude)
	if err != nil {
		return err
	}
	install, _ := goja.AssertFunction(fn)
	mods, err := install(goja.Undefined(), rt.GlobalObject(), helpers)
	if err != nil {
		return err
	}
	modules := mods.ToObject(rt)
	v.bufFrom, _ = goja.AssertFunction(modules.Get("buffer").ToObject(rt).Get("Buffer").ToObject(rt).Get("from"))
	modules.Set("crypto", v.cryptoModule())
	modules.Set("cloudfront", v.cloudfrontModule())
	if v.v10 {
		if err := v.install10(modules); err != nil {
			return err
		}
	}

	// require('crypto') etc. (runtime 1.0 style, still accepted), and the target of the
	// import statements of module code (moduleToScript).
	rt.Set("require", func(name string) goja.Value {
		m := modules.Get(name)
		if m == nil || goja.IsUndefined(m) {
			panic(rt.NewTypeError("Cannot find module '" + name + "'"))
		}
		return m
	})
	module := rt.NewObject()
	module.Set("exports", rt.NewObject())
	rt.Set("module", module)

	console := rt.NewObject()
	for _, name := range []string{"log", "info", "warn", "error", "debug"} {
		console.Set(name, func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = v.logText(a)
			}
			v.log(strings.Join(parts, " "))
			return goja.Undefined()
		})
	}
	rt.Set("console", console)

	// "Dynamic code evaluation": eval and the Function constructor throw. The constructor
	// is reachable from every function, so each kind's prototype loses it too.
	refuse := func(what string) func(goja.FunctionCall) goja.Value {
		return func(goja.FunctionCall) goja.Value {
			panic(rt.NewGoError(errors.New(what + " is not allowed in CloudFront Functions")))
		}
	}
	rt.Set("eval", refuse("eval"))
	noFunction := rt.ToValue(refuse("the Function constructor"))
	rt.Set("Function", noFunction)
	for _, src := range []string{"(function(){})", "(async function(){})", "(function*(){})"} {
		f, err := rt.RunString(src)
		if err != nil {
			return err
		}
		proto := f.ToObject(rt).Prototype()
		if err := proto.DefineDataProperty("constructor", noFunction, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	return nil
}

// logText is how console.log shows one argument: strings as they are, everything else
// as JSON where it has a JSON form.
func (v *vm) logText(a goja.Value) string {
	if a == nil || goja.IsUndefined(a) {
		return "undefined"
	}
	if _, ok := a.(*goja.Object); !ok {
		return a.String()
	}
	if o := a.ToObject(v.rt); o.ClassName() == "Error" {
		return describe(a)
	}
	s, err := v.stringify(goja.Undefined(), a)
	if err != nil || s == nil || goja.IsUndefined(s) {
		return a.String()
	}
	return s.String()
}
