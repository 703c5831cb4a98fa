package awsinfra

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// LambdaPackage is the path, inside the module, of the API's bootstrap main package.
const LambdaPackage = "./api/lambda"

// BuildLambdaZip compiles the API's bootstrap for Lambda (linux/arm64, provided.al2023)
// from the module at moduleDir and returns a zip holding it as "bootstrap". The build is
// reproducible (-trimpath, no VCS stamp, no build id, fixed zip times), so an unchanged
// source gives the same bytes and the same content-addressed key: a re-deploy uploads
// nothing and changes no function.
func BuildLambdaZip(ctx context.Context, moduleDir string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "twinedge-lambda-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=", "-o", bin, LambdaPackage)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s for linux/arm64: %w\n%s", LambdaPackage, err, strings.TrimSpace(string(out)))
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return zipBootstrap(exe)
}

// zipBootstrap returns a zip with one executable entry named bootstrap.
func zipBootstrap(exe []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(exe); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ArtifactKey is the content-addressed key of a Lambda zip.
func ArtifactKey(zip []byte) string {
	sum := sha256.Sum256(zip)
	return "lambda/" + hex.EncodeToString(sum[:]) + ".zip"
}

// ArtifactBucketName is the per-region bucket holding the Lambda zips. Bucket names are
// global, so it carries the account and region; the stack part is cut to fit 63 chars.
func ArtifactBucketName(stack, account, region string) string {
	suffix := "-artifacts-" + account + "-" + region
	prefix := strings.ToLower(stack)
	if n := 63 - len(suffix); len(prefix) > n {
		prefix = strings.TrimRight(prefix[:n], "-")
	}
	return prefix + suffix
}

// s3API is the part of the S3 client the artifact upload and the failure switch use.
type s3API interface {
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(context.Context, *s3.CreateBucketInput, ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutPublicAccessBlock(context.Context, *s3.PutPublicAccessBlockInput, ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	PutBucketVersioning(context.Context, *s3.PutBucketVersioningInput, ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(context.Context, *s3.PutBucketPolicyInput, ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// artifactBucket is one region's artifacts bucket, as ensureArtifact checks and fills it.
type artifactBucket struct {
	Region, Name string
	// Account owns the bucket; the client must carry the bucket owner condition for it
	// (session.s3), so S3 answers 403 for a bucket of the same name in another account.
	Account string
}

// ensureArtifact makes sure the artifacts bucket exists, is this account's, is hardened
// like the stacks' buckets (hardenBucket) and holds the zip under its content-addressed
// key with a matching SHA-256 checksum. In a dry run it only reports what it would do.
func ensureArtifact(ctx context.Context, api s3API, out *progress, b artifactBucket, key string, zip []byte, dryRun bool) error {
	bucket, region := b.Name, b.Region
	_, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
	case isNotFound(err) && dryRun:
		out.printf(region, bucket, "would create the artifacts bucket and upload %s", key)
		return nil
	case isNotFound(err):
		in := &s3.CreateBucketInput{Bucket: aws.String(bucket), ObjectOwnership: s3types.ObjectOwnershipBucketOwnerEnforced}
		if region != "us-east-1" { // us-east-1 rejects its own name as a location constraint
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := api.CreateBucket(ctx, in); err != nil {
			if isAlreadyExists(err) {
				return notOwnedError(bucket, b.Account, err)
			}
			return fmt.Errorf("create artifacts bucket %s in %s: %w", bucket, region, err)
		}
		out.printf(region, bucket, "created the artifacts bucket")
	case isForbidden(err):
		return notOwnedError(bucket, b.Account, err)
	default:
		return fmt.Errorf("artifacts bucket %s in %s: %w", bucket, region, err)
	}
	if !dryRun {
		// Also on an existing bucket: one made by an earlier version lacks some settings,
		// and each call is idempotent.
		if err := hardenBucket(ctx, api, bucket, Partition(region)); err != nil {
			return err
		}
	}
	want := sha256Base64(zip)
	head, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled})
	switch {
	case err == nil && aws.ToString(head.ChecksumSHA256) == want:
		return nil // the key names the content, and S3's checksum says it is that content
	case err == nil:
		// Uploaded without a checksum (an earlier version) or overwritten: upload again, so
		// the current version is known to be these bytes.
		out.printf(region, bucket, "%s has no matching SHA-256 checksum; uploading it again", key)
	case !isNotFound(err):
		return fmt.Errorf("look up %s in %s: %w", key, bucket, err)
	}
	if dryRun {
		out.printf(region, bucket, "would upload %s (%d bytes)", key, len(zip))
		return nil
	}
	// S3 checks the checksum on receipt and keeps it (returned by HeadObject above).
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(zip),
		ContentType: aws.String("application/zip"), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(want)}); err != nil {
		return fmt.Errorf("upload %s to %s: %w", key, bucket, err)
	}
	out.printf(region, bucket, "uploaded %s (%d bytes)", key, len(zip))
	return nil
}

// hardenBucket gives a bucket the settings the stacks' buckets have in their templates:
// Block Public Access on all four switches, versioning (an overwritten or deleted
// artifact can be recovered and is visible as a new version) and a policy that refuses
// plain HTTP. Each call is idempotent.
func hardenBucket(ctx context.Context, api s3API, bucket, partition string) error {
	if _, err := api.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		}}); err != nil {
		return fmt.Errorf("block public access on %s: %w", bucket, err)
	}
	if _, err := api.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		return fmt.Errorf("turn on versioning of %s: %w", bucket, err)
	}
	arn := "arn:" + partition + ":s3:::" + bucket
	policy, err := json.Marshal(PolicyDocument{Version: "2012-10-17", Statement: []Statement{denyInsecureTransport([]Value{arn, arn + "/*"})}})
	if err != nil {
		return err
	}
	if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(policy))}); err != nil {
		return fmt.Errorf("put the TLS-only policy on %s: %w", bucket, err)
	}
	return nil
}

func sha256Base64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// isNotFound reports an S3 "no such bucket/key" answer (HEAD requests carry no error
// body, so the code is NotFound or the modelled type).
func isNotFound(err error) bool {
	var nb *s3types.NoSuchBucket
	var nf *s3types.NotFound
	var nk *s3types.NoSuchKey
	if errors.As(err, &nb) || errors.As(err, &nf) || errors.As(err, &nk) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NotFound", "NoSuchBucket", "NoSuchKey", "404":
			return true
		}
	}
	return false
}

// isForbidden reports S3's 403, which a HEAD answers with no body: the code is then
// "Forbidden" or "403".
func isForbidden(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Forbidden", "403", "AccessDenied":
			return true
		}
	}
	return false
}

// isAlreadyExists reports CreateBucket's answer for a name another account holds.
func isAlreadyExists(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "BucketAlreadyExists"
}
