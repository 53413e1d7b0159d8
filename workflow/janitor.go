package workflow

// This file is the janitor: it compensates a swap execution that ended
// outside the definition's own Catch. Step Functions cannot catch an
// execution's own timeout, an execution stopped by an operator, or a
// States.Runtime error ("Error handling in Step Functions workflows",
// https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html);
// such an execution ends TIMED_OUT, ABORTED or FAILED without running
// Compensate. Step Functions then sends a "Step Functions Execution Status
// Change" event to EventBridge ("Automating Step Functions event delivery
// with EventBridge",
// https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html),
// which the stack's janitor rule delivers to the janitor function.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// JanitorFunction is the janitor's function name (AMISWAP_FUNCTION). It is
// not one of Functions: the state machine never invokes it; its rule does.
const JanitorFunction = "Janitor"

// Execution statuses the janitor acts on: the endings the definition's
// Catch cannot see.
var JanitorStatuses = []string{"FAILED", "TIMED_OUT", "ABORTED"}

// ExecutionStatusChange is the detail of a "Step Functions Execution Status
// Change" event (source aws.states), as in the Step Functions developer
// guide's examples: the execution's ARN, its state machine, its status,
// its input as a JSON string (absent when over the event's size limit:
// inputDetails.included is false) and, for failures, the error and cause.
type ExecutionStatusChange struct {
	ExecutionArn    string                   `json:"executionArn"`
	StateMachineArn string                   `json:"stateMachineArn"`
	Name            string                   `json:"name"`
	Status          string                   `json:"status"`
	StartDate       int64                    `json:"startDate"`
	StopDate        int64                    `json:"stopDate"`
	Input           *string                  `json:"input"`
	InputDetails    *struct{ Included bool } `json:"inputDetails"`
	Error           string                   `json:"error"`
	Cause           string                   `json:"cause"`
}

// executionHistory is what the janitor reads from Step Functions.
type executionHistory interface {
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, opts ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// Janitor compensates executions that ended outside their Catch. It keeps
// no state of its own: what it undoes it finds from the execution's input,
// its history when it may read it, and AWS itself (lineage tags, the
// execution id on the builder and the golden AMI, the launch template
// version's description, the frozen MaxSize tag), through Compensate.
type Janitor struct {
	comp  *Compensator
	locks *Locker
	// history is optional: without it (nil, or access denied) the janitor
	// works from the input and AWS alone.
	history executionHistory
	log     *slog.Logger
	// sleep waits between compensation passes while an instance refresh
	// that the janitor cancelled winds down; patience bounds the wait.
	sleep    func(ctx context.Context, d time.Duration) error
	patience time.Duration
}

// JanitorPatience is how long one janitor invocation waits for a
// cancelled instance refresh to end before it gives up with a
// TransientError (Lambda retries an asynchronous invocation twice:
// "Asynchronous invocation",
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html). It
// stays well within the janitor function's 300-second timeout.
const JanitorPatience = 240 * time.Second

// janitorPoll is the interval between compensation passes.
const janitorPoll = 15 * time.Second

// SetSleep makes the janitor wait with sleep instead of the wall clock
// (the simulator's clock in tests and local runs).
func (j *Janitor) SetSleep(sleep func(ctx context.Context, d time.Duration) error) { j.sleep = sleep }

// NewJanitor returns the janitor over the production clients; sfnClient
// may be nil.
func NewJanitor(c Clients, conf Config, sfnClient executionHistory, log *slog.Logger) *Janitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	j := &Janitor{
		comp:  &Compensator{asg: c.ASG, ec2: c.EC2},
		locks: &Locker{db: c.DynamoDB, table: conf.LockTable, ttl: conf.LockTTL},
		log:   log, sleep: asl.SystemClock{}.Sleep, patience: JanitorPatience,
	}
	if sfnClient != nil {
		j.history = sfnClient
	}
	return j
}

// JanitorResult is what the janitor did for one execution.
type JanitorResult struct {
	ExecutionArn string `json:"executionArn"`
	Status       string `json:"status"`
	// StateFrom says where the execution's state came from: "history" (the
	// last state the execution entered or left) or "input" (the request
	// alone; the rest is found in AWS).
	StateFrom string `json:"stateFrom"`
	// LastState is the state the execution was in, when the history says.
	LastState string `json:"lastState,omitempty"`
	// AlreadyCompensated is set when the workflow's own Compensate had run
	// to its end (or the request was refused before any change): the
	// janitor changes nothing but the lock.
	AlreadyCompensated bool                `json:"alreadyCompensated"`
	Compensation       *CompensationResult `json:"compensation,omitempty"`
	LockReleased       bool                `json:"lockReleased"`
}

