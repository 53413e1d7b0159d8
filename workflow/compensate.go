package workflow

// This file holds the compensate op: undo what a failed swap did, from what
// the state says was done, one independent and idempotent step at a time.

import (
	"context"
	"fmt"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// compensateASG is what compensate calls on Auto Scaling.
type compensateASG interface {
	maxSizeRestorer
	refreshReader
	CancelInstanceRefresh(ctx context.Context, in *autoscaling.CancelInstanceRefreshInput, opts ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error)
}

// compensateEC2 is what compensate calls on EC2.
type compensateEC2 interface {
	versionLister
	instanceDescriber
	imageDescriber
	ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
	DeleteLaunchTemplateVersions(ctx context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, opts ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, opts ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// Compensator serves the compensate op.
type Compensator struct {
	asg compensateASG
	ec2 compensateEC2
}

// compensation collects what the steps did and what they could not do.
type compensation struct {
	res *CompensationResult
}

// did records an action done.
func (c *compensation) did(format string, args ...any) {
	c.res.Actions = append(c.res.Actions, fmt.Sprintf(format, args...))
}

// problem records what could not be done.
func (c *compensation) problem(format string, args ...any) {
	c.res.Problems = append(c.res.Problems, fmt.Sprintf(format, args...))
}

// Compensate undoes a failed swap. Each step runs whatever happened to the
// steps before it: cancel an instance refresh still going, revert the
// launch template and group, restore MaxSize, terminate the builder,
// remove the golden AMI and its snapshots. Once the swap is rolled out,
// only the builder and MaxSize are touched. A golden AMI is kept while the
// launch template version that uses it could not be removed. When
// something could not be undone, the error is an
// *amiswap.CompensationError listing what.
func (h *Compensator) Compensate(ctx context.Context, p Payload) (*CompensationResult, error) {
	c := &compensation{res: &CompensationResult{Actions: []string{}, Problems: []string{}}}
	st := p.State
	t := st.Target
	group := ""
	if t != nil {
		group = t.Group
	}

	// While an instance refresh is still going (cancelling, rolling back),
	// Auto Scaling refuses changes to the group's launch template: the
	// group, the new version and the golden AMI wait for a retry.
	busy := ""
	if !st.RolledOut && st.Refresh != nil && st.Refresh.RefreshID != "" && group != "" {
		busy = h.cancelRefresh(ctx, c, group, st.Refresh.RefreshID)
	}

	imageFree := true // no launch template version left that uses the golden AMI
	if !st.RolledOut && st.Image != nil && st.Image.ImageID != "" {
		swap := st.Swap
		if swap == nil && t != nil {
			// The update may have got part way before its task failed.
			var err error
			if swap, err = h.discoverSwap(ctx, p); err != nil {
				c.problem("look for a launch template version of %s: %v", st.Image.ImageID, err)
				imageFree = false
			}
		}
		if swap != nil && !h.revertSwap(ctx, c, group, swap, pinnedTo(t, swap), busy == "") {
			imageFree = false
		}
	} else if !st.RolledOut && st.Swap != nil {
		h.revertSwap(ctx, c, group, st.Swap, pinnedTo(t, st.Swap), busy == "")
	}

	if group != "" && (st.Thaw == nil || !st.Thaw.Restored) {
		frozen := st.Freeze != nil && st.Freeze.Frozen
		if frozen || (t != nil && t.Settings.FreezeMaxSize) {
			fallback := int32(0)
			if frozen {
				fallback = st.Freeze.OriginalMaxSize
			}
			restored, size, err := restoreMaxSize(ctx, h.asg, group, fallback, frozen)
			switch {
			case err != nil:
				c.problem("restore MaxSize of %s: %v", group, err)
			case restored:
				c.did("restored MaxSize of %s to %d", group, size)
			}
		}
	}

	h.terminateBuilder(ctx, c, p)

	if !st.RolledOut && st.Image != nil && st.Image.ImageID != "" {
		switch {
		case imageFree:
			h.removeImage(ctx, c, st.Image.ImageID)
		case busy == "":
			c.problem("kept golden AMI %s: a launch template version may still use it", st.Image.ImageID)
		}
	}

	if busy != "" {
		return c.res, &amiswap.TransientError{Op: "compensate", Err: fmt.Errorf(
			"instance refresh %s of %s is %s: the group, its new launch template version and the golden AMI are reverted once it ends (done so far: %s; problems: %s)",
			st.Refresh.RefreshID, group, busy, strings.Join(c.res.Actions, "; "), strings.Join(c.res.Problems, "; "))}
	}
	if len(c.res.Problems) > 0 {
		return c.res, &amiswap.CompensationError{Problems: c.res.Problems}
	}
	return c.res, nil
}

// pinnedTo is the version number update-launch-template pinned a group on
// an alias to before a refresh (its source version), or "".
func pinnedTo(t *amiswap.Target, s *SwapResult) string {
	if t == nil || !s.GroupUpdated || !isAlias(s.PreviousGroupVersion) {
		return ""
	}
	return t.LaunchTemplate.SourceVersion
}

// cancelRefresh cancels the instance refresh when it is still going. It
// returns the refresh's status while it still blocks changes to the group
// (cancelling, rolling back, or unknown), or "" once it is over.
func (h *Compensator) cancelRefresh(ctx context.Context, c *compensation, group, id string) string {
	r, err := describeRefresh(ctx, h.asg, group, id)
	if err != nil {
		c.problem("describe instance refresh %s: %v", id, err)
		return "in an unknown state"
	}
	if r == nil {
		return ""
	}
	switch r.Status {
	case asgtypes.InstanceRefreshStatusPending, asgtypes.InstanceRefreshStatusInProgress, asgtypes.InstanceRefreshStatusBaking:
	case asgtypes.InstanceRefreshStatusCancelling, asgtypes.InstanceRefreshStatusRollbackInProgress:
		return string(r.Status)
	default:
		return "" // over
	}
	_, err = h.asg.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String(group)})
	switch {
	case err == nil:
		c.did("cancelled instance refresh %s of %s", id, group)
		return string(asgtypes.InstanceRefreshStatusCancelling)
	case apiCode(err) == "ActiveInstanceRefreshNotFound":
		return "" // it ended meanwhile
	default:
		c.problem("cancel instance refresh %s of %s: %v", id, group, classify("autoscaling:CancelInstanceRefresh", err))
		return string(r.Status)
	}
}

// discoverSwap finds the launch template version this execution created
// when the state has no record of it (update-launch-template failed or
// died after creating it), and what it may have changed.
func (h *Compensator) discoverSwap(ctx context.Context, p Payload) (*SwapResult, error) {
	t := p.State.Target
	lt := t.LaunchTemplate
	if lt.ID == "" && lt.Name == "" {
		return nil, nil
	}
	desc := swapDescription(p.Context.ExecutionID, t.Source.BackupJobID)
	found, err := findSwapVersion(ctx, h.ec2, lt, p.State.Image.ImageID, desc)
	if err != nil {
		return nil, err
	}
	alias := groupVersion(lt)
	// What update-launch-template does before and after creating the
	// version (see there): pin an alias group for a refresh, move a
	// pinned group when there is none, change the default.
	rolling := t.Settings.Refresh == "rolling"
	sw := &SwapResult{GroupVersion: alias, PreviousGroupVersion: alias, GroupUpdated: isAlias(alias) && rolling}
	if found == nil {
		if sw.GroupUpdated {
			return sw, nil // pinned, then failed before creating the version
		}
		return nil, nil
	}
	sw.LaunchTemplateID, sw.NewVersion = versionRef(found, lt)
	if alias == "$Default" && aws.ToBool(found.DefaultVersion) {
		sw.DefaultVersionChanged, sw.PreviousDefaultVersion = true, lt.SourceVersion
	}
	if !isAlias(alias) {
		sw.GroupVersion, sw.GroupUpdated = sw.NewVersion, !rolling
	}
	return sw, nil
}

// revertSwap undoes update-launch-template: the default version back, the
// group back to the version it named before, then the new version deleted.
// The group goes back when it names the new version (set by amiswap, or by
// a successful instance refresh) or pinned, the version amiswap pinned it
// to. It reports whether the new version is gone (and with it every use of
// the golden AMI). When groupFree is false (an instance refresh still
// holds the group) only the default version goes back.
func (h *Compensator) revertSwap(ctx context.Context, c *compensation, group string, s *SwapResult, pinned string, groupFree bool) bool {
	ok := true
	if s.LaunchTemplateID != "" && s.DefaultVersionChanged && s.PreviousDefaultVersion != "" && s.PreviousDefaultVersion != s.NewVersion {
		_, err := h.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
			LaunchTemplateId: aws.String(s.LaunchTemplateID), DefaultVersion: aws.String(s.PreviousDefaultVersion),
		})
		if err != nil {
			ok = false
			c.problem("set the default version of %s back to %s: %v", s.LaunchTemplateID, s.PreviousDefaultVersion, classify("ec2:ModifyLaunchTemplate", err))
		} else {
			c.did("set the default version of %s back to %s", s.LaunchTemplateID, s.PreviousDefaultVersion)
		}
	}
	if !groupFree {
		return false
	}
	if group != "" && s.PreviousGroupVersion != "" {
		g, err := describeGroup(ctx, h.asg, group)
		if err == nil {
			spec := groupTemplate(g)
			names := ""
			if spec != nil {
				names = aws.ToString(spec.Version)
			}
			ours := names != "" && (names == s.NewVersion || names == pinned)
			if ours && names != s.PreviousGroupVersion {
				if err = setGroupVersion(ctx, h.asg, g, s.PreviousGroupVersion); err == nil {
					c.did("set group %s back to launch template version %s", group, s.PreviousGroupVersion)
				}
			}
		}
		if err != nil {
			ok = false
			c.problem("set group %s back to launch template version %s: %v", group, s.PreviousGroupVersion, err)
		}
	}
	if s.LaunchTemplateID == "" || s.NewVersion == "" {
		return ok
	}
	if !ok {
		c.problem("kept launch template version %s of %s: the group or the default version may still use it", s.NewVersion, s.LaunchTemplateID)
		return false
	}
	out, err := h.ec2.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(s.LaunchTemplateID), Versions: []string{s.NewVersion},
	})
	if err != nil {
		c.problem("delete launch template version %s of %s: %v", s.NewVersion, s.LaunchTemplateID, classify("ec2:DeleteLaunchTemplateVersions", err))
		return false
	}
	for _, u := range out.UnsuccessfullyDeletedLaunchTemplateVersions {
		if u.ResponseError != nil && u.ResponseError.Code == ec2types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist {
			return true // deleted by an earlier try
		}
		msg := "unknown reason"
		if u.ResponseError != nil {
			msg = string(u.ResponseError.Code) + ": " + aws.ToString(u.ResponseError.Message)
		}
		c.problem("delete launch template version %s of %s: %s", s.NewVersion, s.LaunchTemplateID, msg)
		return false
	}
	c.did("deleted launch template version %s of %s", s.NewVersion, s.LaunchTemplateID)
	return true
}

