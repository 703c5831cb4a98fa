package awsinfra

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/twinedge/twinedge/internal/testtool"
)

// policyActions returns the actions the deployer policy allows.
func policyActions(t *testing.T, opts Options) []string {
	t.Helper()
	b, err := DeployerPolicy(opts, "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []struct{ Action any } }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, s := range doc.Statement {
		switch a := s.Action.(type) {
		case string:
			acts = append(acts, a)
		case []any:
			for _, x := range a {
				acts = append(acts, x.(string))
			}
		}
	}
	return acts
}

// checkCallsAllowed fails for each recorded call whose action the policy lacks.
func checkCallsAllowed(t *testing.T, calls []call, allowed []string) {
	t.Helper()
	for _, c := range calls {
		action, known := sdkActions[c.Service+"."+c.Operation]
		if !known {
			t.Errorf("the code calls %s.%s, which the deployer policy does not cover: add it to sdkActions", c.Service, c.Operation)
			continue
		}
		if action != "" && !slices.Contains(allowed, action) {
			t.Errorf("%s.%s needs %s, missing from the deployer policy", c.Service, c.Operation, action)
		}
	}
}

// TestDeployerPolicyCoversCalls records every operation deploy, fail, heal and destroy
// send to moto_server and checks the deployer policy allows each.
func TestDeployerPolicyCoversCalls(t *testing.T) {
	url := testtool.Moto(t, patchedMoto)
	ctx := context.Background()
	rec := &callRecorder{}
	var out bytes.Buffer
	opts := motoDeployOptions(t, url, &out)
	opts.apiOptions = rec.options()
	if err := Deploy(ctx, opts); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, out.String())
	}
	d := DestroyOptions{StateDir: opts.StateDir, EndpointURL: url, Progress: &out, PollInterval: opts.PollInterval, apiOptions: rec.options(),
		Confirm: func() bool { return true }}
	if _, err := Destroy(ctx, d); err != nil {
		t.Fatalf("Destroy: %v\n%s", err, out.String())
	}
	calls := rec.all()
	if len(calls) < 20 {
		t.Fatalf("%d calls recorded: the recorder is not installed", len(calls))
	}
	checkCallsAllowed(t, calls, policyActions(t, Options{}))
	// A call the table does not know fails the check.
	probe := &testing.T{}
	checkCallsAllowed(probe, []call{{Service: "S3", Operation: "PutBucketAcl"}}, nil)
	if !probe.Failed() {
		t.Error("an unknown call passed the check")
	}
}

// Every resource type the templates hold has the actions CloudFormation needs for it.
func TestDeployerPolicyCoversResources(t *testing.T) {
	for _, c := range synthCases {
		if _, err := DeployerPolicy(c.opts, "123456789012"); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	b, _ := DeployerPolicy(Options{StackName: "demo", Regions: []string{"cn-north-1", "cn-northwest-1"}}, "123456789012")
	if !strings.Contains(string(b), "arn:aws-cn:s3:::demo-*") || strings.Contains(string(b), "arn:aws:") {
		t.Errorf("China policy not in the aws-cn partition:\n%s", b)
	}
}
