package edge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
)

// realCase is one case of edge/testdata/cffunctions/*/cases.json (README.md there).
type realCase struct {
	Name  string            `json:"name"`
	Event json.RawMessage   `json:"event"` // an object, or a file name under the function's directory
	KVS   map[string]string `json:"kvs"`
	KVSID string            `json:"kvsId"`
	Now   time.Time         `json:"now"`
	Doc   string            `json:"doc"`
	Want  json.RawMessage   `json:"want"`
	Exact bool              `json:"exact"`
	Logs  []string          `json:"logs"`
	// Runtime is the function's runtime (default cloudfront-js-2.0).
	Runtime string `json:"runtime"`
	// Body, when set, is the body a generated response must carry.
	Body *string `json:"body"`
	// Match maps a dotted path of the output (response.cookies.NAME.value) to a
	// regular expression its value must match, for values the function makes up
	// (a random token).
	Match map[string]string `json:"match"`
}

// mapKVS is a KeyValueStore held in a map, for the cases.
type mapKVS struct {
	id string
	kv map[string]string
}

func (m mapKVS) ID() string { return m.id }
func (m mapKVS) Get(k string) (string, bool) {
	v, ok := m.kv[k]
	return v, ok
}
func (m mapKVS) Meta() fnapi.KVSMeta { return fnapi.KVSMeta{KeyCount: len(m.kv)} }

// TestRealFunctions runs functions written by others (AWS's samples and public
// repositories) on their test events through TestFunction and checks their documented
// output; then it sends each event to the edge as a real viewer request, with the
// function associated to the behaviour, and checks what the viewer (a generated or
// viewer-response response) or the origin (the request the function returned) saw.
func TestRealFunctions(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/cffunctions/*/cases.json")
	if len(dirs) == 0 {
		t.Fatal("no fixtures")
	}
	var passed, passedReal []string
	for _, casesFile := range dirs {
		dir := filepath.Dir(casesFile)
		name := filepath.Base(dir)
		ok := t.Run(name, func(t *testing.T) {
			code, err := os.ReadFile(filepath.Join(dir, "code.js"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []realCase
			if err := json.Unmarshal(must(os.ReadFile(casesFile)), &cases); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				now := c.Now
				if now.IsZero() {
					now = time.Now()
				}
				e, err := New(testDistribution(), Options{JS: jsfunc.Compile, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				event := []byte(c.Event)
				var file string
				if json.Unmarshal(c.Event, &file) == nil {
					event = must(os.ReadFile(filepath.Join(dir, file)))
				}
				var kvs fnapi.KVS
				if c.KVS != nil {
					kvs = mapKVS{id: c.KVSID, kv: c.KVS}
				}
				runtime := c.Runtime
				if runtime == "" {
					runtime = FunctionRuntime
				}
				fn := &Function{Name: name, Runtime: runtime, Code: string(code)}
				res, err := e.TestFunction(fn, event, kvs)
				if err != nil {
					t.Errorf("%s: %v", c.Name, err)
					continue
				}
				if res.Error != "" {
					t.Errorf("%s: FunctionErrorMessage %q (logs %q)", c.Name, res.Error, res.Logs)
					continue
				}
				var got, want any
				_ = json.Unmarshal([]byte(res.Output), &got)
				_ = json.Unmarshal(c.Want, &want)
				if c.Exact && !reflect.DeepEqual(got, want) || !c.Exact && !subset(want, got) {
					t.Errorf("%s (%s):\n got  %s\n want %s", c.Name, c.Doc, res.Output, c.Want)
				}
				if err := matchPaths(c.Match, got); err != nil {
					t.Errorf("%s: %v", c.Name, err)
				}
				if c.Body != nil {
					if b := outputBody(got); b != *c.Body {
						t.Errorf("%s: body %q, want %q", c.Name, b, *c.Body)
					}
				}
				if c.Logs != nil && !slices.Equal(c.Logs, append([]string{}, res.Logs...)) {
					t.Errorf("%s: logs %q, want %q", c.Name, res.Logs, c.Logs)
				}
				if res.ComputeUtilization < 0 || res.ComputeUtilization > 100 {
					t.Errorf("%s: compute utilization %d", c.Name, res.ComputeUtilization)
				}
			}
		})
		if ok {
			passed = append(passed, name)
		}
		if t.Run(name+"/real-request", func(t *testing.T) { realRequests(t, dir) }) {
			passedReal = append(passedReal, name)
		}
	}
	t.Logf("real functions passing: %d of %d through TestFunction, %d of %d through real requests", len(passed), len(dirs), len(passedReal), len(dirs))
}

// subset reports whether every value of want is in got (objects compared key by key).
func subset(want, got any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		if !ok || !subset(wv, gv) {
			return false
		}
	}
	return true
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
