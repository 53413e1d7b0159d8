package runner_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// These tests run the embedded workflow definition with the real task
// handlers and real SDK clients against the simulator over HTTP, and assert
// the path each execution took and the end state through the AWS APIs.

func newSandbox(t *testing.T, opts awssim.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

type swapRun struct {
	x      *asl.Execution
	res    asl.Result
	st     workflow.State
	before sandbox.GroupSnapshot
	req    amiswap.Request
}

// swapFromBackup backs up instanceID, turns the completed event into the
// workflow input exactly as the deployed rule would, and runs the workflow.
func swapFromBackup(t *testing.T, sb *sandbox.Sandbox, group, instanceID string) swapRun {
	t.Helper()
	return runSwap(t, sb, group, backupRequest(t, sb, instanceID))
}

// backupRequest backs up instanceID and turns the completed event into the
// workflow input exactly as the deployed rule would.
func backupRequest(t testing.TB, sb *sandbox.Sandbox, instanceID string) amiswap.Request {
	t.Helper()
	_, event, err := sb.BackupEvent(context.Background(), instanceID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := deploy.MatchEvent(event); !ok {
		t.Fatalf("the backup event does not match the rule: %s\n%s", reason, event)
	}
	req, err := deploy.Transform(event)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// groupRequest creates a group and returns the workflow input of a
// completed backup of its first instance.
func groupRequest(t testing.TB, sb *sandbox.Sandbox, g sandbox.GroupSpec) amiswap.Request {
	t.Helper()
	ids, err := sb.CreateGroup(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return backupRequest(t, sb, ids[0])
}

func runSwap(t *testing.T, sb *sandbox.Sandbox, group string, req amiswap.Request) swapRun {
	t.Helper()
	ctx := context.Background()
	r := swapRun{req: req}
	var err error
	if group != "" {
		if r.before, err = sandbox.Snapshot(ctx, sb.AWS, group); err != nil {
			t.Fatal(err)
		}
		if req.RecoveryPointArn != "" {
			if err := r.before.WithRecoveryPoint(ctx, sb.AWS, req.RecoveryPointArn); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.x, r.res, err = runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, "", req)
	if err != nil {
		t.Fatal(err)
	}
	if r.res.Status == asl.StatusSucceeded {
		if err := json.Unmarshal(r.res.Output, &r.st); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// compact removes poll-loop repetitions from a path: each run of
// Check/Choice/Wait states appears once.
func compact(path []string) []string {
	var out []string
	for _, s := range path {
		if strings.HasPrefix(s, "WaitFor") || (len(out) > 0 && slices.Contains(out[max(0, len(out)-3):], s) && isPoll(s)) {
			continue
		}
		out = append(out, s)
	}
	return out
}

func isPoll(s string) bool {
	switch s {
	case "CheckBuilderReady", "BuilderReady", "CheckGeneralized", "Generalized", "CheckBuilderStopped", "BuilderStopped",
		"CheckImage", "ImageAvailable", "CheckRefresh", "Refreshed", "CheckPrepared", "Prepared",
		"CheckVerifierReady", "VerifierReady", "CheckVerification", "Verified", "CheckHandOff", "HandedOff":
		return true
	}
	return false
}

var successPath = []string{
	"Resolve", "ShouldSwap", "Lock", "Freeze", "LaunchBuilder", "CheckBuilderReady", "BuilderReady", "ShouldPrepare",
	"Generalize", "CheckGeneralized", "Generalized", "StopBuilder", "CheckBuilderStopped", "BuilderStopped",
	"CreateImage", "CheckImage", "ImageAvailable", "TerminateBuilder", "ShouldVerify", "LaunchVerifier", "CheckVerifierReady", "VerifierReady",
	"RunVerification", "CheckVerification", "Verified", "TerminateVerifier", "UpdateLaunchTemplate", "Thaw", "ShouldRefresh",
	"ShouldHandOff", "RolledOut", "Cleanup", "Notify", "Unlock", "Swapped",
}

func requireSwapped(t *testing.T, sb *sandbox.Sandbox, r swapRun) {
	t.Helper()
	if r.res.Status != asl.StatusSucceeded {
		t.Fatalf("execution %s: %s %s\npath: %v", r.res.Status, r.res.Error, r.res.Cause, r.x.Path())
	}
	if r.st.Target == nil || r.st.Target.Skip {
		t.Fatalf("skipped: %+v", r.st.Target)
	}
	checks, err := sandbox.VerifySwapped(context.Background(), sb.AWS, r.before, r.st)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Errorf("end state: %s", p)
	}
	msgs := publishedMessages(t, sb)
	if len(msgs) != 1 || !strings.Contains(msgs[0], r.st.Image.ImageID) {
		t.Errorf("want one SNS message naming %s, got %d: %v", r.st.Image.ImageID, len(msgs), msgs)
	}
}

// publishedMessages are the subjects and bodies of what the topic accepted.
func publishedMessages(t *testing.T, sb *sandbox.Sandbox) []string {
	t.Helper()
	var out []string
	for _, m := range sb.Sim.Published() {
		out = append(out, m.Subject+"\n"+m.Message)
	}
	return out
}

// requireReplacementOnGolden terminates one instance and checks that the
// group's replacement runs the golden AMI.
func requireReplacementOnGolden(t *testing.T, sb *sandbox.Sandbox, group, golden string) {
	t.Helper()
	r, err := sb.ReplaceOne(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	if r.ImageID != golden {
		t.Errorf("replacement %s of %s runs %s, want the golden AMI %s", r.InstanceID, r.Terminated, r.ImageID, golden)
	}
}

func TestSwapWindowsGroupOnDefault(t *testing.T) {
	sb := newSandbox(t, awssim.Options{Scenario: "demo"})
	ids, err := sb.WaitInService(context.Background(), "demo-windows-web", 2)
	if err != nil {
		t.Fatal(err)
	}
	r := swapFromBackup(t, sb, "demo-windows-web", ids[0])
	requireSwapped(t, sb, r)
	if got := compact(r.x.Path()); !slices.Equal(got, successPath) {
		t.Errorf("path\n got %v\nwant %v", got, successPath)
	}
	if r.st.Generalize.Document != "AWSEC2-RunSysprep" {
		t.Errorf("generalized with %s, want AWSEC2-RunSysprep", r.st.Generalize.Document)
	}
	if !r.st.Swap.DefaultVersionChanged || r.st.Swap.GroupUpdated {
		t.Errorf("a $Default group must get a new default version and no group update: %+v", r.st.Swap)
	}
	requireReplacementOnGolden(t, sb, "demo-windows-web", r.st.Image.ImageID)
	t.Logf("state transitions: %d, history events: %d", r.x.Transitions(), len(r.x.History()))
}

func TestSwapLinuxGroupPinned(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "linux-pinned", Platform: "linux", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	r := swapFromBackup(t, sb, "linux-pinned", ids[0])
	requireSwapped(t, sb, r)
	if r.st.Generalize.Document != "AWS-RunShellScript" {
		t.Errorf("generalized with %s, want AWS-RunShellScript", r.st.Generalize.Document)
	}
	if !r.st.Swap.GroupUpdated || r.st.Swap.GroupVersion != r.st.Swap.NewVersion || r.st.Swap.DefaultVersionChanged {
		t.Errorf("a pinned group must be pinned to the new version, default untouched: %+v", r.st.Swap)
	}
	requireReplacementOnGolden(t, sb, "linux-pinned", r.st.Image.ImageID)
}

func TestSwapMixedInstancesGroup(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "mixed", Platform: "windows", Version: "1", Mixed: true})
	if err != nil {
		t.Fatal(err)
	}
	r := swapFromBackup(t, sb, "mixed", ids[0])
	requireSwapped(t, sb, r)
	if !r.st.Target.LaunchTemplate.Mixed {
		t.Error("resolve did not notice the MixedInstancesPolicy")
	}
	out, err := autoscaling.NewFromConfig(sb.AWS).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"mixed"}})
	if err != nil {
		t.Fatal(err)
	}
	p := out.AutoScalingGroups[0].MixedInstancesPolicy
	if p == nil || len(p.LaunchTemplate.Overrides) != 2 {
		t.Errorf("the MixedInstancesPolicy lost its overrides: %+v", p)
	}
	requireReplacementOnGolden(t, sb, "mixed", r.st.Image.ImageID)
}

func TestSwapWithRollingRefresh(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "rolling", Platform: "linux", Desired: 3,
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling", amiswap.TagFreezeMaxSize: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	r := swapFromBackup(t, sb, "rolling", ids[0])
	requireSwapped(t, sb, r)
	path := compact(r.x.Path())
	for _, s := range []string{"StartRefresh", "CheckRefresh", "Refreshed"} {
		if !slices.Contains(path, s) {
			t.Errorf("path lacks %s: %v", s, path)
		}
	}
	if r.st.Freeze == nil || !r.st.Freeze.Frozen || r.st.Thaw == nil || !r.st.Thaw.Restored {
		t.Errorf("MaxSize was not frozen and thawed: %+v %+v", r.st.Freeze, r.st.Thaw)
	}
	// Every instance of the group now runs the golden AMI.
	out, err := autoscaling.NewFromConfig(sb.AWS).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"rolling"}})
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(sb.AWS)
	for _, i := range out.AutoScalingGroups[0].Instances {
		d, err := e.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(i.InstanceId)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(d.Reservations[0].Instances[0].ImageId); got != r.st.Image.ImageID {
			t.Errorf("after the refresh %s runs %s, want %s", aws.ToString(i.InstanceId), got, r.st.Image.ImageID)
		}
	}
}

