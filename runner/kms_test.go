package runner_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Customer-key encrypted groups under the roles of the generated template:
// a key in KmsKeyArns swaps, with the golden AMI's snapshots encrypted
// with the same key; a key missing from it fails early, naming the key,
// compensated, with nothing left behind.

// stackKeyAlias names the customer managed key every IAM sandbox has and
// lists in the stack's KmsKeyArns.
const stackKeyAlias = "alias/amiswap-stack-key"

// withStackKey creates the sandbox's stack key and returns params with
// KmsKeyArns set to it.
func withStackKey(t *testing.T, sb *sandbox.Sandbox, params map[string]string) map[string]string {
	t.Helper()
	arn, err := sb.CreateKey(context.Background(), stackKeyAlias)
	if err != nil {
		t.Fatal(err)
	}
	p := maps.Clone(params)
	p["KmsKeyArns"] = arn
	return p
}

func init() {
	iamScenarios = append(iamScenarios,
		scenario{"customer-key encrypted group, key in KmsKeyArns", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
			ctx := context.Background()
			ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "enc", Platform: "linux", Desired: 1, KmsKeyID: stackKeyAlias,
				Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
			if err != nil {
				return err
			}
			x, res, err := runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0]))
			if err != nil {
				return err
			}
			if err := expect(x, res, asl.StatusSucceeded, "Swapped"); err != nil {
				return err
			}
			return goldenEncryptedWith(sb, "enc", stackKeyARN(t, sb))
		}},
		scenario{"AWS managed key encrypted group", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
			ctx := context.Background()
			ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "awskey", Platform: "linux", Desired: 1, Encrypted: true})
			if err != nil {
				return err
			}
			x, res, err := runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0]))
			if err != nil {
				return err
			}
			return expect(x, res, asl.StatusSucceeded, "Swapped")
		}},
	)
}

func stackKeyARN(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	arn, err := keyARNOf(sb, stackKeyAlias)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

// keyARNOf is the ARN of the key an alias names.
func keyARNOf(sb *sandbox.Sandbox, alias string) (string, error) {
	return sb.KeyARN(context.Background(), alias)
}

// goldenEncryptedWith checks, through DescribeImages and
// DescribeSnapshots, that the group's launch template now names a golden
// AMI whose every snapshot is encrypted with key.
func goldenEncryptedWith(sb *sandbox.Sandbox, group, key string) error {
	ctx := context.Background()
	e := ec2.NewFromConfig(sb.AWS)
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagGroup), Values: []string{group}}, {Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
	if err != nil {
		return err
	}
	if len(imgs.Images) != 1 {
		return fmt.Errorf("%d golden AMIs of %s, want 1", len(imgs.Images), group)
	}
	var snaps []string
	for _, m := range imgs.Images[0].BlockDeviceMappings {
		if m.Ebs != nil {
			snaps = append(snaps, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	out, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	if err != nil {
		return err
	}
	if len(out.Snapshots) == 0 {
		return fmt.Errorf("the golden AMI %s has no snapshots", aws.ToString(imgs.Images[0].ImageId))
	}
	for _, sn := range out.Snapshots {
		if !aws.ToBool(sn.Encrypted) || aws.ToString(sn.KmsKeyId) != key {
			return fmt.Errorf("golden snapshot %s: encrypted %v with %q, want %s", aws.ToString(sn.SnapshotId), aws.ToBool(sn.Encrypted), aws.ToString(sn.KmsKeyId), key)
		}
	}
	return nil
}

// account is what a failed swap must leave as it found it.
type account struct {
	instances, images, snapshots []string
	versions                     int64
	maxSize                      int32
}

func snapshotOf(t *testing.T, sb *sandbox.Sandbox, group string) account {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(sb.AWS)
	var a account
	in, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in.Reservations {
		for _, i := range r.Instances {
			if i.State.Name != ec2types.InstanceStateNameTerminated && i.State.Name != ec2types.InstanceStateNameShuttingDown {
				a.instances = append(a.instances, aws.ToString(i.InstanceId))
			}
		}
	}
	im, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range im.Images {
		a.images = append(a.images, aws.ToString(i.ImageId))
	}
	sn, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sn.Snapshots {
		a.snapshots = append(a.snapshots, aws.ToString(s.SnapshotId))
	}
	lt, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{group + "-lt"}})
	if err != nil {
		t.Fatal(err)
	}
	a.versions = aws.ToInt64(lt.LaunchTemplates[0].LatestVersionNumber)
	g, err := autoscaling.NewFromConfig(sb.AWS).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		t.Fatal(err)
	}
	a.maxSize = aws.ToInt32(g.AutoScalingGroups[0].MaxSize)
	for _, l := range [][]string{a.instances, a.images, a.snapshots} {
		slices.Sort(l)
	}
	return a
}

