package awssim

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
)

// blockingRunner runs an execution until it is stopped.
type blockingRunner struct{ started chan struct{} }

func (b blockingRunner) RunExecution(ctx context.Context, x StatesExecution) StatesOutcome {
	close(b.started)
	<-ctx.Done()
	return StatesOutcome{Status: "ABORTED"}
}

func sfnCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestStepFunctionsStateMachinesAndExecutions checks the API shapes and
// errors (Step Functions API reference: CreateStateMachine, StartExecution,
// DescribeExecution, ListExecutions, StopExecution).
func TestStepFunctionsStateMachinesAndExecutions(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sfn.NewFromConfig(ts.Cfg)
	role := aws.String("arn:aws:iam::123456789012:role/sm")
	def := aws.String(`{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}`)
	if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad name"), Definition: def, RoleArn: role}); sfnCode(err) != "InvalidName" {
		t.Errorf("a name with a space: %v", err)
	}
	if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("x"), Definition: aws.String(`{"States":{}}`), RoleArn: role}); sfnCode(err) != "InvalidDefinition" {
		t.Errorf("a definition without StartAt: %v", err)
	}
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("sm"), Definition: def, RoleArn: role})
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("sm"), Definition: def, RoleArn: role}); err != nil || aws.ToString(again.StateMachineArn) != aws.ToString(sm.StateMachineArn) {
		t.Errorf("creating the same state machine again: %v, %v", again, err)
	}
	if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("sm"), Definition: aws.String(`{"StartAt":"B","States":{"B":{"Type":"Succeed"}}}`), RoleArn: role}); sfnCode(err) != "StateMachineAlreadyExists" {
		t.Errorf("another definition under the same name: %v", err)
	}
	d, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || aws.ToString(d.Definition) != aws.ToString(def) || aws.ToString(d.Name) != "sm" {
		t.Errorf("describe: %+v %v", d, err)
	}
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn}); sfnCode(err) != "ValidationException" {
		t.Errorf("without a runner StartExecution must be refused: %v", err)
	}
	missing := aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:nope")
	if _, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: missing}); sfnCode(err) != "StateMachineDoesNotExist" {
		t.Errorf("ListExecutions of a missing machine: %v", err)
	}

	r := blockingRunner{started: make(chan struct{})}
	ts.Sim.SetStatesRunner(r)
	if _, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String("{")}); sfnCode(err) != "InvalidExecutionInput" {
		t.Errorf("input that is not JSON: %v", err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	<-r.started
	if same, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{"a":1}`)}); err != nil || aws.ToString(same.ExecutionArn) != aws.ToString(x.ExecutionArn) {
		t.Errorf("StartExecution is idempotent for a running execution with the same name and input: %v %v", same, err)
	}
	running, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn, StatusFilter: "RUNNING"})
	if err != nil || len(running.Executions) != 1 {
		t.Fatalf("running executions: %+v %v", running, err)
	}
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: x.ExecutionArn, Error: aws.String("Operator"), Cause: aws.String("stopped by hand")}); err != nil {
		t.Fatal(err)
	}
	de, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil || de.Status != "ABORTED" || aws.ToString(de.Error) != "Operator" || de.StopDate == nil || aws.ToString(de.Input) != `{"a":1}` {
		t.Errorf("after StopExecution: %+v %v", de, err)
	}
}
