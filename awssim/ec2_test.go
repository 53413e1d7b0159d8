package awssim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Behaviour tests of the EC2 service: every call goes through the real
// aws-sdk-go-v2 EC2 client over HTTP on a loopback port.

func newEC2Test(t *testing.T, opts Options) (*testSim, *ec2.Client) {
	t.Helper()
	ts := newTestSim(t, opts)
	return ts, ec2.NewFromConfig(ts.Cfg)
}

// ec2Code is the AWS error code of err, or "" when err is not an API error.
func ec2Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func ec2WantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ec2Code(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

func ec2Must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// baseImageID finds a public base image: platform "windows" or "linux".
func ec2BaseImage(t *testing.T, c *ec2.Client, platform string) string {
	t.Helper()
	name := "al2023-*"
	if platform == "windows" {
		name = "Windows_Server-2022-*"
	}
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("name"), Values: []string{name}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 {
		t.Fatalf("base %s images = %d, want 1", platform, len(out.Images))
	}
	return *out.Images[0].ImageId
}

func ec2TagSpec(rt types.ResourceType, kv ...string) types.TagSpecification {
	ts := types.TagSpecification{ResourceType: rt}
	for i := 0; i+1 < len(kv); i += 2 {
		ts.Tags = append(ts.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return ts
}

func ec2TagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// run launches count instances of the image and lets them become visible.
func ec2Run(t *testing.T, ts *testSim, c *ec2.Client, image string, count int32, specs ...types.TagSpecification) []types.Instance {
	t.Helper()
	out, err := c.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String(image), MinCount: aws.Int32(count), MaxCount: aws.Int32(count),
		InstanceType: types.InstanceTypeT3Micro, TagSpecifications: specs,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Advance(2 * time.Second)
	return out.Instances
}

func ec2DescribeOne(t *testing.T, c *ec2.Client, id string) types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s) = %d reservations, want 1 with 1 instance", id, len(out.Reservations))
	}
	return out.Reservations[0].Instances[0]
}

func ec2State(t *testing.T, c *ec2.Client, id string) types.InstanceStateName {
	t.Helper()
	return ec2DescribeOne(t, c, id).State.Name
}

func TestEC2InstanceLifecycle(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	win := ec2BaseImage(t, c, "windows")
	subnets := ec2Must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}))
	sgs := ec2Must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
	subnet, sg := *subnets.Subnets[1].SubnetId, *sgs.SecurityGroups[0].GroupId

	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(win), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType:       types.InstanceTypeM5Large,
		SubnetId:           aws.String(subnet),
		SecurityGroupIds:   []string{sg},
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("golden-builder")},
		KeyName:            aws.String("ops"),
		MetadataOptions:    &types.InstanceMetadataOptionsRequest{HttpTokens: types.HttpTokensStateRequired},
		TagSpecifications: []types.TagSpecification{
			ec2TagSpec(types.ResourceTypeInstance, "Name", "builder", "team", "infra"),
			ec2TagSpec(types.ResourceTypeVolume, "backup", "no"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 1 || out.ReservationId == nil || aws.ToString(out.OwnerId) != ts.AccountID() {
		t.Fatalf("RunInstances = %d instances, reservation %v, owner %v", len(out.Instances), out.ReservationId, out.OwnerId)
	}
	in := out.Instances[0]
	id := *in.InstanceId
	if in.State.Name != types.InstanceStateNamePending || aws.ToInt32(in.State.Code) != 0 {
		t.Errorf("state = %s/%d, want pending/0", in.State.Name, aws.ToInt32(in.State.Code))
	}
	if aws.ToString(in.SubnetId) != subnet || aws.ToString(in.Placement.AvailabilityZone) != *subnets.Subnets[1].AvailabilityZone {
		t.Errorf("subnet %v zone %v, want %s", in.SubnetId, in.Placement.AvailabilityZone, subnet)
	}
	if len(in.SecurityGroups) != 1 || aws.ToString(in.SecurityGroups[0].GroupId) != sg || aws.ToString(in.SecurityGroups[0].GroupName) != "default" {
		t.Errorf("security groups = %+v", in.SecurityGroups)
	}
	if want := "arn:aws:iam::" + ts.AccountID() + ":instance-profile/golden-builder"; in.IamInstanceProfile == nil || aws.ToString(in.IamInstanceProfile.Arn) != want {
		t.Errorf("instance profile = %+v, want %s", in.IamInstanceProfile, want)
	}
	if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired {
		t.Errorf("metadata options = %+v", in.MetadataOptions)
	}
	if in.Platform != "windows" || // what EC2 sends, unlike the SDK enum "Windows"
		aws.ToString(in.KeyName) != "ops" || in.InstanceType != types.InstanceTypeM5Large {
		t.Errorf("platform %q key %v type %q", in.Platform, in.KeyName, in.InstanceType)
	}
	if got := ec2TagMap(in.Tags); got["Name"] != "builder" || got["team"] != "infra" || len(got) != 2 {
		t.Errorf("tags = %v", got)
	}
	if len(in.BlockDeviceMappings) != 1 || aws.ToString(in.BlockDeviceMappings[0].DeviceName) != "/dev/sda1" {
		t.Fatalf("block devices = %+v", in.BlockDeviceMappings)
	}
	vol := aws.ToString(in.BlockDeviceMappings[0].Ebs.VolumeId)
	vt := ec2Must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vol}}}}))
	if len(vt.Tags) != 1 || aws.ToString(vt.Tags[0].Key) != "backup" || vt.Tags[0].ResourceType != types.ResourceTypeVolume {
		t.Errorf("volume tags = %+v", vt.Tags)
	}

	// Eventual consistency: the new id is unknown for a moment.
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	ec2WantCode(t, err, "InvalidInstanceID.NotFound")
	ts.Advance(2 * time.Second)
	if st := ec2State(t, c, id); st != types.InstanceStateNamePending {
		t.Fatalf("state after 2s = %s, want pending", st)
	}
	ts.Advance(40 * time.Second)
	if st := ec2State(t, c, id); st != types.InstanceStateNameRunning {
		t.Fatalf("state after 42s = %s, want running", st)
	}

	status := func(all bool) []types.InstanceStatus {
		t.Helper()
		out, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(all)})
		if err != nil {
			t.Fatal(err)
		}
		return out.InstanceStatuses
	}
	st := status(false)
	if len(st) != 1 || st[0].InstanceStatus.Status != types.SummaryStatusInitializing || st[0].SystemStatus.Status != types.SummaryStatusInitializing {
		t.Fatalf("status while booting = %+v", st)
	}
	ts.Advance(3 * time.Minute)
	st = status(false)
	if len(st) != 1 || st[0].InstanceStatus.Status != types.SummaryStatusOk || st[0].SystemStatus.Status != types.SummaryStatusOk ||
		st[0].InstanceStatus.Details[0].Status != types.StatusTypePassed {
		t.Fatalf("status after checks = %+v", st)
	}

	stop := ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	if ch := stop.StoppingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameRunning || ch.CurrentState.Name != types.InstanceStateNameStopping {
		t.Errorf("stop change = %s → %s", ch.PreviousState.Name, ch.CurrentState.Name)
	}
	ts.Advance(45 * time.Second)
	stopped := ec2DescribeOne(t, c, id)
	if stopped.State.Name != types.InstanceStateNameStopped || aws.ToString(stopped.StateReason.Code) != "Client.UserInitiatedShutdown" ||
		!strings.HasPrefix(aws.ToString(stopped.StateTransitionReason), "User initiated (") {
		t.Fatalf("stopped instance: state %s reason %+v transition %v", stopped.State.Name, stopped.StateReason, stopped.StateTransitionReason)
	}
	if st := status(false); len(st) != 0 {
		t.Errorf("DescribeInstanceStatus lists a stopped instance without IncludeAllInstances: %+v", st)
	}
	if st := status(true); len(st) != 1 || st[0].InstanceState.Name != types.InstanceStateNameStopped || st[0].InstanceStatus.Status != types.SummaryStatusNotApplicable {
		t.Errorf("IncludeAllInstances status = %+v", st)
	}

	start := ec2Must[*ec2.StartInstancesOutput](t)(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))
	if start.StartingInstances[0].CurrentState.Name != types.InstanceStateNamePending {
		t.Errorf("start → %s, want pending", start.StartingInstances[0].CurrentState.Name)
	}
	ts.Advance(40 * time.Second)
	if st := ec2State(t, c, id); st != types.InstanceStateNameRunning {
		t.Fatalf("state after start = %s", st)
	}

	term := ec2Must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	if term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("terminate → %s", term.TerminatingInstances[0].CurrentState.Name)
	}
	ts.Advance(30 * time.Second)
	if st := ec2State(t, c, id); st != types.InstanceStateNameTerminated {
		t.Fatalf("state after terminate = %s", st)
	}
	again := ec2Must[*ec2.TerminateInstancesOutput](t)(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))
	if ch := again.TerminatingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameTerminated || ch.CurrentState.Name != types.InstanceStateNameTerminated {
		t.Errorf("terminating twice: %s → %s", ch.PreviousState.Name, ch.CurrentState.Name)
	}
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	ec2WantCode(t, err, "IncorrectInstanceState")
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	ec2WantCode(t, err, "IncorrectInstanceState")
	ts.Advance(59 * time.Minute)
	if st := ec2State(t, c, id); st != types.InstanceStateNameTerminated {
		t.Fatalf("terminated instance gone before an hour: %s", st)
	}
	ts.Advance(2 * time.Minute)
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	ec2WantCode(t, err, "InvalidInstanceID.NotFound")
	all := ec2Must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}))
	if len(all.Reservations) != 0 {
		t.Errorf("DescribeInstances still lists %d reservations an hour after termination", len(all.Reservations))
	}
}

