package local

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// apiCall is one viewer request to the API through the edge.
type apiCall struct {
	status int
	body   map[string]any
	raw    string
}

func viewerAPI(t *testing.T, method, url, body string) apiCall {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		// What the app sends: the body's hash, which CloudFront's OAC signature covers.
		sum := sha256.Sum256([]byte(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return apiCall{status: 0, raw: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c := apiCall{status: resp.StatusCode, raw: string(b)}
	json.Unmarshal(b, &c.body)
	return c
}

// waitFor polls cond until it holds; the bound turns a hang into a failure and times nothing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

func messageBody(i int, text string) (string, string) {
	id := fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i)
	return id, fmt.Sprintf(`{"id":%q,"author":"ann","text":%q}`, id, text)
}

func listIDs(t *testing.T, url string) (ids []string, servedBy string, status int) {
	c := viewerAPI(t, "GET", url, "")
	if c.status != 200 {
		return nil, "", c.status
	}
	for _, m := range c.body["messages"].([]any) {
		ids = append(ids, m.(map[string]any)["id"].(string))
	}
	return ids, c.body["servedBy"].(string), 200
}

// TestWorldMessagesSurviveFailover is the end-to-end story through the edge: a POST to
// /api/messages gets CloudFront's 403 (the behaviour targets the api origin group, which allows
// GET, HEAD and OPTIONS only); a message posted on us-east-1's pinned path is read from
// eu-west-2 after replication; with us-east-1's API failed, reads are served by eu-west-2, the
// pinned POST is not failed over (CloudFront never does), and the retry on the secondary's
// pinned path is accepted in eu-west-2; a retry that races a partition lands in
// both regions under one id; after heal both replicas hold the same messages, none lost,
// none duplicated.
func TestWorldMessagesSurviveFailover(t *testing.T) {
	w := startWorld(t, t.TempDir())
	edgeURL := w.Info().Edge
	primary, secondary := w.Regions()[0].Name(), w.Regions()[1].Name()

	id1, body1 := messageBody(1, "hello from the primary")
	// CloudFront's answer for a method the behaviour does not allow (magda-io/magda#736).
	if c := viewerAPI(t, "POST", edgeURL+"/api/messages", body1); c.status != 403 ||
		!strings.Contains(c.raw, "This distribution is not configured to allow the HTTP request method that was used for this request.") {
		t.Fatalf("POST /api/messages: %d %s, want CloudFront's 403", c.status, c.raw)
	}
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+primary+"/messages", body1); c.status != 201 || c.body["acceptedIn"] != primary {
		t.Fatalf("post: %d %s", c.status, c.raw)
	}
	waitFor(t, "the message to be read from "+secondary, func() bool {
		ids, servedBy, _ := listIDs(t, edgeURL+"/api/r/"+secondary+"/messages")
		return servedBy == secondary && cmp.Equal(ids, []string{id1})
	})

	// The primary's API fails.
	if err := w.Fail(FailRequest{Region: primary, Mode: "503", Target: "api"}); err != nil {
		t.Fatal(err)
	}
	if ids, servedBy, status := listIDs(t, edgeURL+"/api/messages"); status != 200 || servedBy != secondary || !cmp.Equal(ids, []string{id1}) {
		t.Fatalf("read during the outage: %d from %q: %v", status, servedBy, ids)
	}
	id2, body2 := messageBody(2, "written during the outage")
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+primary+"/messages", body2); c.status != 503 {
		t.Fatalf("a POST failed over (or succeeded) while the primary is down: %d %s", c.status, c.raw)
	}
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+secondary+"/messages", body2); c.status != 201 || c.body["acceptedIn"] != secondary {
		t.Fatalf("retry on the pinned path: %d %s", c.status, c.raw)
	}
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+secondary+"/messages", body2); c.status != 200 {
		t.Fatalf("second retry is not idempotent: %d %s", c.status, c.raw)
	}
	if err := w.Heal(primary); err != nil {
		t.Fatal(err)
	}

	// A write lands in the primary while replication is cut, its answer is "lost", and the app
	// retries it in the secondary: both regions accept the same id.
	if err := w.Fail(FailRequest{Region: primary, Mode: ModePartition}); err != nil {
		t.Fatal(err)
	}
	id3, body3 := messageBody(3, "answer lost, retried")
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+primary+"/messages", body3); c.status != 201 {
		t.Fatalf("post during partition: %d %s", c.status, c.raw)
	}
	if c := viewerAPI(t, "POST", edgeURL+"/api/r/"+secondary+"/messages", body3); c.status != 201 {
		t.Fatalf("retry during partition: %d %s", c.status, c.raw)
	}
	if err := w.Heal(""); err != nil {
		t.Fatal(err)
	}

	want := []string{id3, id2, id1}
	for _, r := range []string{primary, secondary} {
		waitFor(t, "replicas to converge in "+r, func() bool {
			ids, _, _ := listIDs(t, edgeURL+"/api/r/"+r+"/messages")
			return cmp.Equal(ids, want)
		})
	}
	waitFor(t, "the replication queues to drain", func() bool {
		n, err := w.Replicator().Pending()
		return err == nil && n == 0
	})
	a, err := w.Region(primary).Replica().snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Region(secondary).Replica().snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("replicas differ after heal (-%s +%s)\n%s", primary, secondary, d)
	}
	if len(a) != 3 {
		t.Errorf("%d messages after heal, want 3", len(a))
	}
}
