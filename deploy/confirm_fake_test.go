package deploy

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

func resourceChange(action cfntypes.ChangeAction, id, typ string, repl cfntypes.Replacement) cfntypes.Change {
	return cfntypes.Change{Type: cfntypes.ChangeTypeResource, ResourceChange: &cfntypes.ResourceChange{
		Action: action, LogicalResourceId: aws.String(id), ResourceType: aws.String(typ), Replacement: repl}}
}

// updateWithChanges is a stack to update whose change set has four
// changes over two pages.
func updateWithChanges() *fakeCFN {
	return &fakeCFN{
		stack: &cfntypes.Stack{StackName: aws.String("amiswap"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusUpdateComplete,
			Outputs: []cfntypes.Output{{OutputKey: aws.String("StateMachineArn"), OutputValue: aws.String("arn:sm")}}},
		csStatus: cfntypes.ChangeSetStatusCreateComplete,
		changes: [][]cfntypes.Change{
			{resourceChange(cfntypes.ChangeActionAdd, "JanitorFunction", "AWS::Lambda::Function", ""),
				resourceChange(cfntypes.ChangeActionModify, "StateMachine", "AWS::StepFunctions::StateMachine", cfntypes.ReplacementFalse)},
			{resourceChange(cfntypes.ChangeActionModify, "LockTable", "AWS::DynamoDB::Table", cfntypes.ReplacementTrue),
				resourceChange(cfntypes.ChangeActionRemove, "OldRule", "AWS::Events::Rule", "")},
		},
		steps: []cfntypes.StackStatus{cfntypes.StackStatusUpdateInProgress, cfntypes.StackStatusUpdateComplete},
	}
}

// TestDeployShowsTheChangeSetAndAsks: every change of every page is shown
// (action, logical id, type, replacement) before the question; no
// executes nothing and deletes the change set; yes executes it.
func TestDeployShowsTheChangeSetAndAsks(t *testing.T) {
	for _, answer := range []bool{false, true} {
		cfn := updateWithChanges()
		var asked []string
		o := fakeOptions(t)
		var progress bytes.Buffer
		o.Confirm = func(ctx context.Context, q string) (bool, error) {
			asked = append(asked, q)
			// The changes are on the progress before the question.
			if !strings.Contains(progress.String(), "OldRule") {
				t.Errorf("asked before the changes were shown:\n%s", progress.String())
			}
			return answer, nil
		}
		_, err := Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "eu-west-1"}, o, &progress)
		p := progress.String()
		for _, row := range []string{
			`Action +LogicalResourceId +ResourceType +Replacement`,
			`Add +JanitorFunction +AWS::Lambda::Function +-`,
			`Modify +StateMachine +AWS::StepFunctions::StateMachine +False`,
			`Modify +LockTable +AWS::DynamoDB::Table +True`,
			`Remove +OldRule +AWS::Events::Rule +-`,
			`1 to add, 2 to modify \(1 replaced or possibly replaced\), 1 to remove`,
		} {
			if !regexp.MustCompile(row).MatchString(p) {
				t.Errorf("answer %v: progress lacks %q:\n%s", answer, row, p)
			}
		}
		if len(asked) != 1 || !strings.Contains(asked[0], "stack amiswap") {
			t.Errorf("asked %q", asked)
		}
		calls := strings.Join(cfn.calls, " ")
		if !answer {
			if !errors.Is(err, ErrDeclined) || strings.Contains(calls, "ExecuteChangeSet") || !strings.Contains(calls, "DeleteChangeSet") {
				t.Errorf("declined: err %v, calls %s", err, calls)
			}
			if !strings.Contains(p, "change set deleted") {
				t.Errorf("declined without saying the change set is deleted:\n%s", p)
			}
			continue
		}
		if err != nil || !strings.Contains(calls, "ExecuteChangeSet") || strings.Contains(calls, "DeleteChangeSet") {
			t.Errorf("confirmed: err %v, calls %s", err, calls)
		}
	}
}

// TestDeployConfirmErrorDeletesTheChangeSet: a failed question (the
// terminal went away) executes nothing.
func TestDeployConfirmErrorDeletesTheChangeSet(t *testing.T) {
	cfn := updateWithChanges()
	o := fakeOptions(t)
	o.Confirm = func(context.Context, string) (bool, error) { return false, errors.New("read the answer: EOF") }
	_, err := Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "eu-west-1"}, o, &bytes.Buffer{})
	calls := strings.Join(cfn.calls, " ")
	if err == nil || !strings.Contains(err.Error(), "EOF") || strings.Contains(calls, "ExecuteChangeSet") || !strings.Contains(calls, "DeleteChangeSet") {
		t.Errorf("err %v, calls %s", err, calls)
	}
}

