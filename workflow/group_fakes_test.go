package workflow

// Fakes of the Auto Scaling and EC2 methods the group-side ops call: each
// method records its call and hands the input to a function field set by
// the test; a call without a function fails the test.

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// grpCalls is the ordered log of calls across fakes.
type grpCalls struct {
	t     *testing.T
	calls []string
}

func (c *grpCalls) record(op string, expected bool) {
	c.calls = append(c.calls, op)
	if !expected {
		c.t.Errorf("unexpected call %s", op)
	}
}

// apiErr is an AWS error with a code, as the SDK returns it.
func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"} }

type grpASG struct {
	*grpCalls
	describeGroups    func(*autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	update            func(*autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	createTags        func(*autoscaling.CreateOrUpdateTagsInput) (*autoscaling.CreateOrUpdateTagsOutput, error)
	deleteTags        func(*autoscaling.DeleteTagsInput) (*autoscaling.DeleteTagsOutput, error)
	startRefresh      func(*autoscaling.StartInstanceRefreshInput) (*autoscaling.StartInstanceRefreshOutput, error)
	describeRefreshes func(*autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error)
	cancelRefresh     func(*autoscaling.CancelInstanceRefreshInput) (*autoscaling.CancelInstanceRefreshOutput, error)
}

func (f *grpASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	f.record("DescribeAutoScalingGroups", f.describeGroups != nil)
	if f.describeGroups == nil {
		return &autoscaling.DescribeAutoScalingGroupsOutput{}, nil
	}
	return f.describeGroups(in)
}

func (f *grpASG) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	f.record("UpdateAutoScalingGroup", f.update != nil)
	if f.update == nil {
		return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
	}
	return f.update(in)
}

func (f *grpASG) CreateOrUpdateTags(_ context.Context, in *autoscaling.CreateOrUpdateTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	f.record("CreateOrUpdateTags", f.createTags != nil)
	if f.createTags == nil {
		return &autoscaling.CreateOrUpdateTagsOutput{}, nil
	}
	return f.createTags(in)
}

func (f *grpASG) DeleteTags(_ context.Context, in *autoscaling.DeleteTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error) {
	f.record("DeleteTags", f.deleteTags != nil)
	if f.deleteTags == nil {
		return &autoscaling.DeleteTagsOutput{}, nil
	}
	return f.deleteTags(in)
}

func (f *grpASG) StartInstanceRefresh(_ context.Context, in *autoscaling.StartInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	f.record("StartInstanceRefresh", f.startRefresh != nil)
	if f.startRefresh == nil {
		return &autoscaling.StartInstanceRefreshOutput{}, nil
	}
	return f.startRefresh(in)
}

func (f *grpASG) DescribeInstanceRefreshes(_ context.Context, in *autoscaling.DescribeInstanceRefreshesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	f.record("DescribeInstanceRefreshes", f.describeRefreshes != nil)
	if f.describeRefreshes == nil {
		return &autoscaling.DescribeInstanceRefreshesOutput{}, nil
	}
	return f.describeRefreshes(in)
}

func (f *grpASG) CancelInstanceRefresh(_ context.Context, in *autoscaling.CancelInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error) {
	f.record("CancelInstanceRefresh", f.cancelRefresh != nil)
	if f.cancelRefresh == nil {
		return &autoscaling.CancelInstanceRefreshOutput{}, nil
	}
	return f.cancelRefresh(in)
}

type grpEC2 struct {
	*grpCalls
	describeTemplates func(*ec2.DescribeLaunchTemplatesInput) (*ec2.DescribeLaunchTemplatesOutput, error)
	modifyTemplate    func(*ec2.ModifyLaunchTemplateInput) (*ec2.ModifyLaunchTemplateOutput, error)
	describeVersions  func(*ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	createVersion     func(*ec2.CreateLaunchTemplateVersionInput) (*ec2.CreateLaunchTemplateVersionOutput, error)
	deleteVersions    func(*ec2.DeleteLaunchTemplateVersionsInput) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
	describeInstances func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
	terminate         func(*ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error)
	describeImages    func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
	deregister        func(*ec2.DeregisterImageInput) (*ec2.DeregisterImageOutput, error)
	deleteSnapshot    func(*ec2.DeleteSnapshotInput) (*ec2.DeleteSnapshotOutput, error)
}

func (f *grpEC2) DescribeLaunchTemplates(_ context.Context, in *ec2.DescribeLaunchTemplatesInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	f.record("DescribeLaunchTemplates", f.describeTemplates != nil)
	if f.describeTemplates == nil {
		return &ec2.DescribeLaunchTemplatesOutput{}, nil
	}
	return f.describeTemplates(in)
}

func (f *grpEC2) ModifyLaunchTemplate(_ context.Context, in *ec2.ModifyLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	f.record("ModifyLaunchTemplate", f.modifyTemplate != nil)
	if f.modifyTemplate == nil {
		return &ec2.ModifyLaunchTemplateOutput{}, nil
	}
	return f.modifyTemplate(in)
}

func (f *grpEC2) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	f.record("DescribeLaunchTemplateVersions", f.describeVersions != nil)
	if f.describeVersions == nil {
		return &ec2.DescribeLaunchTemplateVersionsOutput{}, nil
	}
	return f.describeVersions(in)
}

func (f *grpEC2) CreateLaunchTemplateVersion(_ context.Context, in *ec2.CreateLaunchTemplateVersionInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	f.record("CreateLaunchTemplateVersion", f.createVersion != nil)
	if f.createVersion == nil {
		return &ec2.CreateLaunchTemplateVersionOutput{}, nil
	}
	return f.createVersion(in)
}

func (f *grpEC2) DeleteLaunchTemplateVersions(_ context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
	f.record("DeleteLaunchTemplateVersions", f.deleteVersions != nil)
	if f.deleteVersions == nil {
		return &ec2.DeleteLaunchTemplateVersionsOutput{}, nil
	}
	return f.deleteVersions(in)
}

func (f *grpEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.record("DescribeInstances", f.describeInstances != nil)
	if f.describeInstances == nil {
		return &ec2.DescribeInstancesOutput{}, nil
	}
	return f.describeInstances(in)
}

func (f *grpEC2) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.record("TerminateInstances", f.terminate != nil)
	if f.terminate == nil {
		return &ec2.TerminateInstancesOutput{}, nil
	}
	return f.terminate(in)
}

func (f *grpEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.record("DescribeImages", f.describeImages != nil)
	if f.describeImages == nil {
		return &ec2.DescribeImagesOutput{}, nil
	}
	return f.describeImages(in)
}

func (f *grpEC2) DeregisterImage(_ context.Context, in *ec2.DeregisterImageInput, _ ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error) {
	f.record("DeregisterImage", f.deregister != nil)
	if f.deregister == nil {
		return &ec2.DeregisterImageOutput{}, nil
	}
	return f.deregister(in)
}

func (f *grpEC2) DeleteSnapshot(_ context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.record("DeleteSnapshot", f.deleteSnapshot != nil)
	if f.deleteSnapshot == nil {
		return &ec2.DeleteSnapshotOutput{}, nil
	}
	return f.deleteSnapshot(in)
}