// ParseExecutionStatusChange reads a "Step Functions Execution Status
// Change" event. Anything else is an *amiswap.InvalidInputError naming the
// field.
func ParseExecutionStatusChange(event []byte) (*ExecutionStatusChange, error) {
	var ev struct {
		Source     string                 `json:"source"`
		DetailType string                 `json:"detail-type"`
		Detail     *ExecutionStatusChange `json:"detail"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "event", Reason: err.Error()}
	}
	switch {
	case ev.Source != "aws.states":
		return nil, &amiswap.InvalidInputError{Field: "source", Reason: fmt.Sprintf("%q is not aws.states", ev.Source)}
	case ev.DetailType != "Step Functions Execution Status Change":
		return nil, &amiswap.InvalidInputError{Field: "detail-type", Reason: fmt.Sprintf("%q is not Step Functions Execution Status Change", ev.DetailType)}
	case ev.Detail == nil:
		return nil, &amiswap.InvalidInputError{Field: "detail", Reason: "missing"}
	case !strings.Contains(ev.Detail.ExecutionArn, ":execution:"):
		return nil, &amiswap.InvalidInputError{Field: "detail.executionArn", Reason: fmt.Sprintf("%q is not an execution ARN", ev.Detail.ExecutionArn)}
	}
	return ev.Detail, nil
}

// Handle compensates the execution an event reports stopped. Other
// statuses (RUNNING, SUCCEEDED) change nothing.
func (j *Janitor) Handle(ctx context.Context, event json.RawMessage) (*JanitorResult, error) {
	d, err := ParseExecutionStatusChange(event)
	if err != nil {
		return nil, err
	}
	res := &JanitorResult{ExecutionArn: d.ExecutionArn, Status: d.Status, StateFrom: "input"}
	stopped := false
	for _, s := range JanitorStatuses {
		stopped = stopped || d.Status == s
	}
	if !stopped {
		return res, nil
	}
	log := j.log.With("execution", d.ExecutionArn, "status", d.Status)

	var st State
	if d.Input != nil && *d.Input != "" {
		if err := json.Unmarshal([]byte(*d.Input), &st); err != nil {
			return nil, &amiswap.InvalidInputError{Field: "detail.input", Reason: err.Error()}
		}
	}
	if j.history != nil {
		h, err := j.readHistory(ctx, d.ExecutionArn)
		switch {
		case err != nil:
			// Not fatal: the input and AWS suffice.
			log.Warn("execution history unavailable; compensating from the input and AWS", "error", err.Error())
		case h.state != nil:
			st, res.StateFrom, res.LastState = *h.state, "history", h.lastState
			res.AlreadyCompensated = h.compensated
		default:
			res.LastState, res.AlreadyCompensated = h.lastState, h.compensated
		}
	}

	p := Payload{Op: "compensate", State: st, Context: Context{ExecutionID: d.ExecutionArn, EnteredTime: time.UnixMilli(d.StopDate).UTC()}}
	c := &compensation{res: &CompensationResult{Actions: []string{}, Problems: []string{}}}
	if (p.State.Target == nil || p.State.Target.Group == "") && !res.AlreadyCompensated {
		// Find the group once, here, so that the lock can be released too.
		builders := j.comp.findBuilders(ctx, c, p)
		images := j.comp.findImages(ctx, c, p)
		p.State.Target = j.comp.findTarget(ctx, c, p, builders, images)
	}

	var compErr error
	if !res.AlreadyCompensated {
		// A refresh the compensation cancelled blocks the group until it
		// ends: run the (idempotent) compensation again until it is
		// through, within the janitor's patience.
		all := &CompensationResult{Actions: []string{}, Problems: c.res.Problems}
		for waited := time.Duration(0); ; waited += janitorPoll {
			var pass *CompensationResult
			pass, compErr = j.comp.Compensate(ctx, p)
			if pass != nil {
				all.Actions = append(all.Actions, pass.Actions...)
			}
			var te *amiswap.TransientError
			if !errors.As(compErr, &te) || waited+janitorPoll > j.patience {
				if pass != nil {
					all.Problems = append(all.Problems, pass.Problems...)
				}
				break
			}
			if err := j.sleep(ctx, janitorPoll); err != nil {
				break
			}
		}
		res.Compensation = all
		log.Info("compensated a stopped execution", "from", res.StateFrom, "lastState", res.LastState, "compensation", res.Compensation)
	} else {
		log.Info("the workflow had compensated the execution; nothing to undo", "lastState", res.LastState)
	}

	lock := p.State.Lock
	if lock == nil && p.State.Target != nil && p.State.Target.Group != "" && j.locks.table != "" {
		lock = &LockResult{Table: j.locks.table, Key: LockKey(p.State.Target.Group)}
	}
	if lock != nil {
		lock = &LockResult{Table: lock.Table, Key: lock.Key, Owner: d.ExecutionArn}
		u, err := j.locks.Unlock(ctx, Payload{State: State{Lock: lock}})
		if err != nil {
			return res, errors.Join(compErr, fmt.Errorf("release lock %s of %s: %w", lock.Key, d.ExecutionArn, err))
		}
		res.LockReleased = u.Released
	}
	return res, compErr
}

// history is what the janitor reads from an execution's history.
type history struct {
	// state is the newest state data: the input of the state the execution
	// was in, or the output of the last one it left.
	state     *State
	lastState string
	// compensated: Compensate ran to its end, or the request was refused
	// as invalid (InvalidInput), before any change.
	compensated bool
}

// readHistory pages through the execution's history, newest first.
func (j *Janitor) readHistory(ctx context.Context, executionArn string) (history, error) {
	var h history
	var token *string
	for page := 0; page < 100; page++ {
		out, err := j.history.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(executionArn), ReverseOrder: true, MaxResults: 1000, NextToken: token,
			IncludeExecutionData: aws.Bool(true),
		})
		if err != nil {
			return h, classify("states:GetExecutionHistory", err)
		}
		for _, ev := range out.Events {
			name, data, entered := stateEvent(ev)
			if name == "" {
				continue
			}
			if h.lastState == "" {
				h.lastState = name
			}
			if h.state == nil && data != "" {
				var st State
				if err := json.Unmarshal([]byte(data), &st); err == nil {
					h.state = &st
				}
			}
			if (name == "Compensate" && !entered) || name == "InvalidInput" {
				h.compensated = true
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	return h, nil
}

// stateEvent returns the state name and data of a state's entered or
// exited event, and whether it was entered.
func stateEvent(ev sfntypes.HistoryEvent) (name, data string, entered bool) {
	if d := ev.StateEnteredEventDetails; d != nil {
		return aws.ToString(d.Name), aws.ToString(d.Input), true
	}
	if d := ev.StateExitedEventDetails; d != nil {
		return aws.ToString(d.Name), aws.ToString(d.Output), false
	}
	return "", "", false
}