func TestSkipReasons(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	off, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "not-enabled", Platform: "linux", Desired: 1, Tags: map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	on, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "enabled", Platform: "linux", Desired: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A lone instance, in no group.
	img, _ := sb.BaseImage(ctx, "linux")
	run, err := ec2.NewFromConfig(sb.AWS).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	lone := aws.ToString(run.Instances[0].InstanceId)
	sb.Sim.Advance(5 * time.Minute)

	// Backups of the lone instance, of the disabled group's instance, and
	// of an instance that is gone by the time the event arrives.
	_, loneEvent, err := sb.BackupEvent(ctx, lone)
	if err != nil {
		t.Fatal(err)
	}
	_, offEvent, err := sb.BackupEvent(ctx, off[0])
	if err != nil {
		t.Fatal(err)
	}
	_, goneEvent, err := sb.BackupEvent(ctx, on[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(sb.AWS).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{on[0]}}); err != nil {
		t.Fatal(err)
	}
	sb.Sim.Advance(2 * time.Minute)

	transform := func(ev []byte) amiswap.Request {
		req, err := deploy.Transform(ev)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	cases := []struct {
		name   string
		req    amiswap.Request
		reason string
	}{
		{"no group", transform(loneEvent), "not in an Auto Scaling group"},
		{"not enabled", transform(offEvent), amiswap.TagEnabled},
		{"instance gone", transform(goneEvent), "no longer exists"},
		{"not EC2", func() amiswap.Request { r := transform(offEvent); r.ResourceType = "EBS"; return r }(), "EBS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runSwap(t, sb, "", c.req)
			if r.res.Status != asl.StatusSucceeded {
				t.Fatalf("%s: %s %s", r.res.Status, r.res.Error, r.res.Cause)
			}
			if want := []string{"Resolve", "ShouldSwap", "Skipped"}; !slices.Equal(r.x.Path(), want) {
				t.Errorf("path %v, want %v", r.x.Path(), want)
			}
			if !r.st.Target.Skip || !strings.Contains(r.st.Target.SkipReason, c.reason) {
				t.Errorf("skip reason %q does not mention %q", r.st.Target.SkipReason, c.reason)
			}
		})
	}
}

