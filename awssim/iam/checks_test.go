package iam_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	iamsdk "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/sandbox"
)

// ltWorld is a sandbox with a group "web" whose launch template has
// TagSpecifications and the instance profile "web-profile" holding the
// role "web-app" (named differently), a group "plain" whose template has
// neither, and the Test function's key.
type ltWorld struct {
	sb   *sandbox.Sandbox
	m    *iam.Engine
	test aws.Config
}

// launchPolicy is what a caller needs to give a group the web template:
// the group actions, ec2:RunInstances, ec2:CreateTags for RunInstances,
// and iam:PassRole of the role inside the profile.
func launchPolicy(t *testing.T, passRoleOn string) []byte {
	return policyTemplate(t,
		stmt("Allow", []any{"autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh", "autoscaling:CreateAutoScalingGroup", "autoscaling:CancelInstanceRefresh"}, "*", nil),
		stmt("Allow", "ec2:RunInstances", "*", nil),
		stmt("Allow", "ec2:CreateTags", "*", map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}),
		stmt("Allow", "iam:PassRole", passRoleOn, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}}),
	)
}

func newLTWorld(t *testing.T) *ltWorld {
	t.Helper()
	ctx := context.Background()
	sb := newSandbox(t)
	var err error
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux", Desired: 1,
		InstanceProfile: "web-profile", InstanceProfileRole: "web-app", LaunchTemplateTags: map[string]string{"team": "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "plain", Platform: "linux", Desired: 1}); err != nil {
		t.Fatal(err)
	}
	w := &ltWorld{sb: sb}
	if w.m, err = iam.Enable(sb.Sim, launchPolicy(t, "arn:aws:iam::"+acct+":role/web-app"), nil); err != nil {
		t.Fatal(err)
	}
	if w.test, err = sandbox.Config(ctx, sb.URL, sb.Sim.Region(), iam.KeyFor("Test")); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *ltWorld) update(group string) error {
	_, err := autoscaling.NewFromConfig(w.test).UpdateAutoScalingGroup(context.Background(), &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(group),
		LaunchTemplate:       &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(group + "-lt"), Version: aws.String("$Latest")},
	})
	return err
}

func (w *ltWorld) refresh(group string) error {
	ctx := context.Background()
	c := autoscaling.NewFromConfig(w.test)
	_, err := c.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String(group)})
	if err == nil {
		_, err = c.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(group)})
		w.sb.Sim.Advance(10 * time.Minute) // the cancellation completes
	}
	return err
}

// wantLTDenied checks Auto Scaling's error for a launch template the
// caller may not use: AccessDenied "You are not authorized to use launch
// template:" ("Troubleshoot Amazon EC2 Auto Scaling: Launch templates",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ts-as-launch-template.html).
func wantLTDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.HasPrefix(ae.ErrorMessage(), "You are not authorized to use launch template:") {
		t.Errorf("%s: %v, want AccessDenied: You are not authorized to use launch template:", what, err)
	}
}

