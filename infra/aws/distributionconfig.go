package awsinfra

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// This file converts the SDK's DistributionConfig (the shape infra.Distribution returns
// and the edge executes) into the DistributionConfig property of
// AWS::CloudFront::Distribution. The two differ in three ways:
//   - CloudFormation writes most lists as plain arrays, where the API wraps them in
//     {Quantity, Items}; OriginGroups, their Members and StatusCodes keep the wrapper.
//   - Some names differ: IsIPV6Enabled → IPV6Enabled, Origin.CustomHeaders →
//     OriginCustomHeaders, OriginSslProtocols → OriginSSLProtocols, ACMCertificateArn →
//     AcmCertificateArn, AllowedMethods.CachedMethods → CachedMethods on the behaviour.
//   - CloudFormation has no CallerReference: the stack owns the distribution.
// Every field of the SDK config is either converted or refused with an error naming it,
// so a field added to infra.Distribution can never be dropped silently on AWS.

// cfnDistributionConfig is AWS::CloudFront::Distribution.DistributionConfig.
type cfnDistributionConfig struct {
	Aliases              []Value                  `json:"Aliases,omitempty"`
	CacheBehaviors       []cfnCacheBehavior       `json:"CacheBehaviors,omitempty"`
	Comment              Value                    `json:"Comment,omitempty"`
	CustomErrorResponses []cfnCustomErrorResponse `json:"CustomErrorResponses,omitempty"`
	DefaultCacheBehavior cfnCacheBehavior         `json:"DefaultCacheBehavior"`
	DefaultRootObject    string                   `json:"DefaultRootObject,omitempty"`
	Enabled              bool                     `json:"Enabled"`
	HttpVersion          string                   `json:"HttpVersion,omitempty"`
	IPV6Enabled          *bool                    `json:"IPV6Enabled,omitempty"`
	OriginGroups         *cfnOriginGroups         `json:"OriginGroups,omitempty"`
	Origins              []cfnOrigin              `json:"Origins,omitempty"`
	PriceClass           string                   `json:"PriceClass,omitempty"`
	Restrictions         *cfnRestrictions         `json:"Restrictions,omitempty"`
	ViewerCertificate    *cfnViewerCertificate    `json:"ViewerCertificate,omitempty"`
	WebACLId             Value                    `json:"WebACLId,omitempty"`
}

type cfnOrigin struct {
	ConnectionAttempts        *int32                 `json:"ConnectionAttempts,omitempty"`
	ConnectionTimeout         *int32                 `json:"ConnectionTimeout,omitempty"`
	CustomOriginConfig        *cfnCustomOriginConfig `json:"CustomOriginConfig,omitempty"`
	DomainName                Value                  `json:"DomainName"`
	Id                        string                 `json:"Id"`
	OriginAccessControlId     Value                  `json:"OriginAccessControlId,omitempty"`
	OriginCustomHeaders       []cfnOriginHeader      `json:"OriginCustomHeaders,omitempty"`
	OriginPath                string                 `json:"OriginPath,omitempty"`
	OriginShield              *cfnOriginShield       `json:"OriginShield,omitempty"`
	ResponseCompletionTimeout *int32                 `json:"ResponseCompletionTimeout,omitempty"`
	S3OriginConfig            *cfnS3OriginConfig     `json:"S3OriginConfig,omitempty"`
}

type cfnS3OriginConfig struct {
	// OriginAccessIdentity is always present: with OAC, CloudFormation wants it empty
	// (spec/cloudfront.md §5.1), and omitting the key is not the same on every update.
	OriginAccessIdentity string `json:"OriginAccessIdentity"`
	OriginReadTimeout    *int32 `json:"OriginReadTimeout,omitempty"`
}

type cfnCustomOriginConfig struct {
	HTTPPort               *int32   `json:"HTTPPort,omitempty"`
	HTTPSPort              *int32   `json:"HTTPSPort,omitempty"`
	IpAddressType          string   `json:"IpAddressType,omitempty"`
	OriginKeepaliveTimeout *int32   `json:"OriginKeepaliveTimeout,omitempty"`
	OriginProtocolPolicy   string   `json:"OriginProtocolPolicy"`
	OriginReadTimeout      *int32   `json:"OriginReadTimeout,omitempty"`
	OriginSSLProtocols     []string `json:"OriginSSLProtocols,omitempty"`
}

