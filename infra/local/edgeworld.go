package local

// This file runs any team's CloudFront distribution locally (`twinedge edge SOURCE`): the
// distribution read by edge/source from their template or get-distribution-config output,
// each origin mapped to a local thing — a dev server's URL, or a folder served as that S3
// bucket through the local S3 (with OAC signatures verified as S3 verifies them) — behind a
// fault switch, so `twinedge fail --origin ID` shows their own origin groups failing over.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc/fnapi"
	"github.com/twinedge/twinedge/edge/source"
)

// EdgeFileName is the file under --state that describes a running `twinedge edge`.
const EdgeFileName = "edge.json"

// EdgeConfig configures StartEdge.
type EdgeConfig struct {
	// Source is the path of the distribution: a CloudFormation template (JSON or YAML) or
	// the JSON of `aws cloudfront get-distribution-config`. Required.
	Source string
	// Load tunes how Source is read (--resource, --param).
	Load source.Options
	// Origins maps origin ids to a URL (http://127.0.0.1:3000, a server to proxy to) or a
	// folder (./public, served as the origin's S3 bucket). Every origin needs one.
	Origins map[string]string
	// Addr is the viewer address, HTTP and HTTPS on one port (default 127.0.0.1:8080).
	Addr string
	// ControlAddr is the CloudFront control API's address (default 127.0.0.1:0).
	ControlAddr string
	// StateDir keeps the local CA, the control API's state and edge.json (default .twinedge).
	StateDir string
	// Credentials are the local account's key pair (default Credentials()).
	Credentials aws.Credentials
	// JS runs CloudFront Functions' JavaScript (edge/jsfunc.Compile); nil refuses them.
	JS func(name, runtime, code string) (fnapi.Program, error)
	// Geo locates viewers for CloudFront's location headers and geographic restriction
	// (an edge.GeoTable's Lookup, from --geo); nil: no viewer's location is known.
	Geo func(netip.Addr) (edge.Geo, bool)
	// Logger receives operational logs (default: discard).
	Logger *slog.Logger
}

// EdgeFile is STATE/edge.json: where a running `twinedge edge` listens.
type EdgeFile struct {
	// Edge is the viewer URL (http); HTTPS is the same address with https.
	Edge  string `json:"edge"`
	HTTPS string `json:"https"`
	// Control is the CloudFront control API (and the admin API under /twinedge/).
	Control        string `json:"control"`
	DistributionID string `json:"distributionId"`
	DomainName     string `json:"domainName"`
	// CACert is the PEM file of the local CA that signed the HTTPS certificate.
	CACert  string       `json:"caCert"`
	Origins []EdgeOrigin `json:"origins"`
	PID     int          `json:"pid"`
}

// ReadEdge reads STATE/edge.json of a running `twinedge edge`.
func ReadEdge(stateDir string) (*EdgeFile, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, EdgeFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoWorld, stateDir)
	}
	if err != nil {
		return nil, err
	}
	var f EdgeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("corrupt %s: %w", filepath.Join(stateDir, EdgeFileName), err)
	}
	if f.PID == 0 {
		return nil, fmt.Errorf("%w in %s: the last `twinedge edge` was stopped", ErrNoWorld, stateDir)
	}
	if u, err := url.Parse(f.Control); err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("corrupt %s: control %q is not an http URL", filepath.Join(stateDir, EdgeFileName), f.Control)
	}
	return &f, nil
}

// EdgeOrigin is one mapped origin.
type EdgeOrigin struct {
	ID string `json:"id"`
	// Target is what the user mapped it to: a URL or a folder.
	Target string `json:"target"`
	// Local is the fault switch's URL the edge connects to.
	Local string `json:"local"`
}

// EdgeWorld is a running `twinedge edge`.
type EdgeWorld struct {
	cfg      EdgeConfig
	edge     *edge.Edge
	ca       *CA
	file     EdgeFile
	viewerLn net.Listener
	control  *http.Server
	done     chan struct{}

	mu      sync.Mutex
	origins map[string]*mappedOrigin // by origin id
	loaded  *source.Distribution
	modTime time.Time
}

// mappedOrigin is a local stand-in for one origin of the distribution.
type mappedOrigin struct {
	id, target string
	server     *Server   // the fault switch in front of it
	s3         *S3Origin // set for a folder
	bucket     string    // the folder's bucket
	region     string    // the folder's S3 region
	dir        string    // the folder
	domain     string    // the domain the distribution names
	rewritten  string    // the S3 domain used instead of domain, when domain was not one
	hostport   string    // target host:port for a URL
	proxy      http.Handler
}

