package workflow

// This file holds the ops that change the Auto Scaling group and its launch
// template: freeze, update-launch-template, thaw, start-refresh and
// check-refresh, plus the group and launch template helpers that resolve
// and compensate share.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// refreshDeadline bounds the wait for an instance refresh, from its start.
const refreshDeadline = 3 * time.Hour

// groupReader reads an Auto Scaling group.
type groupReader interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
}

// groupUpdater changes an Auto Scaling group.
type groupUpdater interface {
	UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput, opts ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
}

// groupTagDeleter removes an Auto Scaling group's tags.
type groupTagDeleter interface {
	DeleteTags(ctx context.Context, in *autoscaling.DeleteTagsInput, opts ...func(*autoscaling.Options)) (*autoscaling.DeleteTagsOutput, error)
}

// maxSizeRestorer is what restoreMaxSize calls.
type maxSizeRestorer interface {
	groupReader
	groupUpdater
	groupTagDeleter
}

// refreshReader reads instance refreshes.
type refreshReader interface {
	DescribeInstanceRefreshes(ctx context.Context, in *autoscaling.DescribeInstanceRefreshesInput, opts ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error)
}

// groupAPI is what the UpdateAsg function calls on Auto Scaling.
type groupAPI interface {
	maxSizeRestorer
	refreshReader
	CreateOrUpdateTags(ctx context.Context, in *autoscaling.CreateOrUpdateTagsInput, opts ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error)
	StartInstanceRefresh(ctx context.Context, in *autoscaling.StartInstanceRefreshInput, opts ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error)
}

// templateAPI is what the UpdateAsg function calls on EC2.
type templateAPI interface {
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, opts ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
	versionLister
	CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, opts ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
}

// GroupOps serves the UpdateAsg function's ops: freeze, update-launch-template,
// thaw, start-refresh and check-refresh.
type GroupOps struct {
	asg groupAPI
	ec2 templateAPI
}

// ---- group helpers ---------------------------------------------------------

// errGroupGone says a group that a step needs no longer exists.
var errGroupGone = errors.New("the Auto Scaling group no longer exists")

// describeGroup returns the named group, or an *amiswap.AWSError wrapping
// errGroupGone when there is none.
func describeGroup(ctx context.Context, c groupReader, name string) (*asgtypes.AutoScalingGroup, error) {
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, classify("autoscaling:DescribeAutoScalingGroups", err)
	}
	for i := range out.AutoScalingGroups {
		if aws.ToString(out.AutoScalingGroups[i].AutoScalingGroupName) == name {
			return &out.AutoScalingGroups[i], nil
		}
	}
	return nil, &amiswap.AWSError{Op: "autoscaling:DescribeAutoScalingGroups", Err: fmt.Errorf("group %s: %w", name, errGroupGone)}
}

// describeTemplateGroup returns the named group and the launch template
// specification it launches from; a group gone or no longer on a launch
// template is an *amiswap.AWSError.
func describeTemplateGroup(ctx context.Context, c groupReader, name string) (*asgtypes.AutoScalingGroup, *asgtypes.LaunchTemplateSpecification, error) {
	g, err := describeGroup(ctx, c, name)
	if err != nil {
		return nil, nil, err
	}
	spec := groupTemplate(g)
	if spec == nil {
		return nil, nil, &amiswap.AWSError{Op: "autoscaling:DescribeAutoScalingGroups", Err: fmt.Errorf("group %s no longer uses a launch template", name)}
	}
	return g, spec, nil
}