type cfnOriginHeader struct {
	HeaderName  string `json:"HeaderName"`
	HeaderValue Value  `json:"HeaderValue"`
}

type cfnOriginShield struct {
	Enabled            bool   `json:"Enabled"`
	OriginShieldRegion string `json:"OriginShieldRegion,omitempty"`
}

type cfnOriginGroups struct {
	Quantity int32            `json:"Quantity"`
	Items    []cfnOriginGroup `json:"Items,omitempty"`
}

type cfnOriginGroup struct {
	FailoverCriteria  cfnFailoverCriteria   `json:"FailoverCriteria"`
	Id                string                `json:"Id"`
	Members           cfnOriginGroupMembers `json:"Members"`
	SelectionCriteria string                `json:"SelectionCriteria,omitempty"`
}

type cfnFailoverCriteria struct {
	StatusCodes cfnStatusCodes `json:"StatusCodes"`
}

type cfnStatusCodes struct {
	Quantity int32   `json:"Quantity"`
	Items    []int32 `json:"Items"`
}

type cfnOriginGroupMembers struct {
	Quantity int32                  `json:"Quantity"`
	Items    []cfnOriginGroupMember `json:"Items"`
}

type cfnOriginGroupMember struct {
	OriginId string `json:"OriginId"`
}

// cfnCacheBehavior is both DefaultCacheBehavior and CacheBehavior: they differ only in
// PathPattern, which the default behaviour has not.
type cfnCacheBehavior struct {
	AllowedMethods             []string                       `json:"AllowedMethods,omitempty"`
	CachePolicyId              Value                          `json:"CachePolicyId,omitempty"`
	CachedMethods              []string                       `json:"CachedMethods,omitempty"`
	Compress                   *bool                          `json:"Compress,omitempty"`
	DefaultTTL                 *int64                         `json:"DefaultTTL,omitempty"`
	FunctionAssociations       []cfnFunctionAssociation       `json:"FunctionAssociations,omitempty"`
	LambdaFunctionAssociations []cfnLambdaFunctionAssociation `json:"LambdaFunctionAssociations,omitempty"`
	MaxTTL                     *int64                         `json:"MaxTTL,omitempty"`
	MinTTL                     *int64                         `json:"MinTTL,omitempty"`
	OriginRequestPolicyId      Value                          `json:"OriginRequestPolicyId,omitempty"`
	PathPattern                string                         `json:"PathPattern,omitempty"`
	ResponseHeadersPolicyId    Value                          `json:"ResponseHeadersPolicyId,omitempty"`
	TargetOriginId             string                         `json:"TargetOriginId"`
	ViewerProtocolPolicy       string                         `json:"ViewerProtocolPolicy"`
}

type cfnFunctionAssociation struct {
	EventType   string `json:"EventType"`
	FunctionARN Value  `json:"FunctionARN"`
}

type cfnLambdaFunctionAssociation struct {
	EventType         string `json:"EventType"`
	IncludeBody       *bool  `json:"IncludeBody,omitempty"`
	LambdaFunctionARN Value  `json:"LambdaFunctionARN"`
}

type cfnCustomErrorResponse struct {
	ErrorCachingMinTTL *int64 `json:"ErrorCachingMinTTL,omitempty"`
	ErrorCode          int32  `json:"ErrorCode"`
	ResponseCode       *int   `json:"ResponseCode,omitempty"`
	ResponsePagePath   string `json:"ResponsePagePath,omitempty"`
}

type cfnRestrictions struct {
	GeoRestriction cfnGeoRestriction `json:"GeoRestriction"`
}

type cfnGeoRestriction struct {
	Locations       []string `json:"Locations,omitempty"`
	RestrictionType string   `json:"RestrictionType"`
}

