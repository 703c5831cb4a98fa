package edge

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	kvstypes "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"
)

// newKVSClient is the SDK's KeyValueStore client for the control API at url. The SDK puts
// the store's account id in front of the endpoint's host ("000000000000.127.0.0.1"), as
// on AWS (<account>.cloudfront-kvs.global.api.aws); the dialer connects such names to the
// endpoint itself. The request still names, and signs, the host the SDK chose.
func newKVSClient(url, key, secret string) *cloudfrontkeyvaluestore.Client {
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if _, rest, ok := strings.Cut(host, "."); ok && net.ParseIP(rest) != nil {
			addr = net.JoinHostPort(rest, port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	return cloudfrontkeyvaluestore.New(cloudfrontkeyvaluestore.Options{
		BaseEndpoint: aws.String(url), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:  &http.Client{Transport: tr},
	})
}

// The KeyValueStore control plane (CloudFront SDK) and data plane (the SDK's
// cloudfrontkeyvaluestore client, which signs with SigV4A), and a function reading the
// store through cf.kvs() (DG kvs-with-functions-kvs-helper).
func TestControlKeyValueStore(t *testing.T) {
	ctx := t.Context()
	f := newFunctionsFixture(t, filepath.Join(t.TempDir(), "control.json"))
	created, err := f.client.CreateKeyValueStore(ctx, &cloudfront.CreateKeyValueStoreInput{Name: aws.String("redirects"), Comment: aws.String("test")})
	if err != nil {
		t.Fatalf("CreateKeyValueStore: %v", err)
	}
	arn := aws.ToString(created.KeyValueStore.ARN)
	if !strings.HasPrefix(arn, "arn:aws:cloudfront::000000000000:key-value-store/") || aws.ToString(created.ETag) == "" || aws.ToString(created.KeyValueStore.Status) != "READY" {
		t.Fatalf("CreateKeyValueStore = %+v", created.KeyValueStore)
	}
	var exists *types.EntityAlreadyExists
	if _, err := f.client.CreateKeyValueStore(ctx, &cloudfront.CreateKeyValueStoreInput{Name: aws.String("redirects")}); !errors.As(err, &exists) {
		t.Errorf("a second store of the same name: %v", err)
	}
	if l, err := f.client.ListKeyValueStores(ctx, &cloudfront.ListKeyValueStoresInput{}); err != nil || aws.ToInt32(l.KeyValueStoreList.Quantity) != 1 {
		t.Errorf("ListKeyValueStores: %v %+v", err, l)
	}

	kv := newKVSClient(f.ctl.URL, "test", "test")
	d, err := kv.DescribeKeyValueStore(ctx, &cloudfrontkeyvaluestore.DescribeKeyValueStoreInput{KvsARN: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeKeyValueStore (data plane): %v", err)
	}
	put, err := kv.PutKey(ctx, &cloudfrontkeyvaluestore.PutKeyInput{KvsARN: aws.String(arn), Key: aws.String("/old"), Value: aws.String("/new"), IfMatch: d.ETag})
	if err != nil || aws.ToInt32(put.ItemCount) != 1 || aws.ToString(put.ETag) == aws.ToString(d.ETag) {
		t.Fatalf("PutKey: %v %+v", err, put)
	}
	var conflict *kvstypes.ConflictException
	if _, err := kv.PutKey(ctx, &cloudfrontkeyvaluestore.PutKeyInput{KvsARN: aws.String(arn), Key: aws.String("x"), Value: aws.String("y"), IfMatch: d.ETag}); !errors.As(err, &conflict) {
		t.Errorf("PutKey with a stale ETag: %v", err)
	}
	got, err := kv.GetKey(ctx, &cloudfrontkeyvaluestore.GetKeyInput{KvsARN: aws.String(arn), Key: aws.String("/old")})
	if err != nil || aws.ToString(got.Value) != "/new" {
		t.Errorf("GetKey: %v %+v", err, got)
	}
	up, err := kv.UpdateKeys(ctx, &cloudfrontkeyvaluestore.UpdateKeysInput{KvsARN: aws.String(arn), IfMatch: put.ETag,
		Puts:    []kvstypes.PutKeyRequestListItem{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("c"), Value: aws.String("3")}},
		Deletes: []kvstypes.DeleteKeyRequestListItem{{Key: aws.String("/old")}}})
	if err != nil || aws.ToInt32(up.ItemCount) != 3 {
		t.Fatalf("UpdateKeys: %v %+v", err, up)
	}
	var keys []string
	for p := cloudfrontkeyvaluestore.NewListKeysPaginator(kv, &cloudfrontkeyvaluestore.ListKeysInput{KvsARN: aws.String(arn), MaxResults: aws.Int32(2)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			keys = append(keys, aws.ToString(it.Key)+"="+aws.ToString(it.Value))
		}
	}
	if strings.Join(keys, ",") != "a=1,b=2,c=3" {
		t.Errorf("ListKeys pages: %v", keys)
	}
	var invalid *kvstypes.ValidationException
	for _, item := range []kvstypes.PutKeyRequestListItem{
		{Key: aws.String(strings.Repeat("k", MaxKVSKey+1)), Value: aws.String("v")},
		{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", MaxKVSValue+1))},
	} {
		if _, err := kv.UpdateKeys(ctx, &cloudfrontkeyvaluestore.UpdateKeysInput{KvsARN: aws.String(arn), IfMatch: up.ETag, Puts: []kvstypes.PutKeyRequestListItem{item}}); !errors.As(err, &invalid) {
			t.Errorf("a key of %d and a value of %d bytes: %v", len(aws.ToString(item.Key)), len(aws.ToString(item.Value)), err)
		}
	}
	if _, err := newKVSClient(f.ctl.URL, "test", "wrong").GetKey(ctx, &cloudfrontkeyvaluestore.GetKeyInput{KvsARN: aws.String(arn), Key: aws.String("a")}); err == nil {
		t.Error("a request signed with another secret was served")
	}

	// A function associated with the store reads it, in TestFunction and on requests.
	fn, err := f.client.CreateFunction(ctx, &cloudfront.CreateFunctionInput{Name: aws.String("kv"), FunctionCode: []byte(`import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
    const v = await kvs.get('b');
    return {statusCode: 200, body: 'b=' + v};
}`), FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20,
		KeyValueStoreAssociations: &types.KeyValueStoreAssociations{Quantity: aws.Int32(1), Items: []types.KeyValueStoreAssociation{{KeyValueStoreARN: aws.String(arn)}}}}})
	if err != nil {
		t.Fatalf("CreateFunction with a store: %v", err)
	}
	tr, err := f.client.TestFunction(ctx, &cloudfront.TestFunctionInput{Name: aws.String("kv"), IfMatch: fn.ETag,
		EventObject: []byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/","querystring":{},"headers":{},"cookies":{}}}`)})
	if err != nil || !strings.Contains(aws.ToString(tr.TestResult.FunctionOutput), `b=2`) {
		t.Fatalf("TestFunction reading the store: %v %q %v", err, aws.ToString(tr.TestResult.FunctionOutput), aws.ToString(tr.TestResult.FunctionErrorMessage))
	}
	pub, err := f.client.PublishFunction(ctx, &cloudfront.PublishFunctionInput{Name: aws.String("kv"), IfMatch: fn.ETag})
	if err != nil {
		t.Fatal(err)
	}
	dc, _ := f.client.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	dc.DistributionConfig.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: aws.Int32(1), Items: []types.FunctionAssociation{{
		EventType: types.EventTypeViewerRequest, FunctionARN: pub.FunctionSummary.FunctionMetadata.FunctionARN}}}
	if _, err := f.client.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: dc.ETag, DistributionConfig: dc.DistributionConfig}); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := f.get(t, "/"); body != "b=2" {
		t.Errorf("request: %q", body)
	}
	if _, err := kv.PutKey(ctx, &cloudfrontkeyvaluestore.PutKeyInput{KvsARN: aws.String(arn), Key: aws.String("b"), Value: aws.String("two"), IfMatch: up.ETag}); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := f.get(t, "/"); body != "b=two" {
		t.Errorf("after PutKey, the next request: %q", body)
	}
	var inUse *types.CannotDeleteEntityWhileInUse
	if _, err := f.client.DeleteKeyValueStore(ctx, &cloudfront.DeleteKeyValueStoreInput{Name: aws.String("redirects"), IfMatch: created.ETag}); !errors.As(err, &inUse) {
		t.Errorf("deleting a store a function uses: %v", err)
	}

	// The stores persist with their keys.
	f2 := newFunctionsFixture(t, f.state)
	g, err := newKVSClient(f2.ctl.URL, "test", "test").GetKey(ctx, &cloudfrontkeyvaluestore.GetKeyInput{KvsARN: aws.String(arn), Key: aws.String("b")})
	if err != nil || aws.ToString(g.Value) != "two" {
		t.Errorf("after a restart: %v %+v", err, g)
	}
}
