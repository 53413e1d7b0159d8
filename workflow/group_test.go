package workflow

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	grpName   = "web"
	grpLT     = "lt-0123456789abcdef0"
	grpGolden = "ami-0bbbbbbbbbbbbbbbb"
	grpExec   = "arn:aws:states:eu-west-1:123456789012:execution:amiswap:run-1"
	grpJob    = "5A1B2C3D-0000-4000-8000-00000000ABCD"
)

var grpNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func grpPayload(st State) Payload {
	return Payload{State: st, Context: Context{ExecutionID: grpExec, EnteredTime: grpNow}}
}

func grpTarget(version string, mixed bool) *amiswap.Target {
	s := amiswap.DefaultSettings()
	return &amiswap.Target{
		Group:          grpName,
		Source:         amiswap.Source{BackupJobID: grpJob, InstanceID: "i-0123456789abcdef0", ImageID: "ami-0aaaaaaaaaaaaaaaa", Platform: "linux"},
		LaunchTemplate: amiswap.LaunchTemplateRef{ID: grpLT, Name: "web-lt", Version: version, SourceVersion: "4", ImageID: "ami-0ccccccccccccccc0", Mixed: mixed},
		Capacity:       amiswap.Capacity{Min: 1, Max: 10, Desired: 3},
		Settings:       s,
	}
}

// grpGroup is the "web" group: max 10, desired 3, three InService
// instances, launching from version 4 of the template (or a mixed policy).
func grpGroup(version string, mixed bool) asgtypes.AutoScalingGroup {
	g := asgtypes.AutoScalingGroup{
		AutoScalingGroupName: aws.String(grpName),
		MinSize:              aws.Int32(1), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(3),
		Instances: []asgtypes.Instance{
			{InstanceId: aws.String("i-1"), LifecycleState: asgtypes.LifecycleStateInService},
			{InstanceId: aws.String("i-2"), LifecycleState: asgtypes.LifecycleStateInService},
			{InstanceId: aws.String("i-3"), LifecycleState: asgtypes.LifecycleStateInService},
		},
		VPCZoneIdentifier: aws.String("subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb"),
	}
	spec := &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(grpLT), LaunchTemplateName: aws.String("web-lt"), Version: aws.String(version)}
	if mixed {
		g.MixedInstancesPolicy = &asgtypes.MixedInstancesPolicy{
			InstancesDistribution: &asgtypes.InstancesDistribution{
				OnDemandBaseCapacity: aws.Int32(1), OnDemandPercentageAboveBaseCapacity: aws.Int32(50),
				SpotAllocationStrategy: aws.String("price-capacity-optimized"),
			},
			LaunchTemplate: &asgtypes.LaunchTemplate{
				LaunchTemplateSpecification: spec,
				Overrides: []asgtypes.LaunchTemplateOverrides{
					{InstanceType: aws.String("m5.large"), WeightedCapacity: aws.String("1")},
					{InstanceType: aws.String("m6i.large"), WeightedCapacity: aws.String("1")},
				},
			},
		}
	} else {
		g.LaunchTemplate = spec
	}
	return g
}

func groupsOut(gs ...asgtypes.AutoScalingGroup) func(*autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	return func(in *autoscaling.DescribeAutoScalingGroupsInput) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
		return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: gs}, nil
	}
}

func withTag(g asgtypes.AutoScalingGroup, key, value string) asgtypes.AutoScalingGroup {
	g.Tags = append(g.Tags, asgtypes.TagDescription{Key: aws.String(key), Value: aws.String(value), ResourceId: aws.String(grpName)})
	return g
}

// errType is the name of the typed error in err's chain (amiswap.ErrorName),
// or "<nil>".
func errType(err error) string {
	if err == nil {
		return "<nil>"
	}
	return amiswap.ErrorName(err)
}