// groupTags returns a group's tags as a map.
func groupTags(g *asgtypes.AutoScalingGroup) map[string]string {
	tags := make(map[string]string, len(g.Tags))
	for _, t := range g.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

// groupTag returns the value of a group's tag.
func groupTag(g *asgtypes.AutoScalingGroup, key string) (string, bool) {
	for _, t := range g.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// groupTemplate returns the launch template specification a group launches
// from (its own, or its mixed instances policy's), or nil.
func groupTemplate(g *asgtypes.AutoScalingGroup) *asgtypes.LaunchTemplateSpecification {
	if g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil && g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification != nil {
		return g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
	}
	return g.LaunchTemplate
}

// withVersion returns a copy of spec naming version. Auto Scaling accepts
// an id or a name, not both: the id wins when there is one.
func withVersion(spec *asgtypes.LaunchTemplateSpecification, version string) *asgtypes.LaunchTemplateSpecification {
	out := &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: spec.LaunchTemplateId, Version: aws.String(version)}
	if aws.ToString(spec.LaunchTemplateId) == "" {
		out.LaunchTemplateId, out.LaunchTemplateName = nil, spec.LaunchTemplateName
	}
	return out
}

// policyWithVersion returns a copy of a mixed instances policy whose launch
// template names version; everything else is unchanged.
func policyWithVersion(p *asgtypes.MixedInstancesPolicy, version string) *asgtypes.MixedInstancesPolicy {
	out := *p
	lt := *p.LaunchTemplate
	lt.LaunchTemplateSpecification = withVersion(p.LaunchTemplate.LaunchTemplateSpecification, version)
	out.LaunchTemplate = &lt
	return &out
}

// setGroupVersion makes a group launch from version of its launch template,
// leaving everything else as it is: a mixed instances policy is sent back
// whole with only the version changed.
func setGroupVersion(ctx context.Context, c groupUpdater, g *asgtypes.AutoScalingGroup, version string) error {
	in := &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: g.AutoScalingGroupName}
	switch spec := groupTemplate(g); {
	case spec != nil && spec != g.LaunchTemplate:
		in.MixedInstancesPolicy = policyWithVersion(g.MixedInstancesPolicy, version)
	case spec != nil:
		in.LaunchTemplate = withVersion(spec, version)
	default:
		return &amiswap.AWSError{Op: "autoscaling:UpdateAutoScalingGroup", Err: fmt.Errorf("group %s no longer uses a launch template", aws.ToString(g.AutoScalingGroupName))}
	}
	_, err := c.UpdateAutoScalingGroup(ctx, in)
	return classify("autoscaling:UpdateAutoScalingGroup", err)
}

// originalMaxSize reads the MaxSize that freeze saved in the group's
// amiswap:original-max-size tag; tagged is false when there is no such tag.
func originalMaxSize(g *asgtypes.AutoScalingGroup) (size int32, tagged bool, err error) {
	v, ok := groupTag(g, amiswap.TagOriginalMaxSize)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 0 {
		return 0, false, &amiswap.InvalidInputError{Field: "tag " + amiswap.TagOriginalMaxSize, Reason: fmt.Sprintf("value %q of group %s is not a size", v, aws.ToString(g.AutoScalingGroupName))}
	}
	return int32(n), true, nil
}

// restoreMaxSize gives a frozen group its original MaxSize back: from the
// amiswap:original-max-size tag when there is one, else from fallback
// (when haveFallback). The tag goes last, so that a retry after a partial
// failure still finds it. It reports whether it restored anything.
func restoreMaxSize(ctx context.Context, c maxSizeRestorer, group string, fallback int32, haveFallback bool) (bool, int32, error) {
	g, err := describeGroup(ctx, c, group)
	if err != nil {
		return false, 0, err
	}
	orig, tagged, err := originalMaxSize(g)
	if err != nil {
		return false, 0, err
	}
	if !tagged {
		if !haveFallback {
			return false, aws.ToInt32(g.MaxSize), nil
		}
		orig = fallback
	}
	if aws.ToInt32(g.MaxSize) != orig {
		_, err := c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(group), MaxSize: aws.Int32(orig)})
		if err != nil {
			return false, 0, classify("autoscaling:UpdateAutoScalingGroup", err)
		}
	}
	if tagged {
		_, err := c.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []asgtypes.Tag{{
			ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(amiswap.TagOriginalMaxSize),
		}}})
		if err != nil {
			return false, 0, classify("autoscaling:DeleteTags", err)
		}
	}
	return true, orig, nil
}

