package awsinfra

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// progress writes the deploy's human-readable log: phases, planned changes and stack
// events, one line each, prefixed by region and stack. Regions run in parallel, so
// writes are serialised.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) line(s string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

func (p *progress) phase(format string, args ...any) {
	p.line("== " + fmt.Sprintf(format, args...))
}

func (p *progress) printf(region, stack, format string, args ...any) {
	p.line(fmt.Sprintf("%-14s %-22s %s", region, stack, fmt.Sprintf(format, args...)))
}

func (p *progress) plan(spec stackSpec, csType cfntypes.ChangeSetType, changes []Change) {
	verb := "update"
	if csType == cfntypes.ChangeSetTypeCreate {
		verb = "create"
	}
	p.printf(spec.Region, spec.Name, "change set (%s), %d change(s):", verb, len(changes))
	for _, c := range changes {
		repl := ""
		if c.Replacement == "True" || c.Replacement == "Conditional" {
			repl = " (replacement: " + c.Replacement + ")"
		}
		p.printf(spec.Region, spec.Name, "  %-7s %-28s %s%s", c.Action, c.LogicalID, c.Type, repl)
	}
}

func (p *progress) event(spec stackSpec, e cfntypes.StackEvent) {
	reason := aws.ToString(e.ResourceStatusReason)
	if reason != "" {
		reason = ": " + reason
	}
	p.printf(spec.Region, spec.Name, "%s %-28s %s%s", aws.ToTime(e.Timestamp).UTC().Format(time.TimeOnly),
		aws.ToString(e.LogicalResourceId), e.ResourceStatus, reason)
}
