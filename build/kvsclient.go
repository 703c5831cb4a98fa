package build

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// NewKeyValueStoreClient returns a cloudfront-keyvaluestore client, which signs with
// SigV4A (the service's only scheme besides SigV4 in its model; the local edge
// verifies SigV4A). On AWS its endpoint is <account>.cloudfront-kvs.global.api.aws,
// from the store's ARN. With an endpoint (the local edge's control API) every call
// goes to that URL as it is: the SDK's rules would put the account id in front of its
// host ("000000000000.127.0.0.1"), which names no local address. The credentials are
// NewS3Client's.
func NewKeyValueStoreClient(ctx context.Context, endpoint string) (*cloudfrontkeyvaluestore.Client, error) {
	cfg, err := loadConfig(ctx, endpoint, "us-east-1")
	if err != nil {
		return nil, err
	}
	var fixed *url.URL
	if endpoint != "" {
		if fixed, err = url.Parse(endpoint); err != nil || fixed.Host == "" {
			return nil, fmt.Errorf("key value store endpoint %q is not a URL", endpoint)
		}
	}
	return cloudfrontkeyvaluestore.NewFromConfig(cfg, func(o *cloudfrontkeyvaluestore.Options) {
		if fixed != nil {
			o.EndpointResolverV2 = fixedEndpoint{fixed}
		}
	}), nil
}

// fixedEndpoint resolves every operation to one URL.
type fixedEndpoint struct{ u *url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, cloudfrontkeyvaluestore.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: *f.u}, nil
}
