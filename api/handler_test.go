package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

var fixedNow = time.Date(2026, 11, 26, 4, 30, 0, 123456789, time.UTC)

func newTestHandler(t testing.TB, store Store, env map[string]string) *Handler {
	t.Helper()
	h, err := NewHandler(Config{
		Region:  "us-east-1",
		Regions: []string{"us-east-1", "eu-west-2"},
		Store:   store,
		Now:     func() time.Time { return fixedNow },
		Getenv:  func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func event(method, path, query, body string, headers map[string]string) events.LambdaFunctionURLRequest {
	if headers == nil {
		headers = map[string]string{}
	}
	qs := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			qs[k] = v
		}
	}
	return events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: path, RawQueryString: query, Headers: headers,
		QueryStringParameters: qs, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

var jsonCT = map[string]string{"content-type": "application/json"}

const id1 = "0190a6b2-7c1e-7d3a-9f00-1234567890ab"

func post(id, author, text string) string {
	b, _ := json.Marshal(map[string]string{"id": id, "author": author, "text": text})
	return string(b)
}

func errorText(t *testing.T, resp events.LambdaFunctionURLResponse) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error == "" {
		t.Fatalf("error body is not {\"error\": ...}: %q", resp.Body)
	}
	return e.Error
}

func TestHandlerErrors(t *testing.T) {
	tests := []struct {
		name   string
		ev     events.LambdaFunctionURLRequest
		env    map[string]string
		status int
		want   string // substring of the error text
	}{
		{"unknown route", event("GET", "/api/nope", "", "", nil), nil, 404, "no route for /api/nope"},
		{"not api", event("GET", "/", "", "", nil), nil, 404, "no route"},
		{"trailing slash", event("GET", "/api/messages/", "", "", nil), nil, 404, "no route"},
		{"wrong method health", event("POST", "/api/health", "", "", nil), nil, 405, "use GET, HEAD"},
		{"wrong method messages", event("DELETE", "/api/messages", "", "", nil), nil, 405, "DELETE is not allowed"},
		{"pinned elsewhere", event("GET", "/api/r/eu-west-2/messages", "", "", nil), nil, 421, "pinned to region eu-west-2 but reached region us-east-1"},
		{"pinned empty", event("GET", "/api/r//messages", "", "", nil), nil, 404, "pinned paths"},
		{"pinned no rest", event("GET", "/api/r/us-east-1", "", "", nil), nil, 404, "pinned paths"},
		{"switched off", event("GET", "/api/health", "", "", nil), map[string]string{FailEnv: "1"}, 503, "switched off"},
		{"switched off post", event("POST", "/api/messages", "", post(id1, "a", "b"), jsonCT), map[string]string{FailEnv: "true"}, 503, "switched off"},
		{"limit zero", event("GET", "/api/messages", "limit=0", "", nil), nil, 400, "limit: must be an integer from 1 to 100"},
		{"limit big", event("GET", "/api/messages", "limit=101", "", nil), nil, 400, "limit:"},
		{"limit text", event("GET", "/api/messages", "limit=ten", "", nil), nil, 400, "limit:"},
		{"bad cursor", event("GET", "/api/messages", "cursor=zzz", "", nil), nil, 400, "cursor:"},
		{"no content type", event("POST", "/api/messages", "", post(id1, "a", "b"), nil), nil, 415, "content-type: missing"},
		{"text plain", event("POST", "/api/messages", "", post(id1, "a", "b"), map[string]string{"content-type": "text/plain"}), nil, 415, "send application/json"},
		{"latin1", event("POST", "/api/messages", "", post(id1, "a", "b"), map[string]string{"content-type": "application/json; charset=latin1"}), nil, 415, "charset"},
		{"empty body", event("POST", "/api/messages", "", "", jsonCT), nil, 400, "body: empty"},
		{"malformed", event("POST", "/api/messages", "", `{"id":`, jsonCT), nil, 400, "body: malformed JSON"},
		{"syntax", event("POST", "/api/messages", "", `{"id" 1}`, jsonCT), nil, 400, "body: malformed JSON at byte"},
		{"array", event("POST", "/api/messages", "", `[1]`, jsonCT), nil, 400, "body: must be a JSON object"},
		{"trailing", event("POST", "/api/messages", "", post(id1, "a", "b")+"{}", jsonCT), nil, 400, "unexpected data after"},
		{"id number", event("POST", "/api/messages", "", `{"id":1,"author":"a","text":"b"}`, jsonCT), nil, 400, "id: must be a string"},
		{"unknown field", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"b","acceptedIn":"x"}`, jsonCT), nil, 400, "acceptedIn: unknown field"},
		{"missing id", event("POST", "/api/messages", "", `{"author":"a","text":"b"}`, jsonCT), nil, 400, "id: required"},
		{"bad id", event("POST", "/api/messages", "", post("123", "a", "b"), jsonCT), nil, 400, "id: must be a UUID"},
		{"blank author", event("POST", "/api/messages", "", post(id1, "  ", "b"), jsonCT), nil, 400, "author: required"},
		{"missing text", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a"}`, jsonCT), nil, 400, "text: required"},
		{"control char", event("POST", "/api/messages", "", post(id1, "a", "b\x1b[2J"), jsonCT), nil, 400, "text: must not contain control character"},
		{"author long", event("POST", "/api/messages", "", post(id1, strings.Repeat("é", 65), "b"), jsonCT), nil, 413, "author: 65 characters, the limit is 64"},
		{"text long", event("POST", "/api/messages", "", post(id1, "a", strings.Repeat("x", 1001)), jsonCT), nil, 413, "text: 1001 characters, the limit is 1000"},
		{"body huge", event("POST", "/api/messages", "", post(id1, "a", strings.Repeat("x", 17000)), jsonCT), nil, 413, "the limit is 16384 bytes"},
		// Text rules (issue 14): what encoding/json would store as U+FFFD is refused, C1
		// controls like C0, and a field of invisible characters like a blank one.
		{"invalid utf-8", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"b`+"\xff"+`c"}`, jsonCT), nil, 400, "body: not valid UTF-8 at byte"},
		{"overlong utf-8", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"`+"\xc0\xaf"+`"}`, jsonCT), nil, 400, "not valid UTF-8"},
		{"lone high surrogate", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"b\ud800"}`, jsonCT), nil, 400, `lone high surrogate \ud800`},
		{"high then not low", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"\ud83d\u0041"}`, jsonCT), nil, 400, "lone high surrogate"},
		{"lone low surrogate", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"\uDC00","text":"b"}`, jsonCT), nil, 400, `lone low surrogate \udc00`},
		{"C1 control", event("POST", "/api/messages", "", post(id1, "a", "b\u009b2J"), jsonCT), nil, 400, "text: must not contain control character U+009B"},
		{"C1 escaped", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a\u0085","text":"b"}`, jsonCT), nil, 400, "author: must not contain control character U+0085"},
		{"zero-width author", event("POST", "/api/messages", "", post(id1, "\u200b\u200c\u200d\u2060", "b"), jsonCT), nil, 400, "author: required and must not be blank"},
		{"invisible author", event("POST", "/api/messages", "", post(id1, "\ufeff\u3164\u2800\u180e\ufe0f \u00a0", "b"), jsonCT), nil, 400, "author: required and must not be blank"},
		{"bidi-only text", event("POST", "/api/messages", "", post(id1, "a", "\u202e\u2066\u200f"), jsonCT), nil, 400, "text: required and must not be blank"},
		{"emoji escapes over", event("POST", "/api/messages", "", `{"id":"`+id1+`","author":"a","text":"`+strings.Repeat(`\ud83d\ude00`, 1001)+`"}`, jsonCT), nil, 413, "text: 1001 characters, the limit is 1000"},
		{"bad base64", func() events.LambdaFunctionURLRequest {
			e := event("POST", "/api/messages", "", "!!", jsonCT)
			e.IsBase64Encoded = true
			return e
		}(), nil, 400, "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemoryStore()
			h := newTestHandler(t, store, tt.env)
			resp, err := h.Handle(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.status, resp.Body)
			}
			if got := errorText(t, resp); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to contain %q", got, tt.want)
			}
			if resp.Headers["content-type"] != "application/json" {
				t.Errorf("content-type = %q", resp.Headers["content-type"])
			}
			if store.Len() != 0 {
				t.Errorf("an error stored %d messages", store.Len())
			}
			if tt.status == 405 && resp.Headers["allow"] == "" {
				t.Error("405 without allow header")
			}
		})
	}
}

