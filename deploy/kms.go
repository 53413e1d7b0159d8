package deploy

// This file holds the KMS statements of the roles whose calls make EC2
// use the keys that encrypt a backup's EBS volumes: the Builder launches
// the builder from the recovery point (RunInstances), the Image function
// snapshots its volumes (CreateImage), Verify launches a verifier from the
// golden AMI (RunInstances), and Resolve checks beforehand that
// the keys are usable (kms:DescribeKey). They are granted on the keys of
// the KmsKeyArns parameter only, and only when it is set: with it empty
// the template has none of them (each is wrapped in Fn::If HasKmsKeys).
//
// What EBS encryption needs of the caller is the EBS user guide's
// "Requirements for Amazon EBS encryption"
// (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html):
// kms:CreateGrant (scoped with kms:GrantIsForAWSResource), kms:Decrypt,
// kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt*.
// They are scoped further with kms:ViaService = ec2.REGION.amazonaws.com:
// only EC2, on the role's behalf, may use them.
//
// The roles that update groups (UpdateAsg, Compensate) get none: Auto
// Scaling launches the group's instances as its service-linked role,
// whose access to a customer managed key comes from the key policy or a
// grant, not from the caller (Auto Scaling user guide, "Required AWS KMS
// key policy for use with encrypted volumes"), and the checks Auto Scaling
// makes of the caller on UpdateAutoScalingGroup and StartInstanceRefresh
// ("Control Amazon EC2 launch template usage in Auto Scaling groups") do
// not include KMS. A group that already runs on the key has that access.

// HasKmsKeys is the template condition under which KMSPolicies apply.
const HasKmsKeys = "HasKmsKeys"

var (
	kmsKeyArns = map[string]any{"Ref": "KmsKeyArns"}
	viaEC2     = map[string]any{"kms:ViaService": sub("ec2.${AWS::Region}.amazonaws.com")}
)

// ebsEncryption is what a role needs to have EC2 encrypt and decrypt EBS
// volumes and snapshots with the KmsKeyArns keys.
func ebsEncryption(implied string) []Statement {
	return []Statement{
		{Sid: "UseKmsKeysThroughEC2", Effect: "Allow", Resource: kmsKeyArns, Implied: implied,
			Action:    []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"},
			Condition: map[string]map[string]any{"StringEquals": viaEC2}},
		{Sid: "GrantKmsKeysToEC2", Effect: "Allow", Resource: kmsKeyArns, Implied: implied,
			Action: []string{"kms:CreateGrant"},
			Condition: map[string]map[string]any{"StringEquals": viaEC2,
				"Bool": {"kms:GrantIsForAWSResource": "true"}}},
	}
}

// KMSPolicies are each function's statements that apply only when the
// KmsKeyArns parameter is set (see the file comment).
var KMSPolicies = map[string][]Statement{
	"Resolve": {allow("CheckKmsKeys", []string{"kms:DescribeKey"}, kmsKeyArns, nil)},
	"Builder": ebsEncryption("RunInstances of a recovery point whose snapshots are encrypted with the key"),
	"Image":   ebsEncryption("CreateImage of a builder whose volumes are encrypted with the key"),
	"Verify":  ebsEncryption("RunInstances of the golden AMI, whose snapshots are encrypted with the key"),
}

// awsManagedEBSKey lets Resolve read the metadata of the AWS managed key
// when it names it by its alias, alias/aws/ebs (kms:RequestAlias), and of
// no other key. With it Resolve learns that key's ARN and can tell it,
// which needs nothing, from a customer managed key missing from
// KmsKeyArns, whose kms:DescribeKey is denied. It is the one KMS
// statement the template has when KmsKeyArns is empty.
var awsManagedEBSKey = allow("DescribeAwsManagedEbsKey", []string{"kms:DescribeKey"}, []any{arn("kms", "key/*")},
	map[string]map[string]any{"StringEquals": {"kms:RequestAlias": "alias/aws/ebs"}})