func TestFreeze(t *testing.T) {
	frozenState := func(g asgtypes.AutoScalingGroup) asgtypes.AutoScalingGroup { return g }
	cases := []struct {
		name      string
		freeze    bool
		group     asgtypes.AutoScalingGroup
		want      FreezeResult
		wantCalls []string
		wantTag   string // value written to amiswap:original-max-size, "" for none
		wantMax   int32  // MaxSize sent, 0 for no update
		wantErr   string
	}{
		{name: "not asked", freeze: false, want: FreezeResult{}, wantCalls: nil},
		{
			name: "freeze at desired", freeze: true, group: grpGroup("4", false),
			want:      FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 3},
			wantCalls: []string{"DescribeAutoScalingGroups", "CreateOrUpdateTags", "UpdateAutoScalingGroup"}, wantTag: "10", wantMax: 3,
		},
		{
			name: "never below the instances running", freeze: true,
			group: func() asgtypes.AutoScalingGroup {
				g := grpGroup("4", false)
				g.DesiredCapacity = aws.Int32(2) // being scaled in: 3 in service, 1 pending still count
				g.Instances = append(g.Instances, asgtypes.Instance{InstanceId: aws.String("i-4"), LifecycleState: asgtypes.LifecycleStatePendingWait},
					asgtypes.Instance{InstanceId: aws.String("i-5"), LifecycleState: asgtypes.LifecycleStateTerminating})
				return g
			}(),
			want:      FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 4},
			wantCalls: []string{"DescribeAutoScalingGroups", "CreateOrUpdateTags", "UpdateAutoScalingGroup"}, wantTag: "10", wantMax: 4,
		},
		{
			name: "never below MinSize", freeze: true,
			group: func() asgtypes.AutoScalingGroup {
				g := grpGroup("4", false)
				g.MinSize, g.DesiredCapacity, g.Instances = aws.Int32(2), aws.Int32(2), nil
				return g
			}(),
			want:      FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 2},
			wantCalls: []string{"DescribeAutoScalingGroups", "CreateOrUpdateTags", "UpdateAutoScalingGroup"}, wantTag: "10", wantMax: 2,
		},
		{
			name: "retry keeps the original from the tag", freeze: true,
			group: frozenState(func() asgtypes.AutoScalingGroup {
				g := withTag(grpGroup("4", false), amiswap.TagOriginalMaxSize, "10")
				g.MaxSize = aws.Int32(3)
				return g
			}()),
			want:      FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 3},
			wantCalls: []string{"DescribeAutoScalingGroups"},
		},
		{
			name: "bad tag", freeze: true, group: withTag(grpGroup("4", false), amiswap.TagOriginalMaxSize, "ten"),
			wantCalls: []string{"DescribeAutoScalingGroups"}, wantErr: "InvalidInputError",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			var tagIn *autoscaling.CreateOrUpdateTagsInput
			var updIn *autoscaling.UpdateAutoScalingGroupInput
			asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(tc.group),
				createTags: func(in *autoscaling.CreateOrUpdateTagsInput) (*autoscaling.CreateOrUpdateTagsOutput, error) {
					tagIn = in
					return &autoscaling.CreateOrUpdateTagsOutput{}, nil
				},
				update: func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
					updIn = in
					return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
				},
			}
			tg := grpTarget("4", false)
			tg.Settings.FreezeMaxSize = tc.freeze
			got, err := (&GroupOps{asg: asg}).Freeze(t.Context(), grpPayload(State{Target: tg}))
			if errType(err) != nonEmpty(tc.wantErr) {
				t.Fatalf("error %v (%s), want %s", err, errType(err), tc.wantErr)
			}
			if !reflect.DeepEqual(calls.calls, tc.wantCalls) {
				t.Errorf("calls %v, want %v", calls.calls, tc.wantCalls)
			}
			if err != nil {
				return
			}
			if *got != tc.want {
				t.Errorf("result %+v, want %+v", *got, tc.want)
			}
			if tc.wantTag != "" {
				want := asgtypes.Tag{ResourceId: aws.String(grpName), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(amiswap.TagOriginalMaxSize), Value: aws.String(tc.wantTag), PropagateAtLaunch: aws.Bool(false)}
				if tagIn == nil || len(tagIn.Tags) != 1 || !reflect.DeepEqual(tagIn.Tags[0], want) {
					t.Errorf("tags sent %+v, want %+v", tagIn, want)
				}
			}
			if tc.wantMax != 0 {
				want := autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(grpName), MaxSize: aws.Int32(tc.wantMax)}
				if updIn == nil || !reflect.DeepEqual(*updIn, want) {
					t.Errorf("update sent %+v, want only MaxSize %d", updIn, tc.wantMax)
				}
			}
		})
	}
}

// nonEmpty maps "" to the name errType gives a nil error.
func nonEmpty(s string) string {
	if s == "" {
		return "<nil>"
	}
	return s
}

