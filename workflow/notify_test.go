package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
)

const btTopic = "arn:aws:sns:us-east-1:123456789012:amiswap"

func btSucceeded(s *State) {
	btSwappedState(s)
	s.Refresh = &RefreshResult{RefreshID: "rf-1"}
	s.Cleanup = &CleanupResult{BuilderTerminated: true, RecoveryPoint: &RecoveryPointOutcome{Status: RecoveryPointDeleted, Reason: "AWS Backup deleted it"}, DeregisteredImages: []string{"ami-00000000000000021"}, DeletedSnapshots: []string{"snap-1", "snap-2"}}
}

func btFailed(s *State) {
	s.Builder = &BuilderResult{InstanceID: btInstance}
	s.Error = &ErrorInfo{Error: "GeneralizeFailedError", Cause: "generalization command cmd-1 on " + btInstance + " ended Failed: Sysprep failed"}
	s.Compensation = &CompensationResult{Actions: []string{"terminated builder " + btInstance, "restored MaxSize 4"}, Problems: []string{"could not delete image ami-1: AccessDenied"}}
}

// jsonBlock returns the report that a message carries after "Details (JSON):".
func jsonBlock(t *testing.T, msg string) SwapReport {
	t.Helper()
	_, js, ok := strings.Cut(msg, "Details (JSON):\n")
	if !ok {
		t.Fatalf("no JSON block in %q", msg)
	}
	var r SwapReport
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("JSON block: %v", err)
	}
	return r
}

func TestNotifySuccess(t *testing.T) {
	f := &fakeBuilderSNS{}
	res, err := (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), btPayload(btNow, btSucceeded))
	if err != nil {
		t.Fatal(err)
	}
	want := "amiswap: web swapped to " + btNewAMI
	if res.MessageID != "msg-1" || res.Subject != want {
		t.Errorf("result = %+v", res)
	}
	in := f.published[0]
	if aws.ToString(in.TopicArn) != btTopic || aws.ToString(in.Subject) != want {
		t.Errorf("publish = %s %q", aws.ToString(in.TopicArn), aws.ToString(in.Subject))
	}
	msg := aws.ToString(in.Message)
	for _, part := range []string{
		"swapped the Auto Scaling group web",
		btOldAMI + " -> " + btNewAMI,
		"lt-0123456789abcdef0 version 5 (now the default version)",
		"job-1",
		btRP + " (deleted)",
		"instance refresh rf-1",
		"builder " + btInstance + " terminated; 1 old golden AMI(s) deregistered [ami-00000000000000021], 2 snapshot(s) deleted",
		btExec,
	} {
		if !strings.Contains(msg, part) {
			t.Errorf("message lacks %q:\n%s", part, msg)
		}
	}
	r := jsonBlock(t, msg)
	if r.Outcome != "swapped" || r.Group != "web" || r.OldImage != btOldAMI || r.NewImage != btNewAMI || r.LaunchTemplateID != "lt-0123456789abcdef0" ||
		r.NewVersion != "5" || r.BackupJob != "job-1" || r.RecoveryPointDisposal != "deleted" || r.Cleanup == nil || len(r.Cleanup.DeletedSnapshots) != 2 || r.Error != nil {
		t.Errorf("JSON facts = %+v", r)
	}
}

func TestNotifyRecoveryPointDisposal(t *testing.T) {
	cases := map[string]struct {
		edit func(*State)
		want string
	}{
		"kept by setting": {func(s *State) {
			s.Target.Settings.DeleteRecoveryPoint = false
			s.Cleanup.RecoveryPoint = &RecoveryPointOutcome{Status: RecoveryPointKept, Reason: "amiswap:delete-recovery-point=false"}
		}, "kept (amiswap:delete-recovery-point=false)"},
		"refused": {func(s *State) {
			s.Cleanup.RecoveryPoint = &RecoveryPointOutcome{Status: RecoveryPointKept, Reason: "vault lock"}
		}, "NOT deleted, kept: vault lock"},
		"expired": {func(s *State) {
			s.Cleanup.RecoveryPoint = &RecoveryPointOutcome{Status: RecoveryPointExpired, Reason: "insufficient privileges"}
		}, "NOT deleted, EXPIRED: insufficient privileges"},
		"deleting": {func(s *State) {
			s.Cleanup.RecoveryPoint = &RecoveryPointOutcome{Status: RecoveryPointDeleting, Reason: "AWS Backup is deleting it"}
		}, "deleting: AWS Backup is deleting it"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := NewSwapReport(btPayload(btNow, func(s *State) { btSucceeded(s); c.edit(s) }))
			if r.RecoveryPointDisposal != c.want {
				t.Errorf("disposal = %q, want %q", r.RecoveryPointDisposal, c.want)
			}
			if msg := NotificationMessage(r); !strings.Contains(msg, c.want) {
				t.Errorf("message lacks %q", c.want)
			}
		})
	}
}

