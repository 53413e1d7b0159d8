package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ---- fixtures shared by the builder-side tests ----------------------------

const (
	btExec     = "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:run-1"
	btInstance = "i-0123456789abcdef0"
	btSource   = "ami-0aaaaaaaaaaaaaaa1"
	btOldAMI   = "ami-0bbbbbbbbbbbbbbb2"
	btNewAMI   = "ami-0ccccccccccccccc3"
	btSubnet   = "subnet-0123456789abcdef0"
	btSG       = "sg-0123456789abcdef0"
	btRP       = "arn:aws:ec2:us-east-1::image/" + btSource
)

var btNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func btTarget() *amiswap.Target {
	s := amiswap.DefaultSettings()
	return &amiswap.Target{
		Group: "web",
		Source: amiswap.Source{
			InstanceID: "i-0fedcba9876543210", BackupJobID: "job-1", RecoveryPointArn: btRP,
			BackupVaultName: "vault", ImageID: btSource, Platform: "windows",
		},
		LaunchTemplate: amiswap.LaunchTemplateRef{ID: "lt-0123456789abcdef0", Version: "$Default", SourceVersion: "4", ImageID: btOldAMI},
		Capacity:       amiswap.Capacity{Min: 1, Max: 4, Desired: 2},
		Builder:        amiswap.BuilderSpec{InstanceType: "m5.large", SubnetID: btSubnet, SecurityGroupIDs: []string{btSG}, InstanceProfile: "web-role"},
		Settings:       s,
	}
}

// btPayload is a payload entered at now with a target and a builder
// launched at btNow; edit adjusts the state.
func btPayload(now time.Time, edit func(*State)) Payload {
	p := Payload{
		State:   State{Target: btTarget(), Builder: &BuilderResult{InstanceID: btInstance, LaunchedAt: btNow}},
		Context: Context{ExecutionID: btExec, EnteredTime: now},
	}
	if edit != nil {
		edit(&p.State)
	}
	return p
}

// btInstanceOut answers DescribeInstances with one instance in state st.
func btInstanceOut(st ec2types.InstanceStateName, reason string) func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
	return func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		in := ec2types.Instance{InstanceId: aws.String(btInstance), State: &ec2types.InstanceState{Name: st}}
		if reason != "" {
			in.StateReason = &ec2types.StateReason{Message: aws.String(reason)}
		}
		return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: []ec2types.Instance{in}}}}, nil
	}
}

// wantTyped checks that err's chain holds an error of type T and returns it.
func wantTyped[T error](t *testing.T, err error) T {
	t.Helper()
	e, ok := errorsAs[T](err)
	if !ok {
		var zero T
		t.Fatalf("error = %v (%T), want a %T", err, err, zero)
	}
	return e
}

// ---- fakes -----------------------------------------------------------------

// fakeBuilderEC2 implements every EC2 method the builder-side ops call;
// each records its input and answers through its function (or a zero
// output when nil).
type fakeBuilderEC2 struct {
	calls []string

	run         []*ec2.RunInstancesInput
	runFn       func(*ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error)
	describe    []*ec2.DescribeInstancesInput
	describeFn  func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
	status      []*ec2.DescribeInstanceStatusInput
	statusFn    func(*ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error)
	stop        []*ec2.StopInstancesInput
	stopFn      func(*ec2.StopInstancesInput) (*ec2.StopInstancesOutput, error)
	terminate   []*ec2.TerminateInstancesInput
	terminateFn func(*ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error)
	images      []*ec2.DescribeImagesInput
	imagesFn    func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error)
	create      []*ec2.CreateImageInput
	createFn    func(*ec2.CreateImageInput) (*ec2.CreateImageOutput, error)
	versions    []*ec2.DescribeLaunchTemplateVersionsInput
	versionsFn  func(*ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	deregister  []string
	deregFn     func(*ec2.DeregisterImageInput) error
	deleteSnap  []string
	deleteFn    func(*ec2.DeleteSnapshotInput) error
	snapsIn     []*ec2.DescribeSnapshotsInput
	snapsFn     func(*ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error)
}

func (f *fakeBuilderEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.calls, f.snapsIn = append(f.calls, "DescribeSnapshots"), append(f.snapsIn, in)
	return answer(f.snapsFn, in)
}

