package awssim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// KMS as the AWS KMS API Reference describes CreateKey, DescribeKey,
// CreateAlias, ListAliases, CreateGrant, ListGrants and RetireGrant
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_<Op>.html),
// and EBS encryption as the EBS user guide describes it
// (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html).

func kmsSandbox(t *testing.T) (*sandbox.Sandbox, *kms.Client) {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb, kms.NewFromConfig(sb.AWS)
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := apiErrorCode(err); got != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestKMSKeysAliasesAndGrants(t *testing.T) {
	ctx := context.Background()
	_, k := kmsSandbox(t)
	out, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("ebs")})
	if err != nil {
		t.Fatal(err)
	}
	md := out.KeyMetadata
	if md.KeyManager != kmstypes.KeyManagerTypeCustomer || md.KeyState != kmstypes.KeyStateEnabled || md.KeySpec != kmstypes.KeySpecSymmetricDefault ||
		!strings.HasPrefix(aws.ToString(md.Arn), "arn:aws:kms:us-east-1:123456789012:key/"+aws.ToString(md.KeyId)) {
		t.Fatalf("key metadata %+v", md)
	}
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/golden"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{aws.ToString(md.KeyId), aws.ToString(md.Arn), "alias/golden", "arn:aws:kms:us-east-1:123456789012:alias/golden"} {
		d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil || aws.ToString(d.KeyMetadata.KeyId) != aws.ToString(md.KeyId) {
			t.Errorf("DescribeKey %s: %v", ref, err)
		}
	}
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/nope")})
	wantCode(t, "DescribeKey of an unknown alias", err, "NotFoundException")
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("11111111-2222-3333-4444-555555555555")})
	wantCode(t, "DescribeKey of an unknown key", err, "NotFoundException")
	_, err = k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/golden"), TargetKeyId: md.KeyId})
	wantCode(t, "a duplicate alias", err, "AlreadyExistsException")
	_, err = k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/aws/mine"), TargetKeyId: md.KeyId})
	wantCode(t, "an alias in alias/aws/", err, "NotAuthorizedException")
	_, err = k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("golden2"), TargetKeyId: md.KeyId})
	wantCode(t, "an alias without alias/", err, "ValidationException")

	// The region's AWS managed key for EBS exists from the start.
	al, err := k.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, a := range al.Aliases {
		names[aws.ToString(a.AliasName)] = aws.ToString(a.TargetKeyId)
	}
	if names["alias/golden"] != aws.ToString(md.KeyId) || names["alias/aws/ebs"] == "" {
		t.Fatalf("aliases %v", names)
	}
	ebs, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/ebs")})
	if err != nil || ebs.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeAws {
		t.Fatalf("alias/aws/ebs: %+v %v", ebs, err)
	}
	page, err := k.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(1)})
	if err != nil || len(page.Aliases) != 1 || !page.Truncated || page.NextMarker == nil {
		t.Fatalf("first page of one: %+v %v", page, err)
	}
	next, err := k.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(1), Marker: page.NextMarker})
	if err != nil || len(next.Aliases) != 1 || aws.ToString(next.Aliases[0].AliasName) == aws.ToString(page.Aliases[0].AliasName) {
		t.Fatalf("second page: %+v %v", next, err)
	}

	slr := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
	g, err := k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: md.Arn, GranteePrincipal: aws.String(slr), Name: aws.String("asg"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationCreateGrant}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: md.Arn, GranteePrincipal: aws.String(slr), Name: aws.String("asg"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationCreateGrant, kmstypes.GrantOperationDecrypt}})
	if err != nil || aws.ToString(again.GrantId) != aws.ToString(g.GrantId) {
		t.Errorf("CreateGrant with the same name and parameters must return the same grant: %v %v", again, err)
	}
	_, err = k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: md.Arn, GranteePrincipal: aws.String(slr), Operations: []kmstypes.GrantOperation{"Fly"}})
	wantCode(t, "a grant of an unknown operation", err, "ValidationException")
	lg, err := k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String("alias/golden")})
	if err != nil || len(lg.Grants) != 1 || aws.ToString(lg.Grants[0].GranteePrincipal) != slr || len(lg.Grants[0].Operations) != 2 ||
		aws.ToString(lg.Grants[0].KeyId) != aws.ToString(md.Arn) {
		t.Fatalf("ListGrants: %+v %v", lg, err)
	}
	if _, err := k.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken}); err != nil {
		t.Fatal(err)
	}
	_, err = k.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
	wantCode(t, "retiring a retired grant", err, "InvalidGrantTokenException")
	_, err = k.RetireGrant(ctx, &kms.RetireGrantInput{KeyId: md.Arn, GrantId: g.GrantId})
	wantCode(t, "retiring a retired grant by id", err, "NotFoundException")
	if lg, _ := k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: md.KeyId}); len(lg.Grants) != 0 {
		t.Errorf("grants left after RetireGrant: %+v", lg.Grants)
	}
}
