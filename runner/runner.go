package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// StateMachineName names local swap executions ($$.StateMachine.Name);
// RollbackStateMachineName local rollback executions.
const (
	StateMachineName         = "amiswap"
	RollbackStateMachineName = "amiswap-rollback"
)

// localDefinition returns the local definition of the named state machine.
func localDefinition(stateMachine string) ([]byte, error) {
	switch stateMachine {
	case "", StateMachineName:
		return workflow.LocalDefinition(), nil
	case RollbackStateMachineName:
		return workflow.LocalRollbackDefinition(), nil
	}
	return nil, fmt.Errorf("no state machine %q (want %s or %s)", stateMachine, StateMachineName, RollbackStateMachineName)
}

// Options configure a local run.
type Options struct {
	// AWS is the configuration every handler's clients use, unless
	// FunctionAWS gives a function its own (its own credentials, so its own
	// IAM role).
	AWS         aws.Config
	FunctionAWS map[string]aws.Config
	// Config is the handlers' configuration (lock table, topic, overrides).
	Config workflow.Config
	// Clock drives Wait states and retry intervals (default: wall clock).
	Clock asl.Clock
	// Journal records the history durably (optional; see package store).
	Journal asl.Journal
	// Observer sees each history event live (progress output).
	Observer func(x *asl.Execution, ev asl.Event)
	Log      *slog.Logger
	// StateMachine picks the definition: StateMachineName (the default)
	// or RollbackStateMachineName. Resume with the one a stored history
	// names.
	StateMachine string
}

// Executor returns the executor and parsed local definition for opts.
func Executor(opts Options) (*asl.Executor, *asl.Definition, error) {
	raw, err := localDefinition(opts.StateMachine)
	if err != nil {
		return nil, nil, err
	}
	return executorFor(opts, raw)
}

// RunDefinition runs a definition given as text (one a Step Functions
// state machine holds, with Lambda function names or ARNs of amiswap's
// functions) over the handlers, to its end.
func RunDefinition(ctx context.Context, opts Options, definition []byte, name string, input json.RawMessage) (*asl.Execution, asl.Result, error) {
	ex, def, err := executorFor(opts, definition)
	if err != nil {
		return nil, asl.Result{}, err
	}
	return ex.Run(ctx, def, name, input)
}

// executorFor returns the executor over the handlers and the parsed raw
// definition.
func executorFor(opts Options, raw []byte) (*asl.Executor, *asl.Definition, error) {
	def, err := asl.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("parse the definition: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inv := &Invoker{Functions: map[string]*workflow.Registry{}}
	shared := workflow.New(workflow.NewClients(opts.AWS), opts.Config, log)
	for _, f := range workflow.Functions {
		inv.Functions[f.Name] = shared
		if cfg, ok := opts.FunctionAWS[f.Name]; ok {
			inv.Functions[f.Name] = workflow.New(workflow.NewClients(cfg), opts.Config, log)
		}
	}
	clock := opts.Clock
	if clock == nil {
		clock = asl.SystemClock{}
	}
	return &asl.Executor{
		Invoker: inv, Clock: clock, Journal: opts.Journal, Observer: opts.Observer,
		StateMachine: cmp.Or(opts.StateMachine, StateMachineName),
	}, def, nil
}

// Rollback executes one rollback for req and waits for its end, as Run
// does a swap.
func Rollback(ctx context.Context, opts Options, name string, req amiswap.RollbackRequest) (*asl.Execution, asl.Result, error) {
	opts.StateMachine = RollbackStateMachineName
	return run(ctx, opts, name, req)
}

// Run executes one swap for req and waits for its end. The error is for
// failures to run at all; a swap that failed is reported in the Result.
func Run(ctx context.Context, opts Options, name string, req amiswap.Request) (*asl.Execution, asl.Result, error) {
	return run(ctx, opts, name, req)
}

// run executes opts' state machine with req as its input.
func run(ctx context.Context, opts Options, name string, req any) (*asl.Execution, asl.Result, error) {
	ex, def, err := Executor(opts)
	if err != nil {
		return nil, asl.Result{}, err
	}
	input, err := json.Marshal(req)
	if err != nil {
		return nil, asl.Result{}, fmt.Errorf("encode request: %w", err)
	}
	return ex.Run(ctx, def, name, input)
}
