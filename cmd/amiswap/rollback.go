package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

func init() {
	register(command{name: "rollback", summary: "put a group back on its previous golden AMI (locked, compensated, recorded)", run: runRollback, ownsSignals: true})
}

// rollbackInput are the flags of `amiswap rollback`.
type rollbackInput struct {
	Req                   amiswap.RollbackRequest
	JSON, NoLock          bool
	HistoryDir, StackName string
	Config                workflow.Config
	AWS                   awsFlags
}

func runRollback(ctx context.Context, args []string, env *Env) error {
	wallStart := time.Now()
	in := rollbackInput{}
	conf, err := workflow.ConfigFromEnv(env.Getenv)
	if err != nil {
		return &usageError{"rollback: " + err.Error()}
	}
	in.Config = conf
	fs := newFlagSet("rollback", "--group NAME [--to ami-…] [--refresh] [flags]", env)
	fs.StringVar(&in.Req.Group, "group", "", "the Auto Scaling group to roll back")
	fs.StringVar(&in.Req.ToImageID, "to", "", "the golden AMI to go back to (default: the newest registered golden AMI of the group older than the one it launches)")
	fs.BoolVar(&in.Req.Refresh, "refresh", false, "roll the instances with an instance refresh (default: the group's amiswap:refresh setting)")
	fs.BoolVar(&in.JSON, "json", false, "print the execution's final output as one JSON document (progress goes to stderr)")
	fs.StringVar(&in.HistoryDir, "history-dir", defaultHistoryDir(env), "where local execution histories are kept")
	fs.StringVar(&in.Config.LockTable, "lock-table", in.Config.LockTable, "DynamoDB lock table (env AMISWAP_LOCK_TABLE; default: the LockTableName output of the stack --stack-name)")
	fs.BoolVar(&in.NoLock, "no-lock", false, "roll back without a group lock (needed against AWS when there is no stack and no --lock-table)")
	fs.StringVar(&in.StackName, "stack-name", "amiswap", "the deployed stack whose lock table is the default")
	fs.StringVar(&in.Config.TopicArn, "topic-arn", in.Config.TopicArn, "SNS topic for notifications (env AMISWAP_TOPIC_ARN; empty: none)")
	in.AWS.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case in.Req.Group == "":
		return &usageError{"rollback: give --group NAME"}
	case !groupNameOK(in.Req.Group):
		return &usageError{fmt.Sprintf("rollback: --group %q is not an Auto Scaling group name (1-255 characters, no colon)", in.Req.Group)}
	case in.Req.ToImageID != "" && !imageIDRe.MatchString(in.Req.ToImageID):
		return &usageError{fmt.Sprintf("rollback: --to %q is not an AMI id (ami- and 8 or 17 hexadecimal digits)", in.Req.ToImageID)}
	}

	// With --json, stdout carries only the JSON document.
	out := env.Stdout
	if in.JSON {
		out = env.Stderr
	}
	intr, ctx := newInterrupter(ctx, env.Signals, env.Stderr)
	defer intr.stop()
	target, err := loadAWS(ctx, env, "rollback", in.AWS)
	if err != nil {
		return err
	}
	calls := &runner.Calls{}
	awsCfg := calls.Instrument(target.Config)
	// Ask first, with the same resolver the state machine runs: nothing to
	// roll back to is the caller's mistake (exit 2), and no execution is
	// recorded for it.
	if _, err := workflow.NewRollbackResolver(workflow.NewClients(awsCfg)).Resolve(ctx, workflow.Payload{
		Op: "resolve-rollback", State: workflow.State{RollbackRequest: in.Req},
	}); err != nil {
		var nothing *amiswap.NothingToRollBackError
		var invalid *amiswap.InvalidInputError
		switch {
		case errors.As(err, &nothing), errors.As(err, &invalid):
			return &usageError{fmt.Sprintf("rollback: %v (%s)", err, target)}
		default:
			return fmt.Errorf("rollback: %w", err)
		}
	}
	lock, err := chooseLock(ctx, cloudformation.NewFromConfig(awsCfg), target, in.Config.LockTable, in.StackName, in.NoLock)
	if err != nil {
		return err
	}
	in.Config.LockTable = lock.Table
	fmt.Fprintf(env.Stderr, "amiswap: %s\n", lock.Why)

	clock := target.clock()
	st, err := openHistory(in.HistoryDir, target)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	defer st.Close()
	observe := intr.observeWith(&runner.Progress{W: out, Terminal: isTerminal(out)})
	ex, def, err := runner.Executor(runner.Options{AWS: awsCfg, Config: in.Config, Clock: clock, Journal: st, Observer: observe,
		StateMachine: runner.RollbackStateMachineName})
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	input, err := json.Marshal(in.Req)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	x, err := ex.Start(ctx, def, "", input)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	fmt.Fprintf(out, "execution %s (history: %s)\n", x.Name(), in.HistoryDir)
	res, err := x.Run(ctx)
	if err != nil {
		return fmt.Errorf("rollback: %w (resume with: amiswap run --resume %s)", err, x.Name())
	}
	m := runner.MetricsOf(x.History(), 0, calls, time.Since(wallStart))
	if s := intr.signaled(); s != nil && res.Status == asl.StatusAborted {
		return reportInterrupted(env, out, x, s, m, in.JSON)
	}
	return reportRollback(env, out, x, res, m, in.JSON)
}