func (f *fakeBuilderEC2) RunInstances(_ context.Context, in *ec2.RunInstancesInput, _ ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	f.calls, f.run = append(f.calls, "RunInstances"), append(f.run, in)
	if f.runFn == nil {
		return &ec2.RunInstancesOutput{Instances: []ec2types.Instance{{InstanceId: aws.String(btInstance)}}}, nil
	}
	return f.runFn(in)
}

func (f *fakeBuilderEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls, f.describe = append(f.calls, "DescribeInstances"), append(f.describe, in)
	return answer(f.describeFn, in)
}

func (f *fakeBuilderEC2) DescribeInstanceStatus(_ context.Context, in *ec2.DescribeInstanceStatusInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error) {
	f.calls, f.status = append(f.calls, "DescribeInstanceStatus"), append(f.status, in)
	return answer(f.statusFn, in)
}

func (f *fakeBuilderEC2) StopInstances(_ context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	f.calls, f.stop = append(f.calls, "StopInstances"), append(f.stop, in)
	return answer(f.stopFn, in)
}

func (f *fakeBuilderEC2) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.calls, f.terminate = append(f.calls, "TerminateInstances"), append(f.terminate, in)
	return answer(f.terminateFn, in)
}

func (f *fakeBuilderEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.calls, f.images = append(f.calls, "DescribeImages"), append(f.images, in)
	return answer(f.imagesFn, in)
}

func (f *fakeBuilderEC2) CreateImage(_ context.Context, in *ec2.CreateImageInput, _ ...func(*ec2.Options)) (*ec2.CreateImageOutput, error) {
	f.calls, f.create = append(f.calls, "CreateImage"), append(f.create, in)
	if f.createFn == nil {
		return &ec2.CreateImageOutput{ImageId: aws.String(btNewAMI)}, nil
	}
	return f.createFn(in)
}

func (f *fakeBuilderEC2) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	f.calls, f.versions = append(f.calls, "DescribeLaunchTemplateVersions"), append(f.versions, in)
	return answer(f.versionsFn, in)
}

func (f *fakeBuilderEC2) DeregisterImage(_ context.Context, in *ec2.DeregisterImageInput, _ ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error) {
	f.calls, f.deregister = append(f.calls, "DeregisterImage "+aws.ToString(in.ImageId)), append(f.deregister, aws.ToString(in.ImageId))
	if f.deregFn != nil {
		if err := f.deregFn(in); err != nil {
			return nil, err
		}
	}
	return &ec2.DeregisterImageOutput{}, nil
}

func (f *fakeBuilderEC2) DeleteSnapshot(_ context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.calls, f.deleteSnap = append(f.calls, "DeleteSnapshot "+aws.ToString(in.SnapshotId)), append(f.deleteSnap, aws.ToString(in.SnapshotId))
	if f.deleteFn != nil {
		if err := f.deleteFn(in); err != nil {
			return nil, err
		}
	}
	return &ec2.DeleteSnapshotOutput{}, nil
}

// fakeBuilderSSM implements the SSM methods of the builder-side ops.
type fakeBuilderSSM struct {
	calls    []string
	info     []*ssm.DescribeInstanceInformationInput
	infoFn   func(*ssm.DescribeInstanceInformationInput) (*ssm.DescribeInstanceInformationOutput, error)
	send     []*ssm.SendCommandInput
	sendFn   func(*ssm.SendCommandInput) (*ssm.SendCommandOutput, error)
	list     []*ssm.ListCommandsInput
	listFn   func(*ssm.ListCommandsInput) (*ssm.ListCommandsOutput, error)
	invoke   []*ssm.GetCommandInvocationInput
	invokeFn func(*ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error)
}

func (f *fakeBuilderSSM) DescribeInstanceInformation(_ context.Context, in *ssm.DescribeInstanceInformationInput, _ ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error) {
	f.calls, f.info = append(f.calls, "DescribeInstanceInformation"), append(f.info, in)
	return answer(f.infoFn, in)
}

func (f *fakeBuilderSSM) SendCommand(_ context.Context, in *ssm.SendCommandInput, _ ...func(*ssm.Options)) (*ssm.SendCommandOutput, error) {
	f.calls, f.send = append(f.calls, "SendCommand"), append(f.send, in)
	if f.sendFn == nil {
		return &ssm.SendCommandOutput{Command: &ssmtypes.Command{CommandId: aws.String("cmd-new")}}, nil
	}
	return f.sendFn(in)
}