// TestDeployMissingBucket: a missing artifact bucket is a
// BucketMissingError naming --create-bucket, before any upload or change
// set; with CreateBucket it is created (LocationConstraint outside
// us-east-1 only) with every public access blocked, and said so.
func TestDeployMissingBucket(t *testing.T) {
	s3c, cfn := &fakeS3{missing: true}, &fakeCFN{csStatus: cfntypes.ChangeSetStatusCreateComplete, steps: []cfntypes.StackStatus{cfntypes.StackStatusCreateComplete}}
	_, err := Deploy(context.Background(), Clients{S3: s3c, CloudFormation: cfn, Region: "eu-west-1"}, fakeOptions(t), &bytes.Buffer{})
	var missing *BucketMissingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "--create-bucket") || !strings.Contains(err.Error(), "eu-west-1") {
		t.Fatalf("error %v, want a BucketMissingError naming --create-bucket and the region", err)
	}
	if len(cfn.calls) > 0 || strings.Join(s3c.calls, " ") != "HeadBucket" {
		t.Errorf("calls after the missing bucket: s3 %v, cloudformation %v", s3c.calls, cfn.calls)
	}

	for _, region := range []string{"eu-west-1", "us-east-1"} {
		s3c, cfn = &fakeS3{missing: true}, &fakeCFN{csStatus: cfntypes.ChangeSetStatusCreateComplete, steps: []cfntypes.StackStatus{cfntypes.StackStatusCreateComplete}}
		o := fakeOptions(t)
		o.CreateBucket = true
		var progress bytes.Buffer
		if _, err := Deploy(context.Background(), Clients{S3: s3c, CloudFormation: cfn, Region: region}, o, &progress); err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if got := strings.Join(s3c.calls[:3], " "); got != "HeadBucket CreateBucket PutPublicAccessBlock" {
			t.Errorf("%s: calls %v", region, s3c.calls)
		}
		cfg := s3c.created.CreateBucketConfiguration
		if region == "us-east-1" && cfg != nil || region != "us-east-1" && (cfg == nil || string(cfg.LocationConstraint) != region) {
			t.Errorf("%s: CreateBucketConfiguration %+v", region, cfg)
		}
		b := s3c.blocked
		if b == nil || !aws.ToBool(b.BlockPublicAcls) || !aws.ToBool(b.IgnorePublicAcls) || !aws.ToBool(b.BlockPublicPolicy) || !aws.ToBool(b.RestrictPublicBuckets) {
			t.Errorf("%s: public access block %+v", region, b)
		}
		if !strings.Contains(progress.String(), "created the artifact bucket s3://bucket in "+region) {
			t.Errorf("%s: creation not said:\n%s", region, progress.String())
		}
	}
}

// TestDeleteRefusesWhileExecutionsRun: deleting a stack whose state
// machine has running executions is refused, naming them, unless Force;
// the state machine is found from the outputs, or from the stack's
// resource when the outputs lack it.
func TestDeleteRefusesWhileExecutionsRun(t *testing.T) {
	for _, fromOutputs := range []bool{true, false} {
		stack := func() *fakeCFN {
			cfn := &fakeCFN{stack: &cfntypes.Stack{StackName: aws.String("amiswap"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusCreateComplete},
				steps: []cfntypes.StackStatus{cfntypes.StackStatusDeleteInProgress, cfntypes.StackStatusDeleteComplete}}
			if fromOutputs {
				cfn.stack.Outputs = []cfntypes.Output{{OutputKey: aws.String("StateMachineArn"), OutputValue: aws.String("arn:sm")}}
			} else {
				cfn.stateMachine = "arn:sm"
			}
			return cfn
		}
		cfn, sf := stack(), &fakeSFN{arn: "arn:sm", running: []string{"swap-1", "swap-2"}}
		err := Delete(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, StepFunctions: sf}, fakeOptions(t), &bytes.Buffer{})
		var running *RunningExecutionsError
		if !errors.As(err, &running) || !strings.Contains(err.Error(), "swap-1, swap-2") || !strings.Contains(err.Error(), "--force") {
			t.Errorf("outputs %v: error %v, want a RunningExecutionsError naming the executions and --force", fromOutputs, err)
		}
		if strings.Contains(strings.Join(cfn.calls, " "), "DeleteStack") || len(sf.asked) == 0 || sf.asked[0] != "arn:sm RUNNING" {
			t.Errorf("outputs %v: calls %v, asked %v", fromOutputs, cfn.calls, sf.asked)
		}

		cfn = stack()
		o := fakeOptions(t)
		o.Force = true
		var progress bytes.Buffer
		if err := Delete(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, StepFunctions: sf}, o, &progress); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(cfn.calls, " "), "DeleteStack") || !strings.Contains(progress.String(), "warning: deleting the stack under 2 running") {
			t.Errorf("forced: calls %v\n%s", cfn.calls, progress.String())
		}
	}
}

// TestDeleteAsks: a declined deletion deletes nothing; none running and
// confirmed deletes.
func TestDeleteAsks(t *testing.T) {
	for _, answer := range []bool{false, true} {
		cfn := &fakeCFN{stack: &cfntypes.Stack{StackName: aws.String("amiswap"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusCreateComplete,
			Outputs: []cfntypes.Output{{OutputKey: aws.String("StateMachineArn"), OutputValue: aws.String("arn:sm")}}},
			steps: []cfntypes.StackStatus{cfntypes.StackStatusDeleteComplete}}
		o := fakeOptions(t)
		var asked string
		o.Confirm = func(_ context.Context, q string) (bool, error) { asked = q; return answer, nil }
		err := Delete(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, StepFunctions: &fakeSFN{arn: "arn:sm"}}, o, &bytes.Buffer{})
		deleted := strings.Contains(strings.Join(cfn.calls, " "), "DeleteStack")
		if asked != "Delete stack amiswap?" || deleted != answer || (answer && err != nil) || (!answer && !errors.Is(err, ErrDeclined)) {
			t.Errorf("answer %v: asked %q, deleted %v, err %v", answer, asked, deleted, err)
		}
	}
}