func TestEC2StartWhileStopping(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	id := *ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 1)[0].InstanceId
	ts.Advance(time.Minute)
	ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	_, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	ec2WantCode(t, err, "IncorrectInstanceState")
	// Stopping an instance that is already stopping changes nothing.
	out := ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))
	if ch := out.StoppingInstances[0]; ch.PreviousState.Name != types.InstanceStateNameStopping || ch.CurrentState.Name != types.InstanceStateNameStopping {
		t.Errorf("second stop: %s → %s", ch.PreviousState.Name, ch.CurrentState.Name)
	}
}

func TestEC2InstanceIDErrors(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	id := *ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 1)[0].InstanceId
	for _, tc := range []struct {
		ids  []string
		code string
	}{
		{[]string{"i-123"}, "InvalidInstanceID.Malformed"},
		{[]string{"instance-1"}, "InvalidInstanceID.Malformed"},
		{[]string{"i-0123456789abcdef0"}, "InvalidInstanceID.NotFound"},
		{[]string{id, "i-0123456789abcdef0"}, "InvalidInstanceID.NotFound"},
	} {
		_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: tc.ids})
		ec2WantCode(t, err, tc.code)
		_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: tc.ids})
		ec2WantCode(t, err, tc.code)
		_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: tc.ids})
		ec2WantCode(t, err, tc.code)
	}
	// A failed multi-id stop changes nothing.
	if st := ec2State(t, c, id); st != types.InstanceStateNamePending {
		t.Errorf("state after failed stop = %s, want pending", st)
	}
}

func TestEC2RunInstancesValidation(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	img := ec2BaseImage(t, c, "linux")
	base := func(f func(*ec2.RunInstancesInput)) *ec2.RunInstancesInput {
		in := &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}
		f(in)
		return in
	}
	for name, tc := range map[string]struct {
		in   *ec2.RunInstancesInput
		code string
	}{
		"no image":        {base(func(in *ec2.RunInstancesInput) { in.ImageId = nil }), "MissingParameter"},
		"malformed image": {base(func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("ami-xyz") }), "InvalidAMIID.Malformed"},
		"unknown image":   {base(func(in *ec2.RunInstancesInput) { in.ImageId = aws.String("ami-0123456789abcdef0") }), "InvalidAMIID.NotFound"},
		"min > max":       {base(func(in *ec2.RunInstancesInput) { in.MinCount = aws.Int32(3) }), "InvalidParameterValue"},
		"zero count":      {base(func(in *ec2.RunInstancesInput) { in.MinCount, in.MaxCount = aws.Int32(0), aws.Int32(0) }), "InvalidParameterValue"},
		"instance type":   {base(func(in *ec2.RunInstancesInput) { in.InstanceType = "huge" }), "InvalidParameterValue"},
		"http tokens": {base(func(in *ec2.RunInstancesInput) {
			in.MetadataOptions = &types.InstanceMetadataOptionsRequest{HttpTokens: "sometimes"}
		}), "InvalidParameterValue"},
		"tag resource type": {base(func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{ec2TagSpec(types.ResourceTypeImage, "a", "b")}
		}), "InvalidParameterValue"},
		"reserved tag": {base(func(in *ec2.RunInstancesInput) {
			in.TagSpecifications = []types.TagSpecification{ec2TagSpec(types.ResourceTypeInstance, "aws:x", "b")}
		}), "InvalidParameterValue"},
		"unknown subnet": {base(func(in *ec2.RunInstancesInput) { in.SubnetId = aws.String("subnet-0123456789abcdef0") }), "InvalidSubnetID.NotFound"},
		"unknown group":  {base(func(in *ec2.RunInstancesInput) { in.SecurityGroupIds = []string{"sg-0123456789abcdef0"} }), "InvalidGroup.NotFound"},
		"profile arn": {base(func(in *ec2.RunInstancesInput) {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::1:role/x")}
		}), "InvalidParameterValue"},
		"subnet and interfaces": {base(func(in *ec2.RunInstancesInput) {
			in.SubnetId = aws.String("subnet-0123456789abcdef0")
			in.NetworkInterfaces = []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0), SubnetId: aws.String("subnet-0123456789abcdef0")}}
		}), "InvalidParameterCombination"},
	} {
		_, err := c.RunInstances(ctx, tc.in)
		if got := ec2Code(err); got != tc.code {
			t.Errorf("%s: code %q (%v), want %q", name, got, err, tc.code)
		}
	}
	_, err := c.RunInstances(ctx, base(func(in *ec2.RunInstancesInput) { in.DryRun = aws.Bool(true) }))
	ec2WantCode(t, err, "DryRunOperation")
	if n := len(ts.Sim.ec2.instances); n != 0 {
		t.Fatalf("failed or dry-run RunInstances calls left %d instances", n)
	}

	// The subnet and groups can come in the first network interface.
	subnets := ec2Must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}))
	sgs := ec2Must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}))
	out := ec2Must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, base(func(in *ec2.RunInstancesInput) {
		in.NetworkInterfaces = []types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex: aws.Int32(0), SubnetId: subnets.Subnets[2].SubnetId, Groups: []string{*sgs.SecurityGroups[0].GroupId},
		}}
	})))
	if got := aws.ToString(out.Instances[0].SubnetId); got != *subnets.Subnets[2].SubnetId {
		t.Errorf("subnet from network interface = %s, want %s", got, *subnets.Subnets[2].SubnetId)
	}
}

