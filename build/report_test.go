package build

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
)

// The --json contract: these keys are always there, invalidationPaths always an array.
func TestReportJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := (&Report{ReleaseID: "0123456789ab"}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"releaseId", "uploaded", "deleted", "skipped", "invalidationPaths", "bytes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report lacks %q", k)
		}
	}
	if _, ok := m["invalidationPaths"].([]any); !ok {
		t.Errorf("invalidationPaths = %#v, want an array", m["invalidationPaths"])
	}
}

// deleteFailS3 answers DeleteObjects with a per-key error for one key.
type deleteFailS3 struct {
	S3API
	bad string
}

func (d *deleteFailS3) DeleteObjects(_ context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	out := &s3.DeleteObjectsOutput{}
	for _, o := range in.Delete.Objects {
		if aws.ToString(o.Key) == d.bad {
			out.Errors = append(out.Errors, s3types.Error{Key: o.Key, Code: aws.String("AccessDenied"), Message: aws.String("Access Denied")})
		}
	}
	return out, nil
}

func TestDeletePerKeyErrors(t *testing.T) {
	tg := &Target{Bucket: "b", Region: "r", Prefix: "site/", Client: &deleteFailS3{bad: "site/b.html"}}
	deleted, failed, err := deleteKeys(context.Background(), tg, []string{"a.html", "b.html", "c.html"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.html", "c.html"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"b.html": "AccessDenied: Access Denied"}, failed); diff != "" {
		t.Errorf("failed (-want +got)\n%s", diff)
	}
}

// neverDone reports an invalidation that stays InProgress.
type neverDone struct{ CloudFrontAPI }

func (neverDone) GetInvalidation(context.Context, *cloudfront.GetInvalidationInput, ...func(*cloudfront.Options)) (*cloudfront.GetInvalidationOutput, error) {
	return &cloudfront.GetInvalidationOutput{Invalidation: &types.Invalidation{Id: aws.String("I"), Status: aws.String("InProgress")}}, nil
}

func TestWaitTimeoutIsReported(t *testing.T) {
	var ticks []string
	err := waitInvalidation(context.Background(), neverDone{}, "D", "I", time.Millisecond, func(s string) { ticks = append(ticks, s) })
	if !errors.Is(err, errWaitTimeout) {
		t.Errorf("err = %v, want errWaitTimeout", err)
	}
	if len(ticks) == 0 || !strings.Contains(ticks[0], "InProgress") {
		t.Errorf("progress = %q", ticks)
	}
}
