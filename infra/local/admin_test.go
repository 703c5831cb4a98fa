package local

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/sigv4"
)

// TestAdminBindsBodyToSignature: the admin API obeys only a body its signature covers, signed
// for its own service and region (issue 14 item 4). A captured "fail us-east-1 503" replayed
// with another body, a body sent as UNSIGNED-PAYLOAD, and a request signed for another region
// change no fault.
func TestAdminBindsBodyToSignature(t *testing.T) {
	w, err := Start(context.Background(), Config{StateDir: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	h := w.adminHandler()
	signed := []byte(`{"region":"us-east-1","mode":"503"}`)
	evil := []byte(`{"region":"eu-west-2","mode":"refuse"}`)
	newReq := func(body []byte) *http.Request {
		return httptest.NewRequest(http.MethodPost, "http://control/twinedge/fail", bytes.NewReader(body))
	}
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"replayed with another body", func() *http.Request {
			r := newReq(signed)
			if err := signRequest(t.Context(), r, w.cfg.Credentials, signed, adminService, adminRegion); err != nil {
				t.Fatal(err)
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(evil)), int64(len(evil))
			return r
		}},
		{"UNSIGNED-PAYLOAD", func() *http.Request {
			r := newReq(evil)
			r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
			if err := v4.NewSigner().SignHTTP(t.Context(), w.cfg.Credentials, r, sigv4.UnsignedPayload, adminService, adminRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"no x-amz-content-sha256", func() *http.Request {
			r := newReq(evil)
			if err := v4.NewSigner().SignHTTP(t.Context(), w.cfg.Credentials, r, sha256Hex(evil), adminService, adminRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"signed for another region", func() *http.Request {
			r := newReq(evil)
			if err := signRequest(t.Context(), r, w.cfg.Credentials, evil, adminService, "eu-west-2"); err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.status(context.Background(), false)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req())
			if rec.Code != http.StatusForbidden {
				t.Errorf("status %d %s, want 403", rec.Code, rec.Body)
			}
			if after := w.status(context.Background(), false); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused request changed the faults: %+v -> %+v", before, after)
			}
		})
	}
	// The genuine request is obeyed.
	r := newReq(signed)
	if err := signRequest(t.Context(), r, w.cfg.Credentials, signed, adminService, adminRegion); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("signed request: %d %s", rec.Code, rec.Body)
	}
}

// TestFailByOrigin: the world's origins can be failed by their id in the distribution, as
// any `twinedge edge` origin is; the target follows from the origin.
func TestFailByOrigin(t *testing.T) {
	w, err := Start(context.Background(), Config{StateDir: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	secondary := w.Regions()[1].name
	if err := w.Fail(FailRequest{Origin: infra.APIOriginID(secondary), Mode: "503"}); err != nil {
		t.Fatal(err)
	}
	faults := w.Region(secondary).Faults()
	if len(faults) != 1 || faults[TargetAPI].Mode != Mode503 {
		t.Fatalf("faults after failing the API origin: %+v", faults)
	}
	if err := w.Fail(FailRequest{Origin: "nope", Mode: "503"}); err == nil || !strings.Contains(err.Error(), infra.SiteOriginID(secondary)) {
		t.Fatalf("unknown origin: %v", err)
	}
	if err := w.Fail(FailRequest{Origin: infra.SiteOriginID(secondary), Region: secondary, Mode: "503"}); err == nil {
		t.Fatal("a region and an origin together were accepted")
	}
}
