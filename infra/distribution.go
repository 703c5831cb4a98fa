// Package infra declares twinedge's topology once. Distribution builds the CloudFront
// DistributionConfig that the local edge executes, that infra/aws renders into CloudFormation,
// and whose id the release reads. A behaviour added here exists everywhere.
package infra

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge"
)

// Managed policy ids (spec/cloudfront.md §2.4, §7), the same in every AWS account. The
// edge, which implements them, owns the values.
const (
	CachingOptimized          = edge.CachingOptimizedID
	CachingDisabled           = edge.CachingDisabledID
	AllViewerExceptHostHeader = edge.AllViewerExceptHostHeaderID
	SecurityHeadersPolicy     = edge.SecurityHeadersPolicyID
)

// Origin and origin group ids used in the distribution.
const (
	SiteGroupID = "site"
	APIGroupID  = "api"
)

// SPAFunctionName is the name of the viewer-request function that rewrites
// extensionless paths to /index.html. The edge runs its Go implementation; on AWS
// the same logic is deployed as cloudfront-js-2.0 source.
const SPAFunctionName = edge.SPARewriteName

// FailoverStatusCodes are the origin statuses that make both groups try the secondary.
// 403 is included because an S3 REST origin behind OAC answers 403, not 404, for a
// missing key when the caller may not list the bucket (spec/cloudfront.md §3.3).
var FailoverStatusCodes = []int32{403, 404, 500, 502, 503, 504}

// Failover timings. CloudFront's defaults (3 attempts × 10 s to connect, 30 s to first
// byte) make a hung primary cost 30–90 s per request; twinedge exists to fail over fast,
// so it uses the smallest values CloudFront accepts that a healthy origin still meets:
//   - one connection attempt: a second attempt on a refused or silent primary only delays
//     the secondary, which holds the same content;
//   - a 1 s connection timeout (the minimum), far above a same-continent TCP handshake;
//   - read timeouts of 2 s for S3 (first byte from S3 is typically tens of ms) and 5 s for
//     the API (APIOriginReadTimeout, timeouts.go: derived from the function's timeout).
//
// The worst case a viewer waits on a blackholed primary before the secondary answers is
// therefore ConnectionAttempts × OriginReadTimeout = 2 s for pages, 5 s for API reads.
const (
	ConnectionAttempts    = 1
	ConnectionTimeout     = 1
	SiteOriginReadTimeout = 2
)

// Region describes one region's endpoints as CloudFront sees them: domain names, never
// local addresses. Locally the edge resolves these names to loopback ports.
type Region struct {
	// Name is the AWS region, for example "us-east-1".
	Name string
	// BucketDomain is the S3 REST endpoint of the site bucket,
	// "<bucket>.s3.<region>.amazonaws.com".
	BucketDomain string
	// FunctionURLDomain is the API's function URL host,
	// "<url-id>.lambda-url.<region>.on.aws"; empty when the region runs no API.
	FunctionURLDomain string
}

// Endpoints is everything the distribution needs to know about the world it fronts.
type Endpoints struct {
	// Regions lists the regions, primary first. Exactly two are supported, because an
	// origin group has exactly two members.
	Regions []Region
	// CallerReference identifies the distribution for CreateDistribution (default "twinedge").
	CallerReference string
	// SiteOAC and APIOAC are the ids of the origin access controls for the buckets
	// (type s3) and function URLs (type lambda).
	SiteOAC, APIOAC string
	// SPAFunctionARN is the ARN of the default behaviour's viewer-request function: the
	// site function (SiteFunctionName: redirects, then the SPA rewrite) where a redirect
	// store exists, or the bare SPA rewrite (SPAFunctionName).
	SPAFunctionARN string
	// ResponseHeadersPolicyID is attached to the default behaviour
	// (default: the managed SecurityHeadersPolicy).
	ResponseHeadersPolicyID string
	// APIResponseHeadersPolicyID is attached to every /api behaviour (default: none);
	// infra/aws gives the API its own security headers policy.
	APIResponseHeadersPolicyID string
	// Aliases are alternate domain names (optional).
	Aliases []string
	// Comment is the distribution comment (default "twinedge").
	Comment string
}

// SiteOriginID and APIOriginID name a region's origins in the distribution.
func SiteOriginID(region string) string { return "site-" + region }

// APIOriginID names a region's function URL origin.
func APIOriginID(region string) string { return "api-" + region }

