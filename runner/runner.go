package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// StateMachineName names local executions ($$.StateMachine.Name).
const StateMachineName = "amiswap"

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
}

// Executor returns the executor and parsed local definition for opts.
func Executor(opts Options) (*asl.Executor, *asl.Definition, error) {
	def, err := asl.Parse(workflow.LocalDefinition())
	if err != nil {
		return nil, nil, fmt.Errorf("parse the embedded definition: %w", err)
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
		StateMachine: StateMachineName,
	}, def, nil
}

// Run executes one swap for req and waits for its end. The error is for
// failures to run at all; a swap that failed is reported in the Result.
func Run(ctx context.Context, opts Options, name string, req amiswap.Request) (*asl.Execution, asl.Result, error) {
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
