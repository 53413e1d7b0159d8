package workflow

// This file holds the early KMS check of resolve: a backup whose volumes
// are encrypted with a customer managed key that amiswap's roles cannot
// use fails before anything changes, naming the key.
//
// The signal is kms:DescribeKey on the key. The template grants it on the
// keys of its KmsKeyArns parameter, and on the AWS managed key alias/aws/ebs
// when it is named by that alias (kms:RequestAlias), and on nothing else.
// Resolve first learns the AWS managed key's ARN that way: that key needs
// nothing more, as its key policy lets every principal of the account use
// it through EC2 (EBS user guide, "Requirements for Amazon EBS
// encryption"; Auto Scaling user guide, "Required AWS KMS key policy for
// use with encrypted volumes"). For any other key a denied DescribeKey
// means a key missing from KmsKeyArns, or one whose key policy does not
// let the account's IAM policies decide.

import (
	"context"
	"fmt"
	"sort"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// snapshotDescriber is the EC2 call the KMS check makes.
type snapshotDescriber interface {
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
}

// keyDescriber is the KMS call the KMS check makes.
type keyDescriber interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// keyChecker finds the KMS keys of an image's encrypted snapshots and
// checks that amiswap may use them.
type keyChecker struct {
	snaps snapshotDescriber
	kms   keyDescriber
}

// customerKeys returns the customer managed keys (ARNs, sorted) that
// encrypt img's snapshots, or a *amiswap.KmsKeyAccessError for the first
// key amiswap cannot use.
func (c *keyChecker) customerKeys(ctx context.Context, img *ec2types.Image) ([]string, error) {
	var ids []string
	for _, m := range img.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToBool(m.Ebs.Encrypted) && aws.ToString(m.Ebs.SnapshotId) != "" {
			ids = append(ids, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if c == nil {
		return nil, &amiswap.AWSError{Op: "kms:DescribeKey", Err: fmt.Errorf("image %s has encrypted snapshots, and resolve has no KMS client to check their keys", aws.ToString(img.ImageId))}
	}
	out, err := c.snaps.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: ids})
	if err != nil {
		return nil, classify("ec2:DescribeSnapshots", err)
	}
	keys := map[string]bool{}
	for _, sn := range out.Snapshots {
		if aws.ToBool(sn.Encrypted) && aws.ToString(sn.KmsKeyId) != "" {
			keys[aws.ToString(sn.KmsKeyId)] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	awsKey, err := c.awsManagedKey(ctx)
	if err != nil {
		return nil, err
	}
	var customer []string
	for _, key := range sorted {
		if key == awsKey {
			continue
		}
		d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
		switch code := apiCode(err); {
		case err == nil:
		case code == "AccessDeniedException":
			return nil, &amiswap.KmsKeyAccessError{KeyArn: key, Reason: fmt.Sprintf("kms:DescribeKey is denied to resolve on the key of snapshot %s of the recovery point %s", snapshotOf(out.Snapshots, key), aws.ToString(img.ImageId))}
		case code == "NotFoundException":
			return nil, &amiswap.KmsKeyAccessError{KeyArn: key, Reason: "the key does not exist in this account and region"}
		default:
			return nil, classify("kms:DescribeKey", err)
		}
		if d.KeyMetadata != nil && d.KeyMetadata.KeyManager == kmstypes.KeyManagerTypeCustomer {
			customer = append(customer, key)
		}
	}
	return customer, nil
}

// awsManagedKey returns the ARN of the region's AWS managed key for EBS,
// or "" when the caller may not read it.
func (c *keyChecker) awsManagedKey(ctx context.Context) (string, error) {
	d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(awsManagedEBSAlias)})
	switch code := apiCode(err); {
	case err == nil:
		return aws.ToString(d.KeyMetadata.Arn), nil
	case code == "AccessDeniedException", code == "NotFoundException":
		return "", nil
	default:
		return "", classify("kms:DescribeKey", err)
	}
}

// awsManagedEBSAlias is the alias of the AWS managed key for EBS.
const awsManagedEBSAlias = "alias/aws/ebs"

// snapshotOf returns the first snapshot encrypted with key.
func snapshotOf(snaps []ec2types.Snapshot, key string) string {
	for _, sn := range snaps {
		if aws.ToString(sn.KmsKeyId) == key {
			return aws.ToString(sn.SnapshotId)
		}
	}
	return ""
}
