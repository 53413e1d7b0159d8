package workflow

// This file holds the verification of a golden AMI before rollout
// (launch-verifier, check-verifier-ready, verify, check-verification,
// terminate-verifier), the preparation of the builder before it is
// generalized (prepare, check-prepared), and what they share with
// generalize: sending a Command document once per execution and reading
// its outcome step by step.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Deadlines of the verification and preparation waits.
const (
	verifierReadyDeadline = 30 * time.Minute
	verifyDeadline        = 60 * time.Minute
	prepareDeadline       = 120 * time.Minute
)

// ---- sending a document once ------------------------------------------------

// purposeComment names an execution and what a command is for in its
// Comment, so that a retry finds the command it sent and the commands of
// one builder (prepare, generalize) are told apart.
func purposeComment(purpose, executionID string) string {
	c := commandComment(executionID)
	if purpose == "" {
		return c
	}
	c = "amiswap " + purpose + " " + strings.TrimPrefix(c, "amiswap ")
	if len(c) > 100 {
		cut := 100 - 17
		for cut > 0 && !utf8.RuneStart(c[cut]) {
			cut--
		}
		c = c[:cut] + "~" + shortHash(executionID)
	}
	return c
}

// sendOnce sends doc (with params) to instance id unless this execution
// already did: the command prev records, else one SSM lists for the
// instance with the same document and comment. An agent that is not
// reachable (InvalidInstanceId) is a *amiswap.TransientError; an unknown
// document or bad parameters an *amiswap.AWSError.
func sendOnce(ctx context.Context, c commandSender, p Payload, prev *GeneralizeResult, id, doc, comment string, params map[string][]string, now time.Time) (*GeneralizeResult, error) {
	g := &Generalize{SSM: c}
	st := p
	st.State.Generalize = prev
	found, err := g.sent(ctx, st, id, doc, comment)
	if err != nil || found != nil {
		return found, err
	}
	out, err := c.SendCommand(ctx, &ssm.SendCommandInput{
		InstanceIds:    []string{id},
		DocumentName:   aws.String(doc),
		Parameters:     params,
		TimeoutSeconds: aws.Int32(sendTimeoutSeconds),
		Comment:        aws.String(comment),
	})
	if err != nil {
		if apiCode(err) == "InvalidInstanceId" {
			return nil, &amiswap.TransientError{Op: "ssm:SendCommand", Err: err}
		}
		return nil, classify("ssm:SendCommand", err)
	}
	if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
		return nil, &amiswap.AWSError{Op: "ssm:SendCommand", Err: errors.New("no command id in the answer")}
	}
	return &GeneralizeResult{CommandID: aws.ToString(out.Command.CommandId), Document: doc, SentAt: now}, nil
}

// invocationLister reads a command's invocation with every step's outcome:
// unlike GetCommandInvocation it works for documents of several steps
// (GetCommandInvocation wants the step's name for those).
type invocationLister interface {
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
}

// invocation is a command's outcome on one instance.
type invocation struct {
	found  bool
	status ssmtypes.CommandInvocationStatus
	// output is the tail of the failed steps' output (every step's when
	// none failed), for an error message.
	output string
}

// readInvocation reads the invocation of command on instance id.
func readInvocation(ctx context.Context, c invocationLister, command, id string) (invocation, error) {
	out, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(command), InstanceId: aws.String(id), Details: true})
	if err != nil {
		if apiCode(err) == "InvalidCommandId" {
			return invocation{}, nil
		}
		return invocation{}, classify("ssm:ListCommandInvocations", err)
	}
	for _, inv := range out.CommandInvocations {
		if aws.ToString(inv.InstanceId) != id {
			continue
		}
		var failed, all []string
		for _, pl := range inv.CommandPlugins {
			o := strings.TrimSpace(aws.ToString(pl.Output))
			if o == "" {
				continue
			}
			line := fmt.Sprintf("[%s exit %d] %s", aws.ToString(pl.Name), pl.ResponseCode, o)
			all = append(all, line)
			if pl.Status != ssmtypes.CommandPluginStatusSuccess {
				failed = append(failed, line)
			}
		}
		if len(failed) == 0 {
			failed = all
		}
		return invocation{found: true, status: inv.Status, output: excerpt(failed...)}, nil
	}
	return invocation{}, nil
}

