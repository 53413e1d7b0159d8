package workflow

// This file holds the resolve op: from a backup job (or an instance) to the
// Auto Scaling group to swap, its launch template, the backup AMI, the
// group's settings and the builder's launch spec — or a reason to skip.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// resolveBackup is what resolve calls on AWS Backup.
type resolveBackup interface {
	DescribeBackupJob(ctx context.Context, in *backup.DescribeBackupJobInput, opts ...func(*backup.Options)) (*backup.DescribeBackupJobOutput, error)
	ListBackupJobs(ctx context.Context, in *backup.ListBackupJobsInput, opts ...func(*backup.Options)) (*backup.ListBackupJobsOutput, error)
}

// resolveEC2 is what resolve calls on EC2.
type resolveEC2 interface {
	instanceDescriber
	versionLister
	imageDescriber
}

// Resolver serves the resolve op.
type Resolver struct {
	backup resolveBackup
	ec2    resolveEC2
	asg    groupReader
	conf   Config
	// keys checks the KMS keys of an encrypted recovery point; nil
	// refuses encrypted ones.
	keys *keyChecker
	// region builds instance ARNs when a request names only an instance.
	region string
}

var (
	backupJobIDRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	instanceArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:ec2:[a-z0-9-]*:[0-9]*:instance/(i-[0-9a-f]{8}(?:[0-9a-f]{9})?)$`)
	imageArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:ec2:[a-z0-9-]*:[0-9]*:image/(ami-[0-9a-f]{8}(?:[0-9a-f]{9})?)$`)
)

// asgGroupNameTag is the tag Auto Scaling puts on the instances it launches.
const asgGroupNameTag = "aws:autoscaling:groupName"

// resolvedJob is the part of a backup job resolve uses.
type resolvedJob struct {
	ID, State, ResourceArn, ResourceType, RecoveryPointArn, Vault string
	Created                                                       time.Time
}

