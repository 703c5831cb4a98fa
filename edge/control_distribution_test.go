package edge

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/google/go-cmp/cmp"
)

func TestGetDistribution(t *testing.T) {
	f := newControlFixture(t, nil)
	if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("r", "/a")); err != nil {
		t.Fatal(err)
	}
	out, err := f.client.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatalf("GetDistribution: %v", err)
	}
	d := out.Distribution
	want := map[string]string{
		"Id":         testDistID,
		"ARN":        "arn:aws:cloudfront::000000000000:distribution/" + testDistID,
		"Status":     "Deployed",
		"DomainName": "d111111abcdef8.cloudfront.net",
	}
	got := map[string]string{"Id": aws.ToString(d.Id), "ARN": aws.ToString(d.ARN), "Status": aws.ToString(d.Status), "DomainName": aws.ToString(d.DomainName)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("distribution (-want +got):\n%s", diff)
	}
	if n := aws.ToInt32(d.InProgressInvalidationBatches); n != 1 {
		t.Errorf("InProgressInvalidationBatches = %d, want 1", n)
	}
	if d.LastModifiedTime == nil || d.LastModifiedTime.IsZero() {
		t.Error("no LastModifiedTime")
	}
	if diff := cmp.Diff(controlTestConfig(), d.DistributionConfig, cfEqual); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if aws.ToString(out.ETag) == "" {
		t.Error("no ETag")
	}

	_, err = f.client.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String("EOTHER")})
	var nsd *types.NoSuchDistribution
	if !errors.As(err, &nsd) {
		t.Errorf("wrong id: err = %v, want NoSuchDistribution", err)
	}
	assertHTTPStatus(t, err, http.StatusNotFound)
	_, err = f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String("EOTHER")})
	if !errors.As(err, &nsd) {
		t.Errorf("config of wrong id: err = %v, want NoSuchDistribution", err)
	}
}

func TestUpdateDistribution(t *testing.T) {
	f := newControlFixture(t, nil)
	cur, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	before := f.clock.now()
	f.clock.advance(time.Second)
	cfg := cur.DistributionConfig
	cfg.Comment = aws.String("second version")
	out, err := f.client.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: cur.ETag, DistributionConfig: cfg})
	if err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	if aws.ToString(out.ETag) == "" || aws.ToString(out.ETag) == aws.ToString(cur.ETag) {
		t.Errorf("ETag after update = %q, before %q: want a new one", aws.ToString(out.ETag), aws.ToString(cur.ETag))
	}
	if got := aws.ToString(f.dist.Config().Comment); got != "second version" {
		t.Errorf("applied comment = %q", got)
	}
	if s := aws.ToString(out.Distribution.Status); s != "InProgress" {
		t.Errorf("status right after update = %q, want InProgress", s)
	}
	if !aws.ToTime(out.Distribution.LastModifiedTime).After(before) {
		t.Errorf("LastModifiedTime %v not after %v", aws.ToTime(out.Distribution.LastModifiedTime), before)
	}
	f.clock.advance(time.Minute)
	d, err := f.client.GetDistribution(t.Context(), &cloudfront.GetDistributionInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	if s := aws.ToString(d.Distribution.Status); s != "Deployed" {
		t.Errorf("status after propagation = %q, want Deployed", s)
	}
	if aws.ToString(d.ETag) != aws.ToString(out.ETag) {
		t.Errorf("GetDistribution ETag %q, UpdateDistribution gave %q", aws.ToString(d.ETag), aws.ToString(out.ETag))
	}

	// The old ETag is stale now.
	_, err = f.client.UpdateDistribution(t.Context(), &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: cur.ETag, DistributionConfig: cfg})
	var pf *types.PreconditionFailed
	if !errors.As(err, &pf) {
		t.Fatalf("stale ETag: err = %v, want PreconditionFailed", err)
	}
	assertHTTPStatus(t, err, http.StatusPreconditionFailed)
}