func TestInvalidInputChangesNothing(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	for _, req := range []amiswap.Request{
		{BackupJobID: "not-a-job-id"},
		{InstanceID: "i-nothex!"},
		{},
	} {
		callsBefore := len(sb.Sim.Calls())
		r := runSwap(t, sb, "", req)
		if r.res.Status != asl.StatusFailed || r.res.Error != "InvalidInputError" {
			t.Errorf("%+v: got %s %s, want FAILED InvalidInputError", req, r.res.Status, r.res.Error)
		}
		if want := []string{"Resolve", "InvalidInput"}; !slices.Equal(r.x.Path(), want) {
			t.Errorf("%+v: path %v, want %v", req, r.x.Path(), want)
		}
		if n := len(sb.Sim.Calls()) - callsBefore; n != 0 {
			t.Errorf("%+v: %d AWS calls were made before the input was refused", req, n)
		}
	}
}

// TestFailuresAreCompensated injects a failure at each mutating step and
// checks that the run fails through Compensate and leaves the group exactly
// as it was, with nothing leaked.
// caughtAt returns the state whose Catch first sent the run to Compensate.
func caughtAt(h asl.History) string {
	for _, ev := range h {
		if ev.Type == asl.CatchMatched && ev.Next == "Compensate" {
			return ev.State
		}
	}
	return ""
}

