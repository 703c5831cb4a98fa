package site

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/twinedge/twinedge/internal/testtool"
)

// boardAPI is a stand-in for the two regions' APIs behind the edge, as the board sees them:
// /api/* reaches the first healthy region for reads and refuses a POST with CloudFront's 403
// (the behaviour targets an origin group, which allows GET, HEAD and OPTIONS only);
// /api/r/<region>/* reaches that region only, every method. Like Lambda behind OAC it
// refuses a body whose x-amz-content-sha256 is missing or wrong.
type boardAPI struct {
	mu       sync.Mutex
	regions  []string
	down     map[string]bool
	messages map[string]map[string]any
	posts    []boardPost
}

type boardPost struct {
	Path, ID string
	Status   int
}

func (a *boardAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	region, path := "", r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/api/r/"); ok {
		region, path, _ = strings.Cut(rest, "/")
		path = "/api/" + path
	} else if r.Method == http.MethodPost {
		a.posts = append(a.posts, boardPost{r.URL.Path, "", 403})
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "This distribution is not configured to allow the HTTP request method that was used for this request.")
		return
	} else if !a.down[a.regions[0]] {
		region = a.regions[0]
	} else {
		region = a.regions[1] // the origin group fails the read over
	}
	if a.down[region] {
		if r.Method == http.MethodPost {
			var in struct{ ID string }
			json.NewDecoder(r.Body).Decode(&in)
			a.posts = append(a.posts, boardPost{r.URL.Path, in.ID, 503})
		}
		reply(503, map[string]string{"error": "switched off"})
		return
	}
	switch {
	case path == "/api/health":
		reply(200, map[string]any{"status": "ok", "region": region, "regions": a.regions})
	case path == "/api/messages" && r.Method == http.MethodGet:
		list := []map[string]any{}
		for _, m := range a.messages {
			c := map[string]any{"servedBy": region}
			for k, v := range m {
				c[k] = v
			}
			list = append(list, c)
		}
		sort.Slice(list, func(i, j int) bool { return list[i]["acceptedAt"].(string) > list[j]["acceptedAt"].(string) })
		reply(200, map[string]any{"messages": list, "servedBy": region})
	case path == "/api/messages" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		var in struct{ ID, Author, Text string }
		json.Unmarshal(body, &in)
		if r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
			a.posts = append(a.posts, boardPost{r.URL.Path, in.ID, 403})
			reply(403, map[string]string{"message": "The request signature we calculated does not match the signature you provided."})
			return
		}
		status := 201
		m, ok := a.messages[in.ID]
		if ok {
			status = 200
		} else {
			m = map[string]any{"id": in.ID, "author": in.Author, "text": in.Text, "acceptedIn": region,
				"acceptedAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
			a.messages[in.ID] = m
		}
		a.posts = append(a.posts, boardPost{r.URL.Path, in.ID, status})
		c := map[string]any{"servedBy": region}
		for k, v := range m {
			c[k] = v
		}
		reply(status, c)
	default:
		reply(404, map[string]string{"error": "no route"})
	}
}

