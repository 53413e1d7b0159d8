package workflow

// This file holds the builder instance's ops: launch-builder,
// check-builder-ready, stop-builder and check-builder-stopped, plus the
// helpers that other ops share: id checks, the state's target and builder,
// and the instance lookup.

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Deadlines of the builder-side waits, measured from the start of the step
// they wait for.
const (
	builderReadyDeadline   = 30 * time.Minute
	builderStoppedDeadline = 20 * time.Minute
)

var (
	instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	imageIDRe    = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)
	subnetIDRe   = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	sgIDRe       = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// checkID returns an *amiswap.InvalidInputError unless id matches re.
func checkID(field, id string, re *regexp.Regexp) error {
	if !re.MatchString(id) {
		return &amiswap.InvalidInputError{Field: field, Reason: fmt.Sprintf("%q is not a valid id", id)}
	}
	return nil
}

// needTarget returns the resolved target, or an *amiswap.InvalidInputError
// when the state has none (a task ran out of order).
func needTarget(p Payload) (*amiswap.Target, error) {
	t := p.State.Target
	if t == nil || t.Group == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.target", Reason: "missing: resolve has not run"}
	}
	return t, nil
}

// needBuilder returns the builder's instance id from the state, checked.
func needBuilder(p Payload) (string, error) {
	if p.State.Builder == nil {
		return "", &amiswap.InvalidInputError{Field: "state.builder", Reason: "missing: launch-builder has not run"}
	}
	id := p.State.Builder.InstanceID
	return id, checkID("state.builder.instanceId", id, instanceIDRe)
}

// needBuilderNow returns the builder's instance id and the step's time:
// what every step after launch-builder starts from.
func needBuilderNow(p Payload) (string, time.Time, error) {
	id, err := needBuilder(p)
	if err != nil {
		return "", time.Time{}, err
	}
	now, err := needNow(p)
	return id, now, err
}

// ---- launch-builder --------------------------------------------------------

// instanceLauncher is what launch-builder calls.
type instanceLauncher interface {
	RunInstances(ctx context.Context, in *ec2.RunInstancesInput, optFns ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error)
}

// LaunchBuilder runs the temporary builder instance.
type LaunchBuilder struct {
	EC2 instanceLauncher
}

// Launch runs the builder from the backup AMI with the builder spec that
// Resolve settled (the group's instance type, subnet, security groups and
// instance profile, or the overrides): one instance, no key pair, no public IP, IMDSv2 required,
// tagged as amiswap's builder of this execution. The ClientToken derived
// from the execution id makes a retry return the same instance.
func (h *LaunchBuilder) Launch(ctx context.Context, p Payload) (*BuilderResult, error) {
	in, err := h.input(p)
	if err != nil {
		return nil, err
	}
	out, err := h.EC2.RunInstances(ctx, in)
	if err != nil {
		if code := apiCode(err); code == "InsufficientInstanceCapacity" || code == "InsufficientCapacity" {
			return nil, &amiswap.TransientError{Op: "ec2:RunInstances", Err: err}
		}
		return nil, classify("ec2:RunInstances", err)
	}
	if len(out.Instances) != 1 || aws.ToString(out.Instances[0].InstanceId) == "" {
		return nil, &amiswap.AWSError{Op: "ec2:RunInstances", Err: fmt.Errorf("answered %d instances, want 1", len(out.Instances))}
	}
	return &BuilderResult{InstanceID: aws.ToString(out.Instances[0].InstanceId), LaunchedAt: p.Context.EnteredTime}, nil
}

