package awsinfra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

const goodState = `{"stack":"twinedge","distributionId":"E2QWRUHAPOMQZL","distributionArn":"arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
"domainName":"d111111abcdef8.cloudfront.net","regions":[
{"name":"us-east-1","primary":true,"stack":"twinedge-us-east-1","bucket":"b1","functionName":"f1"},
{"name":"eu-west-2","primary":false,"stack":"twinedge-eu-west-2","bucket":"b2","functionName":"f2"}]}`

func TestReadStateRefusesACorruptFile(t *testing.T) {
	testtool.Refuses(t, goodState, ParseState, []testtool.Edit{
		{"truncated", `"b2",`, `"b2`},
		{"trailing data", `}]}`, `}]},`},
		{"bad id", `"distributionId":"E2QWRUHAPOMQZL"`, `"distributionId":"e2 q"`},
		{"unknown region", `"eu-west-2"`, `"mars"`},
		{"same region", `"eu-west-2"`, `"us-east-1"`},
		{"two primaries", `"primary":false`, `"primary":true`},
		{"no bucket", `"b1"`, `""`},
		{"domain with a path", `"d111111abcdef8.cloudfront.net"`, `"evil.example/x"`},
	})

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte(`{"regions":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(dir); err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "deploy again") {
		t.Errorf("ReadState of a truncated aws.json: %v", err)
	}
}

// FuzzParseState: aws.json is read by release, fail, heal and drill --target aws;
// whatever it holds, parsing never panics, and what is accepted survives a round trip.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(goodState))
	f.Add([]byte(`{"distributionId":"E1","regions":[{"name":"us-east-1","primary":true,"bucket":"a"},{"name":"eu-west-2","bucket":"b"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseState(b)
		if err != nil {
			return
		}
		if _, ok := s.Region(s.Regions[0].Name); !ok {
			t.Fatal("an accepted state does not find its own region")
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseState(again); err != nil {
			t.Fatalf("a parsed state does not parse again: %v\n%s", err, again)
		}
	})
}
