package awssim

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestDeleteLaunchTemplateVersions(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(ts.Cfg)
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		t.Fatal(err)
	}
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("del"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: imgs.Images[0].ImageId}})
	if err != nil {
		t.Fatal(err)
	}
	id := lt.LaunchTemplate.LaunchTemplateId
	for range 2 {
		if _, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: id, SourceVersion: aws.String("1"),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Small}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"3", "1", "9"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SuccessfullyDeletedLaunchTemplateVersions) != 1 || aws.ToInt64(out.SuccessfullyDeletedLaunchTemplateVersions[0].VersionNumber) != 3 {
		t.Errorf("deleted %+v, want version 3", out.SuccessfullyDeletedLaunchTemplateVersions)
	}
	codes := map[int64]ec2types.LaunchTemplateErrorCode{}
	for _, f := range out.UnsuccessfullyDeletedLaunchTemplateVersions {
		codes[aws.ToInt64(f.VersionNumber)] = f.ResponseError.Code
	}
	if codes[1] != ec2types.LaunchTemplateErrorCodeUnexpectedError || codes[9] != ec2types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist {
		t.Errorf("unsuccessful set %+v: want the default version refused and 9 not found", codes)
	}
	d, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{aws.ToString(id)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt64(d.LaunchTemplates[0].LatestVersionNumber); got != 2 {
		t.Errorf("latest version %d after deleting 3, want 2", got)
	}
	if _, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"3"}}); err == nil {
		t.Error("deleted version 3 is still described")
	}
	// Numbers are not reused.
	v, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: id, SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeT3Large}})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt64(v.LaunchTemplateVersion.VersionNumber); n != 4 {
		t.Errorf("new version after a deletion is %d, want 4", n)
	}
}
