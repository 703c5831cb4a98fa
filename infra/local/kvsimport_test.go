package local

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// A KeyValueStore created with an S3 ImportSource (API CreateKeyValueStore) holds the
// file's keys, which a function associated with the store reads; a file CloudFront could
// not import, or could not read, makes no store.
func TestKeyValueStoreImportFromWorldS3(t *testing.T) {
	w := startWorld(t, t.TempDir())
	info := w.Info()
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	region := info.Regions[1] // the secondary: the import finds the bucket in any region
	s3c := s3.New(s3.Options{Region: region.Name, BaseEndpoint: aws.String(region.Origin), UsePathStyle: true, Credentials: creds})
	put := func(key, body string) {
		t.Helper()
		if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(region.Bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	put("kvs/redirects.json", `{"data":[{"key":"/old","value":"/new"},{"key":"/gone","value":"/"}]}`)
	put("kvs/dups.json", `{"data":[{"key":"/a","value":"1"},{"key":"/a","value":"2"}]}`)
	cf := cloudfront.New(cloudfront.Options{BaseEndpoint: aws.String(info.Control), Region: "us-east-1", Credentials: creds})
	arn := func(key string) *types.ImportSource {
		return &types.ImportSource{SourceType: types.ImportSourceTypeS3, SourceARN: aws.String("arn:aws:s3:::" + region.Bucket + "/" + key)}
	}

	created, err := cf.CreateKeyValueStore(t.Context(), &cloudfront.CreateKeyValueStoreInput{Name: aws.String("imported"), ImportSource: arn("kvs/redirects.json")})
	if err != nil {
		t.Fatalf("CreateKeyValueStore with an import source: %v", err)
	}
	for _, c := range []struct {
		name, key, code string
	}{
		{"dups", "kvs/dups.json", "InvalidArgument"},
		{"missing", "kvs/none.json", "AccessDenied"},
	} {
		_, err := cf.CreateKeyValueStore(t.Context(), &cloudfront.CreateKeyValueStoreInput{Name: aws.String(c.name), ImportSource: arn(c.key)})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != c.code {
			t.Errorf("import of %s: %v, want %s", c.key, err, c.code)
		}
	}
	l, err := cf.ListKeyValueStores(t.Context(), &cloudfront.ListKeyValueStoresInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.KeyValueStoreList.Items {
		if n := aws.ToString(s.Name); n == "dups" || n == "missing" {
			t.Errorf("a refused import made the store %s", n)
		}
	}

	// A function associated with the store reads the imported keys (TestFunction).
	fn, err := cf.CreateFunction(t.Context(), &cloudfront.CreateFunctionInput{Name: aws.String("redirect"),
		FunctionCode: []byte(`import cf from 'cloudfront';
async function handler(event) {
  const to = await cf.kvs().get(event.request.uri);
  return {statusCode: 301, headers: {location: {value: to}}};
}`),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20,
			KeyValueStoreAssociations: &types.KeyValueStoreAssociations{Quantity: aws.Int32(1),
				Items: []types.KeyValueStoreAssociation{{KeyValueStoreARN: created.KeyValueStore.ARN}}}}})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	res, err := cf.TestFunction(t.Context(), &cloudfront.TestFunctionInput{Name: aws.String("redirect"), IfMatch: fn.ETag,
		EventObject: []byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/old","querystring":{},"headers":{},"cookies":{}}}`)})
	if err != nil {
		t.Fatalf("TestFunction: %v", err)
	}
	if out := aws.ToString(res.TestResult.FunctionOutput); !strings.Contains(out, `"location":{"value":"/new"}`) {
		t.Errorf("the function read %s (error %q), want the imported /old → /new", out, aws.ToString(res.TestResult.FunctionErrorMessage))
	}
}
