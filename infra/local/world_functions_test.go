package local

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

// TestFunctionsWithAWSCLIAgainstWorld: a user creates, tests and publishes a CloudFront
// Function in a running world with the commands they would run against AWS, associates
// it with update-distribution, and the next request runs it.
func TestFunctionsWithAWSCLIAgainstWorld(t *testing.T) {
	awsBin := testtool.Require(t, "aws")
	w := startWorld(t, t.TempDir())
	info := w.Info()
	home := t.TempDir()
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+home, "AWS_PAGER=")
	aws := func(out any, args ...string) {
		t.Helper()
		cmd := exec.Command(awsBin, append(append([]string{"cloudfront"}, args...), "--endpoint-url", info.Control, "--output", "json")...)
		cmd.Env = env
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws cloudfront %s: %v", strings.Join(args, " "), err)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("aws cloudfront %s: %v\n%s", args[0], err, b)
			}
		}
	}
	code := filepath.Join(home, "fn.js")
	os.WriteFile(code, []byte(`import crypto from 'crypto';
function handler(event) {
    if (event.request.uri !== '/fn-check') return event.request;
    console.log('checking');
    return {statusCode: 200, headers: {'x-md5': {value: crypto.createHash('md5').update('abc').digest('hex')}}, body: 'from the function'};
}`), 0o644)
	event := filepath.Join(home, "event.json")
	os.WriteFile(event, []byte(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/fn-check","querystring":{},"headers":{},"cookies":{}}}`), 0o644)

	var created struct{ ETag string }
	aws(&created, "create-function", "--name", "check", "--function-config", "Comment=check,Runtime=cloudfront-js-2.0", "--function-code", "fileb://"+code)
	var tested struct {
		TestResult struct {
			FunctionOutput        string
			FunctionExecutionLogs []string
		}
	}
	aws(&tested, "test-function", "--name", "check", "--if-match", created.ETag, "--event-object", "fileb://"+event)
	if !strings.Contains(tested.TestResult.FunctionOutput, "900150983cd24fb0d6963f7d28e17f72") || len(tested.TestResult.FunctionExecutionLogs) != 1 {
		t.Fatalf("test-function = %+v", tested.TestResult)
	}
	var published struct {
		FunctionSummary struct{ FunctionMetadata struct{ FunctionARN string } }
	}
	aws(&published, "publish-function", "--name", "check", "--if-match", created.ETag)

	var dc struct {
		ETag               string
		DistributionConfig map[string]any
	}
	aws(&dc, "get-distribution-config", "--id", info.DistributionID)
	dcb := dc.DistributionConfig["DefaultCacheBehavior"].(map[string]any)
	dcb["FunctionAssociations"] = map[string]any{"Quantity": 1, "Items": []any{map[string]any{
		"EventType": "viewer-request", "FunctionARN": published.FunctionSummary.FunctionMetadata.FunctionARN}}}
	cfgFile := filepath.Join(home, "dist.json")
	b, _ := json.Marshal(dc.DistributionConfig)
	os.WriteFile(cfgFile, b, 0o644)
	aws(nil, "update-distribution", "--id", info.DistributionID, "--if-match", dc.ETag, "--distribution-config", "file://"+cfgFile)

	r := get(t, info.Edge+"/fn-check")
	if r.status != 200 || r.body != "from the function" || r.header.Get("X-Md5") != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("edge GET /fn-check = %d %q %v", r.status, r.body, r.header)
	}
}
