package testtool

import (
	"strings"
	"testing"
)

// Edit is one change to a valid document that makes it invalid: {name, from, to}, where
// the first occurrence of from becomes to, and name is for the failure message.
type Edit [3]string

// Refuses checks that parse accepts good and refuses good after each edit.
func Refuses[T any](t *testing.T, good string, parse func([]byte) (T, error), edits []Edit) {
	t.Helper()
	if _, err := parse([]byte(good)); err != nil {
		t.Fatalf("the valid document is refused: %v", err)
	}
	for _, e := range edits {
		name, from, to := e[0], e[1], e[2]
		doc := strings.Replace(good, from, to, 1)
		if doc == good {
			t.Fatalf("%s: %q is not in the document", name, from)
		}
		if v, err := parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %+v", name, v)
		}
	}
}
