package awssim

// Behaviour tests of the Auto Scaling service, through the aws-sdk-go-v2
// autoscaling and ec2 clients over HTTP.

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// asgFixture is a simulator with clients and a launch template.
type asgFixture struct {
	*testSim
	t    *testing.T
	ctx  context.Context
	as   *autoscaling.Client
	ec2  *ec2.Client
	ltID string
	ami  string
}

func newASGFixture(t *testing.T) *asgFixture {
	t.Helper()
	ts := newTestSim(t, Options{ConsistencyDelay: -1})
	f := &asgFixture{testSim: ts, t: t, ctx: context.Background(),
		as: autoscaling.NewFromConfig(ts.Cfg), ec2: ec2.NewFromConfig(ts.Cfg)}
	ts.mu.Lock()
	for _, im := range ts.Sim.ec2.imageOrder {
		if im.Platform == "" && im.Public {
			f.ami = im.ID
		}
	}
	ts.mu.Unlock()
	out, err := f.ec2.CreateLaunchTemplate(f.ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(f.ami), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}
	f.ltID = *out.LaunchTemplate.LaunchTemplateId
	return f
}

// newVersion adds a launch template version (copied from version 1) and
// returns its number.
func (f *asgFixture) newVersion() string {
	f.t.Helper()
	out, err := f.ec2.CreateLaunchTemplateVersion(f.ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(f.ltID), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small},
	})
	if err != nil {
		f.t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	return strconv.FormatInt(aws.ToInt64(out.LaunchTemplateVersion.VersionNumber), 10)
}

func (f *asgFixture) subnets() []string {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, sn := range f.testSim.ec2.subnets {
		ids = append(ids, sn.ID)
	}
	return ids
}

func (f *asgFixture) createGroup(name, version string, min, max, desired int, tags ...astypes.Tag) {
	f.t.Helper()
	_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		LaunchTemplate:       &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID), Version: aws.String(version)},
		MinSize:              aws.Int32(int32(min)), MaxSize: aws.Int32(int32(max)), DesiredCapacity: aws.Int32(int32(desired)),
		VPCZoneIdentifier: aws.String(strings.Join(f.subnets(), ",")),
		Tags:              tags,
	})
	if err != nil {
		f.t.Fatalf("CreateAutoScalingGroup %s: %v", name, err)
	}
}