// TestEC2MalformedParameterTypes posts a raw form: the SDK cannot send a
// non-integer count.
func TestEC2MalformedParameterTypes(t *testing.T) {
	ts, _ := newEC2Test(t, Options{})
	form := url.Values{"Action": {"RunInstances"}, "Version": {"2016-11-15"}, "ImageId": {"ami-0123456789abcdef0"}, "MinCount": {"one"}, "MaxCount": {"1"}}
	resp, err := http.PostForm(ts.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>InvalidParameterValue</Code>") || !strings.Contains(string(body), "<Response><Errors><Error>") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}

func TestEC2ClientTokenIdempotency(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	img := ec2BaseImage(t, c, "linux")
	in := &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(2), MaxCount: aws.Int32(2), ClientToken: aws.String("launch-42")}
	first := ec2Must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	second := ec2Must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, in))
	if *first.ReservationId != *second.ReservationId || len(second.Instances) != 2 ||
		*first.Instances[1].InstanceId != *second.Instances[1].InstanceId {
		t.Fatalf("retry gave reservation %s, want %s", *second.ReservationId, *first.ReservationId)
	}
	if n := len(ts.Sim.ec2.instances); n != 2 {
		t.Fatalf("%d instances after an idempotent retry, want 2", n)
	}
	if aws.ToString(first.Instances[0].ClientToken) != "launch-42" {
		t.Errorf("client token = %v", first.Instances[0].ClientToken)
	}
	in.InstanceType = types.InstanceTypeC5Large
	_, err := c.RunInstances(ctx, in)
	ec2WantCode(t, err, "IdempotentParameterMismatch")
}

func TestEC2DescribeInstancesFiltersAndPagination(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	lin, win := ec2BaseImage(t, c, "linux"), ec2BaseImage(t, c, "windows")
	a := ec2Run(t, ts, c, lin, 5, ec2TagSpec(types.ResourceTypeInstance, "group", "web-a", "env", "prod"))
	b := ec2Run(t, ts, c, win, 7, ec2TagSpec(types.ResourceTypeInstance, "group", "web-b"))
	ts.Advance(time.Minute)
	ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*b[0].InstanceId}}))

	ids := func(out *ec2.DescribeInstancesOutput) []string {
		var r []string
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				r = append(r, *in.InstanceId)
			}
		}
		return r
	}
	count := func(fs ...types.Filter) int {
		t.Helper()
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: fs})
		if err != nil {
			t.Fatal(ec2FilterString(fs), err)
		}
		return len(ids(out))
	}
	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	for _, tc := range []struct {
		filters []types.Filter
		want    int
	}{
		{nil, 12},
		{[]types.Filter{f("tag:group", "web-a")}, 5},
		{[]types.Filter{f("tag:group", "web-*")}, 12},
		{[]types.Filter{f("tag:group", "web-?")}, 12},
		{[]types.Filter{f("tag:group", "web-a", "web-b")}, 12},
		{[]types.Filter{f("tag-key", "env")}, 5},
		{[]types.Filter{f("tag:env", "prod"), f("image-id", win)}, 0},
		{[]types.Filter{f("image-id", win)}, 7},
		{[]types.Filter{f("instance-state-name", "running")}, 11},
		{[]types.Filter{f("instance-state-name", "stopping", "stopped")}, 1},
		{[]types.Filter{f("instance-id", *a[2].InstanceId, *b[3].InstanceId)}, 2},
		{[]types.Filter{f("tag:missing", "*")}, 0},
	} {
		if got := count(tc.filters...); got != tc.want {
			t.Errorf("filters %s: %d instances, want %d", ec2FilterString(tc.filters), got, tc.want)
		}
	}
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{f("colour", "red")}})
	ec2WantCode(t, err, "InvalidParameterValue")

	// One reservation per RunInstances call.
	all := ec2Must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}))
	if len(all.Reservations) != 2 || len(all.Reservations[0].Instances) != 5 || len(all.Reservations[1].Instances) != 7 {
		t.Fatalf("reservations = %d", len(all.Reservations))
	}
	for i, in := range all.Reservations[1].Instances {
		if aws.ToInt32(in.AmiLaunchIndex) != int32(i) {
			t.Errorf("launch index %d = %d", i, aws.ToInt32(in.AmiLaunchIndex))
		}
	}

	// Pages of 5 give every instance once, in launch order.
	var paged []string
	pages := 0
	pg := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		paged = append(paged, ids(out)...)
	}
	if pages != 3 || !slices.Equal(paged, ids(all)) {
		t.Errorf("paginated %d pages: %v, want 3 pages of %v", pages, paged, ids(all))
	}
	// Filters apply before pagination.
	out := ec2Must[*ec2.DescribeInstancesOutput](t)(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), Filters: []types.Filter{f("tag:group", "web-b")}}))
	if got := ids(out); len(got) != 5 || got[0] != *b[0].InstanceId || out.NextToken == nil {
		t.Errorf("filtered first page = %v (next %v)", got, out.NextToken)
	}

	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(3)})
	ec2WantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{*a[0].InstanceId}})
	ec2WantCode(t, err, "InvalidParameterCombination")
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{NextToken: aws.String("garbage")})
	ec2WantCode(t, err, "InvalidParameterValue")
}

