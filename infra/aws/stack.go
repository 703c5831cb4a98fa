package awsinfra

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// This file applies one template to one stack through a change set: create it, wait for
// it, describe it, then execute it (or, in a dry run, delete it), wait for the stack and
// report progress from its events. The deploy (deploy.go) orders these per stack.

// cfnAPI is the part of the CloudFormation client the deploy uses.
type cfnAPI interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	CreateChangeSet(context.Context, *cloudformation.CreateChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(context.Context, *cloudformation.ExecuteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	ContinueUpdateRollback(context.Context, *cloudformation.ContinueUpdateRollbackInput, ...func(*cloudformation.Options)) (*cloudformation.ContinueUpdateRollbackOutput, error)
}

var _ cfnAPI = (*cloudformation.Client)(nil)

// maxTemplateBody is CloudFormation's limit for TemplateBody; larger templates would
// have to be uploaded to S3 first.
const maxTemplateBody = 51200

// stackSpec is one stack to bring to one template.
type stackSpec struct {
	Region     string
	Name       string
	Template   []byte
	Parameters map[string]string
}

// Change is one planned resource change of a change set.
type Change struct {
	Action      string // Add, Modify, Remove, Import, Dynamic
	LogicalID   string
	Type        string
	Replacement string // True, False, Conditional; empty for Add and Remove
}

// stackResult is what applying a stackSpec did.
type stackResult struct {
	Spec     stackSpec
	Created  bool // the stack did not exist before
	NoChange bool // the change set was empty: nothing was (or would be) done
	Changes  []Change
	Outputs  map[string]string
}

// StackError is a failed stack operation, explained from the stack's events: the first
// resource that failed and CloudFormation's reason.
type StackError struct {
	Region, Stack string
	// Status is the stack's final status (for example ROLLBACK_COMPLETE).
	Status string
	// Resource, Type, ResourceStatus and Reason describe the first failed resource; empty
	// when no resource event explains the failure.
	Resource, Type, ResourceStatus, Reason string
}

func (e *StackError) Error() string {
	remedy := ""
	if r, ok := stuckRemedies[cfntypes.StackStatus(e.Status)]; ok {
		remedy = "; " + r
	}
	if e.Resource == "" {
		return fmt.Sprintf("stack %s in %s ended %s: %s%s", e.Stack, e.Region, e.Status, e.Reason, remedy)
	}
	return fmt.Sprintf("stack %s in %s ended %s: %s (%s) %s: %s%s", e.Stack, e.Region, e.Status, e.Resource, e.Type, e.ResourceStatus, e.Reason, remedy)
}

// StuckError is a stack in a state no change set can be made for, with CloudFormation's
// reason and what to do about it (stuckRemedies).
type StuckError struct {
	Region, Stack, Status, Reason string
	// Remedy is one sentence: the command, or the console action, that unblocks the stack.
	Remedy string
}

func (e *StuckError) Error() string {
	reason := ""
	if e.Reason != "" {
		reason = " (" + e.Reason + ")"
	}
	return fmt.Sprintf("stack %s in %s is %s%s: %s", e.Stack, e.Region, e.Status, reason, e.Remedy)
}

// stuckRemedies are the stack states that refuse a change set, each with its remedy
// (CloudFormation User Guide, "Stack status codes" and "Continue rolling back an update").
// deploy --continue-rollback applies the remedies that lose nothing: ContinueUpdateRollback
// returns an UPDATE_ROLLBACK_FAILED stack to its last working state, and a ROLLBACK_FAILED
// stack is a failed creation, which holds no data (RetainExceptOnCreate) and can only be
// deleted.
var stuckRemedies = map[cfntypes.StackStatus]string{
	cfntypes.StackStatusUpdateRollbackFailed: "an update failed and so did its rollback; fix what the events name, then run `twinedge deploy --continue-rollback` (CloudFormation ContinueUpdateRollback, which returns the stack to its last working state)",
	cfntypes.StackStatusRollbackFailed:       "its creation failed and so did the rollback; run `twinedge deploy --continue-rollback` to delete the failed stack and create it again, or `twinedge destroy`",
	cfntypes.StackStatusDeleteFailed:         "a deletion failed; run `twinedge destroy` again (it empties the buckets and lifts the table's deletion protection that block a deletion)",
	cfntypes.StackStatusImportRollbackFailed: "an import failed and so did its rollback; run `twinedge deploy --continue-rollback` (ContinueUpdateRollback)",
}

// stackRunner applies stack specs with one client per region.
type stackRunner struct {
	clients map[string]cfnAPI
	poll    time.Duration
	out     *progress
	dryRun  bool
	// continueRollback applies the safe remedy to a stuck stack (stuckRemedies) instead of
	// reporting it.
	continueRollback bool
	// waitTimeout bounds each wait for a change set or a stack operation (0: no bound).
	waitTimeout time.Duration
	// now names change sets; it only needs to be unique per stack.
	now func() time.Time
}

// describe returns the stack, or nil when it does not exist.
func (s *stackRunner) describe(ctx context.Context, region, name string) (*cfntypes.Stack, error) {
	out, err := s.clients[region].DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, nil
		}
		return nil, fmt.Errorf("describe stack %s in %s: %w", name, region, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	st := out.Stacks[0]
	if st.StackStatus == cfntypes.StackStatusDeleteComplete {
		return nil, nil
	}
	return &st, nil
}

// outputs returns an existing stack's outputs, or nil when the stack does not exist.
func (s *stackRunner) outputs(ctx context.Context, region, name string) (map[string]string, error) {
	st, err := s.describe(ctx, region, name)
	if err != nil || st == nil {
		return nil, err
	}
	return outputMap(st), nil
}

func outputMap(st *cfntypes.Stack) map[string]string {
	m := map[string]string{}
	for _, o := range st.Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}

// apply brings the stack to spec through a change set.
func (s *stackRunner) apply(ctx context.Context, spec stackSpec) (*stackResult, error) {
	if len(spec.Template) > maxTemplateBody {
		return nil, fmt.Errorf("template of %s is %d bytes, over CloudFormation's %d-byte limit for inline templates", spec.Name, len(spec.Template), maxTemplateBody)
	}
	api := s.clients[spec.Region]
	res := &stackResult{Spec: spec}
	st, err := s.describe(ctx, spec.Region, spec.Name)
	if err != nil {
		return nil, err
	}
	if st != nil && isInProgress(st.StackStatus) && st.StackStatus != cfntypes.StackStatusReviewInProgress {
		s.out.printf(spec.Region, spec.Name, "waiting for the running %s to finish", st.StackStatus)
		if st, err = s.waitStack(ctx, spec, nil); err != nil {
			var se *StackError
			if !errors.As(err, &se) {
				return nil, err
			}
			// The other operation ended badly; what state it left decides below.
			if st, err = s.describe(ctx, spec.Region, spec.Name); err != nil {
				return nil, err
			}
		}
	}
	if st, err = s.unstick(ctx, spec, st); err != nil {
		return nil, err
	}
	csType := cfntypes.ChangeSetTypeUpdate
	switch {
	case st == nil, st.StackStatus == cfntypes.StackStatusReviewInProgress:
		// REVIEW_IN_PROGRESS: a change set was created and never executed; the stack has no
		// resources, and a CREATE change set is what it accepts.
		csType = cfntypes.ChangeSetTypeCreate
		res.Created = true
	case st.StackStatus == cfntypes.StackStatusRollbackComplete:
		// A stack whose creation failed can only be deleted. It holds no resources.
		if s.dryRun {
			s.out.printf(spec.Region, spec.Name, "is ROLLBACK_COMPLETE; a deploy would delete and re-create it")
			csType = cfntypes.ChangeSetTypeCreate
			res.Created = true
			// A CREATE change set cannot be made for an existing name; plan from nothing.
			res.Changes = nil
			return res, nil
		}
		s.out.printf(spec.Region, spec.Name, "is ROLLBACK_COMPLETE after a failed creation; deleting it to create it again")
		if _, err := api.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId}); err != nil {
			return nil, fmt.Errorf("delete failed stack %s in %s: %w", spec.Name, spec.Region, err)
		}
		if _, err := s.waitStack(ctx, stackSpec{Region: spec.Region, Name: aws.ToString(st.StackId)}, nil); err != nil && !isDeleted(err) {
			return nil, err
		}
		csType = cfntypes.ChangeSetTypeCreate
		res.Created = true
	}

	csName := fmt.Sprintf("twinedge-%d", s.now().UnixNano())
	in := &cloudformation.CreateChangeSetInput{
		StackName:     aws.String(spec.Name),
		ChangeSetName: aws.String(csName),
		ChangeSetType: csType,
		TemplateBody:  aws.String(string(spec.Template)),
		Capabilities:  []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		Description:   aws.String("twinedge deploy"),
		Tags:          []cfntypes.Tag{{Key: aws.String("twinedge:stack"), Value: aws.String(spec.Name)}},
	}
	for _, k := range sortedKeys(spec.Parameters) {
		in.Parameters = append(in.Parameters, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(spec.Parameters[k])})
	}
	cs, err := api.CreateChangeSet(ctx, in)
	if err != nil && isEmptyChangeSet(err.Error()) {
		// Some implementations (moto) refuse an empty change set outright instead of
		// creating it and marking it FAILED, as CloudFormation does.
		res.NoChange = true
		s.out.printf(spec.Region, spec.Name, "no changes")
		res.Outputs, err = s.outputs(ctx, spec.Region, spec.Name)
		return res, err
	}
	if err != nil {
		return nil, fmt.Errorf("create change set for %s in %s: %w", spec.Name, spec.Region, err)
	}
	csID := cs.Id
	changes, empty, err := s.waitChangeSet(ctx, spec, csID)
	if err != nil {
		return nil, err
	}
	res.Changes = changes
	cleanup := func() error {
		if _, err := api.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: csID, StackName: aws.String(spec.Name)}); err != nil {
			return fmt.Errorf("delete change set %s of %s in %s: %w", csName, spec.Name, spec.Region, err)
		}
		if csType == cfntypes.ChangeSetTypeCreate {
			// The change set made an empty stack in REVIEW_IN_PROGRESS; leave no trace.
			if _, err := api.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: cs.StackId}); err != nil {
				return fmt.Errorf("delete unexecuted stack %s in %s: %w", spec.Name, spec.Region, err)
			}
		}
		return nil
	}
	if empty {
		res.NoChange = true
		s.out.printf(spec.Region, spec.Name, "no changes")
		if err := cleanup(); err != nil {
			return nil, err
		}
		res.Outputs, err = s.outputs(ctx, spec.Region, spec.Name)
		return res, err
	}
	s.out.plan(spec, csType, changes)
	if s.dryRun {
		return res, cleanup()
	}

	// CloudFormation stamps every event of this execution with the token, which picks
	// out this operation's events without comparing clocks.
	op := &operation{since: time.Now(), token: csName}
	if _, err := api.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: csID, StackName: aws.String(spec.Name),
		ClientRequestToken: aws.String(op.token)}); err != nil {
		return nil, fmt.Errorf("execute change set for %s in %s: %w", spec.Name, spec.Region, err)
	}
	st, err = s.waitStack(ctx, spec, op)
	if err != nil {
		return nil, err
	}
	res.Outputs = outputMap(st)
	return res, nil
}

