package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// ssmLaunch starts an instance of a public base image ("windows"
// or "" for Linux) straight through the EC2 model.
func ssmLaunch(t *testing.T, ts *testSim, platform string) *instance {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, im := range ts.ec2.imageOrder {
		if im.OwnerAlias == "amazon" && im.Platform == platform {
			in, err := ts.launchInstance(instanceSpec{ImageID: im.ID, Tags: tags{"Name": "builder"}})
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
	}
	t.Fatalf("no base image for platform %q", platform)
	return nil
}

// ssmBootToOnline advances the clock until a fresh instance's agent is online.
func ssmBootToOnline(ts *testSim) { ts.Advance(ts.dur.InstancePending + ts.dur.AgentOnline) }

func ssmInstanceState(ts *testSim, in *instance) (state, reason string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return in.State, in.StateReason
}

func ssmErrCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func ssmSend(t *testing.T, c *ssm.Client, doc, id string, params map[string][]string, timeout *int32) string {
	t.Helper()
	out, err := c.SendCommand(context.Background(), &ssm.SendCommandInput{
		DocumentName: aws.String(doc), InstanceIds: []string{id}, Parameters: params,
		TimeoutSeconds: timeout, Comment: aws.String("test"),
	})
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	return aws.ToString(out.Command.CommandId)
}

func ssmGetInvocation(t *testing.T, c *ssm.Client, cmdID, id string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	out, err := c.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetCommandInvocation: %v", err)
	}
	return out
}

func TestSSMAgentOnlineOnlyAfterBoot(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	in := ssmLaunch(t, ts, "windows")
	filter := &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{in.ID}}}}

	describe := func() []ssmtypes.InstanceInformation {
		t.Helper()
		out, err := c.DescribeInstanceInformation(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		return out.InstanceInformationList
	}
	send := func() error {
		_, err := c.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWSEC2-RunSysprep"), InstanceIds: []string{in.ID}})
		return err
	}
	ts.Advance(ts.dur.InstancePending) // running, agent not yet online
	if l := describe(); len(l) != 0 {
		t.Fatalf("agent listed before it came online: %+v", l)
	}
	if err := send(); ssmErrCode(err) != "InvalidInstanceId" {
		t.Fatalf("SendCommand to an instance whose agent is offline: got %v, want InvalidInstanceId", err)
	}
	ts.Advance(ts.dur.AgentOnline)
	l := describe()
	if len(l) != 1 {
		t.Fatalf("got %d managed instances, want 1", len(l))
	}
	ii := l[0]
	if ii.PingStatus != ssmtypes.PingStatusOnline || ii.PlatformType != ssmtypes.PlatformTypeWindows ||
		!strings.Contains(aws.ToString(ii.PlatformName), "Windows") || aws.ToString(ii.AgentVersion) == "" ||
		aws.ToString(ii.ComputerName) != in.ComputerName || ii.ResourceType != ssmtypes.ResourceTypeEc2Instance {
		t.Errorf("unexpected instance information %+v", ii)
	}
	if ii.LastPingDateTime == nil || ii.LastPingDateTime.After(ts.Now()) || ts.Now().Sub(*ii.LastPingDateTime) >= agentPingInterval {
		t.Errorf("LastPingDateTime %v, now %v", ii.LastPingDateTime, ts.Now())
	}
	if err := send(); err != nil {
		t.Fatalf("SendCommand to an online instance: %v", err)
	}

	// Filters by ping status and platform.
	out, err := c.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{
			{Key: ssmtypes.InstanceInformationFilterKeyPlatformTypes, ValueSet: []string{"Linux"}},
		}})
	if err != nil || len(out.InstanceInformationList) != 0 {
		t.Errorf("PlatformTypes=Linux: %v %+v", err, out)
	}
	_, err = c.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}})
	if ssmErrCode(err) != "InvalidFilterKey" {
		t.Errorf("unknown filter key: got %v", err)
	}
}