func ec2FilterString(fs []types.Filter) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, aws.ToString(f.Name)+"="+strings.Join(f.Values, ","))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestEC2CreateImageLifecycle(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	id := *ec2Run(t, ts, c, ec2BaseImage(t, c, "windows"), 1, ec2TagSpec(types.ResourceTypeInstance, "Name", "builder"))[0].InstanceId

	create := func(name string, noReboot bool) (string, error) {
		out, err := c.CreateImage(ctx, &ec2.CreateImageInput{
			InstanceId: aws.String(id), Name: aws.String(name), Description: aws.String("golden image"),
			NoReboot: aws.Bool(noReboot),
			TagSpecifications: []types.TagSpecification{
				ec2TagSpec(types.ResourceTypeImage, "golden", "true"),
				ec2TagSpec(types.ResourceTypeSnapshot, "golden-snap", "true"),
			},
		})
		if err != nil {
			return "", err
		}
		return *out.ImageId, nil
	}
	_, err := create("golden-2026-01-05", true)
	ec2WantCode(t, err, "IncorrectInstanceState") // still pending

	ts.Advance(3*time.Minute + 40*time.Second) // running, agent online
	in := ts.Sim.ec2.instances[id]
	if !in.AgentOnline {
		t.Fatal("agent not online after boot")
	}
	img, err := create("golden-2026-01-05", false)
	if err != nil {
		t.Fatal(err)
	}
	// Without NoReboot the instance reboots: still running, agent offline.
	if in.State != "running" || in.AgentOnline {
		t.Errorf("after CreateImage with reboot: state %s, agent online %v", in.State, in.AgentOnline)
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
	ec2WantCode(t, err, "InvalidAMIID.NotFound")
	ts.Advance(2 * time.Second)
	im := ec2DescribeImage(t, c, img)
	if im.State != types.ImageStatePending || aws.ToString(im.Name) != "golden-2026-01-05" || aws.ToString(im.OwnerId) != ts.AccountID() ||
		im.Platform != "windows" || aws.ToString(im.SourceInstanceId) != id || ec2TagMap(im.Tags)["golden"] != "true" {
		t.Fatalf("new image = %+v", im)
	}
	snap := aws.ToString(im.BlockDeviceMappings[0].Ebs.SnapshotId)
	snaps := ec2Must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}}))
	if s := snaps.Snapshots[0]; s.State != types.SnapshotStatePending || ec2TagMap(s.Tags)["golden-snap"] != "true" {
		t.Errorf("snapshot = %s %v", s.State, ec2TagMap(s.Tags))
	}

	_, err = create("golden-2026-01-05", true)
	ec2WantCode(t, err, "InvalidAMIName.Duplicate")
	for _, bad := range []string{"ab", strings.Repeat("x", 129), "golden*", "name#1"} {
		_, err = create(bad, true)
		ec2WantCode(t, err, "InvalidAMIName.Malformed")
	}
	_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String("i-zz"), Name: aws.String("okay name")})
	ec2WantCode(t, err, "InvalidInstanceID.Malformed")
	_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("tag spec check"),
		TagSpecifications: []types.TagSpecification{ec2TagSpec(types.ResourceTypeInstance, "a", "b")}})
	ec2WantCode(t, err, "InvalidParameterValue")

	ts.Advance(3 * time.Minute)
	if !in.AgentOnline {
		t.Error("agent did not come back after the reboot")
	}
	ts.Advance(12 * time.Minute) // 15 min for Windows
	im = ec2DescribeImage(t, c, img)
	if im.State != types.ImageStateAvailable {
		t.Fatalf("image after 15m = %s, want available", im.State)
	}
	snaps = ec2Must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}}))
	if s := snaps.Snapshots[0]; s.State != types.SnapshotStateCompleted || aws.ToString(s.Progress) != "100%" {
		t.Errorf("snapshot = %s %v", s.State, s.Progress)
	}
	var ev *Event
	for _, e := range ts.Events() {
		if e.DetailType == "EC2 AMI State Change" {
			ev = &e
		}
	}
	if ev == nil || !strings.Contains(string(ev.Detail), `"State":"available"`) || !strings.HasSuffix(ev.Resources[0], img) {
		t.Errorf("AMI event = %+v", ev)
	}
	// A stopped instance can be imaged too; a Linux image takes 6 minutes.
	lin := *ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 1)[0].InstanceId
	ts.Advance(time.Minute)
	ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{lin}}))
	ts.Advance(time.Minute)
	out := ec2Must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(lin), Name: aws.String("linux golden (1)")}))
	ts.Advance(5 * time.Minute)
	if st := ec2DescribeImage(t, c, *out.ImageId).State; st != types.ImageStatePending {
		t.Errorf("linux image after 5m = %s", st)
	}
	ts.Advance(time.Minute)
	if st := ec2DescribeImage(t, c, *out.ImageId).State; st != types.ImageStateAvailable {
		t.Errorf("linux image after 6m = %s", st)
	}
}

func ec2DescribeImage(t *testing.T, c *ec2.Client, id string) types.Image {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 {
		t.Fatalf("DescribeImages(%s) = %d images", id, len(out.Images))
	}
	return out.Images[0]
}

// imageFrom runs a Linux instance and images it, returning the image id
// once visible (still pending).
func ec2ImageFrom(t *testing.T, ts *testSim, c *ec2.Client, name string, specs ...types.TagSpecification) string {
	t.Helper()
	id := *ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 1)[0].InstanceId
	ts.Advance(time.Minute)
	out, err := c.CreateImage(context.Background(), &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String(name), NoReboot: aws.Bool(true), TagSpecifications: specs})
	if err != nil {
		t.Fatal(err)
	}
	ts.Advance(2 * time.Second)
	return *out.ImageId
}

func TestEC2CreateImageFailedOutcome(t *testing.T) {
	ts, c := newEC2Test(t, Options{})
	ts.AddFault(Fault{Service: "ec2", Action: "CreateImage", Outcome: "failed"})
	bad := ec2ImageFrom(t, ts, c, "will fail")
	good := ec2ImageFrom(t, ts, c, "will work")
	ts.Advance(6 * time.Minute)
	im := ec2DescribeImage(t, c, bad)
	if im.State != types.ImageStateFailed || im.StateReason == nil || aws.ToString(im.StateReason.Code) != "Client.InternalError" {
		t.Errorf("faulted image: state %s reason %+v", im.State, im.StateReason)
	}
	snaps := ec2Must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{SnapshotIds: []string{*im.BlockDeviceMappings[0].Ebs.SnapshotId}}))
	if snaps.Snapshots[0].State != types.SnapshotStateError {
		t.Errorf("faulted image's snapshot = %s, want error", snaps.Snapshots[0].State)
	}
	if st := ec2DescribeImage(t, c, good).State; st != types.ImageStateAvailable {
		t.Errorf("the fault applied twice: second image %s", st)
	}
}

func TestEC2DeregisterImageAndSnapshots(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	img := ec2ImageFrom(t, ts, c, "to deregister", ec2TagSpec(types.ResourceTypeSnapshot, "purpose", "golden"))
	ts.Advance(6 * time.Minute)
	snap := *ec2DescribeImage(t, c, img).BlockDeviceMappings[0].Ebs.SnapshotId

	_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)})
	ec2WantCode(t, err, "InvalidSnapshot.InUse")
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-1")})
	ec2WantCode(t, err, "InvalidSnapshotID.Malformed")
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-0123456789abcdef0")})
	ec2WantCode(t, err, "InvalidSnapshot.NotFound")

	out := ec2Must[*ec2.DeregisterImageOutput](t)(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(img)}))
	if !aws.ToBool(out.Return) {
		t.Error("DeregisterImage returned false")
	}
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img}})
	ec2WantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(img)})
	ec2WantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ec2BaseImage(t, c, "linux"))})
	ec2WantCode(t, err, "AuthFailure")

	// The snapshot outlives the image, and can now be deleted.
	snaps := ec2Must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"}, Filters: []types.Filter{{Name: aws.String("tag:purpose"), Values: []string{"golden"}}},
	}))
	if len(snaps.Snapshots) != 1 || *snaps.Snapshots[0].SnapshotId != snap {
		t.Fatalf("snapshots after deregistering = %+v", snaps.Snapshots)
	}
	if other := ec2Must[*ec2.DescribeSnapshotsOutput](t)(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"amazon"}})); len(other.Snapshots) != 0 {
		t.Errorf("Owner amazon lists %d snapshots", len(other.Snapshots))
	}
	ec2Must[*ec2.DeleteSnapshotOutput](t)(c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)}))
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	ec2WantCode(t, err, "InvalidSnapshot.NotFound")

	// DeleteAssociatedSnapshots takes the snapshots along.
	img2 := ec2ImageFrom(t, ts, c, "with snapshots")
	snap2 := *ec2DescribeImage(t, c, img2).BlockDeviceMappings[0].Ebs.SnapshotId
	out = ec2Must[*ec2.DeregisterImageOutput](t)(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(img2), DeleteAssociatedSnapshots: aws.Bool(true)}))
	if len(out.DeleteSnapshotResults) != 1 || aws.ToString(out.DeleteSnapshotResults[0].SnapshotId) != snap2 || out.DeleteSnapshotResults[0].ReturnCode != types.SnapshotReturnCodesSuccess {
		t.Errorf("delete snapshot results = %+v", out.DeleteSnapshotResults)
	}
	if _, ok := ts.Sim.ec2.snapshots[snap2]; ok {
		t.Error("snapshot kept despite DeleteAssociatedSnapshots")
	}
}