func TestThaw(t *testing.T) {
	frozen := func(tag string) asgtypes.AutoScalingGroup {
		g := grpGroup("4", false)
		g.MaxSize = aws.Int32(3)
		if tag != "" {
			g = withTag(g, amiswap.TagOriginalMaxSize, tag)
		}
		return g
	}
	cases := []struct {
		name      string
		freeze    *FreezeResult
		group     asgtypes.AutoScalingGroup
		want      ThawResult
		wantCalls []string
		wantMax   int32
	}{
		{name: "not frozen", freeze: &FreezeResult{}, want: ThawResult{}},
		{name: "no freeze step", freeze: nil, want: ThawResult{}},
		{
			name: "from the tag", freeze: &FreezeResult{Frozen: true, OriginalMaxSize: 7, FrozenMaxSize: 3}, group: frozen("10"),
			want: ThawResult{Restored: true, MaxSize: 10}, wantCalls: []string{"DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DeleteTags"}, wantMax: 10,
		},
		{
			name: "from the state when the tag is gone", freeze: &FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 3}, group: frozen(""),
			want: ThawResult{Restored: true, MaxSize: 10}, wantCalls: []string{"DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}, wantMax: 10,
		},
		{
			name: "retry after the update", freeze: &FreezeResult{Frozen: true, OriginalMaxSize: 10, FrozenMaxSize: 3},
			group: withTag(grpGroup("4", false), amiswap.TagOriginalMaxSize, "10"),
			want:  ThawResult{Restored: true, MaxSize: 10}, wantCalls: []string{"DescribeAutoScalingGroups", "DeleteTags"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			var updIn *autoscaling.UpdateAutoScalingGroupInput
			var delIn *autoscaling.DeleteTagsInput
			asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(tc.group),
				update: func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
					updIn = in
					return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
				},
				deleteTags: func(in *autoscaling.DeleteTagsInput) (*autoscaling.DeleteTagsOutput, error) {
					delIn = in
					return &autoscaling.DeleteTagsOutput{}, nil
				},
			}
			got, err := (&GroupOps{asg: asg}).Thaw(t.Context(), grpPayload(State{Target: grpTarget("4", false), Freeze: tc.freeze}))
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("result %+v, want %+v", *got, tc.want)
			}
			if !reflect.DeepEqual(calls.calls, tc.wantCalls) {
				t.Errorf("calls %v, want %v", calls.calls, tc.wantCalls)
			}
			if tc.wantMax != 0 && (updIn == nil || aws.ToInt32(updIn.MaxSize) != tc.wantMax || updIn.DesiredCapacity != nil || updIn.MinSize != nil) {
				t.Errorf("update sent %+v, want only MaxSize %d", updIn, tc.wantMax)
			}
			if delIn != nil && (len(delIn.Tags) != 1 || aws.ToString(delIn.Tags[0].Key) != amiswap.TagOriginalMaxSize || aws.ToString(delIn.Tags[0].ResourceId) != grpName) {
				t.Errorf("delete tags sent %+v", delIn.Tags)
			}
		})
	}
}

func TestFreezeAndThawErrors(t *testing.T) {
	calls := &grpCalls{t: t}
	asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(grpGroup("4", false)),
		createTags: func(*autoscaling.CreateOrUpdateTagsInput) (*autoscaling.CreateOrUpdateTagsOutput, error) {
			return nil, apiErr("Throttling")
		},
	}
	tg := grpTarget("4", false)
	tg.Settings.FreezeMaxSize = true
	_, err := (&GroupOps{asg: asg}).Freeze(t.Context(), grpPayload(State{Target: tg}))
	if errType(err) != "ThrottledError" {
		t.Errorf("throttled tagging: %v (%s), want ThrottledError", err, errType(err))
	}
	if want := []string{"DescribeAutoScalingGroups", "CreateOrUpdateTags"}; !reflect.DeepEqual(calls.calls, want) {
		t.Errorf("calls %v, want %v: MaxSize must not change before the original is saved", calls.calls, want)
	}

	asg = &grpASG{grpCalls: &grpCalls{t: t}, describeGroups: groupsOut()}
	_, err = (&GroupOps{asg: asg}).Thaw(t.Context(), grpPayload(State{Target: tg, Freeze: &FreezeResult{Frozen: true, OriginalMaxSize: 10}}))
	if !errors.Is(err, errGroupGone) || errType(err) != "AWSError" {
		t.Errorf("thaw of a gone group: %v, want AWSError wrapping errGroupGone", err)
	}

	_, err = (&GroupOps{asg: asg}).Freeze(t.Context(), grpPayload(State{}))
	if errType(err) != "InvalidInputError" {
		t.Errorf("freeze without a target: %v, want InvalidInputError", err)
	}
}

