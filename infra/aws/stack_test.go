package awsinfra

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

// fakeCFN plays CloudFormation's side of one stack operation from a script, with the
// shapes and texts CloudFormation uses (API reference for DescribeChangeSet and
// DescribeStackEvents; the empty change set reason as CloudFormation words it).
type fakeCFN struct {
	stack         *cfntypes.Stack // nil: does not exist
	csStatus      cfntypes.ChangeSetStatus
	csReason      string
	changes       []cfntypes.Change
	afterExecute  []cfntypes.StackStatus // statuses DescribeStacks returns after ExecuteChangeSet
	events        []cfntypes.StackEvent  // oldest first; all emitted on execution
	calls         []string
	executed      bool
	deletedStacks int
}

func (f *fakeCFN) record(s string) { f.calls = append(f.calls, s) }

func (f *fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.record("DescribeStacks")
	if f.stack == nil {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + aws.ToString(in.StackName) + " does not exist"}
	}
	if f.executed && len(f.afterExecute) > 0 {
		f.stack.StackStatus = f.afterExecute[0]
		f.afterExecute = f.afterExecute[1:]
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{*f.stack}}, nil
}

func (f *fakeCFN) CreateChangeSet(_ context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	f.record("CreateChangeSet " + string(in.ChangeSetType))
	if in.ChangeSetType == cfntypes.ChangeSetTypeCreate {
		f.stack = &cfntypes.Stack{StackName: in.StackName, StackId: aws.String("arn:stack/new"), StackStatus: cfntypes.StackStatusReviewInProgress}
	}
	return &cloudformation.CreateChangeSetOutput{Id: aws.String("arn:changeSet/cs"), StackId: f.stack.StackId}, nil
}

func (f *fakeCFN) DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	f.record("DescribeChangeSet")
	return &cloudformation.DescribeChangeSetOutput{Status: f.csStatus, StatusReason: aws.String(f.csReason), Changes: f.changes}, nil
}

func (f *fakeCFN) ExecuteChangeSet(_ context.Context, in *cloudformation.ExecuteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.record("ExecuteChangeSet")
	f.executed = true
	now := time.Now()
	for i := range f.events {
		f.events[i].Timestamp = aws.Time(now.Add(time.Duration(i) * time.Millisecond))
		f.events[i].EventId = aws.String(string(rune('a' + i)))
		if f.events[i].ClientRequestToken == nil {
			f.events[i].ClientRequestToken = in.ClientRequestToken
		}
	}
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func (f *fakeCFN) DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	f.record("DeleteChangeSet")
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

func (f *fakeCFN) DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	f.record("DeleteStack")
	f.deletedStacks++
	f.stack = nil
	return &cloudformation.DeleteStackOutput{}, nil
}

func (f *fakeCFN) DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	f.record("DescribeStackEvents")
	if !f.executed {
		return &cloudformation.DescribeStackEventsOutput{}, nil
	}
	out := &cloudformation.DescribeStackEventsOutput{}
	for i := len(f.events) - 1; i >= 0; i-- { // newest first, as CloudFormation returns them
		out.StackEvents = append(out.StackEvents, f.events[i])
	}
	return out, nil
}

func event(id, typ string, status cfntypes.ResourceStatus, reason string) cfntypes.StackEvent {
	return cfntypes.StackEvent{LogicalResourceId: aws.String(id), ResourceType: aws.String(typ), ResourceStatus: status, ResourceStatusReason: aws.String(reason)}
}

func runFake(t *testing.T, f *fakeCFN, dryRun bool) (*stackResult, string, error) {
	t.Helper()
	var out bytes.Buffer
	r := &stackRunner{clients: map[string]cfnAPI{"eu-west-2": f}, poll: time.Millisecond, out: &progress{w: &out}, dryRun: dryRun, now: time.Now}
	res, err := r.apply(context.Background(), stackSpec{Region: "eu-west-2", Name: "twinedge-regional", Template: []byte("{}")})
	return res, out.String(), err
}

