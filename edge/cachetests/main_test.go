package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/edge"
)

// TestExpectedFailuresCiteCloudFront keeps expected-failures.json what run.sh relies
// on: every entry names cache-tests ids, says why, and quotes an AWS page (the
// CloudFront Developer Guide, API reference or Knowledge Center), each id once. The
// suite itself needs GitHub and runs on demand (run.sh); this runs anywhere.
func TestExpectedFailuresCiteCloudFront(t *testing.T) {
	b, err := os.ReadFile("expected-failures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		About    string `json:"about"`
		Failures []struct {
			IDs    []string `json:"ids"`
			Why    string   `json:"why"`
			Source string   `json:"source"`
			Quote  string   `json:"quote"`
		} `json:"failures"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("expected-failures.json: %v", err)
	}
	if len(f.Failures) == 0 {
		t.Fatal("no entries")
	}
	seen := map[string]bool{}
	for i, e := range f.Failures {
		if len(e.IDs) == 0 || e.Why == "" || len(e.Quote) < 40 {
			t.Errorf("entry %d: ids, why and a quote are required", i)
		}
		u, err := url.Parse(e.Source)
		if err != nil || u.Scheme != "https" || !(u.Host == "docs.aws.amazon.com" || u.Host == "repost.aws") {
			t.Errorf("entry %d: source %q is not an AWS documentation page", i, e.Source)
		}
		for _, id := range e.IDs {
			if seen[id] {
				t.Errorf("%s is listed twice", id)
			}
			seen[id] = true
		}
	}
}

func TestOriginAddr(t *testing.T) {
	if hp, port, err := originAddr("http://127.0.0.1:8000"); err != nil || hp != "127.0.0.1:8000" || port != 8000 {
		t.Errorf("originAddr = %q %d %v", hp, port, err)
	}
	for _, bad := range []string{"", "127.0.0.1:8000", "https://127.0.0.1:8000", "http://127.0.0.1", "http://127.0.0.1:0", "http://127.0.0.1:99999", "http://127.0.0.1:80/x"} {
		if _, _, err := originAddr(bad); err == nil {
			t.Errorf("originAddr(%q) accepted", bad)
		}
	}
}

// The distribution the suite runs against is one the edge accepts.
func TestDistributionIsAccepted(t *testing.T) {
	if _, err := edge.New(distribution(8000), edge.Options{}); err != nil {
		t.Fatal(err)
	}
}