// boardPage serves the site, built for a release to us-east-1 then eu-west-2 (pageRegions
// nil: built with no regions), through a fake edge, with a boardAPI answering /api/, and
// returns the API, the server and a browser bounded by a hang guard (not a timing).
func boardPage(t *testing.T, pageRegions []string) (*boardAPI, *httptest.Server, context.Context) {
	t.Helper()
	chromium := testtool.Require(t, "chromium")
	out := t.TempDir()
	m, err := BuildWith(out, Options{Regions: pageRegions})
	if err != nil {
		t.Fatal(err)
	}
	pages := fakeEdge(t, out, m, "us-east-1")
	target, _ := url.Parse(pages.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	a := &boardAPI{regions: []string{"us-east-1", "eu-west-2"}, down: map[string]bool{}, messages: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			a.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(browser(t, chromium), 2*time.Minute)
	t.Cleanup(cancel)
	return a, srv, ctx
}

// TestBrowserBoard drives the message board in headless Chromium: a post lands in the
// primary through its pinned path (the page names the release's regions); with the primary down the same id is retried on the secondary's pinned path and
// the UI says where it landed; with both down the UI says so and keeps the text; a message
// written elsewhere appears without a reload; user text stays text.
func TestBrowserBoard(t *testing.T) {
	a, srv, ctx := boardPage(t, []string{"us-east-1", "eu-west-2"})
	status := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".board-status").textContent`))
		return s
	}
	post := func(author, text string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SetValue("#board-author", author),
			chromedp.SetValue("#board-text", text),
			chromedp.Click(`#board button[type=submit]`),
		)
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#board button[type=submit]").disabled && !/^(Sending|The primary)/.test(document.querySelector(".board-status").textContent)`, chromedp.WithPollingInterval(20*time.Millisecond)))
		}
		if err != nil {
			t.Fatalf("post %q: %v (status %q)", text, err, status())
		}
	}
	type row struct{ ID, Message, AcceptedIn, ReadFrom string }
	rows := func() []row {
		r, err := chromedp.Run(ctx, chromedp.Evaluate[[]row](`[...document.querySelectorAll("#board tbody tr")].map(tr => ({ID: tr.dataset.id, Message: tr.cells[0].textContent, AcceptedIn: tr.cells[1].textContent, ReadFrom: tr.cells[2].textContent}))`))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#board-text")); err != nil {
		t.Fatal(err)
	}

	// 1. A normal post lands in the primary. The text is markup, and must stay text.
	evil := `<img src=x onerror="document.title='pwned'">`
	post("ann", evil)
	if s := status(); s != "Posted: accepted in us-east-1." {
		t.Fatalf("status after post: %q", s)
	}
	if got := rows(); len(got) != 1 || got[0].Message != "ann"+evil || got[0].AcceptedIn != "us-east-1" {
		t.Fatalf("rows: %+v", got)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#board img").length`)); n != 0 {
		t.Error("user text was rendered as HTML")
	}

	// 2. Primary down: retried once on the secondary's pinned path with the same id.
	a.mu.Lock()
	a.down["us-east-1"] = true
	a.mu.Unlock()
	post("ann", "during the outage")
	if s := status(); !strings.HasPrefix(s, "Posted: accepted in eu-west-2 after the primary region failed (503") {
		t.Fatalf("status after failover: %q", s)
	}
	a.mu.Lock()
	posts := append([]boardPost(nil), a.posts...)
	a.mu.Unlock()
	last := posts[len(posts)-1]
	if len(posts) != 3 || posts[0].Path != "/api/r/us-east-1/messages" || posts[0].Status != 201 ||
		posts[1].Path != "/api/r/us-east-1/messages" || posts[1].Status != 503 ||
		last.Path != "/api/r/eu-west-2/messages" || last.Status != 201 || last.ID != posts[1].ID || last.ID == posts[0].ID {
		t.Fatalf("posts: %+v", posts)
	}

	// 3. Both down: said plainly, text kept.
	a.mu.Lock()
	a.down["eu-west-2"] = true
	a.mu.Unlock()
	post("ann", "nobody hears this")
	if s := status(); !strings.HasPrefix(s, "Not sent: the primary region failed (503") || !strings.Contains(s, "eu-west-2 failed too") {
		t.Fatalf("status with both down: %q", s)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#board-text").value`)); v != "nobody hears this" {
		t.Errorf("unsent text not kept: %q", v)
	}

	// 4. Heal; a message written by someone else appears without a reload, and nothing shows twice.
	a.mu.Lock()
	clear(a.down)
	a.messages["0190a6b2-7c1e-7d3a-9f00-0000000000ff"] = map[string]any{"id": "0190a6b2-7c1e-7d3a-9f00-0000000000ff",
		"author": "bob", "text": "hello from elsewhere", "acceptedIn": "eu-west-2", "acceptedAt": time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	a.mu.Unlock()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#board tbody tr").length === 3`, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("new message did not appear: %+v", rows())
	}
	got := rows()
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.ID] {
			t.Errorf("message %s shown twice", r.ID)
		}
		seen[r.ID] = true
		if r.ReadFrom != "us-east-1" {
			t.Errorf("read from %q, want us-east-1 after the heal: %+v", r.ReadFrom, r)
		}
	}
	if got[0].Message != "bobhello from elsewhere" {
		t.Errorf("newest first: %+v", got)
	}
}

// TestBrowserBoardWithoutSubtleCrypto: over plain HTTP from another machine a browser has no
// SubtleCrypto; the board's own SHA-256 must produce the hash the API checks.
func TestBrowserBoardWithoutSubtleCrypto(t *testing.T) {
	a, srv, ctx := boardPage(t, []string{"us-east-1", "eu-west-2"})
	text := strings.Repeat("ünïcødé 🌍 and a longer line to cross a 64-byte block. ", 5)
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
				Source: `Object.defineProperty(globalThis.crypto, "subtle", {value: undefined});`,
			})
			return err
		}),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#board-text"),
		chromedp.SetValue("#board-author", "ann"),
		chromedp.SetValue("#board-text", text),
		chromedp.Click(`#board button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^(Posted|Not sent)/.test(document.querySelector(".board-status").textContent)`, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if subtle, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!crypto.subtle`)); subtle {
		t.Fatal("SubtleCrypto was not removed; the test proves nothing")
	}
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".board-status").textContent`))
	if s != "Posted: accepted in us-east-1." {
		a.mu.Lock()
		t.Fatalf("status %q; posts %+v", s, a.posts)
	}
}

// TestBrowserBoardWithoutRegions: a page built without a release names no regions; the
// board then posts nowhere (not to /api/messages, which the edge refuses) and says why.
func TestBrowserBoardWithoutRegions(t *testing.T) {
	a, srv, ctx := boardPage(t, nil)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible("#board-text"),
		chromedp.SetValue("#board-author", "ann"),
		chromedp.SetValue("#board-text", "hello"),
		chromedp.Click(`#board button[type=submit]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^Not sent/.test(document.querySelector(".board-status").textContent)`, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".board-status").textContent`))
	if !strings.Contains(s, "does not name its regions") {
		t.Errorf("status %q", s)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.posts) != 0 {
		t.Errorf("posts %+v, want none", a.posts)
	}
}
