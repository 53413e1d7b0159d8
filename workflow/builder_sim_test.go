package workflow

// Behaviour tests of the builder-side ops through real aws-sdk-go-v2
// clients against the AWS simulator on a loopback port, its clock moved by
// the waits the checks ask for.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/awssim"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// builderSim is a simulator served on 127.0.0.1 with SDK clients for it.
type builderSim struct {
	sim *awssim.Sim
	c   Clients
}

// newBuilderSim serves a simulator with an empty account.
func newBuilderSim(t *testing.T) *builderSim {
	s, c := serveSim(t, awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	return &builderSim{sim: s, c: c}
}

// target returns a target built from the simulator's default network and
// the public base image whose name starts with prefix.
func (b *builderSim) target(t *testing.T, prefix, platform string) *amiswap.Target {
	t.Helper()
	ctx := context.Background()
	imgs, err := b.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil {
		t.Fatal(err)
	}
	var base string
	for _, im := range imgs.Images {
		if strings.HasPrefix(aws.ToString(im.Name), prefix) {
			base = aws.ToString(im.ImageId)
		}
	}
	subnets, err := b.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("subnets: %v", err)
	}
	sgs, err := b.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil || len(sgs.SecurityGroups) == 0 {
		t.Fatalf("security groups: %v", err)
	}
	lt, err := b.c.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web-" + platform),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(base), InstanceType: ec2types.InstanceTypeM5Large},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := amiswap.DefaultSettings()
	s.DeleteRecoveryPoint = false
	s.Keep = 1
	return &amiswap.Target{
		Group:          "web-" + platform,
		Source:         amiswap.Source{InstanceID: "i-0fedcba9876543210", BackupJobID: "job-1", RecoveryPointArn: "arn:aws:ec2:us-east-1::image/" + base, BackupVaultName: "vault", ImageID: base, Platform: platform},
		LaunchTemplate: amiswap.LaunchTemplateRef{ID: aws.ToString(lt.LaunchTemplate.LaunchTemplateId), Version: "$Default", SourceVersion: "1", ImageID: base},
		Builder:        amiswap.BuilderSpec{InstanceType: "m5.large", SubnetID: aws.ToString(subnets.Subnets[0].SubnetId), SecurityGroupIDs: []string{aws.ToString(sgs.SecurityGroups[0].GroupId)}},
		Settings:       s,
	}
}

// pollStats is what one wait cost: checks made and virtual time spent.
type pollStats struct {
	checks  int
	elapsed time.Duration
	waiting []string
}

// poll runs check, advancing the simulator's clock by each wait asked for,
// until it reports ready.
func (b *builderSim) poll(t *testing.T, name string, payload func() Payload, check func(context.Context, Payload) (*PollResult, error)) pollStats {
	t.Helper()
	start := b.sim.Now()
	var st pollStats
	for st.checks < 300 {
		st.checks++
		res, err := check(context.Background(), payload())
		if err != nil {
			t.Fatalf("%s: check %d: %v", name, st.checks, err)
		}
		if res.Ready {
			st.elapsed = b.sim.Now().Sub(start)
			t.Logf("%s: ready after %d checks, %v of virtual time; waited for %v", name, st.checks, st.elapsed, st.waiting)
			return st
		}
		if res.WaitSeconds < 1 || res.Waiting == "" {
			t.Fatalf("%s: poll %+v", name, *res)
		}
		if len(st.waiting) == 0 || st.waiting[len(st.waiting)-1] != res.Waiting {
			st.waiting = append(st.waiting, res.Waiting)
		}
		b.sim.Advance(time.Duration(res.WaitSeconds) * time.Second)
	}
	t.Fatalf("%s: not ready after %d checks", name, st.checks)
	return st
}

func TestBuilderOpsAgainstTheSimulator(t *testing.T) {
	for _, c := range []struct{ platform, prefix, document string }{
		{"windows", "Windows_Server", SysprepDocument},
		{"linux", "al2023", ShellDocument},
	} {
		t.Run(c.platform, func(t *testing.T) {
			testBuilderLifecycle(t, c.platform, c.prefix, c.document)
		})
	}
}

