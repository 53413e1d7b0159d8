package runner_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// twoSwaps creates a group and swaps it twice (from backups of its first
// instance), returning the two golden AMIs, oldest first.
func twoSwaps(t *testing.T, sb *sandbox.Sandbox, g sandbox.GroupSpec) (first, second string) {
	t.Helper()
	ids, err := sb.CreateGroup(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	r1 := swapFromBackup(t, sb, g.Name, ids[0])
	if r1.res.Status != asl.StatusSucceeded || r1.st.Image == nil {
		t.Fatalf("first swap: %s %s %s", r1.res.Status, r1.res.Error, r1.res.Cause)
	}
	r2 := swapFromBackup(t, sb, g.Name, ids[0])
	if r2.res.Status != asl.StatusSucceeded || r2.st.Image == nil {
		t.Fatalf("second swap: %s %s %s (path %v)", r2.res.Status, r2.res.Error, r2.res.Cause, compact(r2.x.Path()))
	}
	return r1.st.Image.ImageID, r2.st.Image.ImageID
}

func rollback(t *testing.T, sb *sandbox.Sandbox, req amiswap.RollbackRequest) (*asl.Execution, asl.Result) {
	t.Helper()
	x, res, err := runner.Rollback(context.Background(), runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, "", req)
	if err != nil {
		t.Fatal(err)
	}
	return x, res
}

// goldenImages lists the group's registered golden AMIs.
func goldenImages(t *testing.T, sb *sandbox.Sandbox, group string) []string {
	t.Helper()
	out, err := ec2.NewFromConfig(sb.AWS).DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + amiswap.TagGroup), Values: []string{group}}, {Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range out.Images {
		ids = append(ids, aws.ToString(im.ImageId))
	}
	slices.Sort(ids)
	return ids
}

// TestRollbackReturnsToTheFirstGoldenAMI: after two swaps, a rollback puts
// the group back on the first golden AMI through a new launch template
// version made as a swap's (the group on $Default gets a new default), and
// a replacement instance runs it; no golden AMI is removed; the
// notification says rolled back.
func TestRollbackReturnsToTheFirstGoldenAMI(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	first, second := twoSwaps(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	before := goldenImages(t, sb, "web")
	snap, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if snap.ImageID != second {
		t.Fatalf("after two swaps the group launches %s, want %s", snap.ImageID, second)
	}
	msgsBefore := len(publishedMessages(t, sb))

	x, res := rollback(t, sb, amiswap.RollbackRequest{Group: "web"})
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("rollback: %s %s %s (path %v)", res.Status, res.Error, res.Cause, compact(x.Path()))
	}
	want := []string{"ResolveRollback", "SetTarget", "SetImage", "Lock", "UpdateLaunchTemplate", "ShouldRefresh", "ShouldHandOff", "RolledOut", "Notify", "Unlock", "RolledBack"}
	if got := x.Path(); !slices.Equal(got, want) {
		t.Errorf("path %v, want %v", got, want)
	}
	after, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID != first {
		t.Errorf("after the rollback the group launches %s, want the first golden AMI %s", after.ImageID, first)
	}
	if after.DefaultVersion != snap.LatestVersion+1 || after.GroupVersion != snap.GroupVersion || after.Max != snap.Max || after.Min != snap.Min || after.Desired != snap.Desired {
		t.Errorf("group after rollback %+v; before %+v: want a new default version and the sizes unchanged", after, snap)
	}
	if got := goldenImages(t, sb, "web"); !slices.Equal(got, before) {
		t.Errorf("golden AMIs %v after the rollback, want %v: a rollback removes none", got, before)
	}
	msgs := publishedMessages(t, sb)[msgsBefore:]
	if len(msgs) != 1 || !strings.Contains(msgs[0], "rolled back to "+first) {
		t.Errorf("want one notification saying rolled back to %s, got %v", first, msgs)
	}
	requireReplacementOnGolden(t, sb, "web", first)

	// Again: from the first golden AMI there is nothing older.
	x, res = rollback(t, sb, amiswap.RollbackRequest{Group: "web"})
	if res.Status != asl.StatusFailed || res.Error != "NothingToRollBackError" || !strings.Contains(res.Cause, "older than it") {
		t.Errorf("second rollback: %s %s %s; want NothingToRollBackError", res.Status, res.Error, res.Cause)
	}
	if p := x.Path(); p[len(p)-1] != "NothingToRollBack" {
		t.Errorf("path %v; want it to end at NothingToRollBack", p)
	}
	// --to the newer one is allowed: it is a registered golden AMI.
	if _, res = rollback(t, sb, amiswap.RollbackRequest{Group: "web", ToImageID: second}); res.Status != asl.StatusSucceeded {
		t.Errorf("rollback --to %s: %s %s %s", second, res.Status, res.Error, res.Cause)
	}
}

// TestRollbackWithRefresh: --refresh rolls every instance onto the earlier
// golden AMI with an instance refresh, whatever the group's setting.
func TestRollbackWithRefresh(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	first, _ := twoSwaps(t, sb, sandbox.GroupSpec{Name: "api", Platform: "linux", Version: "1"})
	x, res := rollback(t, sb, amiswap.RollbackRequest{Group: "api", Refresh: true})
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("rollback: %s %s %s (path %v)", res.Status, res.Error, res.Cause, compact(x.Path()))
	}
	if path := compact(x.Path()); !slices.Contains(path, "StartRefresh") || !slices.Contains(path, "CheckRefresh") {
		t.Errorf("path %v lacks the refresh", path)
	}
	out, err := autoscaling.NewFromConfig(sb.AWS).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	e := ec2.NewFromConfig(sb.AWS)
	for _, i := range out.AutoScalingGroups[0].Instances {
		d, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(i.InstanceId)}})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(d.Reservations[0].Instances[0].ImageId); got != first {
			t.Errorf("after the rollback's refresh %s runs %s, want %s", aws.ToString(i.InstanceId), got, first)
		}
	}
}

