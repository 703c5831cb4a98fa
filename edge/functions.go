package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// FunctionRuntime is the only CloudFront Functions runtime the edge accepts for source
// it runs itself (spec/cloudfront.md §3.4).
const FunctionRuntime = "cloudfront-js-2.0"

// SPARewriteName is the name of the built-in single-page-app rewrite function.
const SPARewriteName = "twinedge-spa-rewrite"

// SPARewriteJS is the cloudfront-js-2.0 source of the SPA rewrite, as deployed to AWS.
// It must agree with spaRewriteURI on every input; a test runs both on the same cases.
// Unlike AWS's "url-rewrite-single-page-apps" example (§3.3 Option B), which turns
// "/status" into "/status/index.html", twinedge serves the app shell for every deep
// link: a path whose last segment has no '.' serves /index.html (DESIGN.md).
const SPARewriteJS = `function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri.endsWith('/')) {
        request.uri = uri + 'index.html';
    } else if (uri.substring(uri.lastIndexOf('/') + 1).indexOf('.') === -1) {
        request.uri = '/index.html';
    }
    return request;
}
`

// SPARewriteURI is the Go implementation of SPARewriteJS, for native twins of functions
// that include it (Twin).
func SPARewriteURI(uri string) string { return spaRewriteURI(uri) }

// spaRewriteURI is the Go implementation of SPARewriteJS.
func spaRewriteURI(uri string) string {
	if strings.HasSuffix(uri, "/") {
		return uri + "index.html"
	}
	last := uri[strings.LastIndexByte(uri, '/')+1:]
	if !strings.Contains(last, ".") {
		return "/index.html"
	}
	return uri
}

// Function is a CloudFront Function the edge can run on viewer-request or
// viewer-response events. The edge runs the Go implementation when one is set and the
// JavaScript Code otherwise (with Options.JS); both must give identical results.
type Function struct {
	// Name is the function name, the last element of its ARN
	// (arn:aws:cloudfront::<account>:function/<name>).
	Name string
	// Runtime is the CloudFront runtime of Code (default "cloudfront-js-2.0").
	Runtime string
	// Code is the JavaScript source deployed to CloudFront.
	Code string
	// RewriteURI, when set, is a native viewer-request implementation that only rewrites
	// the URI. It is the fast path: no event object is built.
	RewriteURI func(uri string) string
	// Respond, set beside RewriteURI, answers some requests natively: it returns the
	// response the function generates for uri (and the raw query), nil when the function
	// continues with RewriteURI, or ok=false when the native code does not decide, and the
	// JavaScript Code runs for that request instead. Whether it answers may depend on the
	// URI only: the cache-hit fast path asks it with the query left out.
	Respond func(uri, rawQuery string) (resp *FunctionResponse, ok bool)
	// Handle, when set, is a native implementation over the full event. For a
	// viewer-request event it returns the (possibly modified) request, or a response to
	// send instead; for viewer-response it returns the response.
	Handle func(ev *FunctionEvent) (*FunctionResult, error)
	// KVS is the key value store associated with the function (at most one, DG
	// kvs-with-functions-associate), read by cf.kvs(). nil: none.
	KVS fnapi.KVS

	// js is the function without its native twin (Twin), for the requests Respond does
	// not decide; one value, so its compiled JavaScript is kept.
	js *Function
}

// Twin is a native implementation of one exact JavaScript source, for speed: the edge
// runs it instead of the JavaScript when a function's Code is that source (Options.Twins).
// It is given the function's key value store and returns RewriteURI and Respond. A twin
// must agree with its JavaScript on every input; a differential test runs both on the
// same requests.
type Twin func(kvs fnapi.KVS) (rewrite func(uri string) string, respond func(uri, rawQuery string) (*FunctionResponse, bool))

// withTwin returns fn with its native twin when twins has one for its code, else fn.
func withTwin(fn *Function, twins map[string]Twin) *Function {
	twin, ok := twins[fn.Code]
	if !ok || fn.RewriteURI != nil || fn.Handle != nil {
		return fn
	}
	js := *fn
	native := *fn
	native.RewriteURI, native.Respond = twin(fn.KVS)
	native.js = &js
	return &native
}

// KVSReader is read access to a KeyValueStore, as a function's cf.kvs() reads it.
type KVSReader = fnapi.KVS

