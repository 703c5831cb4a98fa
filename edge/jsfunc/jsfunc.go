// Package jsfunc runs the JavaScript of CloudFront Functions (cloudfront-js-2.0) in
// goja, for an edge configured with edge.Options{JS: jsfunc.Compile}.
//
// It is a package of its own so that a program which only runs functions with a Go
// implementation does not compile a JavaScript engine; the edge names only the types of
// edge/jsfunc/fnapi.
//
// What it provides, each from the AWS Developer Guide (DG) page named:
//   - ES 5.1 and the ES 6–12 features goja has, in strict mode, with import/export module
//     syntax (functions-javascript-runtime-20, "Core features");
//   - the modules 'crypto', 'querystring', 'buffer' and 'cloudfront', by import or require,
//     and the global Buffer (same page, "Built-in modules"; helper-functions-origin-modification;
//     kvs-with-functions-kvs-helper);
//   - console.log and its kin, whose lines are the run's logs (cloudfront-function-restrictions,
//     "Logs": truncated at 10 KB);
//   - the restrictions: no eval, no Function constructor, no timers, Date frozen at the start
//     of the run (functions-javascript-runtime-20, "Restricted features"), 2 MB of memory
//     (cloudfront-limits, "Quotas on CloudFront Functions"), and the compute budget below.
package jsfunc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/evanw/esbuild/pkg/api"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// Budget is the compute budget of one run: ComputeUtilization 100.
//
// CloudFront states the limit only as "compute utilization", the share of the maximum
// allowed time a run used, 0–100; a function over 100 fails (DG
// cloudfront-function-restrictions, "Compute utilization"). The maximum is not published;
// measurements put it near 1 ms of CloudFront's native runtime (spec/cloudfront.md §3.4).
// goja, an interpreter written in Go, is several times slower than that runtime, so the
// edge's budget is 20 ms of the CPU time of the thread running the function (cpu_linux.go;
// wall time elsewhere), which a busy machine does not eat into. In it the JWT check of
// AWS's kvs-jwt-verify sample (base64url decoding, HMAC-SHA256, JSON) uses a few units
// (TestComputeUtilizationOfAJWTCheck logs the figure), as it uses a few on CloudFront,
// while a loop that would not end on CloudFront does not end here. ComputeUtilization is
// used/Budget×100, rounded up.
const Budget = 20 * time.Millisecond

// MemoryLimit is the memory a run may allocate (DG cloudfront-limits: "Maximum memory
// 2 MB"). goja cannot meter its heap per runtime, so what is counted is what a function
// can allocate in bulk: the strings and buffers made by repeat, padStart, padEnd, concat,
// replace, join, JSON.stringify, Buffer and buf.toString, and the value the handler
// returns, a byte per character. A large string built with + and dropped before the
// handler returns is not counted.
const MemoryLimit = 2 << 20

// logLimit is the 10 KB at which CloudFront truncates a run's logs (DG
// cloudfront-function-restrictions, "Logs").
const logLimit = 10 * 1024

// Compile compiles code, which must define handler(event), and returns it ready to run.
// Code with import or export statements is ES module code: it is rewritten to a script
// whose imports are require calls (esbuild), as the two forms mean the same here. Runs
// are concurrent: each takes a ready runtime from a pool; a runtime stopped by the
// budget or the memory limit is discarded.
//
// runtime is cloudfront-js-2.0 (or empty) or cloudfront-js-1.0, whose differences
// runtime10.go lists.
func Compile(name, runtime, code string) (fnapi.Program, error) {
	if err := checkRuntime(runtime); err != nil {
		return nil, err
	}
	v10 := runtime == Runtime10
	if v10 {
		if err := check10(code); err != nil {
			return nil, err
		}
	}
	prog, err := goja.Compile(name, code, true)
	if err != nil && !v10 && moduleSyntax.MatchString(code) {
		script, terr := moduleToScript(code)
		if terr != nil {
			return nil, terr
		}
		prog, err = goja.Compile(name, script, true)
	}
	if err != nil {
		return nil, err
	}
	p := &pool{prog: prog, v10: v10}
	// Instantiate one runtime now: code that defines no handler, or throws at load,
	// fails here, at configuration time, not on the first request.
	v, err := p.get()
	if err != nil {
		return nil, err
	}
	p.vms.Put(v)
	return p, nil
}