// StartEdge loads the source, starts a stand-in for every origin, the edge (HTTP and HTTPS
// on cfg.Addr) and its control API, and writes STATE/edge.json.
func StartEdge(ctx context.Context, cfg EdgeConfig) (_ *EdgeWorld, err error) {
	if cfg.StateDir == "" {
		cfg.StateDir = ".twinedge"
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.ControlAddr == "" {
		cfg.ControlAddr = "127.0.0.1:0"
	}
	if cfg.Credentials.AccessKeyID == "" {
		cfg.Credentials = Credentials()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &EdgeWorld{cfg: cfg, origins: map[string]*mappedOrigin{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	d, mod, err := w.read()
	if err != nil {
		return nil, err
	}
	if err := w.mapOrigins(d); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	id := "E" + "LOCALEDGE0001"
	domain := "d" + strings.ToLower(id[1:]) + ".cloudfront.net"
	w.edge, err = edge.New(d.Config, w.edgeOptions(d, id, domain))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Source, err)
	}
	w.loaded, w.modTime = d, mod

	if w.ca, err = OpenCA(filepath.Join(cfg.StateDir, "ca")); err != nil {
		return nil, err
	}
	names := []string{domain}
	if a := d.Config.Aliases; a != nil {
		names = append(names, a.Items...)
	}
	tlsCfg, err := w.ca.ServerConfig(names)
	if err != nil {
		return nil, err
	}

	if w.viewerLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("edge address %s: %w", cfg.Addr, listenHint(err))
	}
	controlLn, err := net.Listen("tcp", cfg.ControlAddr)
	if err != nil {
		return nil, fmt.Errorf("control address %s: %w", cfg.ControlAddr, listenHint(err))
	}
	control, err := edge.OpenControl(w.edge, edge.ControlOptions{
		DistributionID: id,
		DomainName:     domain,
		Credentials:    cfg.Credentials,
		StateFile:      filepath.Join(cfg.StateDir, "edge-control.json"),
		Logger:         cfg.Logger.With("component", "control"),
	})
	if err != nil {
		controlLn.Close()
		return nil, fmt.Errorf("control API: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/twinedge/", w.adminHandler())
	mux.Handle("/", control)
	w.control = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go w.control.Serve(controlLn)
	go func() {
		defer close(w.done)
		w.edge.ServeViewers(w.viewerLn, tlsCfg)
	}()

	addr := w.viewerLn.Addr().String()
	w.file = EdgeFile{
		Edge: "http://" + addr, HTTPS: "https://" + addr, Control: "http://" + controlLn.Addr().String(),
		DistributionID: id, DomainName: domain, CACert: w.ca.CertFile, PID: os.Getpid(),
	}
	for _, o := range w.sortedOrigins() {
		w.file.Origins = append(w.file.Origins, EdgeOrigin{ID: o.id, Target: o.target, Local: o.server.URL()})
	}
	b, _ := json.MarshalIndent(w.file, "", "  ")
	if err := writeFileAtomic(filepath.Join(cfg.StateDir, EdgeFileName), append(b, '\n')); err != nil {
		return nil, fmt.Errorf("write %s: %w", EdgeFileName, err)
	}
	return w, nil
}

// Info returns what edge.json says.
func (w *EdgeWorld) Info() EdgeFile { return w.file }

// Edge returns the edge.
func (w *EdgeWorld) Edge() *edge.Edge { return w.edge }

// CA returns the local CA behind the HTTPS listener.
func (w *EdgeWorld) CA() *CA { return w.ca }

// Loaded returns the distribution as last loaded from the source.
func (w *EdgeWorld) Loaded() *source.Distribution {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loaded
}

// read loads and checks the source file.
func (w *EdgeWorld) read() (*source.Distribution, time.Time, error) {
	st, err := os.Stat(w.cfg.Source)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("source: %w", err)
	}
	data, err := os.ReadFile(w.cfg.Source)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("source: %w", err)
	}
	d, err := source.Load(data, w.cfg.Load)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", w.cfg.Source, err)
	}
	return d, st.ModTime(), nil
}

func (w *EdgeWorld) edgeOptions(d *source.Distribution, id, domain string) edge.Options {
	fns := map[string]*edge.Function{}
	for name, f := range d.Functions {
		fns[name] = &edge.Function{Name: name, Runtime: f.Runtime, Code: f.Code}
	}
	return edge.Options{
		DistributionID:          id,
		DomainName:              domain,
		Credentials:             w.cfg.Credentials,
		Resolve:                 w.resolve,
		OriginScheme:            "http",
		Logger:                  w.cfg.Logger.With("component", "edge"),
		Functions:               fns,
		JS:                      w.cfg.JS,
		Geo:                     w.cfg.Geo,
		CachePolicies:           d.CachePolicies,
		OriginRequestPolicies:   d.OriginRequestPolicies,
		ResponseHeadersPolicies: d.ResponseHeadersPolicies,
		OriginAccessControls:    d.OriginAccessControls,
	}
}