// Resolve validates the request, then finds what to swap. Anything that
// makes the swap pointless or impossible (not EC2, not completed, instance
// or group gone, group not opted in, launch configuration, image from an
// SSM parameter, duplicate or stale event) is a Target with Skip and a
// reason; a malformed request or setting is an *amiswap.InvalidInputError.
func (r *Resolver) Resolve(ctx context.Context, p Payload) (*amiswap.Target, error) {
	req := p.State.Request
	t := &amiswap.Target{Settings: amiswap.DefaultSettings(), Builder: amiswap.BuilderSpec{SecurityGroupIDs: []string{}}, Verifier: amiswap.BuilderSpec{SecurityGroupIDs: []string{}}}
	skip := func(format string, args ...any) (*amiswap.Target, error) {
		t.Skip, t.SkipReason = true, fmt.Sprintf(format, args...)
		return t, nil
	}

	// Validate everything before any AWS call.
	if req.ResourceType != "" && req.ResourceType != "EC2" {
		return skip("the backup is of a %s resource, not an EC2 instance", req.ResourceType)
	}
	if req.State != "" && req.State != string(backuptypes.BackupJobStateCompleted) {
		return skip("the backup job is %s, not COMPLETED", req.State)
	}
	if req.EventID != "" {
		// From the rule's input transformer: EventBridge drops a variable
		// whose path the event lacks, which leaves its field empty.
		for _, f := range []struct{ field, value, path string }{
			{"backupJobId", req.BackupJobID, "detail.backupJobId"},
			{"resourceArn", req.ResourceArn, "detail.resourceArn"},
		} {
			if f.value == "" {
				return nil, &amiswap.InvalidInputError{Field: f.field, Reason: fmt.Sprintf("the Backup event %s has no %s", req.EventID, f.path)}
			}
		}
	}
	if req.BackupJobID == "" && req.InstanceID == "" {
		return nil, &amiswap.InvalidInputError{Field: "request", Reason: "give a backupJobId or an instanceId"}
	}
	if req.BackupJobID != "" && !backupJobIDRe.MatchString(req.BackupJobID) {
		return nil, &amiswap.InvalidInputError{Field: "backupJobId", Reason: fmt.Sprintf("%q is not a backup job id", req.BackupJobID)}
	}
	if req.InstanceID != "" {
		if err := checkID("instanceId", req.InstanceID, instanceIDRe); err != nil {
			return nil, err
		}
	}
	if req.ResourceArn != "" && !instanceArnRe.MatchString(req.ResourceArn) {
		return nil, &amiswap.InvalidInputError{Field: "resourceArn", Reason: fmt.Sprintf("%q is not an EC2 instance ARN", req.ResourceArn)}
	}
	if req.RecoveryPointArn != "" && !strings.HasPrefix(req.RecoveryPointArn, "arn:") {
		return nil, &amiswap.InvalidInputError{Field: "recoveryPointArn", Reason: fmt.Sprintf("%q is not an ARN", req.RecoveryPointArn)}
	}
	if req.RecoveryPointArn != "" && !imageArnRe.MatchString(req.RecoveryPointArn) {
		// An EBS snapshot, or another service's recovery point: there is
		// no AMI to build from.
		return skip("the recovery point %s is not an EC2 AMI: there is no image to build a golden AMI from", req.RecoveryPointArn)
	}

	// The backup job: named, or the instance's newest completed one.
	var inst *ec2types.Instance
	var job *resolvedJob
	if req.BackupJobID != "" {
		out, err := r.backup.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String(req.BackupJobID)})
		if err != nil {
			if apiCode(err) == "ResourceNotFoundException" {
				return nil, &amiswap.InvalidInputError{Field: "backupJobId", Reason: fmt.Sprintf("there is no backup job %s", req.BackupJobID)}
			}
			return nil, classify("backup:DescribeBackupJob", err)
		}
		job = &resolvedJob{
			ID: req.BackupJobID, State: string(out.State), ResourceArn: aws.ToString(out.ResourceArn),
			ResourceType: aws.ToString(out.ResourceType), RecoveryPointArn: aws.ToString(out.RecoveryPointArn),
			Vault: aws.ToString(out.BackupVaultName), Created: aws.ToTime(out.CreationDate),
		}
	} else {
		var owner, reason string
		var err error
		inst, owner, reason, err = r.instance(ctx, req.InstanceID)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			return skip("%s", reason)
		}
		t.Source.InstanceID = req.InstanceID
		job, err = r.newestJob(ctx, req.InstanceID, owner)
		if err != nil {
			return nil, err
		}
		if job == nil {
			return skip("instance %s has no COMPLETED backup job", req.InstanceID)
		}
	}
	t.Source.BackupJobID = job.ID
	t.Source.BackupVaultName = job.Vault
	if t.Source.BackupVaultName == "" {
		t.Source.BackupVaultName = req.BackupVaultName
	}
	if job.State != string(backuptypes.BackupJobStateCompleted) {
		return skip("the backup job %s is %s, not COMPLETED", job.ID, job.State)
	}
	if job.ResourceType != "" && job.ResourceType != "EC2" {
		return skip("the backup job %s is of a %s resource, not an EC2 instance", job.ID, job.ResourceType)
	}
	m := instanceArnRe.FindStringSubmatch(job.ResourceArn)
	if m == nil {
		return skip("the backup job %s backed up %q, not an EC2 instance", job.ID, job.ResourceArn)
	}
	instanceID := m[1]
	if req.InstanceID != "" && req.InstanceID != instanceID {
		return nil, &amiswap.InvalidInputError{Field: "instanceId", Reason: fmt.Sprintf("backup job %s is of instance %s, not %s", job.ID, instanceID, req.InstanceID)}
	}
	t.Source.InstanceID = instanceID
	m = imageArnRe.FindStringSubmatch(job.RecoveryPointArn)
	if m == nil {
		return skip("the backup job %s has no AMI recovery point (recovery point %q)", job.ID, job.RecoveryPointArn)
	}
	t.Source.RecoveryPointArn, t.Source.ImageID = job.RecoveryPointArn, m[1]

	// The instance and its group.
	if inst == nil {
		var reason string
		var err error
		inst, _, reason, err = r.instance(ctx, instanceID)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			return skip("%s", reason)
		}
	}
	groupName := ""
	for _, tag := range inst.Tags {
		if aws.ToString(tag.Key) == asgGroupNameTag {
			groupName = aws.ToString(tag.Value)
		}
	}
	if groupName == "" {
		return skip("the instance %s is not in an Auto Scaling group", instanceID)
	}
	t.Group = groupName
	g, err := describeGroup(ctx, r.asg, groupName)
	if errors.Is(err, errGroupGone) || (err == nil && strings.HasPrefix(aws.ToString(g.Status), "Delete")) {
		return skip("the Auto Scaling group %s no longer exists", groupName)
	}
	if err != nil {
		return nil, err
	}
	tags := groupTags(g)
	if ok, why := amiswap.Enabled(tags); !ok {
		return skip("%s", why)
	}
	settings, err := amiswap.ParseSettings(tags)
	if err != nil {
		return nil, err
	}
	t.Settings = settings
	t.Capacity = amiswap.Capacity{Min: aws.ToInt32(g.MinSize), Max: aws.ToInt32(g.MaxSize), Desired: aws.ToInt32(g.DesiredCapacity)}
	if aws.ToString(g.LaunchConfigurationName) != "" {
		return skip("the Auto Scaling group %s uses a launch configuration, which amiswap does not support; move it to a launch template", groupName)
	}
	lt, data, err := templateVersion(ctx, r.ec2, g)
	if errors.Is(err, errNoTemplate) {
		return skip("the Auto Scaling group %s has no launch template", groupName)
	}
	if err != nil {
		return nil, err
	}
	t.LaunchTemplate = lt
	if strings.HasPrefix(lt.ImageID, "resolve:ssm:") {
		return skip("version %s of launch template %s takes its image from the SSM parameter %s; amiswap cannot pin a parameter-based image (put an AMI id in the launch template)",
			lt.SourceVersion, lt.ID, strings.TrimPrefix(lt.ImageID, "resolve:ssm:"))
	}

	// The backup AMI.
	img, err := describeImage(ctx, r.ec2, t.Source.ImageID)
	if err != nil {
		return nil, err
	}
	if img == nil {
		return skip("the recovery point AMI %s no longer exists", t.Source.ImageID)
	}
	if img.State != ec2types.ImageStateAvailable {
		return skip("the recovery point AMI %s is %s, not available", t.Source.ImageID, img.State)
	}
	t.Source.Platform = "linux"
	if strings.EqualFold(string(img.Platform), "windows") { // EC2 answers "windows"; the SDK enum says "Windows"
		t.Source.Platform = "windows"
	}
	if settings.OS != "" {
		t.Source.Platform = settings.OS
	}

	// Duplicate and stale events.
	if strings.HasPrefix(lt.ImageID, "ami-") {
		cur, err := describeImage(ctx, r.ec2, lt.ImageID)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			ct := map[string]string{}
			for _, tag := range cur.Tags {
				ct[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if ct[amiswap.TagRole] == amiswap.RoleGolden {
				if ct[amiswap.TagBackupJob] == job.ID {
					return skip("the group %s is already swapped from this backup (golden AMI %s)", groupName, lt.ImageID)
				}
				if at, err := time.Parse(time.RFC3339, ct[amiswap.TagCreatedAt]); err == nil && !job.Created.IsZero() && at.After(job.Created) {
					return skip("the group %s is already on a golden AMI built from a newer backup (%s, created %s; this backup job was created %s)",
						groupName, lt.ImageID, at.UTC().Format(time.RFC3339), job.Created.UTC().Format(time.RFC3339))
				}
			}
		}
	}

	// The KMS keys of an encrypted backup: amiswap must be able to use
	// them, or nothing can be built from it.
	if t.Source.KmsKeyArns, err = r.keys.customerKeys(ctx, img); err != nil {
		return nil, err
	}

	// The builder's launch spec.
	b, err := r.builderSpec(g, data, settings)
	if err != nil {
		return nil, err
	}
	t.Builder = b
	t.Verifier = verifierSpec(g, data, b)
	return t, nil
}

