package workflow

// This file holds the rollback op resolve-rollback: which golden AMI to go
// back to. The rest of a rollback (lock, the launch template update with
// that AMI as $.image, refresh, hand-off to the SSM parameter, notify,
// compensate, unlock) runs the swap's own ops; see rollback.asl.json.

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

//go:embed rollback.asl.json
var rollbackDefinition []byte

// RollbackDefinition returns the rollback state machine's definition with
// ${…FunctionArn} placeholders, as deployed.
func RollbackDefinition() []byte { return append([]byte(nil), rollbackDefinition...) }

// LocalRollbackDefinition returns the rollback definition with the local
// function names, for the embedded executor.
func LocalRollbackDefinition() []byte { return localize(rollbackDefinition) }

// RollbackResult is what resolve-rollback found: the target (the group, its
// launch template and settings, as Resolve gives a swap), the golden AMI to
// go back to, and the AMI the group launches now.
type RollbackResult struct {
	Target      amiswap.Target `json:"target"`
	ImageID     string         `json:"imageId"`
	FromImageID string         `json:"fromImageId"`
}

// rollbackEC2 is what resolve-rollback calls on EC2.
type rollbackEC2 interface {
	versionLister
	imageDescriber
}

// RollbackResolver serves resolve-rollback.
type RollbackResolver struct {
	asg groupReader
	ec2 rollbackEC2
}

// NewRollbackResolver returns a resolver over the given clients (the CLI
// asks it before starting an execution, so that a rollback with nothing to
// go back to is refused without recording anything).
func NewRollbackResolver(c Clients) *RollbackResolver {
	return &RollbackResolver{asg: c.ASG, ec2: c.EC2}
}

// Resolve finds the group and the golden AMI to roll it back to: ToImageID
// when given (it must be a registered, available golden AMI of this
// group, other than the one the group launches), else the newest such AMI
// created before the one the group launches now. With none, it is an
// *amiswap.NothingToRollBackError; a malformed request an
// *amiswap.InvalidInputError. It changes nothing.
func (r *RollbackResolver) Resolve(ctx context.Context, p Payload) (*RollbackResult, error) {
	req := p.State.RollbackRequest
	if err := checkGroupName(req.Group); err != nil {
		return nil, err
	}
	if req.ToImageID != "" {
		if err := checkID("toImageId", req.ToImageID, imageIDRe); err != nil {
			return nil, err
		}
	}
	g, err := describeGroup(ctx, r.asg, req.Group)
	if errors.Is(err, errGroupGone) {
		return nil, &amiswap.InvalidInputError{Field: "group", Reason: fmt.Sprintf("there is no Auto Scaling group %s", req.Group)}
	}
	if err != nil {
		return nil, err
	}
	tags := groupTags(g)
	if ok, why := amiswap.Enabled(tags); !ok {
		return nil, &amiswap.InvalidInputError{Field: "group", Reason: why}
	}
	settings, err := amiswap.ParseSettings(tags)
	if err != nil {
		return nil, err
	}
	if req.Refresh {
		settings.Refresh = "rolling"
	}
	lt, _, err := templateVersion(ctx, r.ec2, g)
	if errors.Is(err, errNoTemplate) {
		return nil, &amiswap.InvalidInputError{Field: "group", Reason: fmt.Sprintf("the Auto Scaling group %s has no launch template (a launch configuration cannot be rolled back)", req.Group)}
	}
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(lt.ImageID, "resolve:ssm:") {
		return nil, &amiswap.InvalidInputError{Field: "group", Reason: fmt.Sprintf("version %s of launch template %s takes its image from an SSM parameter", lt.SourceVersion, lt.ID)}
	}

	golden, err := listGoldenImages(ctx, r.ec2, goldenFilters(amiswap.TagGroup, req.Group))
	if err != nil {
		return nil, err
	}
	to, err := pickRollbackImage(req, lt.ImageID, golden)
	if err != nil {
		return nil, err
	}
	if to == nil && lt.ImageID != "" && !slices.ContainsFunc(golden, func(im ec2types.Image) bool { return aws.ToString(im.ImageId) == lt.ImageID }) {
		// The group runs an AMI that is not one of its golden AMIs: older
		// than which? Its creation date says.
		cur, err := describeImage(ctx, r.ec2, lt.ImageID)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			to = newestBefore(golden, lt.ImageID, imageCreated(*cur))
		}
	}
	if to == nil {
		return nil, &amiswap.NothingToRollBackError{Group: req.Group, Reason: noRollbackReason(lt.ImageID, golden)}
	}
	imgTags := map[string]string{}
	for _, tag := range to.Tags {
		imgTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	t := amiswap.Target{
		Group:          req.Group,
		LaunchTemplate: lt,
		Capacity:       amiswap.Capacity{Min: aws.ToInt32(g.MinSize), Max: aws.ToInt32(g.MaxSize), Desired: aws.ToInt32(g.DesiredCapacity)},
		Settings:       settings,
		Builder:        amiswap.BuilderSpec{SecurityGroupIDs: []string{}},
		Source: amiswap.Source{
			InstanceID: imgTags[amiswap.TagSourceInst], BackupJobID: cmp.Or(imgTags[amiswap.TagBackupJob], "rollback"),
			RecoveryPointArn: imgTags[amiswap.TagRecoveryPoint], ImageID: imgTags[amiswap.TagParentImage],
		},
	}
	return &RollbackResult{Target: t, ImageID: aws.ToString(to.ImageId), FromImageID: lt.ImageID}, nil
}

