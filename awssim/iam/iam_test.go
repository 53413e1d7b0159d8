package iam_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/workflow"
)

// policyTemplate is a small template with one function whose role uses
// every feature the evaluation supports.
func policyTemplate(t *testing.T, statements ...map[string]any) []byte {
	t.Helper()
	tmpl := map[string]any{
		"Parameters": map[string]any{
			"Env":   map[string]any{"Type": "String", "Default": "prod"},
			"Roles": map[string]any{"Type": "CommaDelimitedList", "Default": ""},
		},
		"Conditions": map[string]any{
			"HasRoles": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Fn::Join": []any{"", map[string]any{"Ref": "Roles"}}}, ""}}}},
		},
		"Resources": map[string]any{
			"Table":   map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": map[string]any{"TableName": map[string]any{"Fn::Sub": "${AWS::StackName}-locks"}}},
			"Topic":   map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{}},
			"Machine": map[string]any{"Type": "AWS::StepFunctions::StateMachine", "Properties": map[string]any{}},
			"TestRole": map[string]any{"Type": "AWS::IAM::Role", "Properties": map[string]any{
				"Policies": []any{map[string]any{"PolicyName": "p", "PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": statements}}},
			}},
			"TestFunction": map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{
				"Role":        map[string]any{"Fn::GetAtt": []any{"TestRole", "Arn"}},
				"Environment": map[string]any{"Variables": map[string]any{"AMISWAP_FUNCTION": "Test"}},
			}},
		},
	}
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stmt(effect string, actions, resources any, cond map[string]any) map[string]any {
	s := map[string]any{"Effect": effect, "Action": actions, "Resource": resources}
	if cond != nil {
		s["Condition"] = cond
	}
	return s
}

const acct = "123456789012"

