package awsinfra

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/twinedge/twinedge/internal/testtool"
)

// TestDestroyAgainstMoto deploys (with the moto-executable templates of deploy_test.go,
// whose buckets and table CloudFormation retains), writes versions into the site bucket,
// and destroys: the plan comes first, nothing goes without confirmation, then nothing is
// left that moto models, and a second run finds nothing to do.
func TestDestroyAgainstMoto(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	ctx := context.Background()
	var out bytes.Buffer
	opts := motoDeployOptions(t, url, &out)
	if err := Deploy(ctx, opts); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, out.String())
	}
	st, err := ReadState(opts.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := newSession(ctx, url, append([]string{GlobalRegion}, DefaultRegions...)...)
	if err != nil {
		t.Fatal(err)
	}
	// Versions and a delete marker: a versioned bucket must be emptied of all of them.
	site := sess.s3(st.Regions[0].Name)
	bucket := aws.String(st.Regions[0].Bucket)
	if _, err := site.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"v1", "v2"} {
		if _, err := site.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("index.html"), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := site.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String("index.html")}); err != nil {
		t.Fatal(err)
	}

	rec := &callRecorder{}
	dopts := DestroyOptions{StateDir: opts.StateDir, EndpointURL: url, Progress: &out, PollInterval: opts.PollInterval, apiOptions: rec.options()}

	out.Reset()
	dry := dopts
	dry.DryRun = true
	plan, err := Destroy(ctx, dry)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	if len(plan.Stacks) != 3 || plan.Stacks[0].Name != "twinedge-global" || len(plan.Tables) != 1 || len(plan.Buckets) != 6 {
		t.Errorf("plan %+v, want the global stack first, two regional stacks, the table, and site, releases and artifacts buckets in each region", plan)
	}
	for _, want := range []string{"destroy plan", "delete stack", "empty (3 object versions) and delete the site bucket", "artifacts bucket", "dry run: nothing was deleted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := Destroy(ctx, dopts); !errors.Is(err, ErrNotConfirmed) {
		t.Fatalf("unconfirmed destroy: %v, want ErrNotConfirmed", err)
	}
	if _, err := ReadState(opts.StateDir); err != nil {
		t.Fatalf("a refused destroy changed something: %v", err)
	}

	out.Reset()
	dopts.Confirm = func() bool { return true }
	if _, err := Destroy(ctx, dopts); err != nil {
		t.Fatalf("Destroy: %v\n%s", err, out.String())
	}
	checkOwnerCondition(t, rec.all(), "123456789012")
	checkNoStacks(t, sess, "destroy")
	for _, r := range append([]string{GlobalRegion}, DefaultRegions...) {
		tables, err := dynamodb.NewFromConfig(sess.configs[r]).ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tables.TableNames) > 0 {
			t.Errorf("tables left in %s: %v", r, tables.TableNames)
		}
	}
	buckets, err := sess.s3(GlobalRegion).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets.Buckets {
		t.Errorf("bucket left: %s", aws.ToString(b.Name))
	}
	if _, err := ReadState(opts.StateDir); err == nil {
		t.Error("aws.json still describes the destroyed deployment")
	}

	out.Reset()
	if _, err := Destroy(ctx, dopts); err != nil || !strings.Contains(out.String(), "nothing to delete") {
		t.Errorf("second destroy: %v\n%s", err, out.String())
	}
}
