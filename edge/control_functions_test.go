package edge

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/internal/testtool"
)

// functionsFixture is a real edge with the JS runtime, its control API, and an SDK client.
type functionsFixture struct {
	e      *Edge
	viewer *httptest.Server
	ctl    *httptest.Server
	client *cloudfront.Client
	state  string
}

func newFunctionsFixture(t *testing.T, state string) *functionsFixture {
	t.Helper()
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "hello "+r.URL.Path)
	})
	cfg := &types.DistributionConfig{
		CallerReference: aws.String("functions-test"), Comment: aws.String(""), Enabled: aws.Bool(true),
		Origins: &types.Origins{Quantity: aws.Int32(1), Items: []types.Origin{{
			Id: aws.String("o"), DomainName: aws.String("origin.example.com"),
			CustomOriginConfig: &types.CustomOriginConfig{HTTPPort: aws.Int32(80), HTTPSPort: aws.Int32(443), OriginProtocolPolicy: types.OriginProtocolPolicyHttpOnly},
		}}},
		DefaultCacheBehavior: &types.DefaultCacheBehavior{
			TargetOriginId: aws.String("o"), ViewerProtocolPolicy: types.ViewerProtocolPolicyAllowAll,
			CachePolicyId: aws.String(CachingDisabledID),
		},
	}
	e, err := New(cfg, Options{
		DistributionID: testDistID, DomainName: "d111111abcdef8.cloudfront.net", Credentials: edgeCreds,
		Resolve: func(string) (string, bool) { return origin.addr, true }, OriginScheme: "http", JS: jsfunc.Compile,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &functionsFixture{e: e, state: state}
	f.viewer = httptest.NewServer(e)
	t.Cleanup(f.viewer.Close)
	ctl, err := OpenControl(e, ControlOptions{DistributionID: testDistID, DomainName: "d111111abcdef8.cloudfront.net",
		Credentials: edgeCreds, Propagation: -1, StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	f.ctl = httptest.NewServer(ctl)
	t.Cleanup(f.ctl.Close)
	f.client = newCFClient(f.ctl.URL, "test", "test")
	return f
}

func (f *functionsFixture) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(f.viewer.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

const addHeaderFn = `function handler(event) {
    console.log('uri ' + event.request.uri);
    return {statusCode: 200, statusDescription: 'OK', headers: {'x-version': {value: 'v1'}}, body: 'from v1'};
}`

// The Functions API as the SDK sends it (API reference: CreateFunction, DescribeFunction,
// GetFunction, UpdateFunction, TestFunction, PublishFunction, ListFunctions,
// DeleteFunction), and a published function associated by UpdateDistribution serving the
// next request.
func TestControlFunctionsLifecycle(t *testing.T) {
	ctx := t.Context()
	f := newFunctionsFixture(t, filepath.Join(t.TempDir(), "control.json"))
	c := f.client

	created, err := c.CreateFunction(ctx, &cloudfront.CreateFunctionInput{
		Name: aws.String("gen"), FunctionCode: []byte(addHeaderFn),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String("test"), Runtime: types.FunctionRuntimeCloudfrontJs20},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	sum := created.FunctionSummary
	if aws.ToString(created.ETag) == "" || aws.ToString(sum.Status) != "UNPUBLISHED" || sum.FunctionMetadata.Stage != types.FunctionStageDevelopment ||
		aws.ToString(sum.FunctionMetadata.FunctionARN) != "arn:aws:cloudfront::000000000000:function/gen" || !strings.HasSuffix(aws.ToString(created.Location), "function/gen") {
		t.Errorf("CreateFunction = %+v %+v", sum, sum.FunctionMetadata)
	}
	var exists *types.FunctionAlreadyExists
	if _, err := c.CreateFunction(ctx, &cloudfront.CreateFunctionInput{Name: aws.String("gen"), FunctionCode: []byte(addHeaderFn),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20}}); !errors.As(err, &exists) {
		t.Errorf("second CreateFunction: %v", err)
	}
	var tooBig *types.FunctionSizeLimitExceeded
	if _, err := c.CreateFunction(ctx, &cloudfront.CreateFunctionInput{Name: aws.String("big"), FunctionCode: []byte(strings.Repeat("x", 10241)),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20}}); !errors.As(err, &tooBig) {
		t.Errorf("an 11 KB function: %v", err)
	}

	code, err := c.GetFunction(ctx, &cloudfront.GetFunctionInput{Name: aws.String("gen")})
	if err != nil || string(code.FunctionCode) != addHeaderFn || aws.ToString(code.ETag) != aws.ToString(created.ETag) {
		t.Fatalf("GetFunction: %v %q", err, code.FunctionCode)
	}

	// TestFunction on DEVELOPMENT: output, logs, utilization.
	event := []byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/a","querystring":{},"headers":{},"cookies":{}}}`)
	tr, err := c.TestFunction(ctx, &cloudfront.TestFunctionInput{Name: aws.String("gen"), IfMatch: created.ETag, EventObject: event})
	if err != nil {
		t.Fatalf("TestFunction: %v", err)
	}
	res := tr.TestResult
	if !strings.Contains(aws.ToString(res.FunctionOutput), `"x-version":{"value":"v1"}`) || len(res.FunctionExecutionLogs) != 1 || res.FunctionExecutionLogs[0] != "uri /a" ||
		res.FunctionErrorMessage != nil || res.ComputeUtilization == nil {
		t.Errorf("TestFunction = output %q logs %q err %v cu %v", aws.ToString(res.FunctionOutput), res.FunctionExecutionLogs, res.FunctionErrorMessage, res.ComputeUtilization)
	}
	var badVersion *types.InvalidIfMatchVersion
	if _, err := c.TestFunction(ctx, &cloudfront.TestFunctionInput{Name: aws.String("gen"), IfMatch: aws.String("EWRONG"), EventObject: event}); !errors.As(err, &badVersion) {
		t.Errorf("TestFunction with a stale ETag: %v", err)
	}

	// A function that throws: FunctionErrorMessage, with the logs it wrote first.
	upd, err := c.UpdateFunction(ctx, &cloudfront.UpdateFunctionInput{Name: aws.String("gen"), IfMatch: created.ETag,
		FunctionCode:   []byte(`function handler(event) { console.log('before'); throw new Error('nope'); }`),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String("broken"), Runtime: types.FunctionRuntimeCloudfrontJs20}})
	if err != nil || aws.ToString(upd.ETag) == "" || aws.ToString(upd.ETag) == aws.ToString(created.ETag) {
		t.Fatalf("UpdateFunction: %v (ETag %q)", err, aws.ToString(upd.ETag))
	}
	tr, err = c.TestFunction(ctx, &cloudfront.TestFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag, EventObject: event})
	if err != nil || !strings.Contains(aws.ToString(tr.TestResult.FunctionErrorMessage), "nope") || len(tr.TestResult.FunctionExecutionLogs) != 1 {
		t.Errorf("TestFunction of a throwing function: %v %+v", err, tr.TestResult)
	}
	var pre *types.PreconditionFailed
	if _, err := c.UpdateFunction(ctx, &cloudfront.UpdateFunctionInput{Name: aws.String("gen"), IfMatch: created.ETag, FunctionCode: []byte(addHeaderFn),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20}}); !errors.As(err, &pre) {
		t.Errorf("UpdateFunction with the old ETag: %v", err)
	}
	upd, err = c.UpdateFunction(ctx, &cloudfront.UpdateFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag, FunctionCode: []byte(addHeaderFn),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String("v1"), Runtime: types.FunctionRuntimeCloudfrontJs20}})
	if err != nil {
		t.Fatal(err)
	}

	var noSuch *types.NoSuchFunctionExists
	if _, err := c.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String("gen"), Stage: types.FunctionStageLive}); !errors.As(err, &noSuch) {
		t.Errorf("LIVE before publishing: %v", err)
	}
	pub, err := c.PublishFunction(ctx, &cloudfront.PublishFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag})
	if err != nil || pub.FunctionSummary.FunctionMetadata.Stage != types.FunctionStageLive || aws.ToString(pub.FunctionSummary.Status) != "UNASSOCIATED" {
		t.Fatalf("PublishFunction: %v %+v", err, pub)
	}
	list, err := c.ListFunctions(ctx, &cloudfront.ListFunctionsInput{Stage: types.FunctionStageLive})
	if err != nil || aws.ToInt32(list.FunctionList.Quantity) != 1 || aws.ToString(list.FunctionList.Items[0].Name) != "gen" {
		t.Errorf("ListFunctions(LIVE): %v %+v", err, list)
	}

	// Associate it with UpdateDistribution: the next request runs it.
	if _, body, _ := f.get(t, "/x"); body != "hello /x" {
		t.Fatalf("before the association: %q", body)
	}
	dc, err := c.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	dc.DistributionConfig.DefaultCacheBehavior.FunctionAssociations = &types.FunctionAssociations{Quantity: aws.Int32(1), Items: []types.FunctionAssociation{{
		EventType: types.EventTypeViewerRequest, FunctionARN: pub.FunctionSummary.FunctionMetadata.FunctionARN}}}
	if _, err := c.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{Id: aws.String(testDistID), IfMatch: dc.ETag, DistributionConfig: dc.DistributionConfig}); err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	if status, body, h := f.get(t, "/x"); status != 200 || body != "from v1" || h.Get("X-Version") != "v1" {
		t.Errorf("after the association: %d %q %v", status, body, h)
	}
	d, _ := c.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String("gen"), Stage: types.FunctionStageLive})
	if aws.ToString(d.FunctionSummary.Status) != "DEPLOYED" {
		t.Errorf("associated LIVE status %q", aws.ToString(d.FunctionSummary.Status))
	}

	// Publishing new code changes what the associated function serves.
	v2 := strings.ReplaceAll(addHeaderFn, "v1", "v2")
	upd, err = c.UpdateFunction(ctx, &cloudfront.UpdateFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag, FunctionCode: []byte(v2),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String("v2"), Runtime: types.FunctionRuntimeCloudfrontJs20}})
	if err != nil {
		t.Fatal(err)
	}
	if _, body, _ := f.get(t, "/x"); body != "from v1" {
		t.Errorf("an unpublished update served: %q", body)
	}
	if _, err := c.PublishFunction(ctx, &cloudfront.PublishFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag}); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := f.get(t, "/x"); body != "from v2" {
		t.Errorf("after publishing v2: %q", body)
	}

	var inUse *types.FunctionInUse
	if _, err := c.DeleteFunction(ctx, &cloudfront.DeleteFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag}); !errors.As(err, &inUse) {
		t.Errorf("deleting an associated function: %v", err)
	}

	// The state persists: a new control over the same state file knows the function, and
	// publishes its LIVE stage to a new edge.
	f2 := newFunctionsFixture(t, f.state)
	d, err = f2.client.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String("gen")})
	if err != nil || aws.ToString(d.ETag) != aws.ToString(upd.ETag) {
		t.Errorf("after a restart: %v, ETag %q want %q", err, aws.ToString(d.ETag), aws.ToString(upd.ETag))
	}
	if !f2.e.HasFunction("gen") {
		t.Error("the restarted edge does not have the published function")
	}
	if _, err := f2.client.DeleteFunction(ctx, &cloudfront.DeleteFunctionInput{Name: aws.String("gen"), IfMatch: upd.ETag}); err != nil {
		t.Errorf("DeleteFunction: %v", err)
	}
	if f2.e.HasFunction("gen") {
		t.Error("a deleted function is still available")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.state), "functions.json")); err != nil {
		t.Error(err)
	}
}

