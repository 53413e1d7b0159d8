package workflow

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	rsInstance = "i-0123456789abcdef0"
	rsAMI      = "ami-0aaaaaaaaaaaaaaaa" // the recovery point
	rsCurrent  = "ami-0ccccccccccccccc0" // the launch template's image
	rsAccount  = "123456789012"
)

var rsJobCreated = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// resolveWorld is a consistent account: backup job grpJob of instance
// rsInstance in group "web" (opted in), launch template version 4 with
// image rsCurrent, recovery point AMI rsAMI. Tests change one thing.
type resolveWorld struct {
	t       *testing.T
	calls   []string
	job     *backup.DescribeBackupJobOutput
	jobErr  error
	jobs    [][]backuptypes.BackupJob // pages of ListBackupJobs
	inst    *ec2types.Instance
	instErr error
	groups  []asgtypes.AutoScalingGroup
	ltv     *ec2types.LaunchTemplateVersion
	images  map[string]ec2types.Image
	imgErr  error

	listIn []*backup.ListBackupJobsInput
	ltvIn  *ec2.DescribeLaunchTemplateVersionsInput
}

func newResolveWorld(t *testing.T) *resolveWorld {
	g := withTag(grpGroup("$Default", false), amiswap.TagEnabled, "true")
	return &resolveWorld{
		t: t,
		job: &backup.DescribeBackupJobOutput{
			BackupJobId: aws.String(grpJob), State: backuptypes.BackupJobStateCompleted, ResourceType: aws.String("EC2"),
			ResourceArn:      aws.String("arn:aws:ec2:eu-west-1:" + rsAccount + ":instance/" + rsInstance),
			RecoveryPointArn: aws.String("arn:aws:ec2:eu-west-1::image/" + rsAMI),
			BackupVaultName:  aws.String("Default"), CreationDate: aws.Time(rsJobCreated),
		},
		inst: &ec2types.Instance{
			InstanceId: aws.String(rsInstance), State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
			Tags: []ec2types.Tag{{Key: aws.String("aws:autoscaling:groupName"), Value: aws.String(grpName)}},
		},
		groups: []asgtypes.AutoScalingGroup{g},
		ltv: &ec2types.LaunchTemplateVersion{
			LaunchTemplateId: aws.String(grpLT), LaunchTemplateName: aws.String("web-lt"), VersionNumber: aws.Int64(4), DefaultVersion: aws.Bool(true),
			LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{
				ImageId: aws.String(rsCurrent), InstanceType: ec2types.InstanceTypeT3Medium,
				SecurityGroupIds:   []string{"sg-0aaaaaaaaaaaaaaaa"},
				IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::123456789012:instance-profile/web")},
			},
		},
		images: map[string]ec2types.Image{
			rsAMI:     {ImageId: aws.String(rsAMI), State: ec2types.ImageStateAvailable},
			rsCurrent: {ImageId: aws.String(rsCurrent), State: ec2types.ImageStateAvailable},
		},
	}
}

func (w *resolveWorld) DescribeBackupJob(_ context.Context, in *backup.DescribeBackupJobInput, _ ...func(*backup.Options)) (*backup.DescribeBackupJobOutput, error) {
	w.calls = append(w.calls, "DescribeBackupJob")
	if aws.ToString(in.BackupJobId) != grpJob {
		w.t.Errorf("DescribeBackupJob of %q", aws.ToString(in.BackupJobId))
	}
	return w.job, w.jobErr
}

func (w *resolveWorld) ListBackupJobs(_ context.Context, in *backup.ListBackupJobsInput, _ ...func(*backup.Options)) (*backup.ListBackupJobsOutput, error) {
	w.calls = append(w.calls, "ListBackupJobs")
	cp := *in
	w.listIn = append(w.listIn, &cp)
	page := 0
	if in.NextToken != nil {
		page = int(aws.ToString(in.NextToken)[0] - '0')
	}
	out := &backup.ListBackupJobsOutput{}
	if page < len(w.jobs) {
		out.BackupJobs = w.jobs[page]
	}
	if page+1 < len(w.jobs) {
		out.NextToken = aws.String(string(rune('0' + page + 1)))
	}
	return out, nil
}

