package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
)

// signingRegion is the region CloudFront's API is signed for: the service is global and its
// endpoint lives in us-east-1.
const signingRegion = "us-east-1"

// authenticate checks that r is SigV4-signed with the world's credentials for service
// "cloudfront" in us-east-1, as every CloudFront API call must be. The answer to an unsigned
// or wrongly signed request is the verifier's: 403 MissingAuthenticationToken,
// SignatureDoesNotMatch, InvalidClientTokenId, or 400 IncompleteSignature.
func (c *Control) authenticate(r *http.Request) error {
	sig, err := VerifySigV4Scope(r, c.opts.Credentials, "cloudfront", signingRegion, c.opts.Now())
	var se *SigV4Error
	if errors.As(err, &se) {
		return &apiError{Status: se.Status, Code: se.Code, Message: se.Message}
	}
	if err != nil {
		return err
	}
	// The SDK and the CLI send no x-amz-content-sha256 to CloudFront: the verifier then hashed
	// the body itself. A client that did send a hex hash has it covered by the signature, and
	// the body must match it.
	if !sig.BodyHashed && sig.PayloadHash != UnsignedPayload && len(sig.PayloadHash) == 64 {
		if err := checkBodyHash(r, sig.PayloadHash); err != nil {
			return err
		}
	}
	return nil
}

// checkBodyHash reads r's body, compares its SHA-256 with the signed hex hash and puts the body
// back. A mismatch means the signature does not cover this body: non-S3 services answer that as
// SignatureDoesNotMatch.
func checkBodyHash(r *http.Request, want string) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxInvalidationBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "InvalidArgument", "Reading the request body failed: %v", err)
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	if !strings.EqualFold(hex.EncodeToString(sum[:]), want) {
		return errorf(http.StatusForbidden, "SignatureDoesNotMatch", "The request body does not match the signed x-amz-content-sha256.")
	}
	return nil
}
