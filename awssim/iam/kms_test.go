package iam_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// Key policies with IAM, and EBS encryption under IAM, through the SDK:
// the KMS simulator (awssim/kms*.go) asks this engine what the account's
// IAM policies allow ("Determining access to an AWS KMS key", KMS
// developer guide; EBS user guide, "Requirements for Amazon EBS
// encryption",
// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html).

func kmsSandbox(t *testing.T) (*sandbox.Sandbox, *kms.Client) {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb, kms.NewFromConfig(sb.AWS)
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// kmsRole is a template whose one function, Test, has stmts.
func kmsRole(t *testing.T, sb *sandbox.Sandbox, stmts ...map[string]any) *kms.Client {
	t.Helper()
	if _, err := iam.Enable(sb.Sim, policyTemplate(t, stmts...), nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := sandbox.Config(context.Background(), sb.URL, sb.Sim.Region(), iam.KeyFor("Test"))
	if err != nil {
		t.Fatal(err)
	}
	return kms.NewFromConfig(cfg)
}

// TestKMSKeyPolicyDecides: the key policy comes first. The default policy
// (the account's root) lets IAM decide; a policy that names the role
// allows it whatever IAM says; one that allows neither leaves IAM
// powerless ("Determining access to an AWS KMS key", KMS developer guide).
func TestKMSKeyPolicyDecides(t *testing.T) {
	ctx := context.Background()
	sb, admin := kmsSandbox(t)
	role := "arn:aws:iam::123456789012:role/amiswap-TestRole"
	policy := func(principal string) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"kms:*","Resource":"*"}]}`, principal)
	}
	mk := func(p string) string {
		in := &kms.CreateKeyInput{}
		if p != "" {
			in.Policy, in.BypassPolicyLockoutSafetyCheck = aws.String(p), true
		}
		out, err := admin.CreateKey(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.KeyMetadata.Arn)
	}
	dflt := mk("")
	other := mk(policy("arn:aws:iam::123456789012:role/someone-else"))
	named := mk(policy(role))
	// The safety check: a policy that would lock the caller out.
	_, err := admin.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(policy("arn:aws:iam::123456789012:role/someone-else"))})
	wantCode(t, "a key policy that locks its creator out", err, "MalformedPolicyDocumentException")
	_, err = admin.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(`{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`), BypassPolicyLockoutSafetyCheck: true})
	wantCode(t, "a key policy statement without a principal", err, "MalformedPolicyDocumentException")

	// The role's IAM policy allows DescribeKey on every key.
	k := kmsRole(t, sb, stmt("Allow", "kms:DescribeKey", "*", nil))
	if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(dflt)}); err != nil {
		t.Errorf("default key policy, IAM allows: %v", err)
	}
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(other)})
	wantCode(t, "a key policy that allows neither the account nor the role", err, "AccessDeniedException")
	if err != nil && !strings.Contains(err.Error(), "no resource-based policy allows the kms:DescribeKey action") {
		t.Errorf("message %v", err)
	}
	// IAM does not allow ListGrants; the key policy naming the role does.
	if _, err := k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(named)}); err != nil {
		t.Errorf("key policy names the role: %v", err)
	}
	_, err = k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(dflt)})
	wantCode(t, "default key policy, IAM does not allow", err, "AccessDeniedException")
	_, err = k.ListAliases(ctx, &kms.ListAliasesInput{})
	wantCode(t, "ListAliases without IAM permission", err, "AccessDeniedException")
	_, err = k.CreateKey(ctx, &kms.CreateKeyInput{})
	wantCode(t, "CreateKey without IAM permission", err, "AccessDeniedException")
	// The AWS managed key's metadata: the account (IAM) decides.
	if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")}); err != nil {
		t.Errorf("DescribeKey of alias/aws/ebs with IAM allowing it: %v", err)
	}
	// IAM conditions see kms:RequestAlias and kms:ViaService.
	k = kmsRole(t, sb, stmt("Allow", "kms:DescribeKey", "*", map[string]any{"StringEquals": map[string]any{"kms:RequestAlias": "alias/aws/ebs"}}),
		stmt("Allow", "kms:ListGrants", "*", map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}))
	ebs, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")})
	if err != nil {
		t.Fatalf("DescribeKey allowed by kms:RequestAlias: %v", err)
	}
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: ebs.KeyMetadata.Arn})
	wantCode(t, "DescribeKey of the same key by its ARN (no kms:RequestAlias)", err, "AccessDeniedException")
	_, err = k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(dflt)})
	wantCode(t, "a direct call is not via EC2", err, "AccessDeniedException")
}

// ebsRole enables IAM with one function whose role may launch, image and
// describe, plus kmsStmts.
func ebsRole(t *testing.T, sb *sandbox.Sandbox, kmsStmts ...map[string]any) *ec2.Client {
	t.Helper()
	stmts := append([]map[string]any{stmt("Allow", []any{"ec2:RunInstances", "ec2:CreateImage", "ec2:CreateTags", "ec2:Describe*"}, "*", nil)}, kmsStmts...)
	if _, err := iam.Enable(sb.Sim, policyTemplate(t, stmts...), nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := sandbox.Config(context.Background(), sb.URL, sb.Sim.Region(), iam.KeyFor("Test"))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

// launchState runs one instance of image and lets it settle: its state
// and StateReason.
func launchState(t *testing.T, sb *sandbox.Sandbox, e *ec2.Client, image string, bdm ...ec2types.BlockDeviceMapping) (string, *ec2types.Instance) {
	t.Helper()
	ctx := context.Background()
	out, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(image), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: ec2types.InstanceTypeT3Medium, BlockDeviceMappings: bdm})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	if out.Instances[0].State.Name != ec2types.InstanceStateNamePending {
		t.Errorf("RunInstances answered %s, want pending", out.Instances[0].State.Name)
	}
	sb.Sim.Advance(2 * time.Minute)
	d, err := ec2.NewFromConfig(sb.AWS).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	in := d.Reservations[0].Instances[0]
	return string(in.State.Name), &in
}

func TestEBSEncryptionEndToEnd(t *testing.T) {
	ctx := context.Background()
	sb, k := kmsSandbox(t)
	e := ec2.NewFromConfig(sb.AWS)
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	// The group's instances launch as Auto Scaling's service-linked
	// role, which needs a grant (or key policy) for a customer key.
	slr := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
	asg := autoscaling.NewFromConfig(sb.AWS)
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "enc", Platform: "linux", Desired: 1, KmsKeyID: "alias/app"}); err == nil {
		t.Fatal("the group launched without a grant for its service-linked role")
	}
	g, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"enc"}})
	if err != nil || len(g.AutoScalingGroups) != 1 || len(g.AutoScalingGroups[0].Instances) != 0 {
		t.Fatalf("without a grant for its service-linked role the group must launch nothing: %+v %v", g, err)
	}
	if _, err := k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(keyARN), GranteePrincipal: aws.String(slr),
		Operations: []kmstypes.GrantOperation{"Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "CreateGrant", "DescribeKey"}}); err != nil {
		t.Fatal(err)
	}
	ids, err := sb.WaitInService(ctx, "enc", 1)
	if err != nil {
		t.Fatalf("with the grant the group launches: %v", err)
	}
	vols, err := e.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: ids}}})
	if err != nil || len(vols.Volumes) != 1 || !aws.ToBool(vols.Volumes[0].Encrypted) || aws.ToString(vols.Volumes[0].KmsKeyId) != keyARN {
		t.Fatalf("the group's volume: %+v %v", vols, err)
	}

	// A backup's AMI and a CreateImage AMI: snapshots encrypted with the
	// same key.
	bk, err := backup.NewFromConfig(sb.AWS).StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("Default"),
		ResourceArn: aws.String("arn:aws:ec2:us-east-1:123456789012:instance/" + ids[0]), IamRoleArn: aws.String("arn:aws:iam::123456789012:role/backup")})
	if err != nil {
		t.Fatal(err)
	}
	recovery := aws.ToString(bk.RecoveryPointArn)
	recoveryImage := recovery[strings.LastIndex(recovery, "/")+1:]
	img, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(ids[0]), Name: aws.String("golden"), NoReboot: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	sb.Sim.Advance(20 * time.Minute)
	for _, image := range []string{recoveryImage, aws.ToString(img.ImageId)} {
		d, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
		if err != nil || len(d.Images) != 1 || d.Images[0].State != ec2types.ImageStateAvailable {
			t.Fatalf("image %s: %+v %v", image, d, err)
		}
		bdm := d.Images[0].BlockDeviceMappings[0]
		if !aws.ToBool(bdm.Ebs.Encrypted) {
			t.Errorf("image %s: mapping not encrypted", image)
		}
		sn, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(bdm.Ebs.SnapshotId)}})
		if err != nil || !aws.ToBool(sn.Snapshots[0].Encrypted) || aws.ToString(sn.Snapshots[0].KmsKeyId) != keyARN {
			t.Errorf("image %s: snapshot %+v %v, want encrypted with %s", image, sn, err, keyARN)
		}
	}

	// Launching from the encrypted image under IAM: without the KMS
	// actions the instance goes pending → terminated with
	// Client.InternalError, and the denied KMS call is in the log.
	golden := aws.ToString(img.ImageId)
	role := ebsRole(t, sb)
	state, in := launchState(t, sb, role, golden)
	if state != "terminated" || in.StateReason == nil || aws.ToString(in.StateReason.Code) != "Client.InternalError" ||
		aws.ToString(in.StateReason.Message) != "Client.InternalError: Client error on launch" {
		t.Fatalf("launch without KMS permissions: %s %+v", state, in.StateReason)
	}
	denied := false
	for _, c := range sb.Sim.Calls() {
		denied = denied || (c.Service == "kms" && c.Action == "CreateGrant" && c.AccessKeyID == "AKIATEST" && c.ErrorCode == "AccessDeniedException")
	}
	if !denied {
		t.Error("the denied kms:CreateGrant EC2 made on the caller's behalf is not in the call log")
	}
	// The same, with the EBS actions on the key via EC2 only.
	via := map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
	ebsStmts := []map[string]any{
		stmt("Allow", []any{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"}, keyARN, via),
		stmt("Allow", "kms:CreateGrant", keyARN, map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ec2.us-east-1.amazonaws.com"}, "Bool": map[string]any{"kms:GrantIsForAWSResource": "true"}}),
	}
	role = ebsRole(t, sb, ebsStmts...)
	if state, in := launchState(t, sb, role, golden); state != "running" {
		t.Fatalf("launch with the KMS actions: %s %+v", state, in.StateReason)
	}
	// Any one missing breaks it.
	role = ebsRole(t, sb, stmt("Allow", []any{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"}, keyARN, via))
	if state, _ := launchState(t, sb, role, golden); state != "terminated" {
		t.Errorf("launch without kms:CreateGrant: %s", state)
	}
	// CreateImage of the encrypted builder by a role without the key
	// ends failed, naming the key.
	role = ebsRole(t, sb)
	im2, err := role.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(ids[0]), Name: aws.String("denied"), NoReboot: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	sb.Sim.Advance(20 * time.Minute)
	d, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(im2.ImageId)}})
	if err != nil || d.Images[0].State != ec2types.ImageStateFailed || !strings.Contains(aws.ToString(d.Images[0].StateReason.Message), keyARN) {
		t.Errorf("CreateImage without the key: %+v %v", d, err)
	}

	// The AWS managed key needs nothing: an encrypted volume from an
	// unencrypted image, no key named.
	base, err := sb.BaseImage(ctx, "linux")
	if err != nil {
		t.Fatal(err)
	}
	bi, _ := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{base}})
	root := bi.Images[0].RootDeviceName
	state, in = launchState(t, sb, role, base, ec2types.BlockDeviceMapping{DeviceName: root, Ebs: &ec2types.EbsBlockDevice{Encrypted: aws.Bool(true)}})
	if state != "running" {
		t.Fatalf("launch with the AWS managed key: %s %+v", state, in.StateReason)
	}
	ebsKey, _ := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")})
	v, err := e.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{aws.ToString(in.InstanceId)}}}})
	if err != nil || aws.ToString(v.Volumes[0].KmsKeyId) != aws.ToString(ebsKey.KeyMetadata.Arn) {
		t.Errorf("volume of the AWS managed key: %+v %v", v, err)
	}
	// A key that does not exist: accepted, then the instance terminates.
	state, in = launchState(t, sb, role, base, ec2types.BlockDeviceMapping{DeviceName: root, Ebs: &ec2types.EbsBlockDevice{Encrypted: aws.Bool(true), KmsKeyId: aws.String("alias/missing")}})
	if state != "terminated" || aws.ToString(in.StateReason.Code) != "Client.InvalidKMSKey.InvalidState" {
		t.Errorf("launch with an unknown key: %s %+v", state, in.StateReason)
	}
	// KmsKeyId without Encrypted is refused at once.
	_, err = e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(base), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: root, Ebs: &ec2types.EbsBlockDevice{KmsKeyId: aws.String(keyARN)}}}})
	wantCode(t, "KmsKeyId without Encrypted", err, "InvalidParameterDependency")
}
