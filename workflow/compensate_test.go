package workflow

import (
	"reflect"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	cmpBuilder = "i-0b0b0b0b0b0b0b0b0"
)

// compWorld fakes everything compensate touches; fail names the calls
// that fail (with the given code).
type compWorld struct {
	calls        *grpCalls
	fail         map[string]string
	refresh      asgtypes.InstanceRefreshStatus
	group        asgtypes.AutoScalingGroup
	versions     []ec2types.LaunchTemplateVersion // what a version search finds
	deleteResult *ec2.DeleteLaunchTemplateVersionsOutput
	builders     []string // what a builder search by tag finds

	modifyIn    []*ec2.ModifyLaunchTemplateInput
	updateIn    []*autoscaling.UpdateAutoScalingGroupInput
	deleteVerIn *ec2.DeleteLaunchTemplateVersionsInput
	terminateIn []string
	searchIn    *ec2.DescribeInstancesInput
	snapshots   []string
	deregIn     string
	// What the searches by tag find: images, snapshots.
	taggedImages []ec2types.Image
	taggedSnaps  []ec2types.Snapshot
}

func (w *compWorld) err(op string) error {
	if code, ok := w.fail[op]; ok {
		return apiErr(code)
	}
	return nil
}

func (w *compWorld) compensator() *Compensator {
	asg := &grpASG{grpCalls: w.calls,
		describeRefreshes: func(in *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
			return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: []asgtypes.InstanceRefresh{{InstanceRefreshId: aws.String("r-1"), Status: w.refresh}}}, w.err("DescribeInstanceRefreshes")
		},
		cancelRefresh: func(in *autoscaling.CancelInstanceRefreshInput) (*autoscaling.CancelInstanceRefreshOutput, error) {
			if aws.ToString(in.AutoScalingGroupName) != grpName {
				w.calls.t.Errorf("cancel sent %+v", in)
			}
			return &autoscaling.CancelInstanceRefreshOutput{}, w.err("CancelInstanceRefresh")
		},
		describeGroups: groupsOut(w.group),
		update: func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
			w.updateIn = append(w.updateIn, in)
			return &autoscaling.UpdateAutoScalingGroupOutput{}, w.err("UpdateAutoScalingGroup")
		},
		deleteTags: func(in *autoscaling.DeleteTagsInput) (*autoscaling.DeleteTagsOutput, error) {
			return &autoscaling.DeleteTagsOutput{}, w.err("DeleteTags")
		},
	}
	e := &grpEC2{grpCalls: w.calls,
		modifyTemplate: func(in *ec2.ModifyLaunchTemplateInput) (*ec2.ModifyLaunchTemplateOutput, error) {
			w.modifyIn = append(w.modifyIn, in)
			return &ec2.ModifyLaunchTemplateOutput{}, w.err("ModifyLaunchTemplate")
		},
		describeVersions: func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: w.versions}, w.err("DescribeLaunchTemplateVersions")
		},
		deleteVersions: func(in *ec2.DeleteLaunchTemplateVersionsInput) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
			w.deleteVerIn = in
			if err := w.err("DeleteLaunchTemplateVersions"); err != nil {
				return nil, err
			}
			if w.deleteResult != nil {
				return w.deleteResult, nil
			}
			return &ec2.DeleteLaunchTemplateVersionsOutput{SuccessfullyDeletedLaunchTemplateVersions: []ec2types.DeleteLaunchTemplateVersionsResponseSuccessItem{
				{LaunchTemplateId: in.LaunchTemplateId, VersionNumber: aws.Int64(5)},
			}}, nil
		},
		describeInstances: func(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
			w.searchIn = in
			var insts []ec2types.Instance
			for _, id := range w.builders {
				insts = append(insts, ec2types.Instance{InstanceId: aws.String(id)})
			}
			return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: insts}}}, nil
		},
		terminate: func(in *ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
			w.terminateIn = append(w.terminateIn, in.InstanceIds...)
			return &ec2.TerminateInstancesOutput{}, w.err("TerminateInstances")
		},
		describeSnapshots: func(in *ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error) {
			return &ec2.DescribeSnapshotsOutput{Snapshots: w.taggedSnaps}, nil
		},
		describeImages: func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			if len(in.Filters) > 0 {
				// The search by this execution's tags.
				return &ec2.DescribeImagesOutput{Images: w.taggedImages}, nil
			}
			if err := w.err("DescribeImages"); err != nil {
				return nil, err
			}
			return &ec2.DescribeImagesOutput{Images: []ec2types.Image{{ImageId: aws.String(grpGolden), BlockDeviceMappings: []ec2types.BlockDeviceMapping{
				{DeviceName: aws.String("/dev/xvda"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String("snap-01")}},
				{DeviceName: aws.String("/dev/xvdb"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String("snap-02")}},
				{DeviceName: aws.String("/dev/sdc"), VirtualName: aws.String("ephemeral0")},
			}}}}, nil
		},
		deregister: func(in *ec2.DeregisterImageInput) (*ec2.DeregisterImageOutput, error) {
			w.deregIn = aws.ToString(in.ImageId)
			return &ec2.DeregisterImageOutput{}, w.err("DeregisterImage")
		},
		deleteSnapshot: func(in *ec2.DeleteSnapshotInput) (*ec2.DeleteSnapshotOutput, error) {
			w.snapshots = append(w.snapshots, aws.ToString(in.SnapshotId))
			return &ec2.DeleteSnapshotOutput{}, w.err("DeleteSnapshot")
		},
	}
	return &Compensator{asg: asg, ec2: e}
}