// input validates the target and builds the RunInstances request.
func (h *LaunchBuilder) input(p Payload) (*ec2.RunInstancesInput, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	if _, err := needNow(p); err != nil {
		return nil, err
	}
	if p.Context.ExecutionID == "" {
		return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "missing"}
	}
	if err := checkID("target.source.imageId", t.Source.ImageID, imageIDRe); err != nil {
		return nil, err
	}
	// Resolve applied the amiswap:builder-instance-type setting and the
	// deployment's overrides: the target's builder spec is final.
	spec := t.Builder
	if spec.InstanceType == "" || !strings.Contains(spec.InstanceType, ".") {
		return nil, &amiswap.InvalidInputError{Field: "target.builder.instanceType", Reason: fmt.Sprintf("%q is not an instance type", spec.InstanceType)}
	}
	if err := checkID("target.builder.subnetId", spec.SubnetID, subnetIDRe); err != nil {
		return nil, err
	}
	for _, sg := range spec.SecurityGroupIDs {
		if err := checkID("target.builder.securityGroupIds", sg, sgIDRe); err != nil {
			return nil, err
		}
	}
	if spec.InstanceProfileArn != "" && !strings.HasPrefix(spec.InstanceProfileArn, "arn:") {
		return nil, &amiswap.InvalidInputError{Field: "target.builder.instanceProfileArn", Reason: fmt.Sprintf("%q is not an ARN", spec.InstanceProfileArn)}
	}

	tags := ec2Tags(map[string]string{
		"Name":               "amiswap-builder-" + t.Group,
		amiswap.TagRole:      amiswap.RoleBuilder,
		amiswap.TagGroup:     t.Group,
		amiswap.TagExecution: p.Context.ExecutionID,
		amiswap.TagBackupJob: t.Source.BackupJobID,
	})
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(t.Source.ImageID),
		InstanceType: ec2types.InstanceType(spec.InstanceType),
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		ClientToken:  aws.String(clientToken("launch-builder", p.Context.ExecutionID)),
		// The network interface form is the only one that can refuse a
		// public IP in a subnet that maps one on launch.
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex:              aws.Int32(0),
			SubnetId:                 aws.String(spec.SubnetID),
			Groups:                   spec.SecurityGroupIDs,
			AssociatePublicIpAddress: aws.Bool(false),
			DeleteOnTermination:      aws.Bool(true),
		}},
		MetadataOptions: builderMetadata(spec.MetadataOptions),
		// Sysprep shuts the instance down; it must stop, not terminate.
		InstanceInitiatedShutdownBehavior: ec2types.ShutdownBehaviorStop,
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags},
		},
	}
	switch {
	case spec.InstanceProfileArn != "":
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(spec.InstanceProfileArn)}
	case spec.InstanceProfile != "":
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Name: aws.String(spec.InstanceProfile)}
	}
	return in, nil
}

// builderMetadata is the RunInstances form of the builder's metadata
// options (see Resolve): IMDSv2 required and the endpoint enabled when the
// spec has none (a state from before the spec carried them).
func builderMetadata(m *amiswap.MetadataOptions) *ec2types.InstanceMetadataOptionsRequest {
	req := &ec2types.InstanceMetadataOptionsRequest{
		HttpTokens:   ec2types.HttpTokensStateRequired,
		HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled,
	}
	if m == nil {
		return req
	}
	if m.HttpTokens != "" {
		req.HttpTokens = ec2types.HttpTokensState(m.HttpTokens)
	}
	if m.HttpEndpoint != "" {
		req.HttpEndpoint = ec2types.InstanceMetadataEndpointState(m.HttpEndpoint)
	}
	if m.HttpPutResponseHopLimit > 0 {
		req.HttpPutResponseHopLimit = aws.Int32(m.HttpPutResponseHopLimit)
	}
	if m.InstanceMetadataTags != "" {
		req.InstanceMetadataTags = ec2types.InstanceMetadataTagsState(m.InstanceMetadataTags)
	}
	return req
}

// ---- check-builder-ready ---------------------------------------------------

// instanceDescriber is DescribeInstances, used by every op that looks at
// an instance.
type instanceDescriber interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// instanceStatusDescriber reads an instance's status checks.
type instanceStatusDescriber interface {
	DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
}

// instanceWatcher is what check-builder-ready asks EC2.
type instanceWatcher interface {
	instanceDescriber
	instanceStatusDescriber
}

// managedNodeDescriber reads the SSM agent's state on an instance.
type managedNodeDescriber interface {
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// describeInstance returns one instance and the account that owns it, or
// nil when EC2 answers InvalidInstanceID.NotFound (or an empty list): right
// after a launch, EC2 may not know the instance yet.
func describeInstance(ctx context.Context, c instanceDescriber, id string) (*ec2types.Instance, string, error) {
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if apiCode(err) == "InvalidInstanceID.NotFound" {
			return nil, "", nil
		}
		return nil, "", classify("ec2:DescribeInstances", err)
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], aws.ToString(r.OwnerId), nil
			}
		}
	}
	return nil, "", nil
}

// describeBuilder is describeInstance for a builder that must exist: one
// EC2 does not know is a *amiswap.BuilderFailedError.
func describeBuilder(ctx context.Context, c instanceDescriber, id string) (*ec2types.Instance, error) {
	in, _, err := describeInstance(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: "instance not found"}
	}
	return in, nil
}

