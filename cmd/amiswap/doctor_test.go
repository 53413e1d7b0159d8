package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/doctor"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// doctorParams are the stack's parameters: builders and the demo group use
// the demo's instance profile, whose role may be passed.
var doctorParams = map[string]string{
	"AWS::StackName": "amiswap", "ArtifactBucket": "artifacts", "ArtifactKey": "amiswap-lambda.zip",
	"BuilderRoleArns": "arn:aws:iam::123456789012:role/demo-windows-ssm",
}

// doctorSetup is a simulator on a loopback port with the stack's roles
// enforced (and its stack held by the simulator's CloudFormation), and the
// environment that points the CLI at it.
type doctorSetup struct {
	sb  *sandbox.Sandbox
	iam *iam.Engine
	env map[string]string
}

func newDoctorSetup(t *testing.T, scenario string) *doctorSetup {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{Scenario: scenario})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	m, err := iam.Enable(sb.Sim, deploy.Template(), doctorParams)
	if err != nil {
		t.Fatal(err)
	}
	return &doctorSetup{sb: sb, iam: m, env: map[string]string{
		"AWS_ENDPOINT_URL": sb.URL, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAOPERATOR", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_EC2_METADATA_DISABLED": "true",
	}}
}

// backupPlanFor creates a daily plan that selects the group's instances by
// the tag Auto Scaling puts on them.
func (d *doctorSetup) backupPlanFor(t *testing.T, group string) {
	t.Helper()
	ctx := context.Background()
	c := backup.NewFromConfig(d.sb.AWS)
	plan, err := c.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &backuptypes.BackupPlanInput{
		BackupPlanName: aws.String("daily-" + group),
		Rules:          []backuptypes.BackupRuleInput{{RuleName: aws.String("nightly"), TargetBackupVaultName: aws.String("Default")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: plan.BackupPlanId, BackupSelection: &backuptypes.BackupSelection{
		SelectionName: aws.String(group), IamRoleArn: aws.String("arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"),
		ListOfTags: []backuptypes.Condition{{ConditionType: backuptypes.ConditionTypeStringequals, ConditionKey: aws.String("aws:autoscaling:groupName"), ConditionValue: aws.String(group)}},
	}}); err != nil {
		t.Fatal(err)
	}
}

// doctor runs `amiswap doctor --json args...` and decodes its one JSON
// document.
func (d *doctorSetup) doctor(t *testing.T, args ...string) (int, doctor.Report, string) {
	t.Helper()
	code, stdout, stderr := run(t, d.env, append([]string{"doctor", "--json"}, args...)...)
	var rep doctor.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("doctor --json: exit %d, stdout is not one JSON document: %v\n%s\n%s", code, err, stdout, stderr)
	}
	if dec.More() {
		t.Fatalf("doctor --json printed more than one JSON document:\n%s", stdout)
	}
	return code, rep, stderr
}

// check returns the check id of group, failing the test when absent.
func check(t *testing.T, rep doctor.Report, id, group string) doctor.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id && c.Group == group {
			return c
		}
	}
	t.Fatalf("no check %s for group %q in %+v", id, group, rep.Checks)
	return doctor.Check{}
}

// failing asserts that check id of group failed with a fix mentioning each
// of want, and that every other check of the group passed.
func failing(t *testing.T, rep doctor.Report, id, group string, want ...string) {
	t.Helper()
	c := check(t, rep, id, group)
	if c.OK || c.Fix == "" {
		t.Fatalf("%s [%s]: %+v, want a failure with a fix", id, group, c)
	}
	for _, w := range want {
		if !strings.Contains(c.Detail+" "+c.Fix, w) {
			t.Errorf("%s [%s] does not mention %q: %+v", id, group, w, c)
		}
	}
	for _, o := range rep.Checks {
		if o.ID != id && !o.OK && (o.Group == group || o.Group == "") {
			t.Errorf("another check failed too: %+v", o)
		}
	}
}