// ---- freeze and thaw -------------------------------------------------------

// Freeze holds the group's MaxSize at its current size while the golden
// AMI is built, when the group's settings ask for it. The original MaxSize
// is saved as a tag first, so that nothing is lost if the run dies; a tag
// that is already there (a retry, or a run that died frozen) is kept.
// MaxSize is never set below the number of InService and Pending
// instances nor the desired capacity: Auto Scaling would scale in.
func (o *GroupOps) Freeze(ctx context.Context, p Payload) (*FreezeResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	if !t.Settings.FreezeMaxSize {
		return &FreezeResult{}, nil
	}
	g, err := describeGroup(ctx, o.asg, t.Group)
	if err != nil {
		return nil, err
	}
	current := aws.ToInt32(g.MaxSize)
	orig, tagged, err := originalMaxSize(g)
	if err != nil {
		return nil, err
	}
	if !tagged {
		orig = current
		_, err := o.asg.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{{
			ResourceId: aws.String(t.Group), ResourceType: aws.String("auto-scaling-group"),
			Key: aws.String(amiswap.TagOriginalMaxSize), Value: aws.String(strconv.Itoa(int(current))),
			PropagateAtLaunch: aws.Bool(false),
		}}})
		if err != nil {
			return nil, classify("autoscaling:CreateOrUpdateTags", err)
		}
	}
	var live int32
	for _, in := range g.Instances {
		if in.LifecycleState == asgtypes.LifecycleStateInService || strings.HasPrefix(string(in.LifecycleState), "Pending") {
			live++
		}
	}
	frozen := max(aws.ToInt32(g.DesiredCapacity), live, aws.ToInt32(g.MinSize))
	if frozen != current {
		_, err := o.asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(t.Group), MaxSize: aws.Int32(frozen)})
		if err != nil {
			return nil, classify("autoscaling:UpdateAutoScalingGroup", err)
		}
	}
	return &FreezeResult{Frozen: true, OriginalMaxSize: orig, FrozenMaxSize: frozen}, nil
}

// Thaw restores the MaxSize that Freeze saved (the tag, or the state when
// the tag is gone) and removes the tag. It does nothing when Freeze did not
// freeze.
func (o *GroupOps) Thaw(ctx context.Context, p Payload) (*ThawResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	f := p.State.Freeze
	if f == nil || !f.Frozen {
		return &ThawResult{}, nil
	}
	restored, size, err := restoreMaxSize(ctx, o.asg, t.Group, f.OriginalMaxSize, true)
	if err != nil {
		return nil, err
	}
	return &ThawResult{Restored: restored, MaxSize: size}, nil
}

// ---- update-launch-template ------------------------------------------------

// swapDescription is the description of the launch template version an
// execution creates: "amiswap <execution name> from <backup job>; source
// version <n>". Its start (swapDescriptionPrefix) is how a retried task, or
// a compensation that has nothing but the execution's input, finds the
// execution's own version; its end (describedSourceVersion) is the version
// it was made from, which was the default when the group follows $Default.
func swapDescription(executionID, backupJob, sourceVersion string) string {
	d := swapDescriptionPrefix(executionID) + backupJob + sourceVersionMark + sourceVersion
	if len(d) > 255 {
		d = d[:255]
	}
	return d
}

// sourceVersionMark separates the source version in a swap description.
const sourceVersionMark = "; source version "

// swapDescriptionPrefix is the start of the descriptions of the launch
// template versions an execution creates.
func swapDescriptionPrefix(executionID string) string {
	return "amiswap " + executionName(executionID) + " from "
}

// describedSourceVersion is the source version a swap description records,
// or "" when it records none.
func describedSourceVersion(desc string) string {
	_, v, ok := strings.Cut(desc, sourceVersionMark)
	if !ok || v == "" || strings.Trim(v, "0123456789") != "" {
		return ""
	}
	return v
}