// unstick reports a stuck stack (stuckRemedies) or, with continueRollback, applies the
// remedy and returns the stack's new state (nil once deleted).
func (s *stackRunner) unstick(ctx context.Context, spec stackSpec, st *cfntypes.Stack) (*cfntypes.Stack, error) {
	if st == nil {
		return nil, nil
	}
	remedy, stuck := stuckRemedies[st.StackStatus]
	if !stuck {
		return st, nil
	}
	e := &StuckError{Region: spec.Region, Stack: spec.Name, Status: string(st.StackStatus), Reason: aws.ToString(st.StackStatusReason), Remedy: remedy}
	if !s.continueRollback || s.dryRun || st.StackStatus == cfntypes.StackStatusDeleteFailed {
		return nil, e
	}
	api := s.clients[spec.Region]
	switch st.StackStatus {
	case cfntypes.StackStatusRollbackFailed:
		s.out.printf(spec.Region, spec.Name, "is ROLLBACK_FAILED after a failed creation; deleting it (--continue-rollback)")
		if _, err := api.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId}); err != nil {
			return nil, fmt.Errorf("delete failed stack %s in %s: %w", spec.Name, spec.Region, err)
		}
		if _, err := s.waitStack(ctx, stackSpec{Region: spec.Region, Name: aws.ToString(st.StackId)}, nil); err != nil && !isDeleted(err) {
			return nil, err
		}
		return nil, nil
	default:
		s.out.printf(spec.Region, spec.Name, "is %s; continuing the rollback (--continue-rollback)", st.StackStatus)
		if _, err := api.ContinueUpdateRollback(ctx, &cloudformation.ContinueUpdateRollbackInput{StackName: st.StackId}); err != nil {
			return nil, fmt.Errorf("continue the rollback of %s in %s: %w", spec.Name, spec.Region, err)
		}
		next, err := s.waitStack(ctx, spec, nil)
		var se *StackError
		if errors.As(err, &se) && se.Status == string(cfntypes.StackStatusUpdateRollbackComplete) {
			return s.describe(ctx, spec.Region, spec.Name) // back in its last working state
		}
		return next, err
	}
}

