package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/store"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// backupJob backs up an instance of the demo group through the API and
// returns the completed job's id and the group as it was.
func backupJob(t *testing.T, sb *sandbox.Sandbox) (string, sandbox.GroupSnapshot) {
	t.Helper()
	ctx := context.Background()
	before, err := sandbox.Snapshot(ctx, sb.AWS, demoGroup)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sb.WaitInService(ctx, demoGroup, int(before.Desired))
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := sb.BackupEvent(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	return job, before
}

// oneJSON decodes stdout as exactly one JSON document.
func oneJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON document (%v):\n%s", err, stdout)
	}
}

var metricKeys = []string{"transitions", "taskInvocations", "apiCalls", "throttledCalls", "simulatedSeconds", "wallSeconds"}

// checkMetrics checks that doc["metrics"] has every metric, with counts a
// swap must have made.
func checkMetrics(t *testing.T, doc map[string]any) {
	t.Helper()
	m, ok := doc["metrics"].(map[string]any)
	if !ok {
		t.Fatalf("no metrics object in %v", doc)
	}
	for _, k := range metricKeys {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("metrics.%s missing or not a number: %v", k, m)
		}
	}
	for _, k := range []string{"transitions", "taskInvocations", "apiCalls", "simulatedSeconds"} {
		if v, _ := m[k].(float64); v <= 0 {
			t.Errorf("metrics.%s = %v, want > 0", k, m[k])
		}
	}
}

