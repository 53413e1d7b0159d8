package workflow

// Behaviour tests of the group-side ops through real aws-sdk-go-v2 clients
// against the AWS simulator's demo account (the opted-in group
// demo-windows-web on $Default of launch template demo-windows), its clock
// moved by the waits the checks ask for.

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/awssim"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const demoGroup = "demo-windows-web"

// groupSim is the demo account served on 127.0.0.1, with SDK clients.
type groupSim struct {
	sim *awssim.Sim
	c   Clients
}

// newGroupSim serves a simulator with the demo account.
func newGroupSim(t *testing.T) *groupSim {
	s, c := serveSim(t, awssim.Options{Scenario: "demo", Throttle: awssim.Throttle{Disabled: true}})
	return &groupSim{sim: s, c: c}
}

func (g *groupSim) group(t *testing.T) asgtypes.AutoScalingGroup {
	t.Helper()
	out, err := g.c.ASG.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{demoGroup}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe group: %v", err)
	}
	return out.AutoScalingGroups[0]
}

func (g *groupSim) versions(t *testing.T, lt string) []ec2types.LaunchTemplateVersion {
	t.Helper()
	out, err := g.c.EC2.DescribeLaunchTemplateVersions(context.Background(), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(lt)})
	if err != nil {
		t.Fatal(err)
	}
	return out.LaunchTemplateVersions
}

// target is what resolve would say about the demo group, and a golden AMI
// imaged from one of its instances.
func (g *groupSim) target(t *testing.T) (*amiswap.Target, string) {
	t.Helper()
	ctx := context.Background()
	grp := g.group(t)
	spec := grp.LaunchTemplate
	s := amiswap.DefaultSettings()
	s.FreezeMaxSize, s.Refresh, s.MinHealthyPercentage, s.InstanceWarmup = true, "rolling", 50, 60
	tg := &amiswap.Target{
		Group:          demoGroup,
		LaunchTemplate: amiswap.LaunchTemplateRef{ID: aws.ToString(spec.LaunchTemplateId), Name: aws.ToString(spec.LaunchTemplateName), Version: aws.ToString(spec.Version), SourceVersion: "1"},
		Source:         amiswap.Source{BackupJobID: "5A1B2C3D-0000-4000-8000-00000000ABCD", Platform: "windows"},
		Capacity:       amiswap.Capacity{Min: aws.ToInt32(grp.MinSize), Max: aws.ToInt32(grp.MaxSize), Desired: aws.ToInt32(grp.DesiredCapacity)},
		Settings:       s,
	}
	img, err := g.c.EC2.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: grp.Instances[0].InstanceId, Name: aws.String("amiswap-golden-test"), NoReboot: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(img.ImageId)
	for i := 0; ; i++ {
		out, err := g.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err == nil && len(out.Images) == 1 && out.Images[0].State == ec2types.ImageStateAvailable {
			break
		}
		if i > 60 {
			t.Fatalf("golden AMI %s not available: %v", id, err)
		}
		g.sim.Advance(time.Minute)
	}
	return tg, id
}

