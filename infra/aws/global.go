package awsinfra

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/site"
)

// The global stack, in us-east-1: the origin access controls, the site's viewer-request
// function (redirects from the redirect store, then the SPA rewrite) and that store, a
// response headers policy and the distribution rendered from infra.Distribution; with a
// domain, the certificate and the alias records too.

// Parameters of the global template: one pair per region, filled from that region's
// stack outputs (CloudFormation cannot reference another region's stack), and the hosted
// zone when a domain is set.
func ParamSiteDomain(region string) string { return "SiteDomain" + regionKey(region) }

// ParamAPIDomain names the parameter holding a region's function URL host.
func ParamAPIDomain(region string) string { return "ApiDomain" + regionKey(region) }

// ParamHostedZoneID is the Route 53 hosted zone of Options.Domain.
const ParamHostedZoneID = "HostedZoneId"

// Outputs of the global stack.
const (
	OutDistributionID     = "DistributionId"
	OutDistributionArn    = "DistributionArn"
	OutDistributionDomain = "DistributionDomainName"
	// OutRedirectStoreArn is the KeyValueStore the release writes the site's redirects
	// to (build/redirectstore.go).
	OutRedirectStoreArn = "RedirectStoreArn"
)

// CloudFrontHostedZoneID is the hosted zone id of every CloudFront distribution, used in
// Route 53 alias records (fixed by AWS).
const CloudFrontHostedZoneID = "Z2FDTNDATAQYW2"

// Logical ids of the global stack.
const (
	idSiteOAC        = "SiteOriginAccessControl"
	idAPIOAC         = "ApiOriginAccessControl"
	idSiteFunction   = "SiteRequestFunction"
	idRedirectStore  = "RedirectStore"
	idHeadersPolicy  = "SecurityHeadersPolicy"
	idAPIHeaders     = "ApiHeadersPolicy"
	idDistribution   = "Distribution"
	idCertificate    = "Certificate"
	idAliasRecordA   = "AliasRecordA"
	idAliasRecordAAA = "AliasRecordAAAA"
)

type (
	originAccessControl struct {
		OriginAccessControlConfig oacConfig `json:"OriginAccessControlConfig"`
	}
	oacConfig struct {
		Description                   string `json:"Description,omitempty"`
		Name                          Value  `json:"Name"`
		OriginAccessControlOriginType string `json:"OriginAccessControlOriginType"`
		SigningBehavior               string `json:"SigningBehavior"`
		SigningProtocol               string `json:"SigningProtocol"`
	}

	cloudFrontFunction struct {
		AutoPublish    bool           `json:"AutoPublish"`
		FunctionCode   string         `json:"FunctionCode"`
		FunctionConfig functionConfig `json:"FunctionConfig"`
		Name           Value          `json:"Name"`
	}
	functionConfig struct {
		Comment                   string           `json:"Comment"`
		KeyValueStoreAssociations []kvsAssociation `json:"KeyValueStoreAssociations,omitempty"`
		Runtime                   string           `json:"Runtime"`
	}
	kvsAssociation struct {
		KeyValueStoreARN Value `json:"KeyValueStoreARN"`
	}
	keyValueStore struct {
		Comment string `json:"Comment"`
		Name    Value  `json:"Name"`
	}

	responseHeadersPolicy struct {
		ResponseHeadersPolicyConfig rhpConfig `json:"ResponseHeadersPolicyConfig"`
	}
	rhpConfig struct {
		Comment               string          `json:"Comment,omitempty"`
		Name                  Value           `json:"Name"`
		SecurityHeadersConfig securityHeaders `json:"SecurityHeadersConfig"`
	}
	securityHeaders struct {
		ContentSecurityPolicy   csp          `json:"ContentSecurityPolicy"`
		ContentTypeOptions      overrideOnly `json:"ContentTypeOptions"`
		FrameOptions            frameOptions `json:"FrameOptions"`
		ReferrerPolicy          referrer     `json:"ReferrerPolicy"`
		StrictTransportSecurity hsts         `json:"StrictTransportSecurity"`
	}
	csp struct {
		ContentSecurityPolicy string `json:"ContentSecurityPolicy"`
		Override              bool   `json:"Override"`
	}
	overrideOnly struct {
		Override bool `json:"Override"`
	}
	frameOptions struct {
		FrameOption string `json:"FrameOption"`
		Override    bool   `json:"Override"`
	}
	referrer struct {
		Override       bool   `json:"Override"`
		ReferrerPolicy string `json:"ReferrerPolicy"`
	}
	hsts struct {
		// CloudFront names the HSTS max-age AccessControlMaxAgeSec (spec/cloudfront.md §7).
		AccessControlMaxAgeSec int  `json:"AccessControlMaxAgeSec"`
		IncludeSubdomains      bool `json:"IncludeSubdomains"`
		Override               bool `json:"Override"`
	}

	distribution struct {
		DistributionConfig *cfnDistributionConfig `json:"DistributionConfig"`
	}

	certificate struct {
		DomainName              string             `json:"DomainName"`
		DomainValidationOptions []domainValidation `json:"DomainValidationOptions"`
		ValidationMethod        string             `json:"ValidationMethod"`
	}
	domainValidation struct {
		DomainName   string `json:"DomainName"`
		HostedZoneId Value  `json:"HostedZoneId"`
	}

	recordSet struct {
		AliasTarget  aliasTarget `json:"AliasTarget"`
		HostedZoneId Value       `json:"HostedZoneId"`
		Name         string      `json:"Name"`
		Type         string      `json:"Type"`
	}
	aliasTarget struct {
		DNSName              Value  `json:"DNSName"`
		EvaluateTargetHealth bool   `json:"EvaluateTargetHealth"`
		HostedZoneId         string `json:"HostedZoneId"`
	}
)