// TestDoctorHealthyDemo: the demo scenario's account, with the stack
// deployed and a backup plan selecting its group, passes every check
// (exit 0); the JSON names the account and region and has every check id.
func TestDoctorHealthyDemo(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	d.backupPlanFor(t, "demo-windows-web")
	code, rep, stderr := d.doctor(t)
	if code != 0 {
		t.Fatalf("exit %d on a healthy account: %+v\n%s", code, rep, stderr)
	}
	if rep.Account != "123456789012" || rep.Region != "us-east-1" {
		t.Errorf("account %q region %q", rep.Account, rep.Region)
	}
	check(t, rep, doctor.CheckIdentity, "")
	if c := check(t, rep, doctor.CheckStack, ""); !strings.Contains(c.Detail, "StateMachineArn=arn:aws:states:us-east-1:123456789012:stateMachine:") {
		t.Errorf("the stack check does not list the outputs: %s", c.Detail)
	}
	for _, id := range []string{doctor.CheckLaunchTemplate, doctor.CheckImage, doctor.CheckIAMLaunch, doctor.CheckIAMUpdateGroup, doctor.CheckKMS,
		doctor.CheckBuilderNetwork, doctor.CheckSSMManaged, doctor.CheckBackupPlan, doctor.CheckVaultLock} {
		if c := check(t, rep, id, "demo-windows-web"); !c.OK {
			t.Errorf("%s: %+v", id, c)
		}
	}
	if c := check(t, rep, doctor.CheckIAMLaunch, "demo-windows-web"); !strings.Contains(c.Detail, "pass arn:aws:iam::123456789012:role/demo-windows-ssm") {
		t.Errorf("iam-launch does not name the profile's role: %s", c.Detail)
	}
	if !strings.Contains(stderr, "amiswap doctor: checking simulator") {
		t.Errorf("the banner is not on stderr: %s", stderr)
	}
	// Without --json: one line per check, ✓, and a verdict.
	code, stdout, _ := run(t, d.env, "doctor")
	if code != 0 || !strings.Contains(stdout, "✓ iam-launch [demo-windows-web]: ") || strings.Contains(stdout, "✗") || !strings.Contains(stdout, "checks passed") {
		t.Errorf("text output (exit %d):\n%s", code, stdout)
	}
}

// TestDoctorNoBackupPlan: the same account without a plan selecting the
// group fails backup-plan only, saying how to create one, and exits 1.
func TestDoctorNoBackupPlan(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	code, rep, _ := d.doctor(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	failing(t, rep, doctor.CheckBackupPlan, "demo-windows-web", "no backup plan selects", "aws:autoscaling:groupName=demo-windows-web")
	code, stdout, _ := run(t, d.env, "doctor")
	if code != 1 || !strings.Contains(stdout, "✗ backup-plan [demo-windows-web]") || !strings.Contains(stdout, "    fix: create an AWS Backup plan") {
		t.Errorf("text output (exit %d):\n%s", code, stdout)
	}
}

// TestDoctorLaunchConfiguration: a group on a launch configuration fails
// launch-template with the migration as its fix.
func TestDoctorLaunchConfiguration(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	if _, err := d.sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "legacy", Platform: "linux", LaunchConfiguration: true}); err != nil {
		t.Fatal(err)
	}
	code, rep, _ := d.doctor(t, "--group", "legacy")
	c := check(t, rep, doctor.CheckLaunchTemplate, "legacy")
	if code != 1 || c.OK || !strings.Contains(c.Detail, "launch configuration legacy-lc") || !strings.Contains(c.Fix, "Migrate your Auto Scaling groups to launch templates") {
		t.Fatalf("exit %d, %+v", code, c)
	}
}

// TestDoctorBuilderNetwork: a group in the default VPC, whose subnets route
// only to the internet gateway, with no endpoints: the builder (no public
// IP) cannot reach Systems Manager. A NAT gateway route from the subnet
// fixes it.
func TestDoctorBuilderNetwork(t *testing.T) {
	d := newDoctorSetup(t, "empty")
	ctx := context.Background()
	if _, err := d.sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux"}); err != nil {
		t.Fatal(err)
	}
	d.backupPlanFor(t, "web")
	code, rep, _ := d.doctor(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	failing(t, rep, doctor.CheckBuilderNetwork, "web", "no route to a NAT gateway", "internet gateway", "no public IP", "ssmmessages", "NAT gateway")

	// The fix: the builder's subnet gets its own route table whose
	// 0.0.0.0/0 goes to a NAT gateway in another subnet.
	e := ec2.NewFromConfig(d.sb.AWS)
	g, err := autoscaling.NewFromConfig(d.sb.AWS).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	subnets := strings.Split(aws.ToString(g.AutoScalingGroups[0].VPCZoneIdentifier), ",")
	sn, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets[:1]})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := e.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[1])})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := e.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: sn.Subnets[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTable.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGateway.NatGatewayId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTable.RouteTableId, SubnetId: aws.String(subnets[0])}); err != nil {
		t.Fatal(err)
	}
	d.sb.Sim.Advance(5 * time.Minute)
	code, rep, _ = d.doctor(t)
	if c := check(t, rep, doctor.CheckBuilderNetwork, "web"); code != 0 || !c.OK || !strings.Contains(c.Detail, aws.ToString(nat.NatGateway.NatGatewayId)) {
		t.Fatalf("with a NAT gateway route: exit %d, %+v (all: %+v)", code, c, rep.Checks)
	}
}

