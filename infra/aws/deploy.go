package awsinfra

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/twinedge/twinedge/infra"
	"golang.org/x/sync/errgroup"
)

// Deploy order. The bucket policies and the function URL permissions name the
// distribution's ARN, and the distribution names the buckets and URLs: a cycle, and
// across regions, where CloudFormation cannot reference another stack. Deploy cuts it:
//
//	0. per region, in parallel: the artifacts bucket (created if missing) and the Lambda zip
//	   under its content-addressed key;
//	1. the regional stacks, in parallel, with DistributionArn as the global stack last
//	   published it: empty on the first deploy (the bucket then only denies plain HTTP and
//	   the URL has no CloudFront permission), the current ARN on later ones, so a re-run
//	   changes nothing;
//	2. the global stack in us-east-1, with each region's bucket and function URL domain
//	   from phase 1's outputs;
//	3. only when the ARN changed (first deploy, or a replaced distribution): the regional
//	   stacks again, in parallel, with the ARN, which adds the OAC statement and the two
//	   Lambda permissions.
//
// Each step is a change set: created, described (printed), then executed, or deleted in a
// dry run. An empty change set is recognised and skipped. The outputs are written to
// STATE/aws.json.

// RegionalStackName and GlobalStackName name the stacks of a deployment.
func RegionalStackName(stack string) string { return stack + "-regional" }

// GlobalStackName names the global stack (in GlobalRegion).
func GlobalStackName(stack string) string { return stack + "-global" }

// Config is the deploy settings a config file may hold (JSON). Flags override it.
type Config struct {
	// Regions, primary first (default DefaultRegions).
	Regions []string `json:"regions,omitempty"`
	// StackName prefixes the stacks (default "twinedge").
	StackName string `json:"stack,omitempty"`
	// Domain is an optional alternate domain name.
	Domain string `json:"domain,omitempty"`
	// HSTSIncludeSubdomains: see Options.
	HSTSIncludeSubdomains bool `json:"hstsIncludeSubdomains,omitempty"`
	// HostedZoneID is the Route 53 zone of Domain; required with Domain.
	HostedZoneID string `json:"hostedZoneId,omitempty"`
}

// LoadConfig reads a deploy config file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses a deploy config. Unknown keys are errors, so a misspelt setting is
// not silently ignored.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, err
	}
	if dec.More() {
		return Config{}, errors.New("more than one JSON value")
	}
	return c, nil
}

// DeployOptions configure Deploy.
type DeployOptions struct {
	// Options are the regions, stack name and domain; zero fields take the values of
	// Config, then the defaults.
	Options
	// HostedZoneID is the Route 53 hosted zone of Domain (required with Domain): the
	// certificate is validated and the alias records written there.
	HostedZoneID string
	// Config supplies values for fields left empty above (from --config).
	Config Config
	// DryRun creates and prints every change set, executes none and deletes them. Nothing
	// is uploaded and no state is written.
	DryRun bool
	// StateDir receives aws.json with the stack outputs (default ".twinedge").
	StateDir string
	// ModuleDir is the twinedge module the Lambda is built from (default ".").
	ModuleDir string
	// LambdaZip, when set, is deployed instead of building one.
	LambdaZip []byte
	// Progress receives one line per phase, planned change and stack event
	// (default os.Stderr; io.Discard for silence).
	Progress io.Writer
	// PollInterval is the wait between status checks (default 5 s).
	PollInterval time.Duration
	// WaitTimeout bounds each wait for one change set or stack operation (default
	// DefaultWaitTimeout). Past it the deploy stops with a *WaitTimeoutError;
	// CloudFormation carries on.
	WaitTimeout time.Duration
	// ContinueRollback applies the safe remedy to a stuck stack instead of reporting it:
	// ContinueUpdateRollback for UPDATE_ROLLBACK_FAILED, deletion of a ROLLBACK_FAILED
	// (failed creation) stack (stuckRemedies in stack.go).
	ContinueRollback bool
	// EndpointURL sends every AWS call to one endpoint, such as a moto_server in tests.
	// Empty means AWS, with credentials from the standard chain.
	EndpointURL string
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger

	// apiOptions are added to every AWS client (tests record the calls made).
	apiOptions []func(*middleware.Stack) error

	// templates renders the regional and global templates (default: synthTemplates).
	// Tests of the orchestration replace it with templates moto's CloudFormation can
	// execute; the product always deploys the synthesised ones.
	templates func(Options) (regional, global []byte, err error)
}