// emptyChangeSetReasons are the status reasons of a change set that failed only because
// the template and parameters match the stack.
var emptyChangeSetReasons = []string{"didn't contain changes", "No updates are to be performed"}

func isEmptyChangeSet(reason string) bool {
	for _, r := range emptyChangeSetReasons {
		if strings.Contains(reason, r) {
			return true
		}
	}
	return false
}

// waitChangeSet waits until the change set is computed and returns its changes; empty
// reports a change set with nothing to do.
func (s *stackRunner) waitChangeSet(ctx context.Context, spec stackSpec, id *string) (changes []Change, empty bool, err error) {
	api := s.clients[spec.Region]
	deadline := s.deadline()
	for {
		var token *string
		changes = changes[:0]
		var status cfntypes.ChangeSetStatus
		var reason string
		for {
			out, err := api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: id, StackName: aws.String(spec.Name), NextToken: token})
			if err != nil {
				return nil, false, fmt.Errorf("describe change set of %s in %s: %w", spec.Name, spec.Region, err)
			}
			status, reason = out.Status, aws.ToString(out.StatusReason)
			for _, c := range out.Changes {
				if rc := c.ResourceChange; rc != nil {
					changes = append(changes, Change{
						Action: string(rc.Action), LogicalID: aws.ToString(rc.LogicalResourceId),
						Type: aws.ToString(rc.ResourceType), Replacement: string(rc.Replacement),
					})
				}
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		switch status {
		case cfntypes.ChangeSetStatusCreateComplete:
			// Zero resource changes is not "nothing to do": a change to outputs alone makes
			// such a change set, and executing it is what updates them. CloudFormation marks
			// a change set with truly nothing to do FAILED (below).
			return changes, false, nil
		case cfntypes.ChangeSetStatusFailed:
			if isEmptyChangeSet(reason) {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("change set for %s in %s failed: %s", spec.Name, spec.Region, reason)
		}
		if err := s.pause(ctx, deadline, spec, "change set "+string(status), ""); err != nil {
			return nil, false, err
		}
	}
}

// operation identifies the events of one change set execution: those carrying its
// client request token or, from implementations that set none (moto), those not older
// than its start.
type operation struct {
	since time.Time
	token string
}

func (op *operation) owns(e cfntypes.StackEvent) bool {
	if t := aws.ToString(e.ClientRequestToken); t != "" {
		return t == op.token
	}
	return e.Timestamp == nil || !e.Timestamp.Before(op.since.Add(-time.Second))
}

// waitStack polls the stack until no operation is in progress, printing each new event of
// op once (op nil: report none). A stack that ends in a failed or rolled-back state is a
// *StackError.
func (s *stackRunner) waitStack(ctx context.Context, spec stackSpec, op *operation) (*cfntypes.Stack, error) {
	api := s.clients[spec.Region]
	seen := map[string]bool{}
	var failed []cfntypes.StackEvent
	var last string // the newest event, to say what a timed-out wait was waiting for
	deadline := s.deadline()
	for {
		out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(spec.Name)})
		if err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				return nil, errDeleted
			}
			return nil, fmt.Errorf("describe stack %s in %s: %w", spec.Name, spec.Region, err)
		}
		if len(out.Stacks) == 0 {
			return nil, errDeleted
		}
		st := out.Stacks[0]
		if op != nil {
			events, err := s.newEvents(ctx, spec, op, seen)
			if err != nil {
				return nil, err
			}
			for _, e := range events {
				s.out.event(spec, e)
				last = fmt.Sprintf("%s %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus)
				if strings.HasSuffix(string(e.ResourceStatus), "_FAILED") && aws.ToString(e.LogicalResourceId) != spec.Name {
					failed = append(failed, e)
				}
			}
		}
		if !isInProgress(st.StackStatus) {
			if st.StackStatus == cfntypes.StackStatusDeleteComplete {
				return &st, errDeleted
			}
			if isSuccess(st.StackStatus) {
				return &st, nil
			}
			return nil, stackError(spec, st, failed)
		}
		if err := s.pause(ctx, deadline, spec, string(st.StackStatus), last); err != nil {
			return nil, err
		}
	}
}

