package awssim

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestSSMParameterImageValidatedAsynchronously: "Native parameter support
// for Amazon Machine Image IDs"
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html)
// and PutParameter's DataType: PutParameter with aws:ec2:image answers
// before the value is validated; a valid AMI then becomes the value, an
// invalid one leaves the parameter as it was.
func TestSSMParameterImageValidatedAsynchronously(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	base := ssmLaunch(t, ts, "").ImageID
	put := func(value string, overwrite bool) (int64, error) {
		out, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/golden/web"), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(overwrite)})
		if err != nil {
			return 0, err
		}
		return out.Version, nil
	}
	get := func() (string, int64, error) {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/golden/web")})
		if err != nil {
			return "", 0, err
		}
		return aws.ToString(out.Parameter.Value), out.Parameter.Version, nil
	}

	v, err := put(base, false)
	if err != nil || v != 1 {
		t.Fatalf("PutParameter = %d, %v; want version 1", v, err)
	}
	if _, _, err := get(); ssmErrCode(err) != "ParameterNotFound" {
		t.Fatalf("GetParameter before the validation: %v, want ParameterNotFound", err)
	}
	ts.Advance(paramValidation)
	if val, ver, err := get(); err != nil || val != base || ver != 1 {
		t.Fatalf("after validation: %q v%d %v, want %s v1", val, ver, err, base)
	}

	// An AMI that does not exist: the call succeeds, the value does not change.
	if v, err := put("ami-0123456789abcdef0", true); err != nil || v != 2 {
		t.Fatalf("PutParameter of a missing AMI = %d, %v; want 2, nil", v, err)
	}
	ts.Advance(paramValidation)
	if val, ver, _ := get(); val != base || ver != 1 {
		t.Fatalf("after a failed validation: %q v%d, want %s v1", val, ver, base)
	}
	// Not an AMI id at all: same.
	if _, err := put("not-an-ami", true); err != nil {
		t.Fatal(err)
	}
	ts.Advance(paramValidation)
	if val, _, _ := get(); val != base {
		t.Fatalf("after an invalid value: %q", val)
	}

	if _, err := put(base, false); ssmErrCode(err) != "ParameterAlreadyExists" {
		t.Fatalf("PutParameter without Overwrite: %v, want ParameterAlreadyExists", err)
	}
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/golden/web"), Value: aws.String("x"),
		DataType: aws.String("text"), Overwrite: aws.Bool(true)})
	if ssmErrCode(err) != "ValidationException" {
		t.Fatalf("changing aws:ec2:image to text: %v, want ValidationException", err)
	}

	// A text parameter is stored at once; its history lists every version.
	for i, val := range []string{"a", "b"} {
		out, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("plain"), Value: aws.String(val),
			Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)})
		if err != nil || out.Version != int64(i+1) {
			t.Fatalf("PutParameter text: %+v %v", out, err)
		}
	}
	h, err := c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("plain"), MaxResults: aws.Int32(1)})
	if err != nil || len(h.Parameters) != 1 || aws.ToString(h.Parameters[0].Value) != "a" || h.NextToken == nil {
		t.Fatalf("GetParameterHistory page 1: %+v %v", h, err)
	}
	h, err = c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("plain"), NextToken: h.NextToken})
	if err != nil || len(h.Parameters) != 1 || aws.ToString(h.Parameters[0].Value) != "b" || h.Parameters[0].Version != 2 || h.NextToken != nil {
		t.Fatalf("GetParameterHistory page 2: %+v %v", h, err)
	}
	if old, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("plain:1")}); err != nil || aws.ToString(old.Parameter.Value) != "a" {
		t.Fatalf("GetParameter name:1: %+v %v", old, err)
	}
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("plain")}); ssmErrCode(err) != "ParameterNotFound" {
		t.Fatalf("DeleteParameter twice: %v", err)
	}
	for _, bad := range []string{"aws-x", "/ssm/x", "a b", "no/leading"} {
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(bad), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
		if ssmErrCode(err) != "ValidationException" {
			t.Errorf("PutParameter %q: %v, want ValidationException", bad, err)
		}
	}
	var changes []string
	for _, ev := range ts.Events() {
		if ev.DetailType == "Parameter Store Change" {
			changes = append(changes, string(ev.Detail))
		}
	}
	if len(changes) != 4 || !strings.Contains(changes[0], `"operation":"Create"`) || !strings.Contains(changes[3], `"operation":"Delete"`) {
		t.Errorf("Parameter Store Change events: %v (want Create of /golden/web, Create and Update of plain, Delete)", changes)
	}
}