func (f *fakeBuilderSSM) ListCommands(_ context.Context, in *ssm.ListCommandsInput, _ ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error) {
	cp := *in
	f.calls, f.list = append(f.calls, "ListCommands"), append(f.list, &cp)
	return answer(f.listFn, in)
}

func (f *fakeBuilderSSM) GetCommandInvocation(_ context.Context, in *ssm.GetCommandInvocationInput, _ ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error) {
	f.calls, f.invoke = append(f.calls, "GetCommandInvocation"), append(f.invoke, in)
	if f.invokeFn == nil {
		return nil, apiErr("InvocationDoesNotExist")
	}
	return f.invokeFn(in)
}

// fakeBuilderBackup implements DeleteRecoveryPoint.
type fakeBuilderBackup struct {
	deletes []*backup.DeleteRecoveryPointInput
	err     error
	// status is what DescribeRecoveryPoint answers after a delete
	// ("": ResourceNotFoundException, the recovery point is gone);
	// descErr, when set, is its error.
	status  backuptypes.RecoveryPointStatus
	message string
	descErr error
}

func (f *fakeBuilderBackup) DescribeRecoveryPoint(_ context.Context, in *backup.DescribeRecoveryPointInput, _ ...func(*backup.Options)) (*backup.DescribeRecoveryPointOutput, error) {
	switch {
	case f.descErr != nil:
		return nil, f.descErr
	case f.status == "":
		return nil, apiErr("ResourceNotFoundException")
	}
	return &backup.DescribeRecoveryPointOutput{RecoveryPointArn: in.RecoveryPointArn, Status: f.status, StatusMessage: aws.String(f.message)}, nil
}

func (f *fakeBuilderBackup) DeleteRecoveryPoint(_ context.Context, in *backup.DeleteRecoveryPointInput, _ ...func(*backup.Options)) (*backup.DeleteRecoveryPointOutput, error) {
	f.deletes = append(f.deletes, in)
	if f.err != nil {
		return nil, f.err
	}
	return &backup.DeleteRecoveryPointOutput{}, nil
}

// fakeBuilderSNS implements Publish.
type fakeBuilderSNS struct {
	published []*sns.PublishInput
	err       error
}

func (f *fakeBuilderSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.published = append(f.published, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("msg-1")}, nil
}

// ---- launch-builder --------------------------------------------------------

func tagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestLaunchBuilderSendsAHardenedIdempotentRequest(t *testing.T) {
	f := &fakeBuilderEC2{}
	h := &LaunchBuilder{EC2: f}
	p := btPayload(btNow, nil)
	res, err := h.Launch(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if res.InstanceID != btInstance || !res.LaunchedAt.Equal(btNow) {
		t.Errorf("result = %+v", res)
	}
	// A retry (same execution, the same state entered) sends the same token.
	if _, err := h.Launch(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	in := f.run[0]
	if got := aws.ToString(in.ImageId); got != btSource {
		t.Errorf("ImageId = %s", got)
	}
	if in.InstanceType != "m5.large" || aws.ToInt32(in.MinCount) != 1 || aws.ToInt32(in.MaxCount) != 1 {
		t.Errorf("InstanceType/MinCount/MaxCount = %s/%d/%d", in.InstanceType, aws.ToInt32(in.MinCount), aws.ToInt32(in.MaxCount))
	}
	if in.KeyName != nil {
		t.Errorf("KeyName = %q, want none", aws.ToString(in.KeyName))
	}
	if in.SubnetId != nil || in.SecurityGroupIds != nil || in.SecurityGroups != nil {
		t.Errorf("instance-level network settings must not be sent with NetworkInterfaces")
	}
	if len(in.NetworkInterfaces) != 1 {
		t.Fatalf("NetworkInterfaces = %d", len(in.NetworkInterfaces))
	}
	ni := in.NetworkInterfaces[0]
	if ni.AssociatePublicIpAddress == nil || *ni.AssociatePublicIpAddress {
		t.Errorf("AssociatePublicIpAddress = %v, want false", ni.AssociatePublicIpAddress)
	}
	if aws.ToInt32(ni.DeviceIndex) != 0 || ni.DeviceIndex == nil || aws.ToString(ni.SubnetId) != btSubnet || len(ni.Groups) != 1 || ni.Groups[0] != btSG {
		t.Errorf("network interface = %+v", ni)
	}
	if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired || in.MetadataOptions.HttpEndpoint != ec2types.InstanceMetadataEndpointStateEnabled {
		t.Errorf("MetadataOptions = %+v, want IMDSv2 required", in.MetadataOptions)
	}
	if in.InstanceInitiatedShutdownBehavior != ec2types.ShutdownBehaviorStop {
		t.Errorf("shutdown behaviour = %q, want stop (Sysprep shuts down)", in.InstanceInitiatedShutdownBehavior)
	}
	if in.IamInstanceProfile == nil || aws.ToString(in.IamInstanceProfile.Name) != "web-role" || in.IamInstanceProfile.Arn != nil {
		t.Errorf("IamInstanceProfile = %+v", in.IamInstanceProfile)
	}
	tok := aws.ToString(in.ClientToken)
	if tok == "" || len(tok) > 64 || tok != aws.ToString(f.run[1].ClientToken) {
		t.Errorf("ClientToken %q / retry %q: want one stable token of at most 64 characters", tok, aws.ToString(f.run[1].ClientToken))
	}
	if other := clientToken("launch-builder", btExec+"-2"); other == tok {
		t.Error("two executions share a client token")
	}
	want := map[string]string{
		"Name": "amiswap-builder-web", amiswap.TagRole: amiswap.RoleBuilder, amiswap.TagGroup: "web",
		amiswap.TagExecution: btExec, amiswap.TagBackupJob: "job-1",
	}
	kinds := map[ec2types.ResourceType]bool{}
	for _, ts := range in.TagSpecifications {
		kinds[ts.ResourceType] = true
		got := tagMap(ts.Tags)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s tag %s = %q, want %q", ts.ResourceType, k, got[k], v)
			}
		}
	}
	if !kinds[ec2types.ResourceTypeInstance] || !kinds[ec2types.ResourceTypeVolume] || len(kinds) != 2 {
		t.Errorf("tagged resource types = %v, want instance and volume", kinds)
	}
}

// TestLaunchBuilderOverrides: launch-builder launches exactly the builder
// spec that Resolve settled, overrides and instance-type setting included
// (resolve's tests check that it applies them).
func TestLaunchBuilderOverrides(t *testing.T) {
	f := &fakeBuilderEC2{}
	conf := Config{BuilderSubnetID: "subnet-0aaaaaaaaaaaaaaa9", BuilderSecurityGroupIDs: []string{"sg-0aaaaaaaaaaaaaaa8", "sg-0aaaaaaaaaaaaaaa7"},
		BuilderInstanceProfile: "arn:aws:iam::123456789012:instance-profile/builder"}
	p := btPayload(btNow, func(s *State) {
		s.Target.Settings.InstanceType = "c6i.xlarge"
		s.Target.Builder.InstanceType = "c6i.xlarge"
		s.Target.Builder = builderOverrides(s.Target.Builder, conf)
	})
	if _, err := (&LaunchBuilder{EC2: f}).Launch(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	in := f.run[0]
	if in.InstanceType != "c6i.xlarge" {
		t.Errorf("InstanceType = %s, want the amiswap:builder-instance-type setting", in.InstanceType)
	}
	ni := in.NetworkInterfaces[0]
	if aws.ToString(ni.SubnetId) != conf.BuilderSubnetID || strings.Join(ni.Groups, ",") != strings.Join(conf.BuilderSecurityGroupIDs, ",") {
		t.Errorf("network = %s %v, want the configured overrides", aws.ToString(ni.SubnetId), ni.Groups)
	}
	if in.IamInstanceProfile == nil || aws.ToString(in.IamInstanceProfile.Arn) != conf.BuilderInstanceProfile || in.IamInstanceProfile.Name != nil {
		t.Errorf("IamInstanceProfile = %+v, want the ARN", in.IamInstanceProfile)
	}
}

func TestLaunchBuilderValidatesBeforeCallingAWS(t *testing.T) {
	cases := map[string]func(*Payload){
		"no target":        func(p *Payload) { p.State.Target = nil },
		"malformed AMI":    func(p *Payload) { p.State.Target.Source.ImageID = "ami-xyz" },
		"no AMI":           func(p *Payload) { p.State.Target.Source.ImageID = "" },
		"malformed subnet": func(p *Payload) { p.State.Target.Builder.SubnetID = "subnet-1" },
		"malformed group":  func(p *Payload) { p.State.Target.Builder.SecurityGroupIDs = []string{"default"} },
		"no instance type": func(p *Payload) { p.State.Target.Builder.InstanceType = "" },
		"no execution id":  func(p *Payload) { p.Context.ExecutionID = "" },
		"no entered time":  func(p *Payload) { p.Context.EnteredTime = time.Time{} },
		"profile not ARN":  func(p *Payload) { p.State.Target.Builder.InstanceProfileArn = "role/web" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := &fakeBuilderEC2{}
			p := btPayload(btNow, nil)
			edit(&p)
			_, err := (&LaunchBuilder{EC2: f}).Launch(context.Background(), p)
			wantTyped[*amiswap.InvalidInputError](t, err)
			if len(f.calls) != 0 {
				t.Errorf("called AWS: %v", f.calls)
			}
		})
	}
}

