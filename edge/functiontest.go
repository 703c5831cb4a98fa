package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// FunctionTestResult is what TestFunction reports (API TestResult): the function's
// output as CloudFront shows it, its compute utilization, its logs, and its error.
type FunctionTestResult struct {
	// Output is FunctionOutput: {"request": …} or {"response": …}, the object the
	// function returned as CloudFront reads it. Empty when the function failed.
	Output string
	// ComputeUtilization is 0–100 (jsfunc.Budget says how it is measured).
	ComputeUtilization int
	// Logs are FunctionExecutionLogs, the console lines.
	Logs []string
	// Error is FunctionErrorMessage; empty when the function succeeded.
	Error string
}

// TestFunction runs fn's code on a test event as the TestFunction API does (DG
// test-function): the event is the JSON the user gives, context ids may be omitted, and
// the origin helpers are checked but change nothing (DG
// helper-functions-origin-modification, "Note"). kvs is the store associated with the
// function, or nil. An event that is not a CloudFront Functions event is an error; a
// function that fails is a result with Error set.
func (e *Edge) TestFunction(fn *Function, event []byte, kvs KVSReader) (*FunctionTestResult, error) {
	ev, err := parseTestEvent(event)
	if err != nil {
		return nil, err
	}
	prog, err := e.compileJS(fn) // not cached: a test runs code that may never serve
	if err != nil {
		return &FunctionTestResult{Error: err.Error()}, nil
	}
	in, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	res, err := prog.Run(in, fnapi.Env{Now: e.opts.Now(), KVS: kvs, EventType: ev.Context.EventType})
	tr := &FunctionTestResult{ComputeUtilization: res.ComputeUtilization, Logs: res.Logs}
	if err != nil {
		tr.Error = err.Error()
		return tr, nil
	}
	out, err := decodeFunctionResult(ev.Context.EventType, res.Output)
	if err == nil {
		tr.Output, err = testOutput(out)
	}
	if err != nil {
		tr.Error = err.Error()
	}
	return tr, nil
}

// parseTestEvent reads a TestFunction event object (DG functions-event-structure).
func parseTestEvent(event []byte) (*FunctionEvent, error) {
	var ev FunctionEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("the event object is not valid JSON: %v", err)
	}
	switch ev.Context.EventType {
	case "viewer-request":
		ev.Response = nil
	case "viewer-response":
		if ev.Response == nil {
			return nil, errors.New("a viewer-response event object needs a response")
		}
	default:
		return nil, fmt.Errorf("context.eventType must be viewer-request or viewer-response, not %q", ev.Context.EventType)
	}
	if ev.Request == nil {
		return nil, errors.New("the event object needs a request")
	}
	if ev.Version == "" {
		ev.Version = "1.0"
	}
	r := ev.Request
	if r.Method == "" {
		r.Method = "GET"
	}
	if !strings.HasPrefix(r.URI, "/") {
		return nil, errors.New("request.uri must start with /")
	}
	r.QueryString = orEmpty(r.QueryString)
	r.Headers = orEmpty(r.Headers)
	r.Cookies = orEmpty(r.Cookies)
	if p := ev.Response; p != nil {
		p.Headers = orEmpty(p.Headers)
		p.Cookies = orEmpty(p.Cookies)
	}
	return &ev, nil
}

func orEmpty(m map[string]FunctionValue) map[string]FunctionValue {
	if m == nil {
		return map[string]FunctionValue{}
	}
	return m
}

// testOutput is FunctionOutput for a result.
func testOutput(res *FunctionResult) (string, error) {
	var v any
	switch {
	case res.Response != nil:
		r := *res.Response
		r.Headers, r.Cookies = orEmpty(r.Headers), orEmpty(r.Cookies)
		v = map[string]any{"response": r}
	case res.Request != nil:
		r := res.Request
		req := map[string]any{"method": r.Method, "uri": r.URI, "headers": orEmpty(r.Headers), "cookies": orEmpty(r.Cookies), "querystring": orEmpty(r.QueryString)}
		if r.rawQuery != nil {
			req["querystring"] = *r.rawQuery
		}
		v = map[string]any{"request": req}
	default:
		return "", errors.New("handler returned nothing")
	}
	b, err := json.Marshal(v)
	return string(b), err
}
