package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/smithy-go"
)

// do sends a raw request to the fixture, SigV4-signed like the SDK signs CloudFront requests
// (no x-amz-content-sha256 header) unless sign is false.
func (f *controlFixture) do(t *testing.T, method, path, body string, sign bool, hdr http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if sign {
		sum := sha256.Sum256([]byte(body))
		err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
			req, hex.EncodeToString(sum[:]), "cloudfront", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// errorBody decodes a CloudFront XML error response.
func controlErrorBody(t *testing.T, resp *http.Response) xmlErrorResponse {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	var e xmlErrorResponse
	if err := xml.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	if e.Xmlns != cloudFrontNS || e.RequestID == "" || e.RequestID != resp.Header.Get("x-amzn-RequestId") || e.Type == "" {
		t.Errorf("error body %q lacks namespace, type or request id (header %q)", b, resp.Header.Get("x-amzn-RequestId"))
	}
	return e
}

func TestControlRequiresSignature(t *testing.T) {
	f := newControlFixture(t, nil)
	resp := f.do(t, "GET", "/2020-05-31/distribution/"+testDistID+"/invalidation", "", false, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned: status %d, want 403", resp.StatusCode)
	}
	if e := controlErrorBody(t, resp); e.Code != "MissingAuthenticationToken" {
		t.Errorf("unsigned: code %q, want MissingAuthenticationToken", e.Code)
	}

	// Wrong secret, through the SDK.
	bad := newCFClient(f.srv.URL, "test", "wrong")
	_, err := bad.CreateInvalidation(t.Context(), invalidationInput("r", "/a"))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}
	assertHTTPStatus(t, err, http.StatusForbidden)
	// Unknown key.
	_, err = newCFClient(f.srv.URL, "other", "test").ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistID)})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
		t.Errorf("unknown key: err = %v, want InvalidClientTokenId", err)
	}
	if n := len(f.dist.invalidations()); n != 0 {
		t.Errorf("rejected requests invalidated %d times", n)
	}
}

func TestControlSignedBodyHashMustMatch(t *testing.T) {
	f := newControlFixture(t, nil)
	body := `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path></Items><Quantity>1</Quantity></Paths></InvalidationBatch>`
	req, _ := http.NewRequest("POST", f.srv.URL+"/2020-05-31/distribution/"+testDistID+"/invalidation", strings.NewReader(body))
	other := sha256.Sum256([]byte("something else"))
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(other[:]))
	if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"},
		req, hex.EncodeToString(other[:]), "cloudfront", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
	if n := len(f.dist.invalidations()); n != 0 {
		t.Errorf("tampered body invalidated %d times", n)
	}
}

func TestCreateInvalidationMissingBody(t *testing.T) {
	f := newControlFixture(t, nil)
	resp := f.do(t, "POST", "/2020-05-31/distribution/"+testDistID+"/invalidation", "", true, http.Header{"Content-Type": {"application/xml"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if e := controlErrorBody(t, resp); e.Code != "MissingBody" || e.Type != "Sender" {
		t.Errorf("error %+v, want Sender MissingBody", e)
	}
}

func TestControlUnknownOperation(t *testing.T) {
	f := newControlFixture(t, nil)
	resp := f.do(t, "DELETE", "/2020-05-31/distribution/"+testDistID, "", true, nil)
	if resp.StatusCode/100 != 4 {
		t.Errorf("status %d, want 4xx", resp.StatusCode)
	}
	controlErrorBody(t, resp)
}
