package awsinfra

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(context.Context, *s3.PutBucketPolicyInput, ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
}

var _ s3API = (*s3.Client)(nil)

// ensureArtifact makes sure the artifacts bucket exists (private) and holds the zip under
// its content-addressed key. In a dry run it only reports what it would do.
func ensureArtifact(ctx context.Context, api s3API, out *progress, region, bucket, key string, zip []byte, dryRun bool) error {
	_, err := api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
	case isNotFound(err) && dryRun:
		out.printf(region, bucket, "would create the artifacts bucket and upload %s", key)
		return nil
	case isNotFound(err):
		in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
		if region != "us-east-1" { // us-east-1 rejects its own name as a location constraint
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := api.CreateBucket(ctx, in); err != nil {
			return fmt.Errorf("create artifacts bucket %s in %s: %w", bucket, region, err)
		}
		if _, err := api.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
			}}); err != nil {
			return fmt.Errorf("block public access on %s: %w", bucket, err)
		}
		out.printf(region, bucket, "created the artifacts bucket")
	default:
		return fmt.Errorf("artifacts bucket %s in %s: %w", bucket, region, err)
	}
	if _, err := api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		return nil // content-addressed: present means identical
	} else if !isNotFound(err) {
		return fmt.Errorf("look up %s in %s: %w", key, bucket, err)
	}
	if dryRun {
		out.printf(region, bucket, "would upload %s (%d bytes)", key, len(zip))
		return nil
	}
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(zip),
		ContentType: aws.String("application/zip")}); err != nil {
		return fmt.Errorf("upload %s to %s: %w", key, bucket, err)
	}
	out.printf(region, bucket, "uploaded %s (%d bytes)", key, len(zip))
	return nil
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