func TestGroupOpsAgainstTheSimulator(t *testing.T) {
	g := newGroupSim(t)
	ctx := context.Background()
	const exec = "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:sim-group-1"
	tg, golden := g.target(t)
	st := State{Target: tg}
	payload := func() Payload {
		return Payload{State: st, Context: Context{ExecutionID: exec, EnteredTime: g.sim.Now()}}
	}
	ops := &GroupOps{asg: g.c.ASG, ec2: g.c.EC2}

	// Freeze twice, as a retry would: MaxSize 4 → 2, the original kept.
	for range 2 {
		f, err := ops.Freeze(ctx, payload())
		if err != nil {
			t.Fatal(err)
		}
		if *f != (FreezeResult{Frozen: true, OriginalMaxSize: 4, FrozenMaxSize: 2}) {
			t.Fatalf("freeze %+v", *f)
		}
		st.Freeze = f
	}
	grp := g.group(t)
	if v, _ := groupTag(&grp, amiswap.TagOriginalMaxSize); aws.ToInt32(grp.MaxSize) != 2 || v != "4" {
		t.Fatalf("frozen group: max %d, tag %q", aws.ToInt32(grp.MaxSize), v)
	}

	// The new version, twice: one version, the default.
	st.Image = &ImageResult{ImageID: golden}
	for range 2 {
		sw, err := ops.UpdateLaunchTemplate(ctx, payload())
		if err != nil {
			t.Fatal(err)
		}
		// A refresh follows: the group is pinned to the version it runs, so
		// that the refresh can roll back to it.
		want := SwapResult{LaunchTemplateID: tg.LaunchTemplate.ID, NewVersion: "2", PreviousDefaultVersion: "1", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default", GroupUpdated: true}
		if *sw != want {
			t.Fatalf("swap %+v, want %+v", *sw, want)
		}
		st.Swap = sw
	}
	if v := aws.ToString(g.group(t).LaunchTemplate.Version); v != "1" {
		t.Fatalf("before the refresh the group names version %q, want 1", v)
	}
	vs := g.versions(t, tg.LaunchTemplate.ID)
	if len(vs) != 2 {
		t.Fatalf("%d versions, want 2", len(vs))
	}
	var v1, v2 ec2types.LaunchTemplateVersion
	for _, v := range vs {
		if aws.ToInt64(v.VersionNumber) == 1 {
			v1 = v
		} else {
			v2 = v
		}
	}
	if !aws.ToBool(v2.DefaultVersion) || aws.ToString(v2.LaunchTemplateData.ImageId) != golden {
		t.Errorf("version 2: default %v, image %s", aws.ToBool(v2.DefaultVersion), aws.ToString(v2.LaunchTemplateData.ImageId))
	}
	d1, d2 := *v1.LaunchTemplateData, *v2.LaunchTemplateData
	d2.ImageId = d1.ImageId
	if !reflect.DeepEqual(d1, d2) {
		t.Errorf("version 2 differs from 1 in more than the image:\n%+v\n%+v", d1, d2)
	}

	th, err := ops.Thaw(ctx, payload())
	if err != nil || *th != (ThawResult{Restored: true, MaxSize: 4}) {
		t.Fatalf("thaw %+v, %v", th, err)
	}
	st.Thaw = th
	grp = g.group(t)
	if _, tagged := groupTag(&grp, amiswap.TagOriginalMaxSize); aws.ToInt32(grp.MaxSize) != 4 || tagged {
		t.Fatalf("thawed group: max %d, tag left %v", aws.ToInt32(grp.MaxSize), tagged)
	}

	// Roll out, and follow the checks' waits until it is done.
	r, err := ops.StartRefresh(ctx, payload())
	if err != nil {
		t.Fatal(err)
	}
	st.Refresh = r
	rs, err := g.c.ASG.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(demoGroup)})
	if err != nil || len(rs.InstanceRefreshes) != 1 {
		t.Fatalf("refreshes: %v", err)
	}
	if pr := rs.InstanceRefreshes[0].Preferences; pr == nil || !aws.ToBool(pr.AutoRollback) || !aws.ToBool(pr.SkipMatching) {
		t.Errorf("refresh preferences %+v: want auto-rollback and skip-matching", pr)
	}
	again, err := ops.StartRefresh(ctx, payload())
	if err != nil || again.RefreshID != r.RefreshID {
		t.Fatalf("retried start: %+v, %v; want the same refresh %s", again, err, r.RefreshID)
	}
	start, checks := g.sim.Now(), 0
	for {
		checks++
		res, err := ops.CheckRefresh(ctx, payload())
		if err != nil {
			t.Fatalf("check %d: %v", checks, err)
		}
		if res.Ready {
			break
		}
		if checks > 200 || res.WaitSeconds < 10 || res.WaitSeconds > 120 {
			t.Fatalf("check %d: %+v", checks, *res)
		}
		g.sim.Advance(time.Duration(res.WaitSeconds) * time.Second)
	}
	t.Logf("instance refresh: ready after %d checks, %v of virtual time", checks, g.sim.Now().Sub(start))

	grp = g.group(t)
	if v := aws.ToString(grp.LaunchTemplate.Version); v != "$Default" {
		t.Errorf("after the refresh the group names version %q, want $Default again", v)
	}
	var ids []string
	for _, in := range grp.Instances {
		if in.LifecycleState == asgtypes.LifecycleStateInService {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	out, err := g.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			n++
			if aws.ToString(in.ImageId) != golden {
				t.Errorf("instance %s runs %s, want %s", aws.ToString(in.InstanceId), aws.ToString(in.ImageId), golden)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d instances in service, want 2", n)
	}
}

func TestResolveAndLockAgainstTheSimulator(t *testing.T) {
	g := newGroupSim(t)
	ctx := context.Background()
	grp := g.group(t)
	inst := aws.ToString(grp.Instances[0].InstanceId)
	arn := "arn:aws:ec2:" + g.sim.Region() + ":" + g.sim.AccountID() + ":instance/" + inst
	job, err := g.c.Backup.StartBackupJob(ctx, &backup.StartBackupJobInput{
		BackupVaultName: aws.String("Default"), ResourceArn: aws.String(arn),
		IamRoleArn: aws.String("arn:aws:iam::" + g.sim.AccountID() + ":role/backup"),
	})
	if err != nil {
		t.Fatal(err)
	}
	jobID := aws.ToString(job.BackupJobId)
	res := &Resolver{backup: g.c.Backup, ec2: g.c.EC2, asg: g.c.ASG, region: g.c.EC2.Options().Region}
	resolve := func(req amiswap.Request) *amiswap.Target {
		t.Helper()
		tg, err := res.Resolve(ctx, Payload{State: State{Request: req}, Context: Context{ExecutionID: "exec-1", EnteredTime: g.sim.Now()}})
		if err != nil {
			t.Fatalf("resolve %+v: %v", req, err)
		}
		return tg
	}

	if tg := resolve(amiswap.Request{BackupJobID: jobID}); !tg.Skip || !strings.Contains(tg.SkipReason, "not COMPLETED") {
		t.Errorf("running job: %+v", tg)
	}
	g.sim.Advance(20 * time.Minute)

	tg := resolve(amiswap.Request{BackupJobID: jobID, ResourceType: "EC2", State: "COMPLETED", ResourceArn: arn, RecoveryPointArn: aws.ToString(job.RecoveryPointArn)})
	if tg.Skip {
		t.Fatalf("skipped: %s", tg.SkipReason)
	}
	lt := grp.LaunchTemplate
	if tg.Group != demoGroup || tg.Source.InstanceID != inst || tg.Source.Platform != "windows" || tg.Source.BackupVaultName != "Default" ||
		"arn:aws:ec2:"+g.sim.Region()+"::image/"+tg.Source.ImageID != aws.ToString(job.RecoveryPointArn) {
		t.Errorf("source %+v", tg.Source)
	}
	want := amiswap.LaunchTemplateRef{ID: aws.ToString(lt.LaunchTemplateId), Name: aws.ToString(lt.LaunchTemplateName), Version: "$Default", SourceVersion: "1", ImageID: tg.LaunchTemplate.ImageID}
	if tg.LaunchTemplate != want || tg.LaunchTemplate.ImageID == "" {
		t.Errorf("launch template %+v", tg.LaunchTemplate)
	}
	if tg.Builder.InstanceType != "t3.large" || tg.Builder.SubnetID == "" || len(tg.Builder.SecurityGroupIDs) != 1 || tg.Capacity != (amiswap.Capacity{Min: 1, Max: 4, Desired: 2}) {
		t.Errorf("builder %+v, capacity %+v", tg.Builder, tg.Capacity)
	}
	if byInstance := resolve(amiswap.Request{InstanceID: inst}); byInstance.Skip || byInstance.Source.BackupJobID != jobID {
		t.Errorf("by instance: %+v", byInstance)
	}

	// Lock: taken, taken again by the same execution, refused to another.
	_, err = g.c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("amiswap-locks"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	lk := &Locker{db: g.c.DynamoDB, table: "amiswap-locks", ttl: time.Hour}
	at := func(exec string) Payload {
		return Payload{State: State{Target: tg}, Context: Context{ExecutionID: exec, EnteredTime: g.sim.Now()}}
	}
	first, err := lk.Lock(ctx, at("exec-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lk.Lock(ctx, at("exec-1")); err != nil {
		t.Errorf("retried lock: %v", err)
	}
	_, err = lk.Lock(ctx, at("exec-2"))
	held, ok := errorsAs[*amiswap.LockHeldError](err)
	if !ok || held.Owner != "exec-1" || !held.Expires.Equal(first.ExpiresAt) {
		t.Errorf("second execution: %v, want LockHeldError by exec-1 until %s", err, first.ExpiresAt)
	}
	if r, err := lk.Unlock(ctx, Payload{State: State{Lock: &LockResult{Table: "amiswap-locks", Key: first.Key, Owner: "exec-2"}}}); err != nil || r.Released {
		t.Errorf("unlock by another execution: %+v, %v", r, err)
	}
	// Expired: another execution takes it over, and the first cannot release it.
	g.sim.Advance(time.Hour + time.Minute)
	second, err := lk.Lock(ctx, at("exec-2"))
	if err != nil {
		t.Fatalf("expired lock not taken over: %v", err)
	}
	if r, err := lk.Unlock(ctx, Payload{State: State{Lock: first}}); err != nil || r.Released {
		t.Errorf("unlock of a lock taken over: %+v, %v", r, err)
	}
	if r, err := lk.Unlock(ctx, Payload{State: State{Lock: second}}); err != nil || !r.Released {
		t.Errorf("unlock: %+v, %v", r, err)
	}
	if r, err := lk.Unlock(ctx, Payload{State: State{Lock: second}}); err != nil || r.Released {
		t.Errorf("second unlock: %+v, %v", r, err)
	}
}

func TestCompensateAgainstTheSimulator(t *testing.T) {
	g := newGroupSim(t)
	ctx := context.Background()
	const exec = "arn:aws:states:us-east-1:123456789012:execution:amiswap-swap:sim-group-2"
	tg, golden := g.target(t)
	st := State{Target: tg}
	payload := func() Payload {
		return Payload{State: st, Context: Context{ExecutionID: exec, EnteredTime: g.sim.Now()}}
	}
	ops := &GroupOps{asg: g.c.ASG, ec2: g.c.EC2}
	comp := &Compensator{asg: g.c.ASG, ec2: g.c.EC2}
	snaps := func() []string {
		out, err := g.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{golden}})
		if err != nil || len(out.Images) != 1 {
			t.Fatalf("golden AMI: %v", err)
		}
		var ids []string
		for _, bd := range out.Images[0].BlockDeviceMappings {
			if bd.Ebs != nil {
				ids = append(ids, aws.ToString(bd.Ebs.SnapshotId))
			}
		}
		return ids
	}()
	if len(snaps) == 0 {
		t.Fatal("the golden AMI has no snapshots")
	}

	var err error
	if st.Freeze, err = ops.Freeze(ctx, payload()); err != nil {
		t.Fatal(err)
	}
	st.Image = &ImageResult{ImageID: golden}
	if st.Swap, err = ops.UpdateLaunchTemplate(ctx, payload()); err != nil {
		t.Fatal(err)
	}
	if st.Refresh, err = ops.StartRefresh(ctx, payload()); err != nil {
		t.Fatal(err)
	}
	g.sim.Advance(90 * time.Second) // the first instance is being replaced

	// The refresh is cancelled; while it cancels, the group waits.
	_, err = comp.Compensate(ctx, payload())
	if errType(err) != "TransientError" {
		t.Fatalf("compensate during the refresh: %v, want a TransientError", err)
	}
	for i := 0; ; i++ {
		res, err := comp.Compensate(ctx, payload())
		if err == nil {
			t.Logf("compensated after %d retries: %q", i, res.Actions)
			break
		}
		if errType(err) != "TransientError" || i > 30 {
			t.Fatalf("retry %d: %v", i, err)
		}
		g.sim.Advance(30 * time.Second)
	}

	grp := g.group(t)
	if v := aws.ToString(grp.LaunchTemplate.Version); v != "$Default" {
		t.Errorf("group names %q, want $Default again", v)
	}
	if _, tagged := groupTag(&grp, amiswap.TagOriginalMaxSize); aws.ToInt32(grp.MaxSize) != 4 || tagged {
		t.Errorf("MaxSize %d, tag left %v; want 4 and no tag", aws.ToInt32(grp.MaxSize), tagged)
	}
	lts, err := g.c.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{tg.LaunchTemplate.ID}})
	if err != nil || aws.ToInt64(lts.LaunchTemplates[0].DefaultVersionNumber) != 1 {
		t.Errorf("default version: %+v, %v; want 1", lts, err)
	}
	if vs := g.versions(t, tg.LaunchTemplate.ID); len(vs) != 1 || aws.ToInt64(vs[0].VersionNumber) != 1 {
		t.Errorf("%d versions left, want only 1", len(vs))
	}
	imgs, err := g.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("image-id"), Values: []string{golden}}}})
	if err != nil || len(imgs.Images) != 0 {
		t.Errorf("golden AMI still listed: %+v, %v", imgs, err)
	}
	left, err := g.c.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range left.Snapshots {
		for _, id := range snaps {
			if aws.ToString(s.SnapshotId) == id {
				t.Errorf("snapshot %s of the golden AMI is left", id)
			}
		}
	}

	// Compensating again changes nothing and reports no problem.
	res, err := comp.Compensate(ctx, payload())
	if err != nil || len(res.Problems) != 0 {
		t.Errorf("second compensation: %+v, %v", res, err)
	}
}