// ---- prepare / check-prepared -------------------------------------------------

// Prepare runs the group's prepare document on the builder.
type Prepare struct {
	SSM commandSender
}

// Send runs amiswap:prepare-document (with amiswap:prepare-parameters) on
// the builder, once per execution.
func (h *Prepare) Send(ctx context.Context, p Payload) (*GeneralizeResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	doc := t.Settings.PrepareDocument
	if doc == "" {
		return nil, &amiswap.InvalidInputError{Field: "target.settings.prepareDocument", Reason: "missing: the group sets no " + amiswap.TagPrepareDocument}
	}
	return sendOnce(ctx, h.SSM, p, p.State.Prepare, id, doc, purposeComment("prepare", p.Context.ExecutionID), t.Settings.PrepareParameters, now)
}

// CheckPrepared waits for the prepare document.
type CheckPrepared struct {
	SSM invocationLister
	EC2 instanceDescriber
}

// Check reports ready when the prepare command succeeded. While it runs
// the builder may reboot (AWS-RunPatchBaseline, or a script's exit
// 194/3010): the invocation stays InProgress and the agent goes offline
// and comes back, which is waited out. A failed command is a
// *amiswap.GeneralizeFailedError naming the document with the tail of its
// output; a builder that stops or terminates a *amiswap.BuilderFailedError;
// two hours after the command was sent, a *amiswap.StepTimeoutError.
func (h *CheckPrepared) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, now, err := needBuilderNow(p)
	if err != nil {
		return nil, err
	}
	g := p.State.Prepare
	if g == nil || g.CommandID == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.prepare", Reason: "missing: prepare has not run"}
	}
	w, err := newWait(p.Context.ExecutionID, "check-prepared", now, "state.prepare.sentAt", g.SentAt, prepareDeadline)
	if err != nil {
		return nil, err
	}
	inv, err := readInvocation(ctx, h.SSM, g.CommandID, id)
	if err != nil {
		return nil, err
	}
	if inv.status == ssmtypes.CommandInvocationStatusSuccess {
		return pollReady(), nil
	}
	in, err := describeBuilder(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	if st := instanceState(in); st != ec2types.InstanceStateNameRunning && st != ec2types.InstanceStateNamePending {
		return nil, &amiswap.BuilderFailedError{InstanceID: id, Reason: stateReason(in) + " while " + g.Document + " ran"}
	}
	if finished(inv.status) {
		return nil, &amiswap.GeneralizeFailedError{InstanceID: id, CommandID: g.CommandID, Document: g.Document, Status: string(inv.status), Output: inv.output}
	}
	if !inv.found {
		return w.again(5*time.Second, "command invocation not visible yet")
	}
	return w.again(w.towards(5*time.Minute, 30*time.Second), g.Document+" "+strings.ToLower(string(inv.status))+" on the builder")
}

// ---- launch-verifier ----------------------------------------------------------

// LaunchVerifier runs one instance from the golden AMI to verify it.
type LaunchVerifier struct {
	EC2 instanceLauncher
}

