package edge

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateInvalidationPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/*", true},
		{"/index.html", true},
		{"/images/*", true},
		{"/images*", true},
		{"/images/image.jpg*", true},
		{"/a%20b", true},
		{"/%E6%97%A5", true},
		{"/" + strings.Repeat("a", 3999), true},
		{"/" + strings.Repeat("a", 4000), false},
		{"", false},
		{"index.html", false},
		{"*", false},
		{"/a*b", false},
		{"/**", false},
		{"/*/", false},
		{"/a\nb", false},
		{"/a\x7f", false},
	}
	for _, tt := range tests {
		err := validateInvalidationPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("validateInvalidationPath(%.40q) = %v, want ok=%v", tt.path, err, tt.ok)
		}
		var ae *apiError
		if err != nil && (!errors.As(err, &ae) || ae.Code != "InvalidArgument" || ae.Status != 400) {
			t.Errorf("validateInvalidationPath(%.40q) = %#v, want a 400 InvalidArgument", tt.path, err)
		}
	}
}

func TestParseInvalidationBatch(t *testing.T) {
	const ns = `xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"`
	tests := []struct {
		name  string
		body  string
		code  string // "" = ok
		paths []string
	}{
		{"sdk shape", `<InvalidationBatch ` + ns + `><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path><Path>/b*</Path></Items><Quantity>2</Quantity></Paths></InvalidationBatch>`, "", []string{"/a", "/b*"}},
		{"quantity first", `<InvalidationBatch ` + ns + `><Paths><Quantity>1</Quantity><Items><Path>/a</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>`, "", []string{"/a"}},
		{"empty", "", "MissingBody", nil},
		{"blank", " \n", "MissingBody", nil},
		{"not xml", "{}", "InvalidArgument", nil},
		{"wrong root", `<Other><CallerReference>r</CallerReference></Other>`, "InvalidArgument", nil},
		{"truncated", `<InvalidationBatch><CallerReference>r</CallerRef`, "InvalidArgument", nil},
		{"no ref", `<InvalidationBatch><Paths><Items><Path>/a</Path></Items><Quantity>1</Quantity></Paths></InvalidationBatch>`, "InvalidArgument", nil},
		{"no paths", `<InvalidationBatch><CallerReference>r</CallerReference></InvalidationBatch>`, "InvalidArgument", nil},
		{"no quantity", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path></Items></Paths></InvalidationBatch>`, "InvalidArgument", nil},
		{"bad quantity", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path></Items><Quantity>one</Quantity></Paths></InvalidationBatch>`, "InvalidArgument", nil},
		{"negative quantity", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>-1</Quantity></Paths></InvalidationBatch>`, "InvalidArgument", nil},
		{"inconsistent", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path></Items><Quantity>2</Quantity></Paths></InvalidationBatch>`, "InconsistentQuantities", nil},
		{"zero", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Quantity>0</Quantity></Paths></InvalidationBatch>`, "InvalidArgument", nil},
		{"bad path", `<InvalidationBatch><CallerReference>r</CallerReference><Paths><Items><Path>a</Path></Items><Quantity>1</Quantity></Paths></InvalidationBatch>`, "InvalidArgument", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, paths, err := parseInvalidationBatch([]byte(tt.body))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if ref != "r" || strings.Join(paths, ",") != strings.Join(tt.paths, ",") {
					t.Errorf("got %q %q, want r %q", ref, paths, tt.paths)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
		})
	}
}

func TestInvalidationLogPage(t *testing.T) {
	var l invalidationLog
	now := time.Unix(0, 0)
	var ids []string
	for _, ref := range []string{"a", "b", "c"} {
		inv, _, err := l.create(ref, []string{"/" + ref}, now, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inv.ID)
	}
	items, more, err := l.page("", 2)
	if err != nil || !more || len(items) != 2 || items[0].ID != ids[2] || items[1].ID != ids[1] {
		t.Fatalf("first page = %v %v %v", items, more, err)
	}
	items, more, err = l.page(items[1].ID, 2)
	if err != nil || more || len(items) != 1 || items[0].ID != ids[0] {
		t.Fatalf("second page = %v %v %v", items, more, err)
	}
	items, more, err = l.page(ids[0], 2)
	if err != nil || more || len(items) != 0 {
		t.Fatalf("past the end = %v %v %v", items, more, err)
	}
	if _, _, err := l.page("INOPE", 2); !errors.Is(err, errBadMarker) {
		t.Fatalf("bad marker err = %v", err)
	}
}

func FuzzValidateInvalidationPath(f *testing.F) {
	for _, s := range []string{"/", "/*", "/a*b", "a", "", "/a\x00", "/日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := validateInvalidationPath(p)
		if err == nil {
			if !strings.HasPrefix(p, "/") || len(p) > maxInvalidationPathLen {
				t.Fatalf("accepted %q", p)
			}
			if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
				t.Fatalf("accepted inner wildcard %q", p)
			}
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "InvalidArgument" {
			t.Fatalf("err %v is not InvalidArgument", err)
		}
	})
}

func FuzzParseInvalidationBatch(f *testing.F) {
	f.Add(`<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><CallerReference>r</CallerReference><Paths><Items><Path>/a</Path></Items><Quantity>1</Quantity></Paths></InvalidationBatch>`)
	f.Add(`<InvalidationBatch><Paths><Quantity>0</Quantity></Paths></InvalidationBatch>`)
	f.Add(`<InvalidationBatch><CallerReference>&amp;</CallerReference><Paths><Items><Path>/a*</Path><Path>/b</Path></Items><Quantity>2</Quantity></Paths></InvalidationBatch>`)
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		var l invalidationLog
		ref, paths, err := parseInvalidationBatch([]byte(body))
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
				t.Fatalf("err %v is not a 4xx apiError", err)
			}
			return
		}
		if ref == "" || len(paths) == 0 || len(paths) > maxBatchPaths {
			t.Fatalf("accepted ref %q with %d paths", ref, len(paths))
		}
		for _, p := range paths {
			if validateInvalidationPath(p) != nil {
				t.Fatalf("accepted invalid path %q", p)
			}
		}
		// An accepted batch can be recorded, and the log stays consistent.
		if _, _, err := l.create(ref, paths, time.Unix(0, 0), time.Second); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != "TooManyInvalidationsInProgress" {
				t.Fatalf("create: %v", err)
			}
		}
	})
}