type cfnViewerCertificate struct {
	AcmCertificateArn            Value  `json:"AcmCertificateArn,omitempty"`
	CloudFrontDefaultCertificate *bool  `json:"CloudFrontDefaultCertificate,omitempty"`
	IamCertificateId             Value  `json:"IamCertificateId,omitempty"`
	MinimumProtocolVersion       string `json:"MinimumProtocolVersion,omitempty"`
	SslSupportMethod             string `json:"SslSupportMethod,omitempty"`
}

// converter turns SDK strings into template values. Strings that stand for something
// only CloudFormation knows (an OAC id, a function ARN, an origin domain from another
// region's stack) are passed to infra.Distribution as placeholders; refs maps each
// placeholder to the intrinsic that replaces it.
type converter struct {
	refs map[string]Value
}

// value returns the template value of an SDK string: its replacement when it is a
// placeholder, the string itself otherwise, and nil when it is unset or empty.
func (c converter) value(s *string) Value {
	if s == nil || *s == "" {
		return nil
	}
	if v, ok := c.refs[*s]; ok {
		return v
	}
	return *s
}

// unsupported is returned for an SDK field the converter does not render.
func unsupported(field string) error {
	return fmt.Errorf("DistributionConfig.%s is set, but infra/aws does not render it into CloudFormation yet", field)
}

