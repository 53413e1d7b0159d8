package workflow

// This file holds the create-image and check-image ops: the golden AMI of
// the stopped builder, tagged with its lineage, and the wait for it; plus
// the AMI lookup that resolve and compensate share.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	imageDeadline = 3 * time.Hour
	// maxImageName is the longest AMI name EC2 accepts.
	maxImageName = 128
)

// imageNameTime is the timestamp layout of golden AMI names.
const imageNameTime = "20060102T150405Z"

// GoldenImageName is the name of the golden AMI that a swap of group
// entered at t creates: amiswap-<group>-<yyyymmddThhmmssZ>, with the
// characters that AMI names do not allow replaced by "-" and the group cut
// so that the whole stays within 128 characters.
func GoldenImageName(group string, t time.Time) string {
	stamp := "-" + t.UTC().Format(imageNameTime)
	var b strings.Builder
	for _, r := range "amiswap-" + group {
		if imageNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > maxImageName-len(stamp) {
		name = name[:maxImageName-len(stamp)]
	}
	return name + stamp
}

// imageNameChar reports whether r may appear in an AMI name: letters,
// digits and ( ) [ ] space . / - ' @ _ (ASCII only).
func imageNameChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("()[] ./-'@_", r)
}

// imageDescriber is DescribeImages, used by every op that looks at AMIs.
type imageDescriber interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// describeImage returns one AMI, or nil when EC2 answers
// InvalidAMIID.NotFound (or an empty list).
func describeImage(ctx context.Context, c imageDescriber, id string) (*ec2types.Image, error) {
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		if apiCode(err) == "InvalidAMIID.NotFound" {
			return nil, nil
		}
		return nil, classify("ec2:DescribeImages", err)
	}
	for i := range out.Images {
		if aws.ToString(out.Images[i].ImageId) == id {
			return &out.Images[i], nil
		}
	}
	return nil, nil
}

// imageSnapshots lists the EBS snapshots behind an AMI.
func imageSnapshots(img ec2types.Image) []string {
	var snaps []string
	for _, bd := range img.BlockDeviceMappings {
		if bd.Ebs != nil && aws.ToString(bd.Ebs.SnapshotId) != "" {
			snaps = append(snaps, aws.ToString(bd.Ebs.SnapshotId))
		}
	}
	return snaps
}

// imageCreator is what create-image calls.
type imageCreator interface {
	imageDescriber
	CreateImage(ctx context.Context, in *ec2.CreateImageInput, optFns ...func(*ec2.Options)) (*ec2.CreateImageOutput, error)
}

// CreateImage images the stopped builder.
type CreateImage struct {
	EC2 imageCreator
}

// Create creates the golden AMI of the builder, with the lineage tags on
// the image and its snapshots. It creates one image per execution: an
// image of this execution already registered (found by name, or by the
// execution tag when the step was entered anew) is returned instead.
func (h *CreateImage) Create(ctx context.Context, p Payload) (*ImageResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	if p.Context.ExecutionID == "" {
		return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "missing"}
	}
	if err := checkID("target.source.imageId", t.Source.ImageID, imageIDRe); err != nil {
		return nil, err
	}
	name := GoldenImageName(t.Group, now)

	if found, err := h.existing(ctx, now, name, p.Context.ExecutionID); err != nil || found != nil {
		return found, err
	}

	lineage := amiswap.Lineage{
		Group:          t.Group,
		SourceInstance: t.Source.InstanceID,
		BackupJob:      t.Source.BackupJobID,
		RecoveryPoint:  t.Source.RecoveryPointArn,
		ParentImage:    t.Source.ImageID,
		Execution:      p.Context.ExecutionID,
		CreatedAt:      now,
	}
	tags := imageTags(lineage, name)
	desc := fmt.Sprintf("amiswap golden AMI of %s from backup job %s (parent %s)", t.Group, cmp.Or(t.Source.BackupJobID, "unknown"), t.Source.ImageID)
	if r := []rune(desc); len(r) > 255 {
		desc = string(r[:255])
	}
	out, err := h.EC2.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId:  aws.String(id),
		Name:        aws.String(name),
		Description: aws.String(desc),
		// The builder is stopped: there is nothing to reboot for.
		NoReboot: aws.Bool(true),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeImage, Tags: tags},
			{ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags},
		},
	})
	if err != nil {
		if apiCode(err) == "InvalidAMIName.Duplicate" {
			// An earlier attempt created it after all.
			if found, ferr := h.existing(ctx, now, name, p.Context.ExecutionID); ferr != nil || found != nil {
				return found, ferr
			}
			return nil, &amiswap.TransientError{Op: "ec2:CreateImage", Err: err}
		}
		return nil, classify("ec2:CreateImage", err)
	}
	if aws.ToString(out.ImageId) == "" {
		return nil, &amiswap.AWSError{Op: "ec2:CreateImage", Err: errors.New("no image id in the answer")}
	}
	return &ImageResult{ImageID: aws.ToString(out.ImageId), Name: name, RequestedAt: now}, nil
}

// imageTags are the golden AMI's tags: its lineage and its Name.
func imageTags(l amiswap.Lineage, name string) []ec2types.Tag {
	m := l.Tags()
	m["Name"] = name
	return ec2Tags(m)
}

