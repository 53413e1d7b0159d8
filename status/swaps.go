package status

// This file finds each group's last swap: in the local execution history,
// or among the deployed state machines' executions in Step Functions.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// groupState is the part of an execution's state that names its group.
type groupState struct {
	Target *struct {
		Group string `json:"group"`
		Skip  bool   `json:"skip"`
	} `json:"target"`
	// Rollback executions carry their group at the top of their input.
	Group string `json:"group"`
}

// groupOf reads the group an execution's state (input or output) names,
// and whether Resolve decided to skip.
func groupOf(raw []byte) (group string, skip bool) {
	var s groupState
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	if s.Target != nil && s.Target.Group != "" {
		return s.Target.Group, s.Target.Skip
	}
	return s.Group, false
}

// outcome names how an execution ended, from its status and last state.
func outcome(status, lastState string, rollback bool) string {
	switch status {
	case "SUCCEEDED":
		if rollback {
			return "rolled back"
		}
		return "swapped"
	case "FAILED":
		return "failed"
	case "RUNNING":
		return "running"
	case "TIMED_OUT":
		return "timed out"
	case "ABORTED":
		return "aborted"
	case "INTERRUPTED":
		return "interrupted"
	}
	return lastState
}

// isRollback says whether a state machine name is a rollback machine's.
func isRollback(stateMachine string) bool {
	return len(stateMachine) >= len("rollback") && stateMachine[len(stateMachine)-len("rollback"):] == "rollback"
}

// HistorySwaps finds last swaps in a local execution store.
type HistorySwaps struct {
	Store *store.Store
}

// LastSwaps reads every stored execution, newest first, and keeps the first
// one per group that did not end as a skip (a skip or a collapsed duplicate
// changed nothing, so it is not a swap).
func (h HistorySwaps) LastSwaps(ctx context.Context) (map[string]Swap, error) {
	list, err := h.Store.List()
	if err != nil {
		return nil, err
	}
	out := map[string]Swap{}
	for _, s := range list {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hist, err := h.Store.Load(s.ID)
		if err != nil {
			return nil, err
		}
		group, skipped := historyGroup(hist)
		if group == "" || skipped || s.State == "AlreadyRunning" {
			continue
		}
		if _, seen := out[group]; seen {
			continue
		}
		rb := isRollback(s.StateMachine)
		sw := Swap{Execution: s.Name, Outcome: outcome(string(s.Status), s.State, rb), When: s.StartTime, Ended: s.StopTime, LastState: s.State, Kind: kind(rb)}
		out[group] = sw
	}
	return out, nil
}

func kind(rollback bool) string {
	if rollback {
		return "rollback"
	}
	return "swap"
}

// historyGroup finds the group in the newest state output that names one.
func historyGroup(h asl.History) (string, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		for _, raw := range [][]byte{h[i].Output, h[i].Input} {
			if g, skip := groupOf(raw); g != "" {
				return g, skip
			}
		}
	}
	return "", false
}

// ExecutionLister is what StackSwaps calls on Step Functions.
type ExecutionLister interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, opts ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// StackSwaps finds last swaps among the executions of the deployed state
// machines. Step Functions lists executions newest first; each one's group
// is in its output (or, while running, nowhere yet: then it is skipped).
type StackSwaps struct {
	SFN           ExecutionLister
	StateMachines []string
	// Limit bounds how many executions per state machine are read
	// (default 200): enough for a fleet's recent swaps without paging
	// through months of history.
	Limit int
}

// LastSwaps implements SwapFinder.
func (s StackSwaps) LastSwaps(ctx context.Context) (map[string]Swap, error) {
	limit := s.Limit
	if limit <= 0 {
		limit = 200
	}
	out := map[string]Swap{}
	for _, arn := range s.StateMachines {
		rb := isRollback(arn)
		in := &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), MaxResults: 100}
		read := 0
		for read < limit {
			page, err := s.SFN.ListExecutions(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("list executions of %s: %w", arn, err)
			}
			for _, e := range page.Executions {
				read++
				if err := s.add(ctx, out, e, rb); err != nil {
					return nil, err
				}
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

func (s StackSwaps) add(ctx context.Context, out map[string]Swap, e sfntypes.ExecutionListItem, rollback bool) error {
	d, err := s.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
	if err != nil {
		return fmt.Errorf("describe execution %s: %w", aws.ToString(e.ExecutionArn), err)
	}
	group, skipped := groupOf([]byte(aws.ToString(d.Output)))
	if group == "" {
		group, skipped = groupOf([]byte(aws.ToString(d.Input)))
	}
	if group == "" || skipped {
		return nil
	}
	sw := Swap{Execution: aws.ToString(e.Name), Outcome: outcome(string(e.Status), "", rollback), When: aws.ToTime(e.StartDate), Kind: kind(rollback)}
	if e.StopDate != nil {
		sw.Ended = *e.StopDate
	}
	// Two state machines (swap and rollback): the newest wins.
	if prev, ok := out[group]; ok && !sw.When.After(prev.When) {
		return nil
	}
	out[group] = sw
	return nil
}

// Merged combines finders: a group's newest swap among all of them wins.
// A finder that fails is reported through Warn (when set) and skipped, so
// that a stack whose executions cannot be read still leaves the local
// history.
type Merged struct {
	Finders []SwapFinder
	Warn    func(error)
}

// LastSwaps implements SwapFinder.
func (m Merged) LastSwaps(ctx context.Context) (map[string]Swap, error) {
	out := map[string]Swap{}
	var firstErr error
	ok := 0
	for _, f := range m.Finders {
		got, err := f.LastSwaps(ctx)
		if err != nil {
			if m.Warn != nil {
				m.Warn(err)
			}
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		ok++
		for g, s := range got {
			if prev, seen := out[g]; !seen || s.When.After(prev.When) {
				out[g] = s
			}
		}
	}
	if ok == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