// FunctionResult is what a function returns: a request to continue with, or a response.
type FunctionResult struct {
	Request  *FunctionRequest
	Response *FunctionResponse
	// Origin lists the origin changes a viewer-request function asked for
	// (cf.updateRequestOrigin and the other helper methods), in call order.
	Origin []fnapi.OriginChange
}

// builtinFunctions are always available by name.
func builtinFunctions() map[string]*Function {
	return map[string]*Function{
		SPARewriteName: {Name: SPARewriteName, Runtime: FunctionRuntime, Code: SPARewriteJS, RewriteURI: spaRewriteURI},
	}
}

// functionNameFromARN returns the last path element of a CloudFront function ARN,
// "arn:aws:cloudfront::123456789012:function/twinedge-spa-rewrite" → "twinedge-spa-rewrite".
// A bare name is accepted as is.
func functionNameFromARN(arn string) (string, error) {
	name := arn
	if strings.HasPrefix(arn, "arn:") {
		i := strings.Index(arn, ":function/")
		if i < 0 {
			return "", fmt.Errorf("%q is not a CloudFront function ARN", arn)
		}
		name = arn[i+len(":function/"):]
	}
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%q has no function name", arn)
	}
	return name, nil
}

// FunctionEvent is the CloudFront Functions event object (spec/cloudfront.md §3.4). Its
// JSON form is exactly what a cloudfront-js-2.0 handler receives.
type FunctionEvent struct {
	Version  string            `json:"version"`
	Context  FunctionContext   `json:"context"`
	Viewer   FunctionViewer    `json:"viewer"`
	Request  *FunctionRequest  `json:"request"`
	Response *FunctionResponse `json:"response,omitempty"`
}

// FunctionContext identifies the distribution and event.
type FunctionContext struct {
	DistributionDomainName string `json:"distributionDomainName"`
	DistributionID         string `json:"distributionId"`
	EventType              string `json:"eventType"`
	RequestID              string `json:"requestId"`
}

// FunctionViewer describes the viewer.
type FunctionViewer struct {
	IP string `json:"ip"`
}

// FunctionValue is one header, query-string or cookie value; repeated names keep all
// values in MultiValue (the first is also in Value).
type FunctionValue struct {
	Value      string          `json:"value"`
	Attributes string          `json:"attributes,omitempty"`
	MultiValue []FunctionValue `json:"multiValue,omitempty"`
}

// FunctionRequest is event.request. Header names are lower case; cookies are not in Headers.
type FunctionRequest struct {
	Method      string                   `json:"method"`
	URI         string                   `json:"uri"`
	QueryString map[string]FunctionValue `json:"querystring"`
	Headers     map[string]FunctionValue `json:"headers"`
	Cookies     map[string]FunctionValue `json:"cookies"`

	queryOrder []string // key order of the querystring object, to rebuild the query
	rawQuery   *string  // the query string a function returned as a string
}

// FunctionResponse is event.response, or a response generated by a viewer-request function.
type FunctionResponse struct {
	StatusCode        int                      `json:"statusCode"`
	StatusDescription string                   `json:"statusDescription,omitempty"`
	Headers           map[string]FunctionValue `json:"headers"`
	Cookies           map[string]FunctionValue `json:"cookies"`
	Body              *FunctionBody            `json:"body,omitempty"`
}

// FunctionBody is a generated response body; Encoding is "text" or "base64".
type FunctionBody struct {
	Data     string `json:"data"`
	Encoding string `json:"encoding"`
}

// UnmarshalJSON reads a value with CloudFront's exact, case-sensitive field names: a
// "multivalue" key is not "multiValue" and is ignored, as CloudFront ignores it (AWS's
// sample test events spell it so; the README's documented FunctionOutput drops it).
func (v *FunctionValue) UnmarshalJSON(data []byte) error {
	// encoding/json matches names without regard to case; only "value" and "attributes"
	// are decoded that way (a function that writes "Value" gets what it meant), and
	// multiValue only under its exact name.
	var plain struct {
		Value      string `json:"value"`
		Attributes string `json:"attributes"`
	}
	if err := json.Unmarshal(data, &plain); err != nil {
		return err
	}
	*v = FunctionValue{Value: plain.Value, Attributes: plain.Attributes}
	if !bytes.Contains(data, []byte(`"multiValue"`)) {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if raw, ok := m["multiValue"]; ok {
		if err := json.Unmarshal(raw, &v.MultiValue); err != nil {
			return fmt.Errorf("multiValue: %w", err)
		}
	}
	return nil
}