var errDeleted = errors.New("stack deleted")

// WaitTimeoutError is a wait that passed --wait-timeout. CloudFormation carries on with
// the operation; only the deploy stopped waiting.
type WaitTimeoutError struct {
	Region, Stack, Status string
	Timeout               time.Duration
	// Last is the newest event seen, such as "Certificate CREATE_IN_PROGRESS".
	Last string
}

func (e *WaitTimeoutError) Error() string {
	last := ""
	if e.Last != "" {
		last = ", last event " + e.Last
	}
	return fmt.Sprintf("stack %s in %s still %s after %v (--wait-timeout%s); CloudFormation carries on: run the deploy again to wait for it, or raise --wait-timeout (a certificate waits for its DNS validation record)",
		e.Stack, e.Region, e.Status, e.Timeout, last)
}

func (s *stackRunner) deadline() time.Time {
	if s.waitTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(s.waitTimeout)
}

// pause sleeps one poll interval, or fails with a *WaitTimeoutError past the deadline.
func (s *stackRunner) pause(ctx context.Context, deadline time.Time, spec stackSpec, status, last string) error {
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return &WaitTimeoutError{Region: spec.Region, Stack: spec.Name, Status: status, Timeout: s.waitTimeout, Last: last}
	}
	return sleep(ctx, s.poll)
}