func TestSSMDescribeInstanceInformationPages(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	want := map[string]bool{}
	for range 7 {
		want[ssmLaunch(t, ts, "").ID] = true
	}
	ssmBootToOnline(ts)
	p := ssm.NewDescribeInstanceInformationPaginator(c, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)})
	pages, got := 0, map[string]bool{}
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ii := range out.InstanceInformationList {
			if got[aws.ToString(ii.InstanceId)] {
				t.Errorf("%s listed twice", aws.ToString(ii.InstanceId))
			}
			got[aws.ToString(ii.InstanceId)] = true
			if ii.PlatformType != ssmtypes.PlatformTypeLinux {
				t.Errorf("platform %s", ii.PlatformType)
			}
		}
	}
	if pages != 2 || len(got) != len(want) {
		t.Fatalf("got %d instances in %d pages, want 7 in 2", len(got), pages)
	}
	if _, err := c.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{NextToken: aws.String("bogus")}); ssmErrCode(err) != "InvalidNextToken" {
		t.Errorf("bad token: %v", err)
	}
}

func TestSSMShellCommandLifecycle(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)

	sent := ts.Now()
	cmdID := ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {"cloud-init clean", "rm -f /etc/ssh/ssh_host_*"}}, nil)
	_, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(in.ID)})
	if ssmErrCode(err) != "InvocationDoesNotExist" {
		t.Fatalf("right after SendCommand: got %v, want InvocationDoesNotExist", err)
	}
	ts.Advance(ts.opts.ConsistencyDelay)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusPending || got.ResponseCode != -1 || aws.ToString(got.ExecutionStartDateTime) != "" {
		t.Fatalf("after the consistency window: %s %d %q, want Pending -1 \"\"", got.Status, got.ResponseCode, aws.ToString(got.ExecutionStartDateTime))
	}
	ts.Advance(commandDelivery - ts.opts.ConsistencyDelay)
	got := ssmGetInvocation(t, c, cmdID, in.ID)
	if got.Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("after delivery: %s, want InProgress", got.Status)
	}
	start, err := time.Parse(time.RFC3339, aws.ToString(got.ExecutionStartDateTime))
	if err != nil || !start.Equal(sent.Add(commandDelivery)) {
		t.Errorf("ExecutionStartDateTime %q (%v), want %v", aws.ToString(got.ExecutionStartDateTime), err, sent.Add(commandDelivery))
	}
	ts.Advance(ts.dur.Script)
	got = ssmGetInvocation(t, c, cmdID, in.ID)
	if got.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(got.StatusDetails) != "Success" || got.ResponseCode != 0 {
		t.Fatalf("after the script: %s %s %d", got.Status, aws.ToString(got.StatusDetails), got.ResponseCode)
	}
	if out := aws.ToString(got.StandardOutputContent); out != "cloud-init clean\nrm -f /etc/ssh/ssh_host_*\n" {
		t.Errorf("stdout %q", out)
	}
	end, err := time.Parse(time.RFC3339, aws.ToString(got.ExecutionEndDateTime))
	if err != nil || end.Sub(start) != ts.dur.Script {
		t.Errorf("ExecutionEndDateTime %q (%v)", aws.ToString(got.ExecutionEndDateTime), err)
	}
	if aws.ToString(got.PluginName) != "aws:runShellScript" || aws.ToString(got.DocumentName) != "AWS-RunShellScript" {
		t.Errorf("plugin %q document %q", aws.ToString(got.PluginName), aws.ToString(got.DocumentName))
	}

	li, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(cmdID), Details: true})
	if err != nil || len(li.CommandInvocations) != 1 {
		t.Fatalf("ListCommandInvocations: %v %+v", err, li)
	}
	ci := li.CommandInvocations[0]
	if ci.Status != ssmtypes.CommandInvocationStatusSuccess || len(ci.CommandPlugins) != 1 ||
		!strings.Contains(aws.ToString(ci.CommandPlugins[0].Output), "cloud-init clean") || ci.CommandPlugins[0].ResponseFinishDateTime == nil {
		t.Errorf("invocation %+v", ci)
	}
	lc, err := c.ListCommands(ctx, &ssm.ListCommandsInput{InstanceId: aws.String(in.ID)})
	if err != nil || len(lc.Commands) != 1 || lc.Commands[0].Status != ssmtypes.CommandStatusSuccess || lc.Commands[0].CompletedCount != 1 {
		t.Errorf("ListCommands: %v %+v", err, lc)
	}

	// The document's platform is checked when the agent runs it.
	cmdID = ssmSend(t, c, "AWSEC2-RunSysprep", in.ID, nil, nil)
	ts.Advance(commandDelivery)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusFailed || aws.ToString(got.StatusDetails) != "InvalidPlatform" {
		t.Errorf("Sysprep on Linux: %s %s", got.Status, aws.ToString(got.StatusDetails))
	}
	if st, _ := ssmInstanceState(ts, in); st != "running" {
		t.Errorf("Linux instance %s after a refused Sysprep", st)
	}
}