// failedState is a swap that failed while refreshing: every step done.
func failedState(version string) State {
	tg := grpTarget(version, false)
	tg.Settings.FreezeMaxSize, tg.Settings.Refresh = true, "rolling"
	st := State{
		Target:  tg,
		Lock:    &LockResult{Table: "locks", Key: "group#web", Owner: grpExec},
		Freeze:  &FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 3},
		Builder: &BuilderResult{InstanceID: cmpBuilder},
		Image:   &ImageResult{ImageID: grpGolden},
		Thaw:    &ThawResult{},
		Refresh: &RefreshResult{RefreshID: "r-1"},
		Error:   &ErrorInfo{Error: "StepTimeoutError", Cause: "check-refresh: still waiting"},
	}
	// What update-launch-template records for a group with a refresh to
	// follow: an alias group pinned to its source version, a pinned group
	// left alone.
	switch version {
	case "$Default":
		st.Swap = &SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default", GroupUpdated: true}
	case "$Latest":
		st.Swap = &SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "$Latest", PreviousGroupVersion: "$Latest", GroupUpdated: true}
	default:
		st.Swap = &SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "5", PreviousGroupVersion: version}
	}
	st.Thaw = nil // the run failed before Thaw
	return st
}

func frozenGroup(version string) asgtypes.AutoScalingGroup {
	g := withTag(grpGroup(version, false), amiswap.TagOriginalMaxSize, "10")
	g.MaxSize = aws.Int32(3)
	return g
}

