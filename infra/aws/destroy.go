package awsinfra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Destroy takes a deployment down: the global stack first (the distribution reads the
// buckets and calls the URLs), then the regional stacks, then what CloudFormation retains
// by design (RetainExceptOnCreate: the site and releases buckets, the table) and the
// artifacts buckets the deploy made outside CloudFormation. A bucket is emptied of every
// object version and delete marker before it is deleted; the table's deletion protection is
// turned off first. The plan is computed and printed before anything is deleted, and a
// second run finds nothing and succeeds.

// DestroyOptions configure Destroy.
type DestroyOptions struct {
	// Options name the deployment when STATE/aws.json does not (a deploy that failed
	// before writing it): stack name and regions.
	Options
	// StateDir holds aws.json (default ".twinedge"); it is removed once nothing is left.
	StateDir string
	// EndpointURL sends every call to one endpoint (moto_server in tests).
	EndpointURL string
	// DryRun prints the plan and deletes nothing.
	DryRun bool
	// KeepData keeps the site, releases and log buckets and the table (with its deletion
	// protection): only the stacks and the artifacts buckets go.
	KeepData bool
	// Confirm is asked, with the printed plan, before anything is deleted; nil refuses
	// (the CLI passes nil with --yes replaced by an always-true func, and asks on a
	// terminal).
	Confirm func() bool
	// Progress receives the plan and one line per deletion (default os.Stderr).
	Progress io.Writer
	// PollInterval and WaitTimeout are as in DeployOptions.
	PollInterval, WaitTimeout time.Duration

	apiOptions []func(*middleware.Stack) error
}

// ErrNotConfirmed is returned when a command that changes a real account (destroy, a
// drill on AWS) was not confirmed; nothing was changed.
var ErrNotConfirmed = errors.New("not confirmed: nothing was changed")

// DestroyPlan is what Destroy deletes, in order.
type DestroyPlan struct {
	Stacks  []PlannedStack
	Buckets []PlannedBucket
	Tables  []PlannedTable
}

// PlannedStack is a stack to delete.
type PlannedStack struct{ Region, Name, Status string }

// PlannedBucket is a bucket to empty and delete.
type PlannedBucket struct {
	Region, Name, Kind string
	// Versions counts object versions and delete markers.
	Versions int
}

// PlannedTable is a table (one replica per region) to unprotect and delete.
type PlannedTable struct {
	Name    string
	Regions []string
}

// Empty reports a plan with nothing to delete.
func (p *DestroyPlan) Empty() bool {
	return len(p.Stacks) == 0 && len(p.Buckets) == 0 && len(p.Tables) == 0
}

func (p *DestroyPlan) print(out *progress, keepData bool) {
	if p.Empty() {
		out.phase("nothing to delete")
		return
	}
	out.phase("destroy plan")
	for _, s := range p.Stacks {
		out.printf(s.Region, s.Name, "delete stack (%s)", s.Status)
	}
	for _, b := range p.Buckets {
		out.printf(b.Region, b.Name, "empty (%d object versions) and delete the %s bucket", b.Versions, b.Kind)
	}
	for _, t := range p.Tables {
		out.printf(strings.Join(t.Regions, ","), t.Name, "turn off deletion protection and delete the table")
	}
	if keepData {
		out.phase("--keep-data: the site, releases and log buckets and the table stay")
	}
}

// destroyer holds the clients of one destroy.
type destroyer struct {
	opts   DestroyOptions
	sess   *session
	out    *progress
	runner *stackRunner
}

// Destroy plans, prints, confirms and carries out the teardown described above.
func Destroy(ctx context.Context, opts DestroyOptions) (*DestroyPlan, error) {
	if opts.StateDir == "" {
		opts.StateDir = ".twinedge"
	}
	if opts.Progress == nil {
		opts.Progress = os.Stderr
	}
	opts.PollInterval, opts.WaitTimeout = waitDefaults(opts.PollInterval, opts.WaitTimeout)
	st, err := ReadState(opts.StateDir)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		return nil, err
	}
	if st != nil {
		opts.StackName = st.StackName
		opts.Regions = []string{st.Regions[0].Name, st.Regions[1].Name}
		if !st.Regions[0].Primary {
			opts.Regions[0], opts.Regions[1] = opts.Regions[1], opts.Regions[0]
		}
	}
	if opts.Options, err = opts.Options.withDefaults(); err != nil {
		return nil, err
	}
	sess, err := newSessionWith(ctx, opts.EndpointURL, opts.apiOptions, append([]string{GlobalRegion}, opts.Regions...)...)
	if err != nil {
		return nil, err
	}
	if st != nil {
		sess.owner = st.Account
	}
	account, err := sess.account(ctx)
	if err != nil {
		return nil, err
	}
	d := &destroyer{opts: opts, sess: sess, out: &progress{w: opts.Progress}}
	d.runner = &stackRunner{clients: map[string]cfnAPI{}, poll: opts.PollInterval, out: d.out, now: time.Now, waitTimeout: opts.WaitTimeout}
	for r := range sess.configs {
		d.runner.clients[r] = sess.cloudFormation(r)
	}
	plan, err := d.plan(ctx, st, account)
	if err != nil {
		return nil, err
	}
	plan.print(d.out, opts.KeepData)
	if plan.Empty() {
		return plan, removeState(opts.StateDir)
	}
	if opts.DryRun {
		d.out.phase("dry run: nothing was deleted")
		return plan, nil
	}
	if opts.Confirm == nil || !opts.Confirm() {
		return plan, ErrNotConfirmed
	}
	if err := d.carryOut(ctx, plan); err != nil {
		return plan, err
	}
	d.out.phase("destroyed")
	return plan, removeState(opts.StateDir)
}

