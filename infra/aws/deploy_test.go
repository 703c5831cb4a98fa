package awsinfra

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twinedge/twinedge/api/dynamo"
	"github.com/twinedge/twinedge/internal/testtool"
)

// Moto's CloudFormation has no AWS::CloudFront::*, AWS::DynamoDB::GlobalTable,
// AWS::Lambda::Url or AWS::S3::BucketPolicy (spec/moto-quirks.md): it skips them with a
// warning and then cannot produce the stack's outputs. The product templates therefore
// cannot be *executed* on moto. These tests run Deploy's real orchestration (artifacts,
// the three phases, change sets, waiting, no-op detection, the state file) with
// templates built from what moto supports, shaped like the product's: same parameters
// and outputs, a bucket standing in for each origin and for the distribution. The
// product templates are still sent to moto in TestDeployDryRunProductTemplates, where
// only change sets are created.

// motoRegionalTemplate mirrors RegionalTemplate's parameters and outputs.
//
// moto 5.2.1 lists no resource changes for a change set that only changes parameters, and
// its CloudFormation update of an S3 bucket fails inside (KeyError 'BucketName') without
// failing the stack, so the tests observe updates through the stack's parameters, which
// moto does update, not through resource properties.
func motoRegionalTemplate() *Template {
	return &Template{
		FormatVersion: "2010-09-09",
		Parameters: map[string]Parameter{
			ParamPrimaryRegion: {Type: "String"}, ParamSecondaryRegion: {Type: "String"}, ParamTableName: {Type: "String"},
			ParamArtifactBucket: {Type: "String"}, ParamArtifactKey: {Type: "String"},
			ParamDistributionArn: {Type: "String", Default: str("")}, ParamDeletionProtection: {Type: "String", Default: str("true")},
		},
		Conditions: map[string]any{
			condIsPrimary:       Equals(Ref("AWS::Region"), Ref(ParamPrimaryRegion)),
			condHasDistribution: Not(Equals(Ref(ParamDistributionArn), "")),
		},
		Resources: map[string]Resource{
			// moto honours DeletionPolicy Retain only; after a successful creation
			// RetainExceptOnCreate means the same, so the destroy test sees what it leaves.
			idSiteBucket:     {Type: "AWS::S3::Bucket", DeletionPolicy: "Retain"},
			idReleasesBucket: {Type: "AWS::S3::Bucket", DeletionPolicy: "Retain"},
			idAPIRole: {Type: "AWS::IAM::Role", Properties: map[string]any{
				"AssumeRolePolicyDocument": PolicyDocument{Version: "2012-10-17", Statement: []Statement{{
					Effect: "Allow", Principal: map[string]any{"Service": "lambda.amazonaws.com"}, Action: "sts:AssumeRole"}}},
			}},
			// moto fetches the code from its S3, so this checks the artifact upload.
			idAPIFunction: {Type: "AWS::Lambda::Function", Properties: map[string]any{
				"Code":         map[string]any{"S3Bucket": Ref(ParamArtifactBucket), "S3Key": Ref(ParamArtifactKey)},
				"FunctionName": Sub("${AWS::StackName}-api"), "Handler": "bootstrap", "Runtime": "provided.al2023",
				"Architectures": []string{"arm64"}, "Role": GetAtt(idAPIRole, "Arn"),
				"Environment": map[string]any{"Variables": map[string]any{FailEnv: "0"}},
			}},
			// A plain table in the primary stands in for the global table.
			idTable: {Type: "AWS::DynamoDB::Table", Condition: condIsPrimary, DeletionPolicy: "Retain", Properties: map[string]any{
				"TableName": Ref(ParamTableName), "BillingMode": "PAY_PER_REQUEST",
				"AttributeDefinitions": tableAttributes, "KeySchema": tableKeys, "GlobalSecondaryIndexes": tableIndexes,
			}},
		},
		Outputs: map[string]Output{
			OutSiteBucket:       {Value: Ref(idSiteBucket)},
			OutSiteBucketDomain: {Value: Sub("${" + idSiteBucket + "}.s3.${AWS::Region}.amazonaws.com")},
			OutFunctionName:     {Value: Ref(idAPIFunction)},
			OutFunctionURL:      {Value: Sub("https://moto${AWS::AccountId}.lambda-url.${AWS::Region}.on.aws/")},
			OutAPIDomain:        {Value: Sub("moto${AWS::AccountId}.lambda-url.${AWS::Region}.on.aws")},
			OutTableName:        {Value: Ref(ParamTableName)},
			OutReleasesBucket:   {Value: Ref(idReleasesBucket)},
		},
	}
}