// instanceState is the state name of in ("" when unknown).
func instanceState(in *ec2types.Instance) ec2types.InstanceStateName {
	if in == nil || in.State == nil {
		return ""
	}
	return in.State.Name
}

// stateReason says why an instance is in its state, as EC2 tells it.
func stateReason(in *ec2types.Instance) string {
	reason := "instance is " + string(instanceState(in))
	if in.StateReason != nil && aws.ToString(in.StateReason.Message) != "" {
		reason += ": " + aws.ToString(in.StateReason.Message)
	} else if aws.ToString(in.StateTransitionReason) != "" {
		reason += ": " + aws.ToString(in.StateTransitionReason)
	}
	return reason
}

// kmsLaunchFailure maps a builder that EC2 ended at launch with
// Client.InternalError (reason is its state and StateReason), when its
// image is encrypted with customer managed keys, to a
// *amiswap.KmsKeyAccessError naming them: that is how EC2 reports a
// launcher that cannot use the key of an encrypted volume (EC2 user guide,
// "Troubleshoot Amazon EC2 instance launch issues", instance terminates
// immediately). Anything else is nil.
func kmsLaunchFailure(p Payload, id, reason string) error {
	if !strings.Contains(reason, "Client.InternalError") || p.State.Target == nil || len(p.State.Target.Source.KmsKeyArns) == 0 {
		return nil
	}
	return &amiswap.KmsKeyAccessError{KeyArn: strings.Join(p.State.Target.Source.KmsKeyArns, ", "),
		Reason: fmt.Sprintf("EC2 ended the builder %s at launch (%s), which it reports when the launcher cannot use the KMS key of an encrypted volume", id, reason)}
}

// CheckBuilderReady waits for the builder to be usable by Run Command.
type CheckBuilderReady struct {
	EC2 instanceWatcher
	SSM managedNodeDescriber
}

// Check reports ready once the builder is running, both status checks are
// ok and its SSM agent is Online. A builder that stops, terminates or
// fails a status check is a *amiswap.BuilderFailedError; 30 minutes after
// the launch the wait is a *amiswap.StepTimeoutError.
func (h *CheckBuilderReady) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	w, err := newWait(p.Context.ExecutionID, "check-builder-ready", now, "state.builder.launchedAt", p.State.Builder.LaunchedAt, builderReadyDeadline)
	if err != nil {
		return nil, err
	}
	poll, _, reason, err := instanceReady(ctx, h.EC2, h.SSM, w, id)
	if err == nil && reason != "" {
		if err = kmsLaunchFailure(p, id, reason); err == nil {
			err = &amiswap.BuilderFailedError{InstanceID: id, Reason: reason}
		}
	}
	return poll, err
}

// Readiness checks of instanceReady, named in a verification failure.
const (
	checkInstanceState = "instance state"
	checkStatusChecks  = "status checks"
	checkSSMAgent      = "SSM agent online"
)

