package sandbox

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// ServiceLinkedRoleARN is Auto Scaling's service-linked role in the
// simulated account: the principal that launches groups' instances.
func (sb *Sandbox) ServiceLinkedRoleARN() string {
	return "arn:aws:iam::" + sb.Sim.AccountID() + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

// CreateKey creates a customer managed KMS key with the default key
// policy (the account's IAM policies decide) and the alias, and grants
// Auto Scaling's service-linked role what it needs to launch instances
// with volumes encrypted by it, as an account does for a group on a
// customer managed key (Auto Scaling user guide, "Required AWS KMS key
// policy for use with encrypted volumes"). It returns the key's ARN.
func (sb *Sandbox) CreateKey(ctx context.Context, alias string) (string, error) {
	k := kms.NewFromConfig(sb.AWS)
	out, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("sandbox key " + alias)})
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: out.KeyMetadata.KeyId}); err != nil {
		return "", fmt.Errorf("create alias %s: %w", alias, err)
	}
	_, err = k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: aws.String(arn), GranteePrincipal: aws.String(sb.ServiceLinkedRoleARN()),
		Name: aws.String("autoscaling"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKeyWithoutPlaintext,
			kmstypes.GrantOperationReEncryptFrom, kmstypes.GrantOperationReEncryptTo, kmstypes.GrantOperationCreateGrant, kmstypes.GrantOperationDescribeKey}})
	if err != nil {
		return "", fmt.Errorf("grant the key to Auto Scaling: %w", err)
	}
	return arn, nil
}

// KeyARN returns the ARN of the key that ref (an alias, id or ARN) names.
func (sb *Sandbox) KeyARN(ctx context.Context, ref string) (string, error) {
	out, err := kms.NewFromConfig(sb.AWS).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
	if err != nil {
		return "", fmt.Errorf("describe key %s: %w", ref, err)
	}
	return aws.ToString(out.KeyMetadata.Arn), nil
}