func TestFailuresAreCompensated(t *testing.T) {
	cases := []struct {
		name  string
		fault awssim.Fault
		// linux runs the case on a Linux group (Sysprep stops a Windows
		// builder by itself, so only Linux builders meet StopInstances).
		linux bool
		// failedAt is the state whose failure the Catch must record.
		failedAt string
		errName  string
	}{
		{"freeze", awssim.Fault{Service: "autoscaling", Action: "CreateOrUpdateTags", Code: "ValidationError"}, false, "Freeze", "AWSError"},
		{"launch builder", awssim.Fault{Service: "ec2", Action: "RunInstances", Code: "InvalidParameterCombination"}, false, "LaunchBuilder", "AWSError"},
		{"sysprep fails", awssim.Fault{Service: "ssm", Action: "SendCommand", Outcome: "failed"}, false, "CheckGeneralized", "GeneralizeFailedError"},
		{"send command refused", awssim.Fault{Service: "ssm", Action: "SendCommand", Code: "InvalidDocument"}, false, "Generalize", "AWSError"},
		{"stop refused", awssim.Fault{Service: "ec2", Action: "StopInstances", Code: "UnsupportedOperation"}, true, "StopBuilder", "AWSError"},
		{"create image refused", awssim.Fault{Service: "ec2", Action: "CreateImage", Code: "InvalidParameterValue"}, false, "CreateImage", "AWSError"},
		{"image fails", awssim.Fault{Service: "ec2", Action: "CreateImage", Outcome: "failed"}, false, "CheckImage", "ImageFailedError"},
		{"new version refused", awssim.Fault{Service: "ec2", Action: "CreateLaunchTemplateVersion", Code: "InvalidParameterValue"}, false, "UpdateLaunchTemplate", "AWSError"},
		{"default version refused", awssim.Fault{Service: "ec2", Action: "ModifyLaunchTemplate", Code: "InvalidParameterValue"}, false, "UpdateLaunchTemplate", "AWSError"},
		{"max size refused", awssim.Fault{Service: "autoscaling", Action: "UpdateAutoScalingGroup", Code: "ValidationError"}, false, "Freeze", "AWSError"},
		{"refresh refused", awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Code: "ValidationError"}, false, "StartRefresh", "AWSError"},
		{"refresh fails", awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"}, false, "CheckRefresh", "RefreshFailedError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := newSandbox(t, awssim.Options{})
			ctx := context.Background()
			platform := "windows"
			if c.linux {
				platform = "linux"
			}
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: platform, Desired: 2,
				Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling", amiswap.TagFreezeMaxSize: "true"}})
			sb.Sim.AddFault(c.fault)
			r := runSwap(t, sb, "web", req)
			if r.res.Status != asl.StatusFailed || r.res.Error != c.errName {
				t.Fatalf("got %s %s (%s), want FAILED %s\npath: %v", r.res.Status, r.res.Error, r.res.Cause, c.errName, compact(r.x.Path()))
			}
			path := compact(r.x.Path())
			tail := path[len(path)-4:]
			if want := []string{"Compensate", "NotifyFailure", "ReleaseLock", "Failed"}; !slices.Equal(tail, want) {
				t.Errorf("path ends %v, want %v (path %v)", tail, want, path)
			}
			if got := caughtAt(r.x.History()); got != c.failedAt {
				t.Errorf("the failure was caught in %s, want %s (path %v)", got, c.failedAt, path)
			}
			checks, err := sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, r.before, r.x.ID())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checks.Problems {
				t.Errorf("after compensation: %s", p)
			}
			msgs := publishedMessages(t, sb)
			if len(msgs) != 1 || !strings.Contains(msgs[0], "FAILED") || !strings.Contains(msgs[0], c.errName) {
				t.Errorf("want one failure notification naming %s, got %v", c.errName, msgs)
			}
		})
	}
}