// Launch runs the verifier from the golden AMI as the group launches its
// instances (its instance type, subnet, security groups, instance profile
// and metadata options), with no key pair and no public IP, tagged
// amiswap:role=verifier with the group and the execution. The ClientToken
// makes a retry return the same instance.
func (h *LaunchVerifier) Launch(ctx context.Context, p Payload) (*BuilderResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	now, err := needNow(p)
	if err != nil {
		return nil, err
	}
	if p.Context.ExecutionID == "" {
		return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "missing"}
	}
	if p.State.Image == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.image", Reason: "missing: create-image has not run"}
	}
	image := p.State.Image.ImageID
	if err := checkID("state.image.imageId", image, imageIDRe); err != nil {
		return nil, err
	}
	spec := t.Verifier
	if spec.InstanceType == "" || !strings.Contains(spec.InstanceType, ".") {
		return nil, &amiswap.InvalidInputError{Field: "target.verifier.instanceType", Reason: fmt.Sprintf("%q is not an instance type", spec.InstanceType)}
	}
	if err := checkID("target.verifier.subnetId", spec.SubnetID, subnetIDRe); err != nil {
		return nil, err
	}
	for _, sg := range spec.SecurityGroupIDs {
		if err := checkID("target.verifier.securityGroupIds", sg, sgIDRe); err != nil {
			return nil, err
		}
	}
	tags := ec2Tags(map[string]string{
		"Name":               "amiswap-verifier-" + t.Group,
		amiswap.TagRole:      amiswap.RoleVerifier,
		amiswap.TagGroup:     t.Group,
		amiswap.TagExecution: p.Context.ExecutionID,
	})
	meta := &ec2types.InstanceMetadataOptionsRequest{
		HttpTokens:   ec2types.HttpTokensState(spec.HTTPTokens),
		HttpEndpoint: ec2types.InstanceMetadataEndpointState(spec.HTTPEndpoint),
	}
	if spec.HTTPHopLimit > 0 {
		meta.HttpPutResponseHopLimit = aws.Int32(spec.HTTPHopLimit)
	}
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(image),
		InstanceType: ec2types.InstanceType(spec.InstanceType),
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		ClientToken:  aws.String(clientToken("launch-verifier", p.Context.ExecutionID)),
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex:              aws.Int32(0),
			SubnetId:                 aws.String(spec.SubnetID),
			Groups:                   spec.SecurityGroupIDs,
			AssociatePublicIpAddress: aws.Bool(false),
			DeleteOnTermination:      aws.Bool(true),
		}},
		MetadataOptions:                   meta,
		InstanceInitiatedShutdownBehavior: ec2types.ShutdownBehaviorTerminate,
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags},
		},
	}
	if spec.HTTPTokens == "" && spec.HTTPEndpoint == "" && spec.HTTPHopLimit == 0 {
		in.MetadataOptions = nil
	}
	switch {
	case spec.InstanceProfileArn != "":
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: aws.String(spec.InstanceProfileArn)}
	case spec.InstanceProfile != "":
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Name: aws.String(spec.InstanceProfile)}
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
	return &BuilderResult{InstanceID: aws.ToString(out.Instances[0].InstanceId), LaunchedAt: now}, nil
}

// needVerifier returns the verifier's instance id, the golden AMI and the
// step's time.
func needVerifier(p Payload) (id, image string, now time.Time, err error) {
	if p.State.Verifier == nil {
		return "", "", time.Time{}, &amiswap.InvalidInputError{Field: "state.verifier", Reason: "missing: launch-verifier has not run"}
	}
	id = p.State.Verifier.InstanceID
	if err := checkID("state.verifier.instanceId", id, instanceIDRe); err != nil {
		return "", "", time.Time{}, err
	}
	if p.State.Image != nil {
		image = p.State.Image.ImageID
	}
	now, err = needNow(p)
	return id, image, now, err
}

// ---- check-verifier-ready -----------------------------------------------------

// CheckVerifierReady waits for the verifier to boot.
type CheckVerifierReady struct {
	EC2 instanceWatcher
	SSM managedNodeDescriber
}

