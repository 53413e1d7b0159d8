package workflow

// This file holds the cleanup op: terminate the builder, dispose of the
// backup's recovery point, and keep only the newest golden AMIs of the
// group that no launch template version in use references.

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// cleanupEC2 is what cleanup asks EC2.
type cleanupEC2 interface {
	snapshotSweeper
	instanceDescriber
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	versionLister
	goldenRemover
}

// recoveryPointDeleter is what cleanup asks AWS Backup.
type recoveryPointDeleter interface {
	DeleteRecoveryPoint(ctx context.Context, in *backup.DeleteRecoveryPointInput, optFns ...func(*backup.Options)) (*backup.DeleteRecoveryPointOutput, error)
	DescribeRecoveryPoint(ctx context.Context, in *backup.DescribeRecoveryPointInput, optFns ...func(*backup.Options)) (*backup.DescribeRecoveryPointOutput, error)
}

// Cleanup removes what a finished swap no longer needs.
type Cleanup struct {
	EC2    cleanupEC2
	Backup recoveryPointDeleter
	// ASG lists the account's groups, so that retention keeps a golden AMI
	// that a launch template version another group names still uses.
	ASG groupReader
}

// Clean terminates the builder (an already terminated one is fine),
// deletes the recovery point when the group's settings say so, and
// applies retention. What became of the recovery point is reported in
// RecoveryPoint — deleted, deleting, expired or kept, with why — and a
// recovery point that could not be deleted for a reason that will not go
// away on a retry (a vault lock, access denied, EXPIRED) is not an error:
// the swap is done.
// TerminateBuilder terminates the builder the state names (the
// terminate-builder op, run as soon as the golden AMI is available, and
// again by Cleanup). An instance already gone is no error.
func (h *Cleanup) TerminateBuilder(ctx context.Context, p Payload) (*TerminateResult, error) {
	b := p.State.Builder
	if b == nil || b.InstanceID == "" {
		return &TerminateResult{}, nil
	}
	if err := checkID("state.builder.instanceId", b.InstanceID, instanceIDRe); err != nil {
		return nil, err
	}
	_, err := h.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{b.InstanceID}})
	if err != nil && apiCode(err) != "InvalidInstanceID.NotFound" {
		return nil, classify("ec2:TerminateInstances", err)
	}
	return &TerminateResult{InstanceID: b.InstanceID, Terminated: true}, nil
}

func (h *Cleanup) Clean(ctx context.Context, p Payload) (*CleanupResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	res := &CleanupResult{DeregisteredImages: []string{}, DeletedSnapshots: []string{}}

	// The backstop of TerminateBuilder: idempotent.
	tr, err := h.TerminateBuilder(ctx, p)
	if err != nil {
		return nil, err
	}
	res.BuilderTerminated = tr.Terminated

	// A verifier of this execution left by a lost answer.
	if _, err := terminateTagged(ctx, h.EC2, p.Context.ExecutionID, amiswap.RoleVerifier, ""); err != nil {
		return nil, err
	}

	if t.Settings.DeleteRecoveryPoint {
		if res.RecoveryPoint, err = h.deleteRecoveryPoint(ctx, t.Source); err != nil {
			return nil, err
		}
	} else {
		res.RecoveryPoint = &RecoveryPointOutcome{Status: RecoveryPointKept, Reason: amiswap.TagDeleteRecoveryPoint + "=false"}
	}

	if err := h.retain(ctx, p, t, res); err != nil {
		return nil, err
	}
	return res, nil
}