func TestEC2DescribeImages(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	mine := ec2ImageFrom(t, ts, c, "golden-web-1", ec2TagSpec(types.ResourceTypeImage, "app", "web"))
	other := ec2ImageFrom(t, ts, c, "golden-db-1")
	ts.Advance(6 * time.Minute)
	names := func(in *ec2.DescribeImagesInput) []string {
		t.Helper()
		out, err := c.DescribeImages(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var r []string
		for _, im := range out.Images {
			r = append(r, aws.ToString(im.Name))
		}
		slices.Sort(r)
		return r
	}
	f := func(name string, vals ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: vals}}
	}
	for _, tc := range []struct {
		in   *ec2.DescribeImagesInput
		want []string
	}{
		{&ec2.DescribeImagesInput{Owners: []string{"self"}}, []string{"golden-db-1", "golden-web-1"}},
		{&ec2.DescribeImagesInput{Owners: []string{ts.AccountID()}}, []string{"golden-db-1", "golden-web-1"}},
		{&ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: f("platform", "windows")}, []string{"Windows_Server-2022-English-Full-Base-2026.01.01"}},
		{&ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: f("name", "golden-web-*")}, []string{"golden-web-1"}},
		{&ec2.DescribeImagesInput{Filters: f("tag:app", "web")}, []string{"golden-web-1"}},
		{&ec2.DescribeImagesInput{Filters: f("tag-key", "app")}, []string{"golden-web-1"}},
		{&ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: f("state", "pending")}, nil},
		{&ec2.DescribeImagesInput{Filters: f("image-id", other)}, []string{"golden-db-1"}},
		{&ec2.DescribeImagesInput{ImageIds: []string{mine, other}, Owners: []string{"amazon"}}, nil},
	} {
		if got := names(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("DescribeImages(owners %v filters %s ids %v) = %v, want %v", tc.in.Owners, ec2FilterString(tc.in.Filters), tc.in.ImageIds, got, tc.want)
		}
	}
	if got := names(&ec2.DescribeImagesInput{}); len(got) != 4 {
		t.Errorf("all images = %v", got)
	}
	_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-1"}})
	ec2WantCode(t, err, "InvalidAMIID.Malformed")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: f("flavour", "x")})
	ec2WantCode(t, err, "InvalidParameterValue")

	var paged []string
	pg := ec2.NewDescribeImagesPaginator(c, &ec2.DescribeImagesInput{MaxResults: aws.Int32(3)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range out.Images {
			paged = append(paged, *im.ImageId)
		}
	}
	if len(paged) != 4 || paged[2] != mine || paged[3] != other {
		t.Errorf("paged images = %v", paged)
	}
}

func TestEC2Tags(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	inst := *ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 1)[0].InstanceId
	img := ec2ImageFrom(t, ts, c, "tagged")
	snap := *ec2DescribeImage(t, c, img).BlockDeviceMappings[0].Ebs.SnapshotId
	lt := ec2Must[*ec2.CreateLaunchTemplateOutput](t)(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(img)},
	}))
	ltID := *lt.LaunchTemplate.LaunchTemplateId
	ids := []string{inst, img, snap, ltID}
	ec2Must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: ids, Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("amiswap")}, {Key: aws.String("stage"), Value: aws.String("1")}},
	}))
	desc := func(fs ...types.Filter) []types.TagDescription {
		t.Helper()
		return ec2Must[*ec2.DescribeTagsOutput](t)(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: fs})).Tags
	}
	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	if got := desc(f("key", "owner")); len(got) != 4 {
		t.Fatalf("owner tags = %+v", got)
	}
	types4 := map[types.ResourceType]string{}
	for _, d := range desc(f("key", "owner")) {
		types4[d.ResourceType] = *d.ResourceId
	}
	if types4[types.ResourceTypeInstance] != inst || types4[types.ResourceTypeImage] != img ||
		types4[types.ResourceTypeSnapshot] != snap || types4[types.ResourceTypeLaunchTemplate] != ltID {
		t.Errorf("resource types = %v", types4)
	}
	if got := desc(f("resource-type", "image"), f("key", "stage")); len(got) != 1 || *got[0].Value != "1" {
		t.Errorf("image stage tag = %+v", got)
	}
	if got := desc(f("tag:owner", "amiswap"), f("resource-id", inst)); len(got) != 1 {
		t.Errorf("tag:owner on instance = %+v", got)
	}

	// DeleteTags with a value deletes only a matching tag; without, any.
	ec2Must[*ec2.DeleteTagsOutput](t)(c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{inst}, Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}}}))
	if got := ec2DescribeOne(t, c, inst).Tags; ec2TagMap(got)["owner"] != "amiswap" {
		t.Errorf("tag deleted despite a value mismatch: %v", ec2TagMap(got))
	}
	ec2Must[*ec2.DeleteTagsOutput](t)(c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{inst, ltID}, Tags: []types.Tag{{Key: aws.String("owner")}}}))
	if got := ec2TagMap(ec2DescribeOne(t, c, inst).Tags); len(got) != 1 || got["stage"] != "1" {
		t.Errorf("instance tags after delete = %v", got)
	}
	if got := desc(f("resource-id", ltID)); len(got) != 1 {
		t.Errorf("launch template tags after delete = %+v", got)
	}
	ec2Must[*ec2.DeleteTagsOutput](t)(c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{img}}))
	if got := desc(f("resource-id", img)); len(got) != 0 {
		t.Errorf("image tags after deleting all = %+v", got)
	}

	for _, tc := range []struct {
		id, code string
	}{
		{"i-0123456789abcdef0", "InvalidInstanceID.NotFound"},
		{"ami-0123456789abcdef0", "InvalidAMIID.NotFound"},
		{"snap-0123456789abcdef0", "InvalidSnapshot.NotFound"},
		{"lt-0123456789abcdef0", "InvalidLaunchTemplateId.NotFound"},
		{"foo-123", "InvalidID"},
	} {
		_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{inst, tc.id}, Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}})
		ec2WantCode(t, err, tc.code)
	}
	if _, ok := ec2TagMap(ec2DescribeOne(t, c, inst).Tags)["x"]; ok {
		t.Error("a failed CreateTags tagged the valid resource")
	}
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{inst}, Tags: []types.Tag{{Key: aws.String("aws:reserved"), Value: aws.String("y")}}})
	ec2WantCode(t, err, "InvalidParameterValue")
	many := make([]types.Tag, 50)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{inst}, Tags: many})
	ec2WantCode(t, err, "TagLimitExceeded")

	// DescribeTags paginates.
	var n int
	pg := ec2.NewDescribeTagsPaginator(c, &ec2.DescribeTagsInput{MaxResults: aws.Int32(5)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Tags)
	}
	if want := len(desc()); n != want || n < 3 {
		t.Errorf("paginated %d tags, want %d", n, want)
	}
}