func TestUpdateDistributionErrors(t *testing.T) {
	tests := []struct {
		name     string
		ifMatch  *string // nil: use the current ETag
		id       string
		cfg      func(*types.DistributionConfig)
		applyErr error
		target   any
		status   int
	}{
		{name: "missing If-Match", ifMatch: aws.String(""), target: new(*types.InvalidIfMatchVersion), status: 400},
		{name: "wrong If-Match", ifMatch: aws.String("E000000000000"), target: new(*types.PreconditionFailed), status: 412},
		{name: "wrong id", id: "EOTHER", target: new(*types.NoSuchDistribution), status: 404},
		{name: "apply fails", applyErr: errors.New("behaviour /api/* targets unknown origin x"), target: new(*types.InvalidArgument), status: 400},
		{name: "edge refuses with a code", applyErr: &ConfigError{Code: "NoSuchOrigin", Message: "no origin x"}, target: new(*types.NoSuchOrigin), status: 404},
		{name: "caller reference changed", cfg: func(c *types.DistributionConfig) { c.CallerReference = aws.String("other") }, target: new(*types.IllegalUpdate), status: 400},
		{name: "inconsistent quantities", cfg: func(c *types.DistributionConfig) { c.Origins.Quantity = aws.Int32(5) }, target: new(*types.InconsistentQuantities), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newControlFixture(t, nil)
			cur, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
			if err != nil {
				t.Fatal(err)
			}
			in := &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: cur.ETag, DistributionConfig: cur.DistributionConfig}
			if tt.ifMatch != nil {
				in.IfMatch = tt.ifMatch
				if *tt.ifMatch == "" {
					in.IfMatch = nil
				}
			}
			if tt.id != "" {
				in.Id = aws.String(tt.id)
			}
			in.DistributionConfig.Comment = aws.String("changed")
			if tt.cfg != nil {
				tt.cfg(in.DistributionConfig)
			}
			f.dist.applyErr = tt.applyErr
			_, err = f.client.UpdateDistribution(t.Context(), in)
			if !errors.As(err, tt.target) {
				t.Fatalf("err = %v, want %T", err, tt.target)
			}
			assertHTTPStatus(t, err, tt.status)
			var ia *types.InvalidArgument
			if tt.applyErr != nil && errors.As(err, &ia) && ia.ErrorMessage() != tt.applyErr.Error() {
				t.Errorf("message %q, want the edge's %q", ia.ErrorMessage(), tt.applyErr)
			}
			// Nothing changed: same config, same ETag.
			if got := aws.ToString(f.dist.Config().Comment); got == "changed" {
				t.Error("a failed update was applied")
			}
			again, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(again.ETag) != aws.ToString(cur.ETag) {
				t.Errorf("ETag changed by a failed update")
			}
		})
	}
}

func TestListDistributions(t *testing.T) {
	f := newControlFixture(t, nil)
	out, err := f.client.ListDistributions(t.Context(), &cloudfront.ListDistributionsInput{})
	if err != nil {
		t.Fatalf("ListDistributions: %v", err)
	}
	l := out.DistributionList
	if aws.ToInt32(l.Quantity) != 1 || len(l.Items) != 1 || aws.ToBool(l.IsTruncated) {
		t.Fatalf("list = %+v", l)
	}
	s := l.Items[0]
	if aws.ToString(s.Id) != testDistID || aws.ToString(s.Status) != "Deployed" || aws.ToString(s.DomainName) == "" ||
		aws.ToString(s.Origins.Items[0].Id) != "site-eu-west-1" || aws.ToString(s.DefaultCacheBehavior.TargetOriginId) != "site-eu-west-1" {
		t.Errorf("summary = %+v", s)
	}
	// The paginator stops after the one page.
	p := cloudfront.NewListDistributionsPaginator(f.client, &cloudfront.ListDistributionsInput{MaxItems: aws.Int32(1)})
	var n int
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.DistributionList.Items)
	}
	if n != 1 {
		t.Errorf("paginator saw %d distributions, want 1", n)
	}
	_, err = f.client.ListDistributions(t.Context(), &cloudfront.ListDistributionsInput{MaxItems: aws.Int32(0)})
	var ia *types.InvalidArgument
	if !errors.As(err, &ia) {
		t.Errorf("MaxItems 0: err = %v, want InvalidArgument", err)
	}
}

// TestCreateDistribution: the local edge serves one distribution. The retry of the create
// that made it (same CallerReference, same content) answers it; the same CallerReference with
// other content is DistributionAlreadyExists (409); a new one is TooManyDistributions, the
// local edge's limit; a config CloudFront refuses gets its refusal first.
func TestCreateDistribution(t *testing.T) {
	f := newControlFixture(t, nil)
	cfg := controlTestConfig()
	out, err := f.client.CreateDistribution(t.Context(), &cloudfront.CreateDistributionInput{DistributionConfig: cfg})
	if err != nil {
		t.Fatalf("retry of the original create: %v", err)
	}
	if aws.ToString(out.Distribution.Id) != testDistID || aws.ToString(out.ETag) == "" || !strings.HasSuffix(aws.ToString(out.Location), "/distribution/"+testDistID) {
		t.Errorf("CreateDistribution = %+v", out)
	}
	other := controlTestConfig()
	other.Comment = aws.String("other content")
	_, err = f.client.CreateDistribution(t.Context(), &cloudfront.CreateDistributionInput{DistributionConfig: other})
	var exists *types.DistributionAlreadyExists
	if !errors.As(err, &exists) {
		t.Errorf("same CallerReference, other content: %v, want DistributionAlreadyExists", err)
	}
	other.CallerReference = aws.String("second")
	_, err = f.client.CreateDistribution(t.Context(), &cloudfront.CreateDistributionInput{DistributionConfig: other})
	var many *types.TooManyDistributions
	if !errors.As(err, &many) {
		t.Errorf("second distribution: %v, want TooManyDistributions", err)
	}
	bad := controlTestConfig()
	bad.DefaultCacheBehavior.TargetOriginId = aws.String("ghost")
	_, err = f.client.CreateDistribution(t.Context(), &cloudfront.CreateDistributionInput{DistributionConfig: bad})
	var nso *types.NoSuchOrigin
	if !errors.As(err, &nso) || !strings.Contains(err.Error(), "One or more of your cache behavior target origins or origin groups do not exist.") {
		t.Errorf("invalid config: %v, want NoSuchOrigin", err)
	}
	if got := aws.ToString(f.dist.Config().Comment); got != "twinedge test" {
		t.Errorf("a refused create changed the config: comment %q", got)
	}
}
