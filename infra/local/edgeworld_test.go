package local

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/twinedge/twinedge/edge"
	"github.com/twinedge/twinedge/edge/jsfunc"
	"github.com/twinedge/twinedge/edge/source"
)

// corpusDir holds public templates nobody here wrote; its README.md names each one's
// source and licence.
const corpusDir = "../../edge/source/testdata/corpus"

// corpusCase is one template of the corpus and what serving it must do.
type corpusCase struct {
	file     string
	resource string
	params   map[string]string
	// refused, when set, is part of the error CloudFront would also give: the template is
	// loaded but the edge refuses it, as CreateDistribution would.
	refused string
}

var corpus = []corpusCase{
	{file: "aws-cli-get-distribution-config.json"},
	{file: "secure-static-site.yaml", params: map[string]string{"CreateApex": "no", "DomainName": "example.com", "SubDomain": "www"}},
	{file: "cdk-integ-origin-group.template.json"},
	{file: "cdk-integ-distribution-function.template.json"},
	{file: "cdk-integ-distribution-policies.template.json", resource: "DistB3B78991"},
	{file: "cdk-integ-distribution-policies.template.json", resource: "Dist24014FEC1"},
	{file: "cfn-templates-Solutions-WebApp-webapp.yaml"},
	{file: "cfn-templates-Solutions-VSCode-VSCodeServer-pkg.yaml"},
	// Its CachePolicyId is a literal "rain-build-cache-policy-1" that names no managed
	// policy and no resource of the template: CloudFront answers NoSuchCachePolicy.
	{file: "cfn-templates-S3-compliant-static-website.yaml", params: map[string]string{"AppName": "app", "WebACL": "arn:aws:wafv2:us-east-1:000000000000:global/webacl/x/1"}, refused: "cache policy"},
	// A Lambda@Edge association: the local edge runs CloudFront Functions only.
	{file: "cfn-templates-Solutions-CloudFrontCustomOriginLambda-Edge-CloudFront.yaml", params: map[string]string{"VpcId": "vpc-1"}, refused: "Lambda@Edge"},
}

// TestEdgeCorpus loads each public template, validates it, serves it with every origin
// mapped to a test server or folder, and sends one request per behaviour, checking that the
// origin the template names for that behaviour answered.
func TestEdgeCorpus(t *testing.T) {
	for _, c := range corpus {
		name := strings.TrimSuffix(c.file, filepath.Ext(c.file))
		if c.resource != "" {
			name += "/" + c.resource
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			d, err := source.Load(data, source.Options{Resource: c.resource, Params: c.params})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			origins, paths := corpusOrigins(t, d.Config)
			w, err := StartEdge(context.Background(), EdgeConfig{
				Source: filepath.Join(corpusDir, c.file), Load: source.Options{Resource: c.resource, Params: c.params},
				Origins: origins, Addr: "127.0.0.1:0", StateDir: t.TempDir(), JS: jsfunc.Compile,
			})
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("want a refusal mentioning %q, got %v", c.refused, err)
				}
				t.Logf("refused, as CloudFront would: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
			defer w.Close()
			client := httpsClient(w)
			if a := d.Config.Aliases; a != nil && len(a.Items) > 0 && len(paths) > 0 {
				// An alias is answered by Host over HTTPS: the certificate names it.
				alias := a.Items[0]
				ac := httpsClient(w)
				ac.Transport.(*http.Transport).TLSClientConfig.ServerName = alias
				req, _ := http.NewRequest(http.MethodGet, w.Info().HTTPS+paths[0].path, nil)
				req.Host = alias
				resp, err := ac.Do(req)
				if err != nil {
					t.Fatalf("alias %s: %v", alias, err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("alias %s: %d", alias, resp.StatusCode)
				}
			}
			for _, p := range paths {
				url := w.Info().Edge + p.path
				if p.https {
					url = w.Info().HTTPS + p.path
				}
				resp, body := edgeGet(t, client, url)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, "origin:"+p.origin) {
					t.Errorf("%s (behaviour %s): %d %q, want 200 from origin %s", p.path, p.pattern, resp.StatusCode, limit(body), p.origin)
				}
				if p.https && resp.ProtoMajor != 2 && d.Config.HttpVersion != types.HttpVersionHttp11 {
					t.Errorf("%s: served over %s, want HTTP/2", p.path, resp.Proto)
				}
			}
		})
	}
}