// templateIdent names a launch template for EC2: by id when known.
func templateIdent(lt amiswap.LaunchTemplateRef) (id, name *string) {
	if lt.ID != "" {
		return aws.String(lt.ID), nil
	}
	return nil, aws.String(lt.Name)
}

// groupVersion is the launch template version the group names: "$Default"
// when it names none, as Auto Scaling reads it.
func groupVersion(lt amiswap.LaunchTemplateRef) string {
	if lt.Version == "" {
		return "$Default"
	}
	return lt.Version
}

// isAlias reports whether a group's launch template version is one of
// the aliases ("" means $Default to Auto Scaling).
func isAlias(v string) bool { return v == "" || v == "$Default" || v == "$Latest" }

// UpdateLaunchTemplate creates a launch template version from the one the
// group uses with only ImageId changed to the golden AMI, and makes the
// group use it exactly as it used the old one: a group on $Default gets
// the new default version, a group on $Latest follows by itself, a group
// pinned to a number is pinned to the new number.
//
// When an instance refresh follows (settings.refresh rolling), the group
// must name a version number when the refresh starts, and that number must
// be the old version: Auto Scaling rolls back to the configuration the
// group had at the start, and refuses auto-rollback for a group on $Default
// or $Latest. So a group on an alias is first pinned to the version it
// runs (SourceVersion; GroupUpdated says so), and a pinned group is left
// on its old number; the refresh's desired configuration moves it to the
// new number on success, and check-refresh puts an alias back.
//
// GroupVersion is what the group names once the swap stands (the alias,
// or the new number); PreviousGroupVersion what it named before.
//
// A retried task finds the version it created by its description and does
// not create another.
func (o *GroupOps) UpdateLaunchTemplate(ctx context.Context, p Payload) (*SwapResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	if p.State.Image == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.image", Reason: "missing: create-image has not run"}
	}
	image := p.State.Image.ImageID
	if err := checkID("state.image.imageId", image, imageIDRe); err != nil {
		return nil, err
	}
	lt := t.LaunchTemplate
	if lt.ID == "" && lt.Name == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.target.launchTemplate", Reason: "names no launch template"}
	}
	if _, err := strconv.ParseInt(lt.SourceVersion, 10, 64); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "state.target.launchTemplate.sourceVersion", Reason: fmt.Sprintf("%q is not a version number", lt.SourceVersion)}
	}
	if p.Context.ExecutionID == "" {
		return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "missing"}
	}
	alias := groupVersion(lt)
	rolling := t.Settings.Refresh == "rolling"
	res := &SwapResult{GroupVersion: alias, PreviousGroupVersion: alias}

	if isAlias(alias) && rolling {
		// Pin first, so that no instance launches from the new version
		// before the refresh (a group on $Latest would at once).
		g, spec, err := describeTemplateGroup(ctx, o.asg, t.Group)
		if err != nil {
			return nil, err
		}
		res.GroupUpdated = true
		if aws.ToString(spec.Version) != lt.SourceVersion {
			if err := setGroupVersion(ctx, o.asg, g, lt.SourceVersion); err != nil {
				return nil, err
			}
		}
	}

	desc := swapDescription(p.Context.ExecutionID, t.Source.BackupJobID, lt.SourceVersion)
	ltID, newVersion, err := o.ensureVersion(ctx, lt, image, desc, swapDescriptionPrefix(p.Context.ExecutionID), clientToken("update-launch-template", p.Context.ExecutionID))
	if err != nil {
		return nil, err
	}
	res.LaunchTemplateID, res.NewVersion = ltID, newVersion

	switch {
	case alias == "$Default":
		out, err := o.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ltID}})
		if err != nil {
			return nil, classify("ec2:DescribeLaunchTemplates", err)
		}
		if len(out.LaunchTemplates) == 0 {
			return nil, &amiswap.AWSError{Op: "ec2:DescribeLaunchTemplates", Err: fmt.Errorf("launch template %s not found", ltID)}
		}
		current := strconv.FormatInt(aws.ToInt64(out.LaunchTemplates[0].DefaultVersionNumber), 10)
		res.DefaultVersionChanged = true
		if current == newVersion {
			// An earlier try got this far: the default it replaced is the
			// one the group was on when resolved.
			res.PreviousDefaultVersion = lt.SourceVersion
			break
		}
		res.PreviousDefaultVersion = current
		_, err = o.ec2.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(ltID), DefaultVersion: aws.String(newVersion)})
		if err != nil {
			return nil, classify("ec2:ModifyLaunchTemplate", err)
		}
	case alias == "$Latest":
		// The new version is the latest: the group follows by itself.
	default:
		g, spec, err := describeTemplateGroup(ctx, o.asg, t.Group)
		if err != nil {
			return nil, err
		}
		current := aws.ToString(spec.Version)
		if current == newVersion {
			current = lt.Version // an earlier try did it
		}
		res.PreviousGroupVersion, res.GroupVersion = current, newVersion
		if rolling {
			break // the refresh moves the group, see above
		}
		res.GroupUpdated = true
		if aws.ToString(spec.Version) != newVersion {
			if err := setGroupVersion(ctx, o.asg, g, newVersion); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// ensureVersion returns the launch template version with description desc
// and the golden image, creating it from the source version when there is
// none yet. It returns the template's id and the version number.
func (o *GroupOps) ensureVersion(ctx context.Context, lt amiswap.LaunchTemplateRef, image, desc, prefix, token string) (string, string, error) {
	found, err := findSwapVersion(ctx, o.ec2, lt, image, prefix)
	if err != nil {
		return "", "", err
	}
	if found != nil {
		id, version := versionRef(found, lt)
		return id, version, nil
	}
	id, name := templateIdent(lt)
	out, err := o.ec2.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: id, LaunchTemplateName: name,
		SourceVersion:      aws.String(lt.SourceVersion),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)},
		VersionDescription: aws.String(desc),
		ClientToken:        aws.String(token),
	})
	if err != nil {
		return "", "", classify("ec2:CreateLaunchTemplateVersion", err)
	}
	v := out.LaunchTemplateVersion
	if v == nil || v.VersionNumber == nil {
		return "", "", &amiswap.AWSError{Op: "ec2:CreateLaunchTemplateVersion", Err: errors.New("the response names no version")}
	}
	ltID, version := versionRef(v, lt)
	return ltID, version, nil
}