func testBuilderLifecycle(t *testing.T, platform, prefix, document string) {
	b := newBuilderSim(t)
	ctx := context.Background()
	const exec = "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:sim-1"
	st := State{Target: b.target(t, prefix, platform)}
	payload := func() Payload {
		return Payload{State: st, Context: Context{ExecutionID: exec, EnteredTime: b.sim.Now()}}
	}
	topic, err := b.c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("amiswap")})
	if err != nil {
		t.Fatal(err)
	}
	conf := Config{TopicArn: aws.ToString(topic.TopicArn)}

	// Launch, and launch again as a retry would: one instance.
	launch := &LaunchBuilder{EC2: b.c.EC2}
	p := payload()
	first, err := launch.Launch(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := launch.Launch(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if again.InstanceID != first.InstanceID {
		t.Fatalf("a retried launch started a second builder: %s, %s", first.InstanceID, again.InstanceID)
	}
	st.Builder = first

	ready := b.poll(t, "builder ready", payload, (&CheckBuilderReady{EC2: b.c.EC2, SSM: b.c.SSM}).Check)
	if ready.waiting[0] != "instance not visible yet" && ready.waiting[0] != "instance pending" {
		t.Errorf("first wait was for %q", ready.waiting[0])
	}

	out, err := b.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{first.InstanceID}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	if in.MetadataOptions == nil || in.MetadataOptions.HttpTokens != ec2types.HttpTokensStateRequired {
		t.Errorf("builder metadata options = %+v, want IMDSv2 required", in.MetadataOptions)
	}
	if in.KeyName != nil || in.PublicIpAddress != nil {
		t.Errorf("builder has key %v, public IP %v", aws.ToString(in.KeyName), aws.ToString(in.PublicIpAddress))
	}
	if tags := tagMap(in.Tags); tags[amiswap.TagRole] != amiswap.RoleBuilder || tags[amiswap.TagExecution] != exec {
		t.Errorf("builder tags = %v", tags)
	}

	gen := &Generalize{SSM: b.c.SSM}
	g, err := gen.Send(ctx, payload())
	if err != nil {
		t.Fatal(err)
	}
	if g.Document != document {
		t.Errorf("document = %s, want %s", g.Document, document)
	}
	// A retry whose first answer was lost finds the command it sent.
	if g2, err := gen.Send(ctx, payload()); err != nil || g2.CommandID != g.CommandID {
		t.Fatalf("retried generalize: %+v, %v; want command %s", g2, err, g.CommandID)
	}
	st.Generalize = g
	b.poll(t, "generalized", payload, (&CheckGeneralized{SSM: b.c.SSM, EC2: b.c.EC2}).Check)

	stop, err := (&StopBuilder{EC2: b.c.EC2}).Stop(ctx, payload())
	if err != nil {
		t.Fatal(err)
	}
	// Sysprep shuts Windows down itself; the Linux script leaves it running.
	if stop.AlreadyStopped != (platform == "windows") {
		t.Errorf("AlreadyStopped = %v on %s", stop.AlreadyStopped, platform)
	}
	st.Stop = stop
	b.poll(t, "builder stopped", payload, (&CheckBuilderStopped{EC2: b.c.EC2}).Check)

	create := &CreateImage{EC2: b.c.EC2}
	p = payload()
	img, err := create.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if img2, err := create.Create(ctx, p); err != nil || img2.ImageID != img.ImageID {
		t.Fatalf("retried create-image: %+v, %v; want %s", img2, err, img.ImageID)
	}
	st.Image = img
	imageWait := b.poll(t, "image available", payload, (&CheckImage{EC2: b.c.EC2}).Check)
	if imageWait.checks > 40 {
		t.Errorf("%d checks to wait for one image: the waits do not adapt", imageWait.checks)
	}

	images, err := b.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{img.ImageID}})
	if err != nil {
		t.Fatal(err)
	}
	tags := tagMap(images.Images[0].Tags)
	if tags[amiswap.TagParentImage] != st.Target.Source.ImageID || tags[amiswap.TagGroup] != st.Target.Group || tags[amiswap.TagRole] != amiswap.RoleGolden {
		t.Errorf("image tags = %v", tags)
	}
	var snaps []string
	for _, m := range images.Images[0].BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.SnapshotId != nil {
			snaps = append(snaps, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	ss, err := b.c.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	if err != nil || len(ss.Snapshots) == 0 {
		t.Fatalf("snapshots %v: %v", snaps, err)
	}
	for _, s := range ss.Snapshots {
		if tags := tagMap(s.Tags); tags[amiswap.TagExecution] != exec || tags[amiswap.TagRecoveryPoint] != st.Target.Source.RecoveryPointArn {
			t.Errorf("snapshot %s tags = %v", aws.ToString(s.SnapshotId), tags)
		}
	}

	st.RolledOut = true
	clean, err := (&Cleanup{EC2: b.c.EC2, Backup: b.c.Backup}).Clean(ctx, payload())
	if err != nil {
		t.Fatal(err)
	}
	if !clean.BuilderTerminated || len(clean.DeregisteredImages) != 0 {
		t.Errorf("cleanup = %+v", clean)
	}
	st.Cleanup = clean
	n, err := (&Notify{SNS: b.c.SNS, TopicArn: conf.TopicArn}).Send(ctx, payload())
	if err != nil {
		t.Fatal(err)
	}
	if n.MessageID == "" || n.Subject != "amiswap: "+st.Target.Group+" swapped to "+img.ImageID {
		t.Errorf("notify = %+v", n)
	}
}

// TestRetentionAgainstTheSimulator images one stopped instance three times
// and checks that cleanup keeps the newest and the one a launch template
// version in use names, and removes the other with its snapshots.
func TestRetentionAgainstTheSimulator(t *testing.T) {
	b := newBuilderSim(t)
	ctx := context.Background()
	target := b.target(t, "al2023", "linux")
	target.Settings.Keep = 1
	ec := b.c.EC2

	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(target.Source.ImageID), InstanceType: ec2types.InstanceTypeM5Large,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(target.Builder.SubnetID)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	b.sim.Advance(2 * time.Minute)
	if _, err := ec.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	b.sim.Advance(2 * time.Minute)

	var images []string
	for i := range 3 {
		tags := imageTags(amiswap.Lineage{Group: target.Group, Execution: "run", CreatedAt: b.sim.Now()}, GoldenImageName(target.Group, b.sim.Now()))
		out, err := ec.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String(GoldenImageName(target.Group, b.sim.Now())), NoReboot: aws.Bool(true),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags}, {ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags}}})
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		images = append(images, aws.ToString(out.ImageId))
		b.sim.Advance(10 * time.Minute)
	}
	oldest, middle, newest := images[0], images[1], images[2]
	// $Default (version 2) still names the oldest; the swap's version 3, $Latest, the newest.
	lt := target.LaunchTemplate.ID
	if _, err := ec.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(lt), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(oldest)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(lt), DefaultVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(lt), SourceVersion: aws.String("2"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(newest)}}); err != nil {
		t.Fatal(err)
	}
	desc, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{middle}})
	if err != nil {
		t.Fatal(err)
	}
	var middleSnaps []string
	for _, m := range desc.Images[0].BlockDeviceMappings {
		if m.Ebs != nil {
			middleSnaps = append(middleSnaps, aws.ToString(m.Ebs.SnapshotId))
		}
	}

	st := State{Target: target, Builder: &BuilderResult{InstanceID: id}, Image: &ImageResult{ImageID: newest},
		Swap: &SwapResult{LaunchTemplateID: lt, NewVersion: "3", GroupVersion: "$Latest"}, RolledOut: true}
	res, err := (&Cleanup{EC2: ec, Backup: b.c.Backup}).Clean(ctx, Payload{State: st, Context: Context{ExecutionID: "run", EnteredTime: b.sim.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.DeregisteredImages) != 1 || res.DeregisteredImages[0] != middle {
		t.Fatalf("deregistered %v, want only %s (kept %s in use and %s newest)", res.DeregisteredImages, middle, oldest, newest)
	}
	if strings.Join(res.DeletedSnapshots, ",") != strings.Join(middleSnaps, ",") || len(middleSnaps) == 0 {
		t.Errorf("deleted snapshots %v, want %v", res.DeletedSnapshots, middleSnaps)
	}
	left, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range left.Images {
		ids = append(ids, aws.ToString(im.ImageId))
	}
	if strings.Contains(strings.Join(ids, ","), middle) || !strings.Contains(strings.Join(ids, ","), oldest) || !strings.Contains(strings.Join(ids, ","), newest) {
		t.Errorf("images left = %v", ids)
	}
	if snaps, err := ec.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: middleSnaps}); err == nil && len(snaps.Snapshots) > 0 {
		t.Errorf("snapshots of the removed image are still there: %v", snaps.Snapshots)
	}
	inst, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if s := inst.Reservations[0].Instances[0].State.Name; s != "shutting-down" && s != "terminated" {
		t.Errorf("builder is %s after cleanup", s)
	}
}