func TestLaunchBuilderClassifiesErrors(t *testing.T) {
	cases := []struct {
		code      string
		transient bool
	}{
		{"InsufficientInstanceCapacity", true},
		{"RequestLimitExceeded", true},
		{"InvalidParameterValue", false},
		{"UnauthorizedOperation", false},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			f := &fakeBuilderEC2{runFn: func(*ec2.RunInstancesInput) (*ec2.RunInstancesOutput, error) { return nil, apiErr(c.code) }}
			_, err := (&LaunchBuilder{EC2: f}).Launch(context.Background(), btPayload(btNow, nil))
			if c.code == "RequestLimitExceeded" {
				wantTyped[*amiswap.ThrottledError](t, err)
			} else if c.transient {
				wantTyped[*amiswap.TransientError](t, err)
			} else {
				wantTyped[*amiswap.AWSError](t, err)
			}
		})
	}
}

// ---- check-builder-ready ---------------------------------------------------

func btStatus(instance, system ec2types.SummaryStatus) func(*ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
	return func(*ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error) {
		return &ec2.DescribeInstanceStatusOutput{InstanceStatuses: []ec2types.InstanceStatus{{
			InstanceId:     aws.String(btInstance),
			InstanceStatus: &ec2types.InstanceStatusSummary{Status: instance},
			SystemStatus:   &ec2types.InstanceStatusSummary{Status: system},
		}}}, nil
	}
}

func btPing(ping ssmtypes.PingStatus) func(*ssm.DescribeInstanceInformationInput) (*ssm.DescribeInstanceInformationOutput, error) {
	return func(*ssm.DescribeInstanceInformationInput) (*ssm.DescribeInstanceInformationOutput, error) {
		if ping == "" {
			return &ssm.DescribeInstanceInformationOutput{}, nil
		}
		return &ssm.DescribeInstanceInformationOutput{InstanceInformationList: []ssmtypes.InstanceInformation{{InstanceId: aws.String(btInstance), PingStatus: ping}}}, nil
	}
}