// TestEventsForOneGroupCollapse: a backup plan that selects by tag backs up
// every instance of a group at once, and EventBridge may deliver an event
// twice. Concurrent executions for the group collapse to one swap (the
// others end AlreadyRunning), and later ones skip.
func TestEventsForOneGroupCollapse(t *testing.T) {
	sb := newSandbox(t, awssim.Options{Scenario: "demo"})
	ctx := context.Background()
	ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []amiswap.Request
	for _, id := range ids {
		_, event, err := sb.BackupEvent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		req, err := deploy.Transform(event)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req, req) // each event delivered twice
	}
	type outcome struct {
		path []string
		res  asl.Result
	}
	results := make(chan outcome, len(reqs))
	for _, req := range reqs {
		go func() {
			x, res, err := runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, "", req)
			if err != nil {
				t.Error(err)
				results <- outcome{}
				return
			}
			results <- outcome{x.Path(), res}
		}()
	}
	ends := map[string]int{}
	for range reqs {
		o := <-results
		if o.res.Status != asl.StatusSucceeded {
			t.Errorf("an execution ended %s %s: %s", o.res.Status, o.res.Error, o.res.Cause)
			continue
		}
		ends[o.path[len(o.path)-1]]++
	}
	if ends["Swapped"] != 1 || ends["Swapped"]+ends["AlreadyRunning"]+ends["Skipped"] != len(reqs) {
		t.Errorf("want exactly one swap and the rest collapsed, got %v", ends)
	}
	// A late duplicate, after the swap, skips.
	r := runSwap(t, sb, "", reqs[0])
	if r.res.Status != asl.StatusSucceeded || !r.st.Target.Skip {
		t.Fatalf("a late duplicate did not skip: %s %+v", r.res.Status, r.st.Target)
	}
	t.Logf("late duplicate: %s", r.st.Target.SkipReason)
}

// TestFailuresAfterTheSwapStands injects failures in the steps that come
// once the group is on the golden AMI: the swap stands (it is not
// reverted), and what failed is recorded and notified.
func TestFailuresAfterTheSwapStands(t *testing.T) {
	cases := []struct {
		name  string
		fault awssim.Fault
		// status and last state of the execution
		status asl.Status
		last   string
		check  func(t *testing.T, r swapRun, msgs []string)
		// tags of the group (nil: amiswap:enabled=true)
		tags map[string]string
	}{
		// Without verification (the verifier's termination would meet the
		// fault first): TerminateBuilder, right after the image is
		// available, is refused; the swap goes on and Cleanup terminates
		// the builder.
		{"early builder termination refused", awssim.Fault{Service: "ec2", Action: "TerminateInstances", Code: "UnauthorizedOperation", Count: 1}, asl.StatusSucceeded, "Swapped",
			func(t *testing.T, r swapRun, msgs []string) {
				if r.st.TerminateError == nil || r.st.Cleanup == nil || !r.st.Cleanup.BuilderTerminated {
					t.Errorf("terminate error %+v, cleanup %+v: want the refusal recorded and Cleanup's termination", r.st.TerminateError, r.st.Cleanup)
				}
			}, map[string]string{amiswap.TagEnabled: "true", amiswap.TagVerify: "false"}},
		// Refused twice, by TerminateBuilder and by Cleanup: the swap fails
		// (compensation terminates the builder) and is notified.
		{"builder termination refused", awssim.Fault{Service: "ec2", Action: "TerminateInstances", Code: "UnauthorizedOperation", Count: 2}, asl.StatusFailed, "Failed",
			func(t *testing.T, r swapRun, msgs []string) {
				if len(msgs) != 1 || !strings.Contains(msgs[0], "FAILED") {
					t.Errorf("want one failure notification, got %v", msgs)
				}
			}, map[string]string{amiswap.TagEnabled: "true", amiswap.TagVerify: "false"}},
		{"recovery point under a vault lock", awssim.Fault{Service: "backup", Action: "DeleteRecoveryPoint", Code: "InvalidRequestException", Message: "the vault is locked"}, asl.StatusSucceeded, "Swapped",
			func(t *testing.T, r swapRun, msgs []string) {
				if c := r.st.Cleanup; c == nil || c.RecoveryPoint == nil || c.RecoveryPoint.Status != workflow.RecoveryPointKept || !strings.Contains(c.RecoveryPoint.Reason, "locked") {
					t.Errorf("the recovery point problem is not recorded: %+v", r.st.Cleanup)
				}
				if len(msgs) != 1 || !strings.Contains(msgs[0], "locked") {
					t.Errorf("the notification does not report the recovery point problem: %v", msgs)
				}
			}, nil},
		// DeleteRecoveryPoint answers 200 when the caller's permissions
		// are insufficient, and the recovery point goes EXPIRED (AWS
		// Backup API reference, DeleteRecoveryPoint,
		// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html):
		// the output and the notification say EXPIRED, not deleted.
		{"recovery point left EXPIRED", awssim.Fault{Service: "backup", Action: "DeleteRecoveryPoint", Outcome: "failed"}, asl.StatusSucceeded, "Swapped",
			func(t *testing.T, r swapRun, msgs []string) {
				if c := r.st.Cleanup; c == nil || c.RecoveryPoint == nil || c.RecoveryPoint.Status != workflow.RecoveryPointExpired || !strings.Contains(c.RecoveryPoint.Reason, "EXPIRED") {
					t.Errorf("the EXPIRED recovery point is not reported as such: %+v", r.st.Cleanup)
				}
				if len(msgs) != 1 || !strings.Contains(msgs[0], "NOT deleted, EXPIRED") || !strings.Contains(msgs[0], `"status": "expired"`) {
					t.Errorf("the notification does not report the EXPIRED recovery point: %v", msgs)
				}
			}, nil},
		{"notification refused", awssim.Fault{Service: "sns", Action: "Publish", Code: "AuthorizationError", Status: 403}, asl.StatusSucceeded, "Swapped",
			func(t *testing.T, r swapRun, msgs []string) {
				if r.st.NotifyError == nil {
					t.Error("the failed notification is not recorded in the output")
				}
			}, nil},
		{"unlock fails", awssim.Fault{Service: "dynamodb", Action: "DeleteItem", Code: "ValidationException", Count: 1}, asl.StatusSucceeded, "Swapped",
			func(t *testing.T, r swapRun, msgs []string) {
				if r.st.UnlockError == nil {
					t.Error("the failed unlock is not recorded in the output")
				}
			}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := newSandbox(t, awssim.Options{})
			ctx := context.Background()
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: c.tags})
			sb.Sim.AddFault(c.fault)
			r := runSwap(t, sb, "web", req)
			path := r.x.Path()
			if r.res.Status != c.status || path[len(path)-1] != c.last {
				t.Fatalf("ended %s in %s (%s %s), want %s in %s", r.res.Status, path[len(path)-1], r.res.Error, r.res.Cause, c.status, c.last)
			}
			after, err := sandbox.Snapshot(ctx, sb.AWS, "web")
			if err != nil {
				t.Fatal(err)
			}
			if after.ImageID == r.before.ImageID {
				t.Errorf("the group was reverted to %s; a swap that stands must stay", after.ImageID)
			}
			if after.Max != r.before.Max {
				t.Errorf("MaxSize %d, want %d", after.Max, r.before.Max)
			}
			sb.Sim.ClearFaults()
			sb.Sim.Advance(5 * time.Minute)
			out, err := ec2.NewFromConfig(sb.AWS).DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder}},
				{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Reservations) != 0 {
				t.Errorf("a builder is left: %+v", out.Reservations)
			}
			c.check(t, r, publishedMessages(t, sb))
		})
	}
}