func TestCompensate(t *testing.T) {
	restoreMax := []string{"DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DeleteTags"}
	// find: the builders and golden AMIs by tag, then the state's AMI.
	find := []string{"DescribeInstances", "DescribeImages", "DescribeImages"}
	sweep := []string{"DescribeSnapshots"}
	removeImage := []string{"DeregisterImage", "DeleteSnapshot", "DeleteSnapshot", "DescribeSnapshots"}
	join := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name         string
		state        func() State
		group        asgtypes.AutoScalingGroup
		refresh      asgtypes.InstanceRefreshStatus
		fail         map[string]string
		versions     []ec2types.LaunchTemplateVersion
		deleteResult *ec2.DeleteLaunchTemplateVersionsOutput
		builders     []string
		taggedSnaps  []ec2types.Snapshot // golden snapshots of the execution found by tag
		calls        []string
		problems     []string // substrings, in order
		actions      int
		modifyTo     []string
		groupTo      string
		terminated   []string
		imageRemoved bool
		transient    string // a TransientError saying this, "" for none
	}{
		{
			name: "refresh cancelled: the group waits for a retry", state: func() State { return failedState("$Default") }, group: frozenGroup("4"),
			refresh: asgtypes.InstanceRefreshStatusInProgress,
			calls:   join(find, []string{"DescribeInstanceRefreshes", "CancelInstanceRefresh", "ModifyLaunchTemplate"}, restoreMax, []string{"TerminateInstances"}),
			actions: 4, modifyTo: []string{"4"}, terminated: []string{cmpBuilder}, transient: "is Cancelling",
		},
		{
			name: "refresh rolling back: the group waits for a retry", state: func() State { return failedState("4") }, group: frozenGroup("4"),
			refresh: asgtypes.InstanceRefreshStatusRollbackInProgress,
			calls:   join(find, []string{"DescribeInstanceRefreshes"}, restoreMax, []string{"TerminateInstances"}),
			actions: 2, terminated: []string{cmpBuilder}, transient: "is RollbackInProgress",
		},
		{
			name: "refresh state unknown: retry", state: func() State { return failedState("4") }, group: frozenGroup("4"),
			fail:     map[string]string{"DescribeInstanceRefreshes": "AccessDenied"},
			calls:    join(find, []string{"DescribeInstanceRefreshes"}, restoreMax, []string{"TerminateInstances"}),
			problems: []string{"describe instance refresh r-1"},
			actions:  2, terminated: []string{cmpBuilder}, transient: "in an unknown state",
		},
		{
			name: "everything, group on $Default", state: func() State { return failedState("$Default") }, group: frozenGroup("4"),
			refresh: asgtypes.InstanceRefreshStatusRollbackSuccessful,
			calls: join(find, []string{"DescribeInstanceRefreshes", "ModifyLaunchTemplate", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DeleteLaunchTemplateVersions"},
				restoreMax, []string{"TerminateInstances"}, removeImage),
			actions: 8, modifyTo: []string{"4"}, groupTo: "$Default", terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "pinned group moved by a refresh that then failed", state: func() State { return failedState("4") }, group: frozenGroup("5"),
			refresh: asgtypes.InstanceRefreshStatusSuccessful,
			calls: join(find, []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DeleteLaunchTemplateVersions"},
				restoreMax, []string{"TerminateInstances"}, removeImage),
			actions: 7, groupTo: "4", terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "pinned group changed by someone else", state: func() State { return failedState("4") }, group: frozenGroup("6"),
			refresh: asgtypes.InstanceRefreshStatusFailed,
			calls: join(find, []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "DeleteLaunchTemplateVersions"},
				restoreMax, []string{"TerminateInstances"}, removeImage),
			actions: 6, terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "the revert fails: keep going, keep the AMI", state: func() State { return failedState("$Default") }, group: frozenGroup("4"),
			refresh: asgtypes.InstanceRefreshStatusRollbackSuccessful, fail: map[string]string{"ModifyLaunchTemplate": "UnauthorizedOperation"},
			calls:    join(find, []string{"DescribeInstanceRefreshes", "ModifyLaunchTemplate", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}, restoreMax, []string{"TerminateInstances"}),
			problems: []string{"set the default version of " + grpLT + " back to 4", "kept launch template version 5", "kept golden AMI " + grpGolden},
			actions:  3, modifyTo: []string{"4"}, groupTo: "$Default", terminated: []string{cmpBuilder},
		},
		{
			name: "the version cannot be deleted: keep the AMI", state: func() State { return failedState("$Latest") }, group: frozenGroup("$Latest"),
			refresh: asgtypes.InstanceRefreshStatusCancelled,
			deleteResult: &ec2.DeleteLaunchTemplateVersionsOutput{UnsuccessfullyDeletedLaunchTemplateVersions: []ec2types.DeleteLaunchTemplateVersionsResponseErrorItem{{
				VersionNumber: aws.Int64(5), ResponseError: &ec2types.ResponseError{Code: ec2types.LaunchTemplateErrorCodeUnexpectedError, Message: aws.String("boom")},
			}}},
			calls:    join(find, []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "DeleteLaunchTemplateVersions"}, restoreMax, []string{"TerminateInstances"}),
			problems: []string{"delete launch template version 5 of " + grpLT + ": unexpectedError: boom", "kept golden AMI"},
			actions:  2, terminated: []string{cmpBuilder},
		},
		{
			name: "already undone: every step tolerates it", state: func() State { return failedState("$Latest") }, group: grpGroup("$Latest", false),
			refresh: asgtypes.InstanceRefreshStatusCancelled,
			deleteResult: &ec2.DeleteLaunchTemplateVersionsOutput{UnsuccessfullyDeletedLaunchTemplateVersions: []ec2types.DeleteLaunchTemplateVersionsResponseErrorItem{{
				VersionNumber: aws.Int64(5), ResponseError: &ec2types.ResponseError{Code: ec2types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist},
			}}},
			fail: map[string]string{"TerminateInstances": "InvalidInstanceID.NotFound", "DescribeImages": "InvalidAMIID.NotFound"},
			// MaxSize is 10 and untagged: restored from the state without a call to change it.
			calls:   join(find, []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "DeleteLaunchTemplateVersions", "DescribeAutoScalingGroups", "TerminateInstances"}, sweep),
			actions: 1, terminated: []string{cmpBuilder},
		},
		{
			name: "terminating the builder fails, the rest goes on", state: func() State { return failedState("$Latest") }, group: frozenGroup("$Latest"),
			refresh: asgtypes.InstanceRefreshStatusPending, fail: map[string]string{"TerminateInstances": "UnauthorizedOperation", "CancelInstanceRefresh": "ActiveInstanceRefreshNotFound"},
			calls:    join(find, []string{"DescribeInstanceRefreshes", "CancelInstanceRefresh", "DescribeAutoScalingGroups", "DeleteLaunchTemplateVersions"}, restoreMax, []string{"TerminateInstances"}, removeImage),
			problems: []string{"terminate builder " + cmpBuilder},
			actions:  5, terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "rolled out: only the builder and MaxSize", group: frozenGroup("$Default"),
			state: func() State {
				st := failedState("$Default")
				st.RolledOut = true
				return st
			},
			calls:   join([]string{"DescribeInstances"}, restoreMax, []string{"TerminateInstances"}),
			actions: 2, terminated: []string{cmpBuilder},
		},
		{
			name: "thawed already", group: grpGroup("$Default", false),
			state: func() State {
				st := failedState("$Default")
				st.Thaw, st.Refresh, st.Swap, st.Image = &ThawResult{Restored: true, MaxSize: 10}, nil, nil, nil
				return st
			},
			calls: join(find[:2], []string{"TerminateInstances"}, sweep), actions: 1, terminated: []string{cmpBuilder},
		},
		{
			name: "update died after changing the default: found by its description", group: frozenGroup("$Default"),
			state: func() State {
				st := failedState("$Default")
				st.Swap, st.Refresh = nil, nil
				return st
			},
			versions: []ec2types.LaunchTemplateVersion{
				{LaunchTemplateId: aws.String(grpLT), VersionNumber: aws.Int64(3), VersionDescription: aws.String("amiswap run-0 from x")},
				{LaunchTemplateId: aws.String(grpLT), VersionNumber: aws.Int64(5), VersionDescription: aws.String("amiswap run-1 from " + grpJob), DefaultVersion: aws.Bool(true)},
			},
			calls:   join(find, []string{"DescribeLaunchTemplateVersions", "ModifyLaunchTemplate", "DescribeAutoScalingGroups", "DeleteLaunchTemplateVersions"}, restoreMax, []string{"TerminateInstances"}, removeImage),
			actions: 7, modifyTo: []string{"4"}, terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "update died after pinning the group for the refresh", group: frozenGroup("4"),
			state: func() State {
				st := failedState("$Latest")
				st.Swap, st.Refresh = nil, nil
				return st
			},
			calls:   join(find, []string{"DescribeLaunchTemplateVersions", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}, restoreMax, []string{"TerminateInstances"}, removeImage),
			actions: 6, groupTo: "$Latest", terminated: []string{cmpBuilder}, imageRemoved: true,
		},
		{
			name: "failed in freeze: MaxSize from the tag, builder searched by tag", group: frozenGroup("$Default"),
			builders: []string{"i-0e0e0e0e0e0e0e0e0"},
			state: func() State {
				st := failedState("$Default")
				st.Freeze, st.Builder, st.Image, st.Swap, st.Refresh = nil, nil, nil, nil, nil
				return st
			},
			calls:   join(find[:2], restoreMax, []string{"TerminateInstances"}, sweep),
			actions: 2, terminated: []string{"i-0e0e0e0e0e0e0e0e0"},
		},
		{
			// A crash after DeregisterImage left the snapshot behind: found by
			// its tags, deleted; a snapshot that cannot be deleted is a
			// problem, not a silent leak.
			name: "snapshot left by a crash, found by tag", group: grpGroup("$Default", false),
			state: func() State {
				st := failedState("$Default")
				st.Thaw, st.Refresh, st.Swap, st.Image = &ThawResult{Restored: true, MaxSize: 10}, nil, nil, nil
				return st
			},
			taggedSnaps: []ec2types.Snapshot{{SnapshotId: aws.String("snap-0left"), Tags: []ec2types.Tag{{Key: aws.String(amiswap.TagExecution), Value: aws.String(grpExec)}}}},
			fail:        map[string]string{"DeleteSnapshot": "UnauthorizedOperation"},
			calls:       join(find[:2], []string{"TerminateInstances"}, sweep, []string{"DeleteSnapshot"}),
			problems:    []string{"delete the golden snapshots of execution"},
			actions:     1, terminated: []string{cmpBuilder},
		},
		{
			name: "snapshot left by a crash, deleted", group: grpGroup("$Default", false),
			state: func() State {
				st := failedState("$Default")
				st.Thaw, st.Refresh, st.Swap, st.Image = &ThawResult{Restored: true, MaxSize: 10}, nil, nil, nil
				return st
			},
			taggedSnaps: []ec2types.Snapshot{{SnapshotId: aws.String("snap-0left"), Tags: []ec2types.Tag{{Key: aws.String(amiswap.TagExecution), Value: aws.String(grpExec)}}}},
			calls:       join(find[:2], []string{"TerminateInstances"}, sweep, []string{"DeleteSnapshot"}),
			actions:     2, terminated: []string{cmpBuilder},
		},
		{
			name: "failed in resolve: nothing found to undo", state: func() State { return State{Error: &ErrorInfo{Error: "AWSError"}} },
			calls: join(find[:2], sweep),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			w := &compWorld{calls: calls, fail: tc.fail, refresh: tc.refresh, group: tc.group, versions: tc.versions, deleteResult: tc.deleteResult, builders: tc.builders, taggedSnaps: tc.taggedSnaps}
			got, err := w.compensator().Compensate(t.Context(), grpPayload(tc.state()))
			if !reflect.DeepEqual(calls.calls, tc.calls) {
				t.Errorf("calls %v\nwant  %v", calls.calls, tc.calls)
			}
			if tc.transient != "" {
				if errType(err) != "TransientError" || !strings.Contains(err.Error(), tc.transient) {
					t.Fatalf("error %v, want a TransientError saying %q", err, tc.transient)
				}
			} else if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
			} else {
				if _, ok := errorsAs[*amiswap.CompensationError](err); !ok {
					t.Fatalf("error %v, want CompensationError", err)
				}
			}
			if got == nil || len(got.Problems) != len(tc.problems) {
				t.Errorf("problems %q, want %d", got.Problems, len(tc.problems))
			}
			for i, p := range tc.problems {
				if i < len(got.Problems) && !strings.Contains(got.Problems[i], p) {
					t.Errorf("problem %d %q, want it to say %q", i, got.Problems[i], p)
				}
			}
			if got == nil || len(got.Actions) != tc.actions {
				t.Errorf("actions %q, want %d", got.Actions, tc.actions)
			}
			var modified []string
			for _, in := range w.modifyIn {
				if aws.ToString(in.LaunchTemplateId) != grpLT {
					t.Errorf("modify of %s", aws.ToString(in.LaunchTemplateId))
				}
				modified = append(modified, aws.ToString(in.DefaultVersion))
			}
			if !reflect.DeepEqual(modified, tc.modifyTo) {
				t.Errorf("default set to %v, want %v", modified, tc.modifyTo)
			}
			for _, in := range w.updateIn {
				switch {
				case in.MaxSize != nil:
					if aws.ToInt32(in.MaxSize) != 10 || in.LaunchTemplate != nil || in.DesiredCapacity != nil {
						t.Errorf("max size update %+v", in)
					}
				case in.LaunchTemplate != nil:
					if aws.ToString(in.LaunchTemplate.Version) != tc.groupTo || aws.ToString(in.LaunchTemplate.LaunchTemplateId) != grpLT {
						t.Errorf("group set to version %s, want %s", aws.ToString(in.LaunchTemplate.Version), tc.groupTo)
					}
				default:
					t.Errorf("unexpected group update %+v", in)
				}
			}
			if w.deleteVerIn != nil && (aws.ToString(w.deleteVerIn.LaunchTemplateId) != grpLT || !reflect.DeepEqual(w.deleteVerIn.Versions, []string{"5"})) {
				t.Errorf("delete versions sent %+v", w.deleteVerIn)
			}
			if !reflect.DeepEqual(w.terminateIn, tc.terminated) {
				t.Errorf("terminated %v, want %v", w.terminateIn, tc.terminated)
			}
			if tc.imageRemoved && (w.deregIn != grpGolden || !reflect.DeepEqual(w.snapshots, []string{"snap-01", "snap-02"})) {
				t.Errorf("deregistered %q, deleted %v", w.deregIn, w.snapshots)
			}
			if !tc.imageRemoved && w.deregIn != "" {
				t.Errorf("deregistered %s, want it kept", w.deregIn)
			}
			if w.searchIn != nil {
				want := []ec2types.Filter{
					{Name: aws.String("tag:amiswap:execution"), Values: []string{grpExec}},
					{Name: aws.String("tag:amiswap:role"), Values: []string{"builder", "verifier"}},
					{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
				}
				if !reflect.DeepEqual(w.searchIn.Filters, want) {
					t.Errorf("builder search %+v", w.searchIn.Filters)
				}
			}
		})
	}
}
