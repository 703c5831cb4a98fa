package awsinfra

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/infra"
)

// TestGlobalTemplateValidatesDistribution: synth (and deploy, which renders through the same
// GlobalTemplate before any AWS call) puts the distribution through CloudFront's rules. The
// product's distribution passes in both shapes; the distribution before issue 11 (POST on the
// api origin group) and a stack OAC on the wrong origin are refused with CloudFront's errors.
func TestGlobalTemplateValidatesDistribution(t *testing.T) {
	for _, o := range []Options{{}, {Domain: "www.example.com"}} {
		if _, err := GlobalTemplate(o); err != nil {
			t.Errorf("GlobalTemplate(%+v): %v", o, err)
		}
	}

	ep := infra.Endpoints{
		SiteOAC: placeholder("site-oac"), APIOAC: placeholder("api-oac"),
		SPAFunctionARN: placeholder("spa-function"), ResponseHeadersPolicyID: placeholder("headers-policy"),
		APIResponseHeadersPolicyID: placeholder("api-headers-policy"),
	}
	samples := map[string]string{
		placeholder("site-oac"): "E2SITE", placeholder("api-oac"): "E2API",
		placeholder("spa-function"):       "arn:aws:cloudfront::000000000000:function/spa",
		placeholder("headers-policy"):     "00000000-0000-0000-0000-00000000abcd",
		placeholder("api-headers-policy"): "00000000-0000-0000-0000-00000000abce",
	}
	for _, r := range []string{"us-east-1", "eu-west-2"} {
		ep.Regions = append(ep.Regions, infra.Region{Name: r, BucketDomain: "b.s3." + r + ".amazonaws.com", FunctionURLDomain: "u.lambda-url." + r + ".on.aws"})
	}
	oacs := map[string]types.OriginAccessControlOriginTypes{
		placeholder("site-oac"): types.OriginAccessControlOriginTypesS3,
		placeholder("api-oac"):  types.OriginAccessControlOriginTypesLambda,
	}
	check := func(name string, mutate func(*types.DistributionConfig), want string) {
		t.Helper()
		cfg, err := infra.Distribution(ep)
		if err != nil {
			t.Fatal(err)
		}
		mutate(cfg)
		err = validateDistribution(cfg, samples, oacs, placeholder("spa-function"), placeholder("headers-policy"), placeholder("api-headers-policy"))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	check("product", func(*types.DistributionConfig) {}, "")
	check("old /api/*", func(c *types.DistributionConfig) {
		for i := range c.CacheBehaviors.Items {
			if aws.ToString(c.CacheBehaviors.Items[i].PathPattern) == "/api/*" {
				c.CacheBehaviors.Items[i].AllowedMethods.Items = append(c.CacheBehaviors.Items[i].AllowedMethods.Items, "PUT", "PATCH", "POST", "DELETE")
				c.CacheBehaviors.Items[i].AllowedMethods.Quantity = aws.Int32(7)
			}
		}
	}, "InvalidArgument: The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group.")
	check("site OAC on the API", func(c *types.DistributionConfig) {
		c.Origins.Items[2].OriginAccessControlId = aws.String(placeholder("site-oac"))
	}, "IllegalOriginAccessConfiguration: Illegal configuration: The origin type and OAC origin type differ.")
	check("unknown function", func(c *types.DistributionConfig) {
		c.DefaultCacheBehavior.FunctionAssociations.Items[0].FunctionARN = aws.String("arn:aws:cloudfront::000000000000:function/other")
	}, "InvalidFunctionAssociation")
}
