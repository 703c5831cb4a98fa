package awsinfra

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/twinedge/twinedge/infra"
)

// GlobalRegion is where the global stack lives: CloudFront is a global service managed
// from us-east-1, and a certificate for a distribution must be issued there.
const GlobalRegion = "us-east-1"

// DefaultRegions are the regions used when none are given, primary first: the pair of the
// original demo (spec/origins-of-the-demo.md) and of the local world.
var DefaultRegions = []string{"us-east-1", "eu-west-2"}

// DefaultStackName prefixes every stack and named resource when no name is given.
const DefaultStackName = "twinedge"

// Template file names written by Synth.
const (
	RegionalTemplateFile = "regional.json"
	GlobalTemplateFile   = "global.json"
)

// Options say what to synthesise.
type Options struct {
	// Regions are the two regions, primary first (default DefaultRegions).
	Regions []string
	// StackName prefixes stack names and the names of resources that need one: the
	// table, the function, the CloudFront function and policies (default "twinedge").
	StackName string
	// Domain is an optional alternate domain name for the distribution. With it the global
	// stack also issues an ACM certificate (DNS validation in the hosted zone given as the
	// HostedZoneId parameter) and creates alias records, so nothing is done by hand.
	Domain string
	// HSTSIncludeSubdomains adds includeSubDomains to Strict-Transport-Security (default
	// off: with an apex Domain it would force HTTPS on every subdomain of it for a year).
	HSTSIncludeSubdomains bool
	// WriteRateLimit is the web ACL's limit of writes per client IP in WriteRateWindow
	// (default DefaultWriteRateLimit, at least MinWriteRateLimit).
	WriteRateLimit int
	// WAFCommonRules adds AWS's managed common rule set (AWSManagedRulesCommonRuleSet) to
	// the web ACL, at extra cost per request (default off).
	WAFCommonRules bool
	// ReservedConcurrency caps the API function in each region (nil:
	// DefaultReservedConcurrency; 0: uncapped).
	ReservedConcurrency *int
}

var (
	stackRE  = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]{0,39}$`)
	domainRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// withDefaults fills the defaults and validates o.
func (o Options) withDefaults() (Options, error) {
	if len(o.Regions) == 0 {
		o.Regions = DefaultRegions
	}
	if o.StackName == "" {
		o.StackName = DefaultStackName
	}
	if len(o.Regions) != 2 {
		return o, fmt.Errorf("need exactly two regions (primary, secondary), got %d", len(o.Regions))
	}
	if o.Regions[0] == o.Regions[1] {
		return o, fmt.Errorf("primary and secondary region are both %s", o.Regions[0])
	}
	for _, r := range o.Regions {
		if !infra.ValidRegion(r) {
			return o, fmt.Errorf("%q is not an AWS region name (such as us-east-1)", r)
		}
	}
	// 40 characters leave room for the longest suffix ("-security-headers") within the
	// 64-character limits of CloudFront names and function names.
	if !stackRE.MatchString(o.StackName) {
		return o, fmt.Errorf("stack name %q: use letters, digits and '-', start with a letter, at most 40 characters", o.StackName)
	}
	switch {
	case o.WriteRateLimit == 0:
		o.WriteRateLimit = DefaultWriteRateLimit
	case o.WriteRateLimit < MinWriteRateLimit || o.WriteRateLimit > 2_000_000_000:
		return o, fmt.Errorf("write rate limit %d: WAF accepts %d to 2,000,000,000 requests per %d s", o.WriteRateLimit, MinWriteRateLimit, WriteRateWindow)
	}
	if o.ReservedConcurrency == nil {
		o.ReservedConcurrency = intp(DefaultReservedConcurrency)
	} else if *o.ReservedConcurrency < 0 {
		return o, fmt.Errorf("reserved concurrency %d: use 0 (uncapped) or more", *o.ReservedConcurrency)
	}
	o.Domain = strings.ToLower(strings.TrimSuffix(o.Domain, "."))
	if o.Domain != "" && !domainRE.MatchString(o.Domain) {
		return o, fmt.Errorf("domain %q is not a DNS name", o.Domain)
	}
	return o, nil
}

// Synth renders the templates: RegionalTemplateFile, deployed once in each region, and
// GlobalTemplateFile, deployed in GlobalRegion. The result maps file name to JSON.
func Synth(opts Options) (map[string][]byte, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	regional, err := RegionalTemplate(opts)
	if err != nil {
		return nil, fmt.Errorf("regional template: %w", err)
	}
	global, err := GlobalTemplate(opts)
	if err != nil {
		return nil, fmt.Errorf("global template: %w", err)
	}
	out := map[string][]byte{}
	for name, t := range map[string]*Template{RegionalTemplateFile: regional, GlobalTemplateFile: global} {
		b, err := t.JSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// WriteDir writes the synthesised templates into dir (created if missing) and returns
// the paths written, sorted.
func WriteDir(dir string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, nil
}

// regionKey turns a region name into the part of a logical id or parameter name that
// names it: "eu-west-2" → "EuWest2" (logical ids are alphanumeric).
func regionKey(region string) string {
	var b strings.Builder
	for _, part := range strings.Split(region, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