func TestStackFailureNamesTheResource(t *testing.T) {
	f := &fakeCFN{
		csStatus: cfntypes.ChangeSetStatusCreateComplete,
		changes: []cfntypes.Change{{ResourceChange: &cfntypes.ResourceChange{Action: cfntypes.ChangeActionAdd,
			LogicalResourceId: aws.String("ApiFunction"), ResourceType: aws.String("AWS::Lambda::Function")}}},
		afterExecute: []cfntypes.StackStatus{cfntypes.StackStatusCreateInProgress, cfntypes.StackStatusRollbackInProgress, cfntypes.StackStatusRollbackComplete},
		events: []cfntypes.StackEvent{
			// An event of an earlier operation, stamped "now" by a skewed clock: its token
			// tells it apart.
			func() cfntypes.StackEvent {
				e := event("OldThing", "AWS::S3::Bucket", cfntypes.ResourceStatusUpdateFailed, "from an earlier deploy")
				e.ClientRequestToken = aws.String("twinedge-1")
				return e
			}(),
			event("twinedge-regional", "AWS::CloudFormation::Stack", cfntypes.ResourceStatusCreateInProgress, "User Initiated"),
			event("SiteBucket", "AWS::S3::Bucket", cfntypes.ResourceStatusCreateComplete, ""),
			event("ApiFunction", "AWS::Lambda::Function", cfntypes.ResourceStatusCreateFailed,
				"Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.\""),
			event("ApiFunctionUrl", "AWS::Lambda::Url", cfntypes.ResourceStatusCreateFailed, "Resource creation cancelled"),
			event("twinedge-regional", "AWS::CloudFormation::Stack", cfntypes.ResourceStatusRollbackInProgress,
				"The following resource(s) failed to create: [ApiFunction, ApiFunctionUrl]. Rollback requested by user."),
			event("twinedge-regional", "AWS::CloudFormation::Stack", cfntypes.ResourceStatusRollbackComplete, ""),
		},
	}
	_, log, err := runFake(t, f, false)
	var se *StackError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StackError", err)
	}
	if se.Resource != "ApiFunction" || se.Type != "AWS::Lambda::Function" || se.ResourceStatus != "CREATE_FAILED" || !strings.Contains(se.Reason, "NoSuchKey") || se.Status != "ROLLBACK_COMPLETE" {
		t.Errorf("StackError %+v: want the function's CREATE_FAILED, not the cancelled URL", se)
	}
	for _, want := range []string{"twinedge-regional", "eu-west-2", "ApiFunction (AWS::Lambda::Function) CREATE_FAILED", "NoSuchKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !strings.Contains(log, "SiteBucket                   CREATE_COMPLETE") || strings.Count(log, "ApiFunction ") < 2 {
		t.Errorf("progress must show the plan and each event once:\n%s", log)
	}
	if strings.Contains(log, "OldThing") {
		t.Errorf("an earlier operation's event was reported:\n%s", log)
	}
	if n := strings.Count(log, "ROLLBACK_COMPLETE"); n != 1 {
		t.Errorf("event printed %d times, want once:\n%s", n, log)
	}
}

