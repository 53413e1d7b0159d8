package workflow

// This file holds the compensate op: undo what a failed swap did, from what
// the state says was done, one independent and idempotent step at a time.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

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
	snapshotSweeper
	ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
	DeleteLaunchTemplateVersions(ctx context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, opts ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
	goldenRemover
}

// Compensator serves the compensate op.
type Compensator struct {
	asg compensateASG
	ec2 compensateEC2
	ssm ParameterStore // nil: a hand-off is not undone
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
//
// It reconciles with AWS rather than trusting the state alone: the
// execution's builders and golden AMIs are listed by their
// amiswap:execution tag, its launch template version by its description,
// the golden snapshots by their tags (so that a crash between
// DeregisterImage and DeleteSnapshot leaks nothing), and MaxSize comes
// from the group's amiswap:original-max-size tag. So it runs again safely,
// and it runs from the execution's input alone (no target, no results):
// the group is then the one the tagged resources or the backed-up instance
// name.
func (h *Compensator) Compensate(ctx context.Context, p Payload) (*CompensationResult, error) {
	c := &compensation{res: &CompensationResult{Actions: []string{}, Problems: []string{}}}
	st := p.State
	exec := p.Context.ExecutionID
	if st.Target != nil && st.Target.Skip {
		return c.res, nil // resolve decided to change nothing
	}

	builders := h.findBuilders(ctx, c, p)
	var images []ec2types.Image
	if !st.RolledOut && st.Rollback == nil {
		// A rollback goes back to an AMI it did not make: it never
		// removes one.
		images = h.findImages(ctx, c, p)
	}
	t := st.Target
	if (t == nil || t.Group == "") && exec != "" {
		t = h.findTarget(ctx, c, p, builders, images)
		st.Target = t
		p.State.Target = t
		if t != nil && len(images) > 0 {
			// From the input alone the state cannot say whether the swap
			// already stands: AWS does.
			var refresh string
			st.RolledOut, refresh = h.standsInAWS(ctx, c, t, images)
			if refresh != "" && st.Refresh == nil {
				st.Refresh = &RefreshResult{RefreshID: refresh}
			}
		}
	}
	group := ""
	if t != nil {
		group = t.Group
	}
	imageID := ""
	if st.Rollback != nil && st.Rollback.ImageID != "" {
		imageID = st.Rollback.ImageID
		p.State.Image = &ImageResult{ImageID: imageID}
	} else if st.Image != nil && st.Image.ImageID != "" {
		imageID = st.Image.ImageID
	} else if len(images) > 0 {
		imageID = aws.ToString(images[0].ImageId)
		p.State.Image = &ImageResult{ImageID: imageID}
	}

	// While an instance refresh is still going (cancelling, rolling back),
	// Auto Scaling refuses changes to the group's launch template: the
	// group, the new version and the golden AMI wait for a retry.
	busy := ""
	if !st.RolledOut && st.Refresh != nil && st.Refresh.RefreshID != "" && group != "" {
		busy = h.cancelRefresh(ctx, c, group, st.Refresh.RefreshID)
	}

	imageFree := true // no launch template version left that uses the golden AMI
	if !st.RolledOut && imageID != "" {
		swap := st.Swap
		if swap == nil && t != nil {
			// The update may have got part way before its task failed.
			var err error
			if swap, err = h.discoverSwap(ctx, p); err != nil {
				c.problem("look for a launch template version of %s: %v", imageID, err)
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
		fallback := int32(0)
		if frozen {
			fallback = st.Freeze.OriginalMaxSize
		}
		// The tag is the record: it is there from before the first
		// change until the last, whatever the state says.
		restored, size, err := restoreMaxSize(ctx, h.asg, group, fallback, frozen)
		switch {
		case err != nil:
			c.problem("restore MaxSize of %s: %v", group, err)
		case restored:
			c.did("restored MaxSize of %s to %d", group, size)
		}
	}

	unseen := h.terminateBuilders(ctx, c, p, builders)
	pendingPut := ""
	if !st.RolledOut {
		pendingPut = h.restoreParameter(ctx, c, p)
	}

	if !st.RolledOut && st.Rollback == nil {
		switch {
		case imageFree:
			h.removeImages(ctx, c, exec, images)
		case busy == "":
			c.problem("kept golden AMI %s: a launch template version may still use it", imageID)
		}
	}

	if unseen != "" && busy == "" {
		return c.res, &amiswap.TransientError{Op: "compensate", Err: fmt.Errorf(
			"builder %s was launched at %s and EC2 does not show it yet: terminating it again once it is visible (done so far: %s)",
			unseen, p.State.Builder.LaunchedAt.UTC().Format(time.RFC3339), strings.Join(c.res.Actions, "; "))}
	}
	if pendingPut != "" && busy == "" {
		return c.res, &amiswap.TransientError{Op: "compensate", Err: fmt.Errorf(
			"%s: the parameter is put back once Parameter Store has validated it (done so far: %s; problems: %s)",
			pendingPut, strings.Join(c.res.Actions, "; "), strings.Join(c.res.Problems, "; "))}
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

// findImages returns the golden AMIs to remove: the one the state names and
// every golden AMI tagged with this execution (a CreateImage whose answer
// was lost, or a state that lost its record).
func (h *Compensator) findImages(ctx context.Context, c *compensation, p Payload) []ec2types.Image {
	var images []ec2types.Image
	if exec := p.Context.ExecutionID; exec != "" {
		found, err := listGoldenImages(ctx, h.ec2, goldenFilters(amiswap.TagExecution, exec))
		if err != nil {
			c.problem("look for this execution's golden AMIs: %v", err)
		}
		images = found
	}
	if img := p.State.Image; img != nil && img.ImageID != "" && !slices.ContainsFunc(images, func(i ec2types.Image) bool { return aws.ToString(i.ImageId) == img.ImageID }) {
		found, err := describeImage(ctx, h.ec2, img.ImageID)
		switch {
		case err != nil:
			c.problem("describe golden AMI %s: %v", img.ImageID, err)
		case found != nil && found.State != ec2types.ImageStateDeregistered:
			images = append([]ec2types.Image{*found}, images...)
		}
	}
	return images
}

// findTarget works out the group and its launch template from AWS when the
// state has no target (compensation from the execution's input alone): the
// group named by this execution's builder or golden AMI, or else the
// group of the backed-up instance. It returns nil when there is none.
func (h *Compensator) findTarget(ctx context.Context, c *compensation, p Payload, builders []ec2types.Instance, images []ec2types.Image) *amiswap.Target {
	t := &amiswap.Target{Settings: amiswap.DefaultSettings()}
	for _, b := range builders {
		t.Group = cmp.Or(t.Group, tagValue(b.Tags, amiswap.TagGroup))
	}
	for _, img := range images {
		t.Group = cmp.Or(t.Group, tagValue(img.Tags, amiswap.TagGroup))
		t.Source.BackupJobID = cmp.Or(t.Source.BackupJobID, tagValue(img.Tags, amiswap.TagBackupJob))
	}
	t.Source.BackupJobID = cmp.Or(p.State.BackupJobID, t.Source.BackupJobID)
	if t.Group == "" {
		id := p.State.InstanceID
		if id == "" {
			if i := strings.LastIndex(p.State.ResourceArn, "instance/"); i >= 0 {
				id = p.State.ResourceArn[i+len("instance/"):]
			}
		}
		if id == "" || checkID("instanceId", id, instanceIDRe) != nil {
			return nil
		}
		inst, _, err := describeInstance(ctx, h.ec2, id)
		if err != nil {
			c.problem("look for the group of instance %s: %v", id, err)
			return nil
		}
		if inst == nil {
			return nil
		}
		t.Group = tagValue(inst.Tags, "aws:autoscaling:groupName")
		if t.Group == "" {
			return nil
		}
	}
	g, err := describeGroup(ctx, h.asg, t.Group)
	if err != nil {
		c.problem("read group %s: %v", t.Group, err)
		return t
	}
	if s, err := amiswap.ParseSettings(groupTags(g)); err == nil {
		t.Settings = s
	}
	if spec := groupTemplate(g); spec != nil {
		t.LaunchTemplate = amiswap.LaunchTemplateRef{
			ID: aws.ToString(spec.LaunchTemplateId), Name: aws.ToString(spec.LaunchTemplateName),
			Version: aws.ToString(spec.Version), Mixed: g.MixedInstancesPolicy != nil,
		}
	}
	return t
}

// standsInAWS tells, for a compensation from the execution's input alone,
// whether the swap already stands (rolledOut): the group is thawed (no
// amiswap:original-max-size tag), launches one of this execution's golden
// AMIs, and, on a rolling refresh, its newest instance refresh is
// Successful. It also returns the id of an instance refresh still going,
// for compensate to cancel. When the group cannot be read it answers
// true: nothing that may be in use is then removed.
func (h *Compensator) standsInAWS(ctx context.Context, c *compensation, t *amiswap.Target, images []ec2types.Image) (bool, string) {
	if t.Settings.Refresh == "rolling" {
		out, err := h.asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(t.Group)})
		if err != nil {
			c.problem("read the instance refreshes of %s: %v", t.Group, classify("autoscaling:DescribeInstanceRefreshes", err))
			return true, ""
		}
		// Auto Scaling lists the newest first.
		if len(out.InstanceRefreshes) == 0 {
			return false, ""
		}
		switch r := out.InstanceRefreshes[0]; {
		case activeRefresh(r.Status):
			return false, aws.ToString(r.InstanceRefreshId)
		case r.Status != asgtypes.InstanceRefreshStatusSuccessful:
			return false, ""
		}
	}
	g, spec, err := describeTemplateGroup(ctx, h.asg, t.Group)
	if err != nil {
		c.problem("read group %s: %v", t.Group, err)
		return true, ""
	}
	if _, frozen := groupTag(g, amiswap.TagOriginalMaxSize); frozen {
		return false, ""
	}
	version := cmp.Or(aws.ToString(spec.Version), "$Default")
	out, err := h.ec2.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: spec.LaunchTemplateId, LaunchTemplateName: spec.LaunchTemplateName, Versions: []string{version},
	})
	if err != nil || len(out.LaunchTemplateVersions) == 0 || out.LaunchTemplateVersions[0].LaunchTemplateData == nil {
		c.problem("read version %s of the launch template of %s: %v", version, t.Group, err)
		return true, ""
	}
	launches := aws.ToString(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
	return slices.ContainsFunc(images, func(i ec2types.Image) bool { return aws.ToString(i.ImageId) == launches }), ""
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
// died after creating it), and what it may have changed. The version's
// description names the version it was made from, for a state that has no
// target either.
func (h *Compensator) discoverSwap(ctx context.Context, p Payload) (*SwapResult, error) {
	t := p.State.Target
	lt := t.LaunchTemplate
	if lt.ID == "" && lt.Name == "" {
		return nil, nil
	}
	found, err := findSwapVersion(ctx, h.ec2, lt, p.State.Image.ImageID, swapDescriptionPrefix(p.Context.ExecutionID))
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
	source := cmp.Or(lt.SourceVersion, describedSourceVersion(aws.ToString(found.VersionDescription)))
	if lt.SourceVersion == "" && alias == sw.NewVersion && source != "" {
		// From the input alone: the group names the new version, so it
		// was pinned, to the version the new one was made from.
		alias, sw.PreviousGroupVersion = source, source
	}
	if alias == "$Default" && aws.ToBool(found.DefaultVersion) {
		sw.DefaultVersionChanged, sw.PreviousDefaultVersion = true, source
	}
	if lt.SourceVersion == "" && aws.ToBool(found.DefaultVersion) && source != "" && source != sw.NewVersion && alias == source {
		// From the input alone (the janitor): update-launch-template makes
		// its version the default only for a group that follows $Default,
		// and pins such a group to the source version for a refresh. The
		// group names the source version: it followed $Default.
		sw.DefaultVersionChanged, sw.PreviousDefaultVersion = true, source
		if rolling {
			t.LaunchTemplate.SourceVersion = source // what pinnedTo reports
			sw.GroupVersion, sw.PreviousGroupVersion, sw.GroupUpdated = source, "$Default", true
			return sw, nil
		}
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

// findBuilders returns the builders and verifiers to terminate: the ones
// the state names and every instance tagged with this execution and
// amiswap:role builder or verifier that is not terminated yet (a launch
// whose answer was lost, or a state that lost its record). A verifier is
// never leaked, whatever failed.
func (h *Compensator) findBuilders(ctx context.Context, c *compensation, p Payload) []ec2types.Instance {
	var found []ec2types.Instance
	if exec := p.Context.ExecutionID; exec != "" {
		out, err := h.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			tagFilter(amiswap.TagExecution, exec),
			{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder, amiswap.RoleVerifier}},
			{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
		}})
		if err != nil {
			c.problem("look for this execution's builder and verifier: %v", classify("ec2:DescribeInstances", err))
		} else {
			for _, r := range out.Reservations {
				found = append(found, r.Instances...)
			}
		}
	}
	if b := p.State.Builder; b != nil && b.InstanceID != "" &&
		!slices.ContainsFunc(found, func(i ec2types.Instance) bool { return aws.ToString(i.InstanceId) == b.InstanceID }) {
		found = append([]ec2types.Instance{{InstanceId: aws.String(b.InstanceID)}}, found...)
	}
	if v := p.State.Verifier; v != nil && v.InstanceID != "" && p.State.VerifierDone == nil &&
		!slices.ContainsFunc(found, func(i ec2types.Instance) bool { return aws.ToString(i.InstanceId) == v.InstanceID }) {
		found = append(found, ec2types.Instance{InstanceId: aws.String(v.InstanceID),
			Tags: []ec2types.Tag{{Key: aws.String(amiswap.TagRole), Value: aws.String(amiswap.RoleVerifier)}}})
	}
	return found
}

// terminateBuilders terminates the builders findBuilders found. It returns
// the state's builder when EC2 does not know it yet: launched less than
// notFoundGrace ago, an InvalidInstanceID.NotFound means "not visible
// yet" (EC2's eventual consistency), not "gone", and the builder would
// be left running if compensation took it for gone.
func (h *Compensator) terminateBuilders(ctx context.Context, c *compensation, p Payload, builders []ec2types.Instance) (unseen string) {
	for _, b := range builders {
		id := aws.ToString(b.InstanceId)
		role := amiswap.RoleBuilder
		if tagValue(b.Tags, amiswap.TagRole) == amiswap.RoleVerifier {
			role = amiswap.RoleVerifier
		}
		_, err := h.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		switch {
		case err == nil:
			c.did("terminated %s %s", role, id)
		case apiCode(err) == "InvalidInstanceID.NotFound":
			if sb := p.State.Builder; sb != nil && sb.InstanceID == id && !sb.LaunchedAt.IsZero() &&
				p.Context.EnteredTime.Sub(sb.LaunchedAt) < notFoundGrace {
				unseen = id
			}
			// Otherwise gone already.
		default:
			c.problem("terminate %s %s: %v", role, id, classify("ec2:TerminateInstances", err))
		}
	}
	return unseen
}

// removeImages deregisters the golden AMIs and deletes the snapshots they
// list, then every golden snapshot of the execution whose image is gone,
// found by its tags: a retry after a crash between DeregisterImage and
// DeleteSnapshot (the image's snapshot list goes with it) still finds the
// snapshots. A snapshot that cannot be deleted is a problem.
func (h *Compensator) removeImages(ctx context.Context, c *compensation, exec string, images []ec2types.Image) {
	var left []ec2types.Image
	for _, img := range images {
		id := aws.ToString(img.ImageId)
		gone, deleted, err := removeGolden(ctx, h.ec2, img)
		if gone {
			c.did("deregistered golden AMI %s", id)
		} else {
			left = append(left, img) // its snapshots are still in use
		}
		for _, s := range deleted {
			c.did("deleted snapshot %s", s)
		}
		if err != nil {
			c.problem("remove golden AMI %s: %v", id, err)
		}
	}
	if exec == "" {
		return // nothing to find leftovers by
	}
	deleted, err := sweepGoldenSnapshots(ctx, h.ec2, goldenFilters(amiswap.TagExecution, exec), left)
	for _, s := range deleted {
		c.did("deleted snapshot %s", s)
	}
	if err != nil {
		c.problem("delete the golden snapshots of execution %s: %v", executionName(exec), err)
	}
}