func TestCheckBuilderReady(t *testing.T) {
	noJitter(t)
	notFound := func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
		return nil, apiErr("InvalidInstanceID.NotFound")
	}
	cases := []struct {
		name     string
		after    time.Duration // since the launch
		describe func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error)
		status   func(*ec2.DescribeInstanceStatusInput) (*ec2.DescribeInstanceStatusOutput, error)
		ping     ssmtypes.PingStatus
		ready    bool
		wait     int
		waiting  string
		err      string // error type name
		cause    string
	}{
		{name: "not visible yet", after: 5 * time.Second, describe: notFound, wait: 10, waiting: "instance not visible yet"},
		{name: "gone", after: 10 * time.Minute, describe: notFound, err: "BuilderFailedError", cause: "not found"},
		{name: "pending", after: time.Minute, describe: btInstanceOut("pending", ""), wait: 15, waiting: "instance pending"},
		{name: "status initializing", after: 2 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("initializing", "ok"), wait: 30, waiting: "status checks initializing (instance initializing, system ok)"},
		{name: "status impaired", after: 4 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "impaired"), err: "BuilderFailedError", cause: "impaired"},
		{name: "agent not registered", after: 4 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "ok"), wait: 20, waiting: "SSM agent not online yet"},
		{name: "agent lost", after: 4 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "ok"), ping: "ConnectionLost", wait: 20, waiting: "SSM agent not online yet (ping status ConnectionLost)"},
		{name: "ready", after: 5 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "ok"), ping: "Online", ready: true},
		{name: "ready even at the deadline", after: 31 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "ok"), ping: "Online", ready: true},
		{name: "stopped", after: 3 * time.Minute, describe: btInstanceOut("stopped", "Client.InstanceInitiatedShutdown: Instance initiated shutdown"), err: "BuilderFailedError", cause: "instance is stopped: Client.InstanceInitiatedShutdown"},
		{name: "terminated", after: 3 * time.Minute, describe: btInstanceOut("terminated", "Server.SpotInstanceTermination"), err: "BuilderFailedError", cause: "terminated"},
		{name: "shutting down", after: 3 * time.Minute, describe: btInstanceOut("shutting-down", ""), err: "BuilderFailedError", cause: "shutting-down"},
		{name: "wait clamped to the deadline", after: 30*time.Minute - 7*time.Second, describe: btInstanceOut("running", ""), status: btStatus("initializing", "initializing"), wait: 7, waiting: "status checks initializing (instance initializing, system initializing)"},
		{name: "past the deadline", after: 30 * time.Minute, describe: btInstanceOut("running", ""), status: btStatus("ok", "ok"), err: "StepTimeoutError", cause: "SSM agent not online yet"},
		{name: "throttled", after: time.Minute, describe: func(*ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
			return nil, apiErr("RequestLimitExceeded")
		}, err: "ThrottledError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &fakeBuilderEC2{describeFn: c.describe, statusFn: c.status}
			s := &fakeBuilderSSM{infoFn: btPing(c.ping)}
			res, err := (&CheckBuilderReady{EC2: e, SSM: s}).Check(context.Background(), btPayload(btNow.Add(c.after), nil))
			wantPoll(t, res, err, c.err, c.cause, c.ready, c.wait, c.waiting)
			if len(e.status) > 0 && !aws.ToBool(e.status[0].IncludeAllInstances) {
				t.Error("DescribeInstanceStatus without IncludeAllInstances")
			}
			if len(s.info) > 0 {
				f := s.info[0].Filters
				if len(f) != 1 || aws.ToString(f[0].Key) != "InstanceIds" || len(f[0].Values) != 1 || f[0].Values[0] != btInstance {
					t.Errorf("DescribeInstanceInformation filters = %+v", f)
				}
			}
		})
	}
}

func TestCheckBuilderReadyNeedsABuilder(t *testing.T) {
	p := btPayload(btNow, func(s *State) { s.Builder = nil })
	_, err := (&CheckBuilderReady{EC2: &fakeBuilderEC2{}, SSM: &fakeBuilderSSM{}}).Check(context.Background(), p)
	wantTyped[*amiswap.InvalidInputError](t, err)
	p = btPayload(btNow, func(s *State) { s.Builder.InstanceID = "i-123" })
	_, err = (&CheckBuilderReady{EC2: &fakeBuilderEC2{}, SSM: &fakeBuilderSSM{}}).Check(context.Background(), p)
	wantTyped[*amiswap.InvalidInputError](t, err)
}

// ---- stop-builder and check-builder-stopped --------------------------------