func (f *asgFixture) group(name string) astypes.AutoScalingGroup {
	f.t.Helper()
	out, err := f.as.DescribeAutoScalingGroups(f.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		f.t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	if len(out.AutoScalingGroups) != 1 {
		f.t.Fatalf("DescribeAutoScalingGroups %s: %d groups", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

// states counts a group's instances by LifecycleState.
func states(g astypes.AutoScalingGroup) map[string]int {
	out := map[string]int{}
	for _, in := range g.Instances {
		out[string(in.LifecycleState)]++
	}
	return out
}

// versions lists the launch template versions of the in-service and
// pending instances, sorted.
func versions(g astypes.AutoScalingGroup) []string {
	var out []string
	for _, in := range g.Instances {
		if in.LifecycleState == astypes.LifecycleStateInService || in.LifecycleState == astypes.LifecycleStatePending {
			out = append(out, aws.ToString(in.LaunchTemplate.Version))
		}
	}
	sort.Strings(out)
	return out
}

func (f *asgFixture) refresh(group, id string) astypes.InstanceRefresh {
	f.t.Helper()
	out, err := f.as.DescribeInstanceRefreshes(f.ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group), InstanceRefreshIds: []string{id},
	})
	if err != nil {
		f.t.Fatalf("DescribeInstanceRefreshes: %v", err)
	}
	if len(out.InstanceRefreshes) != 1 {
		f.t.Fatalf("DescribeInstanceRefreshes: %d refreshes", len(out.InstanceRefreshes))
	}
	return out.InstanceRefreshes[0]
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (f *asgFixture) eventTypes(source string) []string {
	var out []string
	for _, ev := range f.Events() {
		if ev.Source == source {
			out = append(out, ev.DetailType)
		}
	}
	return out
}

func TestASGKeepsDesiredCapacity(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "$Latest", 1, 4, 3, astypes.Tag{Key: aws.String("Name"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)},
		astypes.Tag{Key: aws.String("team"), Value: aws.String("ops"), PropagateAtLaunch: aws.Bool(false)})
	g := f.group("web")
	if got := states(g); got["Pending"] != 3 {
		t.Fatalf("after create: %v, want 3 Pending", got)
	}
	f.Advance(time.Minute)
	g = f.group("web")
	if got := states(g); got["InService"] != 3 {
		t.Fatalf("after a minute: %v, want 3 InService", got)
	}
	azs := map[string]bool{}
	var ids []string
	for _, in := range g.Instances {
		azs[aws.ToString(in.AvailabilityZone)] = true
		ids = append(ids, *in.InstanceId)
		if in.HealthStatus == nil || *in.HealthStatus != "Healthy" || aws.ToString(in.LaunchTemplate.LaunchTemplateId) != f.ltID {
			t.Errorf("instance %s: health %v, template %v", *in.InstanceId, aws.ToString(in.HealthStatus), aws.ToString(in.LaunchTemplate.LaunchTemplateId))
		}
	}
	if len(azs) != 3 {
		t.Errorf("instances span %d zones, want 3", len(azs))
	}
	if got := versions(g); strings.Join(got, ",") != "1,1,1" {
		t.Errorf("versions %v, want 1,1,1", got)
	}
	di, err := f.ec2.DescribeInstances(f.ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range di.Reservations {
		for _, in := range res.Instances {
			tg := map[string]string{}
			for _, x := range in.Tags {
				tg[*x.Key] = *x.Value
			}
			if tg["aws:autoscaling:groupName"] != "web" || tg["Name"] != "web" {
				t.Errorf("instance %s tags %v: want aws:autoscaling:groupName=web and the propagated Name", *in.InstanceId, tg)
			}
			if _, ok := tg["team"]; ok {
				t.Errorf("instance %s got tag team, which does not propagate", *in.InstanceId)
			}
		}
	}

	// A new version, then an instance terminated and one stopped from EC2:
	// both are replaced from the version $Latest now resolves to.
	v2 := f.newVersion()
	if _, err := f.ec2.TerminateInstances(f.ctx, &ec2.TerminateInstancesInput{InstanceIds: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.StopInstances(f.ctx, &ec2.StopInstancesInput{InstanceIds: ids[1:2]}); err != nil {
		t.Fatal(err)
	}
	g = f.group("web")
	if got := states(g); got["Pending"] != 2 || got["Terminating"] != 2 {
		t.Fatalf("after terminate+stop: %v, want 2 Pending and 2 Terminating", got)
	}
	f.Advance(2 * time.Minute)
	g = f.group("web")
	if len(g.Instances) != 3 || states(g)["InService"] != 3 {
		t.Fatalf("after replacement: %v (%d instances), want 3 InService", states(g), len(g.Instances))
	}
	if got := versions(g); strings.Join(got, ",") != "1,"+v2+","+v2 {
		t.Errorf("versions %v, want 1,%s,%s", got, v2, v2)
	}
	bare, err := f.as.DescribeAutoScalingGroups(f.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}, IncludeInstances: aws.Bool(false)})
	if err != nil || len(bare.AutoScalingGroups) != 1 || len(bare.AutoScalingGroups[0].Instances) != 0 {
		t.Errorf("IncludeInstances=false: %v, err %v", bare.AutoScalingGroups, err)
	}
	// DescribeAutoScalingInstances agrees.
	ai, err := f.as.DescribeAutoScalingInstances(f.ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ai.AutoScalingInstances) != 3 || aws.ToString(ai.AutoScalingInstances[0].HealthStatus) != "HEALTHY" ||
		aws.ToString(ai.AutoScalingInstances[0].AutoScalingGroupName) != "web" {
		t.Errorf("DescribeAutoScalingInstances: %+v", ai.AutoScalingInstances)
	}
}

func TestASGImplicitScaleInTerminatesOldestTemplateFirst(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "$Latest", 1, 3, 2)
	f.Advance(time.Minute)
	v2 := f.newVersion()
	if _, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3),
	}); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if got := versions(f.group("web")); strings.Join(got, ",") != "1,1,"+v2 {
		t.Fatalf("versions %v, want 1,1,%s", got, v2)
	}
	// MaxSize 1 with no DesiredCapacity lowers the desired capacity.
	if _, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"), MaxSize: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	g := f.group("web")
	if *g.DesiredCapacity != 1 || *g.MaxSize != 1 {
		t.Fatalf("desired %d max %d, want 1 and 1", *g.DesiredCapacity, *g.MaxSize)
	}
	if got := states(g); got["Terminating"] != 2 || got["InService"] != 1 {
		t.Fatalf("after MaxSize 1: %v, want 2 Terminating and 1 InService", got)
	}
	if got := versions(g); strings.Join(got, ",") != v2 {
		t.Errorf("survivor on version %v, want %s (older versions go first)", got, v2)
	}
	f.Advance(time.Minute)
	if n := len(f.group("web").Instances); n != 1 {
		t.Errorf("%d instances after the terminations, want 1", n)
	}
}