var moduleSyntax = regexp.MustCompile(`(?m)^\s*(import\s|import\{|export\s|export\{)`)

// moduleToScript rewrites ES module syntax to CommonJS; nothing else changes (target
// esnext).
func moduleToScript(code string) (string, error) {
	r := api.Transform(code, api.TransformOptions{Format: api.FormatCommonJS, Loader: api.LoaderJS, Target: api.ESNext})
	if len(r.Errors) > 0 {
		m := r.Errors[0]
		if m.Location != nil {
			return "", fmt.Errorf("SyntaxError: %s (line %d)", m.Text, m.Location.Line)
		}
		return "", fmt.Errorf("SyntaxError: %s", m.Text)
	}
	return string(r.Code), nil
}

type pool struct {
	prog *goja.Program
	v10  bool // runtime 1.0
	vms  sync.Pool
}

// vm is one runtime and the state of the run it is doing.
type vm struct {
	rt        *goja.Runtime
	v10       bool // runtime 1.0 (runtime10.go)
	handler   goja.Callable
	parse     goja.Callable
	stringify goja.Callable
	bufFrom   goja.Callable

	// per run
	env     fnapi.Env
	inRun   bool
	logs    []string
	logSize int
	mem     int
	origin  []fnapi.OriginChange
	event   string // event type of the run, for the origin helpers
	stopped string // why the run was interrupted by the runtime itself
}

func (p *pool) get() (*vm, error) {
	if v, ok := p.vms.Get().(*vm); ok {
		return v, nil
	}
	v := &vm{rt: goja.New(), v10: p.v10}
	if err := v.install(); err != nil {
		return nil, err
	}
	if _, err := v.rt.RunProgram(p.prog); err != nil {
		return nil, loadError(err)
	}
	h, ok := goja.AssertFunction(v.rt.Get("handler"))
	if !ok {
		// export { handler } / export function handler: the handler is an export.
		if m := v.rt.Get("module"); m != nil {
			if ex := m.ToObject(v.rt).Get("exports"); ex != nil && !goja.IsUndefined(ex) {
				h, ok = goja.AssertFunction(ex.ToObject(v.rt).Get("handler"))
			}
		}
	}
	if !ok {
		return nil, errors.New("the code defines no function handler(event)")
	}
	v.handler = h
	return v, nil
}

func loadError(err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return errors.New(ex.Value().String())
	}
	return err
}

// Run implements fnapi.Program.
func (p *pool) Run(event []byte, env fnapi.Env) (*fnapi.Result, error) {
	if !json.Valid(event) {
		return &fnapi.Result{}, errors.New("event is not JSON")
	}
	v, err := p.get()
	if err != nil {
		return &fnapi.Result{}, err
	}
	if env.Now.IsZero() {
		env.Now = time.Now()
	}
	var out []byte
	v.begin(env, env.EventType)
	clock := startCPUClock()
	used := v.budgeted(clock, func() { out, err = v.call(event) })
	clock.stop()
	res := &fnapi.Result{Output: out, Logs: v.logs, Origin: v.origin, ComputeUtilization: utilization(used)}
	stopped := v.stopped
	v.end()
	var interrupted *goja.InterruptedError
	if stopped != "" || errors.As(err, &interrupted) {
		if stopped != "" {
			err = errors.New(stopped)
		} else {
			err = errors.New("compute budget exceeded: the function used more than its compute utilization of 100")
			res.ComputeUtilization = 100
		}
		return res, err // the runtime is dropped: its state is mid-run
	}
	p.vms.Put(v)
	return res, err
}