// ErrUnmappedOrigins is returned when an origin of the distribution has no --origin.
var ErrUnmappedOrigins = errors.New("origins not mapped")

// mapOrigins starts a stand-in for every origin of d, rewriting the domains of folder
// origins that are not S3 REST domains (a placeholder, a website endpoint) to one, so the
// local S3 can route and verify their requests.
func (w *EdgeWorld) mapOrigins(d *source.Distribution) error {
	var missing []string
	if d.Config.Origins == nil {
		return fmt.Errorf("the distribution has no origins")
	}
	for i := range d.Config.Origins.Items {
		o := &d.Config.Origins.Items[i]
		id := aws.ToString(o.Id)
		target, ok := w.cfg.Origins[id]
		if !ok {
			kind := "URL"
			if o.S3OriginConfig != nil {
				kind = "URL|FOLDER"
			}
			missing = append(missing, fmt.Sprintf("--origin %s=%s (%s)", id, kind, aws.ToString(o.DomainName)))
			continue
		}
		m, err := w.origin(id, target, o)
		if err != nil {
			return err
		}
		if m.rewritten != "" {
			o.DomainName = aws.String(m.rewritten)
		}
	}
	for id := range w.cfg.Origins {
		if !hasOrigin(d.Config, id) {
			return fmt.Errorf("--origin %s: the distribution has no origin with that id (it has %s)", id, strings.Join(originIDs(d.Config), ", "))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: give %s", ErrUnmappedOrigins, strings.Join(missing, " "))
	}
	return nil
}

func hasOrigin(cfg *types.DistributionConfig, id string) bool {
	for _, o := range cfg.Origins.Items {
		if aws.ToString(o.Id) == id {
			return true
		}
	}
	return false
}

func originIDs(cfg *types.DistributionConfig) []string {
	var ids []string
	for _, o := range cfg.Origins.Items {
		ids = append(ids, aws.ToString(o.Id))
	}
	return ids
}

// origin returns the stand-in of one origin, starting it on first use. A reload keeps
// the stand-ins (and their faults) of origins whose mapping is unchanged.
func (w *EdgeWorld) origin(id, target string, o *types.Origin) (*mappedOrigin, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	domain := strings.ToLower(aws.ToString(o.DomainName))
	if m, ok := w.origins[id]; ok && m.target == target && (m.domain == domain || m.rewritten == domain) {
		if m.s3 != nil {
			if err := m.sync(w.cfg.Credentials); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	m := &mappedOrigin{id: id, target: target, domain: domain}
	var h http.Handler
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		m.hostport = u.Host
		rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		}}
		m.proxy = rp
		h = rp
	} else {
		st, err := os.Stat(target)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("--origin %s=%s: neither an http(s) URL nor a folder", id, target)
		}
		if o.S3OriginConfig == nil && !strings.Contains(domain, ".s3") {
			return nil, fmt.Errorf("--origin %s=%s: a folder can stand in only for an S3 origin; give this custom origin a URL", id, target)
		}
		m.dir = target
		m.bucket, m.region = s3Domain(domain, id)
		if want := m.bucket + ".s3." + m.region + ".amazonaws.com"; domain != want {
			m.rewritten = want
		}
		s3o, err := NewS3Origin(filepath.Join(w.cfg.StateDir, "origins", sanitizeID(id)), m.region, w.cfg.Credentials)
		if err != nil {
			return nil, err
		}
		s3o.Logger = w.cfg.Logger.With("origin", id)
		if err := s3o.EnsureBucket(m.bucket); err != nil {
			return nil, fmt.Errorf("--origin %s: %w", id, err)
		}
		m.s3 = s3o
		if err := m.sync(w.cfg.Credentials); err != nil {
			return nil, err
		}
		h = s3o
		if aws.ToString(o.OriginAccessControlId) == "" {
			// No OAC: on AWS such a bucket is readable by anyone (a public-read policy, or
			// an origin access identity's grant); the stand-in signs anonymous reads itself.
			h = publicRead(s3o, w.cfg.Credentials, m.region)
		}
	}
	srv, err := Listen("127.0.0.1:0", h)
	if err != nil {
		return nil, fmt.Errorf("origin %s: %w", id, err)
	}
	if old := w.origins[id]; old != nil {
		old.server.Close()
	}
	m.server = srv
	w.origins[id] = m
	return m, nil
}