// defaultCertificateNote is printed by a deploy without --domain (global.go cites the
// CloudFront documentation).
const defaultCertificateNote = "no --domain: the distribution's *.cloudfront.net certificate lets viewers negotiate TLS 1.0 (CloudFront fixes its policy at TLSv1); --domain gets a certificate with TLSv1.2_2021"

// DefaultWaitTimeout is how long a deploy waits for one stack operation. A distribution
// is created in 5–15 minutes and an ACM certificate validates in minutes once its DNS
// record exists; 45 minutes covers both with room, and ends a wait on a validation that
// will never complete (a hosted zone the domain's registrar does not delegate to).
const DefaultWaitTimeout = 45 * time.Minute

// waitDefaults fills the poll interval (5 s) and the wait timeout (DefaultWaitTimeout).
func waitDefaults(poll, timeout time.Duration) (time.Duration, time.Duration) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	return poll, timeout
}

// synthTemplates renders the product's templates as JSON.
func synthTemplates(o Options) (regional, global []byte, err error) {
	rt, err := RegionalTemplate(o)
	if err != nil {
		return nil, nil, err
	}
	gt, err := GlobalTemplate(o)
	if err != nil {
		return nil, nil, err
	}
	if regional, err = rt.JSON(); err != nil {
		return nil, nil, err
	}
	global, err = gt.JSON()
	return regional, global, err
}

func (o DeployOptions) withDefaults() (DeployOptions, error) {
	if len(o.Regions) == 0 {
		o.Regions = o.Config.Regions
	}
	if o.StackName == "" {
		o.StackName = o.Config.StackName
	}
	if o.Domain == "" {
		o.Domain = o.Config.Domain
	}
	if o.HostedZoneID == "" {
		o.HostedZoneID = o.Config.HostedZoneID
	}
	o.HSTSIncludeSubdomains = o.HSTSIncludeSubdomains || o.Config.HSTSIncludeSubdomains
	var err error
	if o.Options, err = o.Options.withDefaults(); err != nil {
		return o, err
	}
	if o.Domain != "" && o.HostedZoneID == "" {
		return o, fmt.Errorf("a domain needs its Route 53 hosted zone id (--hosted-zone-id), so the certificate validates and the alias is created without a manual step")
	}
	if o.StateDir == "" {
		o.StateDir = ".twinedge"
	}
	if o.ModuleDir == "" {
		o.ModuleDir = "."
	}
	if o.Progress == nil {
		o.Progress = os.Stderr
	}
	o.PollInterval, o.WaitTimeout = waitDefaults(o.PollInterval, o.WaitTimeout)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.templates == nil {
		o.templates = synthTemplates
	}
	return o, nil
}

// session holds the AWS clients of a deployment, one set per region.
type session struct {
	endpoint string
	configs  map[string]aws.Config
	// owner is the account, once known (account): every S3 request then carries the
	// bucket owner condition (expectBucketOwner).
	owner string
}

func newSession(ctx context.Context, endpoint string, regions ...string) (*session, error) {
	return newSessionWith(ctx, endpoint, nil, regions...)
}

// newSessionWith is newSession with extra client middleware on every client (tests record
// the operations called through it).
func newSessionWith(ctx context.Context, endpoint string, apiOptions []func(*middleware.Stack) error, regions ...string) (*session, error) {
	s := &session{endpoint: endpoint, configs: map[string]aws.Config{}}
	for _, r := range regions {
		if _, ok := s.configs[r]; ok {
			continue
		}
		opts := []func(*config.LoadOptions) error{config.WithRegion(r)}
		if endpoint != "" {
			opts = append(opts, config.WithBaseEndpoint(endpoint))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("AWS configuration for %s: %w", r, err)
		}
		cfg.APIOptions = append(cfg.APIOptions, apiOptions...)
		s.configs[r] = cfg
	}
	return s, nil
}

func (s *session) cloudFormation(region string) *cloudformation.Client {
	return cloudformation.NewFromConfig(s.configs[region])
}

func (s *session) s3(region string) *s3.Client {
	return s3.NewFromConfig(s.configs[region], func(o *s3.Options) {
		// A single local endpoint (EndpointURL, or the SDK's standard AWS_ENDPOINT_URL
		// variables) can't serve virtual-hosted bucket names.
		o.UsePathStyle = s.endpoint != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		if s.owner != "" {
			o.APIOptions = append(o.APIOptions, expectBucketOwner(s.owner))
		}
	})
}