func TestIAMPolicyEvaluation(t *testing.T) {
	inst := "arn:aws:ec2:us-east-1:" + acct + ":instance/i-0abc"
	builder := map[string]string{"amiswap:role": "builder"}
	toEC2 := map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}
	tmpl := policyTemplate(t,
		stmt("Allow", []any{"ec2:Describe*"}, "*", nil),
		stmt("Allow", "ec2:TerminateInstances", map[string]any{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/amiswap:role": "builder"}}),
		stmt("Allow", "ec2:RunInstances", "arn:aws:ec2:*:*:instance/*",
			map[string]any{"StringLike": map[string]any{"aws:RequestTag/amiswap:role": "build*"}, "ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{"amiswap:role", "Name"}}}),
		stmt("Allow", "ec2:CreateTags", "arn:aws:ec2:*:*:instance/*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}),
		stmt("Deny", "ec2:DescribeImages", "*", nil),
		stmt("Allow", []any{"dynamodb:GetItem", "dynamodb:PutItem"}, map[string]any{"Fn::GetAtt": []any{"Table", "Arn"}}, nil),
		stmt("Allow", "sns:Publish", map[string]any{"Ref": "Topic"}, nil),
		stmt("Allow", "autoscaling:UpdateAutoScalingGroup", "*", map[string]any{"StringEquals": map[string]any{"autoscaling:ResourceTag/env": map[string]any{"Ref": "Env"}}}),
		stmt("Allow", "iam:PassRole", map[string]any{"Fn::If": []any{"HasRoles", map[string]any{"Ref": "Roles"}, []any{"arn:aws:iam::" + acct + ":role/none"}}},
			map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}}),
		stmt("Allow", "ec2:StopInstances", "*", map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": "amiswap:role"}}),
		stmt("Allow", "ec2:RebootInstances", "*", map[string]any{"StringEqualsIfExists": map[string]any{"aws:ResourceTag/team": "a"}}),
		stmt("Allow", "states:DescribeExecution", map[string]any{"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Machine.Name}:*"}, nil),
	)
	m, err := iam.FromTemplate(tmpl, map[string]string{"Roles": "arn:aws:iam::" + acct + ":role/builder"})
	if err != nil {
		t.Fatal(err)
	}
	key := iam.KeyFor("Test")
	if key != "AKIATEST" {
		t.Fatalf("iam.KeyFor(Test) = %s", key)
	}
	cases := []struct {
		name, service, action string
		res                   []awssim.Resource
		allow                 bool
	}{
		{"wildcard action", "ec2", "DescribeInstances", nil, true},
		{"explicit deny beats the wildcard allow", "ec2", "DescribeImages", nil, false},
		{"action not allowed at all", "ec2", "DeleteSnapshot", nil, false},
		{"action-level check of a scoped action", "ec2", "TerminateInstances", nil, true},
		{"resource tag matches", "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst, Tags: builder}}, true},
		{"resource tag differs", "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst, Tags: map[string]string{"amiswap:role": "golden-ami"}}}, false},
		{"resource untagged", "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst}}, false},
		{"other account's instance", "ec2", "TerminateInstances", []awssim.Resource{{ARN: "arn:aws:ec2:us-east-1:999999999999:instance/i-1", Tags: builder}}, false},
		{"one of two resources refused", "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst, Tags: builder}, {ARN: inst + "2"}}, false},
		{"request tag like and tag keys all allowed", "ec2", "RunInstances", []awssim.Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"amiswap:role": "builder", "Name": "b"}}}, true},
		{"request tag with a key not allowed", "ec2", "RunInstances", []awssim.Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"amiswap:role": "builder", "Owner": "x"}}}, false},
		{"request without the tag", "ec2", "RunInstances", []awssim.Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"Name": "b"}}}, false},
		{"table by GetAtt Arn", "dynamodb", "GetItem", []awssim.Resource{{ARN: "arn:aws:dynamodb:us-east-1:" + acct + ":table/amiswap-locks"}}, true},
		{"other table", "dynamodb", "PutItem", []awssim.Resource{{ARN: "arn:aws:dynamodb:us-east-1:" + acct + ":table/other"}}, false},
		{"topic by Ref", "sns", "Publish", []awssim.Resource{{ARN: "arn:aws:sns:us-east-1:" + acct + ":amiswap-Topic"}}, true},
		{"other topic", "sns", "Publish", []awssim.Resource{{ARN: "arn:aws:sns:us-east-1:" + acct + ":other"}}, false},
		{"service tag alias and Ref of a parameter", "autoscaling", "UpdateAutoScalingGroup", []awssim.Resource{{ARN: "arn:aws:autoscaling:us-east-1:" + acct + ":autoScalingGroup:x:autoScalingGroupName/web", Tags: map[string]string{"env": "prod"}}}, true},
		{"service tag alias, other value", "autoscaling", "UpdateAutoScalingGroup", []awssim.Resource{{ARN: "arn:aws:autoscaling:us-east-1:" + acct + ":autoScalingGroup:x:autoScalingGroupName/web", Tags: map[string]string{"env": "dev"}}}, false},
		{"pass the listed role", "iam", "PassRole", []awssim.Resource{{ARN: "arn:aws:iam::" + acct + ":role/builder", Context: toEC2}}, true},
		{"pass the listed role to another service", "iam", "PassRole", []awssim.Resource{{ARN: "arn:aws:iam::" + acct + ":role/builder", Context: map[string][]string{"iam:PassedToService": {"lambda.amazonaws.com"}}}}, false},
		{"pass another role", "iam", "PassRole", []awssim.Resource{{ARN: "arn:aws:iam::" + acct + ":role/admin", Context: toEC2}}, false},
		{"ForAnyValue without the key", "ec2", "StopInstances", []awssim.Resource{{ARN: inst, Tags: builder}}, false},
		{"IfExists with the key absent", "ec2", "RebootInstances", []awssim.Resource{{ARN: inst}}, true},
		{"IfExists with another value", "ec2", "RebootInstances", []awssim.Resource{{ARN: inst, Tags: map[string]string{"team": "b"}}}, false},
		{"GetCallerIdentity needs no permission", "sts", "GetCallerIdentity", nil, true},
		{"a state machine's execution by GetAtt Name", "states", "DescribeExecution", []awssim.Resource{{ARN: "arn:aws:states:us-east-1:" + acct + ":execution:amiswap-Machine:x"}}, true},
		{"another state machine's execution", "states", "DescribeExecution", []awssim.Resource{{ARN: "arn:aws:states:us-east-1:" + acct + ":execution:other:x"}}, false},
	}
	for _, c := range cases {
		err := m.Authorize(key, c.service, c.action, c.res)
		if (err == nil) != c.allow {
			t.Errorf("%s: %s:%s allowed=%v (%v), want %v", c.name, c.service, c.action, err == nil, err, c.allow)
		}
		if err != nil && !strings.Contains(err.Error(), "is not authorized to perform: "+c.service+":"+c.action) && !strings.Contains(err.Error(), "iam:PassRole") {
			t.Errorf("%s: message %q", c.name, err)
		}
	}
	if err := m.Authorize("AKIAAMISWAPLOCAL", "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst}}); err != nil {
		t.Errorf("unknown keys must be allowed everything: %v", err)
	}
	if err := m.Authorize(key, "ec2", "DescribeImages", nil); err == nil || !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("deny message %v", err)
	}
}