func isDeleted(err error) bool { return errors.Is(err, errDeleted) }

// newEvents returns op's events that are not in seen, oldest first. Events come newest
// first; paging stops at the first event older than op.
func (s *stackRunner) newEvents(ctx context.Context, spec stackSpec, op *operation, seen map[string]bool) ([]cfntypes.StackEvent, error) {
	var events []cfntypes.StackEvent
	var token *string
	for {
		out, err := s.clients[spec.Region].DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(spec.Name), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("describe events of %s in %s: %w", spec.Name, spec.Region, err)
		}
		older := false
		for _, e := range out.StackEvents { // newest first
			if e.Timestamp != nil && e.Timestamp.Before(op.since.Add(-time.Hour)) {
				// Far older than this operation, whatever the clocks: stop paging.
				older = true
				break
			}
			if !op.owns(e) {
				continue
			}
			if id := aws.ToString(e.EventId); !seen[id] {
				seen[id] = true
				events = append(events, e)
			}
		}
		if older || out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	sort.SliceStable(events, func(i, j int) bool {
		return aws.ToTime(events[i].Timestamp).Before(aws.ToTime(events[j].Timestamp))
	})
	return events, nil
}

// stackError explains a failed operation by its first failed resource. A resource that
// failed only because another did ("Resource creation cancelled") is not the cause.
func stackError(spec stackSpec, st cfntypes.Stack, failed []cfntypes.StackEvent) error {
	e := &StackError{Region: spec.Region, Stack: spec.Name, Status: string(st.StackStatus), Reason: aws.ToString(st.StackStatusReason)}
	var pick *cfntypes.StackEvent
	for i := range failed {
		if !strings.Contains(aws.ToString(failed[i].ResourceStatusReason), "cancelled") {
			pick = &failed[i]
			break
		}
	}
	if pick == nil && len(failed) > 0 {
		pick = &failed[0]
	}
	if pick != nil {
		e.Resource = aws.ToString(pick.LogicalResourceId)
		e.Type = aws.ToString(pick.ResourceType)
		e.ResourceStatus = string(pick.ResourceStatus)
		e.Reason = aws.ToString(pick.ResourceStatusReason)
	}
	return e
}

func isInProgress(s cfntypes.StackStatus) bool { return strings.HasSuffix(string(s), "_IN_PROGRESS") }

func isSuccess(s cfntypes.StackStatus) bool {
	return s == cfntypes.StackStatusCreateComplete || s == cfntypes.StackStatusUpdateComplete || s == cfntypes.StackStatusImportComplete
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