func TestASGValidation(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "1", 1, 2, 1)
	sub := strings.Join(f.subnets(), ",")
	lt := &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID)}
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"min above max", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				LaunchTemplate: lt, MinSize: aws.Int32(3), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "ValidationError"},
		{"desired above max", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				LaunchTemplate: lt, MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(5), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "ValidationError"},
		{"no launch template", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				MinSize: aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "ValidationError"},
		{"unknown launch template", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("nope")},
				MinSize:        aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "ValidationError"},
		{"unknown version", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID), Version: aws.String("9")},
				MinSize:        aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "ValidationError"},
		{"unknown subnet", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("x"),
				LaunchTemplate: lt, MinSize: aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String("subnet-0123456789abcdef0")})
			return err
		}, "ValidationError"},
		{"duplicate name", func() error {
			_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"),
				LaunchTemplate: lt, MinSize: aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(sub)})
			return err
		}, "AlreadyExists"},
		{"update: min above max", func() error {
			_, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(3)})
			return err
		}, "ValidationError"},
		{"update: desired outside bounds", func() error {
			_, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(3)})
			return err
		}, "ValidationError"},
		{"update: unknown group", func() error {
			_, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope"), DesiredCapacity: aws.Int32(1)})
			return err
		}, "ValidationError"},
		{"delete with instances", func() error {
			_, err := f.as.DeleteAutoScalingGroup(f.ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
			return err
		}, "ResourceInUse"},
	}
	for _, c := range cases {
		if got := errCode(c.call()); got != c.code {
			t.Errorf("%s: error code %q, want %q", c.name, got, c.code)
		}
	}
	// Nothing above changed the group.
	g := f.group("web")
	if *g.MinSize != 1 || *g.MaxSize != 2 || *g.DesiredCapacity != 1 {
		t.Errorf("group changed by failed calls: min %d max %d desired %d", *g.MinSize, *g.MaxSize, *g.DesiredCapacity)
	}

	// A launch configuration group is accepted and reported as such.
	if _, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("legacy"),
		LaunchConfigurationName: aws.String("old-lc"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(sub)}); err != nil {
		t.Fatal(err)
	}
	if lg := f.group("legacy"); aws.ToString(lg.LaunchConfigurationName) != "old-lc" || lg.LaunchTemplate != nil {
		t.Errorf("legacy group: LaunchConfigurationName %q, LaunchTemplate %v", aws.ToString(lg.LaunchConfigurationName), lg.LaunchTemplate)
	}

	// ForceDelete terminates the instances, then the group is gone.
	if _, err := f.as.DeleteAutoScalingGroup(f.ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if g := f.group("web"); aws.ToString(g.Status) != "Delete in progress" {
		t.Errorf("status %q during ForceDelete", aws.ToString(g.Status))
	}
	f.Advance(time.Minute)
	out, err := f.as.DescribeAutoScalingGroups(f.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"web"}})
	if err != nil || len(out.AutoScalingGroups) != 0 {
		t.Errorf("after ForceDelete: %d groups, err %v", len(out.AutoScalingGroups), err)
	}
}

