package local

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// readS3 reads an object of the world's S3 for the control API (a KeyValueStore's
// ImportSource): as CloudFront does, with GetObject, here signed with the world's
// credentials and sent to the S3 API of the region that holds the bucket, through its
// fault switch (a failed region cannot be read).
func (w *World) readS3(ctx context.Context, bucket, key string, limit int64) ([]byte, error) {
	creds := w.cfg.Credentials
	for _, r := range w.regions {
		c := s3.New(s3.Options{Region: r.name, BaseEndpoint: aws.String(r.OriginURL()), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, "")})
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		// GetObject models no NoSuchBucket error type; the code says it.
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer out.Body.Close()
		data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("the object is larger than %d bytes", limit)
		}
		return data, nil
	}
	return nil, fmt.Errorf("no bucket %s in the world's regions", bucket)
}
