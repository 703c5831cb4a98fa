// Package jsfunc runs the JavaScript of CloudFront Functions (cloudfront-js-2.0) in
// goja, for an edge configured with edge.Options{JS: jsfunc.Compile}.
//
// It is a package of its own so that a program which only runs functions with a Go
// implementation (the twinedge command: the SPA rewrite is native) does not compile a
// JavaScript engine; tests and embedders that run arbitrary function code import it.
package jsfunc

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Budget bounds one run. CloudFront publishes only "compute utilization"
// (spec/cloudfront.md §3.4, about 1 ms); goja is far slower than CloudFront's runtime,
// so the local budget is generous and only stops runaway code.
const Budget = 100 * time.Millisecond

// Compile compiles code, which must define handler(event), and returns a function
// that runs it on a JSON event and returns the JSON of what the handler returned (a
// promise is awaited). Runs are concurrent: each takes a ready runtime from a pool,
// and a runtime interrupted by the budget is discarded.
func Compile(name, code string) (func(event []byte) ([]byte, error), error) {
	prog, err := goja.Compile(name, code, false)
	if err != nil {
		return nil, err
	}
	p := &pool{prog: prog}
	// Instantiate one runtime now: code that defines no handler fails here, at
	// configuration time, not on the first request.
	vm, err := p.get()
	if err != nil {
		return nil, err
	}
	p.vms.Put(vm)
	return p.run, nil
}

type pool struct {
	prog *goja.Program
	vms  sync.Pool
}

type vm struct {
	rt        *goja.Runtime
	handler   goja.Callable
	parse     goja.Callable
	stringify goja.Callable
}

func (p *pool) get() (*vm, error) {
	if v, ok := p.vms.Get().(*vm); ok {
		return v, nil
	}
	rt := goja.New()
	if _, err := rt.RunProgram(p.prog); err != nil {
		return nil, err
	}
	h, ok := goja.AssertFunction(rt.Get("handler"))
	if !ok {
		return nil, errors.New("the code defines no function handler(event)")
	}
	js := rt.Get("JSON").ToObject(rt)
	parse, _ := goja.AssertFunction(js.Get("parse"))
	stringify, _ := goja.AssertFunction(js.Get("stringify"))
	return &vm{rt: rt, handler: h, parse: parse, stringify: stringify}, nil
}

func (p *pool) run(event []byte) ([]byte, error) {
	if !json.Valid(event) {
		return nil, errors.New("event is not JSON")
	}
	v, err := p.get()
	if err != nil {
		return nil, err
	}
	v.rt.ClearInterrupt()
	timer := time.AfterFunc(Budget, func() { v.rt.Interrupt("compute budget exceeded") })
	out, err := v.call(event)
	timer.Stop()
	var interrupted *goja.InterruptedError
	if !errors.As(err, &interrupted) {
		p.vms.Put(v)
	}
	return out, err
}

func (v *vm) call(event []byte) ([]byte, error) {
	ev, err := v.parse(goja.Undefined(), v.rt.ToValue(string(event)))
	if err != nil {
		return nil, err
	}
	res, err := v.handler(goja.Undefined(), ev)
	if err != nil {
		return nil, err
	}
	if pr, ok := res.Export().(*goja.Promise); ok {
		switch pr.State() {
		case goja.PromiseStateFulfilled:
			res = pr.Result()
		case goja.PromiseStateRejected:
			return nil, fmt.Errorf("handler rejected: %v", pr.Result())
		default:
			return nil, errors.New("handler promise did not settle")
		}
	}
	if res == nil || goja.IsUndefined(res) || goja.IsNull(res) {
		return nil, errors.New("handler returned nothing")
	}
	s, err := v.stringify(goja.Undefined(), res)
	if err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}