func TestASGTagsFiltersAndPagination(t *testing.T) {
	f := newASGFixture(t)
	on := astypes.Tag{Key: aws.String("amiswap:enabled"), Value: aws.String("true")}
	f.createGroup("a", "1", 0, 1, 0, on)
	f.createGroup("b", "1", 0, 1, 0)
	f.createGroup("c", "1", 0, 1, 0, astypes.Tag{Key: aws.String("amiswap:enabled"), Value: aws.String("false")})

	names := func(in *autoscaling.DescribeAutoScalingGroupsInput) []string {
		var out []string
		p := autoscaling.NewDescribeAutoScalingGroupsPaginator(f.as, in)
		pages := 0
		for p.HasMorePages() {
			page, err := p.NextPage(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, g := range page.AutoScalingGroups {
				out = append(out, *g.AutoScalingGroupName)
			}
		}
		if in.MaxRecords != nil && pages != max(1, (len(out)+int(*in.MaxRecords)-1)/int(*in.MaxRecords)) {
			t.Errorf("%d pages for %d groups of %d", pages, len(out), *in.MaxRecords)
		}
		return out
	}
	if got := names(&autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(1)}); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("paginated: %v", got)
	}
	if got := names(&autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag:amiswap:enabled"), Values: []string{"true"}}}}); strings.Join(got, ",") != "a" {
		t.Errorf("tag:amiswap:enabled=true: %v", got)
	}
	if got := names(&autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"amiswap:enabled"}}}}); strings.Join(got, ",") != "a,c" {
		t.Errorf("tag-key: %v", got)
	}

	// Tag b, change c, delete a's.
	if _, err := f.as.CreateOrUpdateTags(f.ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{
		{ResourceId: aws.String("b"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("amiswap:enabled"), Value: aws.String("true"), PropagateAtLaunch: aws.Bool(false)},
		{ResourceId: aws.String("c"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("amiswap:enabled"), Value: aws.String("true")},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.as.DeleteTags(f.ctx, &autoscaling.DeleteTagsInput{Tags: []astypes.Tag{
		{ResourceId: aws.String("a"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("amiswap:enabled")},
	}}); err != nil {
		t.Fatal(err)
	}
	dt, err := f.as.DescribeTags(f.ctx, &autoscaling.DescribeTagsInput{Filters: []astypes.Filter{
		{Name: aws.String("key"), Values: []string{"amiswap:enabled"}},
		{Name: aws.String("value"), Values: []string{"true"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range dt.Tags {
		got = append(got, *x.ResourceId+"="+*x.Value)
	}
	if strings.Join(got, ",") != "b=true,c=true" {
		t.Errorf("DescribeTags: %v", got)
	}
	dt, err = f.as.DescribeTags(f.ctx, &autoscaling.DescribeTagsInput{Filters: []astypes.Filter{{Name: aws.String("auto-scaling-group"), Values: []string{"a"}}}})
	if err != nil || len(dt.Tags) != 0 {
		t.Errorf("a's tags after DeleteTags: %v (err %v)", dt.Tags, err)
	}
	_, err = f.as.CreateOrUpdateTags(f.ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []astypes.Tag{
		{ResourceId: aws.String("nope"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("k"), Value: aws.String("v")},
	}})
	if errCode(err) != "ValidationError" {
		t.Errorf("tagging an unknown group: %v", err)
	}
}

// startRefresh starts a refresh to a pinned version with the given
// preferences and returns its id.
func (f *asgFixture) startRefresh(group, version string, prefs *astypes.RefreshPreferences) string {
	f.t.Helper()
	out, err := f.as.StartInstanceRefresh(f.ctx, &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(group),
		DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID), Version: aws.String(version)}},
		Preferences:          prefs,
	})
	if err != nil {
		f.t.Fatalf("StartInstanceRefresh: %v", err)
	}
	return *out.InstanceRefreshId
}

func TestInstanceRefreshBatches(t *testing.T) {
	f := newASGFixture(t)
	// Three instances on version 1, then a fourth on version 2.
	f.createGroup("web", "$Latest", 2, 6, 3)
	f.Advance(time.Minute)
	v2 := f.newVersion()
	if _, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(4)}); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)

	id := f.startRefresh("web", v2, &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), SkipMatching: aws.Bool(true)})
	// 4 instances at 50% healthy: batches of 2; SkipMatching leaves 3 to do.
	wantBatches := []struct{ terminating, pct, left int }{{2, 0, 3}, {1, 66, 1}}
	for i, b := range wantBatches {
		r := f.refresh("web", id)
		if r.Status != astypes.InstanceRefreshStatusInProgress || aws.ToInt32(r.PercentageComplete) != int32(b.pct) || aws.ToInt32(r.InstancesToUpdate) != int32(b.left) {
			t.Fatalf("batch %d: status %s, %d%%, %d to update; want InProgress, %d%%, %d", i+1, r.Status, aws.ToInt32(r.PercentageComplete), aws.ToInt32(r.InstancesToUpdate), b.pct, b.left)
		}
		g := f.group("web")
		st := states(g)
		if st["Terminating"] != b.terminating || st["Pending"] != b.terminating {
			t.Fatalf("batch %d: %v, want %d Terminating and %d Pending", i+1, st, b.terminating, b.terminating)
		}
		if st["InService"] < 2 {
			t.Fatalf("batch %d: only %d in service, MinHealthyPercentage 50 of 4 needs 2", i+1, st["InService"])
		}
		// The new instances run, then the batch waits out the warmup.
		f.Advance(time.Minute)
		if st := states(f.group("web")); st["InService"] != 4 {
			t.Fatalf("batch %d after a minute: %v, want 4 InService", i+1, st)
		}
		if r := f.refresh("web", id); aws.ToInt32(r.PercentageComplete) != int32(b.pct) {
			t.Fatalf("batch %d counted before its warmup: %d%%", i+1, aws.ToInt32(r.PercentageComplete))
		}
		f.Advance(f.dur.RefreshWarmup)
	}
	r := f.refresh("web", id)
	if r.Status != astypes.InstanceRefreshStatusSuccessful || aws.ToInt32(r.PercentageComplete) != 100 || r.EndTime == nil {
		t.Fatalf("final: status %s, %d%%, end %v", r.Status, aws.ToInt32(r.PercentageComplete), r.EndTime)
	}
	g := f.group("web")
	if v := aws.ToString(g.LaunchTemplate.Version); v != v2 {
		t.Errorf("group launch template version %q after the refresh, want %s", v, v2)
	}
	if got := versions(g); strings.Join(got, ",") != strings.Repeat(v2+",", 3)+v2 {
		t.Errorf("instance versions %v, want all %s", got, v2)
	}
	ev := strings.Join(f.eventTypes("aws.autoscaling"), "|")
	if ev != "EC2 Auto Scaling Instance Refresh Started|EC2 Auto Scaling Instance Refresh Succeeded" {
		t.Errorf("events %s", ev)
	}
}

