package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/store"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

func init() {
	register(command{name: "run", summary: "run one swap locally against AWS (or the simulator via AWS_ENDPOINT_URL)", run: runRun, ownsSignals: true})
}

// runInput are the flags of `amiswap run`.
type runInput struct {
	BackupJobID, InstanceID, EventFile, Resume, Abort string
	JSON, DryRun, NoLock                              bool
	FunctionKeys                                      bool
	StackName                                         string
	HistoryDir                                        string
	Config                                            workflow.Config
	AWS                                               awsFlags
}

var (
	instanceIDRe  = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	imageIDRe     = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	backupJobIDRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

// abortError is the error name an operator's abort records: the Fail
// state at the end of the compensation reports it.
const abortError = "States.Aborted"

func runRun(ctx context.Context, args []string, env *Env) error {
	wallStart := time.Now()
	in := runInput{}
	conf, err := workflow.ConfigFromEnv(env.Getenv)
	if err != nil {
		return &usageError{"run: " + err.Error()}
	}
	in.Config = conf
	fs := newFlagSet("run", "--backup-job-id ID | --instance-id ID | --event FILE | --resume NAME | --abort NAME [flags]", env)
	fs.StringVar(&in.BackupJobID, "backup-job-id", "", "swap from this completed AWS Backup job")
	fs.StringVar(&in.InstanceID, "instance-id", "", "swap from the newest completed backup of this instance")
	fs.StringVar(&in.EventFile, "event", "", "a raw EventBridge event (JSON file, - for stdin), filtered and transformed as the deployed rule does")
	fs.StringVar(&in.Resume, "resume", "", "resume the named local execution (interrupted, or its process died)")
	fs.StringVar(&in.Abort, "abort", "", "abort the named local execution: compensate, restore the group and end it")
	fs.BoolVar(&in.DryRun, "dry-run", false, "resolve the target and print the plan; change nothing")
	fs.BoolVar(&in.JSON, "json", false, "print one JSON document on stdout (the execution's output and metrics); everything else goes to stderr")
	fs.StringVar(&in.HistoryDir, "history-dir", defaultHistoryDir(env), "where local execution histories are kept")
	fs.StringVar(&in.Config.LockTable, "lock-table", in.Config.LockTable, "DynamoDB lock table (env AMISWAP_LOCK_TABLE; default: the LockTableName output of the stack --stack-name)")
	fs.BoolVar(&in.FunctionKeys, "function-keys", false, "sign each task's AWS calls with its function's access key AKIA<FUNCTION>, to run under the deployed roles against 'amiswap sim --iam-template'")
	fs.BoolVar(&in.NoLock, "no-lock", false, "run without a group lock (needed against AWS when there is no stack and no --lock-table)")
	fs.StringVar(&in.StackName, "stack-name", "amiswap", "the deployed stack whose lock table is the default")
	fs.StringVar(&in.Config.TopicArn, "topic-arn", in.Config.TopicArn, "SNS topic for notifications (env AMISWAP_TOPIC_ARN; empty: none)")
	fs.StringVar(&in.Config.BuilderSubnetID, "builder-subnet", in.Config.BuilderSubnetID, "launch the builder in this subnet (default: the group's first)")
	fs.StringVar(&in.Config.BuilderInstanceProfile, "builder-instance-profile", in.Config.BuilderInstanceProfile, "builder instance profile name or ARN (default: the launch template's)")
	in.AWS.register(fs)
	sgs := fs.String("builder-security-groups", strings.Join(in.Config.BuilderSecurityGroupIDs, ","), "comma-separated builder security group ids (default: the launch template's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	in.Config.BuilderSecurityGroupIDs = splitList(*sgs)
	n := 0
	for _, v := range []string{in.BackupJobID, in.InstanceID, in.EventFile, in.Resume, in.Abort} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return &usageError{"run: give exactly one of --backup-job-id, --instance-id, --event, --resume and --abort"}
	}
	if in.DryRun && (in.Resume != "" || in.Abort != "") {
		return &usageError{"run: --dry-run plans a new swap: it does not go with --resume or --abort"}
	}
	if in.NoLock && in.Config.LockTable != "" {
		return &usageError{"run: give --lock-table or --no-lock, not both"}
	}
	if in.FunctionKeys {
		if err := checkFunctionKeysFlag(env); err != nil {
			return err
		}
	}
	req := amiswap.Request{BackupJobID: in.BackupJobID, InstanceID: in.InstanceID}
	switch {
	case in.BackupJobID != "" && !backupJobIDRe.MatchString(in.BackupJobID):
		return &usageError{fmt.Sprintf("run: --backup-job-id %q is not a backup job id (8-4-4-4-12 hexadecimal digits)", in.BackupJobID)}
	case in.InstanceID != "" && !instanceIDRe.MatchString(in.InstanceID):
		return &usageError{fmt.Sprintf("run: --instance-id %q is not an instance id (i- and 8 or 17 hexadecimal digits)", in.InstanceID)}
	case in.EventFile != "":
		raw, err := readInput(in.EventFile)
		if err != nil {
			return &usageError{"run: --event: " + err.Error()}
		}
		if !json.Valid(raw) {
			return &usageError{fmt.Sprintf("run: --event %s is not JSON", in.EventFile)}
		}
		if ok, reason := deploy.MatchEvent(raw); !ok {
			if in.JSON {
				return writeJSON(env.Stdout, map[string]any{"outcome": "ignored", "reason": reason})
			}
			fmt.Fprintf(env.Stdout, "the event does not match amiswap's rule, nothing to do: %s\n", reason)
			return nil
		}
		if req, err = deploy.Transform(raw); err != nil {
			return &usageError{"run: --event: " + err.Error()}
		}
	}

	// With --json, stdout carries only the JSON document.
	out := env.Stdout
	if in.JSON {
		out = env.Stderr
	}
	intr, ctx := newInterrupter(ctx, env.Signals, env.Stderr)
	defer intr.stop()
	stopped := func(err error) error {
		if s := intr.signaled(); s != nil {
			fmt.Fprintf(out, "interrupted by %s before the execution started: nothing was changed\n", signalName(s))
			return &exitError{code: exitStatus(s)}
		}
		return err
	}

	target, err := loadAWS(ctx, env, "run", in.AWS)
	if err != nil {
		return stopped(err)
	}
	calls := &runner.Calls{}
	awsCfg := calls.Instrument(target.Config)
	clock := target.clock()
	if in.Abort == "" {
		// An abort takes no lock: its compensation releases the one
		// the execution holds.
		lock, err := chooseLock(ctx, cloudformation.NewFromConfig(awsCfg), target, in.Config.LockTable, in.StackName, in.NoLock)
		if err != nil {
			return stopped(err)
		}
		in.Config.LockTable = lock.Table
		fmt.Fprintf(env.Stderr, "amiswap: %s\n", lock.Why)
	}
	if in.Resume == "" && in.Abort == "" && in.EventFile == "" {
		if err := checkExists(ctx, ec2.NewFromConfig(awsCfg), backup.NewFromConfig(awsCfg), target, req); err != nil {
			return stopped(err)
		}
	}
	if in.DryRun {
		p, err := dryRun(ctx, workflow.New(workflow.NewClients(awsCfg), in.Config, nil), target, in.Config, req, clock.Now())
		if err != nil {
			return stopped(err)
		}
		if in.JSON {
			return writeJSON(env.Stdout, p)
		}
		p.print(env.Stdout)
		return nil
	}

	st, err := openHistory(in.HistoryDir, target)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer st.Close()
	observe := intr.observeWith(&runner.Progress{W: out, Terminal: isTerminal(out)})
	var perFunction map[string]aws.Config
	if in.FunctionKeys {
		if perFunction, err = functionConfigs(ctx, target, calls); err != nil {
			return err
		}
	}
	opts := runner.Options{AWS: awsCfg, FunctionAWS: perFunction, Config: in.Config, Clock: clock, Journal: st, Observer: observe}
	ex, def, err := runner.Executor(opts)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	var x *asl.Execution
	from := 0
	switch {
	case in.Resume != "" || in.Abort != "":
		name := in.Resume + in.Abort
		id, err := st.Find(name)
		if err != nil {
			return &usageError{fmt.Sprintf("run: no execution %q in %s", name, in.HistoryDir)}
		}
		h, err := st.Load(id)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if s := h.Status(); s != asl.StatusRunning {
			return &usageError{fmt.Sprintf("run: execution %s already ended (%s): nothing to resume or abort", name, s)}
		}
		from = len(h)
		if info, _ := h.Info(); info.StateMachineName != "" && info.StateMachineName != runner.StateMachineName {
			// A rollback's execution resumes on the rollback definition.
			opts.StateMachine = info.StateMachineName
			if ex, def, err = runner.Executor(opts); err != nil {
				return fmt.Errorf("run: %w", err)
			}
		}
		if x, err = ex.Resume(def, h); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		fmt.Fprintf(out, "execution %s (history: %s)\n", x.Name(), in.HistoryDir)
		if in.Abort != "" {
			if err := divertToCompensation(x, out); err != nil {
				return fmt.Errorf("run: --abort: %w", err)
			}
		}
	default:
		input, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if x, err = ex.Start(ctx, def, "", input); err != nil {
			return stopped(fmt.Errorf("run: %w", err))
		}
		fmt.Fprintf(out, "execution %s (history: %s)\n", x.Name(), in.HistoryDir)
	}
	res, err := x.Run(ctx)
	if err != nil {
		return fmt.Errorf("run: %w (resume with: amiswap run --resume %s)", err, x.Name())
	}
	metrics := func() runner.Metrics { return runner.MetricsOf(x.History(), from, calls, time.Since(wallStart)) }
	if s := intr.signaled(); s != nil && res.Status == asl.StatusAborted {
		return reportInterrupted(env, out, x, s, metrics(), in.JSON)
	}
	return reportResult(env, out, x, res, metrics(), in.JSON)
}

// compensationStates are the states of the failure branch: an abort there
// just lets it finish.
var compensationStates = map[string]bool{"Compensate": true, "NotifyFailure": true, "ReleaseLock": true, "Failed": true}

// finishingStates come after the swap completed and do not lead to the
// compensation (their Catch goes on to the end): an abort there lets the
// execution finish.
var finishingStates = map[string]bool{"Notify": true, "Unlock": true, "Swapped": true, "Skipped": true, "AlreadyRunning": true, "InvalidInput": true, "": true,
	// The rollback definition's.
	"RolledBack": true, "NothingToRollBack": true, "GroupBusy": true, "ResolveFailed": true}

// divertToCompensation sends a stopped execution to Compensate, with an
// error saying that the operator aborted it, as a Catch would have.
func divertToCompensation(x *asl.Execution, out io.Writer) error {
	state, input, err := x.Position()
	if err != nil {
		return err
	}
	switch {
	case compensationStates[state]:
		fmt.Fprintf(out, "execution %s is compensating already (%s): letting it finish\n", x.Name(), state)
		return nil
	case finishingStates[state]:
		fmt.Fprintf(out, "execution %s has swapped already and is finishing (%s): letting it finish\n", x.Name(), state)
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(input, &v); err != nil {
		return fmt.Errorf("read the state of %s: %w", state, err)
	}
	cause := fmt.Sprintf("aborted by the operator (amiswap run --abort) at %s", state)
	v["error"] = map[string]string{"Error": abortError, "Cause": cause}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return x.Redirect("Compensate", raw, abortError, cause)
}

// reportInterrupted says what an interrupted execution had changed and
// the two ways on, and exits 130 or 143.
func reportInterrupted(env *Env, out io.Writer, x *asl.Execution, s os.Signal, m runner.Metrics, asJSON bool) error {
	state, input, _ := x.Position()
	if err := x.Interrupt(signalName(s)); err != nil {
		fmt.Fprintf(env.Stderr, "amiswap: record the interrupt: %v\n", err)
	}
	var ws workflow.State
	json.Unmarshal(input, &ws)
	changes := changesSoFar(&ws)
	resume, abort := "amiswap run --resume "+x.Name(), "amiswap run --abort "+x.Name()
	if asJSON {
		writeJSON(env.Stdout, map[string]any{
			"outcome": "interrupted", "status": store.StatusInterrupted, "execution": x.Name(), "signal": signalName(s),
			"state": state, "changes": changes, "resume": resume, "abort": abort, "metrics": m,
		})
	}
	fmt.Fprintf(out, "\nstopped by %s before %s; the execution is interrupted, not ended. What it had changed:\n", signalName(s), orNone(state))
	if len(changes) == 0 {
		fmt.Fprintln(out, "  nothing yet")
	}
	for _, c := range changes {
		fmt.Fprintf(out, "  - %s\n", c)
	}
	fmt.Fprintf(out, "to finish the swap:          %s\n", resume)
	fmt.Fprintf(out, "to undo it and end it:       %s\n", abort)
	fmt.Fprintf(out, "interrupted: resume with `%s` or abort with `%s`\n", resume, abort)
	return &exitError{code: exitStatus(s)}
}

// changesSoFar lists what an execution in state ws has changed in AWS and
// not undone yet, from what the steps recorded.
func changesSoFar(ws *workflow.State) []string {
	var c []string
	group := ""
	if ws.Target != nil {
		group = ws.Target.Group
	}
	if ws.Lock != nil && ws.Lock.Table != "" {
		c = append(c, fmt.Sprintf("holds the lock on group %s in table %s", group, ws.Lock.Table))
	}
	if ws.Freeze != nil && ws.Freeze.Frozen && ws.Thaw == nil && ws.Compensation == nil {
		c = append(c, fmt.Sprintf("MaxSize of %s held at %d (originally %d)", group, ws.Freeze.FrozenMaxSize, ws.Freeze.OriginalMaxSize))
	}
	if ws.Builder != nil && ws.Builder.InstanceID != "" && ws.Cleanup == nil && ws.Compensation == nil {
		c = append(c, "builder instance "+ws.Builder.InstanceID+" launched")
	}
	if ws.Image != nil && ws.Image.ImageID != "" && ws.Compensation == nil {
		c = append(c, "golden AMI "+ws.Image.ImageID+" created")
	}
	if ws.Swap != nil && ws.Compensation == nil {
		c = append(c, fmt.Sprintf("launch template %s version %s created; the group uses it", ws.Swap.LaunchTemplateID, ws.Swap.NewVersion))
	}
	if ws.Refresh != nil && ws.Refresh.RefreshID != "" && ws.Compensation == nil {
		c = append(c, "instance refresh "+ws.Refresh.RefreshID+" started")
	}
	return c
}

// reportResult prints how a swap ended; the last line says swapped,
// skipped, failed and compensated, or aborted. A failed swap exits 1.
func reportResult(env *Env, out io.Writer, x *asl.Execution, res asl.Result, m runner.Metrics, asJSON bool) error {
	ws, doc := endState(x, res)
	_, aborted := x.History().Redirected()
	outcome, line, code := "", "", 0
	switch {
	case res.Status == asl.StatusSucceeded && ws.Target != nil && ws.Target.Skip:
		outcome, line = "skipped", "skipped: "+ws.Target.SkipReason
	case res.Status == asl.StatusSucceeded && ws.Error != nil && ws.Error.Error == "LockHeldError":
		outcome, line = "skipped", "skipped: "+ws.Error.Cause
	case res.Status == asl.StatusSucceeded && ws.Image != nil && ws.Swap != nil:
		outcome = "swapped"
		line = fmt.Sprintf("swapped: group %s now on %s (launch template %s version %s); %d state transitions",
			ws.Target.Group, ws.Image.ImageID, ws.Swap.LaunchTemplateID, ws.Swap.NewVersion, x.Transitions())
	case res.Status == asl.StatusSucceeded:
		outcome, line = "succeeded", "succeeded"
	case aborted && res.Status == asl.StatusFailed:
		outcome, line = "aborted", fmt.Sprintf("aborted and compensated: execution %s ended", x.Name())
		if problems := compensationProblems(&ws); problems != "" {
			line, code = fmt.Sprintf("aborted; compensation could not undo everything (%s): execution %s ended", problems, x.Name()), 1
		}
	case res.Status == asl.StatusFailed && ws.Compensation != nil:
		outcome, code = "failed", 1
		line = fmt.Sprintf("failed and compensated: %s: %s", res.Error, runner.ShortCause(res.Cause))
		if problems := compensationProblems(&ws); problems != "" {
			line = fmt.Sprintf("failed; compensation could not undo everything (%s): %s: %s", problems, res.Error, runner.ShortCause(res.Cause))
		}
	default:
		outcome, code = "failed", 1
		line = fmt.Sprintf("failed (%s): %s: %s", strings.ToLower(string(res.Status)), res.Error, runner.ShortCause(res.Cause))
	}
	return finishReport(env, out, x, res, m, asJSON, doc, outcome, line, code)
}

// openHistory opens the local execution store, recording target with each
// new execution.
func openHistory(dir string, target *awsTarget) (*store.Store, error) {
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	st.Meta = &store.Meta{Target: target.String()}
	return st, nil
}

// endState reads the state an execution ended in — its output, or, when it
// did not succeed, the input of the state it stopped in — as the
// workflow's state and as the JSON object that --json reports.
func endState(x *asl.Execution, res asl.Result) (workflow.State, map[string]any) {
	raw := res.Output
	if res.Status != asl.StatusSucceeded {
		_, raw, _ = x.Position()
	}
	var ws workflow.State
	json.Unmarshal(raw, &ws)
	doc := map[string]any{}
	if json.Unmarshal(raw, &doc) != nil || doc == nil {
		doc = map[string]any{}
	}
	return ws, doc
}

// finishReport ends a run's report: with --json, the end state with
// outcome, status, execution and metrics (and error and cause when it did
// not succeed) as the one document on stdout; then line on out; code is
// the exit status.
func finishReport(env *Env, out io.Writer, x *asl.Execution, res asl.Result, m runner.Metrics, asJSON bool, doc map[string]any, outcome, line string, code int) error {
	if asJSON {
		doc["outcome"], doc["status"], doc["execution"], doc["metrics"] = outcome, res.Status, x.Name(), m
		if res.Status != asl.StatusSucceeded {
			doc["error"], doc["cause"] = res.Error, res.Cause
		}
		if err := writeJSON(env.Stdout, doc); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, line)
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// compensationProblems summarizes what compensation could not undo ("" if
// it undid everything).
func compensationProblems(ws *workflow.State) string {
	var p []string
	if ws.Compensation != nil {
		p = append(p, ws.Compensation.Problems...)
	}
	if ws.CompensationError != nil {
		p = append(p, ws.CompensationError.Error+": "+runner.ShortCause(ws.CompensationError.Cause))
	}
	return strings.Join(p, "; ")
}

// writeJSON writes v as the one JSON document of a --json command.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode JSON output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func defaultHistoryDir(env *Env) string {
	if d := env.Getenv("AMISWAP_HISTORY_DIR"); d != "" {
		return d
	}
	if d := env.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "amiswap", "executions")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "amiswap", "executions")
	}
	return filepath.Join(os.TempDir(), "amiswap-executions")
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no file %s", name)
	}
	return b, err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
