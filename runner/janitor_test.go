package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// statusChangeEvent is a "Step Functions Execution Status Change" event as
// Step Functions sends it to EventBridge, in the shape of the examples of
// "Automating Step Functions event delivery with EventBridge"
// (https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html):
// the execution's input as a JSON string in detail.input, output null for
// an execution that did not succeed, error and cause for a failure.
func statusChangeEvent(t *testing.T, x *asl.Execution, stateMachineArn, status string, input []byte) []byte {
	t.Helper()
	info := x.Info()
	detail := map[string]any{
		"executionArn":    x.ID(),
		"stateMachineArn": stateMachineArn,
		"name":            x.Name(),
		"status":          status,
		"startDate":       info.StartTime.UnixMilli(),
		"stopDate":        info.StartTime.Add(time.Hour).UnixMilli(),
		"input":           string(input),
		"output":          nil,
		"inputDetails":    map[string]any{"included": true},
		"outputDetails":   nil,
	}
	switch status {
	case "FAILED":
		detail["error"], detail["cause"] = "States.Runtime", "An error occurred while executing the state."
	case "TIMED_OUT":
		detail["error"], detail["cause"] = nil, nil
	}
	ev, err := json.Marshal(map[string]any{
		"version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
		"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": "123456789012", "time": "2026-12-07T01:00:00Z", "region": "us-east-1",
		"resources": []string{x.ID()}, "detail": detail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// localHistory serves an execution's history as Step Functions'
// GetExecutionHistory does (newest first with ReverseOrder), from the
// embedded executor's history.
type localHistory struct{ x *asl.Execution }

func (h localHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	if aws.ToString(in.ExecutionArn) != h.x.ID() {
		return nil, errors.New("ExecutionDoesNotExist")
	}
	var out []sfntypes.HistoryEvent
	for _, ev := range h.x.History() {
		he := sfntypes.HistoryEvent{Id: ev.ID, Type: sfntypes.HistoryEventType(ev.Type), Timestamp: aws.Time(ev.Timestamp)}
		switch {
		case ev.Type.IsStateEntered():
			he.StateEnteredEventDetails = &sfntypes.StateEnteredEventDetails{Name: aws.String(ev.State), Input: aws.String(string(ev.Input))}
		case ev.Type.IsStateExited():
			he.StateExitedEventDetails = &sfntypes.StateExitedEventDetails{Name: aws.String(ev.State), Output: aws.String(string(ev.Output))}
		}
		out = append(out, he)
	}
	if in.ReverseOrder {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return &sfn.GetExecutionHistoryOutput{Events: out}, nil
}

// janitorCase runs a swap with the embedded executor against the
// simulator until stop says to stop it (or it ends by itself), then feeds
// the janitor the status change event and checks through the AWS APIs that
// the group is exactly as before and nothing is left.
func janitorCase(t *testing.T, status string, def []byte, stopAt string, withHistory bool, faults ...awssim.Fault) (*workflow.JanitorResult, *asl.Execution) {
	t.Helper()
	sb := newSandbox(t, awssim.Options{})
	for _, f := range faults {
		sb.Sim.AddFault(f)
	}
	return janitorRun(t, sb, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, sb.AWS, status, def, stopAt, withHistory)
}

// janitorRun is janitorCase in a given sandbox, the workflow run with opts
// and the janitor with janitorAWS.
func janitorRun(t *testing.T, sb *sandbox.Sandbox, opts runner.Options, janitorAWS aws.Config, status string, def []byte, stopAt string, withHistory bool) (*workflow.JanitorResult, *asl.Execution) {
	t.Helper()
	ctx := context.Background()
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Desired: 2, InstanceProfile: "demo-windows-ssm",
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling", amiswap.TagFreezeMaxSize: "true"}})
	before, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	opts.Observer = func(x *asl.Execution, ev asl.Event) {
		if stopAt != "" && ev.Type == asl.TaskScheduled && ev.State == stopAt {
			stop() // the operator's StopExecution, mid-swap
		}
	}
	ex, _, err := runner.Executor(opts)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := asl.Parse(def)
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(req)
	x, err := ex.Start(runCtx, parsed, "stopped", input)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(runCtx)
	if stopAt != "" && !errors.Is(err, context.Canceled) && res.Status != asl.StatusAborted {
		t.Fatalf("the run was not stopped at %s: %v %+v, path %v", stopAt, err, res, x.Path())
	}
	path := strings.Join(x.Path(), " ")
	if strings.Contains(path, "Compensate") && status != "FAILED" {
		t.Fatalf("the workflow compensated by itself: %s", path)
	}

	// Something was left behind for the janitor.
	dirty, err := sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, before, x.ID())
	if err != nil {
		t.Fatal(err)
	}
	if status != "FAILED" && dirty.OK() {
		t.Fatalf("stopping the run at %q left nothing to compensate (path %s)", stopAt, path)
	}

	const smArn = "arn:aws:states:us-east-1:123456789012:stateMachine:amiswap"
	event := statusChangeEvent(t, x, smArn, status, input)
	if ok, why := deploy.MatchJanitorEvent(event, smArn); !ok {
		t.Fatalf("the janitor rule does not match the event: %s", why)
	}
	var hist interface {
		GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	}
	if withHistory {
		hist = localHistory{x}
	}
	j := workflow.NewJanitor(workflow.NewClients(janitorAWS), sb.Config, hist, nil)
	j.SetSleep(sb.Sim.Sleep)
	out, err := j.Handle(ctx, event)
	if err != nil {
		t.Fatalf("janitor: %v (%+v)", err, out)
	}
	checks, err := sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, before, x.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Errorf("after the janitor (%s, stopped at %q, path %s): %s", status, stopAt, path, p)
	}
	// Running it again (EventBridge delivers at least once) is harmless:
	// no error, and the group is still exactly as before.
	if again, err := j.Handle(ctx, event); err != nil {
		t.Errorf("a second delivery: %v (%+v)", err, again)
	}
	checks, err = sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, before, x.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Errorf("after a second delivery: %s", p)
	}
	return out, x
}

// TestJanitorCompensatesAnAbortedSwap: an execution stopped mid-swap (the
// launch template version made, the group pinned, MaxSize frozen, the
// builder running) is compensated by the janitor from its input and AWS
// alone, with no history.
func TestJanitorCompensatesAnAbortedSwap(t *testing.T) {
	out, x := janitorCase(t, "ABORTED", workflow.LocalDefinition(), "Thaw", false)
	if p := x.Path(); p[len(p)-1] != "Thaw" {
		t.Errorf("stopped in %s, want Thaw", p[len(p)-1])
	}
	if out.StateFrom != "input" || out.AlreadyCompensated || out.Compensation == nil || len(out.Compensation.Actions) == 0 || !out.LockReleased {
		t.Errorf("janitor result %+v, want a compensation from the input that released the lock", out)
	}
}

// TestJanitorCompensatesATimedOutSwap: an execution whose own
// TimeoutSeconds elapses while it waits for the image ends TIMED_OUT,
// uncaught; the janitor compensates it from its history's last state.
func TestJanitorCompensatesATimedOutSwap(t *testing.T) {
	// The first TimeoutSeconds of the file is the execution's.
	loc := regexp.MustCompile(`"TimeoutSeconds": [0-9]+`).FindIndex(workflow.LocalDefinition())
	if loc == nil {
		t.Fatal("the definition has no TimeoutSeconds")
	}
	local := string(workflow.LocalDefinition())
	def := local[:loc[0]] + `"TimeoutSeconds": 900` + local[loc[1]:]
	out, x := janitorCase(t, "TIMED_OUT", []byte(def), "", true)
	if x.Status() != asl.StatusTimedOut {
		t.Fatalf("the run ended %s, want TIMED_OUT", x.Status())
	}
	if out.StateFrom != "history" || out.LastState == "" || out.AlreadyCompensated || out.Compensation == nil || len(out.Compensation.Actions) == 0 {
		t.Errorf("janitor result %+v, want a compensation from the history", out)
	}
}

// TestJanitorRecognizesACompensatedFailure: an execution that failed and
// that the workflow compensated (it left Compensate, then ended in its Fail
// state) is FAILED too; the janitor sees it in the history and changes
// nothing, and without the history its compensation finds nothing to undo.
func TestJanitorRecognizesACompensatedFailure(t *testing.T) {
	fault := awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"}
	for _, withHistory := range []bool{true, false} {
		out, x := janitorCase(t, "FAILED", workflow.LocalDefinition(), "", withHistory, fault)
		path := strings.Join(x.Path(), " ")
		if x.Status() != asl.StatusFailed || !strings.Contains(path, "Compensate") {
			t.Fatalf("the run ended %s through %s, want FAILED after Compensate", x.Status(), path)
		}
		switch {
		case withHistory && (!out.AlreadyCompensated || out.Compensation != nil):
			t.Errorf("with the history: %+v, want it recognized as compensated", out)
		case !withHistory && out.AlreadyCompensated:
			t.Errorf("without the history: %+v", out)
		}
	}
}

// TestJanitorRuleMatchesStoppedExecutions applies the janitor rule's
// pattern to real-shaped events: the three stopped statuses of this state
// machine match; success, a running execution and another state machine's
// executions do not.
func TestJanitorRuleMatchesStoppedExecutions(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ex, def, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim})
	if err != nil {
		t.Fatal(err)
	}
	x, err := ex.Start(context.Background(), def, "any", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	const mine, other = "arn:aws:states:us-east-1:123456789012:stateMachine:amiswap", "arn:aws:states:us-east-1:123456789012:stateMachine:other"
	for _, c := range []struct {
		status, machine string
		want            bool
	}{
		{"FAILED", mine, true}, {"TIMED_OUT", mine, true}, {"ABORTED", mine, true},
		{"SUCCEEDED", mine, false}, {"RUNNING", mine, false}, {"FAILED", other, false},
	} {
		ok, why := deploy.MatchJanitorEvent(statusChangeEvent(t, x, c.machine, c.status, []byte(`{}`)), mine)
		if ok != c.want {
			t.Errorf("%s of %s: match %v (%s), want %v", c.status, c.machine, ok, why, c.want)
		}
	}
	if ok, _ := deploy.MatchJanitorEvent([]byte(`{"source":"aws.backup","detail-type":"Backup Job State Change","detail":{"status":"FAILED"}}`), mine); ok {
		t.Error("a Backup event matched the janitor rule")
	}
	// The janitor refuses what is not a status change, naming the field.
	_, err = workflow.ParseExecutionStatusChange([]byte(`{"source":"aws.states","detail-type":"Step Functions Execution Status Change","detail":{"executionArn":"nope"}}`))
	var ie *amiswap.InvalidInputError
	if !errors.As(err, &ie) || ie.Field != "detail.executionArn" {
		t.Errorf("a malformed event: %v", err)
	}
}