// Check reports ready once the verifier is running, both status checks are
// ok and its SSM agent is Online: the golden AMI boots. Anything else that
// is final (the instance stopped or terminated, a status check impaired,
// the agent not online by the deadline, 30 minutes after the launch) is a
// *amiswap.VerificationFailedError naming the check.
func (h *CheckVerifierReady) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, image, now, err := needVerifier(p)
	if err != nil {
		return nil, err
	}
	w, err := newWait(p.Context.ExecutionID, "check-verifier-ready", now, "state.verifier.launchedAt", p.State.Verifier.LaunchedAt, verifierReadyDeadline)
	if err != nil {
		return nil, err
	}
	poll, check, reason, err := instanceReady(ctx, h.EC2, h.SSM, w, id)
	var timeout *amiswap.StepTimeoutError
	switch {
	case errors.As(err, &timeout):
		return nil, &amiswap.VerificationFailedError{ImageID: image, InstanceID: id, Check: check,
			Reason: fmt.Sprintf("still %s at the deadline %s", timeout.Waiting, timeout.Deadline.UTC().Format(time.RFC3339))}
	case err != nil:
		return nil, err
	case reason != "":
		return nil, &amiswap.VerificationFailedError{ImageID: image, InstanceID: id, Check: check, Reason: reason}
	}
	return poll, nil
}

// ---- verify / check-verification ------------------------------------------

// RunVerification runs the group's verify document on the verifier.
type RunVerification struct {
	SSM commandSender
}

// Send runs amiswap:verify-document (with amiswap:verify-parameters) on the
// verifier, once per execution. With no document it sends nothing (the
// boot checks were the verification) and returns an empty command id.
func (h *RunVerification) Send(ctx context.Context, p Payload) (*GeneralizeResult, error) {
	t, err := needTarget(p)
	if err != nil {
		return nil, err
	}
	id, _, now, err := needVerifier(p)
	if err != nil {
		return nil, err
	}
	doc := t.Settings.VerifyDocument
	if doc == "" {
		return &GeneralizeResult{CommandID: "", Document: "", SentAt: now}, nil
	}
	return sendOnce(ctx, h.SSM, p, p.State.Verification, id, doc, purposeComment("verify", p.Context.ExecutionID), t.Settings.VerifyParameters, now)
}

// CheckVerification waits for the verify document.
type CheckVerification struct {
	SSM invocationLister
	EC2 instanceDescriber
}

// Check reports ready when there is no verify document or it succeeded. A
// command that failed, was cancelled or timed out, a verifier that
// stopped or terminated, and no success an hour after the command was sent
// are a *amiswap.VerificationFailedError with the tail of the output.
func (h *CheckVerification) Check(ctx context.Context, p Payload) (*PollResult, error) {
	id, image, now, err := needVerifier(p)
	if err != nil {
		return nil, err
	}
	g := p.State.Verification
	if g == nil {
		return nil, &amiswap.InvalidInputError{Field: "state.verification", Reason: "missing: verify has not run"}
	}
	if g.CommandID == "" {
		return pollReady(), nil
	}
	w, err := newWait(p.Context.ExecutionID, "check-verification", now, "state.verification.sentAt", g.SentAt, verifyDeadline)
	if err != nil {
		return nil, err
	}
	inv, err := readInvocation(ctx, h.SSM, g.CommandID, id)
	if err != nil {
		return nil, err
	}
	fail := func(reason string) error {
		return &amiswap.VerificationFailedError{ImageID: image, InstanceID: id, Check: "verify document " + g.Document,
			Reason: reason, CommandID: g.CommandID, Status: string(inv.status), Output: inv.output}
	}
	switch {
	case inv.status == ssmtypes.CommandInvocationStatusSuccess:
		return pollReady(), nil
	case finished(inv.status):
		return nil, fail("the command ended " + string(inv.status))
	}
	in, err := describeBuilder(ctx, h.EC2, id)
	if err != nil {
		return nil, err
	}
	if st := instanceState(in); st != ec2types.InstanceStateNameRunning {
		return nil, fail(stateReason(in) + " while the command ran")
	}
	what := "verify document " + g.Document + " " + strings.ToLower(string(inv.status))
	if !inv.found {
		what = "command invocation not visible yet"
	}
	poll, err := w.again(w.towards(time.Minute, 15*time.Second), what)
	var timeout *amiswap.StepTimeoutError
	if errors.As(err, &timeout) {
		return nil, fail("no success by the deadline " + timeout.Deadline.UTC().Format(time.RFC3339))
	}
	return poll, err
}