// budgeted runs f and returns the CPU time it used; f is interrupted once it has used
// more than Budget, or after wallLimit however little CPU it got (a run must end).
func (v *vm) budgeted(clock cpuClock, f func()) time.Duration {
	v.rt.ClearInterrupt()
	start := clock.now()
	deadline := time.Now().Add(wallLimit)
	var mu sync.Mutex
	var timer *time.Timer
	done := false
	check := func() {}
	check = func() {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return
		}
		if clock.now()-start > Budget || time.Now().After(deadline) {
			v.rt.Interrupt("compute budget exceeded")
			return
		}
		timer = time.AfterFunc(Budget/4, check)
	}
	mu.Lock()
	timer = time.AfterFunc(Budget/2, check)
	mu.Unlock()
	f()
	used := clock.now() - start
	mu.Lock()
	done = true
	timer.Stop()
	mu.Unlock()
	return used
}

// wallLimit ends a run that has been waiting for the CPU for that long, whatever it used.
const wallLimit = 2 * time.Second

func utilization(d time.Duration) int {
	u := int(math.Ceil(float64(d) * 100 / float64(Budget)))
	return min(max(u, 0), 100)
}

func (v *vm) begin(env fnapi.Env, event string) {
	v.env, v.inRun, v.event = env, true, event
	v.logs, v.logSize, v.mem, v.origin, v.stopped = nil, 0, 0, nil, ""
}

func (v *vm) end() {
	v.env, v.inRun = fnapi.Env{}, false
}

func (v *vm) call(event []byte) ([]byte, error) {
	ev, err := v.parse(goja.Undefined(), v.rt.ToValue(string(event)))
	if err != nil {
		return nil, err
	}
	res, err := v.handler(goja.Undefined(), ev)
	if err != nil {
		return nil, runError(err)
	}
	if pr, ok := res.Export().(*goja.Promise); ok {
		switch pr.State() {
		case goja.PromiseStateFulfilled:
			res = pr.Result()
		case goja.PromiseStateRejected:
			return nil, fmt.Errorf("handler rejected: %s", describe(pr.Result()))
		default:
			return nil, errors.New("handler promise did not settle: a function cannot wait for anything but its own promises")
		}
	}
	if res == nil || goja.IsUndefined(res) || goja.IsNull(res) {
		return nil, errors.New("handler returned nothing")
	}
	s, err := v.stringify(goja.Undefined(), res)
	if err != nil {
		return nil, runError(err)
	}
	out := s.String()
	if err := v.alloc(len(out)); err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// runError is the one line an uncaught exception reports: its message and where.
func runError(err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		msg := describe(ex.Value())
		if st := ex.Stack(); len(st) > 0 {
			pos := st[0].Position()
			if pos.Line > 0 {
				msg += fmt.Sprintf(" (line %d)", pos.Line)
			}
		}
		return errors.New(msg)
	}
	return err
}

func describe(val goja.Value) string {
	if val == nil {
		return "undefined"
	}
	if o, ok := val.(*goja.Object); ok {
		if s := o.Get("stack"); s != nil && !goja.IsUndefined(s) {
			line, _, _ := strings.Cut(s.String(), "\n")
			return line
		}
	}
	return val.String()
}

// alloc counts n bytes against MemoryLimit; over it, the run stops (uncatchably: a
// function cannot catch running out of memory and go on).
func (v *vm) alloc(n int) error {
	if !v.inRun {
		return nil
	}
	v.mem += n
	if v.mem > MemoryLimit {
		v.stopped = fmt.Sprintf("memory limit exceeded: the function allocated more than %d bytes (2 MB)", MemoryLimit)
		v.rt.Interrupt(v.stopped)
		return errors.New(v.stopped)
	}
	return nil
}

// log appends one console line; past 10 KB in total the rest is dropped.
func (v *vm) log(line string) {
	if v.logSize >= logLimit {
		return
	}
	if v.logSize+len(line) > logLimit {
		line = line[:logLimit-v.logSize]
	}
	v.logSize += len(line)
	v.logs = append(v.logs, line)
}