func TestStopBuilder(t *testing.T) {
	cases := []struct {
		state   ec2types.InstanceStateName
		stopErr error
		stops   bool
		already bool
		err     string
	}{
		{state: "running", stops: true},
		{state: "pending", stops: true},
		{state: "stopping", already: true},
		{state: "stopped", already: true},
		{state: "terminated", err: "BuilderFailedError"},
		{state: "running", stopErr: apiErr("IncorrectInstanceState"), stops: true, err: "TransientError"},
		{state: "running", stopErr: apiErr("UnauthorizedOperation"), stops: true, err: "AWSError"},
	}
	for _, c := range cases {
		t.Run(string(c.state)+" "+c.err, func(t *testing.T) {
			f := &fakeBuilderEC2{describeFn: btInstanceOut(c.state, ""), stopFn: func(*ec2.StopInstancesInput) (*ec2.StopInstancesOutput, error) {
				return &ec2.StopInstancesOutput{}, c.stopErr
			}}
			res, err := (&StopBuilder{EC2: f}).Stop(context.Background(), btPayload(btNow, nil))
			if got := len(f.stop) == 1; got != c.stops {
				t.Errorf("StopInstances called = %v, want %v", got, c.stops)
			}
			if c.stops && (len(f.stop[0].InstanceIds) != 1 || f.stop[0].InstanceIds[0] != btInstance) {
				t.Errorf("StopInstances ids = %v", f.stop[0].InstanceIds)
			}
			if c.err != "" {
				if amiswap.ErrorName(err) != c.err {
					t.Fatalf("error = %v, want %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.AlreadyStopped != c.already || !res.RequestedAt.Equal(btNow) {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestCheckBuilderStopped(t *testing.T) {
	noJitter(t)
	cases := []struct {
		state   ec2types.InstanceStateName
		after   time.Duration // since the stop request
		ready   bool
		wait    int
		waiting string
		err     string
	}{
		{state: "stopped", after: time.Minute, ready: true},
		{state: "stopping", after: time.Minute, wait: 15, waiting: "instance stopping"},
		{state: "running", after: 10 * time.Second, wait: 15, waiting: "instance still running, stop requested"},
		{state: "running", after: 5 * time.Minute, err: "BuilderFailedError"},
		{state: "terminated", after: time.Minute, err: "BuilderFailedError"},
		{state: "stopping", after: 20 * time.Minute, err: "StepTimeoutError"},
		{state: "stopped", after: 25 * time.Minute, ready: true},
	}
	for _, c := range cases {
		t.Run(string(c.state)+" "+c.after.String(), func(t *testing.T) {
			f := &fakeBuilderEC2{describeFn: btInstanceOut(c.state, "")}
			p := btPayload(btNow.Add(c.after), func(s *State) { s.Stop = &StopResult{RequestedAt: btNow} })
			res, err := (&CheckBuilderStopped{EC2: f}).Check(context.Background(), p)
			wantPoll(t, res, err, c.err, "", c.ready, c.wait, c.waiting)
		})
	}
}

func TestChecksRefuseAStateWithoutStartTimes(t *testing.T) {
	e, s := &fakeBuilderEC2{}, &fakeBuilderSSM{}
	checks := map[string]struct {
		edit  func(*State)
		check func(context.Context, Payload) (*PollResult, error)
	}{
		"check-builder-ready": {func(st *State) { st.Builder.LaunchedAt = time.Time{} }, (&CheckBuilderReady{EC2: e, SSM: s}).Check},
		"check-generalized": {func(st *State) { st.Generalize = &GeneralizeResult{CommandID: "cmd-1", Document: SysprepDocument} },
			(&CheckGeneralized{SSM: s, EC2: e}).Check},
		"check-builder-stopped": {func(st *State) { st.Stop = &StopResult{} }, (&CheckBuilderStopped{EC2: e}).Check},
		"check-image":           {func(st *State) { st.Image = &ImageResult{ImageID: btNewAMI} }, (&CheckImage{EC2: e}).Check},
	}
	for name, c := range checks {
		t.Run(name, func(t *testing.T) {
			_, err := c.check(context.Background(), btPayload(btNow, c.edit))
			wantTyped[*amiswap.InvalidInputError](t, err)
		})
	}
	if len(e.calls)+len(s.calls) != 0 {
		t.Errorf("called AWS: %v %v", e.calls, s.calls)
	}
}

// TestLaunchBuilderMetadataOptions: the builder launches with the spec's
// metadata options, IMDSv2 required when the spec has none.
func TestLaunchBuilderMetadataOptions(t *testing.T) {
	got := builderMetadata(&amiswap.MetadataOptions{HttpTokens: "optional", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 3, InstanceMetadataTags: "enabled"})
	if got.HttpTokens != ec2types.HttpTokensStateOptional || got.HttpEndpoint != ec2types.InstanceMetadataEndpointStateEnabled ||
		aws.ToInt32(got.HttpPutResponseHopLimit) != 3 || got.InstanceMetadataTags != ec2types.InstanceMetadataTagsStateEnabled {
		t.Errorf("from the template: %+v", got)
	}
	got = builderMetadata(nil)
	if got.HttpTokens != ec2types.HttpTokensStateRequired || got.HttpEndpoint != ec2types.InstanceMetadataEndpointStateEnabled || got.HttpPutResponseHopLimit != nil || got.InstanceMetadataTags != "" {
		t.Errorf("with none: %+v, want IMDSv2 required", got)
	}
}
