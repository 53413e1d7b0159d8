package runner_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// These tests cover verification before rollout, preparation before
// generalization, the hand-off to an SSM parameter and deprecation,
// through the APIs of the simulator.

// createDocument registers a Command document of shell steps (an admin's
// doing, outside amiswap's roles).
func createDocument(t testing.TB, sb *sandbox.Sandbox, name string, lines ...string) {
	t.Helper()
	content, _ := json.Marshal(map[string]any{
		"schemaVersion": "2.2", "description": "amiswap test document",
		"mainSteps": []any{map[string]any{"action": "aws:runShellScript", "name": "run", "inputs": map[string]any{"runCommand": lines}}},
	})
	_, err := ssm.NewFromConfig(sb.AWS).CreateDocument(context.Background(), &ssm.CreateDocumentInput{
		Name: aws.String(name), Content: aws.String(string(content)), DocumentType: ssmtypes.DocumentTypeCommand, DocumentFormat: ssmtypes.DocumentFormatJson})
	if err != nil {
		t.Fatal(err)
	}
}

// faultOnEntering returns an observer that installs fault when the
// execution enters state for the nth time.
func faultOnEntering(sim *awssim.Sim, state string, nth int, fault awssim.Fault) func(*asl.Execution, asl.Event) {
	seen := 0
	return func(x *asl.Execution, ev asl.Event) {
		if ev.Type == asl.TaskStateEntered && ev.State == state {
			if seen++; seen == nth {
				sim.AddFault(fault)
			}
		}
	}
}

// runObserved runs a swap with an observer, returning the run and its
// output state.
func runObserved(t *testing.T, sb *sandbox.Sandbox, group string, req amiswap.Request, observe func(*asl.Execution, asl.Event)) swapRun {
	t.Helper()
	ctx := context.Background()
	r := swapRun{req: req}
	var err error
	if r.before, err = sandbox.Snapshot(ctx, sb.AWS, group); err != nil {
		t.Fatal(err)
	}
	r.x, r.res, err = runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, Observer: observe}, "", req)
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

// requireVerificationFailed checks a run that failed its verification:
// the path went from the verification to Compensate without touching the
// launch template, the group and everything else are as before (verifier,
// golden AMI and snapshots gone), and the one notification says why.
func requireVerificationFailed(t *testing.T, sb *sandbox.Sandbox, r swapRun, failedIn string, wantInMessage ...string) {
	t.Helper()
	path := r.x.Path()
	if r.res.Status != asl.StatusFailed || r.res.Error != "VerificationFailedError" {
		t.Fatalf("ended %s %s (%s), want FAILED VerificationFailedError\npath %v", r.res.Status, r.res.Error, r.res.Cause, path)
	}
	i := slices.Index(path, "Compensate")
	if i < 1 || path[i-1] != failedIn || slices.Contains(path, "UpdateLaunchTemplate") || !slices.Contains(path, "LaunchVerifier") {
		t.Errorf("path %v: want LaunchVerifier … %s → Compensate, never UpdateLaunchTemplate", compact(path), failedIn)
	}
	checks, err := sandbox.VerifyRestored(context.Background(), sb.AWS, sb.Config.LockTable, r.before, r.x.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Errorf("not restored: %s", p)
	}
	msgs := publishedMessages(t, sb)
	if len(msgs) != 1 {
		t.Fatalf("want one notification, got %d: %v", len(msgs), msgs)
	}
	for _, w := range append([]string{"VerificationFailedError"}, wantInMessage...) {
		if !strings.Contains(msgs[0], w) {
			t.Errorf("the notification does not say %q:\n%s", w, msgs[0])
		}
	}
}

// TestVerificationImpairedNeverRollsOut: the verifier launched from the
// golden AMI fails its status checks; nothing is rolled out.
func TestVerificationImpairedNeverRollsOut(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "InstanceStatus", Outcome: "impaired",
		Match: map[string]string{"tag:" + amiswap.TagRole: amiswap.RoleVerifier}})
	r := runObserved(t, sb, "web", req, nil)
	requireVerificationFailed(t, sb, r, "CheckVerifierReady", "status checks", "impaired")
}

// TestVerifyDocumentFailureNeverRollsOut: the group's verify document
// exits non-zero on the verifier; the notification carries its output.
func TestVerifyDocumentFailureNeverRollsOut(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	createDocument(t, sb, "Web-Smoke", "echo checking http://localhost/health", "echo 'health check failed: HTTP 503' >&2", "exit 3")
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagVerifyDocument: "Web-Smoke", amiswap.TagVerifyParameters: `{}`}})
	r := runObserved(t, sb, "web", req, nil)
	requireVerificationFailed(t, sb, r, "CheckVerification", "verify document Web-Smoke", "health check failed: HTTP 503", "exit 3")
}

