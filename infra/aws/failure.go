package awsinfra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/twinedge/twinedge/infra"
)

// Failure switches for demonstrations on a real account. FailAWS breaks one region the
// way an outage looks from CloudFront: its bucket answers 403 to the distribution (a
// failover status, infra.FailoverStatusCodes), its API answers 503, or both. HealAWS
// undoes both. Cached objects stay cached: invalidate (twinedge release or drill) to make the
// edge go back to the origins.
//
// Both act outside CloudFormation, so the stacks drift until healed. A deploy while a
// region is failed keeps the bucket's deny statement (the policy resource only changes
// when its template or parameters do) and resets the API switch whenever the function
// resource is updated.

// SidFailDrill is the Sid of the statement FailAWS adds to a bucket policy.
const SidFailDrill = "TwinedgeFailDrill"

// AccessOptions say where a deployment is and how to reach AWS.
type AccessOptions struct {
	// StateDir holds aws.json, written by Deploy (default ".twinedge").
	StateDir string
	// EndpointURL sends every call to one endpoint (moto_server in tests); empty means AWS.
	EndpointURL string

	// apiOptions are added to every AWS client (tests record the calls made).
	apiOptions []func(*middleware.Stack) error
}

// lambdaAPI is the part of the Lambda client the failure switch uses.
type lambdaAPI interface {
	GetFunctionConfiguration(context.Context, *lambda.GetFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambda.UpdateFunctionConfigurationInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
}

var _ lambdaAPI = (*lambda.Client)(nil)

// FailAWS fails target in region (infra.ParseTarget: origin, api, or all for ""): for
// the origin, a Deny for CloudFront in its bucket policy; for the API,
// TWINEDGE_API_FAIL=1 on its function. The other part is left as it is. It is idempotent.
func FailAWS(ctx context.Context, opts AccessOptions, region, target string) error {
	t, err := infra.ParseTarget(target)
	if err != nil {
		return err
	}
	return switchRegion(ctx, opts, region, true, t != infra.TargetAPI, t != infra.TargetOrigin)
}

// HealAWS undoes FailAWS in region, or in every region when region is empty: both the
// bucket policy and the API switch.
func HealAWS(ctx context.Context, opts AccessOptions, region string) error {
	return switchRegion(ctx, opts, region, false, true, true)
}

func switchRegion(ctx context.Context, opts AccessOptions, region string, fail, origin, api bool) error {
	if opts.StateDir == "" {
		opts.StateDir = ".twinedge"
	}
	st, err := ReadState(opts.StateDir)
	if err != nil {
		return err
	}
	var targets []RegionState
	for _, r := range st.Regions {
		if r.Name == region || (region == "" && !fail) {
			targets = append(targets, r)
		}
	}
	if len(targets) == 0 {
		var names []string
		for _, r := range st.Regions {
			names = append(names, r.Name)
		}
		return fmt.Errorf("region %q is not deployed (deployed: %v)", region, names)
	}
	var regions []string
	for _, r := range targets {
		regions = append(regions, r.Name)
	}
	sess, err := st.session(ctx, opts, regions...)
	if err != nil {
		return err
	}
	for _, r := range targets {
		if origin {
			if err := setBucketDeny(ctx, sess.s3(r.Name), r.Bucket, Partition(r.Name), fail); err != nil {
				return fmt.Errorf("%s: bucket %s: %w", r.Name, r.Bucket, err)
			}
		}
		if api {
			if r.FunctionName == "" {
				return fmt.Errorf("%s: aws.json names no function: run twinedge deploy again", r.Name)
			}
			if err := setAPIFail(ctx, sess.lambda(r.Name), r.FunctionName, fail); err != nil {
				return fmt.Errorf("%s: function %s: %w", r.Name, r.FunctionName, err)
			}
		}
	}
	return nil
}

// bucketPolicyDoc is a bucket policy as S3 returns it. Statement may be one object or a
// list; it is always written back as a list.
type bucketPolicyDoc struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id,omitempty"`
	Statement []Statement `json:"Statement"`
}

func (d *bucketPolicyDoc) UnmarshalJSON(b []byte) error {
	var raw struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.Version, d.ID = raw.Version, raw.ID
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var s Statement
		if err := json.Unmarshal(raw.Statement, &s); err != nil {
			return err
		}
		d.Statement = []Statement{s}
		return nil
	}
	return json.Unmarshal(raw.Statement, &d.Statement)
}

// DenyCloudFrontStatement is the statement FailAWS adds: an explicit Deny beats the OAC
// Allow, so S3 answers the distribution 403 for every object.
func DenyCloudFrontStatement(partition, bucket string) Statement {
	return Statement{
		Sid: SidFailDrill, Effect: "Deny", Principal: cloudFrontPrincipal, Action: "s3:GetObject",
		Resource: "arn:" + partition + ":s3:::" + bucket + "/*",
	}
}

// withFailDrill returns the policy with the drill statement added (fail) or removed.
func withFailDrill(policy []byte, partition, bucket string, fail bool) ([]byte, bool, error) {
	var doc bucketPolicyDoc
	if len(policy) > 0 {
		if err := json.Unmarshal(policy, &doc); err != nil {
			return nil, false, fmt.Errorf("read bucket policy: %w", err)
		}
	}
	if doc.Version == "" {
		doc.Version = "2012-10-17"
	}
	i := slices.IndexFunc(doc.Statement, func(s Statement) bool { return s.Sid == SidFailDrill })
	switch {
	case fail && i >= 0, !fail && i < 0:
		return policy, false, nil
	case fail:
		doc.Statement = append(doc.Statement, DenyCloudFrontStatement(partition, bucket))
	default:
		doc.Statement = slices.Delete(doc.Statement, i, i+1)
	}
	b, err := json.Marshal(doc)
	return b, true, err
}

func setBucketDeny(ctx context.Context, api s3API, bucket, partition string, fail bool) error {
	var current []byte
	out, err := api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucket)})
	switch {
	case err == nil:
		current = []byte(aws.ToString(out.Policy))
	case isNoPolicy(err):
	default:
		return fmt.Errorf("get policy: %w", err)
	}
	next, changed, err := withFailDrill(current, partition, bucket, fail)
	if err != nil || !changed {
		return err
	}
	// The template's policy always keeps the TLS-only Deny, so healing never leaves an
	// empty policy to delete.
	if _, err := api.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(next))}); err != nil {
		return fmt.Errorf("put policy: %w", err)
	}
	return nil
}

func isNoPolicy(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucketPolicy"
}

func setAPIFail(ctx context.Context, api lambdaAPI, function string, fail bool) error {
	cfg, err := api.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(function)})
	if err != nil {
		return err
	}
	// UpdateFunctionConfiguration replaces the whole environment: carry the rest over.
	vars := map[string]string{}
	if cfg.Environment != nil {
		for k, v := range cfg.Environment.Variables {
			vars[k] = v
		}
	}
	want := "0"
	if fail {
		want = "1"
	}
	if vars[FailEnv] == want {
		return nil
	}
	vars[FailEnv] = want
	if _, err = api.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(function),
		Environment:  &lambdatypes.Environment{Variables: vars},
	}); err != nil {
		return err
	}
	// The new environment serves once the update has finished; a second update while it
	// runs is refused (ResourceConflictException), so a quick fail-then-heal waits here.
	w := lambda.NewFunctionUpdatedWaiter(api, func(o *lambda.FunctionUpdatedWaiterOptions) { o.MinDelay = time.Second })
	if err := w.Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(function)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for the configuration update: %w", err)
	}
	return nil
}