const motoDistributionID = "EMOTOTWINEDGE01"

// motoGlobalTemplate mirrors GlobalTemplate's parameters and outputs; a bucket stands in
// for the distribution and records the origin domains it was given in a tag.
func motoGlobalTemplate(o Options) *Template {
	t := &Template{
		FormatVersion: "2010-09-09",
		Parameters:    map[string]Parameter{},
		Resources:     map[string]Resource{},
		Outputs: map[string]Output{
			OutDistributionID:     {Value: motoDistributionID},
			OutDistributionArn:    {Value: Sub("arn:aws:cloudfront::${AWS::AccountId}:distribution/" + motoDistributionID)},
			OutDistributionDomain: {Value: "dmototwinedge01.cloudfront.net"},
			OutRedirectStoreArn:   {Value: Sub("arn:aws:cloudfront::${AWS::AccountId}:key-value-store/00000000-0000-4000-8000-000000000000")},
		},
	}
	var origins []Value
	for _, r := range o.Regions {
		t.Parameters[ParamSiteDomain(r)] = Parameter{Type: "String"}
		t.Parameters[ParamAPIDomain(r)] = Parameter{Type: "String"}
		origins = append(origins, Ref(ParamSiteDomain(r)), Ref(ParamAPIDomain(r)))
	}
	t.Resources[idDistribution] = Resource{Type: "AWS::S3::Bucket", Properties: map[string]any{
		"Tags": []any{map[string]any{"Key": "origins", "Value": Join(",", origins...)}},
	}}
	return t
}

func motoTemplates(o Options) ([]byte, []byte, error) {
	r, err := motoRegionalTemplate().JSON()
	if err != nil {
		return nil, nil, err
	}
	g, err := motoGlobalTemplate(o).JSON()
	return r, g, err
}

func motoDeployOptions(t *testing.T, url string, out *bytes.Buffer) DeployOptions {
	zip, err := zipBootstrap([]byte("#!/bin/sh\necho not a real bootstrap\n"))
	if err != nil {
		t.Fatal(err)
	}
	return DeployOptions{
		EndpointURL: url, LambdaZip: zip, Progress: out, PollInterval: 20 * time.Millisecond,
		StateDir: t.TempDir(), templates: motoTemplates,
	}
}

