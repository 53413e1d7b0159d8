package sandbox

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// GroupSnapshot is what a group looks like through the APIs: taken before a
// swap, it is what a compensated failure must give back exactly.
type GroupSnapshot struct {
	Name               string
	Min, Max, Desired  int32
	LaunchTemplateID   string
	GroupVersion       string // as the group names it
	DefaultVersion     int64
	LatestVersion      int64
	ImageID            string // of the version the group uses
	Tags               map[string]string
	RecoveryPointImage string
	RecoveryPointSnaps []string
}

// Snapshot reads a group's settings and launch template.
func Snapshot(ctx context.Context, cfg aws.Config, group string) (GroupSnapshot, error) {
	snap := GroupSnapshot{Name: group, Tags: map[string]string{}}
	out, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return snap, fmt.Errorf("describe group: %w", err)
	}
	if len(out.AutoScalingGroups) != 1 {
		return snap, fmt.Errorf("group %s not found", group)
	}
	g := out.AutoScalingGroups[0]
	snap.Min, snap.Max, snap.Desired = aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity)
	for _, t := range g.Tags {
		snap.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	spec := g.LaunchTemplate
	if spec == nil && g.MixedInstancesPolicy != nil {
		spec = g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	}
	if spec == nil {
		return snap, fmt.Errorf("group %s has no launch template", group)
	}
	snap.LaunchTemplateID, snap.GroupVersion = aws.ToString(spec.LaunchTemplateId), aws.ToString(spec.Version)
	e := ec2.NewFromConfig(cfg)
	lts, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{snap.LaunchTemplateID}})
	if err != nil {
		return snap, fmt.Errorf("describe launch template: %w", err)
	}
	snap.DefaultVersion = aws.ToInt64(lts.LaunchTemplates[0].DefaultVersionNumber)
	snap.LatestVersion = aws.ToInt64(lts.LaunchTemplates[0].LatestVersionNumber)
	v := snap.GroupVersion
	if v == "" {
		v = "$Default"
	}
	vers, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(snap.LaunchTemplateID), Versions: []string{v}})
	if err != nil {
		return snap, fmt.Errorf("describe launch template version %s: %w", v, err)
	}
	snap.ImageID = aws.ToString(vers.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
	return snap, nil
}

// WithRecoveryPoint records the recovery point's AMI and snapshots, so that
// VerifySwapped can check they are gone.
func (g *GroupSnapshot) WithRecoveryPoint(ctx context.Context, cfg aws.Config, recoveryPointArn string) error {
	id := recoveryPointArn[strings.LastIndex(recoveryPointArn, "/")+1:]
	out, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return fmt.Errorf("describe recovery point image: %w", err)
	}
	g.RecoveryPointImage = id
	for _, im := range out.Images {
		for _, m := range im.BlockDeviceMappings {
			if m.Ebs != nil {
				g.RecoveryPointSnaps = append(g.RecoveryPointSnaps, aws.ToString(m.Ebs.SnapshotId))
			}
		}
	}
	return nil
}

// Checks is the outcome of a verification: what was confirmed, what was not.
type Checks struct {
	Passed   []string
	Problems []string
}

func (c *Checks) check(ok bool, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ok {
		c.Passed = append(c.Passed, msg)
	} else {
		c.Problems = append(c.Problems, msg)
	}
}

// OK reports whether every check passed.
func (c *Checks) OK() bool { return len(c.Problems) == 0 }

