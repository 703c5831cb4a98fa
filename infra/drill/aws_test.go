package drill

import (
	"context"
	"strings"
	"testing"

	awsinfra "github.com/twinedge/twinedge/infra/aws"
)

func TestForAWS(t *testing.T) {
	dir := t.TempDir()
	if _, err := ForAWS(dir, Options{}); err == nil {
		t.Fatal("ForAWS without aws.json succeeded")
	}
	state := &awsinfra.State{
		StackName: "twinedge", DistributionID: "E123", DomainName: "d1.cloudfront.net",
		Regions: []awsinfra.RegionState{
			{Name: "eu-west-2", Bucket: "b2", FunctionURL: "https://u2.lambda-url.eu-west-2.on.aws/"},
			{Name: "us-east-1", Primary: true, Bucket: "b1", FunctionURL: "https://u1.lambda-url.us-east-1.on.aws/"},
		},
	}
	if _, err := awsinfra.WriteState(dir, state); err != nil {
		t.Fatal(err)
	}
	opts, err := ForAWS(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Edge != "https://d1.cloudfront.net" || !opts.OnAWS || opts.Control != "" || opts.DistributionID != "E123" {
		t.Errorf("target: %+v", opts)
	}
	if opts.Regions[0].Name != "us-east-1" || opts.Regions[1].Bucket != "b2" {
		t.Errorf("regions %+v: want the primary first", opts.Regions)
	}
	var targets []string
	for _, st := range opts.Schedule {
		if st.Fault.Mode != AWSMode || st.Fault.Region != "us-east-1" || !st.FailsOver {
			t.Errorf("step %+v", st)
		}
		targets = append(targets, st.Fault.Target)
	}
	if strings.Join(targets, " ") != "origin api all" {
		t.Errorf("schedule targets %v, want origin, api, all", targets)
	}
	if err := opts.Switch.Fail(context.Background(), Fault{Region: "us-east-1", Mode: "503"}); err == nil || !strings.Contains(err.Error(), "cannot be applied on AWS") {
		t.Errorf("a local mode on AWS: %v", err)
	}
}