// ---- terminate-verifier ---------------------------------------------------------

// instanceTerminator is what terminate-verifier calls.
type instanceTerminator interface {
	instanceDescriber
	TerminateInstances(ctx context.Context, in *ec2.TerminateInstancesInput, optFns ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error)
}

// TerminateVerifier ends the verifier once the golden AMI passed.
type TerminateVerifier struct {
	EC2 instanceTerminator
}

// VerifierResult says the verifiers were terminated.
type VerifierResult struct {
	Terminated []string `json:"terminated"`
}

// Terminate terminates the verifier the state names and any other verifier
// of this execution (a launch whose answer was lost).
func (h *TerminateVerifier) Terminate(ctx context.Context, p Payload) (*VerifierResult, error) {
	known := ""
	if v := p.State.Verifier; v != nil {
		known = v.InstanceID
	}
	ids, err := terminateTagged(ctx, h.EC2, p.Context.ExecutionID, amiswap.RoleVerifier, known)
	if err != nil {
		return nil, err
	}
	return &VerifierResult{Terminated: ids}, nil
}

// terminateTagged terminates the instances of an execution that carry
// amiswap:role=role and are not terminated yet, plus known (when not
// empty); NotFound counts as done. It returns the ids it terminated.
func terminateTagged(ctx context.Context, c instanceTerminator, exec, role, known string) ([]string, error) {
	ids := []string{}
	if known != "" {
		ids = append(ids, known)
	}
	if exec != "" {
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			tagFilter(amiswap.TagExecution, exec),
			tagFilter(amiswap.TagRole, role),
			{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
		}})
		if err != nil {
			return nil, classify("ec2:DescribeInstances", err)
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				if id := aws.ToString(in.InstanceId); id != known {
					ids = append(ids, id)
				}
			}
		}
	}
	done := []string{}
	for _, id := range ids {
		_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		switch {
		case err == nil:
			done = append(done, id)
		case apiCode(err) == "InvalidInstanceID.NotFound":
		default:
			return done, classify("ec2:TerminateInstances", err)
		}
	}
	return done, nil
}

// restoreParameter puts the hand-off parameter back as record-parameter
// recorded it before hand-off put anything (no record: nothing was put).
// Parameter Store applies an aws:ec2:image put only after validating it,
// asynchronously: while hand-off's put may still land (the parameter is
// below the put's version, within check-hand-off's deadline), putting the
// old value back now would be overwritten by it. restoreParameter then
// does nothing and says why (pending), and compensate asks to be retried.
func (h *Compensator) restoreParameter(ctx context.Context, c *compensation, p Payload) (pending string) {
	rec, put := p.State.HandOff, p.State.HandOffPut
	if h.ssm == nil || rec == nil || rec.Name == "" {
		return ""
	}
	if put != nil && !p.Context.EnteredTime.IsZero() && p.Context.EnteredTime.Before(put.PutAt.Add(handOffDeadline)) {
		out, err := h.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(rec.Name)})
		switch {
		case err != nil && apiCode(err) != "ParameterNotFound":
			c.problem("read parameter %s: %v", rec.Name, classify("ssm:GetParameter", err))
			return ""
		case err != nil || out.Parameter.Version < put.Version:
			return fmt.Sprintf("the put of %s into parameter %s (version %d) is not validated yet", rec.ImageID, rec.Name, put.Version)
		}
	}
	did, err := RestoreParameter(ctx, h.ssm, *rec)
	switch {
	case err != nil:
		c.problem("put parameter %s back: %v", rec.Name, err)
	case did != "":
		c.did("%s", did)
	}
	return ""
}