// ltWorld fakes a launch template: versions 1..4, default 4 unless set.
type ltWorld struct {
	existing      []ec2types.LaunchTemplateVersion // what the image-id filter finds
	defaultV      int64
	createIn      *ec2.CreateLaunchTemplateVersionInput
	modifyIn      *ec2.ModifyLaunchTemplateInput
	describeVerIn *ec2.DescribeLaunchTemplateVersionsInput
}

func (w *ltWorld) fake(calls *grpCalls) *grpEC2 {
	return &grpEC2{grpCalls: calls,
		describeVersions: func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			w.describeVerIn = in
			return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: w.existing}, nil
		},
		createVersion: func(in *ec2.CreateLaunchTemplateVersionInput) (*ec2.CreateLaunchTemplateVersionOutput, error) {
			w.createIn = in
			return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: &ec2types.LaunchTemplateVersion{
				LaunchTemplateId: aws.String(grpLT), VersionNumber: aws.Int64(5), VersionDescription: in.VersionDescription,
			}}, nil
		},
		describeTemplates: func(in *ec2.DescribeLaunchTemplatesInput) (*ec2.DescribeLaunchTemplatesOutput, error) {
			if !reflect.DeepEqual(in.LaunchTemplateIds, []string{grpLT}) {
				calls.t.Errorf("DescribeLaunchTemplates of %v", in.LaunchTemplateIds)
			}
			return &ec2.DescribeLaunchTemplatesOutput{LaunchTemplates: []ec2types.LaunchTemplate{{
				LaunchTemplateId: aws.String(grpLT), DefaultVersionNumber: aws.Int64(w.defaultV), LatestVersionNumber: aws.Int64(5),
			}}}, nil
		},
		modifyTemplate: func(in *ec2.ModifyLaunchTemplateInput) (*ec2.ModifyLaunchTemplateOutput, error) {
			w.modifyIn = in
			return &ec2.ModifyLaunchTemplateOutput{}, nil
		},
	}
}