// instanceReady is one look at an instance that must become usable by Run
// Command: running, both status checks ok and its SSM agent Online. It
// returns a poll (ready, or wait), or the reason the instance will never
// be ready (stopped, terminated, gone, a status check impaired). check is
// the stage looked at; an error of the wait (its deadline) is returned
// as it is.
func instanceReady(ctx context.Context, ec2c instanceWatcher, ssmc managedNodeDescriber, w wait, id string) (poll *PollResult, check, reason string, err error) {
	check = checkInstanceState
	in, _, err := describeInstance(ctx, ec2c, id)
	if err != nil {
		return nil, check, "", err
	}
	if in == nil {
		if w.elapsed() < notFoundGrace {
			poll, err = w.again(10*time.Second, "instance not visible yet")
			return poll, check, "", err
		}
		return nil, check, "instance not found", nil
	}
	switch st := instanceState(in); st {
	case ec2types.InstanceStateNamePending:
		poll, err = w.again(15*time.Second, "instance pending")
		return poll, check, "", err
	case ec2types.InstanceStateNameRunning:
	default:
		return nil, check, stateReason(in), nil
	}

	check = checkStatusChecks
	st, err := ec2c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(true)})
	if err != nil {
		if apiCode(err) == "InvalidInstanceID.NotFound" {
			poll, err = w.again(15*time.Second, "status checks not visible yet")
			return poll, check, "", err
		}
		return nil, check, "", classify("ec2:DescribeInstanceStatus", err)
	}
	instance, system := ec2types.SummaryStatus(""), ec2types.SummaryStatus("")
	for _, s := range st.InstanceStatuses {
		if aws.ToString(s.InstanceId) != id {
			continue
		}
		if s.InstanceStatus != nil {
			instance = s.InstanceStatus.Status
		}
		if s.SystemStatus != nil {
			system = s.SystemStatus.Status
		}
	}
	if instance == ec2types.SummaryStatusImpaired || system == ec2types.SummaryStatusImpaired {
		return nil, check, fmt.Sprintf("status checks impaired (instance %s, system %s)", instance, system), nil
	}
	if instance != ec2types.SummaryStatusOk || system != ec2types.SummaryStatusOk {
		// Windows typically passes both checks 2-5 minutes after running.
		poll, err = w.again(30*time.Second,
			fmt.Sprintf("status checks initializing (instance %s, system %s)", cmp.Or(string(instance), "unknown"), cmp.Or(string(system), "unknown")))
		return poll, check, "", err
	}

	check = checkSSMAgent
	info, err := ssmc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{id}}},
	})
	if err != nil {
		return nil, check, "", classify("ssm:DescribeInstanceInformation", err)
	}
	ping := ssmtypes.PingStatus("")
	for _, n := range info.InstanceInformationList {
		if aws.ToString(n.InstanceId) == id {
			ping = n.PingStatus
		}
	}
	if ping == ssmtypes.PingStatusOnline {
		return pollReady(), check, "", nil
	}
	waiting := "SSM agent not online yet"
	if ping != "" {
		waiting += " (ping status " + string(ping) + ")"
	}
	poll, err = w.again(20*time.Second, waiting)
	return poll, check, "", err
}

// ---- stop-builder ----------------------------------------------------------

// instanceStopper is what stop-builder calls.
type instanceStopper interface {
	instanceDescriber
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
}

// StopBuilder makes sure the builder is stopped before it is imaged.
type StopBuilder struct {
	EC2 instanceStopper
}

// Stop asks EC2 to stop the builder unless it is already stopping or
// stopped (Sysprep shuts Windows down by itself). A terminated builder is
// a *amiswap.BuilderFailedError.
func (h *StopBuilder) Stop(ctx context.Context, p Payload) (*StopResult, error) {
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	in, err := describeBuilder(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	switch instanceState(in) {
	case ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameStopped:
		return &StopResult{RequestedAt: now, AlreadyStopped: true}, nil
	case ec2types.InstanceStateNameShuttingDown, ec2types.InstanceStateNameTerminated:
		return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: stateReason(in)}
	}
	if _, err := h.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		if apiCode(err) == "IncorrectInstanceState" {
			// Between states (pending, or stopping on its own): look again.
			return nil, &amiswap.TransientError{Op: "ec2:StopInstances", Err: err}
		}
		return nil, classify("ec2:StopInstances", err)
	}
	return &StopResult{RequestedAt: now, AlreadyStopped: false}, nil
}

// ---- check-builder-stopped -------------------------------------------------

// CheckBuilderStopped waits for the builder to reach stopped.
type CheckBuilderStopped struct {
	EC2 instanceDescriber
}

// Check reports ready when the builder is stopped. Stopping is waited on;
// a builder still running shortly after the stop request is too (EC2 is
// eventually consistent), later it is a *amiswap.BuilderFailedError, as is
// any other state. 20 minutes after the stop request the wait is a
// *amiswap.StepTimeoutError.
func (h *CheckBuilderStopped) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	if p.State.Stop == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.stop", Reason: "missing: stop-builder has not run"}
	}
	w, err := newWait(p.Context.ExecutionID, "check-builder-stopped", now, "state.stop.requestedAt", p.State.Stop.RequestedAt, builderStoppedDeadline)
	if err != nil {
		return nil, err
	}
	in, err := describeBuilder(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	switch instanceState(in) {
	case ec2types.InstanceStateNameStopped:
		return pollReady(), nil
	case ec2types.InstanceStateNameStopping:
		return w.again(15*time.Second, "instance stopping")
	case ec2types.InstanceStateNameRunning, ec2types.InstanceStateNamePending:
		if w.elapsed() < 2*time.Minute {
			return w.again(15*time.Second, "instance still "+string(instanceState(in))+", stop requested")
		}
	}
	return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: stateReason(in)}
}
