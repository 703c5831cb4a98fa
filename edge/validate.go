package edge

// This file is the one validator of a DistributionConfig: the rules CloudFront's
// CreateDistribution and UpdateDistribution apply before they accept a configuration.
// The edge (New, Apply), the control API and infra/aws (synth, deploy) all call it, so a
// configuration CloudFront would refuse is refused everywhere, with CloudFront's error.
//
// Sources, cited beside each rule:
//   [API]    the CloudFront API reference (docs.aws.amazon.com/cloudfront/latest/APIReference),
//            and its service model (botocore's cloudfront/2020-05-31/service-2.json), which
//            gives each error code's HTTP status; validate_test.go checks the table below
//            against that file when it is installed.
//   [QUOTAS] the Developer Guide's Quotas page (cloudfront-limits.html).
//   [DG:x]   another Developer Guide page.
//   [ISSUE]  a message reproduced against AWS in a public issue.
// Where no source quotes CloudFront's message, the message below is ours and the
// rule's test says so (validate_test.go, "message undocumented").

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// ConfigError is a distribution config CloudFront refuses: the HTTP status, error code
// and message its API answers (for example 400 InvalidArgument, 404 NoSuchOrigin).
type ConfigError struct {
	Status  int
	Code    string
	Message string
}

func (e *ConfigError) Error() string { return e.Code + ": " + e.Message }

// errorStatus is the HTTP status of each error code, from the service model [API].
var errorStatus = map[string]int{
	"NoSuchOrigin": 404, "NoSuchCachePolicy": 404, "NoSuchOriginRequestPolicy": 404,
	"NoSuchResponseHeadersPolicy": 404, "NoSuchDistribution": 404, "NoSuchFunctionExists": 404,
	"NoSuchOriginAccessControl": 404,
	"DistributionAlreadyExists": 409, "CNAMEAlreadyExists": 409,
	"PreconditionFailed": 412,
}

// cfgErr builds a ConfigError; the status comes from errorStatus (400 otherwise).
func cfgErr(code, format string, args ...any) *ConfigError {
	status, ok := errorStatus[code]
	if !ok {
		status = 400
	}
	// Ids and names come from the caller; the message stays one line whatever they hold.
	msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(fmt.Sprintf(format, args...))
	return &ConfigError{Status: status, Code: code, Message: msg}
}

// Quotas of a distribution [QUOTAS], "General quotas on distributions" and "on policies".
const (
	maxCacheBehaviors  = 75  // Cache behaviors per distribution
	maxOrigins         = 25  // Origins per distribution
	maxOriginGroups    = 10  // Origin groups per distribution
	maxAliases         = 100 // Alternate domain names (CNAMEs) per distribution
	maxCustomHeaders   = 10  // Custom headers that CloudFront adds to origin requests
	maxKeyNames        = 10  // Headers, cookies or query strings in a cache policy's key
	maxPathPatternLen  = 255 // [DG:DownloadDistValuesPathPattern] "up to 255 characters"
	maxResponsePageLen = 4000
)

// FunctionStatus is what the validator needs to know about a CloudFront Function.
type FunctionStatus struct {
	// Runtime is "cloudfront-js-1.0" or "cloudfront-js-2.0".
	Runtime string
	// Live reports whether the function has been published (its LIVE stage exists):
	// only LIVE functions can be associated with a distribution [DG:functions-tutorial].
	Live bool
}

// FunctionLookup finds a CloudFront Function by ARN (or bare name, as the local edge
// accepts). The edge's function registry implements it; the control API's
// CreateFunction/PublishFunction can supply another.
type FunctionLookup interface {
	LookupFunction(arn string) (FunctionStatus, bool)
}

// Resources answers the validator's questions about what a config names by id. A nil
// field means that kind of reference is not checked (its shape still is): synth checks
// the ids its own template creates, the edge checks everything it knows.
type Resources struct {
	CachePolicy           func(id string) (*types.CachePolicyConfig, bool)
	OriginRequestPolicy   func(id string) (*types.OriginRequestPolicyConfig, bool)
	ResponseHeadersPolicy func(id string) bool
	OriginAccessControl   func(id string) (*types.OriginAccessControlConfig, bool)
	Functions             FunctionLookup
}

// ManagedResources knows the AWS managed policies only (and no OACs or functions).
func ManagedResources() Resources {
	return Resources{
		CachePolicy: func(id string) (*types.CachePolicyConfig, bool) {
			c, ok := ManagedCachePolicies()[id]
			return c, ok
		},
		OriginRequestPolicy: func(id string) (*types.OriginRequestPolicyConfig, bool) {
			c, ok := ManagedOriginRequestPolicies()[id]
			return c, ok
		},
		ResponseHeadersPolicy: func(id string) bool { _, ok := ManagedResponseHeadersPolicies()[id]; return ok },
	}
}

// ValidateDistributionConfig applies CloudFront's rules to cfg alone: references to
// policies, OACs and functions are checked for shape, not existence (use Validate with
// Resources for that). It returns nil or a *ConfigError.
func ValidateDistributionConfig(cfg *types.DistributionConfig) error {
	return Validate(cfg, Resources{})
}

// Validate applies CloudFront's rules to cfg, resolving references through res. It
// returns nil or the first *ConfigError, as CloudFront answers one error per request.
func Validate(cfg *types.DistributionConfig, res Resources) error {
	v := validator{res: res, targets: map[string]bool{}, groups: map[string]bool{}}
	if err := v.distribution(cfg); err != nil {
		return err
	}
	return nil
}

type validator struct {
	res     Resources
	targets map[string]bool // origin and group ids
	origins map[string]*types.Origin
	groups  map[string]bool
}