func TestInstanceRefreshLaunchFirst(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "1", 2, 4, 2)
	f.Advance(time.Minute)
	v2 := f.newVersion()
	id := f.startRefresh("web", v2, &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200)})
	// Both replaced in one batch, launched before any old one goes.
	st := states(f.group("web"))
	if st["InService"] != 2 || st["Pending"] != 2 || st["Terminating"] != 0 {
		t.Fatalf("launch-first batch: %v, want 2 InService + 2 Pending", st)
	}
	f.Advance(time.Minute + f.dur.RefreshWarmup)
	if r := f.refresh("web", id); r.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("status %s", r.Status)
	}
	g := f.group("web")
	if st := states(g); st["InService"] != 2 || st["Terminating"] != 2 {
		t.Fatalf("after the batch: %v, want 2 InService + 2 Terminating", st)
	}
	if got := versions(g); strings.Join(got, ",") != v2+","+v2 {
		t.Errorf("versions %v", got)
	}
}

func TestInstanceRefreshFailure(t *testing.T) {
	for _, rollback := range []bool{false, true} {
		t.Run(map[bool]string{false: "no rollback", true: "auto rollback"}[rollback], func(t *testing.T) {
			f := newASGFixture(t)
			f.createGroup("web", "1", 1, 4, 2)
			f.Advance(time.Minute)
			v2 := f.newVersion()
			f.AddFault(Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"})
			id := f.startRefresh("web", v2, &astypes.RefreshPreferences{AutoRollback: aws.Bool(rollback)})
			// Default MinHealthyPercentage 90 of 2: one at a time. The
			// fault fails the refresh once the first is replaced.
			f.Advance(time.Minute + f.dur.RefreshWarmup)
			r := f.refresh("web", id)
			if !rollback {
				if r.Status != astypes.InstanceRefreshStatusFailed || aws.ToString(r.StatusReason) == "" || aws.ToInt32(r.PercentageComplete) != 50 {
					t.Fatalf("status %s (%q), %d%%; want Failed at 50%% with a reason", r.Status, aws.ToString(r.StatusReason), aws.ToInt32(r.PercentageComplete))
				}
				g := f.group("web")
				if v := aws.ToString(g.LaunchTemplate.Version); v != "1" {
					t.Errorf("group version %q after a failed refresh, want 1", v)
				}
				if got := versions(g); strings.Join(got, ",") != "1,"+v2 {
					t.Errorf("versions %v, want 1,%s (the replaced one stays)", got, v2)
				}
				if ev := f.eventTypes("aws.autoscaling"); ev[len(ev)-1] != "EC2 Auto Scaling Instance Refresh Failed" {
					t.Errorf("events %v", ev)
				}
				return
			}
			if r.Status != astypes.InstanceRefreshStatusRollbackInProgress || r.RollbackDetails == nil ||
				aws.ToInt32(r.RollbackDetails.PercentageCompleteOnRollback) != 50 || aws.ToInt32(r.InstancesToUpdate) != 1 {
				t.Fatalf("status %s, rollback %+v, to update %d; want RollbackInProgress from 50%% with 1 to update",
					r.Status, r.RollbackDetails, aws.ToInt32(r.InstancesToUpdate))
			}
			if st := states(f.group("web")); st["Terminating"] != 1 || st["Pending"] != 1 {
				t.Fatalf("rollback batch: %v", st)
			}
			f.Advance(time.Minute + f.dur.RefreshWarmup)
			r = f.refresh("web", id)
			if r.Status != astypes.InstanceRefreshStatusRollbackSuccessful || r.EndTime == nil {
				t.Fatalf("status %s after the rollback", r.Status)
			}
			g := f.group("web")
			if v := aws.ToString(g.LaunchTemplate.Version); v != "1" {
				t.Errorf("group version %q after rollback, want 1", v)
			}
			if got := versions(g); strings.Join(got, ",") != "1,1" {
				t.Errorf("versions %v after rollback, want 1,1", got)
			}
			ev := strings.Join(f.eventTypes("aws.autoscaling"), "|")
			if !strings.HasSuffix(ev, "Rollback Started|EC2 Auto Scaling Instance Refresh Rollback Succeeded") {
				t.Errorf("events %s", ev)
			}
		})
	}
}

// TestInstanceRefreshAutoRollbackRefusedForAliasGroup: "The rollback
// option is not available if the Auto Scaling group is configured to use
// the $Latest or $Default launch template version" (EC2 Auto Scaling user
// guide, "Undo changes with a manual or auto rollback",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html),
// even when the desired configuration names a version number; without
// AutoRollback the same refresh starts.
func TestInstanceRefreshAutoRollbackRefusedForAliasGroup(t *testing.T) {
	for _, alias := range []string{"$Latest", "$Default"} {
		t.Run(alias, func(t *testing.T) {
			f := newASGFixture(t)
			f.createGroup("web", alias, 1, 4, 2)
			f.Advance(time.Minute)
			v2 := f.newVersion()
			in := &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
				DesiredConfiguration: &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID), Version: aws.String(v2)}},
				Preferences:          &astypes.RefreshPreferences{AutoRollback: aws.Bool(true)}}
			_, err := f.as.StartInstanceRefresh(f.ctx, in)
			if errCode(err) != "ValidationError" || !strings.Contains(err.Error(), alias) {
				t.Fatalf("AutoRollback on a group using %s: %v, want a ValidationError naming it", alias, err)
			}
			in.Preferences.AutoRollback = aws.Bool(false)
			if _, err := f.as.StartInstanceRefresh(f.ctx, in); err != nil {
				t.Fatalf("the same refresh without AutoRollback: %v", err)
			}
		})
	}
}