func TestSSMSendCommandValidation(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	for _, tc := range []struct {
		name string
		in   ssm.SendCommandInput
		code string
	}{
		{"unknown document", ssm.SendCommandInput{DocumentName: aws.String("AWS-Nope"), InstanceIds: []string{in.ID}}, "InvalidDocument"},
		{"missing commands", ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{in.ID}}, "InvalidParameters"},
		{"unknown instance", ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-0123456789abcdef0"}, Parameters: map[string][]string{"commands": {"true"}}}, "InvalidInstanceId"},
		{"timeout too small", ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{in.ID}, Parameters: map[string][]string{"commands": {"true"}}, TimeoutSeconds: aws.Int32(5)}, "ValidationException"},
	} {
		if _, err := c.SendCommand(ctx, &tc.in); ssmErrCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String("8b3c3f52-0000-4000-8000-000000000000"), InstanceId: aws.String(in.ID)}); ssmErrCode(err) != "InvocationDoesNotExist" {
		t.Errorf("unknown command: %v", err)
	}
}

func TestSSMSysprepShutsTheInstanceDown(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "windows")
	ssmBootToOnline(ts)
	cmdID := ssmSend(t, c, "AWSEC2-RunSysprep", in.ID, nil, aws.Int32(600))
	ts.Advance(commandDelivery + ts.dur.Sysprep - time.Second)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("during Sysprep: %s", got.Status)
	}
	ts.Advance(time.Second)
	got := ssmGetInvocation(t, c, cmdID, in.ID)
	if got.Status != ssmtypes.CommandInvocationStatusSuccess || got.ResponseCode != 0 {
		t.Fatalf("after Sysprep: %s %d %q", got.Status, got.ResponseCode, aws.ToString(got.StandardErrorContent))
	}
	if st, reason := ssmInstanceState(ts, in); st != "stopping" || reason != "Client.InstanceInitiatedShutdown" {
		t.Fatalf("instance %s (%s), want stopping (Client.InstanceInitiatedShutdown)", st, reason)
	}
	ts.Advance(ts.dur.InstanceStopping)
	if st, _ := ssmInstanceState(ts, in); st != "stopped" {
		t.Fatalf("instance %s, want stopped", st)
	}
	out, err := c.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{})
	if err != nil || len(out.InstanceInformationList) != 1 || out.InstanceInformationList[0].PingStatus != ssmtypes.PingStatusConnectionLost {
		t.Fatalf("after shutdown: %v %+v", err, out)
	}
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Errorf("the shutdown changed the invocation to %s", got.Status)
	}
	if _, err := c.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWSEC2-RunSysprep"), InstanceIds: []string{in.ID}}); ssmErrCode(err) != "InvalidInstanceId" {
		t.Errorf("SendCommand to a stopped instance: %v", err)
	}
}