// ssmCreateDoc registers a Command document with the given steps.
func ssmCreateDoc(t *testing.T, c *ssm.Client, name string, params map[string]any, steps ...map[string]any) {
	t.Helper()
	content := map[string]any{"schemaVersion": "2.2", "description": "test", "mainSteps": steps}
	if params != nil {
		content["parameters"] = params
	}
	b, _ := json.Marshal(content)
	if _, err := c.CreateDocument(context.Background(), &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(string(b)),
		DocumentType: ssmtypes.DocumentTypeCommand, DocumentFormat: ssmtypes.DocumentFormatJson}); err != nil {
		t.Fatalf("CreateDocument %s: %v", name, err)
	}
}

func shellStep(name string, lines ...string) map[string]any {
	return map[string]any{"action": "aws:runShellScript", "name": name, "inputs": map[string]any{"runCommand": lines}}
}

func ssmDetails(t *testing.T, c *ssm.Client, cmdID string) ssmtypes.CommandInvocation {
	t.Helper()
	out, err := c.ListCommandInvocations(context.Background(), &ssm.ListCommandInvocationsInput{CommandId: aws.String(cmdID), Details: true})
	if err != nil || len(out.CommandInvocations) != 1 {
		t.Fatalf("ListCommandInvocations: %+v %v", out, err)
	}
	return out.CommandInvocations[0]
}

// TestSSMCustomDocumentSteps runs a two-step document through the
// interpreter: echo output, parameters, the exit code of the failing step,
// and the later step not run.
func TestSSMCustomDocumentSteps(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	ssmCreateDoc(t, c, "Smoke-Test", map[string]any{
		"Port": map[string]any{"type": "String", "default": "80"},
		"Code": map[string]any{"type": "String"},
	},
		shellStep("probe", "echo 'probing port {{ Port }}'", "curl -sf localhost:{{Port}}", "echo down >&2", "exit {{ Code }}"),
		shellStep("never", "echo unreachable"),
		map[string]any{"action": "aws:runPowerShellScript", "name": "win", "precondition": map[string]any{"StringEquals": []string{"platformType", "Windows"}},
			"inputs": map[string]any{"runCommand": []string{"Write-Output hi"}}})

	d, err := c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("Smoke-Test")})
	if err != nil || d.Document.Status != ssmtypes.DocumentStatusActive || len(d.Document.Parameters) != 2 || aws.ToString(d.Document.SchemaVersion) != "2.2" {
		t.Fatalf("DescribeDocument: %+v %v", d, err)
	}
	if _, err := c.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("Smoke-Test"), InstanceIds: []string{in.ID}}); ssmErrCode(err) != "InvalidParameters" {
		t.Fatalf("SendCommand without the required parameter: %v", err)
	}
	id := ssmSend(t, c, "Smoke-Test", in.ID, map[string][]string{"Code": {"3"}}, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	inv := ssmDetails(t, c, id)
	if inv.Status != ssmtypes.CommandInvocationStatusFailed {
		t.Fatalf("status %s, want Failed", inv.Status)
	}
	if len(inv.CommandPlugins) != 1 {
		t.Fatalf("plugins %+v, want only the failed step (later steps do not run)", inv.CommandPlugins)
	}
	p := inv.CommandPlugins[0]
	if aws.ToString(p.Name) != "probe" || p.ResponseCode != 3 || aws.ToString(p.Output) != "probing port 80\ndown\n" {
		t.Errorf("step probe: %s code %d output %q", aws.ToString(p.Name), p.ResponseCode, aws.ToString(p.Output))
	}
	_, err = c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String(in.ID)})
	if ssmErrCode(err) != "InvalidPluginName" {
		t.Errorf("GetCommandInvocation of a multi-step document without PluginName: %v", err)
	}
	got, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String(in.ID), PluginName: aws.String("probe")})
	if err != nil || got.ResponseCode != 3 || got.Status != ssmtypes.CommandInvocationStatusFailed {
		t.Errorf("GetCommandInvocation probe: %+v %v", got, err)
	}

	id = ssmSend(t, c, "Smoke-Test", in.ID, map[string][]string{"Code": {"0"}, "Port": {"8080"}}, nil)
	ts.Advance(commandDelivery + 2*ts.dur.Script)
	inv = ssmDetails(t, c, id)
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || len(inv.CommandPlugins) != 3 ||
		aws.ToString(inv.CommandPlugins[1].Output) != "unreachable\n" || !strings.Contains(aws.ToString(inv.CommandPlugins[2].Output), "skipped") {
		t.Fatalf("passing run: %s %+v", inv.Status, inv.CommandPlugins)
	}

	for name, content := range map[string]string{
		"AWS-Mine": `{"schemaVersion":"2.2","mainSteps":[{"action":"aws:runShellScript","name":"a","inputs":{"runCommand":["true"]}}]}`,
		"bad-json": `{`,
		"no-steps": `{"schemaVersion":"2.2","mainSteps":[]}`,
		"bad-ref":  `{"schemaVersion":"2.2","mainSteps":[{"action":"aws:runShellScript","name":"a","inputs":{"runCommand":["echo {{ x }}"]}}]}`,
	} {
		_, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(content)})
		if code := ssmErrCode(err); code != "ValidationException" && code != "InvalidDocumentContent" {
			t.Errorf("CreateDocument %s: %v", name, err)
		}
	}
	_, err = c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Smoke-Test"), Content: aws.String(`{"schemaVersion":"2.2","mainSteps":[{"action":"aws:runShellScript","name":"a","inputs":{"runCommand":["true"]}}]}`)})
	if ssmErrCode(err) != "DocumentAlreadyExists" {
		t.Errorf("CreateDocument twice: %v", err)
	}
}