// existing finds this execution's golden AMI: by name, then by the
// execution tag. It returns nil when there is none.
func (h *CreateImage) existing(ctx context.Context, now time.Time, name, execution string) (*ImageResult, error) {
	queries := [][]ec2types.Filter{
		{{Name: aws.String("name"), Values: []string{name}}},
		{
			tagFilter(amiswap.TagExecution, execution),
			tagFilter(amiswap.TagRole, amiswap.RoleGolden),
		},
	}
	for _, filters := range queries {
		out, err := h.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: filters})
		if err != nil {
			return nil, classify("ec2:DescribeImages", err)
		}
		for _, img := range out.Images {
			switch img.State {
			case ec2types.ImageStateDeregistered, ec2types.ImageStateDisabled:
				continue
			}
			requested := now
			if t, err := time.Parse(time.RFC3339, aws.ToString(img.CreationDate)); err == nil {
				requested = t
			}
			return &ImageResult{ImageID: aws.ToString(img.ImageId), Name: aws.ToString(img.Name), RequestedAt: requested}, nil
		}
	}
	return nil, nil
}

// ---- check-image -----------------------------------------------------------

// CheckImage waits for the golden AMI to be available.
type CheckImage struct {
	EC2 imageDescriber
	// Deprecator schedules the AMI's deprecation (amiswap:deprecate-after).
	Deprecator imageDeprecator
}

// imageDeprecator is what check-image calls to schedule a deprecation.
type imageDeprecator interface {
	EnableImageDeprecation(ctx context.Context, in *ec2.EnableImageDeprecationInput, optFns ...func(*ec2.Options)) (*ec2.EnableImageDeprecationOutput, error)
}

// deprecate schedules the image's deprecation at its creation plus the
// group's amiswap:deprecate-after, unless it is already scheduled then.
// EC2 refuses a time in the past and rounds to the minute
// ("EnableImageDeprecation",
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_EnableImageDeprecation.html).
func (h *CheckImage) deprecate(ctx context.Context, img *ec2types.Image, after time.Duration, now time.Time) error {
	created, err := time.Parse(time.RFC3339, aws.ToString(img.CreationDate))
	if err != nil {
		created = now
	}
	at := created.Add(after).UTC().Round(time.Minute)
	if floor := now.Add(2 * time.Minute).Truncate(time.Minute); at.Before(floor) {
		at = floor
	}
	if cur, err := time.Parse(time.RFC3339, aws.ToString(img.DeprecationTime)); err == nil && cur.Equal(at) {
		return nil
	}
	if h.Deprecator == nil {
		return &amiswap.AWSError{Op: "ec2:EnableImageDeprecation", Err: errors.New("no EC2 client to deprecate with")}
	}
	if _, err := h.Deprecator.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: img.ImageId, DeprecateAt: aws.Time(at)}); err != nil {
		return classify("ec2:EnableImageDeprecation", err)
	}
	return nil
}

// Check reports ready when the AMI is available. Shortly after CreateImage
// the AMI may not be visible yet (waited on); failed, deregistered, invalid
// or error is a *amiswap.ImageFailedError; three hours after the request,
// a *amiswap.StepTimeoutError. Waits follow the typical duration: 10-30
// minutes for Windows, a few for Linux.
func (h *CheckImage) Check(ctx context.Context, p Payload) (*PollResult, error) {
	now, err := needNow(p)
	if err != nil {
		return nil, err
	}
	if p.State.Image == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.image", Reason: "missing: create-image has not run"}
	}
	id := p.State.Image.ImageID
	if err := checkID("state.image.imageId", id, imageIDRe); err != nil {
		return nil, err
	}
	w, err := newWait(p.Context.ExecutionID, "check-image", now, "state.image.requestedAt", p.State.Image.RequestedAt, imageDeadline)
	if err != nil {
		return nil, err
	}

	img, err := describeImage(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	if img == nil {
		if w.elapsed() < notFoundGrace {
			return w.again(10*time.Second, "image not visible yet")
		}
		return nil, &amiswap.ImageFailedError{ImageID: id, Reason: "image not found"}
	}
	switch img.State {
	case ec2types.ImageStateAvailable:
		if t := p.State.Target; t != nil && t.Settings.DeprecateAfterSeconds > 0 {
			if err := h.deprecate(ctx, img, t.Settings.DeprecateAfter(), now); err != nil {
				return nil, err
			}
		}
		return pollReady(), nil
	case ec2types.ImageStatePending:
		typical, after := 5*time.Minute, 30*time.Second
		if t := p.State.Target; t != nil && isWindows(t) {
			typical, after = 15*time.Minute, 60*time.Second
		}
		waiting := fmt.Sprintf("image pending (%d min so far)", int(w.elapsed()/time.Minute))
		return w.again(w.towards(typical, after), waiting)
	}
	reason := "image is " + string(img.State)
	if img.StateReason != nil && aws.ToString(img.StateReason.Message) != "" {
		reason += ": " + aws.ToString(img.StateReason.Message)
	}
	return nil, &amiswap.ImageFailedError{ImageID: id, Reason: reason}
}