func (s *session) lambda(region string) *lambda.Client {
	return lambda.NewFromConfig(s.configs[region])
}

// account returns the caller's account, which from then on is the expected owner of
// every bucket the session's S3 clients reach.
func (s *session) account(ctx context.Context) (string, error) {
	if s.owner != "" {
		return s.owner, nil
	}
	for _, cfg := range s.configs {
		out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", fmt.Errorf("who am I (sts GetCallerIdentity): %w; check AWS credentials", err)
		}
		s.owner = aws.ToString(out.Account)
		return s.owner, nil
	}
	return "", errors.New("no region")
}

// Placeholders used in a dry run for values that only exist after an earlier phase has
// executed. They match the parameters' AllowedPatterns, so the change sets can be made.
func pendingSiteDomain(region string) string { return "pending.s3." + region + ".amazonaws.com" }
func pendingAPIDomain(region string) string  { return "pending.lambda-url." + region + ".on.aws" }
func pendingDistributionArn(partition, account string) string {
	return "arn:" + partition + ":cloudfront::" + account + ":distribution/EPENDING"
}

// Deploy deploys the regional stacks and the global stack in the order documented
// above and writes the outputs to StateDir/aws.json.
func Deploy(ctx context.Context, opts DeployOptions) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	out := &progress{w: opts.Progress}
	regionalJSON, globalJSON, err := opts.templates(opts.Options)
	if err != nil {
		return err
	}
	sess, err := newSessionWith(ctx, opts.EndpointURL, opts.apiOptions, append([]string{GlobalRegion}, opts.Regions...)...)
	if err != nil {
		return err
	}
	account, err := sess.account(ctx)
	if err != nil {
		return err
	}
	zip := opts.LambdaZip
	if zip == nil {
		out.phase("building %s for linux/arm64", LambdaPackage)
		if zip, err = BuildLambdaZip(ctx, opts.ModuleDir); err != nil {
			return err
		}
	}
	key := ArtifactKey(zip)

	runner := &stackRunner{clients: map[string]cfnAPI{}, poll: opts.PollInterval, out: out, dryRun: opts.DryRun, now: time.Now,
		continueRollback: opts.ContinueRollback, waitTimeout: opts.WaitTimeout}
	for r := range sess.configs {
		runner.clients[r] = sess.cloudFormation(r)
	}
	regionalName, globalName := RegionalStackName(opts.StackName), GlobalStackName(opts.StackName)
	mode := ""
	if opts.DryRun {
		mode = " (dry run: change sets are described, then deleted)"
	}

	out.phase("phase 0: Lambda artifact %s in each region%s", key, mode)
	buckets := map[string]string{}
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range opts.Regions {
		bucket := ArtifactBucketName(opts.StackName, account, r)
		buckets[r] = bucket
		b := artifactBucket{Region: r, Name: bucket, Account: account}
		g.Go(func() error { return ensureArtifact(gctx, sess.s3(r), out, b, key, zip, opts.DryRun) })
	}
	if err := g.Wait(); err != nil {
		return err
	}

	globalOut, err := runner.outputs(ctx, GlobalRegion, globalName)
	if err != nil {
		return err
	}
	distArn := globalOut[OutDistributionArn]
	// The table's deletion protection stays off while a regional stack is created
	// (ParamDeletionProtection explains why) and is on from phase 3, which therefore runs
	// after every creation.
	exists := map[string]bool{}
	for _, r := range opts.Regions {
		st, err := runner.describe(ctx, r, regionalName)
		if err != nil {
			return err
		}
		exists[r] = st != nil && st.StackStatus != cfntypes.StackStatusRollbackComplete && st.StackStatus != cfntypes.StackStatusReviewInProgress
	}
	regionalSpec := func(r, arn string, protect bool) stackSpec {
		return stackSpec{Region: r, Name: regionalName, Template: regionalJSON, Parameters: map[string]string{
			ParamPrimaryRegion: opts.Regions[0], ParamSecondaryRegion: opts.Regions[1],
			ParamTableName:      opts.StackName + "-messages",
			ParamArtifactBucket: buckets[r], ParamArtifactKey: key,
			ParamDistributionArn:    arn,
			ParamDeletionProtection: fmt.Sprint(protect),
		}}
	}
	applyRegions := func(arn string, phase3 bool) (map[string]*stackResult, error) {
		results := make(map[string]*stackResult, len(opts.Regions))
		res := make([]*stackResult, len(opts.Regions))
		g, gctx := errgroup.WithContext(ctx)
		for i, r := range opts.Regions {
			g.Go(func() (err error) {
				res[i], err = runner.apply(gctx, regionalSpec(r, arn, phase3 || exists[r]))
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for i, r := range opts.Regions {
			results[r] = res[i]
		}
		return results, nil
	}

	arnNote := distArn
	if arnNote == "" {
		arnNote = "none yet"
	}
	out.phase("phase 1: regional stacks %s in %v, distribution %s%s", regionalName, opts.Regions, arnNote, mode)
	regional, err := applyRegions(distArn, false)
	if err != nil {
		return err
	}

	out.phase("phase 2: global stack %s in %s%s", globalName, GlobalRegion, mode)
	if opts.Domain == "" {
		out.printf(GlobalRegion, globalName, "%s", defaultCertificateNote)
	}
	globalParams := map[string]string{}
	if opts.Domain != "" {
		globalParams[ParamHostedZoneID] = opts.HostedZoneID
	}
	for _, r := range opts.Regions {
		o := regional[r].Outputs
		site, api := o[OutSiteBucketDomain], o[OutAPIDomain]
		if site == "" || api == "" {
			if !opts.DryRun {
				return fmt.Errorf("regional stack %s in %s has no %s/%s output", regionalName, r, OutSiteBucketDomain, OutAPIDomain)
			}
			out.printf(r, regionalName, "not deployed yet: the global change set uses placeholder origin domains")
			site, api = pendingSiteDomain(r), pendingAPIDomain(r)
		}
		globalParams[ParamSiteDomain(r)], globalParams[ParamAPIDomain(r)] = site, api
	}
	global, err := runner.apply(ctx, stackSpec{Region: GlobalRegion, Name: globalName, Template: globalJSON, Parameters: globalParams})
	if err != nil {
		return err
	}

	newArn := global.Outputs[OutDistributionArn]
	created := slices.ContainsFunc(opts.Regions, func(r string) bool { return regional[r].Created })
	switch {
	case newArn == distArn && newArn != "" && !created:
		out.phase("phase 3: regional stacks already name distribution %s: nothing to do", newArn)
	case opts.DryRun:
		out.phase("phase 3: regional stacks would be updated with the distribution ARN created in phase 2 (bucket policy statement for OAC, two Lambda permissions)")
		existing := slices.ContainsFunc(opts.Regions, func(r string) bool { return !regional[r].Created })
		if existing {
			planned := newArn
			if planned == "" {
				planned = pendingDistributionArn(Partition(GlobalRegion), account)
			}
			if _, err := applyRegions(planned, true); err != nil {
				return err
			}
		}
	default:
		if newArn == "" {
			return fmt.Errorf("global stack %s has no %s output", globalName, OutDistributionArn)
		}
		out.phase("phase 3: regional stacks %s: allow distribution %s, protect the table", regionalName, newArn)
		if regional, err = applyRegions(newArn, true); err != nil {
			return err
		}
	}
	if opts.DryRun {
		out.phase("dry run complete: nothing was executed")
		return nil
	}

	st := &State{StackName: opts.StackName, Account: account, DistributionID: global.Outputs[OutDistributionID], DistributionArn: newArn,
		DomainName: global.Outputs[OutDistributionDomain], LogBucket: global.Outputs[OutLogBucket], RedirectStoreArn: global.Outputs[OutRedirectStoreArn]}
	if opts.Domain != "" {
		st.Aliases = []string{opts.Domain}
	}
	for i, r := range opts.Regions {
		o := regional[r].Outputs
		st.Regions = append(st.Regions, RegionState{
			Name: r, Primary: i == 0, Stack: regionalName,
			Bucket: o[OutSiteBucket], BucketDomain: o[OutSiteBucketDomain],
			FunctionName: o[OutFunctionName], FunctionURL: o[OutFunctionURL], APIDomain: o[OutAPIDomain],
			Table: o[OutTableName], ArtifactBucket: buckets[r], ArtifactKey: key, ReleasesBucket: o[OutReleasesBucket], LogBucket: o[OutLogBucket],
		})
	}
	path, err := WriteState(opts.StateDir, st)
	if err != nil {
		return err
	}
	out.phase("deployed: https://%s (distribution %s); outputs in %s", st.DomainName, st.DistributionID, path)
	return nil
}

// StateFile is the name, inside the state directory, of the deployed stacks' outputs.
const StateFile = "aws.json"

// State is what Deploy writes to STATE/aws.json for `twinedge release`, `fail` and `heal`.
// Keys shared with world.json (distributionId, regions[].name/primary/bucket) mean the same.
type State struct {
	StackName string `json:"stack"`
	// Account owns every resource of the deployment; S3 calls name it as the expected
	// bucket owner. Empty in files written before it was recorded (then STS is asked).
	Account         string   `json:"account,omitempty"`
	DistributionID  string   `json:"distributionId"`
	DistributionArn string   `json:"distributionArn"`
	DomainName      string   `json:"domainName"`
	Aliases         []string `json:"aliases,omitempty"`
	// LogBucket receives CloudFront's access logs (global stack).
	LogBucket string `json:"logBucket,omitempty"`
	// RedirectStoreArn is the KeyValueStore the release writes the site's redirects to
	// (global stack); empty in files written before it existed (then a site with a
	// _redirects file is refused until the next deploy).
	RedirectStoreArn string        `json:"redirectStoreArn,omitempty"`
	Regions          []RegionState `json:"regions"`
}

// RegionState is one region's deployed resources.
type RegionState struct {
	Name           string `json:"name"`
	Primary        bool   `json:"primary"`
	Stack          string `json:"stack"`
	Bucket         string `json:"bucket"`
	BucketDomain   string `json:"bucketDomain"`
	FunctionName   string `json:"functionName"`
	FunctionURL    string `json:"functionUrl"`
	APIDomain      string `json:"apiDomain"`
	Table          string `json:"table"`
	ArtifactBucket string `json:"artifactBucket"`
	// ReleasesBucket holds the release records and rollback copies (build.Target's
	// RecordBucket), made by the regional stack; empty in files written before it was
	// (then the release derives a name).
	ReleasesBucket string `json:"releasesBucket,omitempty"`
	// LogBucket receives the server access logs of the region's buckets.
	LogBucket   string `json:"logBucket,omitempty"`
	ArtifactKey string `json:"artifactKey"`
}

// Region returns the state of the named region.
func (s *State) Region(name string) (RegionState, bool) {
	for _, r := range s.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return RegionState{}, false
}

// WriteState writes s to dir/aws.json atomically and returns the path.
func WriteState(dir string, s *State) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// ReadState reads dir/aws.json, as written by Deploy.
func ReadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s not found: run twinedge deploy first", path)
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("corrupt %s: %w (run twinedge deploy again to rewrite it)", path, err)
	}
	return s, nil
}