func TestHandlerPostIdempotent(t *testing.T) {
	store := NewMemoryStore()
	h := newTestHandler(t, store, nil)
	ctx := context.Background()
	want := servedMessage{Message: Message{ID: id1, Author: "ann", Text: "hello <b>", AcceptedIn: "us-east-1",
		AcceptedAt: fixedNow.Truncate(time.Millisecond)}, ServedBy: "us-east-1"}

	steps := []struct {
		name   string
		ev     events.LambdaFunctionURLRequest
		status int
	}{
		{"create", event("POST", "/api/messages", "", post(id1, "ann", "hello <b>"), jsonCT), 201},
		{"retry same", event("POST", "/api/messages", "", post(id1, "ann", "hello <b>"), jsonCT), 200},
		{"retry pinned upper-case id", event("POST", "/api/r/us-east-1/messages", "", post(strings.ToUpper(id1), "ann", "hello <b>"), map[string]string{"Content-Type": "application/json; charset=UTF-8"}), 200},
		{"conflict", event("POST", "/api/messages", "", post(id1, "ann", "other"), jsonCT), 409},
	}
	for _, s := range steps {
		resp, _ := h.Handle(ctx, s.ev)
		if resp.StatusCode != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, resp.StatusCode, s.status, resp.Body)
		}
		if s.status == 409 {
			if got := errorText(t, resp); !strings.Contains(got, "id: "+id1+" is already used") {
				t.Errorf("%s: %q", s.name, got)
			}
			continue
		}
		var got servedMessage
		if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: (-want +got)\n%s", s.name, d)
		}
	}
	if store.Len() != 1 {
		t.Errorf("store holds %d messages, want 1", store.Len())
	}
}