// checkNoStacks fails the test for each stack left in the deploy's regions.
func checkNoStacks(t *testing.T, sess *session, after string) {
	t.Helper()
	for _, r := range append([]string{GlobalRegion}, DefaultRegions...) {
		list, err := sess.cloudFormation(r).ListStacks(context.Background(), &cloudformation.ListStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.StackSummaries {
			if s.StackStatus != "DELETE_COMPLETE" {
				t.Errorf("%s left stack %s (%s) in %s", after, aws.ToString(s.StackName), s.StackStatus, r)
			}
		}
	}
}

// phases returns the phase headings in the order printed.
func phases(log string) []string {
	return regexp.MustCompile(`(?m)^== (phase \d)`).FindAllString(log, -1)
}

func TestDeployAgainstMoto(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	ctx := context.Background()
	var out bytes.Buffer
	opts := motoDeployOptions(t, url, &out)
	rec := &callRecorder{}
	opts.apiOptions = rec.options()
	sess, err := newSession(ctx, url, append([]string{GlobalRegion}, DefaultRegions...)...)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("dry run plans all phases and leaves nothing", func(t *testing.T) {
		out.Reset()
		dry := opts
		dry.DryRun = true
		if err := Deploy(ctx, dry); err != nil {
			t.Fatalf("Deploy dry run: %v\n%s", err, out.String())
		}
		log := out.String()
		if got := strings.Join(phases(log), ","); got != "== phase 0,== phase 1,== phase 2,== phase 3" {
			t.Errorf("phases %q, want 0..3 in order\n%s", got, log)
		}
		for _, want := range []string{
			"us-east-1      twinedge-regional      change set (create)",
			"eu-west-2      twinedge-regional      change set (create)",
			"us-east-1      twinedge-global        change set (create)",
			"would create the artifacts bucket",
			"no --domain: the distribution's *.cloudfront.net certificate lets viewers negotiate TLS 1.0",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("dry run log lacks %q:\n%s", want, log)
			}
		}
		checkNoStacks(t, sess, "dry run")
		if _, err := ReadState(opts.StateDir); err == nil {
			t.Error("dry run wrote a state file")
		}
	})

	t.Run("first deploy runs the three phases", func(t *testing.T) {
		out.Reset()
		if err := Deploy(ctx, opts); err != nil {
			t.Fatalf("Deploy: %v\n%s", err, out.String())
		}
		log := out.String()
		if !strings.Contains(log, "phase 3: regional stacks twinedge-regional: allow distribution arn:aws:cloudfront::123456789012:distribution/"+motoDistributionID+", protect the table") {
			t.Errorf("phase 3 did not run:\n%s", log)
		}
		st, err := ReadState(opts.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		if st.DistributionID != motoDistributionID || st.DomainName == "" || len(st.Regions) != 2 || !st.Regions[0].Primary || st.Regions[1].Primary ||
			st.RedirectStoreArn != "arn:aws:cloudfront::123456789012:key-value-store/00000000-0000-4000-8000-000000000000" {
			t.Errorf("state: %+v", st)
		}
		for _, r := range st.Regions {
			if r.Bucket == "" || r.FunctionName != "twinedge-regional-api" || !strings.HasPrefix(r.FunctionURL, "https://") || r.Table != "twinedge-messages" {
				t.Errorf("region state %+v", r)
			}
			// Phase 3 gave each regional stack the distribution's ARN and protected the table.
			if v := stackParam(t, sess, r.Name, RegionalStackName(DefaultStackName), ParamDistributionArn); v != st.DistributionArn {
				t.Errorf("%s: regional stack names distribution %q, want %q", r.Name, v, st.DistributionArn)
			}
			if v := stackParam(t, sess, r.Name, RegionalStackName(DefaultStackName), ParamDeletionProtection); v != "true" {
				t.Errorf("%s: table deletion protection %q after the first deploy, want true", r.Name, v)
			}
			// Phase 2 gave the global stack this region's outputs as origin domains.
			if v := stackParam(t, sess, GlobalRegion, GlobalStackName(DefaultStackName), ParamSiteDomain(r.Name)); v != r.BucketDomain {
				t.Errorf("global stack's %s origin = %q, want the regional output %q", r.Name, v, r.BucketDomain)
			}
			if v := stackParam(t, sess, GlobalRegion, GlobalStackName(DefaultStackName), ParamAPIDomain(r.Name)); v != r.APIDomain {
				t.Errorf("global stack's %s API origin = %q, want the regional output %q", r.Name, v, r.APIDomain)
			}
			// Phase 0 uploaded the zip the function was created from.
			if _, err := sess.s3(r.Name).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.ArtifactBucket), Key: aws.String(r.ArtifactKey)}); err != nil {
				t.Errorf("%s: artifact %s/%s: %v", r.Name, r.ArtifactBucket, r.ArtifactKey, err)
			}
		}
		// The table is in the primary's stack only.
		if _, err := dynamodb.NewFromConfig(sess.configs[DefaultRegions[0]]).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("twinedge-messages")}); err != nil {
			t.Errorf("primary has no table: %v", err)
		}
		if _, err := dynamodb.NewFromConfig(sess.configs[DefaultRegions[1]]).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("twinedge-messages")}); err == nil {
			t.Error("secondary's stack created a table too")
		}
	})

	t.Run("every S3 call names the owner; the artifacts bucket is hardened", func(t *testing.T) {
		checkOwnerCondition(t, rec.all(), "123456789012")
		for _, r := range DefaultRegions {
			bucket := ArtifactBucketName(DefaultStackName, "123456789012", r)
			c := sess.s3(r)
			v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
			if err != nil || v.Status != "Enabled" {
				t.Errorf("%s: versioning %v, %v; want Enabled", bucket, v, err)
			}
			p, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
			if err != nil || !strings.Contains(aws.ToString(p.Policy), `"aws:SecureTransport":"false"`) {
				t.Errorf("%s: policy %v, %v; want the TLS-only Deny", bucket, p, err)
			}
			b, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
			if err != nil || !aws.ToBool(b.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(b.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
				t.Errorf("%s: public access block %v, %v", bucket, b, err)
			}
		}
	})

	t.Run("re-run changes nothing", func(t *testing.T) {
		out.Reset()
		if err := Deploy(ctx, opts); err != nil {
			t.Fatalf("Deploy: %v\n%s", err, out.String())
		}
		log := out.String()
		if n := strings.Count(log, "no changes"); n != 3 {
			t.Errorf("%d stacks reported no changes, want 3 (two regional, one global):\n%s", n, log)
		}
		if strings.Contains(log, "change set (") || strings.Contains(log, "uploaded") {
			t.Errorf("re-run planned or uploaded something:\n%s", log)
		}
		if !strings.Contains(log, "phase 3: regional stacks already name distribution") {
			t.Errorf("re-run did not skip phase 3:\n%s", log)
		}
	})

	t.Run("new code updates the functions only", func(t *testing.T) {
		out.Reset()
		next := opts
		next.LambdaZip, _ = zipBootstrap([]byte("#!/bin/sh\necho version 2\n"))
		if err := Deploy(ctx, next); err != nil {
			t.Fatalf("Deploy: %v\n%s", err, out.String())
		}
		log := out.String()
		if n := strings.Count(log, "uploaded lambda/"+strings.TrimPrefix(ArtifactKey(next.LambdaZip), "lambda/")); n != 2 {
			t.Errorf("new zip uploaded %d times, want once per region:\n%s", n, log)
		}
		if n := strings.Count(log, "twinedge-regional      change set (update)"); n != 2 {
			t.Errorf("%d regional change sets, want one per region:\n%s", n, log)
		}
		if !strings.Contains(log, "twinedge-global        no changes") {
			t.Errorf("the global stack changed with the function code:\n%s", log)
		}
		for _, r := range DefaultRegions {
			if v := stackParam(t, sess, r, RegionalStackName(DefaultStackName), ParamArtifactKey); v != ArtifactKey(next.LambdaZip) {
				t.Errorf("%s: function code %s, want %s", r, v, ArtifactKey(next.LambdaZip))
			}
		}
	})
}

