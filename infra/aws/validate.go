package awsinfra

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge"
)

// validateDistribution applies CloudFront's CreateDistribution rules (edge.Validate) to the
// global stack's distribution before any AWS call: synth and deploy both render the template
// through GlobalTemplate, so a config CloudFront would refuse fails here with CloudFront's
// error instead of at the stack's CREATE_FAILED.
//
// The template's config holds placeholders for values CloudFormation fills in. Each is
// replaced by a sample of the shape the template guarantees: the bucket and function URL
// domains match their parameters' AllowedPattern, the certificate is the stack's ACM
// certificate (always in us-east-1, GlobalRegion), the OAC ids name the stack's two OACs
// (types s3 and lambda), the function ARN names the stack's function (AutoPublish: LIVE)
// and the response headers policies are the stack's.
func validateDistribution(cfg *types.DistributionConfig, samples map[string]string, oacs map[string]types.OriginAccessControlOriginTypes, function string, headersPolicies ...string) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	s := string(b)
	for p, v := range samples {
		s = strings.ReplaceAll(s, p, v)
	}
	var sample types.DistributionConfig
	if err := json.Unmarshal([]byte(s), &sample); err != nil {
		return err
	}
	res := edge.ManagedResources()
	managedRHP := res.ResponseHeadersPolicy
	res.ResponseHeadersPolicy = func(id string) bool {
		for _, p := range headersPolicies {
			if id == samples[p] {
				return true
			}
		}
		return managedRHP(id)
	}
	res.OriginAccessControl = func(id string) (*types.OriginAccessControlConfig, bool) {
		for p, typ := range oacs {
			if samples[p] == id {
				return &types.OriginAccessControlConfig{OriginAccessControlOriginType: typ}, true
			}
		}
		return nil, false
	}
	res.Functions = stackFunction(samples[function])
	if err := edge.Validate(&sample, res); err != nil {
		return fmt.Errorf("CloudFront would refuse the distribution: %w", err)
	}
	return nil
}

// stackFunction is the global stack's one CloudFront Function, published by AutoPublish.
type stackFunction string

func (f stackFunction) LookupFunction(arn string) (edge.FunctionStatus, bool) {
	return edge.FunctionStatus{Runtime: edge.FunctionRuntime, Live: true}, arn == string(f)
}