func deref[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// distributionConfig converts cfg field by field.
func (c converter) distributionConfig(cfg *types.DistributionConfig) (*cfnDistributionConfig, error) {
	if cfg == nil {
		return nil, fmt.Errorf("no distribution config")
	}
	switch {
	case deref(cfg.AnycastIpListId) != "":
		return nil, unsupported("AnycastIpListId")
	case cfg.CacheTagConfig != nil:
		return nil, unsupported("CacheTagConfig")
	case cfg.ConnectionFunctionAssociation != nil:
		return nil, unsupported("ConnectionFunctionAssociation")
	case cfg.ConnectionMode != "":
		return nil, unsupported("ConnectionMode")
	case deref(cfg.ContinuousDeploymentPolicyId) != "":
		return nil, unsupported("ContinuousDeploymentPolicyId")
	case cfg.Logging != nil && deref(cfg.Logging.Enabled):
		return nil, unsupported("Logging")
	case deref(cfg.Staging):
		return nil, unsupported("Staging")
	case cfg.TenantConfig != nil:
		return nil, unsupported("TenantConfig")
	case cfg.ViewerMtlsConfig != nil:
		return nil, unsupported("ViewerMtlsConfig")
	case cfg.DefaultCacheBehavior == nil:
		return nil, fmt.Errorf("DistributionConfig.DefaultCacheBehavior is required")
	}
	out := &cfnDistributionConfig{
		Comment:           c.value(cfg.Comment),
		DefaultRootObject: deref(cfg.DefaultRootObject),
		Enabled:           deref(cfg.Enabled),
		HttpVersion:       string(cfg.HttpVersion),
		IPV6Enabled:       cfg.IsIPV6Enabled,
		PriceClass:        string(cfg.PriceClass),
		WebACLId:          c.value(cfg.WebACLId),
	}
	if cfg.Aliases != nil {
		for i := range cfg.Aliases.Items {
			out.Aliases = append(out.Aliases, c.value(&cfg.Aliases.Items[i]))
		}
	}
	if cfg.Origins != nil {
		for _, o := range cfg.Origins.Items {
			co, err := c.origin(o)
			if err != nil {
				return nil, err
			}
			out.Origins = append(out.Origins, co)
		}
	}
	if cfg.OriginGroups != nil && len(cfg.OriginGroups.Items) > 0 {
		out.OriginGroups = &cfnOriginGroups{Quantity: int32(len(cfg.OriginGroups.Items))}
		for _, g := range cfg.OriginGroups.Items {
			cg, err := originGroup(g)
			if err != nil {
				return nil, err
			}
			out.OriginGroups.Items = append(out.OriginGroups.Items, cg)
		}
	}
	d := cfg.DefaultCacheBehavior
	def, err := c.behaviour(behaviourFields{
		TargetOriginId: d.TargetOriginId, ViewerProtocolPolicy: d.ViewerProtocolPolicy,
		AllowedMethods: d.AllowedMethods, CachePolicyId: d.CachePolicyId, Compress: d.Compress,
		DefaultTTL: d.DefaultTTL, MaxTTL: d.MaxTTL, MinTTL: d.MinTTL,
		FieldLevelEncryptionId: d.FieldLevelEncryptionId, ForwardedValues: d.ForwardedValues,
		FunctionAssociations: d.FunctionAssociations, GrpcConfig: d.GrpcConfig,
		LambdaFunctionAssociations: d.LambdaFunctionAssociations,
		OriginRequestPolicyId:      d.OriginRequestPolicyId, RealtimeLogConfigArn: d.RealtimeLogConfigArn,
		ResponseHeadersPolicyId: d.ResponseHeadersPolicyId, SmoothStreaming: d.SmoothStreaming,
		TrustedKeyGroups: d.TrustedKeyGroups, TrustedSigners: d.TrustedSigners,
	})
	if err != nil {
		return nil, fmt.Errorf("DefaultCacheBehavior: %w", err)
	}
	out.DefaultCacheBehavior = def
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			cb, err := c.behaviour(behaviourFields{
				PathPattern: b.PathPattern, TargetOriginId: b.TargetOriginId, ViewerProtocolPolicy: b.ViewerProtocolPolicy,
				AllowedMethods: b.AllowedMethods, CachePolicyId: b.CachePolicyId, Compress: b.Compress,
				DefaultTTL: b.DefaultTTL, MaxTTL: b.MaxTTL, MinTTL: b.MinTTL,
				FieldLevelEncryptionId: b.FieldLevelEncryptionId, ForwardedValues: b.ForwardedValues,
				FunctionAssociations: b.FunctionAssociations, GrpcConfig: b.GrpcConfig,
				LambdaFunctionAssociations: b.LambdaFunctionAssociations,
				OriginRequestPolicyId:      b.OriginRequestPolicyId, RealtimeLogConfigArn: b.RealtimeLogConfigArn,
				ResponseHeadersPolicyId: b.ResponseHeadersPolicyId, SmoothStreaming: b.SmoothStreaming,
				TrustedKeyGroups: b.TrustedKeyGroups, TrustedSigners: b.TrustedSigners,
			})
			if err != nil {
				return nil, fmt.Errorf("CacheBehavior %q: %w", deref(b.PathPattern), err)
			}
			out.CacheBehaviors = append(out.CacheBehaviors, cb)
		}
	}
	if cfg.CustomErrorResponses != nil {
		for _, e := range cfg.CustomErrorResponses.Items {
			ce := cfnCustomErrorResponse{
				ErrorCachingMinTTL: e.ErrorCachingMinTTL,
				ErrorCode:          deref(e.ErrorCode),
				ResponsePagePath:   deref(e.ResponsePagePath),
			}
			if rc := deref(e.ResponseCode); rc != "" {
				n, err := strconv.Atoi(rc)
				if err != nil {
					return nil, fmt.Errorf("CustomErrorResponse %d: ResponseCode %q is not a number", ce.ErrorCode, rc)
				}
				ce.ResponseCode = &n
			}
			out.CustomErrorResponses = append(out.CustomErrorResponses, ce)
		}
	}
	if r := cfg.Restrictions; r != nil && r.GeoRestriction != nil && r.GeoRestriction.RestrictionType != types.GeoRestrictionTypeNone {
		out.Restrictions = &cfnRestrictions{GeoRestriction: cfnGeoRestriction{
			RestrictionType: string(r.GeoRestriction.RestrictionType),
			Locations:       r.GeoRestriction.Items,
		}}
	}
	if vc := cfg.ViewerCertificate; vc != nil {
		if deref(vc.Certificate) != "" || vc.CertificateSource != "" {
			return nil, unsupported("ViewerCertificate.Certificate (deprecated; use ACMCertificateArn)")
		}
		out.ViewerCertificate = &cfnViewerCertificate{
			AcmCertificateArn:            c.value(vc.ACMCertificateArn),
			CloudFrontDefaultCertificate: vc.CloudFrontDefaultCertificate,
			IamCertificateId:             c.value(vc.IAMCertificateId),
			MinimumProtocolVersion:       string(vc.MinimumProtocolVersion),
			SslSupportMethod:             string(vc.SSLSupportMethod),
		}
	}
	return out, nil
}