func TestStackEmptyChangeSetIsNoChange(t *testing.T) {
	f := &fakeCFN{
		stack: &cfntypes.Stack{StackName: aws.String("twinedge-regional"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusUpdateComplete,
			Outputs: []cfntypes.Output{{OutputKey: aws.String(OutSiteBucket), OutputValue: aws.String("b")}}},
		csStatus: cfntypes.ChangeSetStatusFailed,
		csReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
	}
	res, _, err := runFake(t, f, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoChange || res.Outputs[OutSiteBucket] != "b" {
		t.Errorf("result %+v, want no change with the stack's outputs", res)
	}
	if strings.Contains(strings.Join(f.calls, ","), "Execute") || !strings.Contains(strings.Join(f.calls, ","), "DeleteChangeSet") {
		t.Errorf("calls %v: an empty change set is deleted, never executed", f.calls)
	}
}

func TestStackChangeSetFailure(t *testing.T) {
	f := &fakeCFN{
		stack:    &cfntypes.Stack{StackName: aws.String("twinedge-regional"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusCreateComplete},
		csStatus: cfntypes.ChangeSetStatusFailed,
		csReason: "Parameter 'DistributionArn' must match pattern ^(arn:aws[a-z-]*:cloudfront::[0-9]{12}:distribution/[A-Z0-9]+)?$",
	}
	_, _, err := runFake(t, f, false)
	if err == nil || !strings.Contains(err.Error(), "must match pattern") || !strings.Contains(err.Error(), "twinedge-regional in eu-west-2") {
		t.Errorf("err = %v, want the change set's reason with stack and region", err)
	}
}

func TestStackDryRunLeavesNothing(t *testing.T) {
	f := &fakeCFN{csStatus: cfntypes.ChangeSetStatusCreateComplete, changes: []cfntypes.Change{{ResourceChange: &cfntypes.ResourceChange{
		Action: cfntypes.ChangeActionAdd, LogicalResourceId: aws.String("SiteBucket"), ResourceType: aws.String("AWS::S3::Bucket")}}}}
	res, log, err := runFake(t, f, true)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Join(f.calls, ",")
	if strings.Contains(calls, "Execute") || !strings.Contains(calls, "DeleteChangeSet") || f.deletedStacks != 1 {
		t.Errorf("calls %v: a dry run deletes its change set and the empty stack it made", f.calls)
	}
	if len(res.Changes) != 1 || !strings.Contains(log, "Add     SiteBucket") {
		t.Errorf("dry run must describe the change set:\n%s", log)
	}
}

func TestStackRecreatesAfterFailedCreation(t *testing.T) {
	f := &fakeCFN{
		stack:        &cfntypes.Stack{StackName: aws.String("twinedge-regional"), StackId: aws.String("arn:stack/old"), StackStatus: cfntypes.StackStatusRollbackComplete},
		csStatus:     cfntypes.ChangeSetStatusCreateComplete,
		afterExecute: []cfntypes.StackStatus{cfntypes.StackStatusCreateComplete},
	}
	res, _, err := runFake(t, f, false)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Join(f.calls, ",")
	if !res.Created || !strings.Contains(calls, "DeleteStack,DescribeStacks,CreateChangeSet CREATE") {
		t.Errorf("calls %v: a ROLLBACK_COMPLETE stack is deleted, then created again", f.calls)
	}
}

func (f *fakeCFN) ContinueUpdateRollback(context.Context, *cloudformation.ContinueUpdateRollbackInput, ...func(*cloudformation.Options)) (*cloudformation.ContinueUpdateRollbackOutput, error) {
	f.record("ContinueUpdateRollback")
	f.stack.StackStatus = cfntypes.StackStatusUpdateRollbackComplete
	return &cloudformation.ContinueUpdateRollbackOutput{}, nil
}

// Each stuck state is reported in one line naming the state and its remedy, and nothing
// is changed; with --continue-rollback the safe remedy runs and the deploy goes on.
func TestStuckStacks(t *testing.T) {
	for _, c := range []struct {
		status cfntypes.StackStatus
		remedy string
		// fixed is the call sequence of --continue-rollback; empty: no automatic remedy.
		fixed string
	}{
		{cfntypes.StackStatusUpdateRollbackFailed, "--continue-rollback", "ContinueUpdateRollback,DescribeStacks,DescribeStacks,CreateChangeSet UPDATE"},
		{cfntypes.StackStatusRollbackFailed, "--continue-rollback", "DeleteStack,DescribeStacks,CreateChangeSet CREATE"},
		{cfntypes.StackStatusDeleteFailed, "twinedge destroy", ""},
		{cfntypes.StackStatusImportRollbackFailed, "--continue-rollback", "ContinueUpdateRollback,DescribeStacks,DescribeStacks,CreateChangeSet UPDATE"},
	} {
		t.Run(string(c.status), func(t *testing.T) {
			stuck := func() *fakeCFN {
				return &fakeCFN{
					stack: &cfntypes.Stack{StackName: aws.String("twinedge-regional"), StackId: aws.String("arn:stack/x"), StackStatus: c.status,
						StackStatusReason: aws.String("The following resource(s) failed to update: [ApiFunction].")},
					csStatus: cfntypes.ChangeSetStatusCreateComplete, afterExecute: []cfntypes.StackStatus{cfntypes.StackStatusUpdateComplete},
				}
			}
			f := stuck()
			_, _, err := runFake(t, f, false)
			var se *StuckError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), string(c.status)) || !strings.Contains(err.Error(), c.remedy) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming %s and %q", err, c.status, c.remedy)
			}
			if calls := strings.Join(f.calls, ","); calls != "DescribeStacks" {
				t.Errorf("calls %s: a stuck stack is reported, not touched", calls)
			}

			f = stuck()
			var out bytes.Buffer
			r := &stackRunner{clients: map[string]cfnAPI{"eu-west-2": f}, poll: time.Millisecond, out: &progress{w: &out}, now: time.Now, continueRollback: true}
			_, err = r.apply(context.Background(), stackSpec{Region: "eu-west-2", Name: "twinedge-regional", Template: []byte("{}")})
			if c.fixed == "" {
				if !errors.As(err, &se) || strings.Contains(strings.Join(f.calls, ","), "Delete") {
					t.Errorf("--continue-rollback on %s: err %v, calls %v; want the report and no change", c.status, err, f.calls)
				}
				return
			}
			if err != nil {
				t.Fatalf("--continue-rollback: %v", err)
			}
			if calls := strings.Join(f.calls, ","); !strings.Contains(calls, c.fixed) {
				t.Errorf("calls %s, want %s", calls, c.fixed)
			}
		})
	}
}

// A wait that passes --wait-timeout stops with one line saying what it waited for.
func TestWaitTimeout(t *testing.T) {
	f := &fakeCFN{
		csStatus: cfntypes.ChangeSetStatusCreateComplete,
		// A certificate whose DNS validation never completes.
		afterExecute: slices.Repeat([]cfntypes.StackStatus{cfntypes.StackStatusCreateInProgress}, 1000),
		events:       []cfntypes.StackEvent{event("Certificate", "AWS::CertificateManager::Certificate", cfntypes.ResourceStatusCreateInProgress, "")},
	}
	var out bytes.Buffer
	r := &stackRunner{clients: map[string]cfnAPI{"us-east-1": f}, poll: time.Millisecond, out: &progress{w: &out}, now: time.Now, waitTimeout: 20 * time.Millisecond}
	_, err := r.apply(context.Background(), stackSpec{Region: "us-east-1", Name: "twinedge-global", Template: []byte("{}")})
	var we *WaitTimeoutError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "--wait-timeout") || !strings.Contains(err.Error(), "Certificate CREATE_IN_PROGRESS") || !strings.Contains(err.Error(), "CREATE_IN_PROGRESS after 20ms") {
		t.Fatalf("err = %v", err)
	}
}