// TestVerifyDocumentPasses: a passing verify document with parameters
// lets the swap through, and the verifier is terminated before rollout.
func TestVerifyDocumentPasses(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	_, err := ssm.NewFromConfig(sb.AWS).CreateDocument(context.Background(), &ssm.CreateDocumentInput{Name: aws.String("Web-Smoke-P"),
		Content: aws.String(`{"schemaVersion":"2.2","parameters":{"Port":{"type":"String"}},"mainSteps":[{"action":"aws:runShellScript","name":"probe","inputs":{"runCommand":["echo port {{ Port }} answers"]}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagVerifyDocument: "Web-Smoke-P", amiswap.TagVerifyParameters: `{"Port":["8443"]}`}})
	if err != nil {
		t.Fatal(err)
	}
	r := runSwap(t, sb, "web", backupRequest(t, sb, ids[0]))
	requireSwapped(t, sb, r)
	path := r.x.Path()
	if slices.Index(path, "TerminateVerifier") > slices.Index(path, "UpdateLaunchTemplate") || !slices.Contains(path, "CheckVerification") {
		t.Errorf("path %v: the verifier must run the document and end before the launch template changes", compact(path))
	}
	out, err := ssm.NewFromConfig(sb.AWS).ListCommandInvocations(context.Background(), &ssm.ListCommandInvocationsInput{
		CommandId: aws.String(r.st.Verification.CommandID), Details: true})
	if err != nil || len(out.CommandInvocations) != 1 {
		t.Fatal(out, err)
	}
	inv := out.CommandInvocations[0]
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(inv.CommandPlugins[0].Output) != "port 8443 answers\n" ||
		aws.ToString(inv.InstanceId) != r.st.Verifier.InstanceID {
		t.Errorf("verify invocation %s on %s: %q", inv.Status, aws.ToString(inv.InstanceId), aws.ToString(inv.CommandPlugins[0].Output))
	}
	d, err := ec2.NewFromConfig(sb.AWS).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{r.st.Verifier.InstanceID}})
	if err != nil {
		t.Fatal(err)
	}
	v := d.Reservations[0].Instances[0]
	if st := v.State.Name; st != ec2types.InstanceStateNameTerminated && st != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("verifier %s", st)
	}
	if aws.ToString(v.ImageId) != r.st.Image.ImageID || v.PublicIpAddress != nil || tagValue(v.Tags, amiswap.TagRole) != amiswap.RoleVerifier ||
		tagValue(v.Tags, amiswap.TagExecution) != r.x.ID() || tagValue(v.Tags, amiswap.TagGroup) != "web" {
		t.Errorf("verifier launched from %s, public IP %v, tags %v", aws.ToString(v.ImageId), v.PublicIpAddress, v.Tags)
	}
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// TestPrepareBeforeSysprepWithReboot: AWS-RunPatchBaseline Install runs on
// a Windows builder before Sysprep; it reboots the builder, which the
// workflow waits out.
func TestPrepareBeforeSysprepWithReboot(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "win", Platform: "windows", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagPrepareDocument: "AWS-RunPatchBaseline", amiswap.TagPrepareParameters: `{"Operation":["Install"]}`}})
	if err != nil {
		t.Fatal(err)
	}
	r := runSwap(t, sb, "win", backupRequest(t, sb, ids[0]))
	requireSwapped(t, sb, r)
	if got := compact(r.x.Path()); !slices.Equal(got[6:13], []string{"BuilderReady", "ShouldPrepare", "Prepare", "CheckPrepared", "Prepared", "Generalize", "CheckGeneralized"}) {
		t.Errorf("path %v: want the prepare document between the builder's readiness and Generalize", got)
	}
	// The command history says the order, and that the patch run lasted
	// through a reboot: its run plus the agent's coming back.
	c := ssm.NewFromConfig(sb.AWS)
	out, err := c.ListCommands(context.Background(), &ssm.ListCommandsInput{InstanceId: aws.String(r.st.Builder.InstanceID)})
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for i := len(out.Commands) - 1; i >= 0; i-- { // newest first
		docs = append(docs, aws.ToString(out.Commands[i].DocumentName))
	}
	if !slices.Equal(docs, []string{"AWS-RunPatchBaseline", workflow.SysprepDocument}) {
		t.Errorf("commands on the builder, oldest first: %v", docs)
	}
	inv, err := c.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String(r.st.Prepare.CommandID),
		InstanceId: aws.String(r.st.Builder.InstanceID), PluginName: aws.String("PatchWindows")})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339, aws.ToString(inv.ExecutionStartDateTime))
	end, _ := time.Parse(time.RFC3339, aws.ToString(inv.ExecutionEndDateTime))
	dur := sb.Sim.Durations()
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || end.Sub(start) < dur.Patch+dur.AgentOnline || !strings.Contains(aws.ToString(inv.StandardOutputContent), "Rebooting") {
		t.Errorf("patch run %s, %s long (want at least %s: a reboot), output %q", inv.Status, end.Sub(start), dur.Patch+dur.AgentOnline, aws.ToString(inv.StandardOutputContent))
	}
}

// TestHandOffFollowsSwapsAndCompensations: the SSM parameter takes the
// golden AMI (data type aws:ec2:image) after the first swap; a second swap
// that fails after its hand-off puts it back; deprecation is scheduled on
// each new golden AMI.
func TestHandOffFollowsSwapsAndCompensations(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagSSMParameter: "/golden/web", amiswap.TagDeprecateAfter: "90d"}})
	if err != nil {
		t.Fatal(err)
	}
	c := ssm.NewFromConfig(sb.AWS)
	param := func() (string, string) {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/golden/web")})
		if err != nil {
			return "", err.Error()
		}
		return aws.ToString(out.Parameter.Value), aws.ToString(out.Parameter.DataType)
	}
	first := runSwap(t, sb, "web", backupRequest(t, sb, ids[0]))
	requireSwapped(t, sb, first)
	if v, dt := param(); v != first.st.Image.ImageID || dt != workflow.ImageDataType {
		t.Fatalf("after the first swap the parameter is %q (%s), want %s (aws:ec2:image)", v, dt, first.st.Image.ImageID)
	}
	if h := first.st.HandOff; h == nil || h.Existed {
		t.Errorf("hand-off record %+v: the parameter did not exist before", h)
	}
	img, err := ec2.NewFromConfig(sb.AWS).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{first.st.Image.ImageID}})
	if err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse(time.RFC3339, aws.ToString(img.Images[0].CreationDate))
	deprecation, _ := time.Parse(time.RFC3339, aws.ToString(img.Images[0].DeprecationTime))
	if want := created.Add(90 * 24 * time.Hour).Round(time.Minute); !deprecation.Equal(want) {
		t.Errorf("DeprecationTime %s, want %s (creation + 90d)", aws.ToString(img.Images[0].DeprecationTime), want)
	}

	if ids, err = sb.WaitInService(ctx, "web", 2); err != nil {
		t.Fatal(err)
	}
	// The second check of the hand-off fails, once the parameter holds
	// the second golden AMI: compensation must put the first one back.
	second := runObserved(t, sb, "web", backupRequest(t, sb, ids[0]), faultOnEntering(sb.Sim, "CheckHandOff", 2,
		awssim.Fault{Service: "ssm", Action: "GetParameter", Code: "ValidationException"}))
	if second.res.Status != asl.StatusFailed || !slices.Contains(second.x.Path(), "HandOff") || !hasAction(second, "put parameter /golden/web back to "+first.st.Image.ImageID) {
		t.Fatalf("second swap %s (%s), want FAILED after its hand-off: %v", second.res.Status, second.res.Cause, compact(second.x.Path()))
	}
	// Parameter Store validates aws:ec2:image puts asynchronously: the
	// value must still be the first AMI once every put has been validated.
	sb.Sim.Advance(10 * time.Minute)
	if v, _ := param(); v != first.st.Image.ImageID {
		t.Errorf("after the compensated swap the parameter is %q, want it back on %s", v, first.st.Image.ImageID)
	}
	checks, err := sandbox.VerifyRestored(ctx, sb.AWS, sb.Config.LockTable, second.before, second.x.ID())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checks.Problems {
		t.Errorf("not restored: %s", p)
	}
}

// hasAction reports whether the run's compensation reported action.
func hasAction(r swapRun, action string) bool {
	for _, ev := range r.x.History() {
		if ev.Type == asl.TaskSucceeded && ev.State == "Compensate" && strings.Contains(string(ev.Output), action) {
			return true
		}
	}
	return false
}
