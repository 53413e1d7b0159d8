package sandbox

// This file runs the simulator's Step Functions executions: amiswap's two
// state machines are created in the simulator with their local
// definitions, and an execution started through the Step Functions API
// (the console's "Start execution", `aws stepfunctions start-execution`)
// runs over amiswap's handlers in process, against the simulator.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// StatesRunner runs the simulator's executions with the runner's options
// (the AWS configuration must reach the simulator).
type StatesRunner struct {
	Options runner.Options
}

var _ awssim.StatesRunner = StatesRunner{}

// RunExecution implements awssim.StatesRunner.
func (r StatesRunner) RunExecution(ctx context.Context, x awssim.StatesExecution) awssim.StatesOutcome {
	opts := r.Options
	opts.StateMachine = x.StateMachineName
	_, res, err := runner.RunDefinition(ctx, opts, []byte(x.Definition), x.Name, json.RawMessage(x.Input))
	switch {
	case ctx.Err() != nil:
		return awssim.StatesOutcome{Status: "ABORTED"}
	case err != nil:
		return awssim.StatesOutcome{Status: "FAILED", Error: "States.Runtime", Cause: err.Error()}
	}
	out := awssim.StatesOutcome{Status: string(res.Status), Error: res.Error, Cause: res.Cause}
	if res.Status == asl.StatusSucceeded {
		out.Output = string(res.Output)
	}
	return out
}

// InstallStateMachines creates amiswap's swap and rollback state machines
// (named runner.StateMachineName and runner.RollbackStateMachineName, as a
// stack named amiswap names them) in the simulator with the local
// definitions, and installs a StatesRunner that runs their executions
// with conf against endpoint.
func InstallStateMachines(ctx context.Context, sim *awssim.Sim, cfg aws.Config, conf workflow.Config) error {
	sim.SetStatesRunner(StatesRunner{Options: runner.Options{AWS: cfg, Config: conf, Clock: sim}})
	c := sfn.NewFromConfig(cfg)
	role := fmt.Sprintf("arn:aws:iam::%s:role/amiswap-state-machine", sim.AccountID())
	for name, def := range map[string][]byte{runner.StateMachineName: workflow.LocalDefinition(), runner.RollbackStateMachineName: workflow.LocalRollbackDefinition()} {
		if _, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(string(def)), RoleArn: aws.String(role)}); err != nil {
			return fmt.Errorf("create state machine %s: %w", name, err)
		}
	}
	return nil
}

// InstallStateMachines creates amiswap's state machines in the sandbox's
// simulator and runs their executions with the sandbox's configuration.
func (sb *Sandbox) InstallStateMachines(ctx context.Context) error {
	return InstallStateMachines(ctx, sb.Sim, sb.AWS, sb.Config)
}