func (c converter) origin(o types.Origin) (cfnOrigin, error) {
	id := deref(o.Id)
	if o.VpcOriginConfig != nil {
		return cfnOrigin{}, fmt.Errorf("origin %s: %w", id, unsupported("Origins.VpcOriginConfig"))
	}
	co := cfnOrigin{
		ConnectionAttempts:        o.ConnectionAttempts,
		ConnectionTimeout:         o.ConnectionTimeout,
		DomainName:                c.value(o.DomainName),
		Id:                        id,
		OriginAccessControlId:     c.value(o.OriginAccessControlId),
		OriginPath:                deref(o.OriginPath),
		ResponseCompletionTimeout: o.ResponseCompletionTimeout,
	}
	if o.CustomHeaders != nil {
		for _, h := range o.CustomHeaders.Items {
			co.OriginCustomHeaders = append(co.OriginCustomHeaders, cfnOriginHeader{HeaderName: deref(h.HeaderName), HeaderValue: c.value(h.HeaderValue)})
		}
	}
	if s := o.OriginShield; s != nil && deref(s.Enabled) {
		co.OriginShield = &cfnOriginShield{Enabled: true, OriginShieldRegion: deref(s.OriginShieldRegion)}
	}
	if s := o.S3OriginConfig; s != nil {
		co.S3OriginConfig = &cfnS3OriginConfig{OriginAccessIdentity: deref(s.OriginAccessIdentity), OriginReadTimeout: s.OriginReadTimeout}
	}
	if cu := o.CustomOriginConfig; cu != nil {
		if cu.OriginMtlsConfig != nil {
			return cfnOrigin{}, fmt.Errorf("origin %s: %w", id, unsupported("Origins.CustomOriginConfig.OriginMtlsConfig"))
		}
		cc := &cfnCustomOriginConfig{
			HTTPPort:               cu.HTTPPort,
			HTTPSPort:              cu.HTTPSPort,
			IpAddressType:          string(cu.IpAddressType),
			OriginKeepaliveTimeout: cu.OriginKeepaliveTimeout,
			OriginProtocolPolicy:   string(cu.OriginProtocolPolicy),
			OriginReadTimeout:      cu.OriginReadTimeout,
		}
		if cu.OriginSslProtocols != nil {
			for _, p := range cu.OriginSslProtocols.Items {
				cc.OriginSSLProtocols = append(cc.OriginSSLProtocols, string(p))
			}
		}
		co.CustomOriginConfig = cc
	}
	if (co.S3OriginConfig == nil) == (co.CustomOriginConfig == nil) {
		// CloudFront: "Exactly one of CustomOriginConfig and S3OriginConfig must be specified".
		return cfnOrigin{}, fmt.Errorf("origin %s: exactly one of S3OriginConfig and CustomOriginConfig must be set", id)
	}
	return co, nil
}

func originGroup(g types.OriginGroup) (cfnOriginGroup, error) {
	id := deref(g.Id)
	if g.FailoverCriteria == nil || g.FailoverCriteria.StatusCodes == nil || g.Members == nil {
		return cfnOriginGroup{}, fmt.Errorf("origin group %s: FailoverCriteria.StatusCodes and Members are required", id)
	}
	cg := cfnOriginGroup{
		Id:                id,
		SelectionCriteria: string(g.SelectionCriteria),
		FailoverCriteria: cfnFailoverCriteria{StatusCodes: cfnStatusCodes{
			Quantity: int32(len(g.FailoverCriteria.StatusCodes.Items)),
			Items:    append([]int32(nil), g.FailoverCriteria.StatusCodes.Items...),
		}},
		Members: cfnOriginGroupMembers{Quantity: int32(len(g.Members.Items))},
	}
	for _, m := range g.Members.Items {
		cg.Members.Items = append(cg.Members.Items, cfnOriginGroupMember{OriginId: deref(m.OriginId)})
	}
	return cg, nil
}