// VerifySwapped checks, through the APIs, the end state of a successful
// swap described by st: the group is on a new launch template version whose
// AMI is the available golden AMI with lineage tags (on the image and its
// snapshots), the group's sizes are as before, the builder is terminated,
// the recovery point is gone with its snapshots (when it was to be deleted),
// no amiswap tag is left on the group, and (when the group verifies) a
// verifier booted from the golden AMI before the launch template changed
// and is terminated.
func VerifySwapped(ctx context.Context, cfg aws.Config, before GroupSnapshot, st workflow.State) (Checks, error) {
	var c Checks
	if st.Image == nil || st.Swap == nil || st.Builder == nil || st.Target == nil {
		return c, fmt.Errorf("the execution output lacks image, swap, builder or target")
	}
	after, err := Snapshot(ctx, cfg, before.Name)
	if err != nil {
		return c, err
	}
	golden := st.Image.ImageID
	c.check(after.ImageID == golden, "group %s launches %s (launch template %s, version %s)", after.Name, after.ImageID, after.LaunchTemplateID, after.GroupVersion)
	c.check(after.ImageID != before.ImageID, "the AMI changed from %s", before.ImageID)
	c.check(after.Min == before.Min && after.Max == before.Max && after.Desired == before.Desired,
		"sizes min/max/desired %d/%d/%d as before (%d/%d/%d)", after.Min, after.Max, after.Desired, before.Min, before.Max, before.Desired)
	c.check(after.GroupVersion == before.GroupVersion || (before.GroupVersion != "$Default" && before.GroupVersion != "$Latest"),
		"the group still follows %s", before.GroupVersion)
	_, frozen := after.Tags[amiswap.TagOriginalMaxSize]
	c.check(!frozen, "no %s tag is left on the group", amiswap.TagOriginalMaxSize)

	e := ec2.NewFromConfig(cfg)
	ims, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{golden}})
	if err != nil || len(ims.Images) != 1 {
		c.check(false, "golden AMI %s can be described (%v)", golden, err)
		return c, nil
	}
	im := ims.Images[0]
	c.check(im.State == ec2types.ImageStateAvailable, "golden AMI %s is %s", golden, im.State)
	tags := tagMap(im.Tags)
	want := map[string]string{
		amiswap.TagRole: amiswap.RoleGolden, amiswap.TagGroup: before.Name,
		amiswap.TagBackupJob: st.Target.Source.BackupJobID, amiswap.TagRecoveryPoint: st.Target.Source.RecoveryPointArn,
		amiswap.TagParentImage: st.Target.Source.ImageID, amiswap.TagSourceInst: st.Target.Source.InstanceID,
	}
	c.check(hasTags(tags, want) && tags[amiswap.TagExecution] != "" && tags[amiswap.TagCreatedAt] != "", "golden AMI carries its lineage tags")
	var snapIDs []string
	for _, m := range im.BlockDeviceMappings {
		if m.Ebs != nil {
			snapIDs = append(snapIDs, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	if len(snapIDs) > 0 {
		snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snapIDs})
		ok := err == nil && len(snaps.Snapshots) == len(snapIDs)
		for _, s := range snaps.Snapshots {
			ok = ok && hasTags(tagMap(s.Tags), want)
		}
		c.check(ok, "its %d snapshot(s) carry the lineage tags", len(snapIDs))
	} else {
		c.check(false, "golden AMI %s has snapshots", golden)
	}
	inst, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{st.Builder.InstanceID}})
	state := "gone"
	if err == nil {
		for _, r := range inst.Reservations {
			for _, i := range r.Instances {
				state = string(i.State.Name)
			}
		}
	}
	c.check(state == "terminated" || state == "shutting-down" || state == "gone", "builder %s is %s", st.Builder.InstanceID, state)
	if st.Target.Settings.Verify {
		if err := verifiedBeforeRollout(ctx, e, &c, st); err != nil {
			return c, err
		}
	}
	if st.Target.Settings.DeleteRecoveryPoint && before.RecoveryPointImage != "" {
		out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{before.RecoveryPointImage}})
		gone := err != nil || len(out.Images) == 0
		c.check(gone, "recovery point AMI %s is deregistered", before.RecoveryPointImage)
		left := 0
		for _, id := range before.RecoveryPointSnaps {
			if _, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}}); err == nil {
				left++
			}
		}
		c.check(left == 0, "its %d snapshot(s) are deleted", len(before.RecoveryPointSnaps))
	}
	return c, nil
}