func TestSSMFailedCommands(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	win := ssmLaunch(t, ts, "windows")
	ssmBootToOnline(ts)

	// An exit code makes the invocation fail with that response code.
	cmdID := ssmSend(t, c, "AWS-RunPowerShellScript", win.ID, map[string][]string{"commands": {"Write-Output hi", "exit 1"}}, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	got := ssmGetInvocation(t, c, cmdID, win.ID)
	if got.Status != ssmtypes.CommandInvocationStatusFailed || got.ResponseCode != 1 || !strings.Contains(aws.ToString(got.StandardErrorContent), "exit status 1") {
		t.Errorf("exit 1: %s %d %q", got.Status, got.ResponseCode, aws.ToString(got.StandardErrorContent))
	}

	// An outcome fault fails the next command, Sysprep included: the
	// instance then keeps running.
	ts.AddFault(Fault{Service: "ssm", Action: "SendCommand", Outcome: "failed"})
	cmdID = ssmSend(t, c, "AWSEC2-RunSysprep", win.ID, nil, nil)
	ts.Advance(commandDelivery + ts.dur.Sysprep)
	got = ssmGetInvocation(t, c, cmdID, win.ID)
	if got.Status != ssmtypes.CommandInvocationStatusFailed || got.ResponseCode != 1 || aws.ToString(got.StandardErrorContent) == "" {
		t.Errorf("faulted Sysprep: %s %d %q", got.Status, got.ResponseCode, aws.ToString(got.StandardErrorContent))
	}
	if st, _ := ssmInstanceState(ts, win); st != "running" {
		t.Errorf("instance %s after a failed Sysprep, want running", st)
	}
	// The fault is used up.
	cmdID = ssmSend(t, c, "AWS-RunPowerShellScript", win.ID, map[string][]string{"commands": {"Write-Output ok"}}, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	if got := ssmGetInvocation(t, c, cmdID, win.ID); got.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Errorf("after the fault: %s", got.Status)
	}

	// Stopping the instance under a running command fails it.
	cmdID = ssmSend(t, c, "AWS-RunPowerShellScript", win.ID, map[string][]string{"commands": {"Start-Sleep -Seconds 120"}}, nil)
	ts.Advance(commandDelivery + time.Second)
	ts.mu.Lock()
	ts.stopInstance(win, "User initiated")
	ts.mu.Unlock()
	if got := ssmGetInvocation(t, c, cmdID, win.ID); got.Status != ssmtypes.CommandInvocationStatusFailed {
		t.Errorf("command under a stopped instance: %s", got.Status)
	}
}

func TestSSMTimeouts(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)

	// Execution timeout: the script runs longer than executionTimeout.
	cmdID := ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {"sleep 600"}, "executionTimeout": {"60"}}, aws.Int32(30))
	ts.Advance(commandDelivery + 59*time.Second)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("before the execution timeout: %s", got.Status)
	}
	ts.Advance(time.Second)
	got := ssmGetInvocation(t, c, cmdID, in.ID)
	if got.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(got.StatusDetails) != "ExecutionTimedOut" {
		t.Fatalf("after the execution timeout: %s %s", got.Status, aws.ToString(got.StatusDetails))
	}

	// Delivery timeout: the agent goes away before it picks the command up;
	// the command expires TimeoutSeconds + executionTimeout after it was sent.
	cmdID = ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {"true"}, "executionTimeout": {"30"}}, aws.Int32(30))
	ts.mu.Lock()
	ts.stopInstance(in, "User initiated")
	ts.mu.Unlock()
	ts.Advance(59 * time.Second)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusPending {
		t.Fatalf("undelivered command: %s, want Pending", got.Status)
	}
	ts.Advance(time.Second)
	got = ssmGetInvocation(t, c, cmdID, in.ID)
	if got.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(got.StatusDetails) != "DeliveryTimedOut" {
		t.Fatalf("expired command: %s %s", got.Status, aws.ToString(got.StatusDetails))
	}
	lc, err := c.ListCommands(context.Background(), &ssm.ListCommandsInput{CommandId: aws.String(cmdID)})
	if err != nil || lc.Commands[0].Status != ssmtypes.CommandStatusTimedOut || lc.Commands[0].DeliveryTimedOutCount != 1 {
		t.Errorf("ListCommands: %v %+v", err, lc)
	}
}

func TestSSMPendingCommandWaitsForTheAgent(t *testing.T) {
	ts := newTestSim(t, Options{ConsistencyDelay: -1})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	cmdID := ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {"echo hi"}}, nil)
	// With eventual consistency off the invocation is visible at once.
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusPending {
		t.Fatalf("got %s", got.Status)
	}
	ts.mu.Lock()
	ts.stopInstance(in, "User initiated")
	ts.mu.Unlock()
	ts.Advance(ts.dur.InstanceStopping)
	ts.mu.Lock()
	ts.startInstance(in)
	ts.mu.Unlock()
	ts.Advance(ts.dur.InstancePending + ts.dur.AgentOnline)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("after the agent came back: %s, want InProgress", got.Status)
	}
	ts.Advance(ts.dur.Script)
	if got := ssmGetInvocation(t, c, cmdID, in.ID); got.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("got %s, want Success", got.Status)
	}
}