// TestDeployDryRunProductTemplates sends the product's own templates to moto as change
// sets: moto checks the calls and lists the changes, though it could not execute them.
// The endpoint comes from the SDK's standard AWS_ENDPOINT_URL, as with
// `AWS_ENDPOINT_URL=http://127.0.0.1:5000 twinedge deploy --dry-run`.
func TestDeployDryRunProductTemplates(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	t.Setenv("AWS_ENDPOINT_URL", url)
	var out bytes.Buffer
	opts := motoDeployOptions(t, url, &out)
	opts.EndpointURL = ""
	opts.templates = nil
	opts.DryRun = true
	opts.Domain, opts.HostedZoneID = "www.example.org", "Z0123456789ABCDEFGHIJ"
	if err := Deploy(context.Background(), opts); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, out.String())
	}
	log := out.String()
	if got := strings.Join(phases(log), ","); got != "== phase 0,== phase 1,== phase 2,== phase 3" {
		t.Errorf("phases %q, want 0..3 in order\n%s", got, log)
	}
	for _, want := range []string{"Add     " + idTable, "Add     " + idAPIFunctionURL, "Add     " + idDistribution, "Add     " + idCertificate, "Add     " + idSiteFunction, "Add     " + idRedirectStore} {
		if !strings.Contains(log, want) {
			t.Errorf("plan lacks %q:\n%s", want, log)
		}
	}
}