func TestUpdateLaunchTemplate(t *testing.T) {
	ours := ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(grpLT), VersionNumber: aws.Int64(5), VersionDescription: aws.String("amiswap run-1 from " + grpJob)}
	other := ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(grpLT), VersionNumber: aws.Int64(3), VersionDescription: aws.String("amiswap run-0 from " + grpJob)}
	cases := []struct {
		name      string
		version   string
		mixed     bool
		existing  []ec2types.LaunchTemplateVersion
		defaultV  int64
		groupV    string
		want      SwapResult
		wantCalls []string
		create    bool
		modifyTo  string
		rolling   bool
		groupTo   string // the version the group is set to, "" for no change
	}{
		{
			name: "$Default", version: "$Default", defaultV: 4, existing: []ec2types.LaunchTemplateVersion{other},
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default"},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion", "DescribeLaunchTemplates", "ModifyLaunchTemplate"},
			create:    true, modifyTo: "5",
		},
		{
			name: "$Default, retried after everything", version: "$Default", defaultV: 5, existing: []ec2types.LaunchTemplateVersion{ours},
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default"},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "DescribeLaunchTemplates"},
		},
		{
			name: "$Default, retried after the create", version: "$Default", defaultV: 4, existing: []ec2types.LaunchTemplateVersion{ours},
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default"},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "DescribeLaunchTemplates", "ModifyLaunchTemplate"}, modifyTo: "5",
		},
		{
			name: "$Latest", version: "$Latest",
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "$Latest", PreviousGroupVersion: "$Latest"},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion"}, create: true,
		},
		{
			name: "pinned", version: "4", groupV: "4",
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "5", PreviousGroupVersion: "4", GroupUpdated: true},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}, create: true, groupTo: "5",
		},
		{
			name: "pinned, mixed", version: "4", mixed: true, groupV: "4",
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "5", PreviousGroupVersion: "4", GroupUpdated: true},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}, create: true, groupTo: "5",
		},
		{
			name: "pinned, retried after the group update", version: "4", groupV: "5", existing: []ec2types.LaunchTemplateVersion{ours},
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "5", PreviousGroupVersion: "4", GroupUpdated: true},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "DescribeAutoScalingGroups"},
		},
		{
			name: "$Default, refresh to follow: pinned to the source first", version: "$Default", rolling: true, groupV: "$Default", defaultV: 4,
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default", GroupUpdated: true},
			wantCalls: []string{"DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion", "DescribeLaunchTemplates", "ModifyLaunchTemplate"},
			create:    true, modifyTo: "5", groupTo: "4",
		},
		{
			name: "$Latest, mixed, refresh to follow", version: "$Latest", mixed: true, rolling: true, groupV: "$Latest",
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "$Latest", PreviousGroupVersion: "$Latest", GroupUpdated: true},
			wantCalls: []string{"DescribeAutoScalingGroups", "UpdateAutoScalingGroup", "DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion"},
			create:    true, groupTo: "4",
		},
		{
			name: "$Latest, refresh to follow, retried after the pin", version: "$Latest", rolling: true, groupV: "4", existing: []ec2types.LaunchTemplateVersion{ours},
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "$Latest", PreviousGroupVersion: "$Latest", GroupUpdated: true},
			wantCalls: []string{"DescribeAutoScalingGroups", "DescribeLaunchTemplateVersions"},
		},
		{
			name: "pinned, refresh to follow: the refresh moves the group", version: "4", rolling: true, groupV: "4",
			want:      SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "5", PreviousGroupVersion: "4"},
			wantCalls: []string{"DescribeLaunchTemplateVersions", "CreateLaunchTemplateVersion", "DescribeAutoScalingGroups"}, create: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			w := &ltWorld{existing: tc.existing, defaultV: tc.defaultV}
			group := grpGroup(tc.groupV, tc.mixed)
			var updIn *autoscaling.UpdateAutoScalingGroupInput
			asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(group),
				update: func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
					updIn = in
					return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
				},
			}
			tg := grpTarget(tc.version, tc.mixed)
			if tc.rolling {
				tg.Settings.Refresh = "rolling"
			}
			st := State{Target: tg, Image: &ImageResult{ImageID: grpGolden}}
			got, err := (&GroupOps{asg: asg, ec2: w.fake(calls)}).UpdateLaunchTemplate(t.Context(), grpPayload(st))
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("result %+v,\nwant %+v", *got, tc.want)
			}
			if !reflect.DeepEqual(calls.calls, tc.wantCalls) {
				t.Errorf("calls %v, want %v", calls.calls, tc.wantCalls)
			}
			// The search for an earlier try's version is by image.
			if w.describeVerIn == nil || aws.ToString(w.describeVerIn.LaunchTemplateId) != grpLT ||
				len(w.describeVerIn.Filters) != 1 || aws.ToString(w.describeVerIn.Filters[0].Name) != "image-id" || !reflect.DeepEqual(w.describeVerIn.Filters[0].Values, []string{grpGolden}) {
				t.Errorf("version search %+v", w.describeVerIn)
			}
			if tc.create {
				want := ec2.CreateLaunchTemplateVersionInput{
					LaunchTemplateId:   aws.String(grpLT),
					SourceVersion:      aws.String("4"),
					LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(grpGolden)},
					VersionDescription: aws.String("amiswap run-1 from " + grpJob + "; source version 4"),
					ClientToken:        aws.String(clientToken("update-launch-template", grpExec)),
				}
				if w.createIn == nil || !reflect.DeepEqual(*w.createIn, want) {
					t.Errorf("create sent %+v,\nwant only ImageId changed: %+v", w.createIn, want)
				}
			}
			if tc.modifyTo != "" {
				want := ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(grpLT), DefaultVersion: aws.String(tc.modifyTo)}
				if w.modifyIn == nil || !reflect.DeepEqual(*w.modifyIn, want) {
					t.Errorf("modify sent %+v, want %+v", w.modifyIn, want)
				}
			}
			if tc.groupTo == "" {
				if updIn != nil {
					t.Errorf("group updated: %+v", updIn)
				}
				return
			}
			want := autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String(grpName)}
			spec := &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(grpLT), Version: aws.String(tc.groupTo)}
			if tc.mixed {
				pol := *grpGroup(tc.groupV, true).MixedInstancesPolicy
				lt := *pol.LaunchTemplate
				lt.LaunchTemplateSpecification = spec
				pol.LaunchTemplate = &lt
				want.MixedInstancesPolicy = &pol
			} else {
				want.LaunchTemplate = spec
			}
			if updIn == nil || !reflect.DeepEqual(*updIn, want) {
				t.Errorf("group update sent %+v,\nwant %+v", updIn, want)
			}
		})
	}
}

