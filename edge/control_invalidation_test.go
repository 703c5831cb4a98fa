package edge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func invalidationInput(ref string, paths ...string) *cloudfront.CreateInvalidationInput {
	return &cloudfront.CreateInvalidationInput{
		DistributionId: aws.String(testDistID),
		InvalidationBatch: &types.InvalidationBatch{
			CallerReference: aws.String(ref),
			Paths:           &types.Paths{Quantity: aws.Int32(int32(len(paths))), Items: paths},
		},
	}
}

func TestCreateInvalidationSDK(t *testing.T) {
	f := newControlFixture(t, nil)
	out, err := f.client.CreateInvalidation(t.Context(), invalidationInput("ref-1", "/index.html", "/assets/*"))
	if err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	inv := out.Invalidation
	if inv == nil || aws.ToString(inv.Id) == "" {
		t.Fatalf("no invalidation in response: %+v", out)
	}
	if got := aws.ToString(inv.Status); got != "InProgress" {
		t.Errorf("Status = %q, want InProgress", got)
	}
	if !aws.ToTime(inv.CreateTime).Equal(f.clock.now()) {
		t.Errorf("CreateTime = %v, want %v", aws.ToTime(inv.CreateTime), f.clock.now())
	}
	wantLoc := f.srv.URL + "/2020-05-31/distribution/" + testDistID + "/invalidation/" + aws.ToString(inv.Id)
	if got := aws.ToString(out.Location); got != wantLoc {
		t.Errorf("Location = %q, want %q", got, wantLoc)
	}
	if diff := cmp.Diff([]string{"/index.html", "/assets/*"}, inv.InvalidationBatch.Paths.Items); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
	if got := aws.ToString(inv.InvalidationBatch.CallerReference); got != "ref-1" {
		t.Errorf("CallerReference = %q", got)
	}
	// The cache is dropped at creation, not when the status turns Completed.
	if diff := cmp.Diff([][]string{{"/index.html", "/assets/*"}}, f.dist.invalidations()); diff != "" {
		t.Errorf("Invalidate calls (-want +got):\n%s", diff)
	}

	get, err := f.client.GetInvalidation(t.Context(), &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistID), Id: inv.Id})
	if err != nil {
		t.Fatalf("GetInvalidation: %v", err)
	}
	if diff := cmp.Diff(inv, get.Invalidation, cmp.AllowUnexported(types.Invalidation{}, types.InvalidationBatch{}, types.Paths{})); diff != "" {
		t.Errorf("GetInvalidation differs from CreateInvalidation (-create +get):\n%s", diff)
	}

	f.clock.advance(time.Minute)
	get, err = f.client.GetInvalidation(t.Context(), &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistID), Id: inv.Id})
	if err != nil {
		t.Fatalf("GetInvalidation: %v", err)
	}
	if got := aws.ToString(get.Invalidation.Status); got != "Completed" {
		t.Errorf("Status after propagation = %q, want Completed", got)
	}
}

func TestInvalidationCompletedWaiter(t *testing.T) {
	f := newControlFixture(t, func(o *ControlOptions) {
		o.Propagation = 50 * time.Millisecond
		o.Now = time.Now
	})
	out, err := f.client.CreateInvalidation(t.Context(), invalidationInput("w", "/*"))
	if err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	w := cloudfront.NewInvalidationCompletedWaiter(f.client, func(o *cloudfront.InvalidationCompletedWaiterOptions) {
		o.MinDelay = 10 * time.Millisecond
		o.MaxDelay = 100 * time.Millisecond
	})
	got, err := w.WaitForOutput(t.Context(), &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistID), Id: out.Invalidation.Id}, time.Minute)
	if err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if s := aws.ToString(got.Invalidation.Status); s != "Completed" {
		t.Errorf("Status = %q", s)
	}
}