func TestDeployOptions(t *testing.T) {
	_, err := DeployOptions{Options: Options{Domain: "www.example.org"}}.withDefaults()
	if err == nil || !strings.Contains(err.Error(), "hosted zone") {
		t.Errorf("a domain without a hosted zone: %v", err)
	}
	o, err := DeployOptions{Config: Config{Regions: []string{"eu-west-1", "eu-central-1"}, StackName: "cfg", Domain: "a.example.org", HostedZoneID: "Z1"},
		Options: Options{StackName: "flag"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.StackName != "flag" || o.Regions[0] != "eu-west-1" || o.Domain != "a.example.org" || o.HostedZoneID != "Z1" {
		t.Errorf("flags must override the config file, the config the defaults: %+v", o)
	}
}

// describeStack returns a stack that must exist.
func describeStack(t *testing.T, sess *session, region, stack string) *cfntypes.Stack {
	t.Helper()
	out, err := sess.cloudFormation(region).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		t.Fatalf("describe %s in %s: %v", stack, region, err)
	}
	if len(out.Stacks) == 0 {
		t.Fatalf("describe %s in %s: no stack", stack, region)
	}
	return &out.Stacks[0]
}

func stackParam(t *testing.T, sess *session, region, stack, key string) string {
	t.Helper()
	for _, p := range describeStack(t, sess, region, stack).Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
}

// TestTableMatchesAPI creates the table as the API's own CreateTable does and compares
// its layout with the template's global table: the store and the stack must agree.
func TestTableMatchesAPI(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	ctx := context.Background()
	sess, err := newSession(ctx, url, GlobalRegion)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(sess.configs[GlobalRegion])
	if err := dynamo.CreateTable(ctx, db, "layout"); err != nil {
		t.Fatal(err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("layout")})
	if err != nil {
		t.Fatal(err)
	}
	tbl := desc.Table
	var gotAttrs []attributeDefinition
	for _, a := range tbl.AttributeDefinitions {
		gotAttrs = append(gotAttrs, attributeDefinition{aws.ToString(a.AttributeName), string(a.AttributeType)})
	}
	keys := func(ks []dbtypes.KeySchemaElement) (out []keySchema) {
		for _, k := range ks {
			out = append(out, keySchema{aws.ToString(k.AttributeName), string(k.KeyType)})
		}
		return out
	}
	var gotIdx []secondaryIndex
	for _, g := range tbl.GlobalSecondaryIndexes {
		gotIdx = append(gotIdx, secondaryIndex{IndexName: aws.ToString(g.IndexName), KeySchema: keys(g.KeySchema), Projection: projection{string(g.Projection.ProjectionType)}})
	}
	sortAttrs := cmpopts.SortSlices(func(a, b attributeDefinition) bool { return a.AttributeName < b.AttributeName })
	if diff := cmp.Diff(tableAttributes, gotAttrs, sortAttrs); diff != "" {
		t.Errorf("attributes (-template +api):\n%s", diff)
	}
	if diff := cmp.Diff(tableKeys, keys(tbl.KeySchema)); diff != "" {
		t.Errorf("key schema (-template +api):\n%s", diff)
	}
	if diff := cmp.Diff(tableIndexes, gotIdx); diff != "" {
		t.Errorf("indexes (-template +api):\n%s", diff)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{"regions":["eu-west-1","eu-central-1"],"stack":"demo","domain":"www.example.org","hostedZoneId":"Z1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Config{Regions: []string{"eu-west-1", "eu-central-1"}, StackName: "demo", Domain: "www.example.org", HostedZoneID: "Z1"}); !cmp.Equal(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	for _, bad := range []string{`{"region":["x"]}`, `{"regions":"us-east-1"}`, `{} {}`, `[`} {
		if _, err := ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) accepted it", bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"regions":["us-east-1","eu-west-2"],"stack":"twinedge"}`))
	f.Add([]byte(`{"domain":"a.example.org","hostedZoneId":"Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		// Whatever parses must either be accepted or refused with an error, never panic.
		_, _ = DeployOptions{Config: c}.withDefaults()
	})
}
