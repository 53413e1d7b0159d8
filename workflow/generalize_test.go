package workflow

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestGeneralizeSendsSysprepOnWindows(t *testing.T) {
	s := &fakeBuilderSSM{}
	res, err := (&Generalize{SSM: s}).Send(context.Background(), btPayload(btNow, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.CommandID != "cmd-new" || res.Document != SysprepDocument || !res.SentAt.Equal(btNow) {
		t.Errorf("result = %+v", res)
	}
	if len(s.send) != 1 {
		t.Fatalf("SendCommand calls = %d", len(s.send))
	}
	in := s.send[0]
	if aws.ToString(in.DocumentName) != "AWSEC2-RunSysprep" || len(in.Parameters) != 0 {
		t.Errorf("document %s with parameters %v, want AWSEC2-RunSysprep with none", aws.ToString(in.DocumentName), in.Parameters)
	}
	if len(in.InstanceIds) != 1 || in.InstanceIds[0] != btInstance || in.Targets != nil {
		t.Errorf("instances = %v", in.InstanceIds)
	}
	if aws.ToInt32(in.TimeoutSeconds) < 30 {
		t.Errorf("TimeoutSeconds = %d", aws.ToInt32(in.TimeoutSeconds))
	}
	if c := aws.ToString(in.Comment); c != "amiswap run-1" {
		t.Errorf("Comment = %q, want the execution named", c)
	}
}

func TestGeneralizeRunsTheCleanupScriptOnLinux(t *testing.T) {
	for name, edit := range map[string]func(*State){
		"linux AMI":      func(s *State) { s.Target.Source.Platform = "" },
		"amiswap:os tag": func(s *State) { s.Target.Settings.OS = "linux" }, // the tag wins over the AMI
	} {
		t.Run(name, func(t *testing.T) {
			s := &fakeBuilderSSM{}
			res, err := (&Generalize{SSM: s}).Send(context.Background(), btPayload(btNow, edit))
			if err != nil {
				t.Fatal(err)
			}
			in := s.send[0]
			if res.Document != "AWS-RunShellScript" || aws.ToString(in.DocumentName) != "AWS-RunShellScript" {
				t.Fatalf("document = %s", aws.ToString(in.DocumentName))
			}
			script := strings.Join(in.Parameters["commands"], "\n")
			for _, want := range []string{"cloud-init clean --logs", "rm -f /etc/ssh/ssh_host_*", "truncate -s 0 /etc/machine-id", "/var/log", ".bash_history"} {
				if !strings.Contains(script, want) {
					t.Errorf("script lacks %q", want)
				}
			}
			for _, never := range []string{"shutdown", "poweroff", "halt", "init 0", "reboot"} {
				if strings.Contains(script, never) {
					t.Errorf("script contains %q: stop-builder stops the builder, not the script", never)
				}
			}
			if got := in.Parameters["executionTimeout"]; len(got) != 1 || got[0] == "" {
				t.Errorf("executionTimeout = %v", got)
			}
		})
	}
}

func TestGeneralizeSendsOncePerExecution(t *testing.T) {
	sent := time.Date(2026, 11, 26, 11, 58, 0, 0, time.UTC)
	listed := func(id, comment string) func(*ssm.ListCommandsInput) (*ssm.ListCommandsOutput, error) {
		return func(in *ssm.ListCommandsInput) (*ssm.ListCommandsOutput, error) {
			if in.CommandId != nil && aws.ToString(in.CommandId) != id {
				return nil, apiErr("InvalidCommandId")
			}
			return &ssm.ListCommandsOutput{Commands: []ssmtypes.Command{{
				CommandId: aws.String(id), DocumentName: aws.String(SysprepDocument), InstanceIds: []string{btInstance},
				Comment: aws.String(comment), RequestedDateTime: aws.Time(sent),
			}}}, nil
		}
	}
	cases := []struct {
		name    string
		state   *GeneralizeResult
		list    func(*ssm.ListCommandsInput) (*ssm.ListCommandsOutput, error)
		sends   bool
		command string
	}{
		{name: "recorded in the state", state: &GeneralizeResult{CommandID: "cmd-old", Document: SysprepDocument}, list: listed("cmd-old", "whatever"), command: "cmd-old"},
		{name: "lost answer of an earlier attempt", list: listed("cmd-lost", "amiswap run-1"), command: "cmd-lost"},
		{name: "another execution's command", list: listed("cmd-other", "amiswap run-0"), sends: true, command: "cmd-new"},
		{name: "nothing sent yet", sends: true, command: "cmd-new"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &fakeBuilderSSM{listFn: c.list}
			res, err := (&Generalize{SSM: s}).Send(context.Background(), btPayload(btNow, func(st *State) { st.Generalize = c.state }))
			if err != nil {
				t.Fatal(err)
			}
			if (len(s.send) == 1) != c.sends || res.CommandID != c.command {
				t.Errorf("sent %d, command %s; want sent=%v command %s", len(s.send), res.CommandID, c.sends, c.command)
			}
			if !c.sends && !res.SentAt.Equal(sent) {
				t.Errorf("SentAt = %v, want the command's request time", res.SentAt)
			}
		})
	}
}

func TestGeneralizeErrors(t *testing.T) {
	cases := map[string]struct {
		code string
		want string
	}{
		"agent offline": {"InvalidInstanceId", "TransientError"},
		"throttled":     {"ThrottlingException", "ThrottledError"},
		"no document":   {"InvalidDocument", "AWSError"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := &fakeBuilderSSM{sendFn: func(*ssm.SendCommandInput) (*ssm.SendCommandOutput, error) { return nil, apiErr(c.code) }}
			_, err := (&Generalize{SSM: s}).Send(context.Background(), btPayload(btNow, nil))
			if amiswap.ErrorName(err) != c.want {
				t.Errorf("error = %v, want %s", err, c.want)
			}
		})
	}
	s := &fakeBuilderSSM{}
	_, err := (&Generalize{SSM: s}).Send(context.Background(), btPayload(btNow, func(st *State) { st.Builder = nil }))
	wantTyped[*amiswap.InvalidInputError](t, err)
	if len(s.calls) != 0 {
		t.Errorf("called SSM: %v", s.calls)
	}
}