func TestEC2LaunchTemplates(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	lin, win := ec2BaseImage(t, c, "linux"), ec2BaseImage(t, c, "windows")
	sg := *ec2Must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})).SecurityGroups[0].GroupId
	userData := base64.StdEncoding.EncodeToString([]byte("<powershell>echo hi</powershell>"))
	created := ec2Must[*ec2.CreateLaunchTemplateOutput](t)(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web-fleet"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String(win), InstanceType: types.InstanceTypeM5Large, KeyName: aws.String("ops"),
			SecurityGroupIds:   []string{sg},
			IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("web")},
			MetadataOptions:    &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired},
			UserData:           aws.String(userData),
			TagSpecifications: []types.LaunchTemplateTagSpecificationRequest{{
				ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("fleet"), Value: aws.String("web")}},
			}},
		},
		TagSpecifications: []types.TagSpecification{ec2TagSpec(types.ResourceTypeLaunchTemplate, "amiswap:managed", "true")},
	}))
	lt := created.LaunchTemplate
	if aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || ec2TagMap(lt.Tags)["amiswap:managed"] != "true" {
		t.Fatalf("created template = %+v", lt)
	}
	ltID := *lt.LaunchTemplateId
	_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web-fleet"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	ec2WantCode(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("bad name!"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	ec2WantCode(t, err, "InvalidLaunchTemplateName.MalformedException")
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("other"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-bad")}})
	ec2WantCode(t, err, "InvalidAMIID.Malformed")

	// Version 2 inherits from version 1 and overrides only the image.
	v2 := ec2Must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("1"), VersionDescription: aws.String("new image"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(lin)},
	})).LaunchTemplateVersion
	d := v2.LaunchTemplateData
	if aws.ToInt64(v2.VersionNumber) != 2 || aws.ToBool(v2.DefaultVersion) || aws.ToString(v2.VersionDescription) != "new image" ||
		aws.ToString(d.ImageId) != lin || d.InstanceType != types.InstanceTypeM5Large || aws.ToString(d.KeyName) != "ops" ||
		!slices.Equal(d.SecurityGroupIds, []string{sg}) || d.IamInstanceProfile == nil || aws.ToString(d.IamInstanceProfile.Name) != "web" ||
		d.MetadataOptions == nil || d.MetadataOptions.HttpTokens != types.LaunchTemplateHttpTokensStateRequired ||
		aws.ToString(d.UserData) != userData || len(d.TagSpecifications) != 1 || ec2TagMap(d.TagSpecifications[0].Tags)["fleet"] != "web" {
		t.Fatalf("version 2 did not inherit version 1: %+v", d)
	}
	// Version 3 without a source has only what it was given.
	v3 := ec2Must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("web-fleet"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(win)},
	})).LaunchTemplateVersion
	if d := v3.LaunchTemplateData; aws.ToInt64(v3.VersionNumber) != 3 || d.InstanceType != "" || d.KeyName != nil || len(d.SecurityGroupIds) != 0 {
		t.Errorf("version 3 = %+v", d)
	}
	// $Latest as the source works too.
	v4 := ec2Must[*ec2.CreateLaunchTemplateVersionOutput](t)(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("$Latest"), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeC5Xlarge},
	})).LaunchTemplateVersion
	if d := v4.LaunchTemplateData; aws.ToString(d.ImageId) != win || d.InstanceType != types.InstanceTypeC5Xlarge {
		t.Errorf("version 4 from $Latest = %+v", d)
	}

	versions := func(vs ...string) []int64 {
		t.Helper()
		out, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: vs})
		if err != nil {
			t.Fatal(err)
		}
		var r []int64
		for _, v := range out.LaunchTemplateVersions {
			r = append(r, aws.ToInt64(v.VersionNumber))
		}
		return r
	}
	if got := versions("$Default", "$Latest", "2"); !slices.Equal(got, []int64{1, 4, 2}) {
		t.Errorf("$Default,$Latest,2 = %v", got)
	}
	if got := versions(); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("all versions = %v", got)
	}
	mod := ec2Must[*ec2.ModifyLaunchTemplateOutput](t)(c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(ltID), DefaultVersion: aws.String("2")}))
	if aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber) != 2 {
		t.Errorf("modified default = %d", aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber))
	}
	if got := versions("$Default"); !slices.Equal(got, []int64{2}) {
		t.Errorf("$Default after modify = %v", got)
	}
	out := ec2Must[*ec2.DescribeLaunchTemplateVersionsOutput](t)(c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: aws.String("web-fleet"), Versions: []string{"2"},
	}))
	if !aws.ToBool(out.LaunchTemplateVersions[0].DefaultVersion) {
		t.Error("version 2 not flagged default")
	}
	lts := ec2Must[*ec2.DescribeLaunchTemplatesOutput](t)(c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"web-fleet"}}))
	if l := lts.LaunchTemplates[0]; aws.ToInt64(l.DefaultVersionNumber) != 2 || aws.ToInt64(l.LatestVersionNumber) != 4 || aws.ToString(l.LaunchTemplateId) != ltID {
		t.Errorf("described template = %+v", l)
	}
	byTag := ec2Must[*ec2.DescribeLaunchTemplatesOutput](t)(c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
		Filters: []types.Filter{{Name: aws.String("tag:amiswap:managed"), Values: []string{"true"}}},
	}))
	if len(byTag.LaunchTemplates) != 1 {
		t.Errorf("templates by tag = %d", len(byTag.LaunchTemplates))
	}

	for _, tc := range []struct {
		call func() error
		code string
	}{
		{func() error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: []string{"9"}})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{func() error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: []string{"latest"}})
			return err
		}, "InvalidLaunchTemplateVersion.Malformed"},
		{func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-0123456789abcdef0"}})
			return err
		}, "InvalidLaunchTemplateId.NotFound"},
		{func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{"lt-1"}})
			return err
		}, "InvalidLaunchTemplateId.Malformed"},
		{func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{func() error {
			_, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(ltID), DefaultVersion: aws.String("7")})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{func() error {
			_, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{DefaultVersion: aws.String("1")})
			return err
		}, "MissingParameter"},
		{func() error {
			_, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("12"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
	} {
		ec2WantCode(t, tc.call(), tc.code)
	}

	// RunInstances from the template ($Default = version 2: Linux image).
	run := ec2Must[*ec2.RunInstancesOutput](t)(c.RunInstances(ctx, &ec2.RunInstancesInput{
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		LaunchTemplate: &types.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web-fleet")},
	}))
	in := run.Instances[0]
	if aws.ToString(in.ImageId) != lin || in.InstanceType != types.InstanceTypeM5Large || ec2TagMap(in.Tags)["fleet"] != "web" ||
		in.MetadataOptions.HttpTokens != types.HttpTokensStateRequired || !strings.HasSuffix(aws.ToString(in.IamInstanceProfile.Arn), ":instance-profile/web") {
		t.Errorf("instance from template = %+v", in)
	}
	_ = ts
}

func TestEC2Network(t *testing.T) {
	ctx := context.Background()
	_, c := newEC2Test(t, Options{Region: "eu-west-1"})
	vpcs := ec2Must[*ec2.DescribeVpcsOutput](t)(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}}))
	if len(vpcs.Vpcs) != 1 || !aws.ToBool(vpcs.Vpcs[0].IsDefault) || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default VPC = %+v", vpcs.Vpcs)
	}
	vpc := *vpcs.Vpcs[0].VpcId
	subnets := ec2Must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}}))
	if len(subnets.Subnets) != 3 {
		t.Fatalf("subnets = %d", len(subnets.Subnets))
	}
	b := ec2Must[*ec2.DescribeSubnetsOutput](t)(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("availability-zone"), Values: []string{"eu-west-1b"}}}}))
	if len(b.Subnets) != 1 || aws.ToString(b.Subnets[0].AvailabilityZoneId) != "euw1-az2" || !aws.ToBool(b.Subnets[0].DefaultForAz) {
		t.Errorf("subnet in b = %+v", b.Subnets)
	}
	_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
	ec2WantCode(t, err, "InvalidSubnetID.NotFound")
	sgs := ec2Must[*ec2.DescribeSecurityGroupsOutput](t)(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}}))
	if len(sgs.SecurityGroups) != 1 || aws.ToString(sgs.SecurityGroups[0].VpcId) != vpc || len(sgs.SecurityGroups[0].IpPermissionsEgress) != 1 {
		t.Errorf("default group = %+v", sgs.SecurityGroups)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
	ec2WantCode(t, err, "InvalidGroup.NotFound")
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}})
	ec2WantCode(t, err, "InvalidVpcID.NotFound")
}