// s3Domain finds the bucket and region an S3 origin domain names
// (<bucket>.s3.<region>.amazonaws.com, <bucket>.s3.amazonaws.com); for any other domain it
// makes a bucket name from the origin id, in us-east-1.
func s3Domain(domain, id string) (bucket, region string) {
	if b, ok := virtualHostBucket(domain); ok && validBucketName(b) == nil {
		rest := strings.TrimSuffix(strings.TrimPrefix(domain, b), ".amazonaws.com")
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, ".s3"), "-")
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "."), "dualstack.")
		if rest == "" || rest == "external-1" {
			rest = "us-east-1"
		}
		return b, rest
	}
	b := strings.ToLower(sanitizeID(id))
	if len(b) < 3 {
		b += "-bucket"
	}
	if len(b) > 63 {
		b = strings.Trim(b[:63], "-.")
	}
	return b, "us-east-1"
}

func sanitizeID(id string) string {
	var sb strings.Builder
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			sb.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			sb.WriteRune(c + 'a' - 'A')
		default:
			sb.WriteByte('-')
		}
	}
	return strings.Trim(sb.String(), "-")
}

// publicRead lets unsigned GET and HEAD requests through, as a public-read bucket policy
// does, by signing them with the local account's credentials before the S3 origin sees them.
func publicRead(o http.Handler, creds aws.Credentials, region string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
			r = r.Clone(r.Context())
			if r.URL.Host == "" {
				r.URL.Host = r.Host
			}
			if err := signRequest(r.Context(), r, creds, nil, "s3", region); err != nil {
				http.Error(rw, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		o.ServeHTTP(rw, r)
	})
}

// sync makes the bucket hold exactly the folder's files, through the S3 API itself.
func (m *mappedOrigin) sync(creds aws.Credentials) error {
	want := map[string]string{}
	err := filepath.WalkDir(m.dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(m.dir, p)
		if err != nil {
			return err
		}
		want[filepath.ToSlash(rel)] = p
		return nil
	})
	if err != nil {
		return fmt.Errorf("--origin %s=%s: %w", m.id, m.dir, err)
	}
	host := m.bucket + ".s3." + m.region + ".amazonaws.com"
	keys, err := m.listKeys(creds, host)
	if err != nil {
		return fmt.Errorf("origin %s: %w", m.id, err)
	}
	for key, p := range want {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("--origin %s=%s: %w", m.id, m.dir, err)
		}
		ct := mime.TypeByExtension(filepath.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		if err := m.do(creds, http.MethodPut, host, "/"+key, data, map[string]string{"Content-Type": ct}, http.StatusOK); err != nil {
			return fmt.Errorf("origin %s: upload %s: %w", m.id, key, err)
		}
	}
	for _, key := range keys {
		if _, ok := want[key]; !ok {
			if err := m.do(creds, http.MethodDelete, host, "/"+key, nil, nil, http.StatusNoContent); err != nil {
				return fmt.Errorf("origin %s: delete %s: %w", m.id, key, err)
			}
		}
	}
	return nil
}

func (m *mappedOrigin) listKeys(creds aws.Credentials, host string) ([]string, error) {
	var keys []string
	token := ""
	for {
		q := "/?list-type=2"
		if token != "" {
			q += "&continuation-token=" + url.QueryEscape(token)
		}
		rec, err := m.call(creds, http.MethodGet, host, q, nil, nil)
		if err != nil {
			return nil, err
		}
		if rec.Code != http.StatusOK {
			return nil, fmt.Errorf("list: %d %s", rec.Code, rec.Body.String())
		}
		var out struct {
			Contents []struct{ Key string }
			Next     string `xml:"NextContinuationToken"`
		}
		if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			return nil, err
		}
		for _, c := range out.Contents {
			keys = append(keys, c.Key)
		}
		if out.Next == "" {
			return keys, nil
		}
		token = out.Next
	}
}