func removeState(dir string) error {
	err := os.Remove(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// plan finds what exists: the stacks, the buckets and table they hold (from their
// resources, or from aws.json once a stack is gone), and the artifacts buckets.
func (d *destroyer) plan(ctx context.Context, st *State, account string) (*DestroyPlan, error) {
	o := d.opts
	plan := &DestroyPlan{}
	regionalName := RegionalStackName(o.StackName)
	// "region/stack" → logical id → physical id
	named := map[string]map[string]string{}
	key := func(region, stack string) string { return region + "/" + stack }
	globalName := GlobalStackName(o.StackName)
	for _, k := range []string{key(GlobalRegion, globalName), key(o.Regions[0], regionalName), key(o.Regions[1], regionalName)} {
		named[k] = map[string]string{}
	}
	if st != nil {
		for _, r := range st.Regions {
			named[key(r.Name, regionalName)][idSiteBucket] = r.Bucket
			named[key(r.Name, regionalName)][idReleasesBucket] = r.ReleasesBucket
			named[key(r.Name, regionalName)][idLogBucket] = r.LogBucket
		}
		named[key(GlobalRegion, globalName)][idLogBucket] = st.LogBucket
	}
	for _, s := range []stackSpec{{Region: GlobalRegion, Name: globalName}, {Region: o.Regions[0], Name: regionalName}, {Region: o.Regions[1], Name: regionalName}} {
		cur, err := d.runner.describe(ctx, s.Region, s.Name)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			continue
		}
		plan.Stacks = append(plan.Stacks, PlannedStack{Region: s.Region, Name: s.Name, Status: string(cur.StackStatus)})
		p := cloudformation.NewListStackResourcesPaginator(d.sess.cloudFormation(s.Region), &cloudformation.ListStackResourcesInput{StackName: cur.StackId})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list resources of %s in %s: %w", s.Name, s.Region, err)
			}
			for _, res := range page.StackResourceSummaries {
				if id := aws.ToString(res.PhysicalResourceId); id != "" {
					named[key(s.Region, s.Name)][aws.ToString(res.LogicalResourceId)] = id
				}
			}
		}
	}
	var buckets []PlannedBucket
	if !o.KeepData {
		buckets = append(buckets, PlannedBucket{Region: GlobalRegion, Name: named[key(GlobalRegion, globalName)][idLogBucket], Kind: "CloudFront log"})
	}
	for _, r := range o.Regions {
		ids := named[key(r, regionalName)]
		if !o.KeepData {
			buckets = append(buckets, PlannedBucket{Region: r, Name: ids[idSiteBucket], Kind: "site"},
				PlannedBucket{Region: r, Name: ids[idReleasesBucket], Kind: "releases"},
				PlannedBucket{Region: r, Name: ids[idLogBucket], Kind: "access log"})
		}
		buckets = append(buckets, PlannedBucket{Region: r, Name: ArtifactBucketName(o.StackName, account, r), Kind: "artifacts"})
	}
	for _, b := range buckets {
		if b.Name == "" {
			continue
		}
		n, exists, err := d.countVersions(ctx, b.Region, b.Name)
		if err != nil {
			return nil, err
		}
		if exists {
			b.Versions = n
			plan.Buckets = append(plan.Buckets, b)
		}
	}
	if !o.KeepData {
		table := o.StackName + "-messages"
		t := PlannedTable{Name: table}
		for _, r := range o.Regions {
			_, err := d.dynamo(r).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
			switch {
			case err == nil:
				t.Regions = append(t.Regions, r)
			case !isDynamoNotFound(err):
				return nil, fmt.Errorf("describe table %s in %s: %w", table, r, err)
			}
		}
		if len(t.Regions) > 0 {
			plan.Tables = append(plan.Tables, t)
		}
	}
	return plan, nil
}

func (d *destroyer) dynamo(region string) *dynamodb.Client {
	return dynamodb.NewFromConfig(d.sess.configs[region])
}

func isDynamoNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

// countVersions counts a bucket's object versions and delete markers; exists is false
// when there is no such bucket.
func (d *destroyer) countVersions(ctx context.Context, region, bucket string) (n int, exists bool, err error) {
	c := d.sess.s3(region)
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		if isNotFound(err) {
			return 0, false, nil
		}
		if isForbidden(err) {
			return 0, false, notOwnedError(bucket, d.sess.owner, err)
		}
		return 0, false, fmt.Errorf("bucket %s in %s: %w", bucket, region, err)
	}
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, true, fmt.Errorf("list versions in %s: %w", bucket, err)
		}
		n += len(page.Versions) + len(page.DeleteMarkers)
	}
	return n, true, nil
}