func TestIAMWithoutAction(t *testing.T) {
	m, err := iam.FromTemplate(policyTemplate(t, stmt("Allow", []any{"ec2:DescribeInstances", "ec2:DescribeImages"}, "*", nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	less := m.WithoutAction("Test", "ec2:DescribeImages")
	if err := less.Authorize("AKIATEST", "ec2", "DescribeImages", nil); err == nil {
		t.Error("removed action still allowed")
	}
	if err := less.Authorize("AKIATEST", "ec2", "DescribeInstances", nil); err != nil {
		t.Errorf("other action lost: %v", err)
	}
	if err := m.Authorize("AKIATEST", "ec2", "DescribeImages", nil); err != nil {
		t.Errorf("WithoutAction changed the original: %v", err)
	}
	if got := strings.Join(less.Actions("Test"), ","); got != "ec2:DescribeInstances" {
		t.Errorf("Actions = %s", got)
	}
}

func TestIAMFromTemplateRefusesWhatItCannotEvaluate(t *testing.T) {
	for name, s := range map[string]map[string]any{
		"NotAction":        {"Effect": "Allow", "NotAction": "ec2:*", "Resource": "*"},
		"unknown operator": stmt("Allow", "ec2:RunInstances", "*", map[string]any{"NumericLessThan": map[string]any{"ec2:VolumeSize": "10"}}),
		"unknown function": stmt("Allow", "ec2:RunInstances", map[string]any{"Fn::FindInMap": []any{"a", "b", "c"}}, nil),
	} {
		if _, err := iam.FromTemplate(policyTemplate(t, s), nil); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := iam.FromTemplate(policyTemplate(t), map[string]string{"Nope": "x"}); err == nil {
		t.Error("unknown parameter accepted")
	}
}

// TestIAMFromDeployTemplate reads the real template: one key per
// function, each with the actions of its policy in package deploy.
func TestIAMFromDeployTemplate(t *testing.T) {
	m, err := iam.FromTemplate(deploy.Template(), map[string]string{"BuilderRoleArns": "arn:aws:iam::" + acct + ":role/amiswap-builder"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range workflow.Functions {
		want := map[string]bool{"logs:CreateLogStream": true, "logs:PutLogEvents": true}
		for _, s := range deploy.Policies[f.Name] {
			for _, a := range s.Action {
				want[a] = true
			}
		}
		got := m.Actions(f.Name)
		if len(got) != len(want) {
			t.Errorf("%s: actions %v, want %v", f.Name, got, want)
		}
		for _, a := range got {
			if !want[a] {
				t.Errorf("%s: unexpected action %s", f.Name, a)
			}
		}
	}
	arn, _, ok := m.CallerIdentity(iam.KeyFor("Resolve"))
	if !ok || arn != "arn:aws:sts::"+acct+":assumed-role/amiswap-ResolveRole/Resolve" {
		t.Errorf("caller identity %s %v", arn, ok)
	}
}

// iamSwap is a sandbox with an opted-in Windows group "web" and an
// untagged group "legacy", a completed backup of a web instance, and IAM
// on: each function's handlers call AWS with that function's key, so with
// only its role's policy from the deployed template.
type iamSwap struct {
	sb          *sandbox.Sandbox
	instances   []string
	req         amiswap.Request
	perFunction map[string]aws.Config
	iam         *iam.Engine
}

func newIAMSwap(t *testing.T) *iamSwap {
	t.Helper()
	ctx := context.Background()
	sb := newSandbox(t)
	var err error
	w := &iamSwap{sb: sb, perFunction: map[string]aws.Config{}}
	w.instances, err = sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "windows", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling", amiswap.TagFreezeMaxSize: "true", amiswap.TagSSMParameter: "/golden/web",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "legacy", Platform: "linux", Desired: 1, Tags: map[string]string{"team": "other"}}); err != nil {
		t.Fatal(err)
	}
	_, event, err := sb.BackupEvent(ctx, w.instances[0])
	if err != nil {
		t.Fatal(err)
	}
	if w.req, err = deploy.Transform(event); err != nil {
		t.Fatal(err)
	}
	// Builders get an instance profile, whose role the Builder function
	// may pass (the simulator takes a profile's role to share its name).
	sb.Config.BuilderInstanceProfile = "amiswap-builder"
	if w.iam, err = iam.Enable(sb.Sim, deploy.Template(), map[string]string{"BuilderRoleArns": "arn:aws:iam::" + acct + ":role/amiswap-builder"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range workflow.Functions {
		cfg, err := sandbox.Config(ctx, sb.URL, sb.Sim.Region(), iam.KeyFor(f.Name))
		if err != nil {
			t.Fatal(err)
		}
		w.perFunction[f.Name] = cfg
	}
	return w
}

// run runs the swap and returns its result and the actions each key
// called; it fails the test on any access denial.
func (w *iamSwap) run(t *testing.T) (*asl.Execution, asl.Result, map[string]map[string]bool) {
	t.Helper()
	x, res, err := runner.Run(context.Background(), runner.Options{AWS: w.sb.AWS, FunctionAWS: w.perFunction, Config: w.sb.Config, Clock: w.sb.Sim}, "", w.req)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]map[string]bool{}
	for _, c := range w.sb.Sim.Calls() {
		if c.Status == 403 {
			t.Errorf("call denied: %s %s:%s %s", c.AccessKeyID, c.Service, c.Action, c.ErrorCode)
		}
		if used[c.AccessKeyID] == nil {
			used[c.AccessKeyID] = map[string]bool{}
		}
		used[c.AccessKeyID][c.Service+":"+c.Action] = true
	}
	return x, res, used
}

// TestWorkflowUnderEachFunctionsRole runs a whole swap with every function
// under its own role, then checks that the roles cannot touch what
// amiswap does not own.
func TestWorkflowUnderEachFunctionsRole(t *testing.T) {
	ctx := context.Background()
	w := newIAMSwap(t)
	x, res, used := w.run(t)
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("swap %s: %s %s\npath %v", res.Status, res.Error, res.Cause, x.Path())
	}
	for _, f := range workflow.Functions {
		if len(used[iam.KeyFor(f.Name)]) == 0 && f.Name != "Compensate" {
			t.Errorf("function %s made no call under its own key", f.Name)
		}
	}

	// Out of bounds: a group that is not opted in, an instance that is
	// not a builder, a topic for a function that does not notify.
	pf := w.perFunction
	for _, fn := range []string{"UpdateAsg", "Compensate"} {
		_, err := autoscaling.NewFromConfig(pf[fn]).UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("legacy"), MaxSize: aws.Int32(9)})
		requireDenied(t, fn+" updating an untagged group", err, "AccessDenied")
	}
	_, err := autoscaling.NewFromConfig(pf["UpdateAsg"]).StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("legacy")})
	requireDenied(t, "UpdateAsg refreshing an untagged group", err, "AccessDenied")
	for _, fn := range []string{"Cleanup", "Compensate", "Resolve"} {
		_, err = ec2.NewFromConfig(pf[fn]).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{w.instances[1]}})
		requireDenied(t, fn+" terminating a group instance", err, "UnauthorizedOperation")
	}
	role := []ec2types.Tag{{Key: aws.String("amiswap:role"), Value: aws.String("builder")}}
	builderTags := []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: role}, {ResourceType: ec2types.ResourceTypeVolume, Tags: role}}
	image, err := w.sb.BaseImage(ctx, "windows")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ec2.NewFromConfig(pf["Builder"]).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: ec2types.InstanceTypeT3Medium, TagSpecifications: builderTags, IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("admin")}})
	requireDenied(t, "Builder passing another role", err, "UnauthorizedOperation")
	if err == nil || !strings.Contains(err.Error(), "iam:PassRole on resource: arn:aws:iam::"+acct+":role/admin") {
		t.Errorf("the launch with another role was not refused for iam:PassRole: %v", err)
	}
	_, err = ec2.NewFromConfig(pf["Builder"]).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: ec2types.InstanceTypeT3Medium})
	requireDenied(t, "Builder launching an untagged instance", err, "UnauthorizedOperation")
	if err == nil || !strings.Contains(err.Error(), "ec2:RunInstances on resource: arn:aws:ec2:us-east-1:"+acct+":instance/*") {
		t.Errorf("the untagged launch was not refused for the instance: %v", err)
	}
	_, err = ec2.NewFromConfig(pf["Builder"]).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{w.instances[1]}})
	requireDenied(t, "Builder stopping a group instance", err, "UnauthorizedOperation")
	// Real SNS answers AuthorizationError; the simulator says AccessDenied.
	_, err = sns.NewFromConfig(pf["Lock"]).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(w.sb.Config.TopicArn), Message: aws.String("x")})
	requireDenied(t, "Lock publishing", err, "AuthorizationError", "AccessDenied")
}