// readyBuilder launches a builder in the simulator and waits until it is
// ready for Run Command. It returns the state and a payload maker.
func (b *builderSim) readyBuilder(t *testing.T, prefix, platform string) (*State, func() Payload) {
	t.Helper()
	const exec = "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:sim-2"
	st := &State{Target: b.target(t, prefix, platform)}
	payload := func() Payload {
		return Payload{State: *st, Context: Context{ExecutionID: exec, EnteredTime: b.sim.Now()}}
	}
	res, err := (&LaunchBuilder{EC2: b.c.EC2}).Launch(context.Background(), payload())
	if err != nil {
		t.Fatal(err)
	}
	st.Builder = res
	b.poll(t, "builder ready", payload, (&CheckBuilderReady{EC2: b.c.EC2, SSM: b.c.SSM}).Check)
	return st, payload
}

// TestBuilderFailuresAgainstTheSimulator checks the typed errors of
// failures that the simulator produces on demand.
func TestBuilderFailuresAgainstTheSimulator(t *testing.T) {
	ctx := context.Background()
	t.Run("sysprep fails", func(t *testing.T) {
		b := newBuilderSim(t)
		st, payload := b.readyBuilder(t, "Windows_Server", "windows")
		b.sim.AddFault(awssim.Fault{Service: "ssm", Action: "SendCommand", Outcome: "failed"})
		g, err := (&Generalize{SSM: b.c.SSM}).Send(ctx, payload())
		if err != nil {
			t.Fatal(err)
		}
		st.Generalize = g
		check := &CheckGeneralized{SSM: b.c.SSM, EC2: b.c.EC2}
		for range 100 {
			res, err := check.Check(ctx, payload())
			if err != nil {
				gf := wantTyped[*amiswap.GeneralizeFailedError](t, err)
				if gf.Status != "Failed" || !strings.Contains(gf.Output, "Sysprep failed") {
					t.Errorf("error = %+v", gf)
				}
				return
			}
			if res.Ready {
				t.Fatal("a failed Sysprep counted as generalized")
			}
			b.sim.Advance(time.Duration(res.WaitSeconds) * time.Second)
		}
		t.Fatal("the failure never surfaced")
	})
	t.Run("agent offline", func(t *testing.T) {
		b := newBuilderSim(t)
		st, payload := b.readyBuilder(t, "al2023", "linux")
		// Stopped behind amiswap's back: the agent is no longer reachable.
		if _, err := b.c.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{st.Builder.InstanceID}}); err != nil {
			t.Fatal(err)
		}
		b.sim.Advance(time.Minute)
		_, err := (&Generalize{SSM: b.c.SSM}).Send(ctx, payload())
		wantTyped[*amiswap.TransientError](t, err)
		_, err = (&CheckBuilderReady{EC2: b.c.EC2, SSM: b.c.SSM}).Check(ctx, payload())
		if bf := wantTyped[*amiswap.BuilderFailedError](t, err); !strings.Contains(bf.Reason, "stopped") {
			t.Errorf("reason = %q", bf.Reason)
		}
	})
	t.Run("image fails", func(t *testing.T) {
		b := newBuilderSim(t)
		st, payload := b.readyBuilder(t, "al2023", "linux")
		stop, err := (&StopBuilder{EC2: b.c.EC2}).Stop(ctx, payload())
		if err != nil {
			t.Fatal(err)
		}
		st.Stop = stop
		b.poll(t, "builder stopped", payload, (&CheckBuilderStopped{EC2: b.c.EC2}).Check)
		b.sim.AddFault(awssim.Fault{Service: "ec2", Action: "CreateImage", Outcome: "failed"})
		img, err := (&CreateImage{EC2: b.c.EC2}).Create(ctx, payload())
		if err != nil {
			t.Fatal(err)
		}
		st.Image = img
		check := &CheckImage{EC2: b.c.EC2}
		for range 100 {
			res, err := check.Check(ctx, payload())
			if err != nil {
				if f := wantTyped[*amiswap.ImageFailedError](t, err); f.ImageID != img.ImageID {
					t.Errorf("error = %+v", f)
				}
				return
			}
			if res.Ready {
				t.Fatal("a failed image counted as available")
			}
			b.sim.Advance(time.Duration(res.WaitSeconds) * time.Second)
		}
		t.Fatal("the failure never surfaced")
	})
	t.Run("unknown topic", func(t *testing.T) {
		b := newBuilderSim(t)
		p := btPayload(b.sim.Now(), btSucceeded)
		_, err := (&Notify{SNS: b.c.SNS, TopicArn: "arn:aws:sns:us-east-1:123456789012:nope"}).Send(ctx, p)
		if e := wantTyped[*amiswap.AWSError](t, err); apiCode(e) != "NotFound" {
			t.Errorf("error = %v", e)
		}
	})
}
