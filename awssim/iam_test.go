package awssim

import (
	"encoding/json"
	"strings"
	"testing"

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
			"Table": map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": map[string]any{"TableName": map[string]any{"Fn::Sub": "${AWS::StackName}-locks"}}},
			"Topic": map[string]any{"Type": "AWS::SNS::Topic", "Properties": map[string]any{}},
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
	)
	m, err := IAMFromTemplate(tmpl, map[string]string{"Roles": "arn:aws:iam::" + acct + ":role/builder"})
	if err != nil {
		t.Fatal(err)
	}
	key := KeyFor("Test")
	if key != "AKIATEST" {
		t.Fatalf("KeyFor(Test) = %s", key)
	}
	cases := []struct {
		name, service, action string
		res                   []Resource
		allow                 bool
	}{
		{"wildcard action", "ec2", "DescribeInstances", nil, true},
		{"explicit deny beats the wildcard allow", "ec2", "DescribeImages", nil, false},
		{"action not allowed at all", "ec2", "DeleteSnapshot", nil, false},
		{"action-level check of a scoped action", "ec2", "TerminateInstances", nil, true},
		{"resource tag matches", "ec2", "TerminateInstances", []Resource{{ARN: inst, Tags: builder}}, true},
		{"resource tag differs", "ec2", "TerminateInstances", []Resource{{ARN: inst, Tags: map[string]string{"amiswap:role": "golden-ami"}}}, false},
		{"resource untagged", "ec2", "TerminateInstances", []Resource{{ARN: inst}}, false},
		{"other account's instance", "ec2", "TerminateInstances", []Resource{{ARN: "arn:aws:ec2:us-east-1:999999999999:instance/i-1", Tags: builder}}, false},
		{"one of two resources refused", "ec2", "TerminateInstances", []Resource{{ARN: inst, Tags: builder}, {ARN: inst + "2"}}, false},
		{"request tag like and tag keys all allowed", "ec2", "RunInstances", []Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"amiswap:role": "builder", "Name": "b"}}}, true},
		{"request tag with a key not allowed", "ec2", "RunInstances", []Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"amiswap:role": "builder", "Owner": "x"}}}, false},
		{"request without the tag", "ec2", "RunInstances", []Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"Name": "b"}}}, false},
		{"table by GetAtt Arn", "dynamodb", "GetItem", []Resource{{ARN: "arn:aws:dynamodb:us-east-1:" + acct + ":table/amiswap-locks"}}, true},
		{"other table", "dynamodb", "PutItem", []Resource{{ARN: "arn:aws:dynamodb:us-east-1:" + acct + ":table/other"}}, false},
		{"topic by Ref", "sns", "Publish", []Resource{{ARN: "arn:aws:sns:us-east-1:" + acct + ":amiswap-Topic"}}, true},
		{"other topic", "sns", "Publish", []Resource{{ARN: "arn:aws:sns:us-east-1:" + acct + ":other"}}, false},
		{"service tag alias and Ref of a parameter", "autoscaling", "UpdateAutoScalingGroup", []Resource{{ARN: "arn:aws:autoscaling:us-east-1:" + acct + ":autoScalingGroup:x:autoScalingGroupName/web", Tags: map[string]string{"env": "prod"}}}, true},
		{"service tag alias, other value", "autoscaling", "UpdateAutoScalingGroup", []Resource{{ARN: "arn:aws:autoscaling:us-east-1:" + acct + ":autoScalingGroup:x:autoScalingGroupName/web", Tags: map[string]string{"env": "dev"}}}, false},
		{"pass the listed role", "ec2", "RunInstances", []Resource{{ARN: "arn:aws:iam::" + acct + ":instance-profile/builder"}}, true},
		{"pass another role", "ec2", "RunInstances", []Resource{{ARN: "arn:aws:iam::" + acct + ":instance-profile/admin"}}, false},
		{"ForAnyValue without the key", "ec2", "StopInstances", []Resource{{ARN: inst, Tags: builder}}, false},
		{"IfExists with the key absent", "ec2", "RebootInstances", []Resource{{ARN: inst}}, true},
		{"IfExists with another value", "ec2", "RebootInstances", []Resource{{ARN: inst, Tags: map[string]string{"team": "b"}}}, false},
		{"GetCallerIdentity needs no permission", "sts", "GetCallerIdentity", nil, true},
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
	if err := m.Authorize("AKIAAMISWAPLOCAL", "ec2", "TerminateInstances", []Resource{{ARN: inst}}); err != nil {
		t.Errorf("unknown keys must be allowed everything: %v", err)
	}
	if err := m.Authorize(key, "ec2", "DescribeImages", nil); err == nil || !strings.Contains(err.Error(), "explicit deny") {
		t.Errorf("deny message %v", err)
	}
}

func TestIAMImpliedChecks(t *testing.T) {
	created := []Resource{{ARN: "arn:aws:ec2:us-east-1:" + acct + ":instance/*", Tags: map[string]string{"amiswap:role": "builder"}}}
	withTags := policyTemplate(t,
		stmt("Allow", "ec2:RunInstances", "*", nil),
		stmt("Allow", "ec2:CreateTags", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}),
	)
	m, err := IAMFromTemplate(withTags, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Authorize("AKIATEST", "ec2", "RunInstances", created); err != nil {
		t.Errorf("RunInstances with tags and CreateTags allowed: %v", err)
	}
	if err := m.WithoutAction("Test", "ec2:CreateTags").Authorize("AKIATEST", "ec2", "RunInstances", created); err == nil || !strings.Contains(err.Error(), "ec2:CreateTags") {
		t.Errorf("RunInstances with tags but no CreateTags: %v", err)
	}
	if err := m.WithoutAction("Test", "ec2:CreateTags").Authorize("AKIATEST", "ec2", "RunInstances", []Resource{{ARN: created[0].ARN}}); err != nil {
		t.Errorf("RunInstances without tags needs no CreateTags: %v", err)
	}

	asg := policyTemplate(t, stmt("Allow", "autoscaling:UpdateAutoScalingGroup", "*", nil))
	m, err = IAMFromTemplate(asg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Authorize("AKIATEST", "autoscaling", "UpdateAutoScalingGroup", nil); err == nil || !strings.Contains(err.Error(), "ec2:RunInstances") {
		t.Errorf("UpdateAutoScalingGroup without ec2:RunInstances: %v", err)
	}
}

func TestIAMWithoutAction(t *testing.T) {
	m, err := IAMFromTemplate(policyTemplate(t, stmt("Allow", []any{"ec2:DescribeInstances", "ec2:DescribeImages"}, "*", nil)), nil)
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
		if _, err := IAMFromTemplate(policyTemplate(t, s), nil); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := IAMFromTemplate(policyTemplate(t), map[string]string{"Nope": "x"}); err == nil {
		t.Error("unknown parameter accepted")
	}
}

// TestIAMFromDeployTemplate reads the real template: one key per
// function, each with the actions of its policy in package deploy.
func TestIAMFromDeployTemplate(t *testing.T) {
	m, err := IAMFromTemplate(deploy.Template(), map[string]string{"BuilderRoleArns": "arn:aws:iam::" + acct + ":role/amiswap-builder"})
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
	arn, _, ok := m.CallerIdentity(KeyFor("Resolve"))
	if !ok || arn != "arn:aws:sts::"+acct+":assumed-role/amiswap-ResolveRole/Resolve" {
		t.Errorf("caller identity %s %v", arn, ok)
	}
}