func (m *mappedOrigin) do(creds aws.Credentials, method, host, path string, body []byte, h map[string]string, want int) error {
	rec, err := m.call(creds, method, host, path, body, h)
	if err != nil {
		return err
	}
	if rec.Code != want {
		return fmt.Errorf("%s answered %d: %s", method, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}

// call sends one signed request to the folder's S3 origin in process.
func (m *mappedOrigin) call(creds aws.Credentials, method, host, target string, body []byte, h map[string]string) (*httptest.ResponseRecorder, error) {
	u := &url.URL{Scheme: "http", Host: host}
	path, query, _ := strings.Cut(target, "?")
	u.Path = path
	u.RawQuery = query
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if err := signRequest(context.Background(), req, creds, body, "s3", m.region); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	m.s3.ServeHTTP(rec, req)
	return rec, nil
}

// resolve maps an origin's domain to its stand-in.
func (w *EdgeWorld) resolve(domain string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	domain = strings.ToLower(domain)
	for _, m := range w.origins {
		if m.domain == domain || m.rewritten == domain {
			return m.server.Addr(), true
		}
	}
	return "", false
}

func (w *EdgeWorld) sortedOrigins() []*mappedOrigin {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*mappedOrigin, 0, len(w.origins))
	for _, m := range w.origins {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Reload reads the source again and serves it if CloudFront would accept it; otherwise the
// last good distribution keeps serving and the error says why. Functions and policies of
// the template change with it.
func (w *EdgeWorld) Reload() error {
	d, mod, err := w.read()
	if err != nil {
		return err
	}
	if err := w.mapOrigins(d); err != nil {
		return err
	}
	if err := w.edge.Reload(d.Config, w.edgeOptions(d, w.file.DistributionID, w.file.DomainName)); err != nil {
		return fmt.Errorf("%s: %w", w.cfg.Source, err)
	}
	w.mu.Lock()
	w.loaded, w.modTime = d, mod
	w.mu.Unlock()
	return nil
}

// Watch reloads the source whenever its modification time changes, until ctx ends; each
// reload's outcome goes to report (nil: served).
func (w *EdgeWorld) Watch(ctx context.Context, every time.Duration, report func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(w.cfg.Source)
		if err != nil {
			continue // an editor replacing the file; the next tick sees it
		}
		w.mu.Lock()
		changed := !st.ModTime().Equal(w.modTime)
		if changed {
			w.modTime = st.ModTime() // a refused version is reported once
		}
		w.mu.Unlock()
		if changed {
			report(w.Reload())
		}
	}
}

// Close stops the edge, the control API and every stand-in, and marks edge.json stopped.
func (w *EdgeWorld) Close() error {
	if w.viewerLn != nil {
		w.viewerLn.Close()
		<-w.done
	}
	if w.control != nil {
		w.control.Close()
	}
	for _, m := range w.sortedOrigins() {
		m.server.Close()
	}
	if w.file.PID != 0 {
		f := w.file
		f.PID = 0
		b, _ := json.MarshalIndent(f, "", "  ")
		writeFileAtomic(filepath.Join(w.cfg.StateDir, EdgeFileName), append(b, '\n'))
	}
	return nil
}

// Fail sets a fault on one origin's stand-in.
func (w *EdgeWorld) Fail(req FailRequest) error {
	m, err := w.mapped(req.Origin)
	if err != nil {
		return err
	}
	f, err := parseFault(req)
	if err != nil {
		return err
	}
	return m.server.SetFault(f)
}

// Heal clears the fault of one origin, or of all when id is empty.
func (w *EdgeWorld) Heal(id string) error {
	if id == "" {
		for _, m := range w.sortedOrigins() {
			m.server.Heal()
		}
		return nil
	}
	m, err := w.mapped(id)
	if err != nil {
		return err
	}
	m.server.Heal()
	return nil
}

func (w *EdgeWorld) mapped(id string) (*mappedOrigin, error) {
	w.mu.Lock()
	m, ok := w.origins[id]
	w.mu.Unlock()
	if !ok {
		var ids []string
		for _, o := range w.sortedOrigins() {
			ids = append(ids, o.id)
		}
		return nil, fmt.Errorf("unknown origin %q: this edge has %s", id, strings.Join(ids, ", "))
	}
	return m, nil
}

// Status reports each origin's fault.
func (w *EdgeWorld) Status() Status {
	s := Status{DistributionID: w.file.DistributionID, Edge: w.file.Edge, Control: w.file.Control, EdgeTrouble: w.edge.ServeTrouble()}
	for _, m := range w.sortedOrigins() {
		st := OriginStatus{ID: m.id, Target: m.target}
		if f, ok := m.server.Fault(); ok {
			st.Fault = &FaultStatus{Mode: string(f.Mode)}
			if f.Delay > 0 {
				st.Fault.Delay = f.Delay.String()
			}
		}
		s.Origins = append(s.Origins, st)
	}
	return s
}

func (w *EdgeWorld) adminHandler() http.Handler {
	return adminMux(w.cfg.Credentials, func(context.Context) Status { return w.Status() },
		func(req FailRequest) error {
			if req.Origin == "" {
				return fmt.Errorf("this is a `twinedge edge`: name an origin with --origin ID")
			}
			return w.Fail(req)
		},
		func(req HealRequest) error { return w.Heal(req.Origin) })
}