func TestInstanceRefreshRules(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "1", 1, 4, 2)
	f.Advance(time.Minute)
	v2 := f.newVersion()
	start := func(version string, dc bool, rollback bool) error {
		in := &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("web"),
			Preferences: &astypes.RefreshPreferences{AutoRollback: aws.Bool(rollback)}}
		if dc {
			in.DesiredConfiguration = &astypes.DesiredConfiguration{LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(f.ltID), Version: aws.String(version)}}
		}
		_, err := f.as.StartInstanceRefresh(f.ctx, in)
		return err
	}
	if err := start("$Latest", true, true); errCode(err) != "ValidationError" {
		t.Errorf("AutoRollback with $Latest: %v", err)
	}
	if err := start("$Default", true, true); errCode(err) != "ValidationError" {
		t.Errorf("AutoRollback with $Default: %v", err)
	}
	if err := start("", false, true); errCode(err) != "ValidationError" {
		t.Errorf("AutoRollback without DesiredConfiguration: %v", err)
	}
	if _, err := f.as.CancelInstanceRefresh(f.ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")}); errCode(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("cancel with none running: %v", err)
	}
	if err := start(v2, true, true); err != nil {
		t.Fatal(err)
	}
	if err := start(v2, true, false); errCode(err) != "InstanceRefreshInProgress" {
		t.Errorf("second refresh: %v", err)
	}
	f.Advance(time.Minute) // first replacement running, warmup under way
	out, err := f.as.CancelInstanceRefresh(f.ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	r := f.refresh("web", *out.InstanceRefreshId)
	if r.Status != astypes.InstanceRefreshStatusCancelled {
		t.Fatalf("status %s after cancel", r.Status)
	}
	f.Advance(time.Hour)
	if r := f.refresh("web", *out.InstanceRefreshId); aws.ToInt32(r.PercentageComplete) != 0 {
		t.Errorf("a cancelled refresh went on: %d%%", aws.ToInt32(r.PercentageComplete))
	}
	if v := aws.ToString(f.group("web").LaunchTemplate.Version); v != "1" {
		t.Errorf("group version %q after cancel, want 1", v)
	}
	if err := start(v2, true, false); err != nil {
		t.Errorf("a new refresh after cancel: %v", err)
	}
	f.Advance(0) // the new refresh leaves Pending
	ev := f.eventTypes("aws.autoscaling")
	if len(ev) != 3 || ev[1] != "EC2 Auto Scaling Instance Refresh Cancelled" {
		t.Errorf("events %v", ev)
	}
}

