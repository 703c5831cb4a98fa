package edge

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// FuzzParseTestEvent: TestFunction's event object is outside input; it parses or is
// refused, and what parses encodes again.
func FuzzParseTestEvent(f *testing.F) {
	f.Add([]byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/a","querystring":{"a":{"value":"1","multiValue":[{"value":"1"}]}},"headers":{},"cookies":{}}}`))
	f.Add([]byte(`{"context":{"eventType":"viewer-response"},"request":{"uri":"/"},"response":{"statusCode":200,"body":"x"}}`))
	f.Add([]byte(`{"context":{"eventType":"origin-request"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := parseTestEvent(b)
		if err != nil {
			return
		}
		if ev.Request == nil || ev.Request.Headers == nil {
			t.Fatal("a parsed event lacks its request")
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeFunctionResult: what a handler returns is the function author's input.
func FuzzDecodeFunctionResult(f *testing.F) {
	f.Add("viewer-request", []byte(`{"uri":"/a","querystring":"a=1&b","headers":{"x":{"value":"y"}}}`))
	f.Add("viewer-request", []byte(`{"statusCode":302,"headers":{"location":{"value":"/b"}},"body":{"data":"eA==","encoding":"base64"}}`))
	f.Add("viewer-response", []byte(`{"statusCode":200,"body":"text"}`))
	f.Fuzz(func(t *testing.T, eventType string, out []byte) {
		res, err := decodeFunctionResult(eventType, out)
		if err != nil {
			return
		}
		if res.Request == nil && res.Response == nil {
			t.Fatal("a decoded result is neither a request nor a response")
		}
		if res.Response != nil && res.Response.Body != nil {
			_, _ = res.Response.Body.bytes()
		}
	})
}

// FuzzFunctionRequest: the body of CreateFunction and UpdateFunction.
func FuzzFunctionRequest(f *testing.F) {
	f.Add([]byte(`<CreateFunctionRequest xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Name>a</Name><FunctionConfig><Comment></Comment><Runtime>cloudfront-js-2.0</Runtime></FunctionConfig><FunctionCode>ZnVuY3Rpb24gaGFuZGxlcihlKXtyZXR1cm4gZS5yZXF1ZXN0fQ==</FunctionCode></CreateFunctionRequest>`))
	f.Add([]byte(`<UpdateFunctionRequest><FunctionConfig><Runtime>cloudfront-js-1.0</Runtime><KeyValueStoreAssociations><Quantity>1</Quantity><Items><KeyValueStoreAssociation><KeyValueStoreARN>x</KeyValueStoreARN></KeyValueStoreAssociation></Items></KeyValueStoreAssociations></FunctionConfig><FunctionCode>eA==</FunctionCode></UpdateFunctionRequest>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := httptest.NewRequest("POST", "/2020-05-31/function", bytes.NewReader(b))
		req, code, err := readFunctionRequest(r, "CreateFunctionRequest")
		if err != nil {
			return
		}
		if req.FunctionConfig == nil || len(code) == 0 || len(code) > MaxFunctionSize {
			t.Fatalf("accepted %+v with %d bytes of code", req, len(code))
		}
	})
}
