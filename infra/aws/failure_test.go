package awsinfra

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/twinedge/twinedge/internal/testtool"
)

func TestWithFailDrill(t *testing.T) {
	// S3 may return a single statement as an object; the result is always a list.
	single := `{"Version":"2012-10-17","Statement":{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`
	failed, changed, err := withFailDrill([]byte(single), "aws", "b", true)
	if err != nil || !changed {
		t.Fatalf("fail: changed %v, err %v", changed, err)
	}
	var doc bucketPolicyDoc
	if err := json.Unmarshal(failed, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 || doc.Statement[1].Sid != SidFailDrill || doc.Statement[1].Effect != "Deny" {
		t.Fatalf("failed policy %s", failed)
	}
	again, changed, _ := withFailDrill(failed, "aws", "b", true)
	if changed || string(again) != string(failed) {
		t.Error("failing twice changed the policy again")
	}
	healed, changed, err := withFailDrill(failed, "aws", "b", false)
	if err != nil || !changed {
		t.Fatalf("heal: changed %v, err %v", changed, err)
	}
	var want, got any
	json.Unmarshal([]byte(`{"Version":"2012-10-17","Statement":[`+single[strings.Index(single, `{"Sid"`):len(single)-1]+`]}`), &want)
	json.Unmarshal(healed, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("heal must restore the original statements (-want +got):\n%s", diff)
	}
	if _, _, err := withFailDrill([]byte("not json"), "aws", "b", true); err == nil {
		t.Error("a policy that is not JSON was accepted")
	}
}

func FuzzWithFailDrill(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject"}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny"}}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, policy []byte) {
		failed, _, err := withFailDrill(policy, "aws", "b", true)
		if err != nil {
			return
		}
		healed, _, err := withFailDrill(failed, "aws", "b", false)
		if err != nil {
			t.Fatalf("heal of our own output: %v", err)
		}
		if strings.Contains(string(healed), SidFailDrill) && !strings.Contains(string(policy), SidFailDrill) {
			t.Fatalf("heal left the drill statement: %s", healed)
		}
	})
}

// TestFailAndHealAgainstMoto creates a region's bucket and function as the regional stack
// does (directly: moto's CloudFormation has no bucket policy), then fails and heals it.
func TestFailAndHealAgainstMoto(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	ctx := context.Background()
	region := "eu-west-2"
	sess, err := newSession(ctx, url, region)
	if err != nil {
		t.Fatal(err)
	}
	s3c := sess.s3(region)
	bucket := "twinedge-regional-sitebucket-x"
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}}); err != nil {
		t.Fatal(err)
	}
	distArn := "arn:aws:cloudfront::123456789012:distribution/E1"
	original, _ := json.Marshal(PolicyDocument{Version: "2012-10-17", Statement: []Statement{
		{Sid: SidDenyInsecureTransport, Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::" + bucket + "/*",
			Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
		AllowCloudFrontStatement("arn:aws:s3:::"+bucket+"/*", distArn),
	}})
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(original))}); err != nil {
		t.Fatal(err)
	}
	// No IAM client in go.mod: the role comes from a one-resource stack.
	roleT, _ := (&Template{FormatVersion: "2010-09-09", Resources: map[string]Resource{idAPIRole: {Type: "AWS::IAM::Role", Properties: map[string]any{
		"AssumeRolePolicyDocument": PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
			Effect: "Allow", Principal: map[string]any{"Service": "lambda.amazonaws.com"}, Action: "sts:AssumeRole"}}}}}},
		Outputs: map[string]Output{"Arn": {Value: GetAtt(idAPIRole, "Arn")}}}).JSON()
	cf := sess.cloudFormation(region)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateBody: aws.String(string(roleT))}); err != nil {
		t.Fatal(err)
	}
	roleArn := stackOutput(t, sess, region, "role", "Arn")
	zip, _ := zipBootstrap([]byte("#!/bin/sh\n"))
	lc := sess.lambda(region)
	fn := "twinedge-regional-api"
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn), Role: aws.String(roleArn),
		Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: zip},
		Environment: &lambdatypes.Environment{Variables: map[string]string{EnvTable: "twinedge-messages", FailEnv: "0"}}}); err != nil {
		t.Fatal(err)
	}
	rec := &callRecorder{}
	opts := AccessOptions{StateDir: t.TempDir(), EndpointURL: url, apiOptions: rec.options()}
	if _, err := WriteState(opts.StateDir, &State{StackName: "twinedge", DistributionID: "E2QWRUHAPOMQZL",
		Regions: []RegionState{{Name: region, Primary: true, Bucket: bucket, FunctionName: fn}, {Name: "us-east-1", Bucket: "other", FunctionName: fn}}}); err != nil {
		t.Fatal(err)
	}

	check := func(wantDeny bool, wantFail string) {
		t.Helper()
		p, err := s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		var doc bucketPolicyDoc
		if err := json.Unmarshal([]byte(aws.ToString(p.Policy)), &doc); err != nil {
			t.Fatal(err)
		}
		var deny, allow bool
		for _, s := range doc.Statement {
			deny = deny || (s.Sid == SidFailDrill && s.Effect == "Deny" && strings.Contains(asJSON(s.Principal), "cloudfront.amazonaws.com"))
			allow = allow || s.Sid == SidAllowCloudFront
		}
		if deny != wantDeny || !allow {
			t.Errorf("policy: drill deny %v (want %v), OAC allow kept %v\n%s", deny, wantDeny, allow, aws.ToString(p.Policy))
		}
		cfg, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		if err != nil {
			t.Fatal(err)
		}
		if v := cfg.Environment.Variables; v[FailEnv] != wantFail || v[EnvTable] != "twinedge-messages" {
			t.Errorf("function environment %v, want %s=%s and the other variables kept", v, FailEnv, wantFail)
		}
	}
	for _, c := range []struct {
		target   string
		deny     bool
		apiState string
	}{
		{"all", true, "1"},
		{"", true, "1"},
		{"origin", true, "0"},
		{"api", false, "1"},
	} {
		// Twice: failing is idempotent.
		for range 2 {
			if err := FailAWS(ctx, opts, region, c.target); err != nil {
				t.Fatalf("fail %q: %v", c.target, err)
			}
			check(c.deny, c.apiState)
		}
		if err := HealAWS(ctx, opts, region); err != nil {
			t.Fatal(err)
		}
		check(false, "0")
	}
	if err := FailAWS(ctx, opts, "us-west-1", "all"); err == nil || !strings.Contains(err.Error(), "not deployed") {
		t.Errorf("failing an undeployed region: %v", err)
	}
	if err := FailAWS(ctx, opts, region, "edge"); err == nil || !strings.Contains(err.Error(), "origin, api or all") {
		t.Errorf("failing an unknown target: %v", err)
	}
	check(false, "0")
	checkOwnerCondition(t, rec.all(), "123456789012")
	checkCallsAllowed(t, rec.all(), policyActions(t, Options{}))
}

func stackOutput(t *testing.T, sess *session, region, stack, key string) string {
	t.Helper()
	return outputMap(describeStack(t, sess, region, stack))[key]
}