// TestAutoScalingChecksTheLaunchTemplate: CreateAutoScalingGroup and
// UpdateAutoScalingGroup with a launch template, and StartInstanceRefresh,
// check the caller's ec2:RunInstances, ec2:CreateTags (with
// ec2:CreateAction RunInstances, when the template has TagSpecifications)
// and iam:PassRole of the role inside the template's instance profile
// ("Amazon EC2 Auto Scaling API permissions",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html;
// "Control Amazon EC2 launch template usage in Auto Scaling groups",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html).
func TestAutoScalingChecksTheLaunchTemplate(t *testing.T) {
	ctx := context.Background()
	w := newLTWorld(t)
	if err := w.update("web"); err != nil {
		t.Fatalf("update with every permission: %v", err)
	}
	if err := w.refresh("web"); err != nil {
		t.Fatalf("refresh with every permission: %v", err)
	}

	for _, action := range []string{"ec2:CreateTags", "iam:PassRole", "ec2:RunInstances"} {
		w.sb.Sim.SetAuthorizer(w.m.WithoutAction("Test", action))
		wantLTDenied(t, "UpdateAutoScalingGroup without "+action, w.update("web"))
		wantLTDenied(t, "StartInstanceRefresh without "+action, w.refresh("web"))
	}
	// The plain template has no TagSpecifications and no profile.
	w.sb.Sim.SetAuthorizer(w.m.WithoutAction("Test", "ec2:CreateTags").WithoutAction("Test", "iam:PassRole"))
	if err := w.update("plain"); err != nil {
		t.Errorf("update to a template without tags or profile needs neither CreateTags nor PassRole: %v", err)
	}
	if err := w.refresh("plain"); err != nil {
		t.Errorf("refresh of a template without tags or profile: %v", err)
	}
	// An update that gives no launch template checks none.
	w.sb.Sim.SetAuthorizer(w.m.WithoutAction("Test", "ec2:RunInstances"))
	if _, err := autoscaling.NewFromConfig(w.test).UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MaxSize: aws.Int32(4)}); err != nil {
		t.Errorf("update of the sizes only: %v", err)
	}

	// PassRole is of the role inside the profile, not of a role named
	// after the profile.
	byProfileName, err := iam.FromTemplate(launchPolicy(t, "arn:aws:iam::"+acct+":role/web-profile"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.sb.Sim.SetAuthorizer(byProfileName)
	wantLTDenied(t, "update passing a role named after the profile", w.update("web"))

	// CreateAutoScalingGroup checks the same; the denied group is not
	// created.
	w.sb.Sim.SetAuthorizer(w.m.WithoutAction("Test", "ec2:CreateTags"))
	asg := autoscaling.NewFromConfig(w.test)
	subnets, err := ec2.NewFromConfig(w.sb.AWS).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	zone := aws.ToString(subnets.Subnets[0].SubnetId)
	_, err = asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web2"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(zone),
		MixedInstancesPolicy: &asgtypes.MixedInstancesPolicy{LaunchTemplate: &asgtypes.LaunchTemplate{
			LaunchTemplateSpecification: &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web-lt"), Version: aws.String("$Default")}}}})
	wantLTDenied(t, "CreateAutoScalingGroup with a MixedInstancesPolicy without CreateTags", err)
	out, err := autoscaling.NewFromConfig(w.sb.AWS).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web2"}})
	if err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("the denied group exists: %v %v", out, err)
	}
	w.sb.Sim.SetAuthorizer(w.m)
	if _, err := asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web2"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(zone),
		LaunchTemplate: &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web-lt"), Version: aws.String("$Default")}}); err != nil {
		t.Errorf("CreateAutoScalingGroup with every permission: %v", err)
	}
}

// TestRunInstancesTagsAndRoleChecks: RunInstances with tags checks
// ec2:CreateTags with ec2:CreateAction ("Grant permission to tag Amazon EC2
// resources during creation",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html),
// and an instance profile passes the role inside it.
func TestRunInstancesTagsAndRoleChecks(t *testing.T) {
	ctx := context.Background()
	w := newLTWorld(t)
	image, err := w.sb.BaseImage(ctx, "linux")
	if err != nil {
		t.Fatal(err)
	}
	run := func(profile string) error {
		_, err := ec2.NewFromConfig(w.test).RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(profile)},
			TagSpecifications:  []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}}}})
		return err
	}
	if err := run("web-profile"); err != nil {
		t.Fatalf("launch with every permission: %v", err)
	}
	w.sb.Sim.SetAuthorizer(w.m.WithoutAction("Test", "ec2:CreateTags"))
	if err := run("web-profile"); err == nil || !strings.Contains(err.Error(), "ec2:CreateTags") {
		t.Errorf("launch with tags without CreateTags: %v", err)
	}
	w.sb.Sim.SetAuthorizer(w.m)
	// A profile the simulated IAM does not hold passes the role of its
	// name, which the policy does not allow.
	if err := run("other"); err == nil || !strings.Contains(err.Error(), "iam:PassRole on resource: arn:aws:iam::"+acct+":role/other") {
		t.Errorf("launch with another profile: %v", err)
	}
}

// TestInstanceProfiles covers the IAM API of instance profiles
// (CreateInstanceProfile, AddRoleToInstanceProfile, GetInstanceProfile:
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html
// "an instance profile can contain only one role").
func TestInstanceProfiles(t *testing.T) {
	ctx := context.Background()
	sb := newSandbox(t)
	if err := sb.CreateInstanceProfile(ctx, "app-profile", "app-role"); err != nil {
		t.Fatal(err)
	}
	c := iamsdk.NewFromConfig(sb.AWS)
	got, err := c.GetInstanceProfile(ctx, &iamsdk.GetInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	if err != nil {
		t.Fatal(err)
	}
	p := got.InstanceProfile
	if aws.ToString(p.Arn) != "arn:aws:iam::"+acct+":instance-profile/app-profile" || !strings.HasPrefix(aws.ToString(p.InstanceProfileId), "AIPA") ||
		len(p.Roles) != 1 || aws.ToString(p.Roles[0].RoleName) != "app-role" || aws.ToString(p.Roles[0].Arn) != "arn:aws:iam::"+acct+":role/app-role" {
		t.Errorf("instance profile %+v", p)
	}
	role, err := c.GetRole(ctx, &iamsdk.GetRoleInput{RoleName: aws.String("app-role")})
	if err != nil || !strings.HasPrefix(aws.ToString(role.Role.RoleId), "AROA") || !strings.Contains(aws.ToString(role.Role.AssumeRolePolicyDocument), "ec2.amazonaws.com") {
		t.Errorf("GetRole %+v %v", role, err)
	}
	if _, err := c.CreateRole(ctx, &iamsdk.CreateRoleInput{RoleName: aws.String("second"), AssumeRolePolicyDocument: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iamsdk.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("second")})
	var limit *iamtypes.LimitExceededException
	if !errors.As(err, &limit) {
		t.Errorf("a second role: %v, want LimitExceeded", err)
	}
	_, err = c.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("a profile twice: %v, want EntityAlreadyExists", err)
	}
	_, err = c.GetInstanceProfile(ctx, &iamsdk.GetInstanceProfileInput{InstanceProfileName: aws.String("nope")})
	var missing *iamtypes.NoSuchEntityException
	if !errors.As(err, &missing) {
		t.Errorf("an unknown profile: %v, want NoSuchEntity", err)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iamsdk.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("nope")})
	if !errors.As(err, &missing) {
		t.Errorf("an unknown role: %v, want NoSuchEntity", err)
	}
	_, err = c.CreateInstanceProfile(ctx, &iamsdk.CreateInstanceProfileInput{InstanceProfileName: aws.String("bad name")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Errorf("an invalid name: %v, want ValidationError", err)
	}
}
