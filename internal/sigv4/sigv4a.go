package sigv4

// SigV4A (AWS4-ECDSA-P256-SHA256): the multi-region signature, as the SDKs sign requests
// for the CloudFront KeyValueStore API (DG cloudfront-function-restrictions, "Using
// temporary credentials with the CloudFront KeyValueStore API"). The signer derives an
// ECDSA P-256 key from the secret key (NIST SP 800-108 KDF in counter mode with
// HMAC-SHA256, label "AWS4-ECDSA-P256-SHA256", context access key id ‖ counter byte), signs
// the SHA-256 of a string to sign whose credential scope has no region, and names the
// regions in the signed X-Amz-Region-Set header. The verifier derives the same key and
// checks the ASN.1 signature with its public half.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// AlgorithmV4A names SigV4A in the Authorization header.
const AlgorithmV4A = "AWS4-ECDSA-P256-SHA256"

// VerifyV4A verifies r's SigV4A Authorization header against creds for rule.Service. The
// region set must include one of rule.Regions or "*". The body is hashed as Verify hashes
// it (rule.MaxBody, rule.ServerHashes).
func VerifyV4A(r *http.Request, creds aws.Credentials, rule Rule, now time.Time) (*Signature, error) {
	ec := codes(rule.Service)
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, ec.err(&parseError{kind: Missing, msg: "missing authentication"})
	}
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != AlgorithmV4A {
		return nil, ec.malformed("this API needs Signature Version 4A: the Authorization type must be " + AlgorithmV4A)
	}
	var p params
	// parseAuthorization wants the SigV4 algorithm and a five-part credential; SigV4A's
	// credential has no region, so parse it here.
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, ec.malformed("Authorization component " + part + " is not key=value")
		}
		switch k {
		case "Credential":
			parts := strings.Split(v, "/")
			if len(parts) != 4 || parts[3] != "aws4_request" || parts[0] == "" || parts[2] == "" {
				return nil, ec.malformed("the Credential " + v + " is malformed; expecting \"<AKID>/YYYYMMDD/SERVICE/aws4_request\"")
			}
			p.accessKey, p.scopeDate, p.service = parts[0], parts[1], parts[2]
			p.scope = strings.Join(parts[1:], "/")
		case "SignedHeaders":
			p.signedHeaders = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		default:
			return nil, ec.malformed("unknown Authorization component " + k)
		}
	}
	if p.accessKey == "" || p.signedHeaders == nil || p.signature == "" {
		return nil, ec.malformed("Authorization header requires Credential, SignedHeaders and Signature")
	}
	if p.service != rule.Service {
		return nil, ec.wrongService(p.service, rule.Service)
	}
	if !slices.Contains(p.signedHeaders, "x-amz-region-set") {
		return nil, ec.malformed("SigV4A requests must sign X-Amz-Region-Set")
	}
	set := strings.Split(r.Header.Get("X-Amz-Region-Set"), ",")
	if !slices.ContainsFunc(set, func(s string) bool { return s == "*" || slices.Contains(rule.Regions, strings.TrimSpace(s)) }) {
		return nil, ec.wrongRegion(r.Header.Get("X-Amz-Region-Set"), strings.Join(rule.Regions, "' or '"))
	}
	if p.accessKey != creds.AccessKeyID {
		return nil, ec.unknownKey()
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return nil, ec.badToken()
	}
	p.amzDate = r.Header.Get("X-Amz-Date")
	date, err := time.Parse(timeFmt, p.amzDate)
	if err != nil || date.Format("20060102") != p.scopeDate {
		return nil, ec.malformed("X-Amz-Date must be set and match the credential's date")
	}
	if d := now.Sub(date); d > MaxSkew || d < -MaxSkew {
		return nil, ec.skewed(date, now)
	}
	sv := &Signature{AccessKeyID: p.accessKey, Date: date, Service: p.service, SignedHeaders: p.signedHeaders, Signature: p.signature, scope: p.scope}
	var body []byte
	if sv.PayloadHash, body, err = payloadHash(r, rule, false); err != nil {
		return nil, err
	}
	headers, err := canonicalHeaders(r, p.signedHeaders)
	if err != nil {
		return nil, ec.malformed(err.Error())
	}
	der, err := hex.DecodeString(p.signature)
	var sig struct{ R, S *big.Int }
	if err == nil {
		_, err = asn1.Unmarshal(der, &sig)
	}
	if err != nil || sig.R == nil || sig.S == nil {
		return nil, ec.mismatch()
	}
	pub := v4aPublicKey(creds.AccessKeyID, creds.SecretAccessKey)
	return finish(r, rule, &p, headers, sv, body, AlgorithmV4A, func(sts string) bool {
		digest := sha256.Sum256([]byte(sts))
		return ecdsa.Verify(pub, digest[:], sig.R, sig.S)
	})
}

// v4aPublicKey derives the SigV4A key pair of an access key and returns its public key
// (the derivation of aws-sdk-go-v2's internal/v4a, deriveKeyFromAccessKeyPair).
func v4aPublicKey(accessKey, secret string) *ecdsa.PublicKey {
	curve := elliptic.P256()
	nMinusTwo := new(big.Int).Sub(curve.Params().N, big.NewInt(2))
	input := append([]byte("AWS4A"), secret...)
	for counter := 1; counter <= 0xff; counter++ {
		// Fixed input of the KDF: label ‖ 0x00 ‖ context ‖ bit length (256), one block.
		fixed := append([]byte(AlgorithmV4A), 0)
		fixed = append(fixed, accessKey...)
		fixed = append(fixed, byte(counter))
		fixed = binary.BigEndian.AppendUint32(fixed, 256)
		h := hmac.New(sha256.New, input)
		h.Write([]byte{0, 0, 0, 1})
		h.Write(fixed)
		k := new(big.Int).SetBytes(h.Sum(nil))
		if k.Cmp(nMinusTwo) < 0 {
			d := k.Add(k, big.NewInt(1))
			x, y := curve.ScalarBaseMult(d.FillBytes(make([]byte, 32)))
			return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
		}
	}
	// A candidate is above n−2 with probability about 2⁻³²; 255 of them do not happen.
	panic("sigv4a: no key candidate")
}