func TestDemoScenario(t *testing.T) {
	ts := newTestSim(t, Options{Scenario: "demo"})
	ctx := context.Background()
	as := autoscaling.NewFromConfig(ts.Cfg)
	out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []astypes.Filter{{Name: aws.String("tag:amiswap:enabled"), Values: []string{"true"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("%d opted-in groups, want 1", len(out.AutoScalingGroups))
	}
	g := out.AutoScalingGroups[0]
	if *g.AutoScalingGroupName != "demo-windows-web" || *g.MinSize != 1 || *g.MaxSize != 4 || *g.DesiredCapacity != 2 ||
		aws.ToString(g.LaunchTemplate.LaunchTemplateName) != "demo-windows" || aws.ToString(g.LaunchTemplate.Version) != "$Default" ||
		len(strings.Split(aws.ToString(g.VPCZoneIdentifier), ",")) != 3 {
		t.Fatalf("demo group: %s min %d max %d desired %d template %v subnets %q", *g.AutoScalingGroupName, *g.MinSize, *g.MaxSize,
			*g.DesiredCapacity, g.LaunchTemplate, aws.ToString(g.VPCZoneIdentifier))
	}
	if !strings.HasPrefix(*g.AutoScalingGroupARN, "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:") ||
		!strings.HasSuffix(*g.AutoScalingGroupARN, ":autoScalingGroupName/demo-windows-web") {
		t.Errorf("ARN %s", *g.AutoScalingGroupARN)
	}
	tags := map[string]bool{}
	for _, x := range g.Tags {
		tags[*x.Key+"="+*x.Value+"/"+map[bool]string{true: "p", false: "-"}[aws.ToBool(x.PropagateAtLaunch)]] = true
	}
	if !tags["amiswap:enabled=true/-"] || !tags["Name=demo-web/p"] {
		t.Errorf("tags %v", tags)
	}
	if st := states(g); st["InService"] != 2 {
		t.Fatalf("instances %v, want 2 InService", st)
	}
	ec := ec2.NewFromConfig(ts.Cfg)
	di, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{*g.Instances[0].InstanceId, *g.Instances[1].InstanceId}})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range di.Reservations {
		for _, in := range res.Instances {
			if in.State.Name != ec2types.InstanceStateNameRunning || in.InstanceType != ec2types.InstanceTypeT3Large ||
				!strings.EqualFold(string(in.Platform), "windows") || !in.LaunchTime.Equal(ts.opts.Start.Add(-time.Hour)) {
				t.Errorf("instance %s: %s %s %s launched %v", *in.InstanceId, in.State.Name, in.InstanceType, in.Platform, in.LaunchTime)
			}
			if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired {
				t.Errorf("instance %s: IMDSv2 not required", *in.InstanceId)
			}
		}
	}
	ts.mu.Lock()
	for _, m := range ts.asg.groups["demo-windows-web"].members {
		if !m.in.StatusOK || !m.in.AgentOnline {
			t.Errorf("instance %s: status ok %v, agent online %v", m.in.ID, m.in.StatusOK, m.in.AgentOnline)
		}
	}
	ts.mu.Unlock()
}

func TestASGMixedInstancesPolicy(t *testing.T) {
	f := newASGFixture(t)
	_, err := f.as.CreateAutoScalingGroup(f.ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("mixed"),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web"), Version: aws.String("1")},
			Overrides:                   []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.medium")}, {InstanceType: aws.String("t3a.medium")}},
		}},
		MinSize: aws.Int32(1), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(f.subnets()[0]),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	g := f.group("mixed")
	mp := g.MixedInstancesPolicy
	if g.LaunchTemplate != nil || mp == nil || aws.ToString(mp.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId) != f.ltID ||
		len(mp.LaunchTemplate.Overrides) != 2 {
		t.Fatalf("mixed group: LaunchTemplate %v, MixedInstancesPolicy %+v", g.LaunchTemplate, mp)
	}
	if len(g.Instances) != 1 || aws.ToString(g.Instances[0].InstanceType) != "t3.medium" {
		t.Fatalf("instances %+v, want one t3.medium (the first override)", g.Instances)
	}
	v2 := f.newVersion()
	id := f.startRefresh("mixed", v2, &astypes.RefreshPreferences{SkipMatching: aws.Bool(true), InstanceWarmup: aws.Int32(60)})
	f.Advance(2 * time.Minute)
	if r := f.refresh("mixed", id); r.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("refresh %s", r.Status)
	}
	g = f.group("mixed")
	if v := aws.ToString(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.Version); v != v2 || len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 2 {
		t.Errorf("after refresh: version %q, %d overrides; want %s and the overrides kept", v, len(g.MixedInstancesPolicy.LaunchTemplate.Overrides), v2)
	}
	if got := versions(g); strings.Join(got, ",") != v2 {
		t.Errorf("versions %v", got)
	}
}