func TestEC2InjectedFaultsAndThrottling(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	ts.AddFault(Fault{Service: "ec2", Action: "DescribeInstances", Code: "InternalError"})
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	ec2WantCode(t, err, "InternalError")
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("injected InternalError status: %v", err)
	}
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("fault outlived its count: %v", err)
	}
	ts.AddFault(Fault{Service: "ec2", Action: "CreateTags", Code: "UnauthorizedOperation", Status: 403})
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("a")}}})
	ec2WantCode(t, err, "UnauthorizedOperation")

	ts2, c2 := newEC2Test(t, Options{Throttle: Throttle{ReadBurst: 2, ReadRate: 0.001}})
	for i := 0; i < 2; i++ {
		if _, err := c2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err = c2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	ec2WantCode(t, err, "RequestLimitExceeded")
	// Buckets are per action: another read and a write still pass.
	if _, err := c2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
		t.Errorf("DescribeImages throttled by DescribeInstances' bucket: %v", err)
	}
	if _, err := c2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ec2BaseImage(t, c2, "linux")), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); err != nil {
		t.Errorf("write throttled: %v", err)
	}
	_ = ts2
}

// ec2RecordingAuthz records what each call touches and denies what deny says.
type ec2RecordingAuthz struct {
	calls []string
	res   map[string][]Resource
	deny  func(action string, res []Resource) bool
}

func (a *ec2RecordingAuthz) Authorize(_, _, action string, res []Resource) error {
	if res == nil {
		return nil
	}
	a.calls = append(a.calls, action)
	a.res[action] = append(a.res[action], res...)
	if a.deny != nil && a.deny(action, res) {
		return errors.New("denied by test policy")
	}
	return nil
}

func TestEC2Authorization(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	img := ec2BaseImage(t, c, "linux")
	az := &ec2RecordingAuthz{res: map[string][]Resource{}}
	// Deny launching instances without a "team" request tag.
	az.deny = func(action string, res []Resource) bool {
		for _, r := range res {
			if strings.HasSuffix(r.ARN, ":instance/*") && r.Tags["team"] == "" {
				return true
			}
			if strings.Contains(r.ARN, ":instance/i-") && r.Tags["team"] == "forbidden" {
				return true
			}
		}
		return false
	}
	ts.SetAuthorizer(az)
	_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(img), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	ec2WantCode(t, err, "UnauthorizedOperation")
	if n := len(ts.Sim.ec2.instances); n != 0 {
		t.Fatalf("denied RunInstances launched %d instances", n)
	}
	ok := ec2Run(t, ts, c, img, 1, ec2TagSpec(types.ResourceTypeInstance, "team", "web"))
	bad := ec2Run(t, ts, c, img, 1, ec2TagSpec(types.ResourceTypeInstance, "team", "forbidden"))
	wantARN := "arn:aws:ec2:us-east-1:" + ts.AccountID() + ":instance/*"
	found := false
	for _, r := range az.res["RunInstances"] {
		found = found || (r.ARN == wantARN && r.Tags["team"] == "web")
	}
	if !found {
		t.Errorf("RunInstances resources = %+v, want %s with the request tags", az.res["RunInstances"], wantARN)
	}
	ts.Advance(time.Minute)
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*ok[0].InstanceId, *bad[0].InstanceId}})
	ec2WantCode(t, err, "UnauthorizedOperation")
	if st := ec2State(t, c, *ok[0].InstanceId); st != types.InstanceStateNameRunning {
		t.Errorf("partially denied stop changed an instance: %s", st)
	}
	out := ec2Must[*ec2.CreateImageOutput](t)(c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: ok[0].InstanceId, Name: aws.String("authz image"), NoReboot: aws.Bool(true),
		TagSpecifications: []types.TagSpecification{ec2TagSpec(types.ResourceTypeImage, "golden", "yes")},
	}))
	var sawInstance, sawImage bool
	for _, r := range az.res["CreateImage"] {
		sawInstance = sawInstance || (strings.HasSuffix(r.ARN, "instance/"+*ok[0].InstanceId) && r.Tags["team"] == "web")
		sawImage = sawImage || (r.ARN == "arn:aws:ec2:us-east-1::image/*" && r.Tags["golden"] == "yes")
	}
	if !sawInstance || !sawImage {
		t.Errorf("CreateImage resources = %+v", az.res["CreateImage"])
	}
	ts.Advance(2 * time.Second)
	ec2Must[*ec2.CreateTagsOutput](t)(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*out.ImageId}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}))
	// The tags of RunInstances and CreateImage were checked as
	// ec2:CreateTags with ec2:CreateAction; the CreateTags call itself
	// with the request's tags as aws:RequestTag and aws:TagKeys.
	var explicit []Resource
	actions := map[string]bool{}
	for _, r := range az.res["CreateTags"] {
		if a := r.Context["ec2:CreateAction"]; len(a) == 1 {
			actions[a[0]] = true
			continue
		}
		explicit = append(explicit, r)
	}
	if !actions["RunInstances"] || !actions["CreateImage"] {
		t.Errorf("implied ec2:CreateTags checks for %v, want RunInstances and CreateImage", actions)
	}
	if len(explicit) != 1 || !strings.HasSuffix(explicit[0].ARN, "::image/"+*out.ImageId) ||
		strings.Join(explicit[0].Context["aws:RequestTag/k"], ",") != "v" || strings.Join(explicit[0].Context["aws:TagKeys"], ",") != "k" {
		t.Errorf("CreateTags resources = %+v", explicit)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abcd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"a**b*", "axxbyy", true},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{`a\?c`, "abc", false},
		{"golden-*-2026", "golden-web-2026", true},
		{"golden-*-2026", "golden-web-2025", false},
	} {
		if got := globMatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}

