package sandbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// GroupSpec describes an Auto Scaling group to create for a scenario.
type GroupSpec struct {
	Name string
	// Platform picks the base image: "windows" or "linux".
	Platform string
	// Version is how the group names its launch template version:
	// "$Default" (the default), "$Latest" or a number such as "1".
	Version string
	// Mixed puts the launch template in a MixedInstancesPolicy.
	Mixed bool
	// LaunchConfiguration creates a group on a launch configuration name
	// instead of a launch template (which amiswap refuses).
	LaunchConfiguration bool
	// Desired instances (default 2); MaxSize is Desired+2.
	Desired int32
	// HTTPTokens is the launch template's MetadataOptions.HttpTokens:
	// "" for "required", "optional", or "none" for a template that sets
	// no metadata options.
	HTTPTokens string
	// Tags on the group; nil means amiswap:enabled=true.
	Tags map[string]string
	// InstanceProfile names the instance profile of the launch template.
	InstanceProfile string
	// InstanceProfileRole, when set, creates InstanceProfile and this role
	// inside it through the IAM API first (a profile's role need not
	// share its name).
	InstanceProfileRole string
	// LaunchTemplateTags become the launch template's TagSpecifications
	// for the instances and volumes it launches.
	LaunchTemplateTags map[string]string
	// Encrypted makes the launch template ask for an encrypted root
	// volume, with KmsKeyID (any form KMS accepts) or, when empty, the
	// AWS managed key alias/aws/ebs.
	Encrypted bool
	KmsKeyID  string
}

// CreateGroup creates a launch template and a group through the APIs and
// lets simulated time pass until the group's instances are in service,
// running, status ok and managed by SSM. It returns the group's instances.
func (sb *Sandbox) CreateGroup(ctx context.Context, g GroupSpec) ([]string, error) {
	if g.Desired == 0 {
		g.Desired = 2
	}
	if g.Version == "" {
		g.Version = "$Default"
	}
	if g.Tags == nil {
		g.Tags = map[string]string{amiswap.TagEnabled: "true"}
	}
	e := ec2.NewFromConfig(sb.AWS)
	image, err := sb.BaseImage(ctx, g.Platform)
	if err != nil {
		return nil, err
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		return nil, fmt.Errorf("describe subnets: %w", err)
	}
	var zone []string
	for _, s := range subnets.Subnets {
		zone = append(zone, aws.ToString(s.SubnetId))
	}
	if g.InstanceProfileRole != "" {
		if err := sb.CreateInstanceProfile(ctx, g.InstanceProfile, g.InstanceProfileRole); err != nil {
			return nil, err
		}
	}
	var tagSpecs []ec2types.LaunchTemplateTagSpecificationRequest
	if len(g.LaunchTemplateTags) > 0 {
		var tags []ec2types.Tag
		for k, v := range g.LaunchTemplateTags {
			tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		tagSpecs = []ec2types.LaunchTemplateTagSpecificationRequest{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}, {ResourceType: ec2types.ResourceTypeVolume, Tags: tags},
		}
	}
	data := &ec2types.RequestLaunchTemplateData{
		ImageId:            aws.String(image),
		InstanceType:       ec2types.InstanceTypeT3Medium,
		MetadataOptions:    metadataOptions(g.HTTPTokens),
		IamInstanceProfile: profile(g.InstanceProfile),
		TagSpecifications:  tagSpecs,
	}
	if g.Encrypted || g.KmsKeyID != "" {
		im, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
		if err != nil || len(im.Images) == 0 {
			return nil, fmt.Errorf("describe image %s: %v", image, err)
		}
		ebs := &ec2types.LaunchTemplateEbsBlockDeviceRequest{Encrypted: aws.Bool(true)}
		if g.KmsKeyID != "" {
			ebs.KmsKeyId = aws.String(g.KmsKeyID)
		}
		data.BlockDeviceMappings = []ec2types.LaunchTemplateBlockDeviceMappingRequest{{DeviceName: im.Images[0].RootDeviceName, Ebs: ebs}}
	}
	lt, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(g.Name + "-lt"),
		LaunchTemplateData: data,
	})
	if err != nil {
		return nil, fmt.Errorf("create launch template: %w", err)
	}
	spec := &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String(g.Version)}
	in := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(g.Name),
		MinSize:              aws.Int32(1), MaxSize: aws.Int32(g.Desired + 2), DesiredCapacity: aws.Int32(g.Desired),
		VPCZoneIdentifier: aws.String(strings.Join(zone, ",")),
	}
	switch {
	case g.LaunchConfiguration:
		in.LaunchConfigurationName = aws.String(g.Name + "-lc")
	case g.Mixed:
		in.MixedInstancesPolicy = &asgtypes.MixedInstancesPolicy{
			LaunchTemplate: &asgtypes.LaunchTemplate{
				LaunchTemplateSpecification: spec,
				Overrides:                   []asgtypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.medium")}, {InstanceType: aws.String("t3a.medium")}},
			},
			InstancesDistribution: &asgtypes.InstancesDistribution{OnDemandPercentageAboveBaseCapacity: aws.Int32(100)},
		}
	default:
		in.LaunchTemplate = spec
	}
	for k, v := range g.Tags {
		in.Tags = append(in.Tags, asgtypes.Tag{Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(false)})
	}
	asg := autoscaling.NewFromConfig(sb.AWS)
	if _, err := asg.CreateAutoScalingGroup(ctx, in); err != nil {
		return nil, fmt.Errorf("create group %s: %w", g.Name, err)
	}
	if g.LaunchConfiguration {
		return nil, nil
	}
	return sb.WaitInService(ctx, g.Name, int(g.Desired))
}