// TestRollbackRefusals: a group never swapped has nothing to roll back to;
// an AMI that is not one of the group's golden AMIs is refused; a group
// that does not exist is invalid input. Nothing changes.
func TestRollbackRefusals(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "fresh", Platform: "linux"}); err != nil {
		t.Fatal(err)
	}
	before, err := sandbox.Snapshot(ctx, sb.AWS, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	base, err := sb.BaseImage(ctx, "windows") // not the group's, and not golden
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		req             amiswap.RollbackRequest
		errName, substr string
	}{
		{amiswap.RollbackRequest{Group: "fresh"}, "NothingToRollBackError", "no registered golden AMI"},
		{amiswap.RollbackRequest{Group: "fresh", ToImageID: base}, "NothingToRollBackError", "not a registered golden AMI of this group"},
		{amiswap.RollbackRequest{Group: "nope"}, "InvalidInputError", "no Auto Scaling group nope"},
		{amiswap.RollbackRequest{Group: "fresh", ToImageID: "ami-nothex"}, "InvalidInputError", "toImageId"},
	}
	for _, c := range cases {
		_, res := rollback(t, sb, c.req)
		if res.Status != asl.StatusFailed || res.Error != c.errName || !strings.Contains(res.Cause, c.substr) {
			t.Errorf("%+v: %s %s %q; want %s mentioning %q", c.req, res.Status, res.Error, res.Cause, c.errName, c.substr)
		}
	}
	after, err := sandbox.Snapshot(ctx, sb.AWS, "fresh")
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID != before.ImageID || after.LatestVersion != before.LatestVersion || after.DefaultVersion != before.DefaultVersion {
		t.Errorf("a refused rollback changed the group: %+v -> %+v", before, after)
	}
}

// TestRollbackFailureIsCompensated: when the launch template cannot be
// made to use the earlier AMI, compensation puts the launch template back
// and removes no golden AMI.
func TestRollbackFailureIsCompensated(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	_, second := twoSwaps(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	golden := goldenImages(t, sb, "web")
	snap, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "ModifyLaunchTemplate", Code: "InvalidParameterValue"})
	x, res := rollback(t, sb, amiswap.RollbackRequest{Group: "web"})
	if res.Status != asl.StatusFailed || res.Error != "AWSError" {
		t.Fatalf("rollback: %s %s %s; want FAILED AWSError", res.Status, res.Error, res.Cause)
	}
	path := x.Path()
	if tail := path[len(path)-4:]; !slices.Equal(tail, []string{"Compensate", "NotifyFailure", "ReleaseLock", "Failed"}) {
		t.Errorf("path %v", path)
	}
	after, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID != second || after.DefaultVersion != snap.DefaultVersion || after.LatestVersion != snap.LatestVersion {
		t.Errorf("after a failed rollback: %+v; want it as before %+v", after, snap)
	}
	if got := goldenImages(t, sb, "web"); !slices.Equal(got, golden) {
		t.Errorf("golden AMIs %v, want %v: compensation of a rollback removes none", got, golden)
	}
	msgs := publishedMessages(t, sb)
	if last := msgs[len(msgs)-1]; !strings.Contains(last, "rollback of web FAILED") {
		t.Errorf("last notification %q", last)
	}
}

// TestRollbackHandsOffTheSSMParameter: a group with amiswap:ssm-parameter
// has the parameter follow the rollback; a rollback that fails at the
// hand-off is compensated: the launch template goes back and the
// parameter keeps the AMI the group runs.
func TestRollbackHandsOffTheSSMParameter(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	const param = "/golden/web"
	first, second := twoSwaps(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux",
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagSSMParameter: param}})
	value := func() string {
		t.Helper()
		out, err := ssm.NewFromConfig(sb.AWS).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Parameter.Value)
	}
	if v := value(); v != second {
		t.Fatalf("after two swaps %s holds %s, want %s", param, v, second)
	}
	snap, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}

	sb.Sim.AddFault(awssim.Fault{Service: "ssm", Action: "PutParameter", Code: "ValidationException"})
	x, res := rollback(t, sb, amiswap.RollbackRequest{Group: "web"})
	if res.Status != asl.StatusFailed || !slices.Contains(x.Path(), "Compensate") {
		t.Fatalf("rollback with the hand-off refused: %s %s (path %v)", res.Status, res.Error, compact(x.Path()))
	}
	after, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID != second || after.DefaultVersion != snap.DefaultVersion || value() != second {
		t.Errorf("after the failed rollback: group on %s (default version %d, was %d), %s holds %s; want all as before (%s)",
			after.ImageID, after.DefaultVersion, snap.DefaultVersion, param, value(), second)
	}

	x, res = rollback(t, sb, amiswap.RollbackRequest{Group: "web"})
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("rollback: %s %s %s (path %v)", res.Status, res.Error, res.Cause, compact(x.Path()))
	}
	if path := compact(x.Path()); !slices.Contains(path, "HandOff") || !slices.Contains(path, "CheckHandOff") {
		t.Errorf("path %v lacks the hand-off", path)
	}
	if v := value(); v != first {
		t.Errorf("after the rollback %s holds %s, want %s", param, v, first)
	}
}
