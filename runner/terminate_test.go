package runner_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestBuilderTerminatedOnceTheImageIsAvailable: by the time the swap
// changes the launch template, the builder is already terminated
// (TerminateBuilder right after the image is available), not left running
// through the refresh until Cleanup.
func TestBuilderTerminatedOnceTheImageIsAvailable(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling"}})
	var states []ec2types.InstanceStateName
	ex, def, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim,
		Observer: func(x *asl.Execution, ev asl.Event) {
			if ev.Type != asl.TaskScheduled || ev.State != "UpdateLaunchTemplate" {
				return
			}
			out, err := ec2.NewFromConfig(sb.AWS).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder}}}})
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					states = append(states, in.State.Name)
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(req)
	x, res, err := ex.Run(ctx, def, "terminate-early", input)
	if err != nil || res.Status != asl.StatusSucceeded {
		t.Fatalf("run %v %+v via %v", err, res, x.Path())
	}
	if len(states) != 1 || (states[0] != ec2types.InstanceStateNameShuttingDown && states[0] != ec2types.InstanceStateNameTerminated) {
		t.Errorf("builder states when the launch template changed: %v, want it shutting down or terminated", states)
	}
}