func TestHandlerBase64Post(t *testing.T) {
	h := newTestHandler(t, NewMemoryStore(), nil)
	ev := event("POST", "/api/messages", "", base64.StdEncoding.EncodeToString([]byte(post(id1, "a", "b"))), jsonCT)
	ev.IsBase64Encoded = true
	resp, _ := h.Handle(context.Background(), ev)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
}

func TestHandlerHealth(t *testing.T) {
	store := NewMemoryStore()
	h := newTestHandler(t, store, nil)
	resp, _ := h.Handle(context.Background(), event("GET", "/api/r/us-east-1/health", "", "", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got healthBody
	json.Unmarshal([]byte(resp.Body), &got)
	if d := cmp.Diff(healthBody{Status: "ok", Region: "us-east-1", Regions: []string{"us-east-1", "eu-west-2"}}, got); d != "" {
		t.Error(d)
	}
	if resp.Headers["x-twinedge-region"] != "us-east-1" || resp.Headers["cache-control"] != "no-store" {
		t.Errorf("headers %v", resp.Headers)
	}

	head, _ := h.Handle(context.Background(), event("HEAD", "/api/health", "", "", nil))
	if head.StatusCode != 200 || head.Body != "" {
		t.Errorf("HEAD: %d %q", head.StatusCode, head.Body)
	}

	store.SetDown(errors.New("connection refused"))
	resp, _ = h.Handle(context.Background(), event("GET", "/api/health", "", "", nil))
	if resp.StatusCode != 503 || !strings.Contains(errorText(t, resp), "unreachable") {
		t.Errorf("down: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h.Handle(context.Background(), event("POST", "/api/messages", "", post(id1, "a", "b"), jsonCT))
	if resp.StatusCode != 503 || !strings.Contains(errorText(t, resp), "nothing was stored") {
		t.Errorf("down post: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestHandlerListPages(t *testing.T) {
	store := NewMemoryStore()
	clock := fixedNow
	h, _ := NewHandler(Config{Region: "eu-west-2", Store: store, Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	ctx := context.Background()
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("0190a6b2-7c1e-7d3a-9f00-%012d", i)
		ids = append([]string{id}, ids...) // newest first
		if resp, _ := h.Handle(ctx, event("POST", "/api/messages", "", post(id, "a", fmt.Sprint(i)), jsonCT)); resp.StatusCode != 201 {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		q := "limit=3"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		resp, _ := h.Handle(ctx, event("GET", "/api/messages", q, "", nil))
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		var body listBody
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatal(err)
		}
		if body.ServedBy != "eu-west-2" {
			t.Errorf("servedBy %q", body.ServedBy)
		}
		for _, m := range body.Messages {
			if m.ServedBy != "eu-west-2" || m.AcceptedIn != "eu-west-2" {
				t.Errorf("message %+v", m)
			}
			got = append(got, m.ID)
		}
		if body.Next == "" {
			break
		}
		cursor = body.Next
	}
	if d := cmp.Diff(ids, got); d != "" {
		t.Errorf("ids (-want +got)\n%s", d)
	}

	// Empty board: messages is [], not null.
	h2 := newTestHandler(t, NewMemoryStore(), nil)
	resp, _ := h2.Handle(ctx, event("GET", "/api/messages", "", "", nil))
	if !strings.Contains(resp.Body, `"messages":[]`) || strings.Contains(resp.Body, "next") {
		t.Errorf("empty list body %s", resp.Body)
	}
}

func TestNewHandlerNeedsRegionAndStore(t *testing.T) {
	if _, err := NewHandler(Config{Store: NewMemoryStore()}); err == nil {
		t.Error("no region accepted")
	}
	if _, err := NewHandler(Config{Region: "x"}); err == nil {
		t.Error("no store accepted")
	}
}

var validStatus = map[int]bool{200: true, 201: true, 400: true, 404: true, 405: true, 409: true, 413: true, 415: true, 421: true, 503: true}

// TestHandlerCountsCharactersAfterDecoding: limits count characters, not bytes of the
// body: 1,000 emoji sent as surrogate-pair escapes (12,000 bytes of JSON) are 1,000
// characters, and a valid pair, an emoji sequence with its joiners and a literal U+FFFD
// are kept as sent.
func TestHandlerCountsCharactersAfterDecoding(t *testing.T) {
	for _, tt := range []struct{ name, author, text, want string }{
		{"1000 emoji escaped", `\ud83d\ude00`, strings.Repeat(`\ud83d\ude00`, MaxTextChars), strings.Repeat("😀", MaxTextChars)},
		{"64 astral authors", strings.Repeat(`\uD835\uDC9C`, MaxAuthorChars), "b", "b"},
		{"joiners inside", "a", `\ud83d\udc69\u200d\ud83d\udcbb \u2764\ufe0f`, "👩\u200d💻 ❤\ufe0f"},
		{"literal replacement char", "a", "\ufffd and \\ufffd", "\ufffd and \ufffd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemoryStore()
			h := newTestHandler(t, store, nil)
			body := `{"id":"` + id1 + `","author":"` + tt.author + `","text":"` + tt.text + `"}`
			resp, err := h.Handle(context.Background(), event("POST", "/api/messages", "", body, jsonCT))
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("%d bytes: %d %s (%v)", len(body), resp.StatusCode, resp.Body, err)
			}
			var m Message
			json.Unmarshal([]byte(resp.Body), &m)
			if m.Text != tt.want {
				t.Errorf("text stored as %q, want %q", m.Text, tt.want)
			}
		})
	}
}

// FuzzCheckUTF8: a body that decodes and passes checkUTF8 decodes without U+FFFD unless it
// sent U+FFFD itself, so nothing is silently replaced.
func FuzzCheckUTF8(f *testing.F) {
	for _, s := range []string{`{"text":"\ud83d\ude00"}`, `{"text":"\ud800"}`, `{"text":"\udc00\ud800"}`, `{"text":"a\"\\u12"}`,
		"{\"text\":\"\xff\"}", `{"text":"\ufffd"}`, `{"a":"\\","b":"\ud800\udc00"}`, `{"text":"\\\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v map[string]string
		if json.Unmarshal(body, &v) != nil || checkUTF8(body) != nil {
			return
		}
		sent := strings.Contains(string(body), "\ufffd") || strings.Contains(strings.ToLower(string(body)), `\ufffd`)
		for k, s := range v {
			if strings.ContainsRune(k+s, '\uFFFD') && !sent {
				t.Fatalf("%q passed but decodes with U+FFFD: %q", body, k+s)
			}
		}
	})
}

// FuzzHandler feeds arbitrary methods, paths, query strings, content types and bodies through
// routing and JSON parsing: the handler must never panic, must answer JSON with a known status,
// and must store something only when it says 201.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/api/messages", "", "application/json", post(id1, "ann", "hi"), false)
	f.Add("POST", "/api/r/us-east-1/messages", "", "application/json; charset=utf-8", `{"id":"`+id1+`","author":"a","text":"\u0000"}`, false)
	f.Add("GET", "/api/messages", "limit=5&cursor=abc", "", "", false)
	f.Add("GET", "/api/r/eu-west-2/health", "", "", "", false)
	f.Add("POST", "/api/messages", "", "application/json", `{"id":"`+id1+`","id":"x"}`, false)
	f.Add("POST", "/api/messages", "", "application/json", "eyJpZCI6MX0=", true)
	f.Add("PUT", "/api/r/", "", "text/html", "[]", false)
	f.Add("POST", "/api/messages", "", "application/json", `{"id":"`+id1+`","author":"\u200b","text":"\ud83d\ude00\udc00"}`, false)
	f.Fuzz(func(t *testing.T, method, path, query, ct, body string, b64 bool) {
		store := NewMemoryStore()
		h := newTestHandler(t, store, nil)
		ev := event(method, path, query, body, map[string]string{"content-type": ct})
		ev.IsBase64Encoded = b64
		resp, err := h.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if !validStatus[resp.StatusCode] {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if method != "HEAD" && !json.Valid([]byte(resp.Body)) {
			t.Fatalf("body is not JSON: %q", resp.Body)
		}
		if resp.StatusCode >= 400 && method != "HEAD" {
			var e map[string]string
			if json.Unmarshal([]byte(resp.Body), &e) != nil || e["error"] == "" {
				t.Fatalf("error body %q", resp.Body)
			}
		}
		if n := store.Len(); (resp.StatusCode == http.StatusCreated) != (n == 1) || n > 1 {
			t.Fatalf("status %d with %d stored", resp.StatusCode, n)
		}
	})
}
