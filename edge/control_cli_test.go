package edge

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/twinedge/twinedge/internal/testtool"
)

// awsCLI runs the aws CLI against the fixture's control API with the world's credentials and
// no user configuration, and decodes its JSON output into out.
func (f *controlFixture) awsCLI(t *testing.T, out any, args ...string) {
	t.Helper()
	awsCLIAt(t, f.srv.URL, out, args...)
}

// awsCLIAt runs "aws cloudfront args…" against the control API at url (see awsCLI) and
// decodes its JSON output into out.
func awsCLIAt(t *testing.T, url string, out any, args ...string) {
	t.Helper()
	stdout, stderr, err := awsCloudFront(t, url, args...)
	if err != nil {
		t.Fatalf("aws cloudfront %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("aws cloudfront %s: output %q: %v", strings.Join(args, " "), stdout, err)
	}
}

// awsCloudFront runs `aws cloudfront ARGS --endpoint-url endpoint --output json` with the
// world's credentials and no user configuration.
func awsCloudFront(t *testing.T, endpoint string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	return awsService(t, "cloudfront", endpoint, nil, args...)
}

// awsService runs `aws SERVICE ARGS --endpoint-url endpoint --output json` as awsCloudFront
// does, with env added to the environment.
func awsService(t *testing.T, service, endpoint string, env []string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	bin := testtool.Require(t, "aws")
	cmd := exec.CommandContext(t.Context(), bin, append(append([]string{service}, args...), "--endpoint-url", endpoint, "--output", "json")...)
	// The caller's AWS_* settings (a profile, a session token) must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	cmd.Env = append(cmd.Env, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// TestControlRefusesOldDistributionAWSCLI: twinedge's distribution before issue 11, /api/*
// on the api origin group allowing POST, is refused through the aws CLI by UpdateDistribution
// and CreateDistribution with the error CloudFront gives (aws/aws-cdk#32450), and the edge
// keeps serving the config it had.
func TestControlRefusesOldDistributionAWSCLI(t *testing.T) {
	testtool.Require(t, "aws")
	e, err := New(testDistribution(), Options{DistributionID: testDistID, DomainName: "d111111abcdef8.cloudfront.net", Credentials: edgeCreds})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewControl(e, ControlOptions{DistributionID: testDistID, DomainName: "d111111abcdef8.cloudfront.net", Credentials: edgeCreds}))
	defer srv.Close()

	stdout, stderr, err := awsCloudFront(t, srv.URL, "get-distribution-config", "--id", testDistID)
	if err != nil {
		t.Fatalf("get-distribution-config: %v\n%s", err, stderr)
	}
	var got struct {
		ETag               string
		DistributionConfig map[string]any
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatal(err)
	}
	write := func(cfg map[string]any) string {
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	current := write(got.DistributionConfig)

	// The old /api/*: the group behaviour with all seven methods.
	found := false
	for _, b := range got.DistributionConfig["CacheBehaviors"].(map[string]any)["Items"].([]any) {
		b := b.(map[string]any)
		if b["PathPattern"] == "/api/*" {
			am := b["AllowedMethods"].(map[string]any)
			am["Quantity"], am["Items"] = 7, []string{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
			found = true
		}
	}
	if !found {
		t.Fatal("no /api/* behaviour in the config")
	}
	old := write(got.DistributionConfig)

	const msg = "The parameter AllowedMethods cannot include POST, PUT, PATCH, or DELETE for a cached behavior associated with an origin group."
	for op, args := range map[string][]string{
		"UpdateDistribution": {"update-distribution", "--id", testDistID, "--if-match", got.ETag, "--distribution-config", old},
		"CreateDistribution": {"create-distribution", "--distribution-config", old},
	} {
		_, stderr, err := awsCloudFront(t, srv.URL, args...)
		want := "An error occurred (InvalidArgument) when calling the " + op + " operation: " + msg
		if err == nil || !strings.Contains(string(stderr), want) {
			t.Errorf("%s of the old distribution: err %v, stderr %q\nwant %q", op, err, stderr, want)
		}
	}
	for _, b := range e.Config().CacheBehaviors.Items {
		if aws.ToString(b.PathPattern) == "/api/*" && len(b.AllowedMethods.Items) != 3 {
			t.Errorf("the refused config was applied: /api/* allows %v", b.AllowedMethods.Items)
		}
	}

	// The retry of the create that made the distribution (same CallerReference, same
	// content) answers the distribution, as CloudFront does.
	if stdout, stderr, err := awsCloudFront(t, srv.URL, "create-distribution", "--distribution-config", current); err != nil {
		t.Errorf("create-distribution of the current config: %v\n%s", err, stderr)
	} else if !strings.Contains(string(stdout), testDistID) {
		t.Errorf("create-distribution answered %s", stdout)
	}
}

func TestControlAWSCLI(t *testing.T) {
	testtool.Require(t, "aws")
	f := newControlFixture(t, nil)
	f.dist.cfg = richControlConfig()

	var created struct {
		Location     string
		Invalidation struct {
			Id, Status        string
			InvalidationBatch struct {
				Paths struct {
					Quantity int
					Items    []string
				}
				CallerReference string
			}
		}
	}
	f.awsCLI(t, &created, "create-invalidation", "--distribution-id", testDistID, "--paths", "/index.html", "/assets/*")
	inv := created.Invalidation
	if inv.Id == "" || inv.Status != "InProgress" || inv.InvalidationBatch.Paths.Quantity != 2 || inv.InvalidationBatch.CallerReference == "" {
		t.Errorf("create-invalidation = %+v", created)
	}
	if !strings.HasSuffix(created.Location, "/invalidation/"+inv.Id) {
		t.Errorf("Location = %q", created.Location)
	}
	if got := f.dist.invalidations(); len(got) != 1 || strings.Join(got[0], " ") != "/index.html /assets/*" {
		t.Errorf("Invalidate calls = %q", got)
	}

	var got struct{ Invalidation struct{ Id, Status string } }
	f.awsCLI(t, &got, "get-invalidation", "--distribution-id", testDistID, "--id", inv.Id)
	if got.Invalidation.Id != inv.Id {
		t.Errorf("get-invalidation = %+v", got)
	}

	// The CLI pages through the list itself (Marker/NextMarker) and prints the merged Items.
	var list struct {
		InvalidationList struct {
			Items []struct{ Id, Status string }
		}
	}
	f.awsCLI(t, &list, "list-invalidations", "--distribution-id", testDistID)
	if len(list.InvalidationList.Items) != 1 || list.InvalidationList.Items[0].Id != inv.Id {
		t.Errorf("list-invalidations = %+v", list)
	}

	var cfg struct {
		ETag               string
		DistributionConfig struct {
			CallerReference string
			Aliases         struct{ Items []string }
			Origins         struct {
				Quantity int
				Items    []struct{ Id string }
			}
			OriginGroups struct {
				Items []struct {
					FailoverCriteria struct{ StatusCodes struct{ Items []int } }
				}
			}
		}
	}
	f.awsCLI(t, &cfg, "get-distribution-config", "--id", testDistID)
	dc := cfg.DistributionConfig
	if cfg.ETag == "" || dc.CallerReference != "twinedge-2026" || dc.Origins.Quantity != 3 || len(dc.Origins.Items) != 3 ||
		strings.Join(dc.Aliases.Items, ",") != "www.example.com,example.com" || len(dc.OriginGroups.Items) != 1 ||
		len(dc.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items) != 6 {
		t.Errorf("get-distribution-config = %+v", cfg)
	}
}