// deleteRecoveryPoint disposes of the backup through AWS Backup, which
// also deregisters its AMI and deletes its snapshots, and reports what
// became of it. DeleteRecoveryPoint answers 200 and deletes
// asynchronously; when the caller's permissions are insufficient it still
// answers 200 and the recovery point goes EXPIRED (AWS Backup API
// reference, DeleteRecoveryPoint,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html):
// so a 200 proves nothing, and DescribeRecoveryPoint says what happened.
func (h *Cleanup) deleteRecoveryPoint(ctx context.Context, src amiswap.Source) (*RecoveryPointOutcome, error) {
	if src.RecoveryPointArn == "" || src.BackupVaultName == "" {
		return &RecoveryPointOutcome{Status: RecoveryPointKept, Reason: "recovery point or backup vault unknown: nothing deleted"}, nil
	}
	where := fmt.Sprintf("recovery point %s in vault %s", src.RecoveryPointArn, src.BackupVaultName)
	_, err := h.Backup.DeleteRecoveryPoint(ctx, &backup.DeleteRecoveryPointInput{
		BackupVaultName:  aws.String(src.BackupVaultName),
		RecoveryPointArn: aws.String(src.RecoveryPointArn),
	})
	switch {
	case err == nil:
	case apiCode(err) == "ResourceNotFoundException":
		// Deleted by an earlier attempt of this step, or by someone else.
		return &RecoveryPointOutcome{Status: RecoveryPointDeleted, Reason: where + " no longer exists"}, nil
	case apiCode(err) == "InvalidResourceStateException":
		// Already being deleted (an earlier attempt of this step), or
		// busy with another action: its status says which.
	default:
		cerr := classify("backup:DeleteRecoveryPoint", err)
		if retryable(cerr) {
			return nil, cerr
		}
		return &RecoveryPointOutcome{Status: RecoveryPointKept, Reason: fmt.Sprintf("%s was not deleted: %v", where, err)}, nil
	}
	out, err := h.Backup.DescribeRecoveryPoint(ctx, &backup.DescribeRecoveryPointInput{
		BackupVaultName:  aws.String(src.BackupVaultName),
		RecoveryPointArn: aws.String(src.RecoveryPointArn),
	})
	switch {
	case apiCode(err) == "ResourceNotFoundException":
		return &RecoveryPointOutcome{Status: RecoveryPointDeleted, Reason: "AWS Backup deleted " + where}, nil
	case err != nil:
		cerr := classify("backup:DescribeRecoveryPoint", err)
		if retryable(cerr) {
			return nil, cerr
		}
		return &RecoveryPointOutcome{Status: RecoveryPointDeleting, Reason: fmt.Sprintf("AWS Backup accepted the deletion of %s; its status could not be read: %v", where, err)}, nil
	}
	switch out.Status {
	case backuptypes.RecoveryPointStatusExpired:
		reason := where + " is EXPIRED: AWS Backup could not delete it (the Cleanup role's permissions were not enough) and it keeps costing storage"
		if m := aws.ToString(out.StatusMessage); m != "" {
			reason += ": " + m
		}
		return &RecoveryPointOutcome{Status: RecoveryPointExpired, Reason: reason}, nil
	case backuptypes.RecoveryPointStatusDeleting:
		return &RecoveryPointOutcome{Status: RecoveryPointDeleting, Reason: "AWS Backup is deleting " + where}, nil
	}
	// Still COMPLETED (or another status): the deletion was accepted and
	// has not shown yet.
	return &RecoveryPointOutcome{Status: RecoveryPointDeleting, Reason: fmt.Sprintf("AWS Backup accepted the deletion of %s (status still %s)", where, out.Status)}, nil
}

// retain keeps the newest Keep golden AMIs of the group, the new one and
// every AMI that a launch template version in use references, and
// deregisters the rest. Their snapshots are then found again by their
// lineage tags, not from the images: every golden snapshot of the group
// whose image is gone is deleted, so that a crash or a retry after
// DeregisterImage (which takes the image's snapshot list with it) leaks
// nothing: the next attempt still finds the snapshots.
func (h *Cleanup) retain(ctx context.Context, p Payload, t *amiswap.Target, res *CleanupResult) error {
	filters := goldenFilters(amiswap.TagGroup, t.Group)
	golden, err := listGoldenImages(ctx, h.EC2, filters)
	if err != nil {
		return err
	}
	inUse, ok, err := h.imagesInUse(ctx, p, t)
	if err != nil {
		return err
	}
	if ok {
		if golden, err = h.deregisterOld(ctx, p, t, golden, inUse, res); err != nil {
			return err
		}
	}
	// Without the template nothing is provably unused and no image is
	// deregistered; snapshots whose image is already gone still go.
	deleted, err := sweepGoldenSnapshots(ctx, h.EC2, filters, golden)
	res.DeletedSnapshots = append(res.DeletedSnapshots, deleted...)
	return err
}

// deregisterOld deregisters the golden AMIs that retention does not keep
// and returns the ones left.
func (h *Cleanup) deregisterOld(ctx context.Context, p Payload, t *amiswap.Target, golden []ec2types.Image, inUse map[string]bool, res *CleanupResult) ([]ec2types.Image, error) {
	if img := p.State.Image; img != nil && img.ImageID != "" {
		inUse[img.ImageID] = true
	}
	// Newest first; CreationDate is ISO 8601 in UTC, so strings sort.
	sort.SliceStable(golden, func(i, j int) bool {
		return aws.ToString(golden[i].CreationDate) > aws.ToString(golden[j].CreationDate)
	})
	keep := max(t.Settings.Keep, 1)
	var candidates []string
	for i, img := range golden {
		id := aws.ToString(img.ImageId)
		if i >= keep && !inUse[id] && img.State != ec2types.ImageStatePending {
			candidates = append(candidates, id)
		}
	}
	if len(candidates) > 0 {
		used, err := h.referenced(ctx, candidates)
		if err != nil {
			return nil, err
		}
		for id := range used {
			inUse[id] = true
		}
	}
	var left []ec2types.Image
	for i, img := range golden {
		id := aws.ToString(img.ImageId)
		if i < keep || inUse[id] || img.State == ec2types.ImageStatePending {
			left = append(left, img)
			continue
		}
		gone, deleted, err := removeGolden(ctx, h.EC2, img)
		if gone {
			res.DeregisteredImages = append(res.DeregisteredImages, id)
		}
		res.DeletedSnapshots = append(res.DeletedSnapshots, deleted...)
		if err != nil {
			return nil, err
		}
	}
	return left, nil
}