// pickRollbackImage picks the AMI to go back to among the group's golden
// AMIs, or returns nil when none fits (the caller then says why).
func pickRollbackImage(req amiswap.RollbackRequest, current string, golden []ec2types.Image) (*ec2types.Image, error) {
	if req.ToImageID != "" {
		if req.ToImageID == current {
			return nil, &amiswap.NothingToRollBackError{Group: req.Group, Reason: fmt.Sprintf("the group already launches %s", current)}
		}
		i := slices.IndexFunc(golden, func(im ec2types.Image) bool { return aws.ToString(im.ImageId) == req.ToImageID })
		if i < 0 {
			return nil, &amiswap.NothingToRollBackError{Group: req.Group, Reason: fmt.Sprintf("%s is not a registered golden AMI of this group", req.ToImageID)}
		}
		if golden[i].State != ec2types.ImageStateAvailable {
			return nil, &amiswap.NothingToRollBackError{Group: req.Group, Reason: fmt.Sprintf("%s is %s, not available", req.ToImageID, golden[i].State)}
		}
		return &golden[i], nil
	}
	i := slices.IndexFunc(golden, func(im ec2types.Image) bool { return aws.ToString(im.ImageId) == current })
	if i < 0 {
		return nil, nil
	}
	return newestBefore(golden, current, imageCreated(golden[i])), nil
}

// newestBefore returns the newest available golden AMI other than current
// created before t, or nil.
func newestBefore(golden []ec2types.Image, current string, t time.Time) *ec2types.Image {
	var best *ec2types.Image
	for i := range golden {
		im := &golden[i]
		if aws.ToString(im.ImageId) == current || im.State != ec2types.ImageStateAvailable || !imageCreated(*im).Before(t) {
			continue
		}
		if best == nil || imageCreated(*im).After(imageCreated(*best)) {
			best = im
		}
	}
	return best
}

// imageCreated is when a golden AMI was made: its amiswap:created-at tag
// (the lineage), else EC2's CreationDate.
func imageCreated(im ec2types.Image) time.Time {
	for _, tag := range im.Tags {
		if aws.ToString(tag.Key) == amiswap.TagCreatedAt {
			if t, err := time.Parse(time.RFC3339, aws.ToString(tag.Value)); err == nil {
				return t
			}
		}
	}
	t, _ := time.Parse(time.RFC3339Nano, aws.ToString(im.CreationDate))
	return t
}

// noRollbackReason says why there is nothing to roll back to.
func noRollbackReason(current string, golden []ec2types.Image) string {
	if len(golden) == 0 {
		return "the group has no registered golden AMI"
	}
	return fmt.Sprintf("the group launches %s and has no registered, available golden AMI older than it", current)
}

// checkGroupName checks an Auto Scaling group name: 1 to 255 characters, no
// colon (that would be an ARN) and no control characters.
func checkGroupName(name string) error {
	switch {
	case name == "":
		return &amiswap.InvalidInputError{Field: "group", Reason: "missing: name the Auto Scaling group to roll back"}
	case len(name) > 255:
		return &amiswap.InvalidInputError{Field: "group", Reason: "longer than 255 characters"}
	case strings.ContainsAny(name, ":") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &amiswap.InvalidInputError{Field: "group", Reason: fmt.Sprintf("%q is not an Auto Scaling group name", name)}
	}
	return nil
}
