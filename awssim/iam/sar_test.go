package iam_test

import (
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim/iam"
)

// TestCheckStatement: what the Service Authorization Reference finds wrong
// with a statement, and what it finds right.
func TestCheckStatement(t *testing.T) {
	for _, c := range []struct {
		name string
		st   iam.Statement
		want string // a problem's text, "" for none
	}{
		{"image ARNs have no account", iam.Statement{Actions: []string{"ec2:RunInstances"}, Resources: []string{"arn:aws:ec2:us-east-1:" + acct + ":image/*"}}, "matches none of its resource types"},
		{"image ARN", iam.Statement{Actions: []string{"ec2:RunInstances"}, Resources: []string{"arn:aws:ec2:us-east-1::image/*"}}, ""},
		{"any region and account", iam.Statement{Actions: []string{"ec2:TerminateInstances"}, Resources: []string{"arn:aws:ec2:*:*:instance/*"}}, ""},
		{"a log group's streams", iam.Statement{Actions: []string{"logs:PutLogEvents"}, Resources: []string{"arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/lambda/x:*"}}, ""},
		{"a log group is no stream", iam.Statement{Actions: []string{"logs:PutLogEvents"}, Resources: []string{"arn:aws:logs:us-east-1:" + acct + ":log-group:/aws/lambda/x"}}, "matches none"},
		{"no resource-level permissions", iam.Statement{Actions: []string{"ec2:DescribeInstances"}, Resources: []string{"arn:aws:ec2:*:*:instance/*"}}, "only \"*\" grants it"},
		{"unknown action", iam.Statement{Actions: []string{"ec2:LaunchRocket"}, Resources: []string{"*"}}, "does not exist"},
		{"a wildcard naming nothing", iam.Statement{Actions: []string{"ec2:Launch*"}, Resources: []string{"*"}}, "does not exist"},
		{"a key of another action", iam.Statement{Actions: []string{"ec2:TerminateInstances"}, Resources: []string{"*"},
			Conditions: []iam.Condition{{Operator: "StringEquals", Key: "ec2:CreateAction", Values: []string{"RunInstances"}}}}, "condition key ec2:CreateAction"},
		{"a key of the action", iam.Statement{Actions: []string{"ec2:CreateTags"}, Resources: []string{"arn:aws:ec2:*:*:instance/*"},
			Conditions: []iam.Condition{{Operator: "StringEquals", Key: "ec2:CreateAction", Values: []string{"RunInstances"}}}}, ""},
		{"a key of the resource", iam.Statement{Actions: []string{"autoscaling:UpdateAutoScalingGroup"}, Resources: []string{"arn:aws:autoscaling:us-east-1:" + acct + ":autoScalingGroup:*:autoScalingGroupName/*"},
			Conditions: []iam.Condition{{Operator: "StringEquals", Key: "aws:ResourceTag/amiswap:enabled", Values: []string{"true"}}}}, ""},
		{"PassRole has no tag keys", iam.Statement{Actions: []string{"iam:PassRole"}, Resources: []string{"*"},
			Conditions: []iam.Condition{{Operator: "StringEquals", Key: "aws:ResourceTag/team", Values: []string{"web"}}}}, "condition key aws:ResourceTag/team"},
		{"a global key", iam.Statement{Actions: []string{"iam:PassRole"}, Resources: []string{"*"},
			Conditions: []iam.Condition{{Operator: "StringEquals", Key: "aws:PrincipalAccount", Values: []string{acct}}}}, ""},
	} {
		problems := strings.Join(iam.CheckStatement(c.st), "; ")
		if (c.want == "") != (problems == "") || !strings.Contains(problems, c.want) {
			t.Errorf("%s: problems %q, want %q", c.name, problems, c.want)
		}
	}
}

func TestMissingDependents(t *testing.T) {
	got := iam.MissingDependents([]string{"ec2:RunInstances", "ec2:CreateTags"})
	if deps := strings.Join(got["ec2:RunInstances"], ","); !strings.Contains(deps, "iam:PassRole") || strings.Contains(deps, "ec2:CreateTags") {
		t.Errorf("dependents of RunInstances missing: %s", deps)
	}
	if got := iam.MissingDependents([]string{"ec2:RunInstances", "iam:Pass*", "ec2:CreateTags", "ssm:GetParameters"}); len(got) != 0 {
		t.Errorf("nothing missing, got %v", got)
	}
}
