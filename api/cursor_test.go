package api

import (
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	m := Message{ID: id1, AcceptedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	sk := m.SortKey()
	if sk != "2026-01-02T03:04:05.000Z#"+id1 {
		t.Fatalf("sort key %q", sk)
	}
	got, err := DecodeCursor(EncodeCursor(sk))
	if err != nil || got != sk {
		t.Fatalf("round trip: %q %v", got, err)
	}
	for _, bad := range []string{"", "!!", EncodeCursor("x#y"), EncodeCursor("2026-01-02T03:04:05.000Z#" + id1 + "x")} {
		if _, err := DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}

// FuzzDecodeCursor: a cursor comes from the query string; decoding must not panic, and any
// accepted cursor must re-encode to itself.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor("2026-01-02T03:04:05.000Z#" + id1))
	f.Add("")
	f.Add("MjAyNg")
	f.Fuzz(func(t *testing.T, c string) {
		sk, err := DecodeCursor(c)
		if err != nil {
			return
		}
		if EncodeCursor(sk) != c {
			t.Fatalf("cursor %q decodes to %q which encodes differently", c, sk)
		}
	})
}
