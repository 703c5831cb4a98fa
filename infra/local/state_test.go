package local

import (
	"encoding/json"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

const goodWorld = `{"edge":"http://127.0.0.1:8080","control":"http://127.0.0.1:40001","distributionId":"E2QWRUHAPOMQZL",
"domainName":"d2qwruhapomqzl.cloudfront.net","pid":0,"regions":[
{"name":"us-east-1","primary":true,"origin":"http://127.0.0.1:40002","api":"http://127.0.0.1:40003","bucket":"twinedge-site-us-east-1","bucketDomain":"b"},
{"name":"eu-west-2","primary":false,"origin":"http://127.0.0.1:40004","api":"","bucket":"twinedge-site-eu-west-2","bucketDomain":"c"}]}`

func TestParseWorldRefusesWhatNoWorldWrites(t *testing.T) {
	testtool.Refuses(t, goodWorld, ParseWorld, []testtool.Edit{
		{"truncated", `"pid":0,`, `"pid":`},
		{"trailing data", `}]}`, `}]}{}`},
		{"bad id", `E2QWRUHAPOMQZL"`, `e2q"`},
		{"unknown region", `"eu-west-2"`, `"mars-1"`},
		{"same region twice", `"eu-west-2"`, `"us-east-1"`},
		{"no primary", `"primary":true`, `"primary":false`},
		{"edge not a URL", `"http://127.0.0.1:8080"`, `"127.0.0.1:8080"`},
		{"edge with a path", `"http://127.0.0.1:8080"`, `"http://127.0.0.1:8080/x?y"`},
		{"edge not http", `"http://127.0.0.1:8080"`, `"file:///etc/passwd"`},
		{"origin without port", `"http://127.0.0.1:40002"`, `"http://127.0.0.1"`},
		{"empty bucket", `"twinedge-site-us-east-1"`, `""`},
	})
}

// FuzzParseWorld: world.json is read by every command; whatever it holds, parsing never
// panics, and what is accepted names a usable world and survives a round trip.
func FuzzParseWorld(f *testing.F) {
	f.Add([]byte(goodWorld))
	f.Add([]byte(`{"regions":[{},{}]}`))
	f.Add([]byte(`{"edge":"http://[::1]:1","control":"http://a:1","distributionId":"E1","regions":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWorld(b)
		if err != nil {
			return
		}
		if len(w.Regions) != 2 || !w.Regions[0].Primary || w.Edge == "" || w.Control == "" {
			t.Fatalf("accepted a world with no usable endpoints: %+v", w)
		}
		again, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseWorld(again); err != nil {
			t.Fatalf("a parsed world does not parse again: %v\n%s", err, again)
		}
	})
}
