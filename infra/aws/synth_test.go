package awsinfra

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twinedge/twinedge/infra"
	"github.com/twinedge/twinedge/internal/testtool"
)

var update = flag.Bool("update", false, "rewrite the golden templates under testdata/")

// synthCases are the option sets whose templates are kept as golden files and linted.
var synthCases = []struct {
	name string
	opts Options
}{
	{"default", Options{}},
	{"domain", Options{Domain: "www.example.org", StackName: "demo", Regions: []string{"eu-west-1", "us-west-2"}}},
}

func synth(t *testing.T, opts Options) map[string][]byte {
	t.Helper()
	files, err := Synth(opts)
	if err != nil {
		t.Fatalf("Synth(%+v): %v", opts, err)
	}
	if len(files) != 2 || files[RegionalTemplateFile] == nil || files[GlobalTemplateFile] == nil {
		t.Fatalf("Synth wrote %d files, want %s and %s", len(files), RegionalTemplateFile, GlobalTemplateFile)
	}
	return files
}

func TestSynthGolden(t *testing.T) {
	for _, c := range synthCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", c.name)
			files := synth(t, c.opts)
			if *update {
				if _, err := WriteDir(dir, files); err != nil {
					t.Fatal(err)
				}
			}
			for name, got := range files {
				want, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatalf("%v (run go test ./infra/aws -run TestSynthGolden -update)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs from the golden file (-want +got); run with -update if intended:\n%s", name, diff)
				}
			}
		})
	}
}

func TestSynthIsDeterministic(t *testing.T) {
	a, b := synth(t, Options{}), synth(t, Options{})
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// TestCFNLint runs AWS's linter on every synthesised template, in every region a template
// may be deployed in (one cfn-lint run: it is slow to start). No error, no warning and no
// informational message passes; a deliberate exception must be a cfn-lint ignore in the
// resource's Metadata, next to its reason. A copy of the global template with a misspelt
// property (the API's spelling of the IPv6 switch) is linted in the same run and must be
// reported, so the test is known to be able to fail.
func TestCFNLint(t *testing.T) {
	lint := testtool.Require(t, "cfn-lint")
	dir := t.TempDir()
	var paths, regions []string
	for _, c := range synthCases {
		opts, _ := c.opts.withDefaults()
		files := synth(t, c.opts)
		p, err := WriteDir(filepath.Join(dir, c.name), files)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p...)
		for _, r := range append(opts.Regions, GlobalRegion) {
			if !slices.Contains(regions, r) {
				regions = append(regions, r)
			}
		}
		if c.name == "default" {
			b := files[GlobalTemplateFile]
			bad := bytes.Replace(b, []byte(`"IPV6Enabled"`), []byte(`"IsIPV6Enabled"`), 1)
			if bytes.Equal(b, bad) {
				t.Fatal("global template has no IPV6Enabled property")
			}
			p := filepath.Join(dir, "mutant.json")
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	out, _ := runLint(lint, paths, regions)
	var caught bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, filepath.Join(dir, "mutant.json")):
			caught = caught || strings.Contains(line, "IsIPV6Enabled")
		default:
			t.Errorf("cfn-lint: %s", strings.TrimPrefix(line, dir+"/"))
		}
	}
	if !caught {
		t.Errorf("cfn-lint did not report the misspelt property in mutant.json; output:\n%s", out)
	}
}

func runLint(lint string, paths, regions []string) ([]byte, error) {
	args := []string{"--format", "parseable", "--include-checks", "I", "--regions"}
	args = append(args, regions...)
	args = append(args, "--")
	args = append(args, paths...)
	return exec.Command(lint, args...).CombinedOutput()
}