// TestDoctorAgentNotOnline: instances whose SSM agent has not come online
// fail ssm-managed, naming them.
func TestDoctorAgentNotOnline(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	ctx := context.Background()
	asg := autoscaling.NewFromConfig(d.sb.AWS)
	demo, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"demo-windows-web"}})
	if err != nil {
		t.Fatal(err)
	}
	src := demo.AutoScalingGroups[0]
	if _, err := asg.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("fresh"), VPCZoneIdentifier: src.VPCZoneIdentifier,
		LaunchTemplate: &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: src.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Default")},
		MinSize:        aws.Int32(1), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1),
		Tags: []asgtypes.Tag{{Key: aws.String(amiswap.TagEnabled), Value: aws.String("true")}},
	}); err != nil {
		t.Fatal(err)
	}
	d.backupPlanFor(t, "fresh")
	// Running and in service, but the agent registers only later
	// (Durations.AgentOnline).
	d.sb.Sim.Advance(time.Minute)
	code, rep, _ := d.doctor(t, "--group", "fresh")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	failing(t, rep, doctor.CheckSSMManaged, "fresh", "1 of 1 instances have no SSM agent online", "AmazonSSMManagedInstanceCore")
	d.sb.Sim.Advance(5 * time.Minute)
	if code, rep, _ := d.doctor(t, "--group", "fresh"); code != 0 {
		t.Errorf("once the agent is online: exit %d, %+v", code, rep.Checks)
	}
}

// TestDoctorRolesMissingAPermission: a stack whose Builder role lacks
// iam:PassRole, or whose UpdateAsg role lacks
// autoscaling:UpdateAutoScalingGroup, fails iam-launch or
// iam-update-group, as iam:SimulatePrincipalPolicy answers.
func TestDoctorRolesMissingAPermission(t *testing.T) {
	cases := []struct {
		function, action, id string
		want                 []string
	}{
		{"Builder", "iam:PassRole", doctor.CheckIAMLaunch, []string{"iam:PassRole on arn:aws:iam::123456789012:role/demo-windows-ssm", "BuilderRoleArns"}},
		{"UpdateAsg", "autoscaling:UpdateAutoScalingGroup", doctor.CheckIAMUpdateGroup, []string{"UpdateAsg role", "autoscaling:UpdateAutoScalingGroup on arn:aws:autoscaling:"}},
		{"Builder", "ec2:RunInstances", doctor.CheckIAMLaunch, []string{"ec2:RunInstances on arn:aws:ec2:us-east-1::image/"}},
	}
	for _, c := range cases {
		t.Run(c.function+" without "+c.action, func(t *testing.T) {
			d := newDoctorSetup(t, "demo")
			d.backupPlanFor(t, "demo-windows-web")
			d.iam.WithoutAction(c.function, c.action).Install(d.sb.Sim)
			code, rep, _ := d.doctor(t)
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			failing(t, rep, c.id, "demo-windows-web", c.want...)
		})
	}
}

// TestDoctorNoStack: without the stack, the stack check says how to deploy
// it, and the role checks say they could not run.
func TestDoctorNoStack(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	code, rep, _ := d.doctor(t, "--stack-name", "other")
	c := check(t, rep, doctor.CheckStack, "")
	if code != 1 || c.OK || !strings.Contains(c.Detail, "no stack other") || !strings.Contains(c.Fix, "amiswap deploy --stack-name other") {
		t.Fatalf("exit %d, %+v", code, c)
	}
	if c := check(t, rep, doctor.CheckIAMLaunch, "demo-windows-web"); c.OK {
		t.Errorf("iam-launch passed without a stack: %+v", c)
	}
}

func TestDoctorUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"doctor", "--stack-name", "1bad"}, {"doctor", "--group", "a:b"}, {"doctor", "extra"}, {"doctor", "--nope"}} {
		if code, _, stderr := run(t, map[string]string{"AWS_REGION": "us-east-1"}, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

// TestDoctorVaultLock: a vault lock on the vault the group's plan backs up
// into keeps the recovery points amiswap deletes: vault-lock fails, and a
// group that keeps its recovery points on purpose passes.
func TestDoctorVaultLock(t *testing.T) {
	d := newDoctorSetup(t, "demo")
	d.backupPlanFor(t, "demo-windows-web")
	ctx := context.Background()
	if _, err := backup.NewFromConfig(d.sb.AWS).PutBackupVaultLockConfiguration(ctx, &backup.PutBackupVaultLockConfigurationInput{
		BackupVaultName: aws.String("Default"), MinRetentionDays: aws.Int64(35)}); err != nil {
		t.Fatal(err)
	}
	code, rep, _ := d.doctor(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	failing(t, rep, doctor.CheckVaultLock, "demo-windows-web", "Default (vault lock: recovery points kept at least 35 days)", amiswap.TagDeleteRecoveryPoint+"=false")
	if _, err := autoscaling.NewFromConfig(d.sb.AWS).CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{{
		ResourceId: aws.String("demo-windows-web"), ResourceType: aws.String("auto-scaling-group"),
		Key: aws.String(amiswap.TagDeleteRecoveryPoint), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	if code, rep, _ := d.doctor(t); code != 0 {
		t.Errorf("a group that keeps its recovery points: exit %d, %+v", code, rep.Checks)
	}
}