// VerifyRestored checks, through the APIs, that a failed swap left the group
// exactly as it was and nothing behind: same sizes, launch template
// reference, default and latest versions and AMI; no amiswap tag left; no
// builder or verifier running; no golden AMI of the execution nor any of
// its snapshots; the lock released.
func VerifyRestored(ctx context.Context, cfg aws.Config, lockTable string, before GroupSnapshot, executionID string) (Checks, error) {
	var c Checks
	after, err := Snapshot(ctx, cfg, before.Name)
	if err != nil {
		return c, err
	}
	c.check(after.Min == before.Min && after.Max == before.Max && after.Desired == before.Desired,
		"sizes min/max/desired %d/%d/%d as before (%d/%d/%d)", after.Min, after.Max, after.Desired, before.Min, before.Max, before.Desired)
	c.check(after.LaunchTemplateID == before.LaunchTemplateID && after.GroupVersion == before.GroupVersion,
		"the group names launch template %s version %s as before", after.LaunchTemplateID, after.GroupVersion)
	c.check(after.DefaultVersion == before.DefaultVersion, "the default version is %d as before (%d)", after.DefaultVersion, before.DefaultVersion)
	c.check(after.ImageID == before.ImageID, "the group launches %s as before (%s)", after.ImageID, before.ImageID)
	c.check(maps.Equal(after.Tags, before.Tags), "the group's tags are as before")

	e := ec2.NewFromConfig(cfg)
	running := 0
	out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder, amiswap.RoleVerifier}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		return c, fmt.Errorf("describe builders: %w", err)
	}
	for _, r := range out.Reservations {
		running += len(r.Instances)
	}
	c.check(running == 0, "no builder or verifier instance is left (%d found)", running)
	if executionID != "" {
		ims, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + amiswap.TagExecution), Values: []string{executionID}},
		}})
		if err != nil {
			return c, fmt.Errorf("describe golden images: %w", err)
		}
		c.check(len(ims.Images) == 0, "no golden AMI of the execution is left (%d found)", len(ims.Images))
		snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + amiswap.TagExecution), Values: []string{executionID}},
		}})
		if err != nil {
			return c, fmt.Errorf("describe golden snapshots: %w", err)
		}
		c.check(len(snaps.Snapshots) == 0, "no snapshot of the execution's golden AMI is left (%d found)", len(snaps.Snapshots))
	}
	if lockTable != "" {
		// A strongly consistent read: an eventually consistent one may
		// still see the lock for a moment after it was released.
		item, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(lockTable),
			ConsistentRead: aws.Bool(true),
			Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "group#" + before.Name}},
		})
		if err != nil {
			return c, fmt.Errorf("read lock: %w", err)
		}
		c.check(len(item.Item) == 0, "the group's lock is released")
	}
	return c, nil
}

// verifiedBeforeRollout checks that a verifier was launched from the
// golden AMI, tagged as amiswap's verifier of the execution, without a
// public IP, before the new launch template version was made, and that it
// is terminated.
func verifiedBeforeRollout(ctx context.Context, e *ec2.Client, c *Checks, st workflow.State) error {
	if st.Verifier == nil || st.Verifier.InstanceID == "" {
		c.check(false, "a verifier was launched (the group verifies)")
		return nil
	}
	out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{st.Verifier.InstanceID}})
	if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		c.check(false, "verifier %s can be described (%v)", st.Verifier.InstanceID, err)
		return nil
	}
	v := out.Reservations[0].Instances[0]
	tags := tagMap(v.Tags)
	c.check(aws.ToString(v.ImageId) == st.Image.ImageID && tags[amiswap.TagRole] == amiswap.RoleVerifier && tags[amiswap.TagExecution] != "" && v.PublicIpAddress == nil,
		"verifier %s booted from %s (tagged %s=%s, no public IP)", st.Verifier.InstanceID, aws.ToString(v.ImageId), amiswap.TagRole, tags[amiswap.TagRole])
	state := v.State.Name
	c.check(state == ec2types.InstanceStateNameTerminated || state == ec2types.InstanceStateNameShuttingDown, "verifier %s is %s", st.Verifier.InstanceID, state)
	lt, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(st.Swap.LaunchTemplateID), Versions: []string{st.Swap.NewVersion}})
	if err != nil {
		return fmt.Errorf("describe launch template version %s: %w", st.Swap.NewVersion, err)
	}
	ok := len(lt.LaunchTemplateVersions) == 1 && v.LaunchTime != nil && lt.LaunchTemplateVersions[0].CreateTime != nil &&
		v.LaunchTime.Before(*lt.LaunchTemplateVersions[0].CreateTime)
	c.check(ok, "the verification came before the launch template change (version %s)", st.Swap.NewVersion)
	return nil
}

func tagMap(ts []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
