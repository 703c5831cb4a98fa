package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
)

// emptySHA256 is the hex SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// oacSigner signs origin requests as an origin access control does (spec/cloudfront.md §5).
type oacSigner struct {
	service  string // "s3" or "lambda"
	region   string
	behavior types.OriginAccessControlSigningBehaviors
	signer   *v4.Signer
}

// newOACSigner builds the signer for an origin. cfg is the OAC's configuration when
// Options.OriginAccessControls knows the id; otherwise the service is derived from the
// origin's domain (".s3." → s3, ".lambda-url." → lambda) and signing is "always".
// The region comes from the domain: "<bucket>.s3.<region>.amazonaws.com",
// "<id>.lambda-url.<region>.on.aws" (legacy "<bucket>.s3.amazonaws.com" is us-east-1).
func newOACSigner(domain string, cfg *types.OriginAccessControlConfig) (*oacSigner, bool) {
	service, region := serviceFromDomain(domain)
	s := &oacSigner{service: service, region: region, behavior: types.OriginAccessControlSigningBehaviorsAlways}
	if cfg != nil {
		switch cfg.OriginAccessControlOriginType {
		case types.OriginAccessControlOriginTypesS3:
			s.service = "s3"
		case types.OriginAccessControlOriginTypesLambda:
			s.service = "lambda"
		case types.OriginAccessControlOriginTypesMediastore:
			s.service = "mediastore"
		case types.OriginAccessControlOriginTypesMediapackagev2:
			s.service = "mediapackagev2"
		}
		if cfg.SigningBehavior != "" {
			s.behavior = cfg.SigningBehavior
		}
	}
	if s.behavior == types.OriginAccessControlSigningBehaviorsNever {
		return nil, true
	}
	if s.service == "" || s.region == "" {
		return nil, false
	}
	s.signer = v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 canonical URIs are not double-encoded; every other service's are.
		o.DisableURIPathEscaping = s.service == "s3"
	})
	return s, true
}

func serviceFromDomain(domain string) (service, region string) {
	labels := strings.Split(strings.ToLower(domain), ".")
	// The service label is the one nearest the suffix: a bucket's own name, left of it,
	// may look like one ("s3-assets.s3.eu-west-2.amazonaws.com").
	for i := len(labels) - 1; i >= 0; i-- {
		l := labels[i]
		switch {
		case l == "s3" || strings.HasPrefix(l, "s3-"):
			service = "s3"
			switch {
			case strings.HasPrefix(l, "s3-") && l != "s3-accelerate":
				region = strings.TrimPrefix(l, "s3-")
			case i+1 < len(labels) && labels[i+1] == "amazonaws":
				region = "us-east-1"
			case i+2 < len(labels) && labels[i+1] == "dualstack":
				region = labels[i+2]
			case i+1 < len(labels):
				region = labels[i+1]
			}
			return service, region
		case l == "lambda-url" && i+1 < len(labels):
			return "lambda", labels[i+1]
		}
	}
	return "", ""
}

// sign adds x-amz-content-sha256, X-Amz-Date and Authorization to h for a request to the
// origin. viewerAuth reports whether the viewer sent Authorization, which matters for
// the no-override behaviour.
func (s *oacSigner) sign(ctx context.Context, creds aws.Credentials, method, url, host string, h http.Header, body []byte, now time.Time) error {
	if s.behavior == types.OriginAccessControlSigningBehaviorsNoOverride && h.Get("Authorization") != "" {
		return nil // §5.1: pass the viewer's Authorization unchanged
	}
	// The signature's own headers come from the edge, never from the viewer.
	h.Del("Authorization")
	h.Del("X-Amz-Date")
	h.Del("X-Amz-Security-Token")
	hash := emptySHA256
	switch {
	case len(body) == 0:
	case s.service == "lambda":
		// §5.2: "Lambda doesn't support unsigned payloads"; the viewer must send the
		// body's hash, and CloudFront signs with it. Without one the signature uses
		// UNSIGNED-PAYLOAD and the function URL refuses the request, as on AWS.
		hash = h.Get("X-Amz-Content-Sha256")
		if hash == "" {
			hash = "UNSIGNED-PAYLOAD"
		}
	default:
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	h.Set("X-Amz-Content-Sha256", hash)
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.Host = host
	req.Header = h
	req.ContentLength = int64(len(body))
	return s.signer.SignHTTP(ctx, creds, req, hash, s.service, s.region, now.UTC())
}
