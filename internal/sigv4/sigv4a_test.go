package sigv4

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

var v4aRule = Rule{Service: "cloudfront-keyvaluestore", Regions: []string{"us-east-1"}, MaxBody: 1 << 20, ServerHashes: true}

// FuzzVerifyV4A: the Authorization and region-set headers are outside input; a request
// with made-up values is refused, never served, and never panics.
func FuzzVerifyV4A(f *testing.F) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=test/20261201/cloudfront-keyvaluestore/aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045022100", "*")
	f.Add("AWS4-ECDSA-P256-SHA256 Credential=test/20261201/cloudfront-keyvaluestore/aws4_request, SignedHeaders=host, Signature=00", "us-east-1")
	f.Add("AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00", "")
	f.Fuzz(func(t *testing.T, auth, regions string) {
		r := httptest.NewRequest("GET", "http://000000000000.cloudfront-kvs.global.api.aws/key-value-stores/x", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Region-Set", regions)
		r.Header.Set("X-Amz-Date", now.Format(timeFmt))
		if _, err := VerifyV4A(r, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, v4aRule, now); err == nil {
			t.Fatalf("a made-up signature passed: %q", auth)
		}
	})
}

// The derived key is deterministic and differs by secret; its point is on the curve.
func TestV4APublicKey(t *testing.T) {
	a, b := v4aPublicKey("AKID", "secret"), v4aPublicKey("AKID", "other")
	if !a.Curve.IsOnCurve(a.X, a.Y) || a.X.Cmp(v4aPublicKey("AKID", "secret").X) != 0 || a.X.Cmp(b.X) == 0 {
		t.Error("key derivation is not deterministic per key pair")
	}
	if !strings.HasPrefix(AlgorithmV4A, "AWS4-ECDSA") {
		t.Error(AlgorithmV4A)
	}
}