func (w *resolveWorld) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	w.calls = append(w.calls, "DescribeInstances")
	if !reflect.DeepEqual(in.InstanceIds, []string{rsInstance}) {
		w.t.Errorf("DescribeInstances of %v", in.InstanceIds)
	}
	if w.instErr != nil {
		return nil, w.instErr
	}
	out := &ec2.DescribeInstancesOutput{}
	if w.inst != nil {
		out.Reservations = []ec2types.Reservation{{OwnerId: aws.String(rsAccount), Instances: []ec2types.Instance{*w.inst}}}
	}
	return out, nil
}

func (w *resolveWorld) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	w.calls = append(w.calls, "DescribeAutoScalingGroups")
	if !reflect.DeepEqual(in.AutoScalingGroupNames, []string{grpName}) {
		w.t.Errorf("DescribeAutoScalingGroups of %v", in.AutoScalingGroupNames)
	}
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: w.groups}, nil
}

func (w *resolveWorld) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	w.calls = append(w.calls, "DescribeLaunchTemplateVersions")
	w.ltvIn = in
	return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []ec2types.LaunchTemplateVersion{*w.ltv}}, nil
}

func (w *resolveWorld) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	w.calls = append(w.calls, "DescribeImages "+strings.Join(in.ImageIds, ","))
	if w.imgErr != nil {
		return nil, w.imgErr
	}
	img, ok := w.images[in.ImageIds[0]]
	if !ok {
		return nil, apiErr("InvalidAMIID.NotFound")
	}
	return &ec2.DescribeImagesOutput{Images: []ec2types.Image{img}}, nil
}

func (w *resolveWorld) resolver(conf Config) *Resolver {
	return &Resolver{backup: w, ec2: w, asg: w, conf: conf, region: "eu-west-1"}
}

func (w *resolveWorld) resolve(req amiswap.Request, conf Config) (*amiswap.Target, error) {
	return w.resolver(conf).Resolve(w.t.Context(), grpPayload(State{Request: req}))
}

// group edits the world's only group.
func (w *resolveWorld) group(f func(g *asgtypes.AutoScalingGroup)) { f(&w.groups[0]) }

func golden(id, job string, created time.Time) ec2types.Image {
	return ec2types.Image{ImageId: aws.String(id), State: ec2types.ImageStateAvailable, Tags: []ec2types.Tag{
		{Key: aws.String(amiswap.TagRole), Value: aws.String(amiswap.RoleGolden)},
		{Key: aws.String(amiswap.TagBackupJob), Value: aws.String(job)},
		{Key: aws.String(amiswap.TagCreatedAt), Value: aws.String(created.Format(time.RFC3339))},
	}}
}