func TestUpdateLaunchTemplateInvalid(t *testing.T) {
	noSource := grpTarget("4", false)
	noSource.LaunchTemplate.SourceVersion = "$Default"
	cases := map[string]State{
		"no image":       {Target: grpTarget("4", false)},
		"bad image":      {Target: grpTarget("4", false), Image: &ImageResult{ImageID: "ami-xyz"}},
		"no source":      {Target: noSource, Image: &ImageResult{ImageID: grpGolden}},
		"no target":      {Image: &ImageResult{ImageID: grpGolden}},
		"ssm image name": {Target: grpTarget("4", false), Image: &ImageResult{ImageID: "resolve:ssm:/golden"}},
	}
	for name, st := range cases {
		t.Run(name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			_, err := (&GroupOps{asg: &grpASG{grpCalls: calls}, ec2: &grpEC2{grpCalls: calls}}).UpdateLaunchTemplate(t.Context(), grpPayload(st))
			if errType(err) != "InvalidInputError" {
				t.Errorf("error %v, want InvalidInputError", err)
			}
			if len(calls.calls) != 0 {
				t.Errorf("AWS called before validation: %v", calls.calls)
			}
		})
	}
}

func TestStartRefresh(t *testing.T) {
	swap := &SwapResult{LaunchTemplateID: grpLT, NewVersion: "5", GroupVersion: "4", PreviousGroupVersion: "$Default", GroupUpdated: true}
	inProgress := func(id, version string) asgtypes.InstanceRefresh {
		return asgtypes.InstanceRefresh{InstanceRefreshId: aws.String(id), Status: asgtypes.InstanceRefreshStatusInProgress,
			DesiredConfiguration: &asgtypes.DesiredConfiguration{LaunchTemplate: &asgtypes.LaunchTemplateSpecification{Version: aws.String(version)}}}
	}
	cases := []struct {
		name      string
		groupV    string // what the group names when the refresh starts
		mixed     bool
		warmup    int32
		startErr  error
		refreshes []asgtypes.InstanceRefresh
		want      string
		wantErr   string
		wantCalls []string
	}{
		{name: "launch template", groupV: "4", want: "r-1", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh"}},
		{name: "warmup", groupV: "4", warmup: 300, want: "r-1", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh"}},
		{name: "mixed", groupV: "4", mixed: true, want: "r-1", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh"}},
		{name: "group on an alias: no auto-rollback", groupV: "$Default", want: "r-1", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh"}},
		{
			name: "ours already running", groupV: "4", startErr: apiErr("InstanceRefreshInProgress"),
			refreshes: []asgtypes.InstanceRefresh{
				{InstanceRefreshId: aws.String("r-0"), Status: asgtypes.InstanceRefreshStatusSuccessful, DesiredConfiguration: &asgtypes.DesiredConfiguration{LaunchTemplate: &asgtypes.LaunchTemplateSpecification{Version: aws.String("5")}}},
				inProgress("r-9", "5"),
			},
			want: "r-9", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh", "DescribeInstanceRefreshes"},
		},
		{
			name: "another one running", groupV: "4", startErr: apiErr("InstanceRefreshInProgress"),
			refreshes: []asgtypes.InstanceRefresh{inProgress("r-8", "3")},
			wantErr:   "TransientError", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh", "DescribeInstanceRefreshes"},
		},
		{name: "refused", groupV: "4", startErr: apiErr("ValidationError"), wantErr: "AWSError", wantCalls: []string{"DescribeAutoScalingGroups", "StartInstanceRefresh"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			var in *autoscaling.StartInstanceRefreshInput
			asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(grpGroup(tc.groupV, tc.mixed)),
				startRefresh: func(i *autoscaling.StartInstanceRefreshInput) (*autoscaling.StartInstanceRefreshOutput, error) {
					in = i
					if tc.startErr != nil {
						return nil, tc.startErr
					}
					return &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String("r-1")}, nil
				},
				describeRefreshes: func(i *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
					return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: tc.refreshes}, nil
				},
			}
			tg := grpTarget("$Default", tc.mixed)
			tg.Settings.Refresh, tg.Settings.MinHealthyPercentage, tg.Settings.InstanceWarmup = "rolling", 75, tc.warmup
			got, err := (&GroupOps{asg: asg}).StartRefresh(t.Context(), grpPayload(State{Target: tg, Swap: swap}))
			if errType(err) != nonEmpty(tc.wantErr) {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			if !reflect.DeepEqual(calls.calls, tc.wantCalls) {
				t.Errorf("calls %v, want %v", calls.calls, tc.wantCalls)
			}
			if err == nil && got.RefreshID != tc.want {
				t.Errorf("refresh %q, want %q", got.RefreshID, tc.want)
			}
			want := autoscaling.StartInstanceRefreshInput{
				AutoScalingGroupName: aws.String(grpName),
				Strategy:             asgtypes.RefreshStrategyRolling,
				DesiredConfiguration: &asgtypes.DesiredConfiguration{},
				Preferences: &asgtypes.RefreshPreferences{
					MinHealthyPercentage: aws.Int32(75), SkipMatching: aws.Bool(true), AutoRollback: aws.Bool(!isAlias(tc.groupV)),
				},
			}
			if tc.warmup != 0 {
				want.Preferences.InstanceWarmup = aws.Int32(tc.warmup)
			}
			spec := &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(grpLT), Version: aws.String("5")}
			if tc.mixed {
				pol := *grpGroup(tc.groupV, true).MixedInstancesPolicy
				lt := *pol.LaunchTemplate
				lt.LaunchTemplateSpecification = spec
				pol.LaunchTemplate = &lt
				want.DesiredConfiguration.MixedInstancesPolicy = &pol
			} else {
				want.DesiredConfiguration.LaunchTemplate = spec
			}
			if in == nil || !reflect.DeepEqual(*in, want) {
				t.Errorf("start sent %+v,\nwant %+v", in, want)
			}
		})
	}
}

func TestCheckRefresh(t *testing.T) {
	noJitter(t)
	start := grpNow.Add(-20 * time.Minute)
	cases := []struct {
		name     string
		status   asgtypes.InstanceRefreshStatus
		pct      int32
		start    time.Time
		missing  bool
		wantErr  string
		ready    bool
		wantWait int
	}{
		{name: "successful", status: asgtypes.InstanceRefreshStatusSuccessful, pct: 100, start: start, ready: true},
		{name: "pending", status: asgtypes.InstanceRefreshStatusPending, start: grpNow, wantWait: 60},
		// 20 minutes for 40%: 30 minutes left, half is 15 minutes, capped at 120 s.
		{name: "in progress, far", status: asgtypes.InstanceRefreshStatusInProgress, pct: 40, start: start, wantWait: 120},
		// 20 minutes for 95%: about 63 s left, half is about 32 s.
		{name: "in progress, near", status: asgtypes.InstanceRefreshStatusInProgress, pct: 95, start: start, wantWait: 32},
		{name: "baking", status: asgtypes.InstanceRefreshStatusBaking, pct: 100, start: start, wantWait: 60},
		{name: "cancelling", status: asgtypes.InstanceRefreshStatusCancelling, pct: 30, start: start, wantWait: 120},
		{name: "rolling back", status: asgtypes.InstanceRefreshStatusRollbackInProgress, pct: 30, start: start, wantWait: 120},
		{name: "failed", status: asgtypes.InstanceRefreshStatusFailed, start: start, wantErr: "RefreshFailedError"},
		{name: "cancelled", status: asgtypes.InstanceRefreshStatusCancelled, start: start, wantErr: "RefreshFailedError"},
		{name: "rolled back", status: asgtypes.InstanceRefreshStatusRollbackSuccessful, start: start, wantErr: "RefreshFailedError"},
		{name: "rollback failed", status: asgtypes.InstanceRefreshStatusRollbackFailed, start: start, wantErr: "RefreshFailedError"},
		{name: "past the deadline", status: asgtypes.InstanceRefreshStatusInProgress, pct: 90, start: grpNow.Add(-3*time.Hour - time.Second), wantErr: "StepTimeoutError"},
		{name: "near the deadline", status: asgtypes.InstanceRefreshStatusInProgress, pct: 10, start: grpNow.Add(-3*time.Hour + 20*time.Second), wantWait: 20},
		{name: "unknown id", missing: true, wantErr: "AWSError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			asg := &grpASG{grpCalls: calls,
				describeRefreshes: func(in *autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
					if aws.ToString(in.AutoScalingGroupName) != grpName || !reflect.DeepEqual(in.InstanceRefreshIds, []string{"r-1"}) {
						t.Errorf("describe sent %+v", in)
					}
					if tc.missing {
						return &autoscaling.DescribeInstanceRefreshesOutput{}, nil
					}
					return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: []asgtypes.InstanceRefresh{{
						InstanceRefreshId: aws.String("r-1"), Status: tc.status, PercentageComplete: aws.Int32(tc.pct),
						StartTime: aws.Time(tc.start), StatusReason: aws.String("health checks failed"),
					}}}, nil
				},
			}
			got, err := (&GroupOps{asg: asg}).CheckRefresh(t.Context(), grpPayload(State{Target: grpTarget("5", false), Refresh: &RefreshResult{RefreshID: "r-1"}}))
			if errType(err) != nonEmpty(tc.wantErr) {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			if err != nil {
				if rf, ok := errorsAs[*amiswap.RefreshFailedError](err); ok && (rf.Status != string(tc.status) || rf.Reason != "health checks failed" || rf.RefreshID != "r-1" || rf.Group != grpName) {
					t.Errorf("refresh error %+v", rf)
				}
				return
			}
			if got.Ready != tc.ready || got.WaitSeconds != tc.wantWait && !tc.ready {
				t.Errorf("poll %+v, want ready=%v wait=%d", *got, tc.ready, tc.wantWait)
			}
			if !tc.ready && !strings.Contains(got.Waiting, string(tc.status)) {
				t.Errorf("waiting %q does not say the status", got.Waiting)
			}
		})
	}
}