// CreateInstanceProfile creates a role for EC2 and an instance profile
// holding it through the IAM API.
func (sb *Sandbox) CreateInstanceProfile(ctx context.Context, profileName, roleName string) error {
	c := iam.NewFromConfig(sb.AWS)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(roleName), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		return fmt.Errorf("create role %s: %w", roleName, err)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(profileName)}); err != nil {
		return fmt.Errorf("create instance profile %s: %w", profileName, err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(profileName), RoleName: aws.String(roleName)}); err != nil {
		return fmt.Errorf("add role %s to instance profile %s: %w", roleName, profileName, err)
	}
	return nil
}

func profile(name string) *ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest {
	if name == "" {
		return nil
	}
	return &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String(name)}
}

// WaitInService lets simulated time pass until the group has n instances in
// service whose status checks are ok, and returns them.
func (sb *Sandbox) WaitInService(ctx context.Context, group string, n int) ([]string, error) {
	asg := autoscaling.NewFromConfig(sb.AWS)
	e := ec2.NewFromConfig(sb.AWS)
	for range 120 {
		out, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
		if err != nil {
			return nil, fmt.Errorf("describe group: %w", err)
		}
		var ids []string
		for _, g := range out.AutoScalingGroups {
			for _, i := range g.Instances {
				if i.LifecycleState == asgtypes.LifecycleStateInService {
					ids = append(ids, aws.ToString(i.InstanceId))
				}
			}
		}
		if len(ids) >= n {
			st, err := e.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: ids})
			ok := 0
			if err == nil {
				for _, s := range st.InstanceStatuses {
					if s.InstanceStatus != nil && s.InstanceStatus.Status == ec2types.SummaryStatusOk {
						ok++
					}
				}
			}
			if ok == len(ids) {
				sb.Sim.Advance(5 * time.Minute) // and the SSM agent online
				return ids, nil
			}
		}
		sb.Sim.Advance(30 * time.Second)
	}
	return nil, fmt.Errorf("group %s did not reach %d healthy instances in service within an hour", group, n)
}

// BaseImage returns the public base image for a platform.
func (sb *Sandbox) BaseImage(ctx context.Context, platform string) (string, error) {
	out, err := ec2.NewFromConfig(sb.AWS).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		return "", fmt.Errorf("describe base images: %w", err)
	}
	for _, im := range out.Images {
		if (platform == "windows") == strings.EqualFold(string(im.Platform), "windows") {
			return aws.ToString(im.ImageId), nil
		}
	}
	return "", fmt.Errorf("no %s base image owned by amazon", platform)
}

// Replacement is an instance a group launched in place of a terminated one.
type Replacement struct {
	Terminated, InstanceID, ImageID string
}

// ReplaceOne terminates one of the group's instances in service, lets
// simulated time pass until the group has replaced it with a healthy
// instance in service, and reports the replacement and the AMI it runs.
func (sb *Sandbox) ReplaceOne(ctx context.Context, group string) (Replacement, error) {
	out, err := autoscaling.NewFromConfig(sb.AWS).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return Replacement{}, fmt.Errorf("describe group: %w", err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return Replacement{}, fmt.Errorf("group %s not found", group)
	}
	known := map[string]bool{}
	var r Replacement
	for _, i := range out.AutoScalingGroups[0].Instances {
		known[aws.ToString(i.InstanceId)] = true
		if r.Terminated == "" && i.LifecycleState == asgtypes.LifecycleStateInService {
			r.Terminated = aws.ToString(i.InstanceId)
		}
	}
	if r.Terminated == "" {
		return r, fmt.Errorf("group %s has no instance in service", group)
	}
	e := ec2.NewFromConfig(sb.AWS)
	if _, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{r.Terminated}}); err != nil {
		return r, fmt.Errorf("terminate %s: %w", r.Terminated, err)
	}
	sb.Sim.Advance(10 * time.Minute)
	ids, err := sb.WaitInService(ctx, group, len(known))
	if err != nil {
		return r, err
	}
	for _, id := range ids {
		if known[id] {
			continue
		}
		d, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return r, fmt.Errorf("describe %s: %w", id, err)
		}
		r.InstanceID, r.ImageID = id, aws.ToString(d.Reservations[0].Instances[0].ImageId)
		return r, nil
	}
	return r, fmt.Errorf("the group did not replace %s", r.Terminated)
}

// metadataOptions are a launch template's metadata options for
// GroupSpec.HTTPTokens.
func metadataOptions(tokens string) *ec2types.LaunchTemplateInstanceMetadataOptionsRequest {
	switch tokens {
	case "none":
		return nil
	case "":
		tokens = string(ec2types.LaunchTemplateHttpTokensStateRequired)
	}
	return &ec2types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: ec2types.LaunchTemplateHttpTokensState(tokens)}
}