func TestResolveEvent(t *testing.T) {
	w := newResolveWorld(t)
	req := amiswap.Request{
		BackupJobID: grpJob, ResourceType: "EC2", State: "COMPLETED", BackupVaultName: "Default",
		ResourceArn:      "arn:aws:ec2:eu-west-1:" + rsAccount + ":instance/" + rsInstance,
		RecoveryPointArn: "arn:aws:ec2:eu-west-1::image/" + rsAMI,
	}
	got, err := w.resolve(req, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := &amiswap.Target{
		Group: grpName,
		Source: amiswap.Source{InstanceID: rsInstance, BackupJobID: grpJob, RecoveryPointArn: "arn:aws:ec2:eu-west-1::image/" + rsAMI,
			BackupVaultName: "Default", ImageID: rsAMI, Platform: "linux"},
		LaunchTemplate: amiswap.LaunchTemplateRef{ID: grpLT, Name: "web-lt", Version: "$Default", SourceVersion: "4", ImageID: rsCurrent},
		Capacity:       amiswap.Capacity{Min: 1, Max: 10, Desired: 3},
		Builder: amiswap.BuilderSpec{InstanceType: "t3.medium", SubnetID: "subnet-0aaaaaaaaaaaaaaaa",
			SecurityGroupIDs: []string{"sg-0aaaaaaaaaaaaaaaa"}, InstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/web",
			MetadataOptions: imdsv2},
		// The verifier launches as the group does; this template has no
		// metadata options.
		Verifier: amiswap.BuilderSpec{InstanceType: "t3.medium", SubnetID: "subnet-0aaaaaaaaaaaaaaaa",
			SecurityGroupIDs: []string{"sg-0aaaaaaaaaaaaaaaa"}, InstanceProfileArn: "arn:aws:iam::123456789012:instance-profile/web",
			MetadataOptions: imdsv2},
		Settings: amiswap.DefaultSettings(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("target\n%+v\nwant\n%+v", *got, *want)
	}
	wantCalls := []string{"DescribeBackupJob", "DescribeInstances", "DescribeAutoScalingGroups", "DescribeLaunchTemplateVersions",
		"DescribeImages " + rsAMI, "DescribeImages " + rsCurrent}
	if !reflect.DeepEqual(w.calls, wantCalls) {
		t.Errorf("calls %v\nwant %v", w.calls, wantCalls)
	}
	if aws.ToString(w.ltvIn.LaunchTemplateId) != grpLT || !reflect.DeepEqual(w.ltvIn.Versions, []string{"$Default"}) {
		t.Errorf("launch template versions asked: %+v", w.ltvIn)
	}
}

func TestResolveByInstance(t *testing.T) {
	w := newResolveWorld(t)
	w.jobs = [][]backuptypes.BackupJob{
		{{BackupJobId: aws.String("11111111-0000-4000-8000-000000000000"), State: backuptypes.BackupJobStateCompleted, CreationDate: aws.Time(rsJobCreated.Add(-48 * time.Hour)),
			ResourceArn: w.job.ResourceArn, ResourceType: aws.String("EC2"), RecoveryPointArn: aws.String("arn:aws:ec2:eu-west-1::image/ami-0ddddddddddddddd0")}},
		{{BackupJobId: aws.String(grpJob), State: backuptypes.BackupJobStateCompleted, CreationDate: aws.Time(rsJobCreated),
			ResourceArn: w.job.ResourceArn, ResourceType: aws.String("EC2"), RecoveryPointArn: w.job.RecoveryPointArn, BackupVaultName: aws.String("Vault2")}},
	}
	got, err := w.resolve(amiswap.Request{InstanceID: rsInstance}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Skip || got.Source.BackupJobID != grpJob || got.Source.ImageID != rsAMI || got.Source.BackupVaultName != "Vault2" {
		t.Errorf("target %+v: want the newest job %s", *got, grpJob)
	}
	if len(w.listIn) != 2 {
		t.Fatalf("ListBackupJobs called %d times, want 2 pages", len(w.listIn))
	}
	wantArn := "arn:aws:ec2:eu-west-1:" + rsAccount + ":instance/" + rsInstance
	if aws.ToString(w.listIn[0].ByResourceArn) != wantArn || w.listIn[0].ByState != backuptypes.BackupJobStateCompleted {
		t.Errorf("ListBackupJobs by %q / %q, want %q / COMPLETED", aws.ToString(w.listIn[0].ByResourceArn), w.listIn[0].ByState, wantArn)
	}
	if w.calls[0] != "DescribeInstances" || strings.Count(strings.Join(w.calls, " "), "DescribeInstances") != 1 {
		t.Errorf("calls %v: want the instance described once, first", w.calls)
	}

	w = newResolveWorld(t)
	got, err = w.resolve(amiswap.Request{InstanceID: rsInstance}, Config{})
	if err != nil || !got.Skip || !strings.Contains(got.SkipReason, "has no COMPLETED backup job") {
		t.Errorf("no jobs: %+v, %v", got, err)
	}
}

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{"eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-east-1": "aws"} {
		if got := arnPartition(region); got != want {
			t.Errorf("arnPartition(%s) = %s, want %s", region, got, want)
		}
	}
}

func TestResolveInvalid(t *testing.T) {
	cases := map[string]struct {
		req   amiswap.Request
		field string
	}{
		"nothing":            {amiswap.Request{}, "request"},
		"bad job id":         {amiswap.Request{BackupJobID: "../../etc"}, "backupJobId"},
		"short instance id":  {amiswap.Request{InstanceID: "i-123"}, "instanceId"},
		"upper instance id":  {amiswap.Request{InstanceID: "i-0123456789ABCDEF0"}, "instanceId"},
		"bad resource arn":   {amiswap.Request{BackupJobID: grpJob, ResourceArn: "arn:aws:rds:eu-west-1:1:db:x"}, "resourceArn"},
		"bad recovery point": {amiswap.Request{BackupJobID: grpJob, RecoveryPointArn: "ami-123"}, "recoveryPointArn"},
		// An event that lacks a field: the transformer left it empty.
		"event without job":      {amiswap.Request{EventID: "e1", ResourceArn: "arn:aws:ec2:eu-west-1:123456789012:instance/" + rsInstance}, "backupJobId"},
		"event without resource": {amiswap.Request{EventID: "e1", BackupJobID: grpJob}, "resourceArn"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newResolveWorld(t)
			_, err := w.resolve(tc.req, Config{})
			ie, ok := errorsAs[*amiswap.InvalidInputError](err)
			if !ok || ie.Field != tc.field {
				t.Errorf("error %v, want InvalidInputError on %s", err, tc.field)
			}
			if len(w.calls) != 0 {
				t.Errorf("AWS called before validation: %v", w.calls)
			}
		})
	}
}

func TestResolveSkips(t *testing.T) {
	cases := []struct {
		name   string
		req    amiswap.Request
		change func(w *resolveWorld)
		reason string // a substring of the skip reason
		calls  int    // AWS calls made, -1 to not check
	}{
		{name: "not EC2", req: amiswap.Request{BackupJobID: grpJob, ResourceType: "EBS"}, reason: "EBS resource, not an EC2 instance", calls: 0},
		// A recovery point that is not an AMI is a skip, not a failure.
		{name: "EBS snapshot recovery point", req: amiswap.Request{BackupJobID: grpJob, RecoveryPointArn: "arn:aws:ec2:eu-west-1::snapshot/snap-0123456789abcdef0"},
			reason: "snap-0123456789abcdef0 is not an EC2 AMI", calls: 0},
		{name: "Backup vault recovery point", req: amiswap.Request{BackupJobID: grpJob, RecoveryPointArn: "arn:aws:backup:eu-west-1:123456789012:recovery-point:1a2b3c4d-5678-90ab-cdef-1234567890ab"},
			reason: "recovery-point:1a2b3c4d-5678-90ab-cdef-1234567890ab is not an EC2 AMI", calls: 0},
		{name: "event not completed", req: amiswap.Request{BackupJobID: grpJob, State: "FAILED"}, reason: "FAILED, not COMPLETED", calls: 0},
		{name: "job running", change: func(w *resolveWorld) { w.job.State = backuptypes.BackupJobStateRunning }, reason: "is RUNNING, not COMPLETED", calls: 1},
		{name: "job of RDS", change: func(w *resolveWorld) { w.job.ResourceType = aws.String("RDS") }, reason: "RDS resource", calls: 1},
		{name: "job without recovery point", change: func(w *resolveWorld) { w.job.RecoveryPointArn = nil }, reason: "has no AMI recovery point", calls: 1},
		{name: "instance not found", change: func(w *resolveWorld) { w.instErr = apiErr("InvalidInstanceID.NotFound") }, reason: "the instance " + rsInstance + " no longer exists", calls: 2},
		{name: "instance terminated", change: func(w *resolveWorld) { w.inst.State.Name = ec2types.InstanceStateNameTerminated }, reason: "the instance " + rsInstance + " no longer exists", calls: 2},
		{name: "instance not listed", change: func(w *resolveWorld) { w.inst = nil }, reason: "no longer exists", calls: 2},
		{name: "not in a group", change: func(w *resolveWorld) { w.inst.Tags = nil }, reason: "the instance " + rsInstance + " is not in an Auto Scaling group", calls: 2},
		{name: "group gone", change: func(w *resolveWorld) { w.groups = nil }, reason: "the Auto Scaling group web no longer exists", calls: 3},
		{name: "group being deleted", change: func(w *resolveWorld) {
			w.group(func(g *asgtypes.AutoScalingGroup) { g.Status = aws.String("Delete in progress") })
		}, reason: "no longer exists", calls: 3},
		{name: "not opted in", change: func(w *resolveWorld) { w.group(func(g *asgtypes.AutoScalingGroup) { g.Tags = nil }) }, reason: "the group is not tagged amiswap:enabled=true", calls: 3},
		{name: "opted out", change: func(w *resolveWorld) {
			w.group(func(g *asgtypes.AutoScalingGroup) { g.Tags[0].Value = aws.String("false") })
		}, reason: `the group's tag amiswap:enabled is "false"`, calls: 3},
		{name: "launch configuration", change: func(w *resolveWorld) {
			w.group(func(g *asgtypes.AutoScalingGroup) {
				g.LaunchTemplate, g.LaunchConfigurationName = nil, aws.String("old-lc")
			})
		}, reason: "uses a launch configuration, which amiswap does not support; move it to a launch template", calls: 3},
		{name: "SSM parameter image", change: func(w *resolveWorld) {
			w.ltv.LaunchTemplateData.ImageId = aws.String("resolve:ssm:/golden/web")
		}, reason: "SSM parameter /golden/web; amiswap cannot pin a parameter-based image", calls: 4},
		{name: "recovery point gone", change: func(w *resolveWorld) { delete(w.images, rsAMI) }, reason: "the recovery point AMI " + rsAMI + " no longer exists", calls: 5},
		{name: "recovery point pending", change: func(w *resolveWorld) {
			w.images[rsAMI] = ec2types.Image{ImageId: aws.String(rsAMI), State: ec2types.ImageStatePending}
		}, reason: "is pending, not available", calls: 5},
		{name: "duplicate event", change: func(w *resolveWorld) { w.images[rsCurrent] = golden(rsCurrent, grpJob, rsJobCreated.Add(time.Hour)) },
			reason: "already swapped from this backup", calls: 6},
		{name: "stale event", change: func(w *resolveWorld) {
			w.images[rsCurrent] = golden(rsCurrent, "99999999-0000-4000-8000-000000000000", rsJobCreated.Add(time.Minute))
		}, reason: "already on a golden AMI built from a newer backup", calls: 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newResolveWorld(t)
			if tc.change != nil {
				tc.change(w)
			}
			req := tc.req
			if req == (amiswap.Request{}) {
				req = amiswap.Request{BackupJobID: grpJob}
			}
			got, err := w.resolve(req, Config{})
			if err != nil {
				t.Fatalf("error %v, want a skip", err)
			}
			if !got.Skip || !strings.Contains(got.SkipReason, tc.reason) {
				t.Errorf("skip=%v reason %q, want %q", got.Skip, got.SkipReason, tc.reason)
			}
			if tc.calls >= 0 && len(w.calls) != tc.calls {
				t.Errorf("calls %v, want %d", w.calls, tc.calls)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	cases := []struct {
		name   string
		req    amiswap.Request
		change func(w *resolveWorld)
		want   string
		field  string
	}{
		{name: "no such job", change: func(w *resolveWorld) { w.jobErr = apiErr("ResourceNotFoundException") }, want: "InvalidInputError", field: "backupJobId"},
		{name: "job of another instance", req: amiswap.Request{BackupJobID: grpJob, InstanceID: "i-0fffffffffffffff0"}, want: "InvalidInputError", field: "instanceId"},
		{name: "bad settings tag", change: func(w *resolveWorld) {
			w.group(func(g *asgtypes.AutoScalingGroup) { *g = withTag(*g, amiswap.TagKeep, "lots") })
		}, want: "InvalidInputError", field: "tag " + amiswap.TagKeep},
		{name: "no instance type", change: func(w *resolveWorld) { w.ltv.LaunchTemplateData.InstanceType = "" }, want: "InvalidInputError", field: "tag " + amiswap.TagInstanceType},
		{name: "throttled", change: func(w *resolveWorld) { w.instErr = apiErr("RequestLimitExceeded") }, want: "ThrottledError"},
		{name: "access denied", change: func(w *resolveWorld) { w.jobErr = apiErr("AccessDeniedException") }, want: "AWSError"},
		{name: "images throttled", change: func(w *resolveWorld) { w.imgErr = apiErr("RequestLimitExceeded") }, want: "ThrottledError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newResolveWorld(t)
			if tc.change != nil {
				tc.change(w)
			}
			req := tc.req
			if req == (amiswap.Request{}) {
				req = amiswap.Request{BackupJobID: grpJob}
			}
			_, err := w.resolve(req, Config{})
			if errType(err) != tc.want {
				t.Fatalf("error %v (%s), want %s", err, errType(err), tc.want)
			}
			if ie, ok := errorsAs[*amiswap.InvalidInputError](err); ok && ie.Field != tc.field {
				t.Errorf("invalid field %q, want %q", ie.Field, tc.field)
			}
		})
	}
}

func TestResolveVariants(t *testing.T) {
	t.Run("windows, older golden AMI in place", func(t *testing.T) {
		w := newResolveWorld(t)
		w.images[rsAMI] = ec2types.Image{ImageId: aws.String(rsAMI), State: ec2types.ImageStateAvailable, Platform: "windows"} // as EC2 sends it
		w.images[rsCurrent] = golden(rsCurrent, "99999999-0000-4000-8000-000000000000", rsJobCreated.Add(-time.Hour))
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
		if err != nil || got.Skip || got.Source.Platform != "windows" {
			t.Errorf("target %+v, %v: want windows, not skipped", got, err)
		}
	})
	t.Run("settings override OS and instance type", func(t *testing.T) {
		w := newResolveWorld(t)
		w.images[rsAMI] = ec2types.Image{ImageId: aws.String(rsAMI), State: ec2types.ImageStateAvailable, Platform: "windows"} // as EC2 sends it
		w.group(func(g *asgtypes.AutoScalingGroup) {
			*g = withTag(withTag(*g, amiswap.TagOS, "linux"), amiswap.TagInstanceType, "c5.xlarge")
		})
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
		if err != nil || got.Source.Platform != "linux" || got.Builder.InstanceType != "c5.xlarge" || got.Settings.OS != "linux" {
			t.Errorf("target %+v, %v", got, err)
		}
	})
	t.Run("mixed instances policy", func(t *testing.T) {
		w := newResolveWorld(t)
		w.groups = []asgtypes.AutoScalingGroup{withTag(grpGroup("7", true), amiswap.TagEnabled, "true")}
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		lt := got.LaunchTemplate
		if !lt.Mixed || lt.Version != "7" || lt.ID != grpLT || got.Builder.InstanceType != "m5.large" {
			t.Errorf("target %+v: want mixed, version 7, the first override's type", *got)
		}
		if !reflect.DeepEqual(w.ltvIn.Versions, []string{"7"}) {
			t.Errorf("versions asked %v", w.ltvIn.Versions)
		}
	})
	t.Run("configuration overrides the builder's network", func(t *testing.T) {
		w := newResolveWorld(t)
		conf := Config{BuilderSubnetID: "subnet-0cccccccccccccccc", BuilderSecurityGroupIDs: []string{"sg-0ccccccccccccccc1", "sg-0ccccccccccccccc2"}, BuilderInstanceProfile: "builder"}
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, conf)
		want := amiswap.BuilderSpec{InstanceType: "t3.medium", SubnetID: "subnet-0cccccccccccccccc", SecurityGroupIDs: conf.BuilderSecurityGroupIDs, InstanceProfile: "builder", MetadataOptions: imdsv2}
		if err != nil || !reflect.DeepEqual(got.Builder, want) {
			t.Errorf("builder %+v, %v, want %+v", got.Builder, err, want)
		}
	})
	t.Run("network interface groups, no VPC zone", func(t *testing.T) {
		w := newResolveWorld(t)
		w.group(func(g *asgtypes.AutoScalingGroup) { g.VPCZoneIdentifier = nil })
		w.ltv.LaunchTemplateData.SecurityGroupIds = nil
		w.ltv.LaunchTemplateData.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecification{Name: aws.String("web")}
		w.ltv.LaunchTemplateData.NetworkInterfaces = []ec2types.LaunchTemplateInstanceNetworkInterfaceSpecification{
			{DeviceIndex: aws.Int32(0), SubnetId: aws.String("subnet-0ddddddddddddddd0"), Groups: []string{"sg-0ddddddddddddddd0"}},
		}
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{BuilderInstanceProfile: "arn:aws:iam::1:instance-profile/b"})
		want := amiswap.BuilderSpec{InstanceType: "t3.medium", SubnetID: "subnet-0ddddddddddddddd0", SecurityGroupIDs: []string{"sg-0ddddddddddddddd0"}, InstanceProfileArn: "arn:aws:iam::1:instance-profile/b", MetadataOptions: imdsv2}
		if err != nil || !reflect.DeepEqual(got.Builder, want) {
			t.Errorf("builder %+v, %v, want %+v", got.Builder, err, want)
		}
	})
	t.Run("golden AMI of the current template is gone", func(t *testing.T) {
		w := newResolveWorld(t)
		delete(w.images, rsCurrent)
		got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
		if err != nil || got.Skip {
			t.Errorf("target %+v, %v: a deregistered current image must not stop the swap", got, err)
		}
	})
}

// imdsv2 are the builder's metadata options when the launch template says
// nothing: IMDSv2 required, the endpoint enabled.
var imdsv2 = &amiswap.MetadataOptions{HttpTokens: "required", HttpEndpoint: "enabled"}

// TestResolveBuilderMetadataFollowsTheTemplate: the builder gets the
// launch template's metadata options (IMDSv1 allowed, a hop limit of 2,
// tags in the metadata), and IMDSv2 required when the template sets none
// ("Configure the instance metadata options",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html).
func TestResolveBuilderMetadataFollowsTheTemplate(t *testing.T) {
	w := newResolveWorld(t)
	w.ltv.LaunchTemplateData.MetadataOptions = &ec2types.LaunchTemplateInstanceMetadataOptions{
		HttpTokens: ec2types.LaunchTemplateHttpTokensStateOptional, HttpPutResponseHopLimit: aws.Int32(2),
		InstanceMetadataTags: ec2types.LaunchTemplateInstanceMetadataTagsStateEnabled,
	}
	got, err := w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
	want := &amiswap.MetadataOptions{HttpTokens: "optional", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 2, InstanceMetadataTags: "enabled"}
	if err != nil || !reflect.DeepEqual(got.Builder.MetadataOptions, want) {
		t.Errorf("metadata options %+v, %v; want %+v", got.Builder.MetadataOptions, err, want)
	}

	w = newResolveWorld(t)
	w.ltv.LaunchTemplateData.MetadataOptions = nil
	got, err = w.resolve(amiswap.Request{BackupJobID: grpJob}, Config{})
	if err != nil || !reflect.DeepEqual(got.Builder.MetadataOptions, imdsv2) {
		t.Errorf("a template without metadata options: %+v, %v; want IMDSv2 required", got.Builder.MetadataOptions, err)
	}
}