func TestCheckRefreshRefollowsTheAlias(t *testing.T) {
	swap := &SwapResult{LaunchTemplateID: grpLT, NewVersion: "5"}
	cases := []struct {
		name    string
		version string // what the group followed
		mixed   bool
		groupV  string // what it names after the refresh
		swap    *SwapResult
		calls   []string
	}{
		{name: "pinned stays pinned", version: "4", groupV: "5", swap: swap, calls: []string{"DescribeInstanceRefreshes"}},
		{name: "$Default again", version: "$Default", groupV: "5", swap: swap, calls: []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}},
		{name: "$Latest again, mixed", version: "$Latest", mixed: true, groupV: "5", swap: swap, calls: []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups", "UpdateAutoScalingGroup"}},
		{name: "already following", version: "$Default", groupV: "$Default", swap: swap, calls: []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups"}},
		{name: "moved on by someone else", version: "$Default", groupV: "6", swap: swap, calls: []string{"DescribeInstanceRefreshes", "DescribeAutoScalingGroups"}},
		{name: "no swap recorded", version: "$Default", groupV: "5", calls: []string{"DescribeInstanceRefreshes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := &grpCalls{t: t}
			var updIn *autoscaling.UpdateAutoScalingGroupInput
			asg := &grpASG{grpCalls: calls, describeGroups: groupsOut(grpGroup(tc.groupV, tc.mixed)),
				describeRefreshes: func(*autoscaling.DescribeInstanceRefreshesInput) (*autoscaling.DescribeInstanceRefreshesOutput, error) {
					return &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: []asgtypes.InstanceRefresh{{
						InstanceRefreshId: aws.String("r-1"), Status: asgtypes.InstanceRefreshStatusSuccessful, PercentageComplete: aws.Int32(100),
					}}}, nil
				},
				update: func(in *autoscaling.UpdateAutoScalingGroupInput) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
					updIn = in
					return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
				},
			}
			st := State{Target: grpTarget(tc.version, tc.mixed), Swap: tc.swap, Refresh: &RefreshResult{RefreshID: "r-1"}}
			got, err := (&GroupOps{asg: asg}).CheckRefresh(t.Context(), grpPayload(st))
			if err != nil || !got.Ready {
				t.Fatalf("poll %+v, %v: want ready", got, err)
			}
			if !reflect.DeepEqual(calls.calls, tc.calls) {
				t.Errorf("calls %v, want %v", calls.calls, tc.calls)
			}
			if updIn == nil {
				return
			}
			spec := updIn.LaunchTemplate
			if tc.mixed {
				want := policyWithVersion(grpGroup("5", true).MixedInstancesPolicy, tc.version)
				if !reflect.DeepEqual(updIn.MixedInstancesPolicy, want) || spec != nil {
					t.Errorf("update sent %+v, want the whole policy on %s", updIn, tc.version)
				}
				return
			}
			if spec == nil || aws.ToString(spec.Version) != tc.version || aws.ToString(spec.LaunchTemplateId) != grpLT || updIn.MaxSize != nil {
				t.Errorf("update sent %+v, want only the launch template on %s", updIn, tc.version)
			}
		})
	}
}