func TestControlFunctionsRefuseBadInput(t *testing.T) {
	ctx := t.Context()
	f := newFunctionsFixture(t, "")
	var invalid *types.InvalidArgument
	for _, in := range []*cloudfront.CreateFunctionInput{
		{Name: aws.String("bad name!"), FunctionCode: []byte(addHeaderFn), FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20}},
		{Name: aws.String("ok"), FunctionCode: []byte(addHeaderFn), FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: "cloudfront-js-3.0"}},
	} {
		if _, err := f.client.CreateFunction(ctx, in); !errors.As(err, &invalid) {
			t.Errorf("CreateFunction(%s, %s): %v", aws.ToString(in.Name), in.FunctionConfig.Runtime, err)
		}
	}
	var noSuch *types.NoSuchFunctionExists
	if _, err := f.client.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String("none")}); !errors.As(err, &noSuch) {
		t.Errorf("DescribeFunction of nothing: %v", err)
	}
	if _, err := f.client.CreateFunction(ctx, &cloudfront.CreateFunctionInput{Name: aws.String("syntax"), FunctionCode: []byte("function handler(e) { return "),
		FunctionConfig: &types.FunctionConfig{Comment: aws.String(""), Runtime: types.FunctionRuntimeCloudfrontJs20}}); err != nil {
		t.Fatal(err)
	}
	d, _ := f.client.DescribeFunction(ctx, &cloudfront.DescribeFunctionInput{Name: aws.String("syntax")})
	if _, err := f.client.PublishFunction(ctx, &cloudfront.PublishFunctionInput{Name: aws.String("syntax"), IfMatch: d.ETag}); !errors.As(err, &invalid) {
		t.Errorf("publishing code that does not compile: %v", err)
	}
	if f.e.HasFunction("syntax") {
		t.Error("code that does not compile was published")
	}
}