func TestEC2StateView(t *testing.T) {
	ts, c := newEC2Test(t, Options{})
	ec2Run(t, ts, c, ec2BaseImage(t, c, "linux"), 2)
	ts.mu.Lock()
	v := ec2StateView(ts.Sim)
	ts.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"State":"pending"`) {
		t.Errorf("state view lacks the instances: %.300s", b)
	}
}

func TestEC2InstanceStatusPaginationAndFilters(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	img := ec2BaseImage(t, c, "linux")
	first := ec2Run(t, ts, c, img, 7)
	ts.Advance(4 * time.Minute) // running, checks ok
	ec2Run(t, ts, c, img, 3)
	ts.Advance(time.Minute) // running, checks initializing
	ec2Must[*ec2.StopInstancesOutput](t)(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{*first[0].InstanceId}}))

	list := func(in *ec2.DescribeInstanceStatusInput) (ids []string, pages int) {
		t.Helper()
		pg := ec2.NewDescribeInstanceStatusPaginator(c, in)
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, st := range out.InstanceStatuses {
				ids = append(ids, *st.InstanceId)
			}
		}
		return ids, pages
	}
	f := func(name string, vals ...string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: vals}}
	}
	if ids, pages := list(&ec2.DescribeInstanceStatusInput{MaxResults: aws.Int32(5)}); len(ids) != 9 || pages != 2 {
		t.Errorf("running statuses: %d in %d pages, want 9 in 2", len(ids), pages)
	}
	if ids, _ := list(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true), MaxResults: aws.Int32(5)}); len(ids) != 10 || ids[0] != *first[0].InstanceId {
		t.Errorf("all statuses = %v", ids)
	}
	if ids, _ := list(&ec2.DescribeInstanceStatusInput{Filters: f("instance-status.status", "initializing")}); len(ids) != 3 {
		t.Errorf("initializing = %d, want 3", len(ids))
	}
	if ids, _ := list(&ec2.DescribeInstanceStatusInput{Filters: f("system-status.reachability", "passed")}); len(ids) != 6 {
		t.Errorf("passed = %d, want 6", len(ids))
	}
	if ids, _ := list(&ec2.DescribeInstanceStatusInput{IncludeAllInstances: aws.Bool(true), Filters: f("instance-state-name", "stopping")}); len(ids) != 1 {
		t.Errorf("stopping = %d, want 1", len(ids))
	}
	_, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{Filters: f("tag:x", "y")})
	ec2WantCode(t, err, "InvalidParameterValue")
	_, err = c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{NextToken: aws.String(pageToken(ec2TokenPrefix, 1<<63))})
	if err != nil {
		t.Errorf("a token past the end: %v", err)
	}
}

func TestEC2SnapshotAndTemplatePagination(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	for i := 0; i < 6; i++ {
		ec2ImageFrom(t, ts, c, fmt.Sprintf("image %d", i))
		ec2Must[*ec2.CreateLaunchTemplateOutput](t)(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(fmt.Sprintf("lt-%d", i)), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Micro},
		}))
	}
	var snaps []string
	sp := ec2.NewDescribeSnapshotsPaginator(c, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, MaxResults: aws.Int32(5)})
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.Snapshots {
			snaps = append(snaps, *s.SnapshotId)
		}
	}
	if len(snaps) != 6 || len(slices.Compact(slices.Sorted(slices.Values(snaps)))) != 6 {
		t.Errorf("paged snapshots = %v", snaps)
	}
	var names []string
	lp := ec2.NewDescribeLaunchTemplatesPaginator(c, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(4)})
	for lp.HasMorePages() {
		out, err := lp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range out.LaunchTemplates {
			names = append(names, *l.LaunchTemplateName)
		}
	}
	if !slices.Equal(names, []string{"lt-0", "lt-1", "lt-2", "lt-3", "lt-4", "lt-5"}) {
		t.Errorf("paged templates = %v", names)
	}
	_, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{MaxResults: aws.Int32(2)})
	ec2WantCode(t, err, "InvalidParameterValue")
}

// TestLostAnswerFault: a "lost" fault serves the call, so its effect takes
// place, and answers with an error instead, as when a request reaches AWS
// and its answer never comes back; OnCall sees the call served first.
func TestLostAnswerFault(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{})
	var seen []string
	ts.OnCall(func(call Call) { seen = append(seen, call.Action+" "+strconv.Itoa(call.Status)) })
	ts.AddFault(Fault{Service: "ec2", Action: "RunInstances", Outcome: "lost"})
	_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ec2BaseImage(t, c, "linux")), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("lost"), Value: aws.String("yes")}}}}})
	ec2WantCode(t, err, "InternalError")
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("tag:lost"), Values: []string{"yes"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Reservations); n != 1 {
		t.Errorf("%d reservations after a RunInstances whose answer was lost, want the 1 it launched", n)
	}
	if len(seen) < 2 || seen[len(seen)-2] != "RunInstances 500" {
		t.Errorf("OnCall saw %v, want RunInstances answered 500 before the DescribeInstances", seen)
	}
}

// TestThrottleRefillsOnTheSimulatedClock: buckets refill with simulated
// time, not wall time, so --speed N throttles as AWS would the same calls
// over the same simulated time. On a manual clock nothing refills until the
// clock moves.
func TestThrottleRefillsOnTheSimulatedClock(t *testing.T) {
	ctx := context.Background()
	ts, c := newEC2Test(t, Options{Throttle: Throttle{ReadBurst: 2, ReadRate: 1}})
	for i := 0; i < 2; i++ {
		if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	ec2WantCode(t, err, "RequestLimitExceeded")
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	ec2WantCode(t, err, "RequestLimitExceeded") // still: no simulated time passed
	ts.Advance(time.Second)                     // one token at 1 per second
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("after 1s of simulated time: %v", err)
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	ec2WantCode(t, err, "RequestLimitExceeded")
}

// TestLaunchTemplateVersionClientToken: a retried CreateLaunchTemplateVersion
// (same ClientToken, same parameters) gets the version the first call
// created; the token with other parameters is IdempotentParameterMismatch
// (EC2 API Reference, CreateLaunchTemplateVersion; "Ensuring idempotency in
// Amazon EC2 API requests").
func TestLaunchTemplateVersionClientToken(t *testing.T) {
	ctx := context.Background()
	_, c := newEC2Test(t, Options{})
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ec2BaseImage(t, c, "linux"))}})
	if err != nil {
		t.Fatal(err)
	}
	in := &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, SourceVersion: aws.String("1"),
		VersionDescription: aws.String("v2"), ClientToken: aws.String("token-1"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeT3Small}}
	var got []int64
	for range 2 {
		out, err := c.CreateLaunchTemplateVersion(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, aws.ToInt64(out.LaunchTemplateVersion.VersionNumber))
	}
	if got[0] != 2 || got[1] != 2 {
		t.Errorf("versions %v, want 2 twice", got)
	}
	in.VersionDescription = aws.String("other")
	_, err = c.CreateLaunchTemplateVersion(ctx, in)
	ec2WantCode(t, err, "IdempotentParameterMismatch")
	in.ClientToken = aws.String("token-2")
	out, err := c.CreateLaunchTemplateVersion(ctx, in)
	if err != nil || aws.ToInt64(out.LaunchTemplateVersion.VersionNumber) != 3 {
		t.Errorf("a new token: %+v, %v; want version 3", out, err)
	}
}