// TestLockFailureChangesNothing: a failure to take the lock (not a lock
// held by another run) ends the run before anything changed.
func TestLockFailureChangesNothing(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux",
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
	sb.Sim.AddFault(awssim.Fault{Service: "dynamodb", Action: "PutItem", Code: "ValidationException"})
	r := runSwap(t, sb, "web", req)
	if want := []string{"Resolve", "ShouldSwap", "Lock", "Compensate", "NotifyFailure", "ReleaseLock", "Failed"}; !slices.Equal(r.x.Path(), want) {
		t.Errorf("path %v, want %v", r.x.Path(), want)
	}
	checks, err := sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, r.before, r.x.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Error(p)
	}
}

// TestTransientErrorsAreRetried: server errors beyond what the SDK's own
// retries absorb are retried by the state machine with backoff
// (TransientError); throttling is not retried by the SDK at all but by the
// state machine's own ThrottledError retrier, each throttled call once; the
// swap completes.
func TestTransientErrorsAreRetried(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	// More server errors than the SDK's three attempts: the task fails
	// with TransientError and the definition's Retry takes over.
	sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "CreateImage", Code: "RequestLimitExceeded", Status: 503, Count: 5})
	sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "RunInstances", Code: "InternalError", Count: 4})
	r := runSwap(t, sb, "web", req)
	requireSwapped(t, sb, r)
	retried := map[string]int{}
	for _, ev := range r.x.History() {
		if ev.Type == asl.RetryScheduled {
			retried[ev.State+" "+ev.Error]++
		}
	}
	want := map[string]int{"CreateImage ThrottledError": 5, "LaunchBuilder TransientError": 1}
	if !maps.Equal(retried, want) {
		t.Errorf("retries %v, want %v", retried, want)
	}
}