// TestSSMRebootAndResume: "Handling reboots when running commands"
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/send-commands-reboot.html):
// exit 194 (Linux) asks the agent to reboot the instance and resume; the
// invocation stays InProgress while the agent is offline, then ends.
func TestSSMRebootAndResume(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	ssmCreateDoc(t, c, "Reboot-Once", nil, shellStep("update", "echo updating", "exit 194", "echo after reboot"))
	id := ssmSend(t, c, "Reboot-Once", in.ID, nil, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	ts.mu.Lock()
	online := in.AgentOnline
	ts.mu.Unlock()
	if online {
		t.Fatal("the agent is still online after exit 194")
	}
	if inv := ssmDetails(t, c, id); inv.Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("during the reboot: %s, want InProgress", inv.Status)
	}
	ts.Advance(ts.dur.AgentOnline + ts.dur.Script)
	inv := ssmDetails(t, c, id)
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(inv.CommandPlugins[0].Output) != "updating\nafter reboot\n" {
		t.Fatalf("after the reboot: %s %+v", inv.Status, inv.CommandPlugins)
	}
}

// TestSSMRunPatchBaselineReboots: AWS-RunPatchBaseline Install with the
// default RebootOption (RebootIfNeeded) reboots when it installed patches;
// a second Install has nothing to install and does not reboot.
func TestSSMRunPatchBaselineReboots(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "windows")
	ssmBootToOnline(ts)
	if _, err := c.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunPatchBaseline"),
		InstanceIds: []string{in.ID}, Parameters: map[string][]string{"Operation": {"Upgrade"}}}); ssmErrCode(err) != "InvalidParameters" {
		t.Fatalf("Operation=Upgrade: %v", err)
	}
	id := ssmSend(t, c, "AWS-RunPatchBaseline", in.ID, map[string][]string{"Operation": {"Install"}}, nil)
	ts.Advance(commandDelivery + ts.dur.Patch)
	ts.mu.Lock()
	online := in.AgentOnline
	ts.mu.Unlock()
	if online || ssmDetails(t, c, id).Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatal("Install did not reboot the instance with the command InProgress")
	}
	ts.Advance(ts.dur.AgentOnline + ts.dur.Script)
	inv := ssmDetails(t, c, id)
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("after the reboot: %s", inv.Status)
	}
	var win ssmtypes.CommandPlugin
	for _, p := range inv.CommandPlugins {
		if aws.ToString(p.Name) == "PatchWindows" {
			win = p
		}
	}
	if !strings.Contains(aws.ToString(win.Output), "7 patches installed") {
		t.Errorf("PatchWindows output %q", aws.ToString(win.Output))
	}
	id = ssmSend(t, c, "AWS-RunPatchBaseline", in.ID, map[string][]string{"Operation": {"Install"}}, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	if inv := ssmDetails(t, c, id); inv.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("second Install: %s, want Success without a reboot", inv.Status)
	}
}

