package deploy_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
)

// keptDependents are the dependent actions (Service Authorization
// Reference, "Dependent actions" column) that a role lacks on purpose,
// keyed "Role action -> dependent", with why.
var keptDependents = map[string]string{
	// ssm:GetParameters resolves a launch template whose image is an SSM
	// parameter ("resolve:ssm:…"). The versions amiswap writes name AMI
	// ids, and the parameter a customer's template names cannot be known
	// when the stack is deployed (granting every parameter would let the
	// functions read secrets): such a group's template needs the grant
	// added by hand, which `amiswap doctor` asks IAM about.
	"BuilderRole ec2:RunInstances -> ssm:GetParameters":                      "launch templates naming SSM parameters",
	"VerifyRole ec2:RunInstances -> ssm:GetParameters":                       "the verifier is launched from the golden AMI's id, never an SSM parameter",
	"CompensateRole ec2:RunInstances -> ssm:GetParameters":                   "launch templates naming SSM parameters",
	"UpdateAsgRole ec2:RunInstances -> ssm:GetParameters":                    "launch templates naming SSM parameters",
	"UpdateAsgRole ec2:CreateLaunchTemplateVersion -> ssm:GetParameters":     "launch templates naming SSM parameters",
	"ResolveRole ec2:DescribeLaunchTemplateVersions -> ssm:GetParameters":    "ResolveAlias is never asked for",
	"CleanupRole ec2:DescribeLaunchTemplateVersions -> ssm:GetParameters":    "ResolveAlias is never asked for",
	"CompensateRole ec2:DescribeLaunchTemplateVersions -> ssm:GetParameters": "ResolveAlias is never asked for",
	"UpdateAsgRole ec2:DescribeLaunchTemplateVersions -> ssm:GetParameters":  "ResolveAlias is never asked for",
	"JanitorRole ec2:RunInstances -> ssm:GetParameters":                      "launch templates naming SSM parameters (the janitor runs Compensate)",
	"JanitorRole ec2:DescribeLaunchTemplateVersions -> ssm:GetParameters":    "ResolveAlias is never asked for",
}

// TestEveryStatementAgainstTheReference checks every IAM statement of the
// generated template against AWS's Service Authorization Reference
// (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html,
// embedded in package awssim/iam): each action exists; each resource is
// "*" or matches a resource type the action lists (an action without
// resource-level permissions is granted by "*" only); each condition key
// applies to the action or a matched resource type, or is global. And it
// reports the dependent actions a role lacks: each is fixed or kept on
// purpose in keptDependents.
func TestEveryStatementAgainstTheReference(t *testing.T) {
	roles, err := iam.TemplateRoles(deploy.Template(), map[string]string{"BuilderRoleArns": "arn:aws:iam::123456789012:role/app"})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) == 0 {
		t.Fatal("the template has no roles")
	}
	statements := 0
	seen := map[string]bool{}
	for id, stmts := range roles {
		var actions []string
		for _, st := range stmts {
			statements++
			for _, p := range iam.CheckStatement(st) {
				t.Errorf("%s statement %s: %s", id, st.Sid, p)
			}
			if !st.Deny {
				actions = append(actions, st.Actions...)
			}
		}
		for action, deps := range iam.MissingDependents(actions) {
			for _, dep := range deps {
				key := id + " " + action + " -> " + dep
				seen[key] = true
				if keptDependents[key] == "" {
					t.Errorf("%s lacks %s, a dependent action of %s: grant it or keep it on purpose in keptDependents", id, dep, action)
				}
			}
		}
	}
	var stale []string
	for key := range keptDependents {
		if !seen[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("keptDependents lists dependents no role lacks any more: %s", strings.Join(stale, "; "))
	}
	t.Logf("%d roles, %d statements checked", len(roles), statements)
}