// placeholder marks a string given to infra.Distribution that stands for a value only
// CloudFormation knows; the converter swaps it for the intrinsic. The prefix cannot occur
// in a real domain name, id or ARN, and a test checks that none survives.
const placeholderPrefix = "{{twinedge-cfn:"

func placeholder(name string) string { return placeholderPrefix + name + "}}" }

// GlobalTemplate returns the global stack's template.
func GlobalTemplate(opts Options) (*Template, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	refs := map[string]Value{}
	bind := func(name string, v Value) string {
		p := placeholder(name)
		refs[p] = v
		return p
	}
	params := map[string]Parameter{}
	ep := infra.Endpoints{
		SiteOAC:                    bind("site-oac", GetAtt(idSiteOAC, "Id")),
		APIOAC:                     bind("api-oac", GetAtt(idAPIOAC, "Id")),
		SPAFunctionARN:             bind("site-function", GetAtt(idSiteFunction, "FunctionMetadata.FunctionARN")),
		ResponseHeadersPolicyID:    bind("headers-policy", Ref(idHeadersPolicy)),
		APIResponseHeadersPolicyID: bind("api-headers-policy", Ref(idAPIHeaders)),
		Comment:                    opts.StackName,
	}
	for _, r := range opts.Regions {
		site, api := ParamSiteDomain(r), ParamAPIDomain(r)
		params[site] = Parameter{Type: "String", AllowedPattern: `^[a-z0-9][a-z0-9.-]*\.s3\.[a-z0-9-]+\.amazonaws\.com$`,
			Description: fmt.Sprintf("S3 REST endpoint of the site bucket in %s (regional stack output %s)", r, OutSiteBucketDomain)}
		params[api] = Parameter{Type: "String", AllowedPattern: `^[a-z0-9]+\.lambda-url\.[a-z0-9-]+\.on\.aws$`,
			Description: fmt.Sprintf("Function URL host of the API in %s (regional stack output %s)", r, OutAPIDomain)}
		ep.Regions = append(ep.Regions, infra.Region{
			Name:              r,
			BucketDomain:      bind(site, Ref(site)),
			FunctionURLDomain: bind(api, Ref(api)),
		})
	}
	if opts.Domain != "" {
		ep.Aliases = []string{opts.Domain}
	}
	cfg, err := infra.Distribution(ep)
	if err != nil {
		return nil, err
	}
	// The viewer certificate is an AWS matter the edge never sees, so it is added here
	// rather than in infra.Distribution.
	if cfg.ViewerCertificate == nil {
		if opts.Domain != "" {
			cfg.ViewerCertificate = &types.ViewerCertificate{
				ACMCertificateArn:      str(bind("certificate", Ref(idCertificate))),
				SSLSupportMethod:       types.SSLSupportMethodSniOnly,
				MinimumProtocolVersion: types.MinimumProtocolVersionTLSv122021,
			}
		} else {
			// The *.cloudfront.net certificate: CloudFront then fixes the security policy at
			// TLSv1, whatever MinimumProtocolVersion says, so viewers may negotiate TLS 1.0
			// (CloudFront Developer Guide, "Supported protocols and ciphers between viewers
			// and CloudFront"). Only --domain, with its own certificate, gets TLSv1.2_2021.
			cfg.ViewerCertificate = &types.ViewerCertificate{CloudFrontDefaultCertificate: boolp(true)}
		}
	}
	// The web ACL (protection.go) guards every request, the write path by its rate rule.
	cfg.WebACLId = str(bind("web-acl", GetAtt(idWebACL, "Arn")))
	samples := map[string]string{
		placeholder("site-oac"):           "E2SAMPLESITEOAC",
		placeholder("api-oac"):            "E2SAMPLEAPIOAC",
		placeholder("site-function"):      "arn:aws:cloudfront::000000000000:function/" + siteFunctionName(opts.StackName),
		placeholder("headers-policy"):     "00000000-0000-0000-0000-00000000abcd",
		placeholder("api-headers-policy"): "00000000-0000-0000-0000-00000000abce",
		placeholder("certificate"):        "arn:aws:acm:" + GlobalRegion + ":000000000000:certificate/00000000-0000-0000-0000-000000000000",
	}
	for _, r := range opts.Regions {
		samples[placeholder(ParamSiteDomain(r))] = "sample-site." + "s3." + r + ".amazonaws.com"
		samples[placeholder(ParamAPIDomain(r))] = "sample0api0url.lambda-url." + r + ".on.aws"
	}
	oacs := map[string]types.OriginAccessControlOriginTypes{
		placeholder("site-oac"): types.OriginAccessControlOriginTypesS3,
		placeholder("api-oac"):  types.OriginAccessControlOriginTypesLambda,
	}
	if err := validateDistribution(cfg, samples, oacs, placeholder("site-function"), placeholder("headers-policy"), placeholder("api-headers-policy")); err != nil {
		return nil, err
	}
	dc, err := converter{refs: refs}.distributionConfig(cfg)
	if err != nil {
		return nil, err
	}

	t := &Template{
		FormatVersion: "2010-09-09",
		Description: fmt.Sprintf("twinedge global stack (%s, us-east-1): CloudFront distribution over %s (primary) and %s. Deployed by `twinedge deploy`.",
			opts.StackName, opts.Regions[0], opts.Regions[1]),
		Parameters: params,
		Resources: map[string]Resource{
			idSiteOAC: {Type: "AWS::CloudFront::OriginAccessControl", Properties: originAccessControl{oacConfig{
				Description: "twinedge site buckets", Name: Sub("${AWS::StackName}-site"),
				OriginAccessControlOriginType: "s3", SigningBehavior: "always", SigningProtocol: "sigv4",
			}}},
			idAPIOAC: {Type: "AWS::CloudFront::OriginAccessControl", Properties: originAccessControl{oacConfig{
				Description: "twinedge API function URLs", Name: Sub("${AWS::StackName}-api"),
				OriginAccessControlOriginType: "lambda", SigningBehavior: "always", SigningProtocol: "sigv4",
			}}},
			idSiteFunction: {Type: "AWS::CloudFront::Function", Properties: cloudFrontFunction{
				// AutoPublish makes the code LIVE; only LIVE functions can be associated.
				AutoPublish:  true,
				FunctionCode: infra.SiteFunctionJS,
				FunctionConfig: functionConfig{
					Comment: "Redirects from the redirect store, then /index.html for app deep links (viewer request, site behaviour only)",
					// One store per function, runtime 2.0 only (DG kvs-with-functions-associate).
					KeyValueStoreAssociations: []kvsAssociation{{KeyValueStoreARN: GetAtt(idRedirectStore, "Arn")}},
					Runtime:                   edge.FunctionRuntime,
				},
				Name: siteFunctionName(opts.StackName),
			}},
			// The site's _redirects, written by the release (never by the stack: a deploy
			// leaves the rules the last release wrote).
			idRedirectStore: {Type: "AWS::CloudFront::KeyValueStore", Properties: keyValueStore{
				Comment: "Redirects of the site (_redirects), written by twinedge release",
				Name:    Sub("${AWS::StackName}-redirects"),
			}},
			idHeadersPolicy: {Type: "AWS::CloudFront::ResponseHeadersPolicy", Properties: responseHeadersPolicy{rhpConfig{
				Comment:               "twinedge security headers for the pages",
				Name:                  Sub("${AWS::StackName}-security-headers"),
				SecurityHeadersConfig: securityHeadersFor(site.ContentSecurityPolicy, "strict-origin-when-cross-origin", opts.HSTSIncludeSubdomains),
			}}},
			// The API answers JSON: nothing in it may run, load or be framed.
			idAPIHeaders: {Type: "AWS::CloudFront::ResponseHeadersPolicy", Properties: responseHeadersPolicy{rhpConfig{
				Comment:               "twinedge security headers for the API",
				Name:                  Sub("${AWS::StackName}-api-headers"),
				SecurityHeadersConfig: securityHeadersFor(apiContentSecurityPolicy, "no-referrer", opts.HSTSIncludeSubdomains),
			}}},
			idDistribution: {Type: "AWS::CloudFront::Distribution", Properties: distribution{DistributionConfig: dc}},
			idWebACL:       webACLResource(opts),
		},
		Outputs: map[string]Output{
			OutDistributionID:     {Description: "Distribution id", Value: Ref(idDistribution)},
			OutDistributionDomain: {Description: "Distribution domain name", Value: GetAtt(idDistribution, "DomainName")},
			OutRedirectStoreArn:   {Description: "KeyValueStore of the site's redirects", Value: GetAtt(idRedirectStore, "Arn")},
			OutDistributionArn: {Description: "Distribution ARN, the AWS:SourceArn of the bucket policies and function URL permissions",
				Value: Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${" + idDistribution + "}")},
		},
	}
	addCloudFrontLogging(t)
	if opts.Domain != "" {
		t.Parameters[ParamHostedZoneID] = Parameter{Type: "AWS::Route53::HostedZone::Id",
			Description: "Route 53 hosted zone of " + opts.Domain + "; the certificate is validated and the alias created in it"}
		t.Resources[idCertificate] = Resource{Type: "AWS::CertificateManager::Certificate", Properties: certificate{
			DomainName: opts.Domain, ValidationMethod: "DNS",
			// With a hosted zone id, CloudFormation writes the validation record itself
			// (the original demo approved a validation email by hand).
			DomainValidationOptions: []domainValidation{{DomainName: opts.Domain, HostedZoneId: Ref(ParamHostedZoneID)}},
		}}
		for id, typ := range map[string]string{idAliasRecordA: "A", idAliasRecordAAA: "AAAA"} {
			t.Resources[id] = Resource{Type: "AWS::Route53::RecordSet", Properties: recordSet{
				AliasTarget:  aliasTarget{DNSName: GetAtt(idDistribution, "DomainName"), HostedZoneId: CloudFrontHostedZoneID},
				HostedZoneId: Ref(ParamHostedZoneID), Name: opts.Domain, Type: typ,
			}}
		}
	}
	if err := checkNoPlaceholder(t); err != nil {
		return nil, err
	}
	return t, nil
}

// apiContentSecurityPolicy is the API's: a JSON answer loads nothing and is never framed.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// hstsMaxAge is a year, the value HSTS preload lists ask for.
const hstsMaxAge = 31536000

// securityHeadersFor returns the security headers twinedge's policies send. HSTS covers
// subdomains only when asked: with an apex --domain, includeSubDomains would force HTTPS on
// every host under the user's domain for a year, including ones twinedge does not serve.
func securityHeadersFor(contentSecurityPolicy, referrerPolicy string, includeSubdomains bool) securityHeaders {
	return securityHeaders{
		ContentSecurityPolicy:   csp{ContentSecurityPolicy: contentSecurityPolicy, Override: true},
		ContentTypeOptions:      overrideOnly{Override: true},
		FrameOptions:            frameOptions{FrameOption: "DENY", Override: true},
		ReferrerPolicy:          referrer{Override: true, ReferrerPolicy: referrerPolicy},
		StrictTransportSecurity: hsts{AccessControlMaxAgeSec: hstsMaxAge, IncludeSubdomains: includeSubdomains, Override: true},
	}
}

// siteFunctionName is the CloudFront function's name. With the default stack name it is
// exactly infra.SiteFunctionName, the name the local world publishes it under.
func siteFunctionName(stack string) string {
	return strings.Replace(infra.SiteFunctionName, DefaultStackName, stack, 1)
}

// checkNoPlaceholder fails when a placeholder reached the template: infra.Distribution
// put one of the endpoint strings into a field the converter passes through literally.
func checkNoPlaceholder(t *Template) error {
	b, err := t.JSON()
	if err != nil {
		return err
	}
	if i := strings.Index(string(b), placeholderPrefix); i >= 0 {
		end := min(len(b), i+60)
		return fmt.Errorf("unresolved placeholder in template near %q", b[i:end])
	}
	return nil
}
