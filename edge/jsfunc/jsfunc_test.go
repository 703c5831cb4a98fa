package jsfunc

import (
	"strings"
	"sync"
	"testing"
)

func TestRunsHandlerAndAwaitsPromise(t *testing.T) {
	for _, code := range []string{
		`function handler(event) { event.request.uri = '/x' + event.request.uri; return event.request; }`,
		`async function handler(event) { event.request.uri = '/x' + event.request.uri; return event.request; }`,
	} {
		run, err := Compile("f", code)
		if err != nil {
			t.Fatal(err)
		}
		out, err := run([]byte(`{"request":{"uri":"/a"}}`))
		if err != nil || string(out) != `{"uri":"/x/a"}` {
			t.Errorf("%s: %s %v", code, out, err)
		}
	}
}

func TestBudgetStopsRunawayCodeAndThePoolRecovers(t *testing.T) {
	run, err := Compile("f", `function handler(event) { if (event.loop) { while (true) {} } return event; }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run([]byte(`{"loop":true}`)); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("runaway handler: %v", err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if out, err := run([]byte(`{"loop":false}`)); err != nil || string(out) != `{"loop":false}` {
				t.Errorf("after an interrupt: %s %v", out, err)
			}
		})
	}
	wg.Wait()
}

func TestRefusesBadCodeAndBadEvents(t *testing.T) {
	for _, code := range []string{"function handler(event) { return ", "var x = 1;", "throw new Error('at load')"} {
		if _, err := Compile("f", code); err == nil {
			t.Errorf("Compile(%q) succeeded", code)
		}
	}
	run, err := Compile("f", `function handler(event) { return undefined; }`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run([]byte(`{}`)); err == nil {
		t.Error("a handler returning nothing succeeded")
	}
	if _, err := run([]byte(`{not json`)); err == nil {
		t.Error("a malformed event was run")
	}
}
