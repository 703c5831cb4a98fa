package edge

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// TestControlDrivesRealEdge checks the control API against the data plane it controls: an
// invalidation empties the real cache at once, and UpdateDistribution goes through Apply.
func TestControlDrivesRealEdge(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, "hello "+r.URL.Path)
	})
	cfg := &types.DistributionConfig{
		CallerReference: aws.String("control-edge-test"),
		Comment:         aws.String(""),
		Enabled:         aws.Bool(true),
		Origins: &types.Origins{Quantity: aws.Int32(1), Items: []types.Origin{{
			Id: aws.String("o"), DomainName: aws.String("origin.example.com"),
			CustomOriginConfig: &types.CustomOriginConfig{
				HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: types.OriginProtocolPolicyHttpOnly,
			},
		}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId:       aws.String("o"),
			ViewerProtocolPolicy: types.ViewerProtocolPolicyAllowAll,
			CachePolicyId:        aws.String("658327ea-f89d-4fab-a63d-7e88639e58f6"), // CachingOptimized
		},
	}
	e, err := New(cfg, Options{
		DistributionID: testDistID,
		DomainName:     "d111111abcdef8.cloudfront.net",
		Credentials:    edgeCreds,
		Resolve:        func(string) (string, bool) { return origin.addr, true },
		OriginScheme:   "http",
	})
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	viewer := httptest.NewServer(e)
	defer viewer.Close()
	ctl := httptest.NewServer(NewControl(e, ControlOptions{
		DistributionID: testDistID, DomainName: "d111111abcdef8.cloudfront.net", Credentials: edgeCreds,
		Propagation: 10 * time.Millisecond,
	}))
	defer ctl.Close()
	client := newCFClient(ctl.URL, "test", "test")

	get := func() {
		t.Helper()
		resp, err := http.Get(viewer.URL + "/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /a.txt: %d", resp.StatusCode)
		}
	}
	get()
	get()
	if n := origin.hits.Load(); n != 1 {
		t.Fatalf("origin hits before invalidation = %d, want 1 (cached)", n)
	}
	if _, err := client.CreateInvalidation(t.Context(), invalidationInput("r1", "/a.txt")); err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	get()
	if n := origin.hits.Load(); n != 2 {
		t.Errorf("origin hits after invalidation = %d, want 2", n)
	}

	// UpdateDistribution goes through Apply: an invalid config is refused with the edge's reason.
	cur, err := client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	bad := cur.DistributionConfig
	bad.DefaultCacheBehavior.TargetOriginId = aws.String("nowhere")
	_, err = client.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: cur.ETag, DistributionConfig: bad})
	var nso *types.NoSuchOrigin
	if !errors.As(err, &nso) {
		t.Fatalf("invalid config: err = %v, want NoSuchOrigin", err)
	}
	assertHTTPStatus(t, err, http.StatusNotFound)
	good := cur.DistributionConfig
	good.DefaultCacheBehavior.TargetOriginId = aws.String("o")
	good.Comment = aws.String("v2")
	if _, err := client.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: cur.ETag, DistributionConfig: good}); err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	if got := aws.ToString(e.Config().Comment); got != "v2" {
		t.Errorf("edge config comment = %q, want v2", got)
	}
}