// behaviourFields holds the fields DefaultCacheBehavior and CacheBehavior share, so
// that one function converts both.
type behaviourFields struct {
	PathPattern                *string
	TargetOriginId             *string
	ViewerProtocolPolicy       types.ViewerProtocolPolicy
	AllowedMethods             *types.AllowedMethods
	CachePolicyId              *string
	Compress                   *bool
	DefaultTTL, MaxTTL, MinTTL *int64
	FieldLevelEncryptionId     *string
	ForwardedValues            *types.ForwardedValues
	FunctionAssociations       *types.FunctionAssociations
	GrpcConfig                 *types.GrpcConfig
	LambdaFunctionAssociations *types.LambdaFunctionAssociations
	OriginRequestPolicyId      *string
	RealtimeLogConfigArn       *string
	ResponseHeadersPolicyId    *string
	SmoothStreaming            *bool
	TrustedKeyGroups           *types.TrustedKeyGroups
	TrustedSigners             *types.TrustedSigners
}

func (c converter) behaviour(b behaviourFields) (cfnCacheBehavior, error) {
	switch {
	case deref(b.FieldLevelEncryptionId) != "":
		return cfnCacheBehavior{}, unsupported("FieldLevelEncryptionId")
	case b.ForwardedValues != nil:
		// Legacy cache settings; infra uses cache and origin request policies.
		return cfnCacheBehavior{}, unsupported("ForwardedValues")
	case b.GrpcConfig != nil && deref(b.GrpcConfig.Enabled):
		return cfnCacheBehavior{}, unsupported("GrpcConfig")
	case deref(b.RealtimeLogConfigArn) != "":
		return cfnCacheBehavior{}, unsupported("RealtimeLogConfigArn")
	case deref(b.SmoothStreaming):
		return cfnCacheBehavior{}, unsupported("SmoothStreaming")
	case b.TrustedKeyGroups != nil && (deref(b.TrustedKeyGroups.Enabled) || len(b.TrustedKeyGroups.Items) > 0):
		return cfnCacheBehavior{}, unsupported("TrustedKeyGroups")
	case b.TrustedSigners != nil && (deref(b.TrustedSigners.Enabled) || len(b.TrustedSigners.Items) > 0):
		return cfnCacheBehavior{}, unsupported("TrustedSigners")
	}
	cb := cfnCacheBehavior{
		CachePolicyId:           c.value(b.CachePolicyId),
		Compress:                b.Compress,
		DefaultTTL:              b.DefaultTTL,
		MaxTTL:                  b.MaxTTL,
		MinTTL:                  b.MinTTL,
		OriginRequestPolicyId:   c.value(b.OriginRequestPolicyId),
		PathPattern:             deref(b.PathPattern),
		ResponseHeadersPolicyId: c.value(b.ResponseHeadersPolicyId),
		TargetOriginId:          deref(b.TargetOriginId),
		ViewerProtocolPolicy:    string(b.ViewerProtocolPolicy),
	}
	if am := b.AllowedMethods; am != nil {
		for _, m := range am.Items {
			cb.AllowedMethods = append(cb.AllowedMethods, string(m))
		}
		if am.CachedMethods != nil {
			for _, m := range am.CachedMethods.Items {
				cb.CachedMethods = append(cb.CachedMethods, string(m))
			}
		}
	}
	if b.FunctionAssociations != nil {
		for _, f := range b.FunctionAssociations.Items {
			cb.FunctionAssociations = append(cb.FunctionAssociations, cfnFunctionAssociation{EventType: string(f.EventType), FunctionARN: c.value(f.FunctionARN)})
		}
	}
	if b.LambdaFunctionAssociations != nil {
		for _, f := range b.LambdaFunctionAssociations.Items {
			cb.LambdaFunctionAssociations = append(cb.LambdaFunctionAssociations, cfnLambdaFunctionAssociation{EventType: string(f.EventType), IncludeBody: f.IncludeBody, LambdaFunctionARN: c.value(f.LambdaFunctionARN)})
		}
	}
	return cb, nil
}
