package workflow

// Fakes of the Auto Scaling and EC2 methods the group-side ops call: each
// method records its call and hands the input to a function field set by
// the test; a call without a function fails the test.

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// grpCalls is the ordered log of calls across fakes.
type grpCalls struct {
	t     *testing.T
	calls []string
}

// record logs a call of op; an unexpected one fails the test.
func (c *grpCalls) record(op string, expected bool) {
	c.calls = append(c.calls, op)
	if !expected {
		c.t.Errorf("unexpected call %s", op)
	}
}

// grpASG fakes the Auto Scaling methods of the group-side ops.
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
	return answer(f.describeGroups, in)
}

func (f *grpASG) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	f.record("UpdateAutoScalingGroup", f.update != nil)
	return answer(f.update, in)
}

func (f *grpASG) CreateOrUpdateTags(_ context.Context, in *autoscaling.CreateOrUpdateTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	f.record("CreateOrUpdateTags", f.createTags != nil)
	return answer(f.createTags, in)
}

func (f *grpASG) DeleteTags(_ context.Context, in *autoscaling.DeleteTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error) {
	f.record("DeleteTags", f.deleteTags != nil)
	return answer(f.deleteTags, in)
}

func (f *grpASG) StartInstanceRefresh(_ context.Context, in *autoscaling.StartInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error) {
	f.record("StartInstanceRefresh", f.startRefresh != nil)
	return answer(f.startRefresh, in)
}

func (f *grpASG) DescribeInstanceRefreshes(_ context.Context, in *autoscaling.DescribeInstanceRefreshesInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
	f.record("DescribeInstanceRefreshes", f.describeRefreshes != nil)
	return answer(f.describeRefreshes, in)
}

func (f *grpASG) CancelInstanceRefresh(_ context.Context, in *autoscaling.CancelInstanceRefreshInput, _ ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error) {
	f.record("CancelInstanceRefresh", f.cancelRefresh != nil)
	return answer(f.cancelRefresh, in)
}

// grpEC2 fakes the EC2 methods of the group-side ops.
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
	describeSnapshots func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error)
}

func (f *grpEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.record("DescribeSnapshots", f.describeSnapshots != nil)
	return answer(f.describeSnapshots, in)
}

func (f *grpEC2) DescribeLaunchTemplates(_ context.Context, in *ec2.DescribeLaunchTemplatesInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	f.record("DescribeLaunchTemplates", f.describeTemplates != nil)
	return answer(f.describeTemplates, in)
}

func (f *grpEC2) ModifyLaunchTemplate(_ context.Context, in *ec2.ModifyLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	f.record("ModifyLaunchTemplate", f.modifyTemplate != nil)
	return answer(f.modifyTemplate, in)
}

func (f *grpEC2) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	f.record("DescribeLaunchTemplateVersions", f.describeVersions != nil)
	return answer(f.describeVersions, in)
}

func (f *grpEC2) CreateLaunchTemplateVersion(_ context.Context, in *ec2.CreateLaunchTemplateVersionInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	f.record("CreateLaunchTemplateVersion", f.createVersion != nil)
	return answer(f.createVersion, in)
}

func (f *grpEC2) DeleteLaunchTemplateVersions(_ context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
	f.record("DeleteLaunchTemplateVersions", f.deleteVersions != nil)
	return answer(f.deleteVersions, in)
}

func (f *grpEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.record("DescribeInstances", f.describeInstances != nil)
	return answer(f.describeInstances, in)
}

func (f *grpEC2) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.record("TerminateInstances", f.terminate != nil)
	return answer(f.terminate, in)
}

func (f *grpEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.record("DescribeImages", f.describeImages != nil)
	return answer(f.describeImages, in)
}

func (f *grpEC2) DeregisterImage(_ context.Context, in *ec2.DeregisterImageInput, _ ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error) {
	f.record("DeregisterImage", f.deregister != nil)
	return answer(f.deregister, in)
}

func (f *grpEC2) DeleteSnapshot(_ context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.record("DeleteSnapshot", f.deleteSnapshot != nil)
	return answer(f.deleteSnapshot, in)
}
