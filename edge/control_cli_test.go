package edge

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

// awsCLI runs the aws CLI against the fixture's control API with the world's credentials and
// no user configuration, and decodes its JSON output into out.
func (f *controlFixture) awsCLI(t *testing.T, out any, args ...string) {
	t.Helper()
	awsCLIAt(t, f.srv.URL, out, args...)
}

// awsCLIAt runs "aws cloudfront args…" against the control API at url (see awsCLI).
func awsCLIAt(t *testing.T, url string, out any, args ...string) {
	t.Helper()
	bin := testtool.Require(t, "aws")
	cmd := exec.CommandContext(t.Context(), bin, append(append([]string{"cloudfront"}, args...), "--endpoint-url", url, "--output", "json")...)
	// The caller's AWS_* settings (a profile, a session token) must not leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws cloudfront %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("aws cloudfront %s: output %q: %v", strings.Join(args, " "), stdout.String(), err)
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
