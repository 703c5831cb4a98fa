package awsinfra

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-west-2": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
	} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%q) = %q, want %q", region, got, want)
		}
	}
	if s := DenyCloudFrontStatement(Partition("cn-north-1"), "b"); s.Resource != "arn:aws-cn:s3:::b/*" {
		t.Errorf("China bucket ARN %v", s.Resource)
	}
}

// call is one AWS request as a client sent it, recorded after the request was built.
type call struct {
	Service, Operation string
	// Owner is the bucket owner condition the request carried.
	Owner string
}

// callRecorder records every request of the clients it is installed in, for tests that
// check what the code asks of AWS: the bucket owner condition, the deployer's policy.
type callRecorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *callRecorder) option(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("TestRecordCall",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c := call{Service: awsmiddleware.GetServiceID(ctx), Operation: awsmiddleware.GetOperationName(ctx)}
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				c.Owner = req.Header.Get(expectedBucketOwnerHeader)
			}
			r.mu.Lock()
			r.calls = append(r.calls, c)
			r.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.Before)
}

func (r *callRecorder) options() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{r.option}
}

func (r *callRecorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// checkOwnerCondition fails the test for each S3 request without the account as the
// expected bucket owner (CreateBucket and ListBuckets take none).
func checkOwnerCondition(t *testing.T, calls []call, account string) {
	t.Helper()
	n := 0
	for _, c := range calls {
		if c.Service != "S3" {
			continue
		}
		n++
		if ownerlessOperations[c.Operation] {
			if c.Owner != "" {
				t.Errorf("%s carried a bucket owner condition, which it does not take", c.Operation)
			}
			continue
		}
		if c.Owner != account {
			t.Errorf("S3 %s was sent with expected bucket owner %q, want %q", c.Operation, c.Owner, account)
		}
	}
	if n == 0 {
		t.Error("no S3 request was recorded: the recorder is not installed")
	}
}

// forbiddenS3 answers HeadBucket as S3 does for a bucket owned by another account when
// the request names the expected owner.
type forbiddenS3 struct{ s3API }

func (forbiddenS3) HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "Forbidden", Message: "Forbidden"}
}

func TestArtifactBucketOfAnotherAccount(t *testing.T) {
	var out strings.Builder
	err := ensureArtifact(context.Background(), forbiddenS3{}, &progress{w: &out},
		artifactBucket{Region: "eu-west-2", Name: "twinedge-artifacts-123456789012-eu-west-2", Account: "123456789012"}, "lambda/x.zip", []byte("zip"), false)
	if err == nil || !strings.Contains(err.Error(), "not owned by account 123456789012") || !strings.Contains(err.Error(), "--stack") {
		t.Fatalf("err = %v, want a one-line explanation naming the account and the remedy", err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}