// Distribution returns the distribution config for the given endpoints.
func Distribution(ep Endpoints) (*types.DistributionConfig, error) {
	if len(ep.Regions) != 2 {
		return nil, fmt.Errorf("distribution needs exactly two regions (primary, secondary), got %d", len(ep.Regions))
	}
	withAPI := ep.Regions[0].FunctionURLDomain != "" && ep.Regions[1].FunctionURLDomain != ""

	var origins []types.Origin
	for _, r := range ep.Regions {
		if r.Name == "" || r.BucketDomain == "" {
			return nil, fmt.Errorf("region %q: name and bucket domain are required", r.Name)
		}
		origins = append(origins, types.Origin{
			Id:                    aws.String(SiteOriginID(r.Name)),
			DomainName:            aws.String(r.BucketDomain),
			OriginPath:            aws.String(""),
			OriginAccessControlId: aws.String(ep.SiteOAC),
			S3OriginConfig: &types.S3OriginConfig{
				OriginAccessIdentity: aws.String(""),
				OriginReadTimeout:    aws.Int32(SiteOriginReadTimeout),
			},
			ConnectionAttempts: aws.Int32(ConnectionAttempts),
			ConnectionTimeout:  aws.Int32(ConnectionTimeout),
			CustomHeaders:      &types.CustomHeaders{Quantity: aws.Int32(0)},
		})
	}
	if withAPI {
		for _, r := range ep.Regions {
			origins = append(origins, types.Origin{
				Id:                    aws.String(APIOriginID(r.Name)),
				DomainName:            aws.String(r.FunctionURLDomain),
				OriginPath:            aws.String(""),
				OriginAccessControlId: aws.String(ep.APIOAC),
				CustomOriginConfig: &types.CustomOriginConfig{
					HTTPPort:               aws.Int32(80),
					HTTPSPort:              aws.Int32(443),
					OriginProtocolPolicy:   types.OriginProtocolPolicyHttpsOnly,
					OriginReadTimeout:      aws.Int32(APIOriginReadTimeout),
					OriginKeepaliveTimeout: aws.Int32(5),
					OriginSslProtocols: &types.OriginSslProtocols{
						Quantity: aws.Int32(1),
						Items:    []types.SslProtocol{types.SslProtocolTLSv12},
					},
				},
				ConnectionAttempts: aws.Int32(ConnectionAttempts),
				ConnectionTimeout:  aws.Int32(ConnectionTimeout),
				CustomHeaders:      &types.CustomHeaders{Quantity: aws.Int32(0)},
			})
		}
	}

	groups := []types.OriginGroup{group(SiteGroupID, SiteOriginID(ep.Regions[0].Name), SiteOriginID(ep.Regions[1].Name))}
	if withAPI {
		groups = append(groups, group(APIGroupID, APIOriginID(ep.Regions[0].Name), APIOriginID(ep.Regions[1].Name)))
	}

	rhp := ep.ResponseHeadersPolicyID
	if rhp == "" {
		rhp = SecurityHeadersPolicy
	}
	def := &types.DefaultCacheBehavior{
		TargetOriginId:          aws.String(SiteGroupID),
		ViewerProtocolPolicy:    types.ViewerProtocolPolicyRedirectToHttps,
		CachePolicyId:           aws.String(CachingOptimized),
		ResponseHeadersPolicyId: aws.String(rhp),
		Compress:                aws.Bool(true),
		AllowedMethods:          methods(readMethods...),
		FunctionAssociations: &types.FunctionAssociations{
			Quantity: aws.Int32(1),
			Items: []types.FunctionAssociation{{
				EventType:   types.EventTypeViewerRequest,
				FunctionARN: aws.String(ep.SPAFunctionARN),
			}},
		},
		LambdaFunctionAssociations: &types.LambdaFunctionAssociations{Quantity: aws.Int32(0)},
	}

	var behaviours []types.CacheBehavior
	if withAPI {
		// Region-pinned paths first: the first matching pattern wins (spec/cloudfront.md §2.1),
		// and "/api/*" would otherwise swallow them. Each names one origin, so it may allow
		// every method: all writes go here (POST /api/r/<primary>/..., retried on the
		// secondary's pinned path with the same id).
		for _, r := range ep.Regions {
			behaviours = append(behaviours, apiBehaviour("/api/r/"+r.Name+"/*", APIOriginID(r.Name), allMethods, ep.APIResponseHeadersPolicyID))
		}
		// The group behaviour serves reads only. CloudFront refuses a behaviour bound to an
		// origin group that allows POST, PUT, PATCH or DELETE ("The parameter AllowedMethods
		// cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an
		// origin group.", reproduced in aws/aws-cdk#32450), and only GET, HEAD and OPTIONS fail
		// over (Developer Guide, high-availability-origin-failover). A POST here gets
		// CloudFront's 403 for a method the behaviour does not allow.
		behaviours = append(behaviours, apiBehaviour("/api/*", APIGroupID, readMethods, ep.APIResponseHeadersPolicyID))
	}

	comment := ep.Comment
	if comment == "" {
		comment = "twinedge"
	}
	ref := ep.CallerReference
	if ref == "" {
		ref = "twinedge"
	}
	aliases := &types.Aliases{Quantity: aws.Int32(int32(len(ep.Aliases)))}
	if len(ep.Aliases) > 0 {
		aliases.Items = append([]string(nil), ep.Aliases...)
	}
	return &types.DistributionConfig{
		CallerReference:      aws.String(ref),
		Comment:              aws.String(comment),
		Enabled:              aws.Bool(true),
		DefaultRootObject:    aws.String("index.html"),
		HttpVersion:          types.HttpVersionHttp2and3,
		IsIPV6Enabled:        aws.Bool(true),
		PriceClass:           types.PriceClassPriceClass100,
		Aliases:              aliases,
		Origins:              &types.Origins{Quantity: aws.Int32(int32(len(origins))), Items: origins},
		OriginGroups:         &types.OriginGroups{Quantity: aws.Int32(int32(len(groups))), Items: groups},
		DefaultCacheBehavior: def,
		CacheBehaviors:       &types.CacheBehaviors{Quantity: aws.Int32(int32(len(behaviours))), Items: behaviours},
		// SPA deep links are handled by the viewer-request function, not by custom error
		// responses, which are distribution-wide and would also rewrite API errors.
		CustomErrorResponses: &types.CustomErrorResponses{Quantity: aws.Int32(0)},
	}, nil
}