// TestEC2ImpairedFaultAndDeprecation: the InstanceStatus fault fails the
// status checks of matching instances only; EnableImageDeprecation sets
// DeprecationTime (rounded to the minute, not in the past) as
// "EnableImageDeprecation" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html)
// says, DisableImageDeprecation clears it.
func TestEC2ImpairedFaultAndDeprecation(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ec2.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	body := `{"service":"ec2","action":"InstanceStatus","outcome":"impaired","match":{"tag:Name":"victim"}}`
	resp, err := http.Post(ts.URL+"/_sim/faults", "application/json", bytes.NewBufferString(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST fault: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = http.Post(ts.URL+"/_sim/faults", "application/json", bytes.NewBufferString(`{"service":"ec2","action":"InstanceStatus","outcome":"failed"}`))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an InstanceStatus fault with outcome failed: status %d, want 400", resp.StatusCode)
	}
	resp.Body.Close()
	ts.mu.Lock()
	var base string
	for _, im := range ts.ec2.imageOrder {
		if im.OwnerAlias == "amazon" && im.Platform == "" {
			base = im.ID
		}
	}
	victim, _ := ts.launchInstance(instanceSpec{ImageID: base, Tags: tags{"Name": "victim"}})
	other, _ := ts.launchInstance(instanceSpec{ImageID: base, Tags: tags{"Name": "other"}})
	ts.mu.Unlock()
	ts.Advance(ts.dur.InstancePending + ts.dur.StatusChecks)
	st, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{victim.ID, other.ID}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]ec2types.SummaryStatus{}
	for _, s := range st.InstanceStatuses {
		got[aws.ToString(s.InstanceId)] = s.InstanceStatus.Status
	}
	if got[victim.ID] != ec2types.SummaryStatusImpaired || got[other.ID] != ec2types.SummaryStatusOk {
		t.Fatalf("statuses %v: want the victim impaired, the other ok", got)
	}

	ts.mu.Lock()
	in, _ := ts.launchInstance(instanceSpec{ImageID: base})
	ts.mu.Unlock()
	ts.Advance(ts.dur.InstancePending)
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(in.ID), Name: aws.String("golden-1")})
	if err != nil {
		t.Fatal(err)
	}
	ts.Advance(time.Minute)
	at := ts.Now().Add(90*24*time.Hour + 20*time.Second)
	if _, err := c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: img.ImageId, DeprecateAt: aws.Time(at)}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(img.ImageId)}})
	if err != nil || len(d.Images) != 1 {
		t.Fatal(d, err)
	}
	if want := at.UTC().Round(time.Minute).Format("2006-01-02T15:04:05.000Z"); aws.ToString(d.Images[0].DeprecationTime) != want {
		t.Errorf("DeprecationTime %q, want %q", aws.ToString(d.Images[0].DeprecationTime), want)
	}
	_, err = c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: img.ImageId, DeprecateAt: aws.Time(ts.Now().Add(-time.Hour))})
	if ssmErrCode(err) != "InvalidParameterValue" {
		t.Errorf("a DeprecateAt in the past: %v", err)
	}
	if _, err := c.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: img.ImageId}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(img.ImageId)}})
	if d.Images[0].DeprecationTime != nil {
		t.Errorf("DeprecationTime after DisableImageDeprecation: %q", aws.ToString(d.Images[0].DeprecationTime))
	}
}