// imagesInUse returns the AMIs that the group's launch template versions
// in use reference: $Default, $Latest, the version the group names and
// the one the swap created. ok is false when the state names no template,
// or when a version in use takes its AMI from an SSM parameter.
func (h *Cleanup) imagesInUse(ctx context.Context, p Payload, t *amiswap.Target) (map[string]bool, bool, error) {
	lt := t.LaunchTemplate
	in := &ec2.DescribeLaunchTemplateVersionsInput{}
	id, name := lt.ID, lt.Name
	if s := p.State.Swap; s != nil && s.LaunchTemplateID != "" {
		id = s.LaunchTemplateID
	}
	switch {
	case id != "":
		in.LaunchTemplateId = aws.String(id)
	case name != "":
		in.LaunchTemplateName = aws.String(name)
	default:
		return nil, false, nil
	}
	versions := []string{"$Default", "$Latest"}
	add := func(v string) {
		if v != "" && !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	add(lt.Version)
	add(lt.SourceVersion)
	if s := p.State.Swap; s != nil {
		add(s.GroupVersion)
		add(s.NewVersion)
		add(s.PreviousGroupVersion)
	}
	in.Versions = versions
	out, err := h.EC2.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return nil, false, classify("ec2:DescribeLaunchTemplateVersions", err)
	}
	used := map[string]bool{}
	for _, v := range out.LaunchTemplateVersions {
		d := v.LaunchTemplateData
		if d == nil {
			continue
		}
		image := aws.ToString(d.ImageId)
		if strings.HasPrefix(image, "resolve:ssm:") {
			// The AMI behind the parameter is unknown here: any golden
			// AMI may be the one in use, so none is provably unused.
			return nil, false, nil
		}
		if image != "" {
			used[image] = true
		}
	}
	return used, true, nil
}

// referenced returns which of images are still in use beyond the group's
// own launch template: run by an instance that is not terminated, or
// referenced by the $Default or $Latest version of any launch template in
// the account, or by a numbered version that some Auto Scaling group names.
// These calls are made only when retention has something to remove.
func (h *Cleanup) referenced(ctx context.Context, images []string) (map[string]bool, error) {
	used := map[string]bool{}
	want := func(id string) bool { return slices.Contains(images, id) }
	// Instances: pending, running, stopping and stopped ones may launch or
	// start again from their AMI's snapshots only while it exists.
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("image-id"), Values: images},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}},
	}}
	for {
		out, err := h.EC2.DescribeInstances(ctx, in)
		if err != nil {
			return nil, classify("ec2:DescribeInstances", err)
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				if id := aws.ToString(i.ImageId); want(id) {
					used[id] = true
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	// Every template's $Default and $Latest (EC2 describes them all in
	// one call when no template is named).
	vin := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default", "$Latest"},
		Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: images}}}
	if err := h.versionImages(ctx, vin, want, used); err != nil {
		return nil, err
	}
	if h.ASG == nil {
		return used, nil
	}
	// Numbered versions that groups name.
	pinned := map[string][]string{} // template id or name → versions
	gin := &autoscaling.DescribeAutoScalingGroupsInput{}
	for {
		out, err := h.ASG.DescribeAutoScalingGroups(ctx, gin)
		if err != nil {
			return nil, classify("autoscaling:DescribeAutoScalingGroups", err)
		}
		for i := range out.AutoScalingGroups {
			spec := groupTemplate(&out.AutoScalingGroups[i])
			if spec == nil || isAlias(aws.ToString(spec.Version)) {
				continue
			}
			key := cmp.Or(aws.ToString(spec.LaunchTemplateId), "name:"+aws.ToString(spec.LaunchTemplateName))
			if v := aws.ToString(spec.Version); !slices.Contains(pinned[key], v) {
				pinned[key] = append(pinned[key], v)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		gin.NextToken = out.NextToken
	}
	for _, key := range slices.Sorted(maps.Keys(pinned)) {
		vin := &ec2.DescribeLaunchTemplateVersionsInput{Versions: pinned[key], Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: images}}}
		if name, ok := strings.CutPrefix(key, "name:"); ok {
			vin.LaunchTemplateName = aws.String(name)
		} else {
			vin.LaunchTemplateId = aws.String(key)
		}
		if err := h.versionImages(ctx, vin, want, used); err != nil {
			return nil, err
		}
	}
	return used, nil
}

// versionImages adds the wanted AMIs that the described versions use.
func (h *Cleanup) versionImages(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, want func(string) bool, used map[string]bool) error {
	for {
		out, err := h.EC2.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			if code := apiCode(err); strings.HasPrefix(code, "InvalidLaunchTemplate") {
				return nil // a template or version deleted meanwhile uses nothing
			}
			return classify("ec2:DescribeLaunchTemplateVersions", err)
		}
		for _, v := range out.LaunchTemplateVersions {
			if d := v.LaunchTemplateData; d != nil && want(aws.ToString(d.ImageId)) {
				used[aws.ToString(d.ImageId)] = true
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}
