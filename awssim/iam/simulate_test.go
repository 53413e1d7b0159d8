package iam_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
)

// TestSimulatePrincipalPolicy asks the engine through the IAM API
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
// one EvaluationResult per action and resource, EvalDecision allowed,
// implicitDeny or explicitDeny, with the context entries given.
func TestSimulatePrincipalPolicy(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t)
	inst := "arn:aws:ec2:us-east-1:" + acct + ":instance/i-0abc"
	m, err := iam.Enable(sb.Sim, policyTemplate(t,
		stmt("Allow", "ec2:TerminateInstances", "arn:aws:ec2:*:*:instance/*", map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/amiswap:role": "builder"}}),
		stmt("Allow", "ec2:CreateTags", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}),
		stmt("Allow", "ec2:DescribeInstances", "arn:aws:ec2:*:*:instance/*", nil),
		stmt("Allow", "ec2:StopInstances", "*", nil),
		stmt("Deny", "ec2:StopInstances", inst, nil),
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	role := m.RoleArn("Test")
	if role != "arn:aws:iam::"+acct+":role/amiswap-TestRole" {
		t.Fatalf("role %s", role)
	}
	c := iamsdk.NewFromConfig(sb.AWS)
	simulate := func(action, resource string, entries map[string]string) string {
		t.Helper()
		in := &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: []string{action}, ResourceArns: []string{resource}}
		for k, v := range entries {
			in.ContextEntries = append(in.ContextEntries, iamtypes.ContextEntry{ContextKeyName: aws.String(k), ContextKeyValues: []string{v}, ContextKeyType: iamtypes.ContextKeyTypeEnumString})
		}
		out, err := c.SimulatePrincipalPolicy(ctx, in)
		if err != nil {
			t.Fatalf("simulate %s: %v", action, err)
		}
		if len(out.EvaluationResults) != 1 {
			t.Fatalf("simulate %s: %d results", action, len(out.EvaluationResults))
		}
		r := out.EvaluationResults[0]
		if aws.ToString(r.EvalActionName) != action || aws.ToString(r.EvalResourceName) != resource {
			t.Errorf("result names %s on %s", aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName))
		}
		if r.EvalDecision == iamtypes.PolicyEvaluationDecisionTypeAllowed && (len(r.MatchedStatements) != 1 || aws.ToString(r.MatchedStatements[0].SourcePolicyId) != "p") {
			t.Errorf("%s allowed by %+v, want the policy p", action, r.MatchedStatements)
		}
		return string(r.EvalDecision)
	}
	for _, c := range []struct {
		action, resource string
		ctx              map[string]string
		want             string
	}{
		{"ec2:TerminateInstances", inst, map[string]string{"aws:ResourceTag/amiswap:role": "builder"}, "allowed"},
		{"ec2:TerminateInstances", inst, map[string]string{"aws:ResourceTag/amiswap:role": "golden-ami"}, "implicitDeny"},
		{"ec2:TerminateInstances", inst, nil, "implicitDeny"},
		{"ec2:CreateTags", inst, map[string]string{"ec2:CreateAction": "RunInstances"}, "allowed"},
		{"ec2:CreateTags", inst, nil, "implicitDeny"},
		// DescribeInstances has no resource-level permissions: only
		// "Resource": "*" grants it.
		{"ec2:DescribeInstances", "*", nil, "implicitDeny"},
		{"ec2:StopInstances", "arn:aws:ec2:us-east-1:" + acct + ":instance/i-other", nil, "allowed"},
		{"ec2:StopInstances", inst, nil, "explicitDeny"},
	} {
		if got := simulate(c.action, c.resource, c.ctx); got != c.want {
			t.Errorf("%s on %s with %v: %s, want %s", c.action, c.resource, c.ctx, got, c.want)
		}
	}

	// Several actions and resources: one result each, "*" by default.
	out, err := c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(role), ActionNames: []string{"ec2:StopInstances", "ec2:RebootInstances"}})
	if err != nil || len(out.EvaluationResults) != 2 || aws.ToString(out.EvaluationResults[0].EvalResourceName) != "*" ||
		out.EvaluationResults[0].EvalDecision != "allowed" || out.EvaluationResults[1].EvalDecision != "implicitDeny" {
		t.Errorf("two actions on *: %+v %v", out, err)
	}
	// A role of the simulated IAM without policies denies implicitly; an
	// unknown one does not exist.
	other := sb.Sim.PutRole("other")
	out, err = c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(other), ActionNames: []string{"ec2:StopInstances"}})
	if err != nil || len(out.EvaluationResults) != 1 || out.EvaluationResults[0].EvalDecision != "implicitDeny" {
		t.Errorf("a role without policies: %+v %v", out, err)
	}
	_, err = c.SimulatePrincipalPolicy(ctx, &iamsdk.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + acct + ":role/nope"), ActionNames: []string{"ec2:StopInstances"}})
	var missing *iamtypes.NoSuchEntityException
	if !errors.As(err, &missing) {
		t.Errorf("an unknown role: %v, want NoSuchEntity", err)
	}
	// The template's roles are roles of the simulated IAM.
	if _, err := c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("amiswap-TestRole")}); err != nil {
		t.Errorf("the template's role: %v", err)
	}
}

