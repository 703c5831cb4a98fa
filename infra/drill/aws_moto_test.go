package drill

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	awsinfra "github.com/twinedge/twinedge/infra/aws"
	"github.com/twinedge/twinedge/internal/testtool"
)

// TestAWSDrillHealsOnMoto runs the AWS drill's switch (ForAWS: `twinedge fail --aws`)
// against moto_server's S3 and Lambda, with the viewer traffic on a stand-in edge (moto has
// no CloudFront data plane). The drill is interrupted while the primary is failed, as
// Ctrl-C would: both regions must be healed when it returns, bucket policy and function
// environment alike. A fault left as by a killed drill is healed by the next drill before
// its baseline, and by HealAWS of every region (`twinedge heal --aws`).
func TestAWSDrillHealsOnMoto(t *testing.T) {
	url := testtool.Moto(t, testtool.MotoScript("../aws/testdata/moto/server.py"))
	t.Setenv("AWS_ENDPOINT_URL", url) // the SDK's standard variable: every client goes to moto
	ctx := context.Background()
	regions := []string{"us-east-1", "eu-west-2"}
	role := motoRole(t, ctx, regions[0])
	dir := t.TempDir()
	state := &awsinfra.State{StackName: "twinedge", DistributionID: "E2QWRUHAPOMQZL", DomainName: "d1.cloudfront.net"}
	for i, region := range regions {
		cfg := motoConfig(t, ctx, region)
		bucket := "twinedge-site-" + region
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
		if region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := s3c.CreateBucket(ctx, in); err != nil {
			t.Fatal(err)
		}
		fn := "twinedge-api-" + region
		if _, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(fn), Role: aws.String(role), Runtime: lambdatypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: bootstrapZip(t)},
			Environment: &lambdatypes.Environment{Variables: map[string]string{awsinfra.FailEnv: "0"}},
		}); err != nil {
			t.Fatal(err)
		}
		state.Regions = append(state.Regions, awsinfra.RegionState{Name: region, Primary: i == 0, Bucket: bucket, FunctionName: fn})
	}
	if _, err := awsinfra.WriteState(dir, state); err != nil {
		t.Fatal(err)
	}

	f := newFakeWorld()
	srv := httptest.NewServer(f)
	defer srv.Close()
	opts, err := ForAWS(dir, Options{Duration: 30 * time.Second, Rate: 50, NoProbes: true})
	if err != nil {
		t.Fatal(err)
	}
	opts.Edge = srv.URL
	opts.Schedule = opts.Schedule[2:] // "aws": the bucket policy and the API of the primary
	dctx, interrupt := context.WithCancel(ctx)
	opts.Progress = progressFunc(func(line string) {
		if strings.Contains(line, "fail ") {
			// The fault is being set; interrupt once it is, as an operator's Ctrl-C.
			go func() {
				for !failedOnMoto(t, ctx, state.Regions[0]) {
					time.Sleep(50 * time.Millisecond)
				}
				interrupt()
			}()
		}
	})
	_, err = Run(dctx, opts)
	if err == nil || !strings.Contains(err.Error(), "every region healed") {
		t.Fatalf("interrupted AWS drill: %v", err)
	}
	for _, r := range state.Regions {
		if failedOnMoto(t, ctx, r) {
			t.Errorf("%s left failed after the interrupted drill", r.Name)
		}
	}

	// A drill killed outright leaves its fault. The next drill heals it before its
	// baseline; `twinedge heal --aws` (HealAWS of every region) heals it by hand.
	access := awsinfra.AccessOptions{StateDir: dir}
	if err := awsinfra.FailAWS(ctx, access, state.Regions[0].Name, "all"); err != nil {
		t.Fatal(err)
	}
	dctx, interrupt = context.WithCancel(ctx)
	failedAtBaseline := true
	opts.Progress = progressFunc(func(line string) {
		if strings.Contains(line, "baseline") {
			failedAtBaseline = failedOnMoto(t, ctx, state.Regions[0])
			interrupt()
		}
	})
	Run(dctx, opts)
	if failedAtBaseline {
		t.Error("the next drill began its baseline with the fault a killed drill left")
	}
	if err := awsinfra.FailAWS(ctx, access, state.Regions[0].Name, "all"); err != nil {
		t.Fatal(err)
	}
	if err := awsinfra.HealAWS(ctx, access, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range state.Regions {
		if failedOnMoto(t, ctx, r) {
			t.Errorf("%s still failed after heal --aws", r.Name)
		}
	}
}

type progressFunc func(string)

func (p progressFunc) Write(b []byte) (int, error) { p(string(b)); return len(b), nil }

// failedOnMoto reports whether region r carries either half of FailAWS: the bucket
// policy's Deny or the API switch.
func failedOnMoto(t *testing.T, ctx context.Context, r awsinfra.RegionState) bool {
	cfg := motoConfig(t, ctx, r.Name)
	fc, err := lambda.NewFromConfig(cfg).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(r.FunctionName)})
	if err != nil {
		t.Error(err)
		return false
	}
	api := fc.Environment.Variables[awsinfra.FailEnv] == "1"
	p, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(r.Bucket)})
	deny := err == nil && strings.Contains(aws.ToString(p.Policy), awsinfra.SidFailDrill)
	return api || deny
}

func motoConfig(t *testing.T, ctx context.Context, region string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// motoRole makes the function's role through a one-resource stack (go.mod has no IAM
// client) and returns its ARN.
func motoRole(t *testing.T, ctx context.Context, region string) string {
	t.Helper()
	tmpl, _ := json.Marshal(map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Resources": map[string]any{"Role": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}}}}}},
		"Outputs": map[string]any{"Arn": map[string]any{"Value": map[string]any{"Fn::GetAtt": []string{"Role", "Arn"}}}},
	})
	cf := cloudformation.NewFromConfig(motoConfig(t, ctx, region))
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateBody: aws.String(string(tmpl))}); err != nil {
		t.Fatal(err)
	}
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("role")})
	if err != nil || len(out.Stacks) == 0 || len(out.Stacks[0].Outputs) == 0 {
		t.Fatalf("role stack: %v", err)
	}
	return aws.ToString(out.Stacks[0].Outputs[0].OutputValue)
}

func bootstrapZip(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create("bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("#!/bin/sh\n"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