func TestCreateInvalidationCallerReference(t *testing.T) {
	f := newControlFixture(t, nil)
	first, err := f.client.CreateInvalidation(t.Context(), invalidationInput("same", "/a", "/b"))
	if err != nil {
		t.Fatal(err)
	}
	// Same reference, same paths (any order): the existing invalidation, nothing new.
	again, err := f.client.CreateInvalidation(t.Context(), invalidationInput("same", "/b", "/a"))
	if err != nil {
		t.Fatalf("repeat: %v", err)
	}
	if a, b := aws.ToString(first.Invalidation.Id), aws.ToString(again.Invalidation.Id); a != b {
		t.Errorf("repeat created %s, want the existing %s", b, a)
	}
	if n := len(f.dist.invalidations()); n != 1 {
		t.Errorf("Invalidate called %d times, want 1", n)
	}
	// Same reference, other paths: InvalidationBatchAlreadyExists (not modelled by the SDK).
	_, err = f.client.CreateInvalidation(t.Context(), invalidationInput("same", "/c"))
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidationBatchAlreadyExists" {
		t.Fatalf("err = %v, want InvalidationBatchAlreadyExists", err)
	}
	assertHTTPStatus(t, err, http.StatusConflict)
}

// assertStatus checks the HTTP status code the SDK saw.
func assertHTTPStatus(t *testing.T, err error, want int) {
	t.Helper()
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) {
		t.Fatalf("error %v carries no HTTP status", err)
	}
	if got := re.HTTPStatusCode(); got != want {
		t.Errorf("HTTP status = %d, want %d", got, want)
	}
}

func numberedPaths(prefix string, n int) []string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return p
}

// wildcards returns n wildcard paths /<prefix><i>/*.
func wildcardPaths(prefix string, n int) []string {
	p := numberedPaths(prefix, n)
	for i := range p {
		p[i] += "/*"
	}
	return p
}

func TestCreateInvalidationErrorsSDK(t *testing.T) {
	long := "/" + strings.Repeat("a", 4000)
	tests := []struct {
		name   string
		in     *cloudfront.CreateInvalidationInput
		target any // pointer to the typed error
		status int
	}{
		{"no leading slash", invalidationInput("r", "index.html"), new(*types.InvalidArgument), 400},
		{"star not last", invalidationInput("r", "/a*b"), new(*types.InvalidArgument), 400},
		{"path too long", invalidationInput("r", long), new(*types.InvalidArgument), 400},
		{"empty path", invalidationInput("r", ""), new(*types.InvalidArgument), 400},
		{"no paths", invalidationInput("r"), new(*types.InvalidArgument), 400},
		{"batch too large", invalidationInput("r", numberedPaths("/f", 3001)...), new(*types.BatchTooLarge), 413},
		{"too many wildcards", invalidationInput("r", wildcardPaths("/w", 16)...), new(*types.TooManyInvalidationsInProgress), 400},
		{"inconsistent quantities", func() *cloudfront.CreateInvalidationInput {
			in := invalidationInput("r", "/a", "/b")
			in.InvalidationBatch.Paths.Quantity = aws.Int32(3)
			return in
		}(), new(*types.InconsistentQuantities), 400},
		{"wrong distribution", func() *cloudfront.CreateInvalidationInput {
			in := invalidationInput("r", "/a")
			in.DistributionId = aws.String("EWRONG")
			return in
		}(), new(*types.NoSuchDistribution), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newControlFixture(t, nil)
			_, err := f.client.CreateInvalidation(t.Context(), tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, tt.target) {
				t.Fatalf("err = %v (%T), want %T", err, err, tt.target)
			}
			assertHTTPStatus(t, err, tt.status)
			if n := len(f.dist.invalidations()); n != 0 {
				t.Errorf("a failed request invalidated the cache %d times", n)
			}
			var ae smithy.APIError
			errors.As(err, &ae)
			if ae.ErrorMessage() == "" {
				t.Error("empty error message")
			}
		})
	}
}

func TestInvalidationLimitsInProgress(t *testing.T) {
	f := newControlFixture(t, nil)
	// 3,000 file paths in progress over two batches is the limit...
	if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("a", numberedPaths("/a", 2000)...)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("b", numberedPaths("/b", 1000)...)); err != nil {
		t.Fatal(err)
	}
	// ...one more is refused,
	_, err := f.client.CreateInvalidation(t.Context(), invalidationInput("c", "/c"))
	var tooMany *types.TooManyInvalidationsInProgress
	if !errors.As(err, &tooMany) {
		t.Fatalf("err = %v, want TooManyInvalidationsInProgress", err)
	}
	assertHTTPStatus(t, err, 400)
	// ...but wildcards are counted apart: 15 of them still fit.
	if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("w", wildcardPaths("/w", 15)...)); err != nil {
		t.Fatalf("wildcards: %v", err)
	}
	_, err = f.client.CreateInvalidation(t.Context(), invalidationInput("w2", "/x*"))
	if !errors.As(err, &tooMany) {
		t.Fatalf("16th wildcard: err = %v, want TooManyInvalidationsInProgress", err)
	}
	// Once they complete, there is room again.
	f.clock.advance(time.Minute)
	if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("d", numberedPaths("/d", 3000)...)); err != nil {
		t.Fatalf("after completion: %v", err)
	}
}

