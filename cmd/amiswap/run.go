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

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/store"
	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "run", summary: "run one swap locally against AWS (or the simulator via AWS_ENDPOINT_URL)", run: runRun})
}

// runInput are the flags of `amiswap run`.
type runInput struct {
	BackupJobID, InstanceID, EventFile, Resume string
	JSON                                       bool
	HistoryDir                                 string
	Config                                     workflow.Config
	AWS                                        awsFlags
}

var (
	instanceIDRe  = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	imageIDRe     = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	backupJobIDRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
)

func runRun(ctx context.Context, args []string, env *Env) error {
	in := runInput{}
	conf, err := workflow.ConfigFromEnv(env.Getenv)
	if err != nil {
		return &usageError{"run: " + err.Error()}
	}
	in.Config = conf
	fs := newFlagSet("run", "--backup-job-id ID | --instance-id ID | --event FILE | --resume NAME [flags]", env)
	fs.StringVar(&in.BackupJobID, "backup-job-id", "", "swap from this completed AWS Backup job")
	fs.StringVar(&in.InstanceID, "instance-id", "", "swap from the newest completed backup of this instance")
	fs.StringVar(&in.EventFile, "event", "", "a raw EventBridge event (JSON file, - for stdin), filtered and transformed as the deployed rule does")
	fs.StringVar(&in.Resume, "resume", "", "resume the named local execution after the process running it died")
	fs.BoolVar(&in.JSON, "json", false, "print the execution's final output as JSON")
	fs.StringVar(&in.HistoryDir, "history-dir", defaultHistoryDir(env), "where local execution histories are kept")
	fs.StringVar(&in.Config.LockTable, "lock-table", in.Config.LockTable, "DynamoDB lock table (env AMISWAP_LOCK_TABLE; empty: no locking)")
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
	for _, v := range []string{in.BackupJobID, in.InstanceID, in.EventFile, in.Resume} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return &usageError{"run: give exactly one of --backup-job-id, --instance-id, --event and --resume"}
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
			fmt.Fprintf(env.Stdout, "the event does not match amiswap's rule, nothing to do: %s\n", reason)
			return nil
		}
		if req, err = deploy.Transform(raw); err != nil {
			return &usageError{"run: --event: " + err.Error()}
		}
	}

	target, err := loadAWS(ctx, env, "run", in.AWS)
	if err != nil {
		return err
	}
	awsCfg := target.Config
	var clock asl.Clock = asl.SystemClock{}
	if target.Sim != nil {
		clock = target.Sim
	}
	st, err := store.Open(in.HistoryDir)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer st.Close()
	// With --json, stdout carries only the output; progress goes to stderr.
	progress := &runner.Progress{W: env.Stdout, Terminal: isTerminal(env.Stdout)}
	if in.JSON {
		progress = &runner.Progress{W: env.Stderr, Terminal: isTerminal(env.Stderr)}
	}
	ex, def, err := runner.Executor(runner.Options{AWS: awsCfg, Config: in.Config, Clock: clock, Journal: st, Observer: progress.Observe})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	var x *asl.Execution
	if in.Resume != "" {
		id, err := st.Find(in.Resume)
		if err != nil {
			return &usageError{fmt.Sprintf("run: --resume: no execution %q in %s", in.Resume, in.HistoryDir)}
		}
		h, err := st.Load(id)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if x, err = ex.Resume(def, h); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	} else {
		input, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if x, err = ex.Start(ctx, def, "", input); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	fmt.Fprintf(progress.W, "execution %s (history: %s)\n", x.Name(), in.HistoryDir)
	res, err := x.Run(ctx)
	if err != nil {
		return fmt.Errorf("run: %w (resume with: amiswap run --resume %s)", err, x.Name())
	}
	return reportResult(env, x, res, in.JSON)
}

// reportResult prints how a swap ended; a failed swap exits 1.
func reportResult(env *Env, x *asl.Execution, res asl.Result, asJSON bool) error {
	if res.Status != asl.StatusSucceeded {
		fmt.Fprintf(env.Stderr, "swap %s: %s: %s\n", strings.ToLower(string(res.Status)), res.Error, res.Cause)
		if asJSON {
			b, _ := json.Marshal(map[string]string{"status": string(res.Status), "error": res.Error, "cause": res.Cause, "execution": x.Name()})
			fmt.Fprintf(env.Stdout, "%s\n", b)
		}
		return &exitError{code: 1}
	}
	var st workflow.State
	if err := json.Unmarshal(res.Output, &st); err != nil {
		return fmt.Errorf("run: read the output: %w", err)
	}
	switch {
	case asJSON:
		fmt.Fprintf(env.Stdout, "%s\n", res.Output)
	case st.Target != nil && st.Target.Skip:
		fmt.Fprintf(env.Stdout, "skipped: %s\n", st.Target.SkipReason)
	case st.Error != nil && st.Error.Error == "LockHeldError":
		fmt.Fprintf(env.Stdout, "skipped: %s\n", st.Error.Cause)
	case st.Image != nil && st.Swap != nil:
		fmt.Fprintf(env.Stdout, "swapped: group %s now on %s (launch template %s version %s); %d state transitions\n",
			st.Target.Group, st.Image.ImageID, st.Swap.LaunchTemplateID, st.Swap.NewVersion, x.Transitions())
	}
	return nil
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