// TestCompensationUnderItsRole fails the instance refresh, so that the
// Compensate function undoes a complete swap under its own role.
func TestCompensationUnderItsRole(t *testing.T) {
	w := newIAMSwap(t)
	w.sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"})
	x, res, used := w.run(t)
	if res.Status != asl.StatusFailed || res.Error != "RefreshFailedError" {
		t.Fatalf("swap %s %s (%s), want FAILED RefreshFailedError\npath %v", res.Status, res.Error, res.Cause, x.Path())
	}
	comp := used[iam.KeyFor("Compensate")]
	for _, a := range []string{"ec2:ModifyLaunchTemplate", "ec2:DeleteLaunchTemplateVersions", "ec2:TerminateInstances", "autoscaling:UpdateAutoScalingGroup"} {
		if !comp[a] {
			t.Errorf("Compensate did not call %s (called %v)", a, comp)
		}
	}
}

// TestBuilderNeedsToPassItsRole takes iam:PassRole from the Builder
// function: the swap must fail at LaunchBuilder with an access error, and
// be compensated.
func TestBuilderNeedsToPassItsRole(t *testing.T) {
	w := newIAMSwap(t)
	w.sb.Sim.SetAuthorizer(w.iam.WithoutAction("Builder", "iam:PassRole"))
	x, res, err := runner.Run(context.Background(), runner.Options{AWS: w.sb.AWS, FunctionAWS: w.perFunction, Config: w.sb.Config, Clock: w.sb.Sim}, "", w.req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != asl.StatusFailed || res.Error != "AWSError" || !strings.Contains(res.Cause, "iam:PassRole") {
		t.Fatalf("swap %s %s (%s), want FAILED AWSError naming iam:PassRole\npath %v", res.Status, res.Error, res.Cause, x.Path())
	}
}

func requireDenied(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: got %v, want an access error", what, err)
		return
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return
		}
	}
	t.Errorf("%s: error code %s (%s), want %v", what, ae.ErrorCode(), ae.ErrorMessage(), codes)
}

// newSandbox starts a sandbox without throttling, closed with the test.
func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}