func TestGetInvalidationErrors(t *testing.T) {
	f := newControlFixture(t, nil)
	_, err := f.client.GetInvalidation(t.Context(), &cloudfront.GetInvalidationInput{DistributionId: aws.String(testDistID), Id: aws.String("INOPE")})
	var nsi *types.NoSuchInvalidation
	if !errors.As(err, &nsi) {
		t.Fatalf("err = %v, want NoSuchInvalidation", err)
	}
	assertHTTPStatus(t, err, 404)
	_, err = f.client.GetInvalidation(t.Context(), &cloudfront.GetInvalidationInput{DistributionId: aws.String("EOTHER"), Id: aws.String("INOPE")})
	var nsd *types.NoSuchDistribution
	if !errors.As(err, &nsd) {
		t.Fatalf("err = %v, want NoSuchDistribution", err)
	}
}

func TestListInvalidationsPaging(t *testing.T) {
	f := newControlFixture(t, nil)
	var ids []string
	for i := range 5 {
		out, err := f.client.CreateInvalidation(t.Context(), invalidationInput(fmt.Sprint("ref", i), fmt.Sprint("/p", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.Invalidation.Id))
		f.clock.advance(time.Second)
	}
	// Newest first.
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}

	var got []string
	var pages int
	p := cloudfront.NewListInvalidationsPaginator(f.client, &cloudfront.ListInvalidationsInput{
		DistributionId: aws.String(testDistID), MaxItems: aws.Int32(2),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		l := out.InvalidationList
		if aws.ToInt32(l.MaxItems) != 2 || int(aws.ToInt32(l.Quantity)) != len(l.Items) {
			t.Errorf("page %d: MaxItems %d Quantity %d Items %d", pages, aws.ToInt32(l.MaxItems), aws.ToInt32(l.Quantity), len(l.Items))
		}
		for _, s := range l.Items {
			got = append(got, aws.ToString(s.Id))
			if aws.ToString(s.Status) == "" || s.CreateTime == nil {
				t.Errorf("summary %s lacks status or time", aws.ToString(s.Id))
			}
		}
		if aws.ToBool(l.IsTruncated) != (aws.ToString(l.NextMarker) != "") {
			t.Errorf("page %d: IsTruncated %v but NextMarker %q", pages, aws.ToBool(l.IsTruncated), aws.ToString(l.NextMarker))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}

	// Statuses: the first invalidations complete first.
	f.clock.advance(57 * time.Second) // ids[0] created at +0s is now 62s old, ids[4] 58s.
	out, err := f.client.ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, s := range out.InvalidationList.Items {
		statuses = append(statuses, aws.ToString(s.Status))
	}
	if diff := cmp.Diff([]string{"InProgress", "InProgress", "Completed", "Completed", "Completed"}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestListInvalidationsEmptyAndErrors(t *testing.T) {
	f := newControlFixture(t, nil)
	out, err := f.client.ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	l := out.InvalidationList
	if aws.ToInt32(l.Quantity) != 0 || len(l.Items) != 0 || aws.ToBool(l.IsTruncated) || aws.ToInt32(l.MaxItems) != 100 {
		t.Errorf("empty list = %+v", l)
	}
	_, err = f.client.ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistID), Marker: aws.String("INOPE")})
	var ia *types.InvalidArgument
	if !errors.As(err, &ia) {
		t.Errorf("bad marker: err = %v, want InvalidArgument", err)
	}
	_, err = f.client.ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String("EOTHER")})
	var nsd *types.NoSuchDistribution
	if !errors.As(err, &nsd) {
		t.Errorf("wrong distribution: err = %v, want NoSuchDistribution", err)
	}
}