// terminateBuilder terminates the builder: the one the state names, or
// when there is none, any this execution's launch left behind (found by
// its tags).
func (h *Compensator) terminateBuilder(ctx context.Context, c *compensation, p Payload) {
	var ids []string
	if b := p.State.Builder; b != nil && b.InstanceID != "" {
		ids = []string{b.InstanceID}
	} else if p.Context.ExecutionID != "" && p.State.Target != nil && !p.State.Target.Skip {
		out, err := h.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			tagFilter(amiswap.TagExecution, p.Context.ExecutionID),
			tagFilter(amiswap.TagRole, amiswap.RoleBuilder),
			{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
		}})
		if err != nil {
			c.problem("look for this execution's builder: %v", classify("ec2:DescribeInstances", err))
			return
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
	}
	for _, id := range ids {
		_, err := h.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		switch {
		case err == nil:
			c.did("terminated builder %s", id)
		case apiCode(err) == "InvalidInstanceID.NotFound":
			// Gone already.
		default:
			c.problem("terminate builder %s: %v", id, classify("ec2:TerminateInstances", err))
		}
	}
}

// removeImage deregisters the golden AMI and deletes its snapshots.
func (h *Compensator) removeImage(ctx context.Context, c *compensation, id string) {
	img, err := describeImage(ctx, h.ec2, id)
	if err != nil {
		c.problem("describe golden AMI %s: %v", id, err)
		return
	}
	if img == nil {
		return
	}
	_, err = h.ec2.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)})
	switch {
	case err == nil:
		c.did("deregistered golden AMI %s", id)
	case apiCode(err) == "InvalidAMIID.NotFound" || apiCode(err) == "InvalidAMIID.Unavailable":
	default:
		c.problem("deregister golden AMI %s: %v", id, classify("ec2:DeregisterImage", err))
		return // its snapshots are still in use
	}
	for _, s := range imageSnapshots(*img) {
		_, err := h.ec2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(s)})
		switch {
		case err == nil:
			c.did("deleted snapshot %s", s)
		case apiCode(err) == "InvalidSnapshot.NotFound":
		default:
			c.problem("delete snapshot %s of %s: %v", s, id, classify("ec2:DeleteSnapshot", err))
		}
	}
}
