package local

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// FuzzAdminAPI sends arbitrary signed bodies to fail and heal. Whatever arrives, the
// answer is 200 or a 4xx with a JSON error, never a 5xx or a panic, and a refused
// request changes no fault.
func FuzzAdminAPI(f *testing.F) {
	for _, s := range []string{
		`{"region":"us-east-1","mode":"503"}`,
		`{"region":"us-east-1","mode":"slow","delay":"1ms","target":"origin"}`,
		`{"region":"eu-west-2","mode":"partition"}`,
		`{"region":"us-east-1","mode":"refuse","target":"api"}`,
		`{"region":"mars-1","mode":"503"}`,
		`{"region":"us-east-1","mode":"slow","delay":"-1s"}`,
		`{"region":"us-east-1","mode":"503","extra":1}`,
		`{"region":""}`,
		`{"region":"us-east-1","mode":"503"} trailing`,
		`[`,
	} {
		f.Add(true, []byte(s))
		f.Add(false, []byte(s))
	}
	w, err := Start(context.Background(), Config{StateDir: f.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { w.Close() })
	h := w.adminHandler()
	send := func(t *testing.T, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://control"+path, bytes.NewReader(body))
		if err := signRequest(context.Background(), req, w.cfg.Credentials, body, adminService, adminRegion); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, fail bool, body []byte) {
		path := "/twinedge/heal"
		if fail {
			path = "/twinedge/fail"
		}
		before := w.status(context.Background(), false)
		rec := send(t, path, body)
		switch {
		case rec.Code == http.StatusOK:
			// Undo it for the next input.
			if r := send(t, "/twinedge/heal", []byte(`{}`)); r.Code != http.StatusOK {
				t.Fatalf("heal after %s %q: %d %s", path, body, r.Code, r.Body)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil {
				t.Fatalf("%s %q: %d with a body that is not JSON: %q", path, body, rec.Code, rec.Body)
			}
			if after := w.status(context.Background(), false); !reflect.DeepEqual(before, after) {
				t.Fatalf("%s %q was refused (%d) but changed the world:\nbefore %+v\nafter  %+v", path, body, rec.Code, before, after)
			}
		default:
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
