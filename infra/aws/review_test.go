package awsinfra

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/twinedge/twinedge/build"
	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/testtool"
	"github.com/twinedge/twinedge/site"
)

// Tests of the points an AWS review of the templates raised (issue 13), on the templates
// as synthesised.

// templateJSON returns a synthesised template as generic JSON.
func templateJSON(t *testing.T, opts Options, file string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(synth(t, opts)[file], &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func resources(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range doc["Resources"].(map[string]any) {
		out[id] = r.(map[string]any)
	}
	return out
}

// A failed first deploy must leave nothing behind, so a retry can create the stack again;
// every later delete keeps the data.
func TestDataIsRetainedExceptOnCreate(t *testing.T) {
	for id, r := range resources(templateJSON(t, Options{}, RegionalTemplateFile)) {
		switch r["Type"] {
		case "AWS::S3::Bucket", "AWS::DynamoDB::GlobalTable":
			if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want RetainExceptOnCreate and Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
			}
		}
	}
	// A protected table cannot be deleted by a rollback: protection follows the parameter.
	table := resources(templateJSON(t, Options{}, RegionalTemplateFile))[idTable]
	for _, rep := range table["Properties"].(map[string]any)["Replicas"].([]any) {
		if b, _ := json.Marshal(rep.(map[string]any)["DeletionProtectionEnabled"]); string(b) != `{"Fn::If":["ProtectTable",true,false]}` {
			t.Errorf("replica deletion protection %s, want it to follow %s", b, ParamDeletionProtection)
		}
	}
}

// The function must end before CloudFront gives up on it (infra/timeouts.go).
func TestTimeoutRule(t *testing.T) {
	fn := resources(templateJSON(t, Options{}, RegionalTemplateFile))[idAPIFunction]
	lambdaTimeout := fn["Properties"].(map[string]any)["Timeout"].(float64)
	dist := resources(templateJSON(t, Options{}, GlobalTemplateFile))[idDistribution]
	origins := dist["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)["Origins"].([]any)
	n := 0
	for _, o := range origins {
		o := o.(map[string]any)
		if !strings.HasPrefix(o["Id"].(string), "api") {
			continue
		}
		n++
		read := o["CustomOriginConfig"].(map[string]any)["OriginReadTimeout"].(float64)
		if lambdaTimeout+infra.APIColdStartAllowance > read {
			t.Errorf("origin %s: Lambda timeout %v s + cold start %d s exceeds CloudFront's read timeout %v s: a slow call fails over while it still runs",
				o["Id"], lambdaTimeout, infra.APIColdStartAllowance, read)
		}
	}
	if n == 0 {
		t.Fatal("no API origin found in the distribution")
	}
}

// The releases bucket is the stack's, named by CloudFormation (at most 63 characters);
// the release uses it rather than appending "-releases" to a site bucket name that may
// already be 63 characters long.
func TestReleaseUsesTheStacksReleasesBucket(t *testing.T) {
	r := resources(templateJSON(t, Options{}, RegionalTemplateFile))
	if b := r[idReleasesBucket]; b == nil || b["Properties"].(map[string]any)["BucketName"] != nil {
		t.Fatalf("regional stack has no CloudFormation-named releases bucket: %v", b)
	}
	url := testtool.Moto(t, patchedMoto)
	site := "twinedge-regional-sitebucket-" + strings.Repeat("x", 63-len("twinedge-regional-sitebucket-"))
	st := &State{StackName: "twinedge", Account: "123456789012", DistributionID: "E2QWRUHAPOMQZL", Regions: []RegionState{
		{Name: "us-east-1", Primary: true, Bucket: site, ReleasesBucket: "twinedge-regional-releasesbucket-abc"},
		{Name: "eu-west-2", Bucket: site + "b", ReleasesBucket: "twinedge-regional-releasesbucket-def"},
	}}
	ctx := context.Background()
	opts, err := st.Connect(ctx, url, build.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &callRecorder{}
	for i, tg := range opts.Targets {
		if tg.RecordBucket != st.Regions[i].ReleasesBucket {
			t.Errorf("%s: release records go to %q (%d chars), want the stack's %q", tg.Region, tg.RecordBucket, len(tg.RecordBucket), st.Regions[i].ReleasesBucket)
		}
		// The release's calls to the deployment's buckets carry the bucket owner condition.
		tg.Client.(*s3.Client).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(tg.RecordBucket)},
			func(o *s3.Options) { o.APIOptions = append(o.APIOptions, rec.option) })
	}
	checkOwnerCondition(t, rec.all(), "123456789012")
}

func TestSecurityHeaders(t *testing.T) {
	for _, c := range []struct {
		opts       Options
		subdomains bool
	}{{Options{Domain: "example.org"}, false}, {Options{Domain: "example.org", HSTSIncludeSubdomains: true}, true}} {
		r := resources(templateJSON(t, c.opts, GlobalTemplateFile))
		for _, id := range []string{idHeadersPolicy, idAPIHeaders} {
			p := r[id]
			if p == nil {
				t.Fatalf("no %s", id)
			}
			sec := p["Properties"].(map[string]any)["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)
			if got := sec["StrictTransportSecurity"].(map[string]any)["IncludeSubdomains"]; got != c.subdomains {
				t.Errorf("%s with %+v: HSTS includeSubDomains %v, want %v", id, c.opts, got, c.subdomains)
			}
			policy, _ := sec["ContentSecurityPolicy"].(map[string]any)["ContentSecurityPolicy"].(string)
			want := map[string]string{idHeadersPolicy: site.ContentSecurityPolicy, idAPIHeaders: apiContentSecurityPolicy}[id]
			if policy != want {
				t.Errorf("%s: Content-Security-Policy %q, want %q", id, policy, want)
			}
		}
		// Every /api behaviour sends the API's policy.
		dc := r[idDistribution]["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)
		n := 0
		for _, b := range dc["CacheBehaviors"].([]any) {
			b := b.(map[string]any)
			if strings.HasPrefix(b["PathPattern"].(string), "/api/") {
				n++
				if got, _ := json.Marshal(b["ResponseHeadersPolicyId"]); string(got) != `{"Ref":"`+idAPIHeaders+`"}` {
					t.Errorf("behaviour %s: response headers policy %s, want the API's", b["PathPattern"], got)
				}
			}
		}
		if n == 0 {
			t.Error("no /api behaviour")
		}
	}
}

func TestProtection(t *testing.T) {
	g := resources(templateJSON(t, Options{}, GlobalTemplateFile))
	acl := g[idWebACL]
	if acl == nil || acl["Properties"].(map[string]any)["Scope"] != "CLOUDFRONT" {
		t.Fatalf("web ACL %v, want scope CLOUDFRONT", acl)
	}
	rules := acl["Properties"].(map[string]any)["Rules"].([]any)
	rate, _ := json.Marshal(rules[0])
	for _, want := range []string{`"Limit":300`, `"SearchString":"POST"`, `"Block":{}`, `"EvaluationWindowSec":300`} {
		if !strings.Contains(string(rate), want) {
			t.Errorf("rate rule %s lacks %s", rate, want)
		}
	}
	if len(rules) != 1 {
		t.Errorf("%d rules by default, want the rate rule only", len(rules))
	}
	dc, _ := json.Marshal(g[idDistribution]["Properties"].(map[string]any)["DistributionConfig"].(map[string]any)["WebACLId"])
	if string(dc) != `{"Fn::GetAtt":["WebAcl","Arn"]}` {
		t.Errorf("distribution WebACLId %s", dc)
	}
	if src := g[idDeliverySource]; src == nil || src["Properties"].(map[string]any)["LogType"] != "ACCESS_LOGS" || g[idDelivery] == nil {
		t.Errorf("no CloudFront standard logging (v2) delivery: %v", src)
	}
	withRules := resources(templateJSON(t, Options{WAFCommonRules: true, WriteRateLimit: 50}, GlobalTemplateFile))[idWebACL]
	b, _ := json.Marshal(withRules)
	if !strings.Contains(string(b), ruleCommonRuleSet) || !strings.Contains(string(b), `"Limit":50`) {
		t.Errorf("opt-in common rule set or limit missing: %s", b)
	}
	if _, err := Synth(Options{WriteRateLimit: 5}); err == nil || !strings.Contains(err.Error(), "WAF accepts 10") {
		t.Errorf("a limit below WAF's minimum: %v", err)
	}

	r := resources(templateJSON(t, Options{}, RegionalTemplateFile))
	if got := r[idAPIFunction]["Properties"].(map[string]any)["ReservedConcurrentExecutions"]; got != float64(DefaultReservedConcurrency) {
		t.Errorf("reserved concurrency %v, want %d", got, DefaultReservedConcurrency)
	}
	if got := resources(templateJSON(t, Options{ReservedConcurrency: intp(0)}, RegionalTemplateFile))[idAPIFunction]["Properties"].(map[string]any)["ReservedConcurrentExecutions"]; got != nil {
		t.Errorf("--reserved-concurrency 0 left %v", got)
	}
	for _, id := range []string{idSiteBucket, idReleasesBucket} {
		lc, _ := json.Marshal(r[id]["Properties"].(map[string]any)["LoggingConfiguration"])
		if !strings.Contains(string(lc), `"DestinationBucketName":{"Ref":"LogBucket"}`) {
			t.Errorf("%s: server access logging %s", id, lc)
		}
	}
}
