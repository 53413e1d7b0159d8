package awssim

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestDescribeLaunchTemplateVersionsOfEveryTemplate: with no template named,
// $Latest and $Default describe those versions of every template in the
// account (filters apply), and numbers are refused (EC2 API Reference,
// DescribeLaunchTemplateVersions).
func TestDescribeLaunchTemplateVersionsOfEveryTemplate(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := ec2.NewFromConfig(ts.Cfg)
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(imgs.Images) < 2 {
		t.Fatalf("%v, %d images", err, len(imgs.Images))
	}
	a, b := imgs.Images[0].ImageId, imgs.Images[1].ImageId
	var ids []string
	for _, name := range []string{"one", "two"} {
		lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: a}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, aws.ToString(lt.LaunchTemplate.LaunchTemplateId))
	}
	// "two" gets a version 2 with image b; its default stays 1.
	if _, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(ids[1]), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: b}}); err != nil {
		t.Fatal(err)
	}
	describe := func(versions []string, image *string) []string {
		t.Helper()
		in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: versions}
		if image != nil {
			in.Filters = []ec2types.Filter{{Name: aws.String("image-id"), Values: []string{aws.ToString(image)}}}
		}
		out, err := c.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range out.LaunchTemplateVersions {
			got = append(got, fmt.Sprintf("%s/%d", aws.ToString(v.LaunchTemplateName), aws.ToInt64(v.VersionNumber)))
		}
		slices.Sort(got)
		return got
	}
	if got := describe([]string{"$Latest"}, nil); !slices.Equal(got, []string{"one/1", "two/2"}) {
		t.Errorf("$Latest of every template: %v", got)
	}
	if got := describe([]string{"$Latest", "$Default"}, nil); !slices.Equal(got, []string{"one/1", "two/1", "two/2"}) {
		t.Errorf("$Latest and $Default of every template: %v", got)
	}
	if got := describe([]string{"$Latest", "$Default"}, b); !slices.Equal(got, []string{"two/2"}) {
		t.Errorf("filtered by image-id: %v", got)
	}
	for _, bad := range [][]string{{"1"}, nil} {
		if _, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: bad}); err == nil {
			t.Errorf("versions %v of every template: want an error", bad)
		}
	}
}