func TestCommandCommentFitsSSM(t *testing.T) {
	long := "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:" + strings.Repeat("x", 80)
	c := commandComment(long)
	if len(c) > 100 || !strings.HasPrefix(c, "amiswap xxx") {
		t.Errorf("comment %q (%d)", c, len(c))
	}
	if c == commandComment(long+"y") {
		t.Error("two long execution names share a comment")
	}
	if c := commandComment("arn:aws:states:us-east-1:1:execution:sm:" + strings.Repeat("é", 60)); len(c) > 100 || !utf8.ValidString(c) {
		t.Errorf("comment %q (%d bytes) is not valid UTF-8 within 100", c, len(c))
	}
}

func TestCheckGeneralized(t *testing.T) {
	noJitter(t)
	inv := func(status ssmtypes.CommandInvocationStatus, stderr string) func(*ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error) {
		return func(*ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error) {
			return &ssm.GetCommandInvocationOutput{Status: status, StandardErrorContent: aws.String(stderr), StandardOutputContent: aws.String("stdout")}, nil
		}
	}
	running := btInstanceOut("running", "")
	stopped := btInstanceOut("stopped", "Client.InstanceInitiatedShutdown: Instance initiated shutdown")
	cases := []struct {
		name     string
		doc      string
		after    time.Duration // since the command was sent
		invoke   func(*ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error)
		instance func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
		ready    bool
		wait     int
		waiting  string
		err      string
		cause    string
	}{
		{name: "invocation not visible", after: 2 * time.Second, wait: 5, waiting: "command invocation not visible yet"},
		{name: "success", after: 4 * time.Minute, invoke: inv("Success", ""), ready: true},
		{name: "pending", after: 10 * time.Second, invoke: inv("Pending", ""), instance: running, wait: 15, waiting: "Sysprep pending (not delivered yet)"},
		{name: "sysprep early", after: 30 * time.Second, invoke: inv("InProgress", ""), instance: running, wait: 120, waiting: "Sysprep running"},
		{name: "sysprep late", after: 7 * time.Minute, invoke: inv("InProgress", ""), instance: running, wait: 30, waiting: "Sysprep running"},
		{name: "delayed", after: time.Minute, invoke: inv("Delayed", ""), instance: running, wait: 30, waiting: "Sysprep delayed (agent unreachable, SSM retries)"},
		{name: "sysprep shut down while in progress", after: 6 * time.Minute, invoke: inv("InProgress", ""), instance: stopped, ready: true},
		{name: "sysprep shutting down while in progress", after: 6 * time.Minute, invoke: inv("InProgress", ""), instance: btInstanceOut("stopping", ""), ready: true},
		{name: "sysprep shut down, agent timed out", after: 40 * time.Minute, invoke: inv("TimedOut", ""), instance: stopped, ready: true},
		{name: "sysprep failed then stopped", after: 6 * time.Minute, invoke: inv("Failed", "Sysprep failed: fatal error"), instance: stopped, err: "GeneralizeFailedError", cause: "Sysprep failed: fatal error"},
		{name: "sysprep failed", after: 6 * time.Minute, invoke: inv("Failed", "boom"), instance: running, err: "GeneralizeFailedError", cause: "ended Failed: boom | stdout"},
		{name: "cancelled", after: 6 * time.Minute, invoke: inv("Cancelled", ""), instance: running, err: "GeneralizeFailedError", cause: "Cancelled"},
		{name: "linux script interrupted by a stop", doc: ShellDocument, after: time.Minute, invoke: inv("InProgress", ""), instance: stopped, err: "BuilderFailedError", cause: "before the cleanup script finished"},
		{name: "linux in progress", doc: ShellDocument, after: 20 * time.Second, invoke: inv("InProgress", ""), instance: running, wait: 20, waiting: "cleanup script running"},
		{name: "builder terminated", after: 3 * time.Minute, invoke: inv("InProgress", ""), instance: btInstanceOut("terminated", "Client.UserInitiatedShutdown"), err: "BuilderFailedError", cause: "terminated"},
		{name: "deadline", after: 90 * time.Minute, invoke: inv("InProgress", ""), instance: running, err: "StepTimeoutError", cause: "Sysprep running"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := c.doc
			if doc == "" {
				doc = SysprepDocument
			}
			s := &fakeBuilderSSM{invokeFn: c.invoke}
			e := &fakeBuilderEC2{describeFn: c.instance}
			p := btPayload(btNow.Add(c.after), func(st *State) {
				st.Generalize = &GeneralizeResult{CommandID: "cmd-1", Document: doc, SentAt: btNow}
			})
			res, err := (&CheckGeneralized{SSM: s, EC2: e}).Check(context.Background(), p)
			if len(s.invoke) != 1 || aws.ToString(s.invoke[0].CommandId) != "cmd-1" || aws.ToString(s.invoke[0].InstanceId) != btInstance {
				t.Errorf("GetCommandInvocation inputs = %+v", s.invoke)
			}
			wantPoll(t, res, err, c.err, c.cause, c.ready, c.wait, c.waiting)
		})
	}
}

func TestGeneralizeFailureOutputIsAnExcerpt(t *testing.T) {
	long := strings.Repeat("é", 5000) + "the actual error"
	s := &fakeBuilderSSM{invokeFn: func(*ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error) {
		return &ssm.GetCommandInvocationOutput{Status: "Failed", StandardErrorContent: aws.String(long)}, nil
	}}
	p := btPayload(btNow.Add(time.Minute), func(st *State) {
		st.Generalize = &GeneralizeResult{CommandID: "cmd-1", Document: ShellDocument, SentAt: btNow}
	})
	_, err := (&CheckGeneralized{SSM: s, EC2: &fakeBuilderEC2{describeFn: btInstanceOut("running", "")}}).Check(context.Background(), p)
	g := wantTyped[*amiswap.GeneralizeFailedError](t, err)
	if len(g.Output) > outputExcerpt+len("…") || !strings.HasSuffix(g.Output, "the actual error") || !strings.HasPrefix(g.Output, "…") {
		t.Errorf("output excerpt of %d bytes: %q…", len(g.Output), g.Output[:20])
	}
	if g.InstanceID != btInstance || g.CommandID != "cmd-1" || g.Status != "Failed" {
		t.Errorf("error = %+v", g)
	}
}
