package local

// S3 wire helpers shared by the S3 origin and the fault switch: request ids and XML errors.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"strings"
)

// s3Namespace is the XML namespace of S3 REST responses.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// newRequestID returns a 16-hex-digit request id, the shape of S3's x-amz-request-id.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// xmlEscape escapes s for XML character data.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