// versionLister lists launch template versions.
type versionLister interface {
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, opts ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
}

// findSwapVersion returns the version of lt that uses image and whose
// description starts with prefix (see swapDescriptionPrefix): the one an
// execution created.
// It returns nil when there is none.
func findSwapVersion(ctx context.Context, c versionLister, lt amiswap.LaunchTemplateRef, image, prefix string) (*ec2types.LaunchTemplateVersion, error) {
	id, name := templateIdent(lt)
	in := &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: id, LaunchTemplateName: name,
		Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: []string{image}}},
	}
	for {
		out, err := c.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			return nil, classify("ec2:DescribeLaunchTemplateVersions", err)
		}
		for i := range out.LaunchTemplateVersions {
			if strings.HasPrefix(aws.ToString(out.LaunchTemplateVersions[i].VersionDescription), prefix) {
				return &out.LaunchTemplateVersions[i], nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil, nil
		}
		in.NextToken = out.NextToken
	}
}

// versionRef is the launch template id (lt's when EC2 leaves it out) and
// the number of a version.
func versionRef(v *ec2types.LaunchTemplateVersion, lt amiswap.LaunchTemplateRef) (id, number string) {
	id = aws.ToString(v.LaunchTemplateId)
	if id == "" {
		id = lt.ID
	}
	return id, strconv.FormatInt(aws.ToInt64(v.VersionNumber), 10)
}

