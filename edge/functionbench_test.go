package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// BenchmarkFunctionHit is a cache hit of a 10 KB object through a JavaScript
// viewer-request function (AWS's add-true-client-ip-header sample, which every request
// runs), against BenchmarkFunctionHit/none, the same hit with no function:
// go test ./edge -run '^$' -bench FunctionHit.
func BenchmarkFunctionHit(b *testing.B) {
	for _, c := range []struct{ name, code string }{
		{"none", ""},
		{"js", `async function handler(event) {
    var request = event.request;
    request.headers['true-client-ip'] = {value: event.viewer.ip};
    return request;
}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			opt := withFunction("fn", "viewer-request", c.code)
			if c.code == "" {
				opt = func(_ *Options, cfg *types.DistributionConfig) {
					cfg.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: ei32(0)}
				}
			}
			w := newWorld(b, opt)
			if r := w.get("/assets/app.js"); r.StatusCode != 200 {
				b.Fatal(r.StatusCode)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				w.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://d111.cloudfront.net/assets/app.js", nil))
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