// verifierSpec is how the verifier is launched: as the group launches its
// instances (the template's or the mixed policy's instance type, the
// group's subnet, security groups, instance profile and metadata options),
// without the builder's overrides. A setting the group does not have is
// taken from the builder.
func verifierSpec(g *asgtypes.AutoScalingGroup, data *ec2types.ResponseLaunchTemplateData, builder amiswap.BuilderSpec) amiswap.BuilderSpec {
	v, err := groupSpec(g, data, "")
	if err != nil || v.InstanceType == "" {
		v.InstanceType = builder.InstanceType
	}
	if v.SubnetID == "" {
		v.SubnetID = builder.SubnetID
	}
	if len(v.SecurityGroupIDs) == 0 {
		v.SecurityGroupIDs = append([]string{}, builder.SecurityGroupIDs...)
	}
	if v.InstanceProfileArn == "" && v.InstanceProfile == "" {
		v.InstanceProfileArn, v.InstanceProfile = builder.InstanceProfileArn, builder.InstanceProfile
	}
	if m := data.MetadataOptions; m != nil {
		v.HTTPTokens, v.HTTPEndpoint = string(m.HttpTokens), string(m.HttpEndpoint)
		v.HTTPHopLimit = aws.ToInt32(m.HttpPutResponseHopLimit)
	}
	return v
}