// ---- start-refresh and check-refresh ---------------------------------------

// activeRefresh reports whether an instance refresh status is still going.
func activeRefresh(s asgtypes.InstanceRefreshStatus) bool {
	switch s {
	case asgtypes.InstanceRefreshStatusPending, asgtypes.InstanceRefreshStatusInProgress,
		asgtypes.InstanceRefreshStatusBaking, asgtypes.InstanceRefreshStatusCancelling,
		asgtypes.InstanceRefreshStatusRollbackInProgress:
		return true
	}
	return false
}

// describeRefresh returns the instance refresh id of group, or nil when
// Auto Scaling does not list it.
func describeRefresh(ctx context.Context, c refreshReader, group, id string) (*asgtypes.InstanceRefresh, error) {
	out, err := c.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group), InstanceRefreshIds: []string{id},
	})
	if err != nil {
		return nil, classify("autoscaling:DescribeInstanceRefreshes", err)
	}
	for i := range out.InstanceRefreshes {
		if aws.ToString(out.InstanceRefreshes[i].InstanceRefreshId) == id {
			return &out.InstanceRefreshes[i], nil
		}
	}
	return nil, nil
}

// desiredVersion is the launch template version an instance refresh rolls
// out, or "".
func desiredVersion(r asgtypes.InstanceRefresh) string {
	d := r.DesiredConfiguration
	switch {
	case d == nil:
		return ""
	case d.LaunchTemplate != nil:
		return aws.ToString(d.LaunchTemplate.Version)
	case d.MixedInstancesPolicy != nil && d.MixedInstancesPolicy.LaunchTemplate != nil && d.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification != nil:
		return aws.ToString(d.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version)
	}
	return ""
}

// StartRefresh starts a rolling instance refresh onto the new launch
// template version, pinned by number (auto-rollback refuses $Latest and
// $Default), skipping instances that already match, with auto-rollback
// when the group names a version number (Auto Scaling refuses it for a
// group on an alias; update-launch-template pins such groups). A
// mixed-instances group gets its own policy back as the desired
// configuration, with only the version pinned. When a refresh is already
// running it is ours if it rolls out our version (a retried task);
// otherwise the error is a *amiswap.TransientError.
func (o *GroupOps) StartRefresh(ctx context.Context, p Payload) (*RefreshResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	s := p.State.Swap
	if s == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.swap", Reason: "missing: update-launch-template has not run"}
	}
	if _, err := strconv.ParseInt(s.NewVersion, 10, 64); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "state.swap.newVersion", Reason: fmt.Sprintf("%q is not a version number", s.NewVersion)}
	}
	g, spec, err := describeTemplateGroup(ctx, o.asg, t.Group)
	if err != nil {
		return nil, err
	}
	desired := &asgtypes.DesiredConfiguration{}
	if g.MixedInstancesPolicy != nil && spec != g.LaunchTemplate {
		desired.MixedInstancesPolicy = policyWithVersion(g.MixedInstancesPolicy, s.NewVersion)
	} else {
		desired.LaunchTemplate = withVersion(&asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(s.LaunchTemplateID)}, s.NewVersion)
	}
	prefs := &asgtypes.RefreshPreferences{
		MinHealthyPercentage: aws.Int32(t.Settings.MinHealthyPercentage),
		SkipMatching:         aws.Bool(true),
		AutoRollback:         aws.Bool(!isAlias(aws.ToString(spec.Version))),
	}
	if t.Settings.InstanceWarmup > 0 {
		prefs.InstanceWarmup = aws.Int32(t.Settings.InstanceWarmup)
	}
	out, err := o.asg.StartInstanceRefresh(ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(t.Group),
		Strategy:             asgtypes.RefreshStrategyRolling,
		DesiredConfiguration: desired,
		Preferences:          prefs,
	})
	if err == nil {
		return &RefreshResult{RefreshID: aws.ToString(out.InstanceRefreshId)}, nil
	}
	if apiCode(err) != "InstanceRefreshInProgress" {
		return nil, classify("autoscaling:StartInstanceRefresh", err)
	}
	list, derr := o.asg.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(t.Group)})
	if derr != nil {
		return nil, classify("autoscaling:DescribeInstanceRefreshes", derr)
	}
	for _, r := range list.InstanceRefreshes {
		if activeRefresh(r.Status) && desiredVersion(r) == s.NewVersion {
			return &RefreshResult{RefreshID: aws.ToString(r.InstanceRefreshId)}, nil
		}
	}
	return nil, &amiswap.TransientError{Op: "autoscaling:StartInstanceRefresh", Err: fmt.Errorf("another instance refresh of %s is in progress: %w", t.Group, err)}
}