// A user tests a function locally with the commands they would run against AWS:
// aws cloudfront create-function, test-function, publish-function (the real aws CLI).
func TestControlFunctionsAWSCLI(t *testing.T) {
	testtool.Require(t, "aws")
	f := newFunctionsFixture(t, "")
	dir := t.TempDir()
	code := filepath.Join(dir, "code.js")
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(code, must(os.ReadFile("testdata/cffunctions/url-rewrite-single-page-apps/code.js")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(event, must(os.ReadFile("testdata/cffunctions/url-rewrite-single-page-apps/events/file-name-no-extension.json")), 0o644); err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Name, Status     string
		FunctionMetadata struct{ Stage, FunctionARN string }
	}
	var created struct {
		Location        string
		ETag            string
		FunctionSummary summary
	}
	awsCLIAt(t, f.ctl.URL, &created, "create-function", "--name", "spa", "--function-config", "Comment=spa,Runtime=cloudfront-js-2.0", "--function-code", "fileb://"+code)
	if created.ETag == "" || created.FunctionSummary.Name != "spa" || created.FunctionSummary.Status != "UNPUBLISHED" {
		t.Fatalf("create-function = %+v", created)
	}
	var tested struct {
		TestResult struct {
			FunctionOutput, ComputeUtilization string
			FunctionExecutionLogs              []string
			FunctionErrorMessage               string
		}
	}
	awsCLIAt(t, f.ctl.URL, &tested, "test-function", "--name", "spa", "--if-match", created.ETag, "--event-object", "fileb://"+event)
	if !strings.Contains(tested.TestResult.FunctionOutput, `"uri":"/blog/index.html"`) || tested.TestResult.ComputeUtilization == "" || tested.TestResult.FunctionErrorMessage != "" {
		t.Errorf("test-function = %+v", tested.TestResult)
	}
	var published struct{ FunctionSummary summary }
	awsCLIAt(t, f.ctl.URL, &published, "publish-function", "--name", "spa", "--if-match", created.ETag)
	if published.FunctionSummary.FunctionMetadata.Stage != "LIVE" || !f.e.HasFunction("spa") {
		t.Errorf("publish-function = %+v", published)
	}
	var described struct {
		ETag            string
		FunctionSummary summary
	}
	awsCLIAt(t, f.ctl.URL, &described, "describe-function", "--name", "spa", "--stage", "LIVE")
	if described.ETag == "" || described.FunctionSummary.Status != "UNASSOCIATED" {
		t.Errorf("describe-function = %+v", described)
	}
}