// TestRunJSONIsOneDocument: `run --json` prints exactly one JSON document
// on stdout — the output with outcome, execution and metrics — and
// everything else on stderr; `history --json` does too, for the list and
// for one execution.
func TestRunJSONIsOneDocument(t *testing.T) {
	sb, env := simEnv(t)
	job, _ := backupJob(t, sb)
	code, stdout, stderr := run(t, env, "run", "--backup-job-id", job, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doc map[string]any
	oneJSON(t, stdout, &doc)
	if doc["outcome"] != "swapped" || doc["image"] == nil || doc["swap"] == nil {
		t.Errorf("outcome %v, image %v, swap %v", doc["outcome"], doc["image"], doc["swap"])
	}
	checkMetrics(t, doc)
	if !strings.Contains(stderr, "CreateImage") || !strings.Contains(stderr, "swapped:") {
		t.Errorf("progress and the outcome line are not on stderr:\n%s", stderr)
	}
	name, _ := doc["execution"].(string)

	code, stdout, _ = run(t, env, "history", "--json")
	var list []historyEntry
	oneJSON(t, stdout, &list)
	if code != 0 || len(list) != 1 || list[0].Name != name || list[0].Group != demoGroup || list[0].Status != "SUCCEEDED" ||
		list[0].Target != "simulator "+sb.URL || list[0].LastState != "Swapped" {
		t.Errorf("history --json: exit %d, %+v", code, list)
	}
	code, stdout, _ = run(t, env, "history", "--json", name)
	var one struct {
		historyEntry
		Events []map[string]any `json:"events"`
	}
	oneJSON(t, stdout, &one)
	if code != 0 || one.Name != name || len(one.Events) < 50 {
		t.Errorf("history --json NAME: exit %d, name %q, %d events", code, one.Name, len(one.Events))
	}
}

// TestDemoJSONIsOneDocument: `demo --json` prints one JSON document (with
// metrics and the checks) on stdout; banner, progress and summary go to
// stderr.
func TestDemoJSONIsOneDocument(t *testing.T) {
	code, stdout, stderr := run(t, nil, "demo", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doc map[string]any
	oneJSON(t, stdout, &doc)
	checkMetrics(t, doc)
	checks, _ := doc["checks"].(map[string]any)
	if passed, _ := checks["passed"].([]any); len(passed) == 0 || doc["outcome"] != "swapped" {
		t.Errorf("checks %v, outcome %v", checks, doc["outcome"])
	}
	for _, want := range []string{"amiswap demo", "Summary", "Verified through the AWS APIs"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// TestRunDryRun: --dry-run prints the plan (group, launch template and
// version, builder settings, the changes) after only reading calls — the
// simulator's call log has nothing but Describe*, Get* and List* — and
// records no execution.
func TestRunDryRun(t *testing.T) {
	sb, env := simEnv(t)
	env["AMISWAP_LOCK_TABLE"] = sandbox.LockTable
	job, before := backupJob(t, sb)
	n := len(sb.Sim.Calls())
	code, stdout, stderr := run(t, env, "run", "--backup-job-id", job, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	calls := sb.Sim.Calls()[n:]
	if len(calls) == 0 {
		t.Fatal("no call reached the simulator")
	}
	for _, c := range calls {
		if !strings.HasPrefix(c.Action, "Describe") && !strings.HasPrefix(c.Action, "Get") && !strings.HasPrefix(c.Action, "List") {
			t.Errorf("the dry run called %s:%s", c.Service, c.Action)
		}
	}
	for _, want := range []string{"dry run against simulator " + sb.URL, "nothing was changed", "group             " + demoGroup,
		"launch template   " + before.LaunchTemplateID, "version " + before.GroupVersion, "builder ", "a run would:",
		"lock group " + demoGroup + " in DynamoDB table " + sandbox.LockTable, "launch a builder", "create a version of launch template " + before.LaunchTemplateID} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the plan lacks %q:\n%s", want, stdout)
		}
	}
	if entries, _ := os.ReadDir(env["AMISWAP_HISTORY_DIR"]); len(entries) != 0 {
		t.Errorf("the dry run recorded an execution: %v", entries)
	}
	code, stdout, _ = run(t, env, "run", "--backup-job-id", job, "--dry-run", "--json")
	var p plan
	oneJSON(t, stdout, &p)
	if code != 0 || !p.DryRun || p.Target == nil || p.Target.Group != demoGroup || len(p.Changes) < 5 {
		t.Errorf("--dry-run --json: exit %d, %+v", code, p)
	}
}

// TestRunUnknownIDIsUsageError: an instance or backup job id that does not
// exist in the account and region is a usage error (exit 2) naming both,
// with no execution recorded; an event about a gone instance still skips.
func TestRunUnknownIDIsUsageError(t *testing.T) {
	sb, env := simEnv(t)
	where := "account " + sb.Sim.AccountID() + ", region " + sb.Sim.Region()
	for _, args := range [][]string{
		{"--instance-id", "i-0123456789abcdef0"},
		{"--backup-job-id", "34E7A847-A2FC-473F-B474-9FB361AFA3DB"},
	} {
		code, stdout, stderr := run(t, env, append([]string{"run"}, args...)...)
		if code != 2 || !strings.Contains(stderr, "does not exist in "+where) {
			t.Errorf("%v: exit %d, want 2 naming %q\n%s\n%s", args, code, where, stdout, stderr)
		}
	}
	if entries, _ := os.ReadDir(env["AMISWAP_HISTORY_DIR"]); len(entries) != 0 {
		t.Errorf("a run with an unknown id recorded an execution: %v", entries)
	}
	// An event whose instance is gone since skips, as the deployed rule's
	// execution would: events are not checked.
	id := firstInstance(t, sb)
	_, event, err := sb.BackupEvent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(sb.AWS).TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	sb.Sim.Advance(time.Hour)
	file := t.TempDir() + "/event.json"
	os.WriteFile(file, event, 0o600)
	code, stdout, stderr := run(t, env, "run", "--event", file)
	if code != 0 || !strings.Contains(stdout, "skipped:") {
		t.Errorf("event about a gone instance: exit %d, want 0 and skipped\n%s\n%s", code, stdout, stderr)
	}
}

func firstInstance(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	ids, err := sb.WaitInService(context.Background(), demoGroup, 1)
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// fakeAWS fronts a simulator as if it were AWS: /_sim/ is not there (so
// the CLI does not take it for the simulator) and CloudFormation
// DescribeStacks answers with stackXML (a stack, or the ValidationError
// AWS returns for a stack that does not exist).
func fakeAWS(t *testing.T, sb *sandbox.Sandbox, stackStatus int, stackXML string) string {
	t.Helper()
	target, _ := url.Parse(sb.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), "Action=DescribeStacks") {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(stackStatus)
			io.WriteString(w, stackXML)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// noStackXML is CloudFormation's answer to DescribeStacks for a stack
// that does not exist ("If the stack doesn't exist, a ValidationError is
// returned": https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
const noStackXML = `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id amiswap does not exist</Message></Error><RequestId>7d8d8e1f-0000-4000-8000-000000000001</RequestId></ErrorResponse>`

const stackXML = `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>amiswap</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/amiswap/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus>
<CreationTime>2026-01-05T09:00:00Z</CreationTime>
<Outputs><member><OutputKey>LockTableName</OutputKey><OutputValue>` + sandbox.LockTable + `</OutputValue></member></Outputs>
</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>7d8d8e1f-0000-4000-8000-000000000002</RequestId></ResponseMetadata></DescribeStacksResponse>`

// TestRunLockDefault: against AWS, the lock table defaults to the stack's
// LockTableName output; with no stack and no --lock-table a run stops
// with a clear message (exit 2) unless --no-lock; --no-lock and
// --lock-table together are a usage error. Against the simulator, a run
// with no stack goes on unlocked and says so. (Dry runs decide the lock
// exactly as runs do, and need no wall-clock waits against "AWS".)
func TestRunLockDefault(t *testing.T) {
	sb, env := simEnv(t)
	job, _ := backupJob(t, sb)

	awsEnv := func(endpoint string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		e["AWS_ENDPOINT_URL"] = endpoint
		return e
	}
	noStack := awsEnv(fakeAWS(t, sb, http.StatusBadRequest, noStackXML))
	code, stdout, stderr := run(t, noStack, "run", "--backup-job-id", job)
	if code != 2 || !strings.Contains(stderr, `no stack "amiswap" in account `+sb.Sim.AccountID()) || !strings.Contains(stderr, "--no-lock") {
		t.Errorf("no stack, no flags: exit %d, want 2 asking for --no-lock\n%s\n%s", code, stdout, stderr)
	}
	if entries, _ := os.ReadDir(env["AMISWAP_HISTORY_DIR"]); len(entries) != 0 {
		t.Errorf("a refused run recorded an execution: %v", entries)
	}
	code, stdout, stderr = run(t, noStack, "run", "--backup-job-id", job, "--no-lock", "--dry-run")
	if code != 0 || !strings.Contains(stderr, "--no-lock: running without a group lock") || !strings.Contains(stdout, "lock table        none") {
		t.Errorf("--no-lock: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = run(t, noStack, "run", "--backup-job-id", job, "--no-lock", "--lock-table", "t")
	if code != 2 || !strings.Contains(stderr, "not both") {
		t.Errorf("--no-lock with --lock-table: exit %d, %s", code, stderr)
	}

	withStack := awsEnv(fakeAWS(t, sb, http.StatusOK, stackXML))
	code, stdout, stderr = run(t, withStack, "run", "--backup-job-id", job, "--dry-run")
	if code != 0 || !strings.Contains(stderr, "lock table "+sandbox.LockTable+" of stack amiswap") ||
		!strings.Contains(stdout, "lock group "+demoGroup+" in DynamoDB table "+sandbox.LockTable) {
		t.Errorf("stack's lock table: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// The simulator itself: no stack, no flags, unlocked, said on stderr.
	code, stdout, stderr = run(t, env, "run", "--backup-job-id", job, "--json")
	if code != 0 || !strings.Contains(stderr, "running unlocked against the simulator") {
		t.Fatalf("against the simulator: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doc map[string]any
	oneJSON(t, stdout, &doc)
	if lk, _ := doc["lock"].(map[string]any); lk != nil && lk["table"] != "" {
		t.Errorf("the run took a lock: %v", lk)
	}
}

// signalOn returns a writer that sends sig on ch the first time a line
// containing trigger is written to it (the sends of a count of signals,
// one after the other), and keeps what was written.
type signalOn struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	ch      chan os.Signal
	sigs    []os.Signal
	fired   bool
}

func (w *signalOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	fire := !w.fired && strings.Contains(w.buf.String(), w.trigger)
	if fire {
		w.fired = true
	}
	w.mu.Unlock()
	if fire {
		for _, s := range w.sigs {
			w.ch <- s
		}
	}
	return len(p), nil
}

func (w *signalOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runSignaled runs the CLI with stdout watched for trigger, which sends
// sigs through the env's signal channel.
func runSignaled(t *testing.T, env map[string]string, trigger string, sigs []os.Signal, args ...string) (int, string, string) {
	t.Helper()
	ch := make(chan os.Signal)
	out := &signalOn{trigger: trigger, ch: ch, sigs: sigs}
	var errb bytes.Buffer
	e := &Env{Stdout: out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Signals: ch}
	err := Run(context.Background(), args, e)
	return exitCode(err, &errb), out.String(), errb.String()
}

// historyOf returns the `history --json` entry of the execution name.
func historyOf(t *testing.T, env map[string]string, name string) historyEntry {
	t.Helper()
	_, stdout, _ := run(t, env, "history", "--json")
	var list []historyEntry
	oneJSON(t, stdout, &list)
	for _, e := range list {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no execution %s in the history: %s", name, stdout)
	return historyEntry{}
}

// interruptedName returns the execution name of an interrupted run's
// output, and checks that it names both ways on.
func interruptedName(t *testing.T, stdout string) string {
	t.Helper()
	i := strings.Index(stdout, "amiswap run --resume ")
	if i < 0 {
		t.Fatalf("the output does not say how to resume:\n%s", stdout)
	}
	name := strings.Fields(stdout[i+len("amiswap run --resume "):])[0]
	name = strings.Trim(name, "`")
	if !strings.Contains(stdout, "amiswap run --abort "+name) {
		t.Errorf("the output does not say how to abort:\n%s", stdout)
	}
	return name
}

// TestRunInterruptThenAbort: the first SIGINT stops the run after the
// step in flight (LaunchBuilder), exits 130, records the execution as
// INTERRUPTED and says what it had changed and how to go on; `run
// --abort` then compensates (listing what it undid), restores the group,
// releases the lock and ends the execution, which `history` shows as
// ABORTED.
func TestRunInterruptThenAbort(t *testing.T) {
	sb, env := simEnv(t)
	env["AMISWAP_LOCK_TABLE"] = sandbox.LockTable
	job, before := backupJob(t, sb)
	code, stdout, stderr := runSignaled(t, env, "instanceId i-", []os.Signal{syscall.SIGINT}, "run", "--backup-job-id", job)
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, stdout, stderr)
	}
	name := interruptedName(t, stdout)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "interrupted:") {
		t.Errorf("the last line is %q, want interrupted: …", last)
	}
	for _, want := range []string{"stopping after the step in flight", "SIGINT"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"builder instance i-", "holds the lock on group " + demoGroup} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the changes lack %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Generalize") {
		t.Errorf("the run went on past the step in flight:\n%s", stdout)
	}
	if h := historyOf(t, env, name); h.Status != store.StatusInterrupted {
		t.Errorf("history shows %s, want INTERRUPTED", h.Status)
	}
	_, list, _ := run(t, env, "history")
	if !strings.Contains(list, "INTERRUPTED") {
		t.Errorf("history's table lacks INTERRUPTED:\n%s", list)
	}

	// The operator aborts a minute later. (Right after the launch the
	// simulator, like EC2, does not show the builder yet.)
	sb.Sim.Advance(time.Minute)
	code, stdout, stderr = run(t, env, "run", "--abort", name)
	if code != 0 {
		t.Fatalf("--abort: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Compensate", "undone: ", "aborted and compensated"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--abort output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "LaunchBuilder") || strings.Contains(stdout, "Generalize") {
		t.Errorf("--abort ran the swap on:\n%s", stdout)
	}
	h := historyOf(t, env, name)
	if h.Status != store.StatusAborted {
		t.Errorf("history shows %s after --abort, want ABORTED", h.Status)
	}
	checks, err := sandbox.VerifyRestored(context.Background(), sb.AWS, sandbox.LockTable, before, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !checks.OK() {
		t.Errorf("after --abort: %v", checks.Problems)
	}
	if code, _, stderr := run(t, env, "run", "--abort", name); code != 2 || !strings.Contains(stderr, "already ended") {
		t.Errorf("a second --abort: exit %d, %s", code, stderr)
	}
}

// TestRunSecondSignalThenResume: SIGTERM twice stops at once (exit 143),
// still resumable; `run --resume` then finishes the swap.
func TestRunSecondSignalThenResume(t *testing.T) {
	sb, env := simEnv(t)
	env["AMISWAP_LOCK_TABLE"] = sandbox.LockTable
	job, before := backupJob(t, sb)
	code, stdout, stderr := runSignaled(t, env, "instanceId i-", []os.Signal{syscall.SIGTERM, syscall.SIGTERM}, "run", "--backup-job-id", job)
	if code != 143 || !strings.Contains(stderr, "SIGTERM again: stopping at once") {
		t.Fatalf("exit %d, want 143 and the second signal's message\n%s\n%s", code, stdout, stderr)
	}
	name := interruptedName(t, stdout)
	if h := historyOf(t, env, name); h.Status != store.StatusInterrupted {
		t.Errorf("history shows %s, want INTERRUPTED", h.Status)
	}
	code, stdout, stderr = run(t, env, "run", "--resume", name, "--json")
	if code != 0 {
		t.Fatalf("--resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var doc map[string]any
	oneJSON(t, stdout, &doc)
	if doc["outcome"] != "swapped" {
		t.Errorf("outcome %v", doc["outcome"])
	}
	if h := historyOf(t, env, name); h.Status != "SUCCEEDED" {
		t.Errorf("history shows %s after --resume, want SUCCEEDED", h.Status)
	}
	after, err := sandbox.Snapshot(context.Background(), sb.AWS, demoGroup)
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID == before.ImageID {
		t.Errorf("the group still launches %s", after.ImageID)
	}
}

// TestRunCompensationShown: a swap whose image fails shows, in its
// progress, each thing compensation undid, and ends with "failed and
// compensated" (exit 1).
func TestRunCompensationShown(t *testing.T) {
	sb, env := simEnv(t)
	job, _ := backupJob(t, sb)
	resp, err := http.Post(sb.URL+"/_sim/faults", "application/json", strings.NewReader(`{"service":"ec2","action":"CreateImage","outcome":"failed"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	code, stdout, stderr := run(t, env, "run", "--backup-job-id", job)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "undone: ") {
		t.Errorf("the progress does not list what compensation undid:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "failed and compensated: ImageFailedError") {
		t.Errorf("the last line is %q", last)
	}
	if h := historyOf(t, env, strings.Fields(strings.TrimPrefix(lines[0], "execution "))[0]); h.Status != "FAILED" {
		t.Errorf("history shows %s, want FAILED", h.Status)
	}
}

// TestHistoryColumnsOrderAndGroup: `history` lists executions newest first
// by their wall-clock start — even when the simulator's clock, which the
// histories carry, says otherwise — with the columns NAME, GROUP, TARGET,
// STATUS, STARTED, DURATION and LAST STATE; --group filters the list.
func TestHistoryColumnsOrderAndGroup(t *testing.T) {
	sb, env := simEnv(t)
	// The first run swaps after a backup job (20 simulated minutes in);
	// the second, later by the wall clock, runs against a second
	// simulator whose clock starts where the first one's did, so its
	// history starts at an earlier simulated time.
	job, _ := backupJob(t, sb)
	code, first, stderr := run(t, env, "run", "--backup-job-id", job, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sb2, env2 := simEnv(t)
	env2["AMISWAP_HISTORY_DIR"] = env["AMISWAP_HISTORY_DIR"]
	code, second, stderr := run(t, env2, "run", "--instance-id", firstInstance(t, sb2), "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var d1, d2 map[string]any
	oneJSON(t, first, &d1)
	oneJSON(t, second, &d2)

	code, stdout, _ := run(t, env, "history")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("history: exit %d\n%s", code, stdout)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME GROUP TARGET STATUS STARTED DURATION LAST STATE" {
		t.Errorf("header %q", lines[0])
	}
	row := func(line string) []string { return strings.Fields(line) }
	newest, older := row(lines[1]), row(lines[2])
	if newest[0] != d2["execution"] || older[0] != d1["execution"] {
		t.Errorf("not newest first by wall-clock start:\n%s", stdout)
	}
	if older[1] != demoGroup || older[2] != "simulator" || older[3] != sb.URL || older[4] != "SUCCEEDED" || older[7] != "Swapped" {
		t.Errorf("row %q", lines[2])
	}
	if newest[1] != "-" || newest[4] != "SUCCEEDED" || newest[7] != "Skipped" || newest[3] != sb2.URL {
		t.Errorf("row %q (a skip before any group was resolved)", lines[1])
	}
	if d, err := time.ParseDuration(older[6]); err != nil || d < 10*time.Minute {
		t.Errorf("duration %q: want the swap's simulated duration", older[6])
	}

	code, stdout, _ = run(t, env, "history", "--group", demoGroup, "--json")
	var list []historyEntry
	oneJSON(t, stdout, &list)
	if code != 0 || len(list) != 1 || list[0].Name != d1["execution"] {
		t.Errorf("--group %s: %+v", demoGroup, list)
	}
	code, stdout, _ = run(t, env, "history", "--group", "no-such-group")
	if code != 0 || strings.Count(stdout, "\n") != 1 {
		t.Errorf("--group with no execution: exit %d\n%s", code, stdout)
	}
}