// refollow puts a group that followed $Default or $Latest back on that
// alias after a successful refresh: Auto Scaling makes the refresh's
// desired configuration, pinned to the new version number, the group's
// own. The alias names that same version now, so nothing is replaced. A
// group that someone moved to yet another version is left alone.
func (o *GroupOps) refollow(ctx context.Context, t *amiswap.Target, s *SwapResult) error {
	alias := t.LaunchTemplate.Version
	if alias != "$Default" && alias != "$Latest" || s == nil || s.NewVersion == "" {
		return nil
	}
	g, err := describeGroup(ctx, o.asg, t.Group)
	if err != nil {
		return err
	}
	spec := groupTemplate(g)
	if spec == nil || aws.ToString(spec.Version) != s.NewVersion {
		return nil
	}
	return setGroupVersion(ctx, o.asg, g, alias)
}

// CheckRefresh polls the instance refresh: Successful is ready (and a
// group that followed an alias follows it again, see refollow); Failed,
// Cancelled and rolled back are a *amiswap.RefreshFailedError; a refresh
// still going after refreshDeadline from its start is a
// *amiswap.StepTimeoutError. The wait is half of the remaining time
// estimated from the progress so far.
func (o *GroupOps) CheckRefresh(ctx context.Context, p Payload) (*PollResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	if p.State.Refresh == nil || p.State.Refresh.RefreshID == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.refresh", Reason: "missing: start-refresh has not run"}
	}
	now, err := needNow(p)
	if err != nil {
		return nil, err
	}
	id := p.State.Refresh.RefreshID
	r, err := describeRefresh(ctx, o.asg, t.Group, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, &amiswap.AWSError{Op: "autoscaling:DescribeInstanceRefreshes", Err: fmt.Errorf("instance refresh %s of %s not found", id, t.Group)}
	}
	switch r.Status {
	case asgtypes.InstanceRefreshStatusSuccessful:
		if err := o.refollow(ctx, t, p.State.Swap); err != nil {
			return nil, err
		}
		return pollReady(), nil
	case asgtypes.InstanceRefreshStatusFailed, asgtypes.InstanceRefreshStatusCancelled,
		asgtypes.InstanceRefreshStatusRollbackSuccessful, asgtypes.InstanceRefreshStatusRollbackFailed:
		reason := aws.ToString(r.StatusReason)
		if reason == "" {
			reason = "no reason given"
		}
		return nil, &amiswap.RefreshFailedError{Group: t.Group, RefreshID: id, Status: string(r.Status), Reason: reason}
	}
	pct := aws.ToInt32(r.PercentageComplete)
	waiting := fmt.Sprintf("instance refresh %s %s (%d%% complete)", id, r.Status, pct)
	start := now
	if r.StartTime != nil {
		start = *r.StartTime
	}
	w := wait{exec: p.Context.ExecutionID, step: "check-refresh", now: now, start: start, deadline: start.Add(refreshDeadline)}
	want := time.Minute
	if elapsed := w.elapsed(); pct > 0 && pct < 100 && elapsed > 0 {
		want = elapsed * time.Duration(100-pct) / time.Duration(pct) / 2
	}
	return w.again(max(want, 10*time.Second), waiting)
}
