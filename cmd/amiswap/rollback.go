package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/store"
	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "rollback", summary: "put a group back on its previous golden AMI (locked, compensated, recorded)", run: runRollback})
}

// rollbackInput are the flags of `amiswap rollback`.
type rollbackInput struct {
	Req        amiswap.RollbackRequest
	JSON       bool
	HistoryDir string
	Config     workflow.Config
	AWS        awsFlags
}

func runRollback(ctx context.Context, args []string, env *Env) error {
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
	fs.StringVar(&in.Config.LockTable, "lock-table", in.Config.LockTable, "DynamoDB lock table (env AMISWAP_LOCK_TABLE; empty: no locking)")
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

	target, err := loadAWS(ctx, env, "rollback", in.AWS)
	if err != nil {
		return err
	}
	// Ask first, with the same resolver the state machine runs: nothing to
	// roll back to is the caller's mistake (exit 2), and no execution is
	// recorded for it.
	if _, err := workflow.NewRollbackResolver(workflow.NewClients(target.Config)).Resolve(ctx, workflow.Payload{
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

	var clock asl.Clock = asl.SystemClock{}
	if target.Sim != nil {
		clock = target.Sim
	}
	st, err := store.Open(in.HistoryDir)
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	defer st.Close()
	st.Meta = &store.Meta{Target: target.String()}
	progress := &runner.Progress{W: env.Stdout, Terminal: isTerminal(env.Stdout)}
	if in.JSON {
		progress = &runner.Progress{W: env.Stderr, Terminal: isTerminal(env.Stderr)}
	}
	ex, def, err := runner.Executor(runner.Options{AWS: target.Config, Config: in.Config, Clock: clock, Journal: st, Observer: progress.Observe,
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
	fmt.Fprintf(progress.W, "execution %s (history: %s)\n", x.Name(), in.HistoryDir)
	res, err := x.Run(ctx)
	if err != nil {
		return fmt.Errorf("rollback: %w (resume with: amiswap run --resume %s)", err, x.Name())
	}
	return reportRollback(env, x, res, in.JSON)
}

// reportRollback prints how a rollback ended: exit 0 rolled back, 2 when
// there turned out to be nothing to roll back to (nothing changed), 1
// failed and compensated.
func reportRollback(env *Env, x *asl.Execution, res asl.Result, asJSON bool) error {
	if asJSON {
		out := res.Output
		if res.Status != asl.StatusSucceeded {
			out, _ = json.Marshal(map[string]string{"status": string(res.Status), "error": res.Error, "cause": res.Cause, "execution": x.Name()})
		}
		fmt.Fprintf(env.Stdout, "%s\n", out)
	}
	if res.Status != asl.StatusSucceeded {
		fmt.Fprintf(env.Stderr, "rollback %s: %s: %s\n", failedOrCompensated(x), res.Error, res.Cause)
		if res.Error == amiswap.ErrorName(&amiswap.NothingToRollBackError{}) || res.Error == amiswap.ErrorName(&amiswap.InvalidInputError{}) {
			return &exitError{code: 2}
		}
		return &exitError{code: 1}
	}
	var st workflow.State
	if err := json.Unmarshal(res.Output, &st); err != nil {
		return fmt.Errorf("rollback: read the output: %w", err)
	}
	if !asJSON && st.Rollback != nil && st.Swap != nil {
		fmt.Fprintf(env.Stdout, "rolled back: group %s now on %s (was %s; launch template %s version %s); %d state transitions\n",
			st.Rollback.Target.Group, st.Rollback.ImageID, st.Rollback.FromImageID, st.Swap.LaunchTemplateID, st.Swap.NewVersion, x.Transitions())
	}
	return nil
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