// ParseState decodes and validates an aws.json document as Deploy writes it.
func ParseState(b []byte) (*State, error) {
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	switch {
	case !infra.ValidDistributionID(s.DistributionID):
		return nil, fmt.Errorf("invalid distributionId %q", s.DistributionID)
	case strings.ContainsAny(s.DomainName, "/:@ \t\n"):
		return nil, fmt.Errorf("invalid domainName %q", s.DomainName)
	case len(s.Regions) != 2:
		return nil, fmt.Errorf("want 2 regions, got %d", len(s.Regions))
	case s.Regions[0].Name == s.Regions[1].Name || s.Regions[0].Primary == s.Regions[1].Primary:
		return nil, errors.New("want two different regions, one of them primary")
	}
	for _, r := range s.Regions {
		if !infra.ValidRegion(r.Name) {
			return nil, fmt.Errorf("invalid region %q", r.Name)
		}
		if r.Bucket == "" {
			return nil, fmt.Errorf("region %s has no bucket", r.Name)
		}
	}
	return &s, nil
}

// session opens the AWS clients for acting on the deployment in regions: S3 calls carry
// the deployment's account as the expected bucket owner (asked of STS when an older
// aws.json does not record it).
func (s *State) session(ctx context.Context, opts AccessOptions, regions ...string) (*session, error) {
	sess, err := newSessionWith(ctx, opts.EndpointURL, opts.apiOptions, regions...)
	if err != nil {
		return nil, err
	}
	sess.owner = s.Account
	if _, err := sess.account(ctx); err != nil {
		return nil, err
	}
	return sess, nil
}