// instance describes an instance and returns it with the account that
// owns it; when it is gone, reason says so.
func (r *Resolver) instance(ctx context.Context, id string) (in *ec2types.Instance, owner, reason string, err error) {
	in, owner, err = describeInstance(ctx, r.ec2, id)
	if err != nil {
		return nil, "", "", err
	}
	switch instanceState(in) {
	case ec2types.InstanceStateNameTerminated, ec2types.InstanceStateNameShuttingDown:
		in = nil
	}
	if in == nil {
		return nil, "", fmt.Sprintf("the instance %s no longer exists", id), nil
	}
	return in, owner, "", nil
}

// arnPartition is the ARN partition of a region.
func arnPartition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// newestJob returns the instance's newest COMPLETED backup job, or nil.
func (r *Resolver) newestJob(ctx context.Context, instanceID, owner string) (*resolvedJob, error) {
	if r.region == "" || owner == "" {
		return nil, &amiswap.AWSError{Op: "backup:ListBackupJobs", Err: fmt.Errorf("cannot build the ARN of instance %s (region %q, account %q)", instanceID, r.region, owner)}
	}
	arn := fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", arnPartition(r.region), r.region, owner, instanceID)
	in := &backup.ListBackupJobsInput{ByResourceArn: aws.String(arn), ByState: backuptypes.BackupJobStateCompleted}
	var best *resolvedJob
	for {
		out, err := r.backup.ListBackupJobs(ctx, in)
		if err != nil {
			return nil, classify("backup:ListBackupJobs", err)
		}
		for _, j := range out.BackupJobs {
			if j.State != backuptypes.BackupJobStateCompleted {
				continue
			}
			c := aws.ToTime(j.CreationDate)
			if best == nil || c.After(best.Created) {
				best = &resolvedJob{
					ID: aws.ToString(j.BackupJobId), State: string(j.State), ResourceArn: aws.ToString(j.ResourceArn),
					ResourceType: aws.ToString(j.ResourceType), RecoveryPointArn: aws.ToString(j.RecoveryPointArn),
					Vault: aws.ToString(j.BackupVaultName), Created: c,
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return best, nil
		}
		in.NextToken = out.NextToken
	}
}

// builderSpec is how the builder is launched: the group's instance type,
// subnet, security groups and instance profile, unless the settings or the
// configuration override them.
func (r *Resolver) builderSpec(g *asgtypes.AutoScalingGroup, data *ec2types.ResponseLaunchTemplateData, s amiswap.Settings) (amiswap.BuilderSpec, error) {
	b, err := groupSpec(g, data, s.InstanceType)
	if err != nil {
		return b, err
	}
	return builderOverrides(b, r.conf), nil
}

// groupSpec is how the group launches an instance: instanceType (when not
// empty) or the group's, its subnet, security groups and instance profile.
func groupSpec(g *asgtypes.AutoScalingGroup, data *ec2types.ResponseLaunchTemplateData, instanceType string) (amiswap.BuilderSpec, error) {
	b := amiswap.BuilderSpec{SecurityGroupIDs: []string{}}
	b.InstanceType = instanceType
	if b.InstanceType == "" && g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
		for _, o := range g.MixedInstancesPolicy.LaunchTemplate.Overrides {
			if v := aws.ToString(o.InstanceType); v != "" {
				b.InstanceType = v
				break
			}
		}
	}
	if b.InstanceType == "" {
		b.InstanceType = string(data.InstanceType)
	}
	if b.InstanceType == "" {
		return b, &amiswap.InvalidInputError{Field: "tag " + amiswap.TagInstanceType,
			Reason: fmt.Sprintf("the launch template of group %s names no instance type; set this tag to the builder's instance type", aws.ToString(g.AutoScalingGroupName))}
	}

	for _, s := range strings.Split(aws.ToString(g.VPCZoneIdentifier), ",") {
		if s = strings.TrimSpace(s); s != "" {
			b.SubnetID = s
			break
		}
	}
	if b.SubnetID == "" {
		for _, ni := range data.NetworkInterfaces {
			if v := aws.ToString(ni.SubnetId); v != "" {
				b.SubnetID = v
				break
			}
		}
	}

	switch {
	case len(data.SecurityGroupIds) > 0:
		b.SecurityGroupIDs = append(b.SecurityGroupIDs, data.SecurityGroupIds...)
	default:
		for _, ni := range data.NetworkInterfaces {
			if len(ni.Groups) > 0 {
				b.SecurityGroupIDs = append(b.SecurityGroupIDs, ni.Groups...)
				break
			}
		}
	}

	if data.IamInstanceProfile != nil {
		b.InstanceProfileArn = aws.ToString(data.IamInstanceProfile.Arn)
		b.InstanceProfile = aws.ToString(data.IamInstanceProfile.Name)
	}
	b.MetadataOptions = metadataOptions(data.MetadataOptions)
	return b, nil
}

// metadataOptions are the builder's metadata options: what the launch
// template sets, IMDSv2 required (HttpTokens "required") and the endpoint
// enabled where it says nothing. The builder runs the group's own software
// (the backup of one of its instances), which may rely on the template's
// settings: IMDSv1 where the template allows it, the hop limit containers
// need, tags in the metadata ("Configure the instance metadata options",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html).
func metadataOptions(m *ec2types.LaunchTemplateInstanceMetadataOptions) *amiswap.MetadataOptions {
	out := &amiswap.MetadataOptions{
		HttpTokens:   string(ec2types.HttpTokensStateRequired),
		HttpEndpoint: string(ec2types.InstanceMetadataEndpointStateEnabled),
	}
	if m == nil {
		return out
	}
	if m.HttpTokens != "" {
		out.HttpTokens = string(m.HttpTokens)
	}
	if m.HttpEndpoint != "" {
		out.HttpEndpoint = string(m.HttpEndpoint)
	}
	out.HttpPutResponseHopLimit = aws.ToInt32(m.HttpPutResponseHopLimit)
	out.InstanceMetadataTags = string(m.InstanceMetadataTags)
	return out
}

// builderOverrides is spec with the deployment's builder overrides (see
// Config) in place of the group's subnet, security groups and instance
// profile.
func builderOverrides(spec amiswap.BuilderSpec, c Config) amiswap.BuilderSpec {
	if c.BuilderSubnetID != "" {
		spec.SubnetID = c.BuilderSubnetID
	}
	if len(c.BuilderSecurityGroupIDs) > 0 {
		spec.SecurityGroupIDs = append([]string{}, c.BuilderSecurityGroupIDs...)
	}
	if v := c.BuilderInstanceProfile; v != "" {
		spec.InstanceProfileArn, spec.InstanceProfile = "", ""
		if strings.HasPrefix(v, "arn:") {
			spec.InstanceProfileArn = v
		} else {
			spec.InstanceProfile = v
		}
	}
	return spec
}

// errNoTemplate says a group launches from no launch template.
var errNoTemplate = errors.New("the group has no launch template")

// templateVersion resolves the launch template version a group launches
// from: its id, name, the version as the group names it ($Default when it
// names none, as Auto Scaling reads it), the number that stands for, and
// that version's data and AMI. A group on no launch template is
// errNoTemplate.
func templateVersion(ctx context.Context, c versionLister, g *asgtypes.AutoScalingGroup) (amiswap.LaunchTemplateRef, *ec2types.ResponseLaunchTemplateData, error) {
	spec := groupTemplate(g)
	if spec == nil {
		return amiswap.LaunchTemplateRef{}, nil, errNoTemplate
	}
	lt := amiswap.LaunchTemplateRef{
		ID: aws.ToString(spec.LaunchTemplateId), Name: aws.ToString(spec.LaunchTemplateName),
		Version: aws.ToString(spec.Version),
		Mixed:   spec != g.LaunchTemplate, // the mixed instances policy's specification
	}
	if lt.Version == "" {
		lt.Version = "$Default" // what Auto Scaling uses when the group names none
	}
	id, name := templateIdent(lt)
	vout, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: id, LaunchTemplateName: name, Versions: []string{lt.Version},
	})
	if err != nil {
		return lt, nil, classify("ec2:DescribeLaunchTemplateVersions", err)
	}
	if len(vout.LaunchTemplateVersions) == 0 {
		return lt, nil, &amiswap.AWSError{Op: "ec2:DescribeLaunchTemplateVersions", Err: fmt.Errorf("version %s of launch template %s not found", lt.Version, lt.ID+lt.Name)}
	}
	ver := vout.LaunchTemplateVersions[0]
	if v := aws.ToString(ver.LaunchTemplateId); v != "" {
		lt.ID = v
	}
	if v := aws.ToString(ver.LaunchTemplateName); v != "" {
		lt.Name = v
	}
	lt.SourceVersion = strconv.FormatInt(aws.ToInt64(ver.VersionNumber), 10)
	data := ver.LaunchTemplateData
	if data == nil {
		data = &ec2types.ResponseLaunchTemplateData{}
	}
	lt.ImageID = aws.ToString(data.ImageId)
	return lt, data, nil
}
