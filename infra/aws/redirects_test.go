package awsinfra

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/testtool"
)

// TestReleaseRedirectsToDeployedState: `twinedge release --target aws` of a site with a
// _redirects file. aws.json names the stack's redirect store (its RedirectStoreArn
// output), Connect gives the release a cloudfront-keyvaluestore client for it, and the
// release writes the rules. moto_server has no KeyValueStore data plane, so the store
// is the local edge's, which speaks the service's protocol and verifies its SigV4A
// signatures; the buckets and the distribution are moto's.
func TestReleaseRedirectsToDeployedState(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	_, created := motoDistribution(t, url)
	ctx := context.Background()

	cfg, err := infra.Distribution(infra.Endpoints{
		Regions: []infra.Region{{Name: "us-east-1", BucketDomain: "a.s3.us-east-1.amazonaws.com"}, {Name: "eu-west-2", BucketDomain: "b.s3.eu-west-2.amazonaws.com"}},
		SiteOAC: "EOAC", SPAFunctionARN: "arn:aws:cloudfront::000000000000:function/" + infra.SPAFunctionName,
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := edge.New(cfg, edge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctl := edge.NewControl(e, edge.ControlOptions{DistributionID: "ELOCALKVS", Credentials: aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}})
	kvsAPI := httptest.NewServer(ctl)
	defer kvsAPI.Close()
	storeARN, err := ctl.EnsureKeyValueStore("twinedge-redirects", "")
	if err != nil {
		t.Fatal(err)
	}

	state := &State{StackName: "twinedge", DistributionID: aws.ToString(created.Distribution.Id), RedirectStoreArn: storeARN,
		Regions: []RegionState{{Name: "us-east-1", Primary: true, Bucket: "redir-a"}, {Name: "eu-west-2", Bucket: "redir-b"}}}
	for _, r := range state.Regions {
		c, err := build.NewS3Client(ctx, url, r.Name)
		if err != nil {
			t.Fatal(err)
		}
		in := &s3.CreateBucketInput{Bucket: aws.String(r.Bucket)}
		if r.Name != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(r.Name)}
		}
		if _, err := c.CreateBucket(ctx, in); err != nil {
			t.Fatalf("create bucket %s: %v", r.Bucket, err)
		}
	}
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("<!doctype html><title>t</title>"), 0o644)
	os.WriteFile(filepath.Join(site, build.RedirectsFile), []byte("/old /  301\n/blog/* https://blog.example.com/:splat 302\n"), 0o644)

	opts, err := state.Connect(ctx, url, build.Options{Source: build.Source{Dir: site, Static: true}, WaitTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Redirects == nil || opts.Redirects.ARN != storeARN {
		t.Fatalf("Connect gave redirects %+v, want the store of aws.json", opts.Redirects)
	}
	kv, err := build.NewKeyValueStoreClient(ctx, kvsAPI.URL)
	if err != nil {
		t.Fatal(err)
	}
	opts.Redirects.Client = kv // moto has no cloudfront-keyvaluestore
	rep, err := build.Release(ctx, opts)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if rep.Redirects == nil || !slices.Equal(rep.Redirects.Put, []string{"/blog/*", "/old"}) {
		t.Errorf("release redirects %+v", rep.Redirects)
	}
	keys, err := kv.ListKeys(ctx, &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: aws.String(storeARN)})
	if err != nil || len(keys.Items) != 2 {
		t.Fatalf("store after the release: %v %+v", err, keys)
	}

	// Without a store in aws.json (a deployment from before redirects), a site with a
	// _redirects file is refused before anything changes.
	state.RedirectStoreArn = ""
	opts, err = state.Connect(ctx, url, build.Options{Source: build.Source{Dir: site, Static: true}})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(site, "index.html"), []byte("<!doctype html><title>changed</title>"), 0o644)
	if rep, err := build.Release(ctx, opts); err == nil || !strings.Contains(err.Error(), "names no redirect store") {
		t.Fatalf("release without a redirect store: %v %+v", err, rep)
	}
}
