package runner_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// waitExecution polls DescribeExecution until the execution ends. The
// simulator runs it in the background on its own clock; the bound only
// keeps a broken run from hanging the suite.
func waitExecution(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := c.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still RUNNING", arn)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRollbackStartedThroughStepFunctions: the rollback state machine in the
// simulator's Step Functions, started as from the console with
// {"group": …}, rolls the group back; ListExecutions and DescribeExecution
// report it as `amiswap status` reads it.
func TestRollbackStartedThroughStepFunctions(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	first, _ := twoSwaps(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	if err := sb.InstallStateMachines(ctx); err != nil {
		t.Fatal(err)
	}
	c := sfn.NewFromConfig(sb.AWS)
	list, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var rollbackArn string
	for _, m := range list.StateMachines {
		if aws.ToString(m.Name) == "amiswap-rollback" {
			rollbackArn = aws.ToString(m.StateMachineArn)
		}
	}
	if rollbackArn == "" {
		t.Fatalf("no amiswap-rollback state machine in %+v", list.StateMachines)
	}
	start, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(rollbackArn), Name: aws.String("console-rollback"),
		Input: aws.String(`{"group": "web"}`)})
	if err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, c, aws.ToString(start.ExecutionArn))
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Rollback struct{ ImageID string } `json:"rollback"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || out.Rollback.ImageID != first {
		t.Errorf("output %s: want a rollback to %s (%v)", aws.ToString(d.Output), first, err)
	}
	snap, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if snap.ImageID != first {
		t.Errorf("the group launches %s, want %s", snap.ImageID, first)
	}

	// A second start with the same name is refused once the first ended;
	// one with nothing to roll back to fails with that error.
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(rollbackArn), Name: aws.String("console-rollback"),
		Input: aws.String(`{"group": "web"}`)}); err == nil {
		t.Error("a second execution with the same name was started")
	}
	again, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(rollbackArn), Input: aws.String(`{"group": "web"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitExecution(t, c, aws.ToString(again.ExecutionArn)); d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "NothingToRollBackError" {
		t.Errorf("second rollback: %s %s", d.Status, aws.ToString(d.Error))
	}
	execs, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(rollbackArn)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range execs.Executions {
		names = append(names, string(e.Status))
	}
	if !slices.Equal(names, []string{"FAILED", "SUCCEEDED"}) {
		t.Errorf("ListExecutions (newest first) statuses %v", names)
	}
	failed, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(rollbackArn), StatusFilter: sfntypes.ExecutionStatusSucceeded})
	if err != nil || len(failed.Executions) != 1 || aws.ToString(failed.Executions[0].Name) != "console-rollback" {
		t.Errorf("statusFilter SUCCEEDED: %+v %v", failed, err)
	}
}
