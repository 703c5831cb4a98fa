package edge

import (
	"errors"
	"net/http"

	"github.com/twinedge/twinedge/internal/sigv4"
)

// controlAuth is what CloudFront's API requires of a signature: service "cloudfront" in
// us-east-1 (the service is global and its endpoint lives there), and a body covered by the
// signature. The SDK and the CLI send no x-amz-content-sha256 to CloudFront: the service hashes
// the body itself; a client that does send a hash has the body checked against it.
var controlAuth = sigv4.Rule{
	Service:      "cloudfront",
	Regions:      []string{"us-east-1"},
	Payload:      sigv4.SignedPayload,
	ServerHashes: true,
	MaxBody:      maxInvalidationBody,
}

// authenticate checks that r is SigV4-signed with the world's credentials as controlAuth
// requires, as every CloudFront API call must be. The answer to an unsigned or wrongly signed
// request is the verifier's: 403 MissingAuthenticationToken, SignatureDoesNotMatch,
// InvalidClientTokenId, or 400 IncompleteSignature.
func (c *Control) authenticate(r *http.Request) error {
	_, err := sigv4.Verify(r, c.opts.Credentials, controlAuth, c.opts.Now())
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &apiError{Status: se.Status, Code: se.Code, Message: se.Message}
	}
	return err
}