// corpusPath is one request the corpus test sends: a path its behaviour matches, and the
// origin that must answer it.
type corpusPath struct {
	pattern, path, origin string
	https                 bool
}

// corpusOrigins maps every origin of cfg to a test server (custom origins) or a folder (S3
// origins) whose answers name the origin, and lists one request per behaviour.
func corpusOrigins(t *testing.T, cfg *types.DistributionConfig) (map[string]string, []corpusPath) {
	t.Helper()
	groups := map[string]string{} // group id → primary origin id
	if cfg.OriginGroups != nil {
		for _, g := range cfg.OriginGroups.Items {
			groups[aws.ToString(g.Id)] = aws.ToString(g.Members.Items[0].OriginId)
		}
	}
	var paths []corpusPath
	add := func(pattern, target string, vpp types.ViewerProtocolPolicy) {
		p := strings.ReplaceAll(strings.ReplaceAll(pattern, "*", "x"), "?", "y")
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		if p == "/" || strings.HasSuffix(p, "/") {
			p += "index.html"
		}
		if o, ok := groups[target]; ok {
			target = o
		}
		paths = append(paths, corpusPath{pattern: pattern, path: p, origin: target, https: vpp != types.ViewerProtocolPolicyAllowAll})
	}
	if cfg.CacheBehaviors != nil {
		for _, b := range cfg.CacheBehaviors.Items {
			add(aws.ToString(b.PathPattern), aws.ToString(b.TargetOriginId), b.ViewerProtocolPolicy)
		}
	}
	add("/corpus-default.html", aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId), cfg.DefaultCacheBehavior.ViewerProtocolPolicy)
	// The distribution's default root object is the first file a viewer asks for.
	if root := aws.ToString(cfg.DefaultRootObject); root != "" {
		paths = append(paths, corpusPath{pattern: "(root)", path: "/", origin: paths[len(paths)-1].origin, https: paths[len(paths)-1].https})
	}

	origins := map[string]string{}
	for _, o := range cfg.Origins.Items {
		id := aws.ToString(o.Id)
		body := "origin:" + id
		if o.S3OriginConfig != nil || strings.Contains(aws.ToString(o.DomainName), ".s3.") {
			dir := t.TempDir()
			for _, p := range append(paths, corpusPath{path: "/" + aws.ToString(cfg.DefaultRootObject)}) {
				f := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(p.path, "/")))
				if strings.HasSuffix(p.path, "/") {
					continue
				}
				os.MkdirAll(filepath.Dir(f), 0o755)
				os.WriteFile(f, []byte(body), 0o644)
			}
			origins[id] = dir
			continue
		}
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Content-Type", "text/plain")
			rw.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(rw, body+" "+r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		origins[id] = srv.URL
	}
	return origins, paths
}