// quantities walks v (a DistributionConfig) and refuses the first list whose Quantity and
// Items disagree: every CloudFront list carries both [API:InconsistentQuantities]; the
// message is the one AWS returned in Kinto/kinto-signer#253 and serverless-next.js#722
// [ISSUE], naming the list by its element name.
func quantities(v reflect.Value, name string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return quantities(v.Elem(), name)
	case reflect.Slice:
		for i := range v.Len() {
			if err := quantities(v.Index(i), name); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return nil
		}
		q, items := v.FieldByName("Quantity"), v.FieldByName("Items")
		if q.IsValid() && items.IsValid() && items.Kind() == reflect.Slice && q.Kind() == reflect.Pointer {
			if q.IsNil() {
				// [API] Quantity is required in every list; message undocumented.
				return cfgErr("InvalidArgument", "The parameter Quantity is required in %s.", name)
			}
			if n := q.Elem().Int(); n != int64(items.Len()) {
				return cfgErr("InconsistentQuantities", "The specified quantity of %s (%d) does not match the actual quantity supplied (%d).", name, n, items.Len())
			}
		}
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if err := quantities(v.Field(i), t.Field(i).Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (v *validator) distribution(cfg *types.DistributionConfig) error {
	if cfg == nil {
		// [API:MissingBody]
		return cfgErr("MissingBody", "This operation requires a body. Ensure that the body is present and the Content-Type header is set.")
	}
	if err := quantities(reflect.ValueOf(cfg), "DistributionConfig"); err != nil {
		return err
	}
	// [API:DistributionConfig] CallerReference, Comment, Origins, DefaultCacheBehavior and
	// Enabled are required; CloudFront's message for a missing one is undocumented.
	if aws.ToString(cfg.CallerReference) == "" {
		return cfgErr("InvalidArgument", "The parameter CallerReference is required.")
	}
	if cfg.Enabled == nil {
		return cfgErr("InvalidArgument", "The parameter Enabled is required.")
	}
	if c := aws.ToString(cfg.Comment); len(c) > 128 {
		// [API:DistributionConfig] "The comment cannot be longer than 128 characters."
		return cfgErr("InvalidArgument", "The parameter Comment cannot be longer than 128 characters.")
	}
	if err := v.originList(cfg.Origins); err != nil {
		return err
	}
	if err := v.originGroups(cfg.OriginGroups); err != nil {
		return err
	}
	if cfg.DefaultCacheBehavior == nil {
		return cfgErr("InvalidArgument", "The parameter DefaultCacheBehavior is required.")
	}
	if err := v.behaviours(cfg); err != nil {
		return err
	}
	if err := defaultRootObject(aws.ToString(cfg.DefaultRootObject)); err != nil {
		return err
	}
	if err := customErrorResponses(cfg.CustomErrorResponses); err != nil {
		return err
	}
	if err := aliases(cfg.Aliases); err != nil {
		return err
	}
	if err := geoRestrictionRule(cfg.Restrictions); err != nil {
		return err
	}
	return viewerCertificate(cfg.ViewerCertificate, cfg.Aliases)
}

// geoRestrictionRule checks Restrictions.GeoRestriction [API:GeoRestriction]:
// RestrictionType none, whitelist or blacklist; with none, Quantity is 0; otherwise the
// Items are "two-letter, uppercase country code[s]" (ISO 3166-1 alpha-2). The error code
// is the API's InvalidGeoRestrictionParameter, "The specified geo restriction parameter
// is not valid."; CloudFront's message for each case is undocumented.
func geoRestrictionRule(r *types.Restrictions) error {
	if r == nil || r.GeoRestriction == nil {
		return nil
	}
	g := r.GeoRestriction
	bad := func(why string, args ...any) error {
		return cfgErr("InvalidGeoRestrictionParameter", "The specified geo restriction parameter is not valid: "+why, args...)
	}
	switch g.RestrictionType {
	case types.GeoRestrictionTypeNone:
		if len(g.Items) > 0 {
			return bad("RestrictionType none takes no locations.")
		}
	case types.GeoRestrictionTypeWhitelist, types.GeoRestrictionTypeBlacklist:
		if len(g.Items) == 0 {
			return bad("RestrictionType %s needs at least one location.", g.RestrictionType)
		}
		for _, c := range g.Items {
			if !countryCode.MatchString(c) {
				return bad("%q is not a two-letter, uppercase country code.", c)
			}
		}
	default:
		return bad("RestrictionType %q is not none, whitelist or blacklist.", g.RestrictionType)
	}
	return nil
}

// ---- origins ----

func (v *validator) originList(o *types.Origins) error {
	if o == nil || len(o.Items) == 0 {
		// [API:Origins] Items has at least one member.
		return cfgErr("InvalidArgument", "The parameter Origins must contain at least one origin.")
	}
	if len(o.Items) > maxOrigins {
		// [QUOTAS] Origins per distribution: 25. Message: [API:TooManyOrigins].
		return cfgErr("TooManyOrigins", "You cannot create more origins for the distribution.")
	}
	v.origins = map[string]*types.Origin{}
	for i := range o.Items {
		or := &o.Items[i]
		if err := v.origin(or); err != nil {
			return err
		}
		id := aws.ToString(or.Id)
		if v.targets[id] {
			// [API:Origin] "The value of Id must be unique within the distribution."
			return cfgErr("InvalidArgument", "The parameter Origin Id %q must be unique within the distribution.", id)
		}
		v.targets[id] = true
		v.origins[id] = or
	}
	return nil
}

// originSSL are the values of OriginSslProtocols [API:OriginSslProtocols].
var originSSL = []types.SslProtocol{types.SslProtocolSSLv3, types.SslProtocolTLSv1, types.SslProtocolTLSv11, types.SslProtocolTLSv12}

func (v *validator) origin(o *types.Origin) error {
	id, domain := aws.ToString(o.Id), aws.ToString(o.DomainName)
	if id == "" || domain == "" {
		// [API:Origin] Id and DomainName are required.
		return cfgErr("InvalidArgument", "The parameters Id and DomainName are required for every origin.")
	}
	if p := aws.ToString(o.OriginPath); p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/")) {
		// [API:Origin] OriginPath "must begin with a / … do not add a / at the end".
		return cfgErr("InvalidArgument", "The parameter OriginPath of origin %s must begin with a slash (/) and must not end with one.", id)
	}
	if n := o.ConnectionAttempts; n != nil && (*n < 1 || *n > 3) {
		// [QUOTAS] Connection attempts per origin: 1-3.
		return cfgErr("InvalidArgument", "The parameter ConnectionAttempts of origin %s must be 1, 2 or 3.", id)
	}
	if n := o.ConnectionTimeout; n != nil && (*n < 1 || *n > 10) {
		// [QUOTAS] Connection timeout per origin: 1-10 seconds.
		return cfgErr("InvalidArgument", "The parameter ConnectionTimeout of origin %s must be between 1 and 10 seconds.", id)
	}
	readTimeout := func(n *int32) error {
		// [QUOTAS] Response timeout per origin: 1-120 seconds (S3 origins since July 2025,
		// spec/cloudfront.md §1.4). Message: [API:InvalidOriginReadTimeout].
		if n != nil && (*n < 1 || *n > 120) {
			return cfgErr("InvalidOriginReadTimeout", "The read timeout specified for the origin is not valid.")
		}
		return nil
	}
	kinds := 0
	for _, set := range []bool{o.S3OriginConfig != nil, o.CustomOriginConfig != nil, o.VpcOriginConfig != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		// [ISSUE] aws/aws-cdk#31016: "Exactly one of CustomOriginConfig and S3OriginConfig
		// must be specified" (VpcOriginConfig, added in 2024, is the third kind).
		return cfgErr("InvalidArgument", "Exactly one of CustomOriginConfig and S3OriginConfig must be specified")
	}
	if s := o.S3OriginConfig; s != nil {
		if err := readTimeout(s.OriginReadTimeout); err != nil {
			return err
		}
	}
	if c := o.CustomOriginConfig; c != nil {
		if err := readTimeout(c.OriginReadTimeout); err != nil {
			return err
		}
		if n := c.OriginKeepaliveTimeout; n != nil && (*n < 1 || *n > 120) {
			// [QUOTAS] Keep-alive timeout per origin: 1-120 seconds. [API:InvalidOriginKeepaliveTimeout]
			return cfgErr("InvalidOriginKeepaliveTimeout", "The keep alive timeout specified for the origin is not valid.")
		}
		switch c.OriginProtocolPolicy {
		case types.OriginProtocolPolicyHttpOnly, types.OriginProtocolPolicyHttpsOnly, types.OriginProtocolPolicyMatchViewer:
		default:
			// [API:CustomOriginConfig] OriginProtocolPolicy is required, one of three values.
			return cfgErr("InvalidArgument", "The parameter OriginProtocolPolicy of origin %s must be http-only, match-viewer or https-only.", id)
		}
		for name, p := range map[string]*int32{"HTTPPort": c.HTTPPort, "HTTPSPort": c.HTTPSPort} {
			// [DG:DownloadDistValuesOrigin] "80, 443, and 1024 to 65535". An absent port is
			// CloudFormation's default (80, 443: AWS::CloudFront::Distribution CustomOriginConfig),
			// as templates that deployed on AWS leave it (edge/source/testdata/corpus).
			if p != nil && !(*p == 80 || *p == 443 || *p >= 1024 && *p <= 65535) {
				return cfgErr("InvalidArgument", "The parameter %s of origin %s must be 80, 443 or 1024-65535.", name, id)
			}
		}
		if sp := c.OriginSslProtocols; sp != nil {
			for _, p := range sp.Items {
				if !slices.Contains(originSSL, p) {
					return cfgErr("InvalidArgument", "The parameter OriginSslProtocols of origin %s contains %q; use SSLv3, TLSv1, TLSv1.1 or TLSv1.2.", id, p)
				}
			}
		}
	}
	if ch := o.CustomHeaders; ch != nil {
		if len(ch.Items) > maxCustomHeaders {
			// [QUOTAS] Custom headers: 10. Message: [API:TooManyOriginCustomHeaders].
			return cfgErr("TooManyOriginCustomHeaders", "Your request contains too many origin custom headers.")
		}
	}
	return v.originAccess(o)
}

// originAccess checks the origin access control of an origin [DG:private-content-restricting-access-to-s3,
// private-content-restricting-access-to-lambda].
func (v *validator) originAccess(o *types.Origin) error {
	oacID := aws.ToString(o.OriginAccessControlId)
	if oacID == "" {
		return nil
	}
	if s := o.S3OriginConfig; s != nil && aws.ToString(s.OriginAccessIdentity) != "" {
		// [API:IllegalOriginAccessConfiguration]
		return cfgErr("IllegalOriginAccessConfiguration", "An origin cannot contain both an origin access control (OAC) and an origin access identity (OAI).")
	}
	service, _ := serviceFromDomain(aws.ToString(o.DomainName))
	if o.CustomOriginConfig != nil && service != "lambda" && service != "mediastore" && service != "mediapackagev2" {
		// A custom origin takes an OAC only when it is a Lambda function URL, MediaStore or
		// MediaPackage v2 endpoint [API:OriginAccessControlOriginTypes]; message:
		// [API:InvalidDomainNameForOriginAccessControl].
		return cfgErr("InvalidDomainNameForOriginAccessControl", "An origin access control is associated with an origin whose domain name is not supported.")
	}
	if v.res.OriginAccessControl == nil {
		return nil
	}
	oac, ok := v.res.OriginAccessControl(oacID)
	if !ok {
		// [API:InvalidOriginAccessControl]
		return cfgErr("InvalidOriginAccessControl", "The origin access control is not valid.")
	}
	want := types.OriginAccessControlOriginTypes(service)
	if o.S3OriginConfig != nil {
		want = types.OriginAccessControlOriginTypesS3
	}
	if oac != nil && oac.OriginAccessControlOriginType != want {
		// [ISSUE] aws/aws-cdk#26405 (a 400 from CloudFront).
		return cfgErr("IllegalOriginAccessConfiguration", "Illegal configuration: The origin type and OAC origin type differ.")
	}
	return nil
}

// validFailoverCodes are the statuses an origin group may fail over on [API:StatusCodes],
// spec/cloudfront.md §1.2.
var validFailoverCodes = map[int32]bool{400: true, 403: true, 404: true, 416: true, 500: true, 502: true, 503: true, 504: true}

func (v *validator) originGroups(g *types.OriginGroups) error {
	if g == nil {
		return nil
	}
	if len(g.Items) > maxOriginGroups {
		// [QUOTAS] Origin groups per distribution: 10. [API:TooManyOriginGroupsPerDistribution]
		return cfgErr("TooManyOriginGroupsPerDistribution", "Processing your request would cause you to exceed the maximum number of origin groups allowed.")
	}
	for _, og := range g.Items {
		id := aws.ToString(og.Id)
		if id == "" {
			return cfgErr("InvalidArgument", "The parameter Id is required for every origin group.")
		}
		if og.Members == nil {
			return cfgErr("InvalidArgument", "The parameter Members is required for origin group %s.", id)
		}
		if n := len(og.Members.Items); n != 2 {
			// [API:OriginGroupMembers] "exactly two" (Items: min 2, max 2). CloudFront refuses
			// three with a MalformedXML validation error (hashicorp/terraform-provider-aws#9389);
			// the rest of its text is not quoted there.
			return cfgErr("MalformedXML", "1 validation error detected: Value at 'distributionConfig.originGroups.member.members.items' failed to satisfy constraint: Member must have length of exactly 2 (origin group %s has %d).", id, n)
		}
		a, b := aws.ToString(og.Members.Items[0].OriginId), aws.ToString(og.Members.Items[1].OriginId)
		for _, m := range []string{a, b} {
			if v.groups[m] {
				// A member is an origin, not a group [API:OriginGroupMember] "The ID for an
				// origin". Message undocumented.
				return cfgErr("InvalidArgument", "Origin group %s names origin group %s as a member; members must be origins.", id, m)
			}
			if _, ok := v.origins[m]; !ok {
				// [API:NoSuchOrigin]; message as AWS returned it (rain#517 quotes the
				// behaviour form, hashicorp/terraform#18283 the short one).
				return cfgErr("NoSuchOrigin", "One or more of your origins or origin groups do not exist.")
			}
		}
		if a == b {
			return cfgErr("InvalidArgument", "Origin group %s names origin %s twice; it needs two different origins.", id, a)
		}
		fc := og.FailoverCriteria
		if fc == nil || fc.StatusCodes == nil || len(fc.StatusCodes.Items) == 0 {
			// [API:OriginGroupFailoverCriteria] StatusCodes is required, at least one.
			return cfgErr("InvalidArgument", "The parameter FailoverCriteria.StatusCodes is required for origin group %s.", id)
		}
		for _, code := range fc.StatusCodes.Items {
			if !validFailoverCodes[code] {
				return cfgErr("InvalidArgument", "Origin group %s: %d is not a failover status code (400, 403, 404, 416, 500, 502, 503, 504).", id, code)
			}
		}
		switch og.SelectionCriteria {
		case "", types.OriginGroupSelectionCriteriaDefault, types.OriginGroupSelectionCriteriaMediaQualityBased:
		default:
			return cfgErr("InvalidArgument", "Origin group %s: SelectionCriteria %q is not default or media-quality-based.", id, og.SelectionCriteria)
		}
		if v.targets[id] {
			return cfgErr("InvalidArgument", "The origin group Id %q is already used by an origin or another group.", id)
		}
		v.targets[id], v.groups[id] = true, true
	}
	return nil
}

// ---- behaviours ----

// behaviourFields are the fields DefaultCacheBehavior and CacheBehavior share.
type behaviourFields struct {
	pattern                string
	target                 *string
	vpp                    types.ViewerProtocolPolicy
	allowed                *types.AllowedMethods
	cachePolicy, orp, rhp  *string
	compress               *bool
	functions              *types.FunctionAssociations
	lambdas                *types.LambdaFunctionAssociations
	fv                     *types.ForwardedValues
	minTTL, defTTL, maxTTL *int64
}

func defaultFields(d *types.DefaultCacheBehavior) behaviourFields {
	return behaviourFields{
		pattern: "*", target: d.TargetOriginId, vpp: d.ViewerProtocolPolicy, allowed: d.AllowedMethods,
		cachePolicy: d.CachePolicyId, orp: d.OriginRequestPolicyId, rhp: d.ResponseHeadersPolicyId,
		compress: d.Compress, functions: d.FunctionAssociations, lambdas: d.LambdaFunctionAssociations, fv: d.ForwardedValues,
		minTTL: d.MinTTL, defTTL: d.DefaultTTL, maxTTL: d.MaxTTL,
	}
}

func cacheFields(cb *types.CacheBehavior) behaviourFields {
	return behaviourFields{
		pattern: aws.ToString(cb.PathPattern), target: cb.TargetOriginId, vpp: cb.ViewerProtocolPolicy, allowed: cb.AllowedMethods,
		cachePolicy: cb.CachePolicyId, orp: cb.OriginRequestPolicyId, rhp: cb.ResponseHeadersPolicyId,
		compress: cb.Compress, functions: cb.FunctionAssociations, lambdas: cb.LambdaFunctionAssociations, fv: cb.ForwardedValues,
		minTTL: cb.MinTTL, defTTL: cb.DefaultTTL, maxTTL: cb.MaxTTL,
	}
}

func (v *validator) behaviours(cfg *types.DistributionConfig) error {
	if cb := cfg.CacheBehaviors; cb != nil {
		if len(cb.Items) > maxCacheBehaviors {
			// [QUOTAS] Cache behaviors per distribution: 75. [API:TooManyCacheBehaviors]
			return cfgErr("TooManyCacheBehaviors", "You cannot create more cache behaviors for the distribution.")
		}
		seen := map[string]bool{}
		for i := range cb.Items {
			p := aws.ToString(cb.Items[i].PathPattern)
			if !validPathPattern(p) {
				// [DG:DownloadDistValuesPathPattern]: up to 255 characters of A-Z a-z 0-9
				// _ - . * $ / ~ " ' @ : + and &. Message undocumented.
				return cfgErr("InvalidArgument", "The parameter PathPattern %q is not valid: use up to %d of the characters A-Z, a-z, 0-9, _-.*$/~\"'@:+&.", p, maxPathPatternLen)
			}
			// The leading / is optional ("images/*.jpg" and "/images/*.jpg" are the same).
			k := strings.TrimPrefix(p, "/")
			if seen[k] {
				return cfgErr("InvalidArgument", "The parameter PathPattern %q is used by more than one cache behavior.", p)
			}
			seen[k] = true
			if err := v.behaviour(cacheFields(&cb.Items[i])); err != nil {
				return err
			}
		}
	}
	return v.behaviour(defaultFields(cfg.DefaultCacheBehavior))
}

// The three legal AllowedMethods sets and two CachedMethods sets [API:AllowedMethods]:
// GET,HEAD; GET,HEAD,OPTIONS; or all seven.
var (
	methodsGH    = methodBits["GET"] | methodBits["HEAD"]
	methodsGHO   = methodsGH | methodBits["OPTIONS"]
	methodsEvery = methodSet(127)
	writeMethod  = methodBits["POST"] | methodBits["PUT"] | methodBits["PATCH"] | methodBits["DELETE"]
)

func methodsOf(what, pattern string, items []types.Method) (methodSet, error) {
	var set methodSet
	for _, m := range items {
		bit, ok := methodBits[string(m)]
		if !ok {
			return 0, cfgErr("InvalidArgument", "Cache behavior %q: %s contains %q, which is not an HTTP method CloudFront supports.", pattern, what, m)
		}
		set |= bit
	}
	return set, nil
}

func (v *validator) behaviour(f behaviourFields) error {
	target := aws.ToString(f.target)
	if !v.targets[target] {
		// [ISSUE] aws-cloudformation/rain#517 quotes CloudFront's message. [API:NoSuchOrigin]
		return cfgErr("NoSuchOrigin", "One or more of your cache behavior target origins or origin groups do not exist.")
	}
	switch f.vpp {
	case types.ViewerProtocolPolicyAllowAll, types.ViewerProtocolPolicyHttpsOnly, types.ViewerProtocolPolicyRedirectToHttps:
	default:
		return cfgErr("InvalidArgument", "Cache behavior %q: ViewerProtocolPolicy %q is not allow-all, https-only or redirect-to-https.", f.pattern, f.vpp)
	}
	if err := v.methods(f, v.groups[target]); err != nil {
		return err
	}
	if err := v.cacheSettings(f); err != nil {
		return err
	}
	return v.functionAssociations(f)
}

func (v *validator) methods(f behaviourFields, group bool) error {
	am := f.allowed
	if am == nil {
		return nil // [API:AllowedMethods] optional: GET and HEAD
	}
	set, err := methodsOf("AllowedMethods", f.pattern, am.Items)
	if err != nil {
		return err
	}
	if set != methodsGH && set != methodsGHO && set != methodsEvery {
		// [API:AllowedMethods]; message undocumented.
		return cfgErr("InvalidArgument", "Cache behavior %q: AllowedMethods must be GET,HEAD; GET,HEAD,OPTIONS; or GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE.", f.pattern)
	}
	if group && set&writeMethod != 0 {
		// [ISSUE] aws/aws-cdk#32450, reproduced by an AWS maintainer (Dec 2024); only GET,
		// HEAD and OPTIONS fail over [DG:high_availability_origin_failover].
		return cfgErr("InvalidArgument", "The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group.")
	}
	if cm := am.CachedMethods; cm != nil {
		cs, err := methodsOf("CachedMethods", f.pattern, cm.Items)
		if err != nil {
			return err
		}
		if (cs != methodsGH && cs != methodsGHO) || cs&^set != 0 {
			// [API:CachedMethods] GET,HEAD or GET,HEAD,OPTIONS, among the allowed methods.
			// Message undocumented.
			return cfgErr("InvalidArgument", "Cache behavior %q: CachedMethods must be GET,HEAD or GET,HEAD,OPTIONS and a subset of AllowedMethods.", f.pattern)
		}
	}
	return nil
}

// ttlOrder is CloudFront's message for TTLs out of order, quoted in
// humanmade/tachyon#73 and hashicorp/terraform-provider-aws#17878 [ISSUE].
const ttlOrder = "MinTTL, MaxTTL and DefaultTTL should follow order MinTTL less than or equal to DefaultTTL less than or equal to MaxTTL"

func (v *validator) cacheSettings(f behaviourFields) error {
	id := aws.ToString(f.cachePolicy)
	if id == "" {
		if f.fv == nil {
			// [API:CacheBehavior] "A CacheBehavior must include either a CachePolicyId or
			// ForwardedValues." Message undocumented.
			return cfgErr("InvalidArgument", "Cache behavior %q must include either a CachePolicyId or ForwardedValues.", f.pattern)
		}
		// Legacy settings: TTL defaults 0 / 86400 / 31536000 [API:CacheBehavior].
		min, def, max := aws.ToInt64(f.minTTL), int64(86400), int64(31536000)
		if f.defTTL != nil {
			def = *f.defTTL
		}
		if f.maxTTL != nil {
			max = *f.maxTTL
		}
		if min < 0 || !(min <= def && def <= max) {
			return cfgErr("InvalidTTLOrder", ttlOrder)
		}
		return v.originRequestAndHeaders(f, nil)
	}
	// With a cache policy the legacy fields are refused: [ISSUE] aws/aws-sdk-net#1698
	// quotes "The parameter MinTTL cannot be used when a cache policy is associated to the
	// cache behavior."; the other fields follow the same form [INFER].
	for name, set := range map[string]bool{"MinTTL": f.minTTL != nil, "DefaultTTL": f.defTTL != nil, "MaxTTL": f.maxTTL != nil, "ForwardedValues": f.fv != nil} {
		if set {
			return cfgErr("InvalidArgument", "The parameter %s cannot be used when a cache policy is associated to the cache behavior.", name)
		}
	}
	var cp *types.CachePolicyConfig
	if v.res.CachePolicy != nil {
		c, ok := v.res.CachePolicy(id)
		if !ok {
			// [API:NoSuchCachePolicy]
			return cfgErr("NoSuchCachePolicy", "The cache policy does not exist.")
		}
		if err := ValidateCachePolicyConfig(c); err != nil {
			return err
		}
		cp = c
	}
	return v.originRequestAndHeaders(f, cp)
}

func (v *validator) originRequestAndHeaders(f behaviourFields, cp *types.CachePolicyConfig) error {
	if id := aws.ToString(f.orp); id != "" && v.res.OriginRequestPolicy != nil {
		c, ok := v.res.OriginRequestPolicy(id)
		if !ok {
			// [API:NoSuchOriginRequestPolicy]
			return cfgErr("NoSuchOriginRequestPolicy", "The origin request policy does not exist.")
		}
		if err := ValidateOriginRequestPolicyConfig(c); err != nil {
			return err
		}
	}
	if id := aws.ToString(f.rhp); id != "" && v.res.ResponseHeadersPolicy != nil && !v.res.ResponseHeadersPolicy(id) {
		// [API:NoSuchResponseHeadersPolicy]
		return cfgErr("NoSuchResponseHeadersPolicy", "The response headers policy does not exist.")
	}
	return nil
}

// ValidateCachePolicyConfig applies CreateCachePolicy's rules to c: the TTL order, a
// key that caching-off cannot use, and the quotas on the key's names.
func ValidateCachePolicyConfig(c *types.CachePolicyConfig) error {
	if c == nil || c.MinTTL == nil {
		// [API:CachePolicyConfig] MinTTL is required.
		return cfgErr("InvalidArgument", "The parameter MinTTL is required in a cache policy.")
	}
	// [API:CachePolicyConfig] DefaultTTL defaults to 86400 "or the value of MinTTL, if
	// MinTTL is larger"; MaxTTL to 31536000 "or the value of DefaultTTL, if larger".
	minT := *c.MinTTL
	defT := max(86400, minT)
	if c.DefaultTTL != nil {
		defT = *c.DefaultTTL
	}
	maxT := max(31536000, defT)
	if c.MaxTTL != nil {
		maxT = *c.MaxTTL
	}
	if minT < 0 || !(minT <= defT && defT <= maxT) {
		return cfgErr("InvalidTTLOrder", ttlOrder)
	}
	k := c.ParametersInCacheKeyAndForwardedToOrigin
	if k == nil {
		return cfgErr("InvalidArgument", "The parameter ParametersInCacheKeyAndForwardedToOrigin is required in a cache policy.")
	}
	headers, cookies, query := keyNames(k)
	if maxT == 0 && (headers > 0 || cookies > 0 || query > 0 || aws.ToBool(k.EnableAcceptEncodingGzip) || aws.ToBool(k.EnableAcceptEncodingBrotli)) {
		// A policy that caches nothing has no key: [DG:controlling-the-cache-key] "when
		// caching is disabled … you can't include headers, cookies or query strings in the
		// cache key" (use an origin request policy to forward them); troposphere#1796 saw
		// CloudFormation refuse it. CloudFront's message is undocumented.
		return cfgErr("InvalidArgument", "The cache policy disables caching (MaxTTL 0), so its cache key cannot include headers, cookies, query strings or Accept-Encoding; forward them with an origin request policy.")
	}
	// [QUOTAS] "Headers/Cookies/Query strings in a cache policy: 10". Message: the form AWS
	// support quoted (repost.aws "Your request contains more query strings in the Cache
	// Policy than are allowed.").
	for _, q := range []struct {
		n          int
		code, what string
	}{{headers, "TooManyHeadersInCachePolicy", "headers"}, {cookies, "TooManyCookiesInCachePolicy", "cookies"}, {query, "TooManyQueryStringsInCachePolicy", "query strings"}} {
		if q.n > maxKeyNames {
			return cfgErr(q.code, "Your request contains more %s in the Cache Policy than are allowed.", q.what)
		}
	}
	return nil
}

// keyNames counts the names listed in a cache key (whitelist or allExcept lists).
func keyNames(k *types.ParametersInCacheKeyAndForwardedToOrigin) (headers, cookies, query int) {
	if h := k.HeadersConfig; h != nil && h.HeaderBehavior != types.CachePolicyHeaderBehaviorNone && h.Headers != nil {
		headers = len(h.Headers.Items)
	}
	if c := k.CookiesConfig; c != nil && c.CookieBehavior != types.CachePolicyCookieBehaviorNone {
		if c.Cookies != nil {
			cookies = len(c.Cookies.Items)
		}
		if c.CookieBehavior == types.CachePolicyCookieBehaviorAll {
			cookies = max(cookies, 1)
		}
	}
	if q := k.QueryStringsConfig; q != nil && q.QueryStringBehavior != types.CachePolicyQueryStringBehaviorNone {
		if q.QueryStrings != nil {
			query = len(q.QueryStrings.Items)
		}
		if q.QueryStringBehavior == types.CachePolicyQueryStringBehaviorAll {
			query = max(query, 1)
		}
	}
	return headers, cookies, query
}

// ValidateOriginRequestPolicyConfig applies CreateOriginRequestPolicy's rules to c.
func ValidateOriginRequestPolicyConfig(c *types.OriginRequestPolicyConfig) error {
	if c == nil || c.HeadersConfig == nil {
		return cfgErr("InvalidArgument", "The parameter HeadersConfig is required in an origin request policy.")
	}
	if h := c.HeadersConfig; h.Headers != nil && h.HeaderBehavior != types.OriginRequestPolicyHeaderBehaviorAllExcept {
		for _, name := range h.Headers.Items {
			if strings.EqualFold(name, "Authorization") {
				// "You can't use an origin request policy to forward the Authorization header …
				// CloudFront returns an HTTP 400 error if you create an origin request policy
				// that forwards the Authorization header." (AWS Knowledge Center,
				// cloudfront-authorization-header); message as users report it
				// (serverfault.com/questions/1053906). Same rule as compileOriginRequestPolicy.
				return cfgErr("InvalidArgument", "The parameter Headers contains %s that is not allowed.", name)
			}
		}
	}
	return nil
}

// functionEvents are the events a CloudFront Function can run on [API:FunctionAssociation];
// any other value is a MalformedXML validation error, as AWS answered in
// terraform-aws-modules/terraform-aws-cloudfront#53 [ISSUE].
var functionEvents = []types.EventType{types.EventTypeViewerRequest, types.EventTypeViewerResponse}

func (v *validator) functionAssociations(f behaviourFields) error {
	used := map[types.EventType]bool{}
	if fa := f.functions; fa != nil {
		for _, a := range fa.Items {
			if !slices.Contains(functionEvents, a.EventType) {
				return cfgErr("MalformedXML", "1 validation error detected: Value '%s' at 'distributionConfig.cacheBehavior.functionAssociations.member.eventType' failed to satisfy constraint: Member must satisfy value set: [viewer-request, viewer-response]", a.EventType)
			}
			if used[a.EventType] {
				// [API:FunctionAssociations] one function per event type. Message undocumented.
				return cfgErr("InvalidFunctionAssociation", "Cache behavior %q associates more than one function with %s.", f.pattern, a.EventType)
			}
			used[a.EventType] = true
			arn := aws.ToString(a.FunctionARN)
			if _, err := functionNameFromARN(arn); err != nil {
				return cfgErr("InvalidFunctionAssociation", "Cache behavior %q: %v.", f.pattern, err)
			}
			if v.res.Functions == nil {
				continue
			}
			st, ok := v.res.Functions.LookupFunction(arn)
			if !ok || !st.Live {
				// Only a published (LIVE) function can be associated [DG:functions-tutorial];
				// TerraConstructs/base#159 and aws/aws-cdk#16319 met it. Message undocumented.
				return cfgErr("InvalidFunctionAssociation", "Cache behavior %q: function %s does not exist or is not published (LIVE).", f.pattern, arn)
			}
		}
	}
	if la := f.lambdas; la != nil {
		for _, a := range la.Items {
			if used[a.EventType] {
				// [DG:edge-functions-choosing] a viewer event takes a CloudFront Function or a
				// Lambda@Edge function, not both; one Lambda@Edge function per event type.
				return cfgErr("InvalidLambdaFunctionAssociation", "Cache behavior %q associates more than one function with %s.", f.pattern, a.EventType)
			}
			used[a.EventType] = true
		}
	}
	return nil
}

// ---- the rest ----

func defaultRootObject(root string) error {
	// [API:DistributionConfig] DefaultRootObject: an object name, no leading '/', at most 255
	// characters. Message: [API:InvalidDefaultRootObject].
	if root == "" {
		return nil
	}
	if strings.HasPrefix(root, "/") || len(root) > 255 || strings.ContainsAny(root, " ?#") {
		return cfgErr("InvalidDefaultRootObject", "The default root object file name is too big or contains an invalid character.")
	}
	return nil
}

// Codes a custom error response may name, and may answer with [API:CustomErrorResponse].
var (
	customErrorCodes    = []int32{400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
	customResponseCodes = []int{200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504}
)

func customErrorResponses(cer *types.CustomErrorResponses) error {
	if cer == nil {
		return nil
	}
	seen := map[int32]bool{}
	for _, r := range cer.Items {
		code := aws.ToInt32(r.ErrorCode)
		if !slices.Contains(customErrorCodes, code) {
			// [API:InvalidErrorCode]
			return cfgErr("InvalidErrorCode", "An invalid error code was specified.")
		}
		if seen[code] {
			return cfgErr("InvalidArgument", "The error code %d has more than one custom error response.", code)
		}
		seen[code] = true
		if t := r.ErrorCachingMinTTL; t != nil && *t < 0 {
			return cfgErr("InvalidArgument", "The parameter ErrorCachingMinTTL for error code %d must not be negative.", code)
		}
		rc, page := aws.ToString(r.ResponseCode), aws.ToString(r.ResponsePagePath)
		if (rc == "") != (page == "") {
			// [API:CustomErrorResponse] "If you specify a value for ResponsePagePath, you must
			// also specify a value for ResponseCode." Message undocumented.
			return cfgErr("InvalidArgument", "Custom error response for %d: ResponseCode and ResponsePagePath must be specified together.", code)
		}
		if rc == "" {
			continue
		}
		if n, err := strconv.Atoi(rc); err != nil || !slices.Contains(customResponseCodes, n) {
			// [API:InvalidResponseCode]
			return cfgErr("InvalidResponseCode", "A response code is not valid.")
		}
		if !strings.HasPrefix(page, "/") || len(page) > maxResponsePageLen {
			// [API:CustomErrorResponse] ResponsePagePath begins with / (max 4000).
			// [API:InvalidRelativePath]
			return cfgErr("InvalidRelativePath", "The relative path is too big, is not URL-encoded, or does not begin with a slash (/).")
		}
	}
	return nil
}

// aliasName is an alternate domain name: lower-case labels, optionally "*." first
// [DG:CNAMEs] (a wildcard is allowed as the leftmost label only).
var aliasName = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func aliases(a *types.Aliases) error {
	if a == nil {
		return nil
	}
	if len(a.Items) > maxAliases {
		// [QUOTAS] Alternate domain names (CNAMEs) per distribution: 100. [API:TooManyDistributionCNAMEs]
		return cfgErr("TooManyDistributionCNAMEs", "Your request contains more CNAMEs than are allowed per distribution.")
	}
	seen := map[string]bool{}
	for _, name := range a.Items {
		n := strings.ToLower(name)
		if len(n) > 253 || !aliasName.MatchString(n) {
			return cfgErr("InvalidArgument", "The parameter CNAME contains an invalid domain name %q.", name)
		}
		if seen[n] {
			return cfgErr("InvalidArgument", "The CNAME %q is listed more than once.", name)
		}
		seen[n] = true
	}
	return nil
}

// minimumProtocols are the viewer security policies [API:ViewerCertificate].
var minimumProtocols = types.MinimumProtocolVersion("").Values()

func viewerCertificate(vc *types.ViewerCertificate, a *types.Aliases) error {
	hasAliases := a != nil && len(a.Items) > 0
	if vc == nil || aws.ToBool(vc.CloudFrontDefaultCertificate) {
		if hasAliases {
			// [ISSUE] cloudposse/terraform-aws-cloudfront-s3-cdn#72, winglang/wing#2440.
			return cfgErr("InvalidViewerCertificate", "To add an alternate domain name (CNAME) to a CloudFront distribution, you must attach a trusted certificate that validates your authorization to use the domain name. For more details, see: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/CNAMEs.html#alternate-domain-names-requirements")
		}
		if vc != nil && (aws.ToString(vc.ACMCertificateArn) != "" || aws.ToString(vc.IAMCertificateId) != "") {
			return cfgErr("InvalidViewerCertificate", "A viewer certificate specified is not valid.")
		}
		return nil
	}
	acm, iam := aws.ToString(vc.ACMCertificateArn), aws.ToString(vc.IAMCertificateId)
	if (acm == "") == (iam == "") {
		// [API:ViewerCertificate] exactly one of CloudFrontDefaultCertificate,
		// ACMCertificateArn, IAMCertificateId. [API:InvalidViewerCertificate]
		return cfgErr("InvalidViewerCertificate", "A viewer certificate specified is not valid.")
	}
	// A value that is not an ARN is a stand-in for one a deployed stack knows (template
	// loaders, synth placeholders), left to CloudFront.
	if strings.HasPrefix(acm, "arn:") && !strings.Contains(acm, ":acm:us-east-1:") {
		// "The certificate must be in the US East (N. Virginia) Region (us-east-1)"
		// [DG:cnames-and-https-requirements]; message as AWS answers it [ISSUE]
		// (milliHQ/terraform-aws-next-js#61, JakePartusch/serverlessui#20).
		return cfgErr("InvalidViewerCertificate", "The specified SSL certificate doesn't exist, isn't in us-east-1 region, isn't valid, or doesn't include a valid certificate chain.")
	}
	switch vc.SSLSupportMethod {
	case types.SSLSupportMethodSniOnly, types.SSLSupportMethodVip, types.SSLSupportMethodStaticIp:
	default:
		// [API:ViewerCertificate] SSLSupportMethod is required with a custom certificate.
		return cfgErr("InvalidViewerCertificate", "A viewer certificate specified is not valid.")
	}
	if vc.MinimumProtocolVersion != "" && !slices.Contains(minimumProtocols, vc.MinimumProtocolVersion) {
		// [API:InvalidMinimumProtocolVersion]
		return cfgErr("InvalidMinimumProtocolVersion", "The minimum protocol version specified is not valid.")
	}
	return nil
}