// carryOut deletes what the plan lists, in order.
func (d *destroyer) carryOut(ctx context.Context, plan *DestroyPlan) error {
	// The global stack first, then the regional ones (in the plan's order).
	for _, s := range plan.Stacks {
		if err := d.deleteStack(ctx, s); err != nil {
			return err
		}
	}
	for _, t := range plan.Tables {
		if err := d.deleteTable(ctx, t); err != nil {
			return err
		}
	}
	for _, b := range plan.Buckets {
		if err := d.deleteBucket(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// deleteStack deletes a stack and waits. A stack that ends DELETE_FAILED is deleted again
// retaining the resources that failed, which the rest of the plan deletes (or, when it
// does not know them, the error names them).
func (d *destroyer) deleteStack(ctx context.Context, s PlannedStack) error {
	api := d.sess.cloudFormation(s.Region)
	spec := stackSpec{Region: s.Region, Name: s.Name}
	cur, err := d.runner.describe(ctx, s.Region, s.Name)
	if err != nil || cur == nil {
		return err
	}
	spec.Name = aws.ToString(cur.StackId) // a deleted stack is only found by id
	d.out.printf(s.Region, s.Name, "deleting the stack")
	for attempt := 0; ; attempt++ {
		in := &cloudformation.DeleteStackInput{StackName: cur.StackId}
		if attempt > 0 {
			failed, err := d.failedResources(ctx, s.Region, aws.ToString(cur.StackId))
			if err != nil {
				return err
			}
			in.RetainResources = failed
			d.out.printf(s.Region, s.Name, "deletion failed; deleting again and retaining %v", failed)
		}
		if _, err := api.DeleteStack(ctx, in); err != nil {
			return fmt.Errorf("delete stack %s in %s: %w", s.Name, s.Region, err)
		}
		_, err := d.runner.waitStack(ctx, spec, nil)
		if isDeleted(err) {
			d.out.printf(s.Region, s.Name, "deleted")
			return nil
		}
		var se *StackError
		if attempt == 0 && errors.As(err, &se) && se.Status == string(cfntypes.StackStatusDeleteFailed) {
			continue
		}
		if err == nil {
			err = fmt.Errorf("stack %s in %s was not deleted", s.Name, s.Region)
		}
		return err
	}
}

func (d *destroyer) failedResources(ctx context.Context, region, stackID string) ([]string, error) {
	var failed []string
	p := cloudformation.NewListStackResourcesPaginator(d.sess.cloudFormation(region), &cloudformation.ListStackResourcesInput{StackName: aws.String(stackID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.StackResourceSummaries {
			if r.ResourceStatus == cfntypes.ResourceStatusDeleteFailed {
				failed = append(failed, aws.ToString(r.LogicalResourceId))
			}
		}
	}
	return failed, nil
}

// deleteTable turns off each replica's deletion protection, then deletes the replicas,
// the primary's last (for a global table, deleting one replica leaves the others).
func (d *destroyer) deleteTable(ctx context.Context, t PlannedTable) error {
	for _, r := range t.Regions {
		if _, err := d.dynamo(r).UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(t.Name), DeletionProtectionEnabled: aws.Bool(false)}); err != nil && !isDynamoNotFound(err) {
			return fmt.Errorf("turn off deletion protection of %s in %s: %w", t.Name, r, err)
		}
	}
	regions := slices.Clone(t.Regions)
	slices.Reverse(regions)
	for _, r := range regions {
		c := d.dynamo(r)
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t.Name)}); err != nil && !isDynamoNotFound(err) {
			return fmt.Errorf("delete table %s in %s: %w", t.Name, r, err)
		}
		w := dynamodb.NewTableNotExistsWaiter(c, func(o *dynamodb.TableNotExistsWaiterOptions) { o.MinDelay = d.opts.PollInterval })
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.Name)}, d.opts.WaitTimeout); err != nil {
			return fmt.Errorf("wait for table %s in %s to go: %w", t.Name, r, err)
		}
		d.out.printf(r, t.Name, "deleted the table")
	}
	return nil
}

// deleteBucket deletes every object version and delete marker, 1,000 per request (the
// DeleteObjects limit), then the bucket.
func (d *destroyer) deleteBucket(ctx context.Context, b PlannedBucket) error {
	c := d.sess.s3(b.Region)
	for {
		page, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(b.Name), MaxKeys: aws.Int32(1000)})
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list versions in %s: %w", b.Name, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			break
		}
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b.Name), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("delete objects in %s: %w", b.Name, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete %s (version %s) in %s: %s: %s", aws.ToString(e.Key), aws.ToString(e.VersionId), b.Name, aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b.Name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete bucket %s: %w", b.Name, err)
	}
	d.out.printf(b.Region, b.Name, "deleted the %s bucket", b.Kind)
	return nil
}