func (a account) diff(b account) string {
	var d []string
	if !slices.Equal(a.instances, b.instances) {
		d = append(d, fmt.Sprintf("instances %v → %v", a.instances, b.instances))
	}
	if !slices.Equal(a.images, b.images) {
		d = append(d, fmt.Sprintf("images %v → %v", a.images, b.images))
	}
	if !slices.Equal(a.snapshots, b.snapshots) {
		d = append(d, fmt.Sprintf("snapshots %v → %v", a.snapshots, b.snapshots))
	}
	if a.versions != b.versions {
		d = append(d, fmt.Sprintf("launch template versions %d → %d", a.versions, b.versions))
	}
	if a.maxSize != b.maxSize {
		d = append(d, fmt.Sprintf("MaxSize %d → %d", a.maxSize, b.maxSize))
	}
	return strings.Join(d, "; ")
}

// kmsFailure runs a swap of a frozen group encrypted with key and checks
// that it failed with a KmsKeyAccessError naming key in failedState, went
// through Compensate, and left the account as it found it. It returns the
// execution.
func kmsFailure(t *testing.T, sb *sandbox.Sandbox, opts runner.Options, key, failedState string) *asl.Execution {
	t.Helper()
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "enc", Platform: "linux", Desired: 1, KmsKeyID: key,
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	req := backupRequest(t, sb, ids[0])
	before := snapshotOf(t, sb, "enc")
	x, res, err := runner.Run(ctx, opts, "", req)
	if err := compensated(x, res, err); err != nil {
		t.Fatal(err)
	}
	if !hasCatch(x, failedState, "KmsKeyAccessError") {
		t.Fatalf("%s did not fail with KmsKeyAccessError; path %v, error %s: %s", failedState, x.Path(), res.Error, res.Cause)
	}
	keyARN, err := keyARNOf(sb, key)
	if err != nil {
		t.Fatal(err)
	}
	if cause := catchCause(x, failedState); !strings.Contains(cause, keyARN) || !strings.Contains(cause, "KmsKeyArns") {
		t.Errorf("the error does not name the key %s and KmsKeyArns: %s", keyARN, cause)
	}
	sb.Sim.Advance(10 * 60e9) // the builder, if any, is gone
	if d := before.diff(snapshotOf(t, sb, "enc")); d != "" {
		t.Errorf("the failed swap left changes behind: %s", d)
	}
	return x
}

func catchCause(x *asl.Execution, state string) string {
	for _, ev := range x.History() {
		if ev.Type == asl.TaskFailed && ev.State == state {
			return ev.Cause
		}
	}
	return ""
}

// TestKmsKeyMissingFromKmsKeyArnsFailsEarly: a backup encrypted with a
// customer managed key that is not in KmsKeyArns fails in Resolve, before
// anything changes, naming the key.
func TestKmsKeyMissingFromKmsKeyArnsFailsEarly(t *testing.T) {
	sb, _ := iamSandbox(t, "empty")
	if _, err := sb.CreateKey(context.Background(), "alias/other"); err != nil {
		t.Fatal(err)
	}
	x := kmsFailure(t, sb, roleOptions(t, sb), "alias/other", "Resolve")
	if slices.Contains(x.Path(), "LaunchBuilder") || slices.Contains(x.Path(), "Freeze") {
		t.Errorf("the swap went on after Resolve: %v", x.Path())
	}
}

// TestBuilderEndedByKMSNamesTheKey: when the early check passes but EC2
// still cannot use the key for the builder's role (here: the role lacks
// kms:CreateGrant), the builder ends pending → terminated with
// Client.InternalError and check-builder-ready reports the key.
func TestBuilderEndedByKMSNamesTheKey(t *testing.T) {
	sb, m := iamSandbox(t, "empty")
	sb.Sim.SetAuthorizer(m.WithoutAction("Builder", "kms:CreateGrant"))
	x := kmsFailure(t, sb, roleOptions(t, sb), stackKeyAlias, "CheckBuilderReady")
	if !slices.Contains(x.Path(), "LaunchBuilder") {
		t.Errorf("no builder was launched: %v", x.Path())
	}
}

// TestTemplateWithoutKmsKeyArnsHasOneKMSStatement: with KmsKeyArns empty
// the roles have no KMS permission but Resolve's DescribeKey of the AWS
// managed EBS key.
func TestTemplateWithoutKmsKeyArnsHasOneKMSStatement(t *testing.T) {
	p := maps.Clone(iamParams)
	m, err := iam.FromTemplate(deploy.Template(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Functions() {
		for _, a := range m.Actions(f) {
			if strings.HasPrefix(a, "kms:") && !(f == "Resolve" && a == "kms:DescribeKey") {
				t.Errorf("%s has %s with KmsKeyArns empty", f, a)
			}
		}
	}
	p["KmsKeyArns"] = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	if m, err = iam.FromTemplate(deploy.Template(), p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Builder", "Image"} {
		got := strings.Join(m.Actions(f), " ")
		for _, a := range []string{"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"} {
			if !strings.Contains(got, a) {
				t.Errorf("%s lacks %s with KmsKeyArns set: %s", f, a, got)
			}
		}
	}
}