func group(id, primary, secondary string) types.OriginGroup {
	return types.OriginGroup{
		Id: aws.String(id),
		FailoverCriteria: &types.OriginGroupFailoverCriteria{
			StatusCodes: &types.StatusCodes{
				Quantity: aws.Int32(int32(len(FailoverStatusCodes))),
				Items:    append([]int32(nil), FailoverStatusCodes...),
			},
		},
		Members: &types.OriginGroupMembers{
			Quantity: aws.Int32(2),
			Items:    []types.OriginGroupMember{{OriginId: aws.String(primary)}, {OriginId: aws.String(secondary)}},
		},
		SelectionCriteria: types.OriginGroupSelectionCriteriaDefault,
	}
}

// The two AllowedMethods sets the distribution uses.
var (
	readMethods = []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions}
	allMethods  = []types.Method{types.MethodGet, types.MethodHead, types.MethodOptions, types.MethodPut, types.MethodPatch, types.MethodPost, types.MethodDelete}
)

func apiBehaviour(pattern, target string, allowed []types.Method, headersPolicy string) types.CacheBehavior {
	b := types.CacheBehavior{
		PathPattern:                aws.String(pattern),
		TargetOriginId:             aws.String(target),
		ViewerProtocolPolicy:       types.ViewerProtocolPolicyRedirectToHttps,
		CachePolicyId:              aws.String(CachingDisabled),
		OriginRequestPolicyId:      aws.String(AllViewerExceptHostHeader),
		Compress:                   aws.Bool(true),
		AllowedMethods:             methods(allowed...),
		FunctionAssociations:       &types.FunctionAssociations{Quantity: aws.Int32(0)},
		LambdaFunctionAssociations: &types.LambdaFunctionAssociations{Quantity: aws.Int32(0)},
	}
	if headersPolicy != "" {
		b.ResponseHeadersPolicyId = aws.String(headersPolicy)
	}
	return b
}

// methods builds AllowedMethods; the cached methods are always GET and HEAD.
func methods(m ...types.Method) *types.AllowedMethods {
	return &types.AllowedMethods{
		Quantity: aws.Int32(int32(len(m))),
		Items:    append([]types.Method(nil), m...),
		CachedMethods: &types.CachedMethods{
			Quantity: aws.Int32(2),
			Items:    []types.Method{types.MethodGet, types.MethodHead},
		},
	}
}
