package status

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeSFN serves ListExecutions (newest first, as Step Functions lists
// them) and DescribeExecution from a fixed set of executions.
type fakeSFN struct {
	execs map[string][]sfn.DescribeExecutionOutput // by state machine ARN
}

func (f *fakeSFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	out := &sfn.ListExecutionsOutput{}
	for _, e := range f.execs[aws.ToString(in.StateMachineArn)] {
		out.Executions = append(out.Executions, sfntypes.ExecutionListItem{ExecutionArn: e.ExecutionArn, Name: e.Name, Status: e.Status, StartDate: e.StartDate, StopDate: e.StopDate, StateMachineArn: in.StateMachineArn})
	}
	return out, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	for _, list := range f.execs {
		for _, e := range list {
			if aws.ToString(e.ExecutionArn) == aws.ToString(in.ExecutionArn) {
				return &e, nil
			}
		}
	}
	return nil, &sfntypes.ExecutionDoesNotExist{}
}

func TestStackSwapsTakesTheNewestNonSkippedExecutionPerGroup(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ex := func(name string, status sfntypes.ExecutionStatus, start time.Time, input, output string) sfn.DescribeExecutionOutput {
		return sfn.DescribeExecutionOutput{ExecutionArn: aws.String("arn:aws:states:us-east-1:123456789012:execution:sm:" + name), Name: aws.String(name),
			Status: status, StartDate: aws.Time(start), StopDate: aws.Time(start.Add(time.Hour)), Input: aws.String(input), Output: aws.String(output)}
	}
	swapSM := "arn:aws:states:us-east-1:123456789012:stateMachine:amiswap-swap"
	rbSM := "arn:aws:states:us-east-1:123456789012:stateMachine:amiswap-rollback"
	f := &fakeSFN{execs: map[string][]sfn.DescribeExecutionOutput{
		swapSM: {
			ex("skip", sfntypes.ExecutionStatusSucceeded, t0.Add(5*time.Hour), `{}`, `{"target":{"group":"web","skip":true}}`),
			ex("web-2", sfntypes.ExecutionStatusFailed, t0.Add(4*time.Hour), `{}`, `{"target":{"group":"web"}}`),
			ex("api-1", sfntypes.ExecutionStatusSucceeded, t0.Add(3*time.Hour), `{}`, `{"target":{"group":"api"}}`),
			ex("web-1", sfntypes.ExecutionStatusSucceeded, t0.Add(2*time.Hour), `{}`, `{"target":{"group":"web"}}`),
		},
		rbSM: {
			ex("api-rb", sfntypes.ExecutionStatusSucceeded, t0.Add(6*time.Hour), `{"group":"api"}`, `{"group":"api"}`),
			ex("web-rb", sfntypes.ExecutionStatusSucceeded, t0.Add(time.Hour), `{"group":"web"}`, ``),
		},
	}}
	got, err := StackSwaps{SFN: f, StateMachines: []string{swapSM, rbSM}}.LastSwaps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := got["web"]; s.Execution != "web-2" || s.Outcome != "failed" || s.Kind != "swap" {
		t.Errorf("web: %+v; want the failed web-2 (the skip after it changed nothing, the rollback is older)", s)
	}
	if s := got["api"]; s.Execution != "api-rb" || s.Outcome != "rolled back" || s.Kind != "rollback" {
		t.Errorf("api: %+v; want the newer rollback", s)
	}
}

type fixedSwaps struct {
	m   map[string]Swap
	err error
}

func (f fixedSwaps) LastSwaps(context.Context) (map[string]Swap, error) { return f.m, f.err }

func TestMergedKeepsTheNewestAndSurvivesAFailingFinder(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var warned []error
	m := Merged{Warn: func(err error) { warned = append(warned, err) }, Finders: []SwapFinder{
		fixedSwaps{m: map[string]Swap{"web": {Execution: "local-old", When: t0}, "api": {Execution: "local-api", When: t0}}},
		fixedSwaps{err: context.DeadlineExceeded},
		fixedSwaps{m: map[string]Swap{"web": {Execution: "stack-new", When: t0.Add(time.Hour)}}},
	}}
	got, err := m.LastSwaps(context.Background())
	if err != nil || got["web"].Execution != "stack-new" || got["api"].Execution != "local-api" || len(warned) != 1 {
		t.Errorf("got %+v, %v, warned %v", got, err, warned)
	}
	if _, err := (Merged{Finders: []SwapFinder{fixedSwaps{err: context.Canceled}}}).LastSwaps(context.Background()); err == nil {
		t.Error("when every finder fails the error must come back")
	}
}