// TestEventWithoutAFieldIsInvalidInput: a Backup event (from the simulator)
// that lacks detail.backupJobId still matches the rule; the transformer
// drops the variable, the quoted placeholder leaves "" (valid JSON), and
// Resolve refuses it naming the field: the run ends in InvalidInput before
// any change.
func TestEventWithoutAFieldIsInvalidInput(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{amiswap.TagEnabled: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	_, event, err := sb.BackupEvent(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		t.Fatal(err)
	}
	delete(ev["detail"].(map[string]any), "backupJobId")
	event, _ = json.Marshal(ev)
	if ok, why := deploy.MatchEvent(event); !ok {
		t.Fatalf("the event no longer matches the rule: %s", why)
	}
	raw, err := deploy.TransformInput(event)
	if err != nil || !json.Valid(raw) {
		t.Fatalf("transformed input %s: %v", raw, err)
	}
	req, err := deploy.Transform(event)
	if err != nil {
		t.Fatal(err)
	}
	x, res, err := runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, "no-job", req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != asl.StatusFailed || res.Error != "InvalidInputError" || !strings.Contains(res.Cause, "backupJobId") ||
		strings.Join(x.Path(), " ") != "Resolve InvalidInput" {
		t.Errorf("run %s %s %s via %v, want FAILED InvalidInputError naming backupJobId via Resolve InvalidInput", res.Status, res.Error, res.Cause, x.Path())
	}
}

// TestBuilderMetadataFollowsTheLaunchTemplate runs swaps against the
// simulator up to the builder's launch: a group whose launch template
// allows IMDSv1 gets a builder that allows it too; one whose template sets
// no metadata options gets a builder that requires IMDSv2.
func TestBuilderMetadataFollowsTheLaunchTemplate(t *testing.T) {
	for tokens, want := range map[string]ec2types.HttpTokensState{"optional": ec2types.HttpTokensStateOptional, "none": ec2types.HttpTokensStateRequired} {
		sb := newSandbox(t, awssim.Options{})
		ctx := context.Background()
		req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", HTTPTokens: tokens, Tags: map[string]string{amiswap.TagEnabled: "true"}})
		runCtx, stop := context.WithCancel(ctx)
		ex, def, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim,
			Observer: func(x *asl.Execution, ev asl.Event) {
				if ev.Type == asl.TaskScheduled && ev.State == "CheckBuilderReady" {
					stop()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		input, _ := json.Marshal(req)
		x, err := ex.Start(runCtx, def, "imds-"+tokens, input)
		if err != nil {
			t.Fatal(err)
		}
		x.Run(runCtx)
		stop()
		out, err := ec2.NewFromConfig(sb.AWS).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
			t.Fatalf("template %s: %d builders (path %v)", tokens, len(out.Reservations), x.Path())
		}
		in := out.Reservations[0].Instances[0]
		if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != want {
			t.Errorf("template %s: builder metadata %+v, want HttpTokens %s", tokens, in.MetadataOptions, want)
		}
	}
}

// TestJanitorUnderItsRole: with IAM enforced from the generated template,
// the swap runs under the functions' roles and the janitor under its own
// (AKIAJANITOR): the aborted swap is compensated, nothing denied.
func TestJanitorUnderItsRole(t *testing.T) {
	sb, _ := iamSandbox(t, "")
	janitor, err := sandbox.Config(context.Background(), sb.URL, sb.Sim.Region(), iam.KeyFor(workflow.JanitorFunction))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := janitorRun(t, sb, roleOptions(t, sb), janitor, "ABORTED", workflow.LocalDefinition(), "Thaw", false)
	if out.Compensation == nil || len(out.Compensation.Actions) == 0 || !out.LockReleased {
		t.Errorf("janitor result %+v", out)
	}
	if err := deniedCalls(sb); err != nil {
		t.Error(err)
	}
}