// reportRollback prints how a rollback ended: exit 0 rolled back, 2 when
// there turned out to be nothing to roll back to (nothing changed), 1
// failed and compensated. With --json, stdout carries one document: the
// execution's output with outcome, status, execution and metrics.
func reportRollback(env *Env, out io.Writer, x *asl.Execution, res asl.Result, m runner.Metrics, asJSON bool) error {
	ws, doc := endState(x, res)
	outcome, line, code := "rolled back", "", 0
	switch {
	case res.Status == asl.StatusSucceeded && ws.Rollback != nil && ws.Swap != nil:
		line = fmt.Sprintf("rolled back: group %s now on %s (was %s; launch template %s version %s); %d state transitions",
			ws.Rollback.Target.Group, ws.Rollback.ImageID, ws.Rollback.FromImageID, ws.Swap.LaunchTemplateID, ws.Swap.NewVersion, x.Transitions())
	case res.Error == amiswap.ErrorName(&amiswap.NothingToRollBackError{}) || res.Error == amiswap.ErrorName(&amiswap.InvalidInputError{}):
		outcome, code = "refused", 2
		line = fmt.Sprintf("rollback refused, nothing changed: %s: %s", res.Error, runner.ShortCause(res.Cause))
	case res.Error == amiswap.ErrorName(&amiswap.LockHeldError{}) && ws.Compensation == nil:
		outcome, code = "refused", 1
		line = fmt.Sprintf("rollback refused, nothing changed: %s: %s", res.Error, runner.ShortCause(res.Cause))
	default:
		outcome, code = "failed", 1
		line = fmt.Sprintf("rollback %s: %s: %s", failedOrCompensated(x), res.Error, runner.ShortCause(res.Cause))
		if problems := compensationProblems(&ws); problems != "" {
			line = fmt.Sprintf("rollback failed; compensation could not undo everything (%s): %s: %s", problems, res.Error, runner.ShortCause(res.Cause))
		}
	}
	return finishReport(env, out, x, res, m, asJSON, doc, outcome, line, code)
}

// failedOrCompensated says "failed and compensated" when the execution went
// through Compensate, else "failed" (it failed before changing anything).
func failedOrCompensated(x *asl.Execution) string {
	for _, s := range x.Path() {
		if s == "Compensate" {
			return "failed and compensated"
		}
	}
	return "failed"
}