func TestNotifyFailure(t *testing.T) {
	f := &fakeBuilderSNS{}
	res, err := (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), btPayload(btNow, btFailed))
	if err != nil {
		t.Fatal(err)
	}
	if want := "amiswap: swap of web FAILED (GeneralizeFailedError)"; res.Subject != want {
		t.Errorf("subject = %q, want %q", res.Subject, want)
	}
	msg := aws.ToString(f.published[0].Message)
	for _, part := range []string{"could not swap the Auto Scaling group web", "Error:           GeneralizeFailedError", "Sysprep failed",
		"  - terminated builder " + btInstance, "  - restored MaxSize 4", "  ! could not delete image ami-1: AccessDenied"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message lacks %q:\n%s", part, msg)
		}
	}
	r := jsonBlock(t, msg)
	if r.Outcome != "failed" || r.Error == nil || r.Error.Error != "GeneralizeFailedError" || r.Compensation == nil || len(r.Compensation.Problems) != 1 {
		t.Errorf("JSON facts = %+v", r)
	}

	// Resolve failed: no target, the request names the instance.
	p := btPayload(btNow, func(s *State) {
		btFailed(s)
		s.Target = nil
		s.InstanceID = "i-0fedcba9876543210"
	})
	if got := NotificationSubject(NewSwapReport(p)); got != "amiswap: swap of (group of instance i-0fedcba9876543210) FAILED (GeneralizeFailedError)" {
		t.Errorf("subject without target = %q", got)
	}
}

func TestNotifySubjectLimits(t *testing.T) {
	long := strings.Repeat("wéb\n", 80)
	for name, edit := range map[string]func(*State){
		"success": func(s *State) { btSucceeded(s); s.Target.Group = long },
		"failure": func(s *State) { btFailed(s); s.Target.Group = long },
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeBuilderSNS{}
			res, err := (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), btPayload(btNow, edit))
			if err != nil {
				t.Fatal(err)
			}
			s := res.Subject
			if len(s) > 100 {
				t.Errorf("subject of %d characters", len(s))
			}
			for _, r := range s {
				if r < 0x20 || r > 0x7e {
					t.Fatalf("subject %q has %q", s, r)
				}
			}
			end := " swapped to " + btNewAMI
			if name == "failure" {
				end = " FAILED (GeneralizeFailedError)"
			}
			if !strings.HasSuffix(s, end) || !strings.HasPrefix(s, "amiswap: ") || !strings.Contains(s, "...") {
				t.Errorf("subject %q: want the group cut, the outcome whole", s)
			}
		})
	}
}

func TestNotifyMessageLimit(t *testing.T) {
	huge := strings.Repeat("x", 400*1024)
	p := btPayload(btNow, func(s *State) {
		btFailed(s)
		s.Error.Cause = huge
		s.CompensationError = &ErrorInfo{Error: "CompensationError", Cause: huge}
	})
	f := &fakeBuilderSNS{}
	if _, err := (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	msg := aws.ToString(f.published[0].Message)
	if len(msg) > 256*1024 {
		t.Fatalf("message of %d bytes", len(msg))
	}
	r := jsonBlock(t, msg) // still whole JSON
	if !strings.HasSuffix(r.Error.Cause, "[truncated]") || r.Error.Error != "GeneralizeFailedError" {
		t.Errorf("cause not marked as truncated: …%q", r.Error.Cause[len(r.Error.Cause)-20:])
	}
}

func TestNotifyWithoutTopicSendsNothing(t *testing.T) {
	f := &fakeBuilderSNS{}
	res, err := (&Notify{SNS: f}).Send(context.Background(), btPayload(btNow, btSucceeded))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.published) != 0 || res.MessageID != "" || !strings.Contains(res.Subject, "not sent") || len(res.Subject) > 100 {
		t.Errorf("published %d, result %+v", len(f.published), res)
	}
}

func TestNotifyUnknownTopic(t *testing.T) {
	f := &fakeBuilderSNS{err: apiErr("NotFound")}
	_, err := (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), btPayload(btNow, btSucceeded))
	wantTyped[*amiswap.AWSError](t, err)
	f = &fakeBuilderSNS{err: apiErr("Throttling")}
	_, err = (&Notify{SNS: f, TopicArn: btTopic}).Send(context.Background(), btPayload(btNow, btSucceeded))
	wantTyped[*amiswap.ThrottledError](t, err)
}

func ExampleNotificationMessage() {
	r := NewSwapReport(btPayload(btNow, btSucceeded))
	text, _, _ := strings.Cut(NotificationMessage(r), "Details (JSON):")
	fmt.Println(NotificationSubject(r))
	fmt.Print(text)
	// Output:
	// amiswap: web swapped to ami-0ccccccccccccccc3
	// amiswap swapped the Auto Scaling group web to a new golden AMI.
	//
	// AMI:             ami-0bbbbbbbbbbbbbbb2 -> ami-0ccccccccccccccc3
	// Launch template: lt-0123456789abcdef0 version 5 (now the default version)
	// Group uses:      version $Default
	// Rollout:         instance refresh rf-1 (successful)
	// Backup job:      job-1
	// Recovery point:  arn:aws:ec2:us-east-1::image/ami-0aaaaaaaaaaaaaaa1 (deleted)
	// Cleanup:         builder i-0123456789abcdef0 terminated; 1 old golden AMI(s) deregistered [ami-00000000000000021], 2 snapshot(s) deleted
	// Execution:       arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:run-1
	//
}
