package edge

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/google/go-cmp/cmp"
)

// restart serves a new Control over the same distribution and options, as a restarted world.
func (f *controlFixture) restart(t *testing.T, opts ControlOptions) *cloudfront.Client {
	t.Helper()
	ctl, err := OpenControl(f.dist, opts)
	if err != nil {
		t.Fatalf("OpenControl: %v", err)
	}
	srv := httptest.NewServer(ctl)
	t.Cleanup(srv.Close)
	return newCFClient(srv.URL, "test", "test")
}

func listInvalidationIDs(t *testing.T, c *cloudfront.Client) []string {
	t.Helper()
	out, err := c.ListInvalidations(t.Context(), &cloudfront.ListInvalidationsInput{DistributionId: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.InvalidationList.Items {
		ids = append(ids, aws.ToString(s.Id)+" "+aws.ToString(s.Status))
	}
	return ids
}

func TestControlStatePersists(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "control.json")
	var opts ControlOptions
	f := newControlFixture(t, func(o *ControlOptions) { o.StateFile = file; opts = *o })
	for _, ref := range []string{"a", "b"} {
		if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput(ref, "/"+ref)); err != nil {
			t.Fatal(err)
		}
	}
	before := listInvalidationIDs(t, f.client)
	cfg, err := f.client.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}

	// Same config after the restart: same ETag, same history.
	c2 := f.restart(t, opts)
	if diff := cmp.Diff(before, listInvalidationIDs(t, c2)); diff != "" {
		t.Errorf("history after restart (-before +after):\n%s", diff)
	}
	cfg2, err := c2.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg2.ETag) != aws.ToString(cfg.ETag) {
		t.Errorf("ETag after restart %q, before %q", aws.ToString(cfg2.ETag), aws.ToString(cfg.ETag))
	}
	// CallerReference idempotency survives the restart too.
	again, err := c2.CreateInvalidation(t.Context(), invalidationInput("a", "/a"))
	if err != nil {
		t.Fatal(err)
	}
	if id := aws.ToString(again.Invalidation.Id) + " InProgress"; id != before[1] {
		t.Errorf("repeat after restart gave %s, want %s", id, before[1])
	}

	// Another config after the restart: a new ETag, the history kept.
	f.dist.cfg.Comment = aws.String("changed while down")
	c3 := f.restart(t, opts)
	cfg3, err := c3.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(testDistID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg3.ETag) == aws.ToString(cfg.ETag) {
		t.Error("ETag kept although the config changed")
	}
	if got := listInvalidationIDs(t, c3); len(got) != 2 {
		t.Errorf("history after config change = %v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestControlStateCorrupt(t *testing.T) {
	good := func(t *testing.T) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), "control.json")
		f := newControlFixture(t, func(o *ControlOptions) { o.StateFile = file })
		if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("a", "/a")); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}(t)
	tests := []struct{ name, content, want string }{
		{"not json", "{", "corrupt"},
		{"truncated", good[:len(good)/2], "corrupt"},
		{"unknown field", strings.Replace(good, `"version"`, `"verzion"`, 1), "corrupt"},
		{"other version", strings.Replace(good, `"version": 1`, `"version": 9`, 1), "version 9"},
		{"other distribution", strings.Replace(good, testDistID, "EOTHER", 1), "EOTHER"},
		{"incomplete invalidation", strings.Replace(good, `"callerReference": "a"`, `"callerReference": ""`, 1), "incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "control.json")
			if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := ControlOptions{DistributionID: testDistID, StateFile: file, Now: time.Now}
			_, err := OpenControl(&fakeControlTarget{cfg: controlTestConfig()}, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("err = %v, want one naming %s and %q", err, file, tt.want)
			}
			// NewControl serves anyway, but never overwrites the file it could not read.
			f := newControlFixture(t, func(o *ControlOptions) { o.StateFile = file })
			if _, err := f.client.CreateInvalidation(t.Context(), invalidationInput("b", "/b")); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(file); string(b) != tt.content {
				t.Error("the unreadable state file was overwritten")
			}
		})
	}
}

func FuzzControlState(f *testing.F) {
	f.Add(`{"version":1,"distributionId":"E2QWRUHAPOMQZL","etag":"E1","lastModified":"2026-01-01T00:00:00Z","configSha256":"x","invalidations":[{"id":"I1","callerReference":"r","paths":["/a"],"createTime":"2026-01-01T00:00:00Z"}]}`)
	f.Add(`{}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, content string) {
		file := filepath.Join(t.TempDir(), "control.json")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenControl(&fakeControlTarget{cfg: controlTestConfig()}, ControlOptions{DistributionID: testDistID, StateFile: file})
		if err != nil {
			return
		}
		// A loaded state is usable: paging over it works.
		if _, _, err := c.invalidations.page("", 10); err != nil {
			t.Fatal(err)
		}
	})
}