// TestReferenceShapesTheRequest: what the Service Authorization Reference
// says of an action decides which resources can grant it and which
// condition keys the request carries.
func TestReferenceShapesTheRequest(t *testing.T) {
	inst := "arn:aws:ec2:us-east-1:" + acct + ":instance/i-0abc"
	m, err := iam.FromTemplate(policyTemplate(t,
		// DescribeInstances supports no resource-level permissions.
		stmt("Allow", "ec2:DescribeInstances", "arn:aws:ec2:*:*:instance/*", nil),
		stmt("Allow", "ec2:DescribeImages", "*", nil),
		// iam:PassRole supplies no tag keys of the role (its reference
		// entry lists none), so a tag condition never matches.
		stmt("Allow", "iam:PassRole", "*", map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/team": "web"}}),
		// ec2:CreateAction is a key of CreateTags only.
		stmt("Allow", "ec2:TerminateInstances", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}),
		stmt("Allow", "ec2:StopInstances", "*", map[string]any{"StringEquals": map[string]any{"ec2:ResourceTag/team": "web"}}),
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := iam.KeyFor("Test")
	if err := m.Authorize(key, "ec2", "DescribeInstances", nil); err == nil {
		t.Error("DescribeInstances granted by an instance ARN")
	}
	if err := m.Authorize(key, "ec2", "DescribeInstances", []awssim.Resource{{ARN: inst}}); err == nil {
		t.Error("DescribeInstances granted on an instance by an instance ARN")
	}
	if err := m.Authorize(key, "ec2", "DescribeImages", []awssim.Resource{{ARN: "arn:aws:ec2:us-east-1::image/ami-1"}}); err != nil {
		t.Errorf("DescribeImages by *: %v", err)
	}
	if err := m.Authorize(key, "iam", "PassRole", []awssim.Resource{{ARN: "arn:aws:iam::" + acct + ":role/web", Tags: map[string]string{"team": "web"}}}); err == nil {
		t.Error("iam:PassRole granted by a resource tag condition")
	}
	ctxKey := map[string][]string{"ec2:CreateAction": {"RunInstances"}}
	if err := m.Authorize(key, "ec2", "TerminateInstances", []awssim.Resource{{ARN: inst, Context: ctxKey}}); err == nil {
		t.Error("TerminateInstances granted by ec2:CreateAction, a key AWS does not supply for it")
	}
	if err := m.Authorize(key, "ec2", "StopInstances", []awssim.Resource{{ARN: inst, Tags: map[string]string{"team": "web"}}}); err != nil {
		t.Errorf("StopInstances by ec2:ResourceTag, a key of the instance: %v", err)
	}
}
