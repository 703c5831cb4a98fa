package awsinfra

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/internal/testtool"
)

// TestReleaseToDeployedState releases a static directory to the deployment aws.json
// describes — two buckets in two regions and a distribution, made in moto_server — the
// way `twinedge release --target aws` does.
func TestReleaseToDeployedState(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	_, created := motoDistribution(t, url)
	ctx := context.Background()
	state := &State{
		StackName:      "twinedge",
		DistributionID: aws.ToString(created.Distribution.Id),
		Regions: []RegionState{
			{Name: "eu-west-2", Bucket: "site-b"},
			{Name: "us-east-1", Primary: true, Bucket: "site-a"},
		},
	}
	dir := t.TempDir()
	if _, err := WriteState(dir, state); err != nil {
		t.Fatal(err)
	}
	read, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range read.Regions {
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
	os.WriteFile(filepath.Join(site, "app.3f2a9c1b.js"), []byte("console.log(1)"), 0o644)
	opts, err := read.Connect(ctx, url, build.Options{
		Source:      build.Source{Dir: site, Static: true},
		WaitTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.Targets[0].Region; got != "us-east-1" {
		t.Errorf("first target is %s, want the primary us-east-1", got)
	}
	rep, err := build.Release(ctx, opts)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if rep.Uploaded != 4 {
		t.Errorf("uploaded %d objects, want 2 files × 2 regions", rep.Uploaded)
	}
	for _, tg := range opts.Targets {
		out, err := tg.Client.(*s3.Client).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(tg.Bucket), Key: aws.String("index.html")})
		if err != nil {
			t.Fatalf("%s: %v", tg.Bucket, err)
		}
		var b bytes.Buffer
		b.ReadFrom(out.Body)
		out.Body.Close()
		if b.String() != "<!doctype html><title>t</title>" || out.Metadata["region"] != tg.Region {
			t.Errorf("%s/index.html = %q, region %q", tg.Bucket, b.String(), out.Metadata["region"])
		}
	}
	if _, err := (&State{}).Connect(ctx, url, build.Options{}); err == nil {
		t.Error("Connect on an empty state succeeded")
	}
}