func TestInstanceRefreshCheckpoint(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("web", "1", 1, 2, 2)
	f.Advance(time.Minute)
	v2 := f.newVersion()
	id := f.startRefresh("web", v2, &astypes.RefreshPreferences{MinHealthyPercentage: aws.Int32(50),
		CheckpointPercentages: []int32{50}, CheckpointDelay: aws.Int32(600)})
	f.Advance(time.Minute + f.dur.RefreshWarmup)
	r := f.refresh("web", id)
	if r.Status != astypes.InstanceRefreshStatusInProgress || aws.ToInt32(r.PercentageComplete) != 50 || aws.ToString(r.StatusReason) == "" {
		t.Fatalf("at the checkpoint: %s %d%% %q", r.Status, aws.ToInt32(r.PercentageComplete), aws.ToString(r.StatusReason))
	}
	var cp *Event
	for _, ev := range f.Events() {
		if ev.DetailType == "EC2 Auto Scaling Instance Refresh Checkpoint Reached" {
			cp = &ev
		}
	}
	if cp == nil || !strings.Contains(string(cp.Detail), `"CheckpointPercentage":"50"`) || !strings.Contains(string(cp.Detail), `"CheckpointDelay":"600"`) {
		t.Fatalf("checkpoint event %+v", cp)
	}
	if st := states(f.group("web")); st["Terminating"] != 0 || st["Pending"] != 0 {
		t.Fatalf("replacing during the checkpoint delay: %v", st)
	}
	f.Advance(9 * time.Minute)
	if st := states(f.group("web")); st["Pending"] != 0 {
		t.Fatalf("the checkpoint delay was cut short: %v", st)
	}
	f.Advance(time.Minute)
	if st := states(f.group("web")); st["Pending"] != 1 {
		t.Fatalf("after the checkpoint delay: %v, want the second replacement", st)
	}
	f.Advance(time.Minute + f.dur.RefreshWarmup)
	if r := f.refresh("web", id); r.Status != astypes.InstanceRefreshStatusSuccessful {
		t.Fatalf("final %s", r.Status)
	}
}

// tagAuthorizer allows Auto Scaling mutations only on groups tagged
// amiswap:enabled=true, the way a tag-scoped IAM policy would.
type tagAuthorizer struct{ seen []Resource }

func (a *tagAuthorizer) Authorize(_, service, action string, res []Resource) error {
	if service != "autoscaling" || res == nil {
		return nil
	}
	for _, r := range res {
		a.seen = append(a.seen, r)
		if r.Tags["amiswap:enabled"] != "true" {
			return errors.New("not authorized to perform autoscaling:" + action + " on " + r.ARN)
		}
	}
	return nil
}

func TestASGAuthorizesOnGroupARNAndTags(t *testing.T) {
	f := newASGFixture(t)
	f.createGroup("on", "1", 0, 2, 0, astypes.Tag{Key: aws.String("amiswap:enabled"), Value: aws.String("true")})
	f.createGroup("off", "1", 0, 2, 0)
	az := &tagAuthorizer{}
	f.SetAuthorizer(az)
	if _, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("on"), DesiredCapacity: aws.Int32(1)}); err != nil {
		t.Fatalf("update of an opted-in group: %v", err)
	}
	_, err := f.as.UpdateAutoScalingGroup(f.ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("off"), DesiredCapacity: aws.Int32(1)})
	if errCode(err) != "AccessDenied" {
		t.Fatalf("update of a group not opted in: %v, want AccessDenied", err)
	}
	f.SetAuthorizer(nil)
	if d := *f.group("off").DesiredCapacity; d != 0 {
		t.Errorf("a denied update changed the group: desired %d", d)
	}
	if len(az.seen) == 0 || !strings.HasSuffix(az.seen[0].ARN, ":autoScalingGroupName/on") || !strings.HasPrefix(az.seen[0].ARN, "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:") {
		t.Errorf("authorizer saw %+v", az.seen)
	}
}