func httpsClient(w *EdgeWorld) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.CA().Pool()}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func edgeGet(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestEdgeFailoverHTTPSWatch runs the CDK origin-group template: its group fails over when
// the primary is failed by origin id, over HTTPS and HTTP/2; the HTTP listener answers
// redirect-to-https behaviours with CloudFront's 301; a changed template is reloaded, and
// one CloudFront would refuse keeps the last good config serving.
func TestEdgeFailoverHTTPSWatch(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(corpusDir, "cdk-integ-origin-group.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "template.json")
	// The corpus template allows HTTP; this copy makes the default behaviour
	// redirect-to-https, as most sites are.
	tmpl := strings.Replace(string(src), `"TargetOriginId": "cloudfrontorigingroupDistributionOriginGroup10B57F1D1",
      "ViewerProtocolPolicy": "allow-all"`, `"TargetOriginId": "cloudfrontorigingroupDistributionOriginGroup10B57F1D1",
      "ViewerProtocolPolicy": "redirect-to-https"`, 1)
	if tmpl == string(src) {
		t.Fatal("template changed shape: update the test")
	}
	os.WriteFile(path, []byte(tmpl), 0o644)
	d, err := source.Load([]byte(tmpl), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	origins, _ := corpusOrigins(t, d.Config)
	w, err := StartEdge(context.Background(), EdgeConfig{Source: path, Origins: origins, Addr: "127.0.0.1:0", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c := httpsClient(w)
	const primary, secondary = "cloudfrontorigingroupDistributionOrigin137659A54", "cloudfrontorigingroupDistributionOrigin2CCE5D500"

	resp, _ := edgeGet(t, c, w.Info().Edge+"/corpus-default.html")
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), w.Info().HTTPS) {
		t.Fatalf("HTTP on a redirect-to-https behaviour: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), w.Info().HTTPS)
	}
	resp, body := edgeGet(t, c, w.Info().HTTPS+"/corpus-default.html")
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !strings.Contains(body, "origin:"+primary) {
		t.Fatalf("HTTPS: %d %s %q, want 200 over HTTP/2 from the primary", resp.StatusCode, resp.Proto, body)
	}

	if err := w.Fail(FailRequest{Origin: primary, Mode: "503"}); err != nil {
		t.Fatal(err)
	}
	resp, body = edgeGet(t, c, w.Info().HTTPS+"/uncached.html")
	if resp.StatusCode != 200 || !strings.Contains(body, "origin:"+secondary) {
		t.Fatalf("primary failed: %d %q, want 200 from the secondary", resp.StatusCode, body)
	}
	if st := w.Status(); len(st.Origins) != 2 || st.Origins[0].Fault == nil || st.Origins[0].Fault.Mode != "503" {
		t.Fatalf("status: %+v", st.Origins)
	}
	if err := w.Fail(FailRequest{Origin: "nope", Mode: "503"}); err == nil || !strings.Contains(err.Error(), primary) {
		t.Fatalf("unknown origin: %v, want an error listing the origins", err)
	}
	if err := w.Heal(""); err != nil {
		t.Fatal(err)
	}

	// The control API is the world's: the SDK reads the config and invalidates through it.
	cf := cloudfront.New(cloudfront.Options{BaseEndpoint: aws.String(w.Info().Control), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	gc, err := cf.GetDistributionConfig(t.Context(), &cloudfront.GetDistributionConfigInput{Id: aws.String(w.Info().DistributionID)})
	if err != nil || aws.ToString(gc.DistributionConfig.CallerReference) != "cfn-Distribution830FAC52" {
		t.Fatalf("GetDistributionConfig: %v %+v", err, gc)
	}
	if _, err := cf.CreateInvalidation(t.Context(), &cloudfront.CreateInvalidationInput{DistributionId: aws.String(w.Info().DistributionID),
		InvalidationBatch: &types.InvalidationBatch{CallerReference: aws.String("t"), Paths: &types.Paths{Quantity: aws.Int32(1), Items: []string{"/*"}}}}); err != nil {
		t.Fatalf("CreateInvalidation: %v", err)
	}
	if resp, _ := edgeGet(t, c, w.Info().HTTPS+"/corpus-default.html"); resp.Header.Get("X-Cache") != "Miss from cloudfront" {
		t.Fatalf("after an invalidation of /*: X-Cache %q, want a miss", resp.Header.Get("X-Cache"))
	}

	// Watch: a valid change is served; one CloudFront refuses keeps the last good one.
	os.MkdirAll(filepath.Join(origins[primary], "v2"), 0o755)
	os.WriteFile(filepath.Join(origins[primary], "v2", "x"), []byte("origin:"+primary), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan error, 4)
	go w.Watch(ctx, 20*time.Millisecond, func(err error) { reports <- err })
	write := func(s string) {
		t.Helper()
		// A distinct modification time, even on a coarse clock.
		os.WriteFile(path, []byte(s), 0o644)
		mt := time.Now().Add(time.Duration(len(reports)+1) * time.Second)
		os.Chtimes(path, mt, mt)
	}
	write(strings.Replace(tmpl, `"PathPattern": "/api"`, `"PathPattern": "/v2/*"`, 1))
	if err := waitReport(t, reports); err != nil {
		t.Fatalf("valid change: %v", err)
	}
	if got := aws.ToString(w.Edge().Config().CacheBehaviors.Items[0].PathPattern); got != "/v2/*" {
		t.Fatalf("after reload the behaviour is %q, want /v2/*", got)
	}
	write(strings.Replace(tmpl, `"Quantity": 4`, `"Quantity": 5`, 1))
	if err := waitReport(t, reports); err == nil {
		t.Fatal("a config with inconsistent quantities was served")
	}
	if got := aws.ToString(w.Edge().Config().CacheBehaviors.Items[0].PathPattern); got != "/v2/*" {
		t.Fatalf("a refused change replaced the config: behaviour %q", got)
	}
	resp, _ = edgeGet(t, c, w.Info().HTTPS+"/v2/x")
	if resp.StatusCode != 200 {
		t.Fatalf("after a refused change: %d, want the last good config serving", resp.StatusCode)
	}
}

func waitReport(t *testing.T, reports chan error) error {
	t.Helper()
	select {
	case err := <-reports:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s")
		return nil
	}
}

// TestEdgeUnmappedOrigins: every origin needs a mapping, and the error lists the flags to
// give; a mapping for an origin the distribution lacks is an error too.
func TestEdgeUnmappedOrigins(t *testing.T) {
	path := filepath.Join(corpusDir, "cdk-integ-origin-group.template.json")
	_, err := StartEdge(context.Background(), EdgeConfig{Source: path, Addr: "127.0.0.1:0", StateDir: t.TempDir()})
	if !errors.Is(err, ErrUnmappedOrigins) ||
		!strings.Contains(err.Error(), "--origin cloudfrontorigingroupDistributionOrigin137659A54=URL|FOLDER") ||
		!strings.Contains(err.Error(), "--origin cloudfrontorigingroupDistributionOrigin2CCE5D500=URL (www.example.com)") {
		t.Fatalf("got %v", err)
	}
	_, err = StartEdge(context.Background(), EdgeConfig{Source: path, Addr: "127.0.0.1:0", StateDir: t.TempDir(),
		Origins: map[string]string{"typo": "http://127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "no origin with that id") {
		t.Fatalf("got %v", err)
	}
	_, err = StartEdge(context.Background(), EdgeConfig{Source: path, Addr: "127.0.0.1:0", StateDir: t.TempDir(),
		Origins: map[string]string{"cloudfrontorigingroupDistributionOrigin137659A54": "/does/not/exist", "cloudfrontorigingroupDistributionOrigin2CCE5D500": "http://127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "neither an http(s) URL nor a folder") {
		t.Fatalf("got %v", err)
	}
}

func ExampleEdgeFile() {
	fmt.Println(EdgeFileName)
	// Output: edge.json
}

// TestEdgeGeoRestriction serves a template with a block list through `twinedge edge
// --geo`: a viewer the table places in a blocked country gets CloudFront's 403, one
// elsewhere the content (DG georestrictions).
func TestEdgeGeoRestriction(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(corpusDir, "cdk-integ-origin-group.template.json"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := strings.Replace(string(src), `"DistributionConfig": {`, `"DistributionConfig": {
      "Restrictions": {"GeoRestriction": {"RestrictionType": "blacklist", "Locations": ["DE"]}},`, 1)
	if tmpl == string(src) {
		t.Fatal("template changed shape: update the test")
	}
	path := filepath.Join(t.TempDir(), "template.json")
	os.WriteFile(path, []byte(tmpl), 0o644)
	d, err := source.Load([]byte(tmpl), source.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		country string
		status  int
	}{{"DE", http.StatusForbidden}, {"US", http.StatusOK}} {
		table, err := edge.ParseGeoTable(strings.NewReader("127.0.0.0/8 " + c.country + "\n::1 " + c.country + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		origins, _ := corpusOrigins(t, d.Config)
		w, err := StartEdge(context.Background(), EdgeConfig{Source: path, Origins: origins, Addr: "127.0.0.1:0", StateDir: t.TempDir(), Geo: table.Lookup})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := edgeGet(t, httpsClient(w), w.Info().HTTPS+"/corpus-default.html")
		w.Close()
		if resp.StatusCode != c.status || c.status == http.StatusForbidden && !strings.Contains(body, "block access from your country") {
			t.Errorf("viewer in %s: %d %q, want %d", c.country, resp.StatusCode, body, c.status)
		}
	}
}
