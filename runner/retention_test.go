package runner_test

import (
	"context"
	"slices"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestKeepNeverRemovesAnAMIInUse: with amiswap:keep=1, retention removes an
// older golden AMI only when no launch template version that a group uses
// and no instance references it. Golden AMI 1 stays while another group is
// pinned to a version of another template that uses it (neither that
// template's $Default nor its $Latest does); golden AMI 2 stays while an
// instance runs it. Once the instance is gone, AMI 2 goes with the next
// swap; AMI 1 still stays.
func TestKeepNeverRemovesAnAMIInUse(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	e := ec2.NewFromConfig(sb.AWS)
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux", Desired: 1,
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagKeep: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	swap := func() string {
		t.Helper()
		r := swapFromBackup(t, sb, "web", ids[0])
		if r.res.Status != asl.StatusSucceeded || r.st.Image == nil {
			t.Fatalf("swap: %s %s %s", r.res.Status, r.res.Error, r.res.Cause)
		}
		return r.st.Image.ImageID
	}
	g1 := swap()

	// Another group, not opted in, pinned to version 1 of its own template,
	// which uses golden AMI 1; its $Default and $Latest (version 2) do not.
	base, err := sb.BaseImage(ctx, "linux")
	if err != nil {
		t.Fatal(err)
	}
	lt, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("other-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(g1), InstanceType: ec2types.InstanceTypeT3Micro}})
	if err != nil {
		t.Fatal(err)
	}
	ltID := lt.LaunchTemplate.LaunchTemplateId
	if _, err := e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: ltID, SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(base)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: ltID, DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := autoscaling.NewFromConfig(sb.AWS).CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("other"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(0),
		VPCZoneIdentifier: subnets.Subnets[0].SubnetId,
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: ltID, Version: aws.String("1")},
	}); err != nil {
		t.Fatal(err)
	}

	g2 := swap()
	// A standalone instance runs golden AMI 2.
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(g2), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: subnets.Subnets[0].SubnetId})
	if err != nil {
		t.Fatal(err)
	}
	g3 := swap()
	if got, want := goldenImages(t, sb, "web"), sorted(g1, g2, g3); !slices.Equal(got, want) {
		t.Fatalf("after swap 3 with keep=1: golden AMIs %v, want %v (1 used by a group's pinned version, 2 by an instance)", got, want)
	}

	if _, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	g4 := swap()
	// Golden AMI 3 stays too: the version the group ran before this swap
	// uses it (retention keeps the version a swap replaced).
	if got, want := goldenImages(t, sb, "web"), sorted(g1, g3, g4); !slices.Equal(got, want) {
		t.Errorf("after swap 4: golden AMIs %v, want %v (2 unused now; 1 still used by group other)", got, want)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
