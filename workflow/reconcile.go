package workflow

// This file holds what cleanup and compensate share to reconcile with AWS:
// they list what exists by its lineage tags and remove what should not be
// there, so that a crash or a retry between two calls of one removal
// (deregister an image, then delete its snapshots) leaves something the
// next attempt finds again.

import (
	"context"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// snapshotSweeper is what the golden snapshot sweep calls.
type snapshotSweeper interface {
	imageDescriber
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// goldenFilters are the filters of golden AMIs (and their snapshots, which
// CreateImage tags alike) with the given tag: amiswap:role=golden-ami and
// key=value.
func goldenFilters(key, value string) []ec2types.Filter {
	return []ec2types.Filter{tagFilter(amiswap.TagRole, amiswap.RoleGolden), tagFilter(key, value)}
}

// listGoldenImages lists the golden AMIs of this account matching filters,
// all pages, deregistered ones left out.
func listGoldenImages(ctx context.Context, c imageDescriber, filters []ec2types.Filter) ([]ec2types.Image, error) {
	var images []ec2types.Image
	in := &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: filters}
	for {
		out, err := c.DescribeImages(ctx, in)
		if err != nil {
			return nil, classify("ec2:DescribeImages", err)
		}
		for _, img := range out.Images {
			if img.State != ec2types.ImageStateDeregistered {
				images = append(images, img)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return images, nil
		}
		in.NextToken = out.NextToken
	}
}

// sweepGoldenSnapshots deletes the golden snapshots matching filters whose
// image is gone. A snapshot stays while a registered image lists it, and
// while its execution (its amiswap:execution tag) still has a golden AMI
// (one still pending may not list its snapshots yet): images are the golden
// AMIs that exist, listed with the same filters. EC2's own refusal
// (InvalidSnapshot.InUse: an image still uses it) is respected, not an
// error. It returns the snapshots deleted, and the first error; it goes on
// past a failed deletion so that one stuck snapshot does not keep the others.
func sweepGoldenSnapshots(ctx context.Context, c snapshotSweeper, filters []ec2types.Filter, images []ec2types.Image) ([]string, error) {
	used := map[string]bool{}
	liveExec := map[string]bool{}
	for _, img := range images {
		for _, s := range imageSnapshots(img) {
			used[s] = true
		}
		if e := tagValue(img.Tags, amiswap.TagExecution); e != "" {
			liveExec[e] = true
		}
	}
	var snaps []ec2types.Snapshot
	in := &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: filters}
	for {
		out, err := c.DescribeSnapshots(ctx, in)
		if err != nil {
			return nil, classify("ec2:DescribeSnapshots", err)
		}
		snaps = append(snaps, out.Snapshots...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	deleted := []string{}
	var first error
	for _, sn := range snaps {
		id := aws.ToString(sn.SnapshotId)
		if used[id] || liveExec[tagValue(sn.Tags, amiswap.TagExecution)] {
			continue
		}
		_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
		switch code := apiCode(err); {
		case err == nil:
			deleted = append(deleted, id)
		case code == "InvalidSnapshot.NotFound", code == "InvalidSnapshot.InUse":
			// Gone already, or another registered image shares it.
		default:
			if first == nil {
				first = classify("ec2:DeleteSnapshot", err)
			}
		}
	}
	return deleted, first
}

// goldenRemover is what removing a golden AMI calls.
type goldenRemover interface {
	DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, optFns ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// removeGolden deregisters a golden AMI (one already gone is fine), then
// deletes the snapshots it lists: a snapshot gone already or shared with
// another registered image (InvalidSnapshot.InUse) is left alone; one
// gone already counts as deleted. gone
// reports whether the image is deregistered; err is the first failure.
// Snapshots left by a crash between the two calls are found again by
// sweepGoldenSnapshots.
func removeGolden(ctx context.Context, c goldenRemover, img ec2types.Image) (gone bool, deleted []string, err error) {
	id := aws.ToString(img.ImageId)
	if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
		if code := apiCode(err); code != "InvalidAMIID.NotFound" && code != "InvalidAMIID.Unavailable" {
			return false, nil, classify("ec2:DeregisterImage", err)
		}
	}
	for _, s := range imageSnapshots(img) {
		_, derr := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(s)})
		switch code := apiCode(derr); {
		case derr == nil, code == "InvalidSnapshot.NotFound":
			deleted = append(deleted, s) // NotFound: deleted by an earlier attempt
		case code == "InvalidSnapshot.InUse":
		default:
			if err == nil {
				err = classify("ec2:DeleteSnapshot", derr)
			}
		}
	}
	return true, deleted, err
}

// tagValue is the value of an EC2 tag, or "".
func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