// decode reads a template as plain data, the way CloudFormation would.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded template: at(m, "Resources", "Distribution", "Properties").
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %v", path, path[:i])
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path, k)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no index %d", path, k)
			}
			v = l[k]
		}
	}
	return v
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGlobalTemplateDistribution(t *testing.T) {
	for _, c := range synthCases {
		t.Run(c.name, func(t *testing.T) {
			opts, _ := c.opts.withDefaults()
			g := decode(t, synth(t, c.opts)[GlobalTemplateFile])
			dc := at(t, g, "Resources", "Distribution", "Properties", "DistributionConfig").(map[string]any)

			origins := map[string]map[string]any{}
			for _, o := range dc["Origins"].([]any) {
				o := o.(map[string]any)
				origins[o["Id"].(string)] = o
				// Each origin's domain comes from a parameter filled with a regional output.
				ref, _ := o["DomainName"].(map[string]any)["Ref"].(string)
				if _, ok := g["Parameters"].(map[string]any)[ref]; !ok {
					t.Errorf("origin %s: DomainName %v is not a Ref to a template parameter", o["Id"], o["DomainName"])
				}
			}
			if len(origins) != 4 {
				t.Fatalf("want 4 origins (2 buckets, 2 function URLs), got %d", len(origins))
			}

			targets := map[string]bool{}
			for id := range origins {
				targets[id] = true
			}
			groups := at(t, dc, "OriginGroups", "Items").([]any)
			if len(groups) != 2 {
				t.Fatalf("want groups site and api, got %d groups", len(groups))
			}
			for _, gr := range groups {
				id := at(t, gr, "Id").(string)
				targets[id] = true
				members := at(t, gr, "Members", "Items").([]any)
				want := []string{opts.Regions[0], opts.Regions[1]}
				for i, m := range members {
					oid := at(t, m, "OriginId").(string)
					o, ok := origins[oid]
					if !ok {
						t.Fatalf("group %s: member %s is not an origin", id, oid)
					}
					// Every origin in a group signs its requests with an OAC.
					oacRes := idSiteOAC
					if id == infra.APIGroupID {
						oacRes = idAPIOAC
					}
					if got, want := asJSON(o["OriginAccessControlId"]), asJSON(GetAtt(oacRes, "Id")); got != want {
						t.Errorf("origin %s: OriginAccessControlId = %s, want %s", oid, got, want)
					}
					if !strings.HasSuffix(oid, want[i]) {
						t.Errorf("group %s member %d = %s, want the origin of %s (primary first)", id, i, oid, want[i])
					}
				}
				codes := asJSON(at(t, gr, "FailoverCriteria", "StatusCodes", "Items"))
				if codes != asJSON(infra.FailoverStatusCodes) {
					t.Errorf("group %s fails over on %s, want %v", id, codes, infra.FailoverStatusCodes)
				}
			}
			for id, o := range origins {
				if s, ok := o["S3OriginConfig"].(map[string]any); ok {
					if oai, ok := s["OriginAccessIdentity"]; !ok || oai != "" {
						t.Errorf("origin %s: S3OriginConfig.OriginAccessIdentity must be present and empty with OAC, got %v", id, oai)
					}
				}
			}

			def := dc["DefaultCacheBehavior"].(map[string]any)
			if def["TargetOriginId"] != infra.SiteGroupID {
				t.Errorf("default behaviour targets %v, want the site group", def["TargetOriginId"])
			}
			fa := asJSON(def["FunctionAssociations"])
			if want := asJSON([]any{map[string]any{"EventType": "viewer-request", "FunctionARN": GetAtt(idSiteFunction, "FunctionMetadata.FunctionARN")}}); fa != want {
				t.Errorf("default FunctionAssociations = %s, want %s", fa, want)
			}
			if asJSON(def["ResponseHeadersPolicyId"]) != asJSON(Ref(idHeadersPolicy)) {
				t.Errorf("default ResponseHeadersPolicyId = %v, want the stack's policy", def["ResponseHeadersPolicyId"])
			}

			var patterns []string
			for _, b := range dc["CacheBehaviors"].([]any) {
				b := b.(map[string]any)
				p := b["PathPattern"].(string)
				patterns = append(patterns, p)
				if !targets[b["TargetOriginId"].(string)] {
					t.Errorf("%s targets %v, which is no origin or group", p, b["TargetOriginId"])
				}
				if strings.HasPrefix(p, "/api/") {
					if b["CachePolicyId"] != infra.CachingDisabled {
						t.Errorf("%s: CachePolicyId %v, want CachingDisabled", p, b["CachePolicyId"])
					}
					// Writes go to the region-pinned paths (one origin each); the group
					// behaviour serves reads only, as CloudFront requires of a behaviour
					// bound to an origin group (aws/aws-cdk#32450).
					allowed := toStrings(b["AllowedMethods"])
					if p == "/api/*" {
						if want := []string{"GET", "HEAD", "OPTIONS"}; !slices.Equal(allowed, want) {
							t.Errorf("%s: AllowedMethods %v, want %v (it targets the api origin group)", p, allowed, want)
						}
					} else if !slices.Contains(allowed, "POST") {
						t.Errorf("%s: AllowedMethods %v lacks POST", p, allowed)
					}
					if b["OriginRequestPolicyId"] != infra.AllViewerExceptHostHeader {
						t.Errorf("%s: OriginRequestPolicyId %v, want AllViewerExceptHostHeader (Host must stay the URL's)", p, b["OriginRequestPolicyId"])
					}
				}
			}
			// CloudFront takes the first matching pattern: the pinned paths must come first.
			apiAt := slices.Index(patterns, "/api/*")
			for _, r := range opts.Regions {
				i := slices.Index(patterns, "/api/r/"+r+"/*")
				if i < 0 || apiAt < 0 || i > apiAt {
					t.Errorf("behaviours %v: /api/r/%s/* must exist and come before /api/*", patterns, r)
				}
			}

			vc := dc["ViewerCertificate"].(map[string]any)
			if c.opts.Domain == "" {
				if vc["CloudFrontDefaultCertificate"] != true {
					t.Errorf("without a domain the default certificate is used, got %v", vc)
				}
			} else {
				if asJSON(vc["AcmCertificateArn"]) != asJSON(Ref(idCertificate)) || vc["SslSupportMethod"] != "sni-only" {
					t.Errorf("with a domain the ACM certificate is used over SNI, got %v", vc)
				}
				if asJSON(dc["Aliases"]) != asJSON([]string{c.opts.Domain}) {
					t.Errorf("Aliases = %v, want [%s]", dc["Aliases"], c.opts.Domain)
				}
				cert := at(t, g, "Resources", idCertificate, "Properties").(map[string]any)
				if cert["ValidationMethod"] != "DNS" || asJSON(at(t, cert, "DomainValidationOptions", 0, "HostedZoneId")) != asJSON(Ref(ParamHostedZoneID)) {
					t.Errorf("certificate must validate by DNS in the given zone: %v", cert)
				}
			}

			fn := at(t, g, "Resources", idSiteFunction, "Properties").(map[string]any)
			if fn["FunctionCode"] != infra.SiteFunctionJS || fn["AutoPublish"] != true || at(t, fn, "FunctionConfig", "Runtime") != "cloudfront-js-2.0" {
				t.Errorf("site function must publish infra.SiteFunctionJS on cloudfront-js-2.0: %v", fn)
			}
			// The redirect store is the function's, so only the behaviours running the
			// function (the default one, not /api/*) read it.
			if kv := asJSON(at(t, fn, "FunctionConfig", "KeyValueStoreAssociations")); kv != asJSON([]any{map[string]any{"KeyValueStoreARN": GetAtt(idRedirectStore, "Arn")}}) {
				t.Errorf("site function KeyValueStoreAssociations = %s, want the redirect store", kv)
			}
			if store := at(t, g, "Resources", idRedirectStore).(map[string]any); store["Type"] != "AWS::CloudFront::KeyValueStore" {
				t.Errorf("redirect store %v", store)
			}
			if c.opts.StackName == "" && fn["Name"] != infra.SiteFunctionName {
				t.Errorf("function name %v, want %s", fn["Name"], infra.SiteFunctionName)
			}
			for id, typ := range map[string]string{idSiteOAC: "s3", idAPIOAC: "lambda"} {
				cfg := at(t, g, "Resources", id, "Properties", "OriginAccessControlConfig").(map[string]any)
				if cfg["OriginAccessControlOriginType"] != typ || cfg["SigningBehavior"] != "always" || cfg["SigningProtocol"] != "sigv4" {
					t.Errorf("%s: %v, want type %s signing always with sigv4", id, cfg, typ)
				}
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestRegionalTemplate(t *testing.T) {
	r := decode(t, synth(t, Options{})[RegionalTemplateFile])
	res := r["Resources"].(map[string]any)
	distArn := asJSON(Ref(ParamDistributionArn))

	bucket := at(t, res, idSiteBucket, "Properties").(map[string]any)
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if at(t, bucket, "PublicAccessBlockConfiguration", k) != true {
			t.Errorf("bucket: %s is not true", k)
		}
	}
	if at(t, bucket, "VersioningConfiguration", "Status") != "Enabled" {
		t.Error("bucket versioning is not enabled")
	}
	if at(t, bucket, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm") != "AES256" {
		t.Error("bucket has no default encryption")
	}

	// The bucket policy denies plain HTTP and lets only this distribution read, once known.
	stmts := at(t, res, idSiteBucketPolicy, "Properties", "PolicyDocument", "Statement").([]any)
	var tls, oac bool
	for _, s := range stmts {
		js := asJSON(s)
		if strings.Contains(js, `"aws:SecureTransport":"false"`) && strings.Contains(js, `"Effect":"Deny"`) {
			tls = true
		}
		if cond, ok := s.(map[string]any)["Fn::If"].([]any); ok && cond[0] == condHasDistribution {
			allow := asJSON(cond[1])
			if strings.Contains(allow, `"AWS:SourceArn":`+distArn) && strings.Contains(allow, "cloudfront.amazonaws.com") &&
				strings.Contains(allow, `"Action":"s3:GetObject"`) && asJSON(cond[2]) == asJSON(NoValue) {
				oac = true
			}
		}
	}
	if !tls || !oac {
		t.Errorf("bucket policy: TLS-only deny %v, OAC allow naming the distribution %v\n%s", tls, oac, asJSON(stmts))
	}

	fn := at(t, res, idAPIFunction, "Properties").(map[string]any)
	if fn["Runtime"] != "provided.al2023" || asJSON(fn["Architectures"]) != `["arm64"]` || fn["Handler"] != "bootstrap" {
		t.Errorf("function: runtime %v, architectures %v, handler %v", fn["Runtime"], fn["Architectures"], fn["Handler"])
	}
	if at(t, fn, "Environment", "Variables", FailEnv) != "0" {
		t.Errorf("function must start with %s=0", FailEnv)
	}
	if at(t, res, idAPIFunctionURL, "Properties", "AuthType") != "AWS_IAM" {
		t.Error("function URL must use AWS_IAM (OAC signs the requests)")
	}
	for id, action := range map[string]string{idAPIURLPermission: "lambda:InvokeFunctionUrl", idAPIFuncPermission: "lambda:InvokeFunction"} {
		p := at(t, res, id).(map[string]any)
		props := p["Properties"].(map[string]any)
		if props["Action"] != action || props["Principal"] != "cloudfront.amazonaws.com" || asJSON(props["SourceArn"]) != distArn || p["Condition"] != condHasDistribution {
			t.Errorf("%s: %v", id, p)
		}
	}

	// Least privilege: three item actions on this table and its indexes, logs to its group.
	pols := at(t, res, idAPIRole, "Properties", "Policies").([]any)
	var actions []string
	for _, p := range pols {
		for _, s := range at(t, p, "PolicyDocument", "Statement").([]any) {
			actions = append(actions, toStrings(at(t, s, "Action"))...)
			if strings.Contains(asJSON(at(t, s, "Resource")), "*\"") && !strings.Contains(asJSON(at(t, s, "Resource")), "/index/*") {
				t.Errorf("role statement on a wildcard resource: %s", asJSON(s))
			}
		}
	}
	slices.Sort(actions)
	if want := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "logs:CreateLogStream", "logs:PutLogEvents"}; !slices.Equal(actions, want) {
		t.Errorf("role actions %v, want %v", actions, want)
	}
	if at(t, res, idAPILogGroup, "Properties", "RetentionInDays") != float64(LogRetentionDays) {
		t.Error("log group has no retention")
	}

	table := at(t, res, idTable).(map[string]any)
	if table["Type"] != "AWS::DynamoDB::GlobalTable" || table["Condition"] != condIsPrimary {
		t.Errorf("table: type %v condition %v, want a global table in the primary's stack only", table["Type"], table["Condition"])
	}
	var replicas []string
	for _, rep := range at(t, table, "Properties", "Replicas").([]any) {
		replicas = append(replicas, asJSON(at(t, rep, "Region")))
	}
	if want := []string{asJSON(Ref(ParamPrimaryRegion)), asJSON(Ref(ParamSecondaryRegion))}; !slices.Equal(replicas, want) {
		t.Errorf("replicas %v, want %v", replicas, want)
	}
	params := r["Parameters"].(map[string]any)
	if at(t, params, ParamPrimaryRegion, "Default") != DefaultRegions[0] || at(t, params, ParamSecondaryRegion, "Default") != DefaultRegions[1] {
		t.Errorf("region parameters default to %v", DefaultRegions)
	}
	if at(t, params, ParamDistributionArn, "Default") != "" {
		t.Error("DistributionArn must default to empty: the first deploy has no distribution yet")
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"one region", Options{Regions: []string{"us-east-1"}}, "exactly two"},
		{"same region", Options{Regions: []string{"us-east-1", "us-east-1"}}, "both"},
		{"bad region", Options{Regions: []string{"us-east-1", "moon"}}, "not an AWS region"},
		{"bad stack", Options{StackName: "1st"}, "stack name"},
		{"long stack", Options{StackName: strings.Repeat("a", 41)}, "stack name"},
		{"bad domain", Options{Domain: "not a domain"}, "not a DNS name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Synth(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Synth(%+v) = %v, want an error containing %q", c.opts, err, c.want)
			}
		})
	}
}

func TestRegionKey(t *testing.T) {
	for in, want := range map[string]string{"us-east-1": "UsEast1", "eu-west-2": "EuWest2", "ap-southeast-3": "ApSoutheast3"} {
		if got := regionKey(in); got != want {
			t.Errorf("regionKey(%q) = %q, want %q", in, got, want)
		}
	}
}