func TestSSMOutputTruncated(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	long := "echo " + strings.Repeat("x", 30000)
	cmdID := ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {long}}, nil)
	ts.Advance(commandDelivery + ts.dur.Script)
	got := ssmGetInvocation(t, c, cmdID, in.ID)
	if n := len(aws.ToString(got.StandardOutputContent)); n != maxOutputContent {
		t.Errorf("StandardOutputContent has %d characters, want %d", n, maxOutputContent)
	}
	li, err := c.ListCommandInvocations(context.Background(), &ssm.ListCommandInvocationsInput{InstanceId: aws.String(in.ID), Details: true})
	if err != nil || len(li.CommandInvocations) != 1 || len(aws.ToString(li.CommandInvocations[0].CommandPlugins[0].Output)) != maxPluginOutput {
		t.Errorf("ListCommandInvocations: %v", err)
	}
}

func TestSSMAuthorizeSeesInstanceAndDocument(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "windows")
	ssmBootToOnline(ts)
	a := &ssmAuthorizer{deny: "AWSEC2-RunSysprep"}
	ts.SetAuthorizer(a)
	_, err := c.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWSEC2-RunSysprep"), InstanceIds: []string{in.ID}})
	if ssmErrCode(err) != "AccessDeniedException" {
		t.Fatalf("got %v, want AccessDeniedException", err)
	}
	var sawInstance, sawDoc bool
	ts.mu.Lock() // the authorizer runs under the simulator's lock
	defer ts.mu.Unlock()
	for _, r := range a.seen {
		if r.ARN == "arn:aws:ec2:us-east-1:123456789012:instance/"+in.ID && r.Tags["Name"] == "builder" {
			sawInstance = true
		}
		if r.ARN == "arn:aws:ssm:us-east-1::document/AWSEC2-RunSysprep" {
			sawDoc = true
		}
	}
	if !sawInstance || !sawDoc {
		t.Errorf("authorizer saw %+v", a.seen)
	}
}

// ssmAuthorizer records the resources it is asked about and denies
// any call that touches an ARN ending in deny.
type ssmAuthorizer struct {
	deny string
	seen []Resource
}

func (a *ssmAuthorizer) Authorize(akid, service, action string, res []Resource) error {
	a.seen = append(a.seen, res...)
	for _, r := range res {
		if a.deny != "" && strings.HasSuffix(r.ARN, a.deny) {
			return errors.New("denied by test policy")
		}
	}
	return nil
}

func TestSSMStateView(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := ssm.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ssmBootToOnline(ts)
	cmdID := ssmSend(t, c, "AWS-RunShellScript", in.ID, map[string][]string{"commands": {"true"}}, nil)
	raw, err := json.Marshal(ts.State()["ssm"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), cmdID) || !strings.Contains(string(raw), `"pingStatus":"Online"`) {
		t.Errorf("state view %s", raw)
	}
}

// BenchmarkSSMPollInvocation measures the poll a workflow makes while it
// waits for a command: one GetCommandInvocation over HTTP.
func BenchmarkSSMPollInvocation(b *testing.B) {
	ts := newTestSim(b, Options{ConsistencyDelay: -1})
	c := ssm.NewFromConfig(ts.Cfg)
	ts.mu.Lock()
	var img string
	for _, im := range ts.ec2.imageOrder {
		if im.Platform == "windows" {
			img = im.ID
		}
	}
	in, err := ts.launchInstance(instanceSpec{ImageID: img})
	ts.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	ts.Advance(ts.dur.InstancePending + ts.dur.AgentOnline)
	out, err := c.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWSEC2-RunSysprep"), InstanceIds: []string{in.ID}})
	if err != nil {
		b.Fatal(err)
	}
	in2 := &ssm.GetCommandInvocationInput{CommandId: out.Command.CommandId, InstanceId: aws.String(in.ID)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.GetCommandInvocation(context.Background(), in2); err != nil {
			b.Fatal(err)
		}
	}
}
