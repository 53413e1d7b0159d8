package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// btGolden is a golden AMI of the group created on day d of November 2026,
// with two snapshots.
func btGolden(id string, day int, state ec2types.ImageState) ec2types.Image {
	return ec2types.Image{
		ImageId:      aws.String(id),
		State:        state,
		CreationDate: aws.String(fmt.Sprintf("2026-11-%02dT10:00:00.000Z", day)),
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{
			{DeviceName: aws.String("/dev/sda1"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String("snap-" + id[4:] + "a")}},
			{DeviceName: aws.String("xvdf"), Ebs: &ec2types.EbsBlockDevice{SnapshotId: aws.String("snap-" + id[4:] + "b")}},
			{DeviceName: aws.String("xvdca"), VirtualName: aws.String("ephemeral0")},
		},
	}
}

func btSwappedState(s *State) {
	s.Image = &ImageResult{ImageID: btNewAMI, Name: "n", RequestedAt: btNow}
	s.Swap = &SwapResult{LaunchTemplateID: "lt-0123456789abcdef0", NewVersion: "5", PreviousDefaultVersion: "4", DefaultVersionChanged: true, GroupVersion: "$Default", PreviousGroupVersion: "$Default"}
	s.RolledOut = true
}

func TestCleanupTerminatesAndDisposesOfTheRecoveryPoint(t *testing.T) {
	e, b := &fakeBuilderEC2{}, &fakeBuilderBackup{}
	res, err := (&Cleanup{EC2: e, Backup: b}).Clean(context.Background(), btPayload(btNow, btSwappedState))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.terminate) != 1 || e.terminate[0].InstanceIds[0] != btInstance || !res.BuilderTerminated {
		t.Errorf("terminate = %+v, result %+v", e.terminate, res)
	}
	if len(b.deletes) != 1 || aws.ToString(b.deletes[0].BackupVaultName) != "vault" || aws.ToString(b.deletes[0].RecoveryPointArn) != btRP {
		t.Errorf("DeleteRecoveryPoint = %+v", b.deletes)
	}
	if rp := res.RecoveryPoint; rp == nil || rp.Status != RecoveryPointDeleted {
		t.Errorf("recovery point = %+v", res.RecoveryPoint)
	}
	if res.DeregisteredImages == nil || res.DeletedSnapshots == nil {
		t.Error("lists must be empty, not null: the ResultSelector reads them")
	}
}

// TestCleanupRecoveryPointOutcomes: a 200 from DeleteRecoveryPoint proves
// nothing — AWS Backup deletes asynchronously, and when the caller's
// permissions are insufficient it answers 200 and leaves the recovery point
// EXPIRED (AWS Backup API reference, DeleteRecoveryPoint,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html):
// Cleanup reports what DescribeRecoveryPoint then says.
func TestCleanupRecoveryPointOutcomes(t *testing.T) {
	cases := []struct {
		name    string
		keep    bool // amiswap:delete-recovery-point=false
		err     error
		status  backuptypes.RecoveryPointStatus // after the delete; "" gone
		message string
		descErr error
		want    string // the outcome's status
		reason  string // in its reason
		fail    string
	}{
		{name: "deleted", want: RecoveryPointDeleted, reason: "deleted"},
		{name: "deleting", status: backuptypes.RecoveryPointStatusDeleting, want: RecoveryPointDeleting, reason: "is deleting"},
		{name: "not yet shown", status: backuptypes.RecoveryPointStatusCompleted, want: RecoveryPointDeleting, reason: "COMPLETED"},
		{name: "expired", status: backuptypes.RecoveryPointStatusExpired, message: "Insufficient privileges", want: RecoveryPointExpired, reason: "Insufficient privileges"},
		{name: "kept by setting", keep: true, want: RecoveryPointKept, reason: "amiswap:delete-recovery-point=false"},
		{name: "already gone", err: apiErr("ResourceNotFoundException"), want: RecoveryPointDeleted, reason: "no longer exists"},
		{name: "being deleted by an earlier attempt", err: apiErr("InvalidResourceStateException"), status: backuptypes.RecoveryPointStatusDeleting, want: RecoveryPointDeleting},
		{name: "vault lock", err: apiErr("InvalidRequestException"), want: RecoveryPointKept, reason: "InvalidRequestException"},
		{name: "access denied", err: apiErr("AccessDeniedException"), want: RecoveryPointKept, reason: "AccessDeniedException"},
		{name: "status unreadable", descErr: apiErr("AccessDeniedException"), want: RecoveryPointDeleting, reason: "could not be read"},
		{name: "throttled", err: apiErr("ThrottlingException"), fail: "ThrottledError"},
		{name: "status throttled", descErr: apiErr("ThrottlingException"), fail: "ThrottledError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := &fakeBuilderBackup{err: c.err, status: c.status, message: c.message, descErr: c.descErr}
			p := btPayload(btNow, func(s *State) {
				btSwappedState(s)
				s.Target.Settings.DeleteRecoveryPoint = !c.keep
			})
			res, err := (&Cleanup{EC2: &fakeBuilderEC2{}, Backup: b}).Clean(context.Background(), p)
			if c.fail != "" {
				if amiswap.ErrorName(err) != c.fail {
					t.Fatalf("error = %v, want %s", err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v: a recovery point problem must not fail the cleanup", err)
			}
			if c.keep != (len(b.deletes) == 0) {
				t.Errorf("DeleteRecoveryPoint calls = %d", len(b.deletes))
			}
			rp := res.RecoveryPoint
			if rp == nil || rp.Status != c.want || !strings.Contains(rp.Reason, c.reason) {
				t.Fatalf("recovery point = %+v, want %s with %q", rp, c.want, c.reason)
			}
			if !c.keep && !strings.Contains(rp.Reason, btRP) {
				t.Errorf("reason %q does not name the recovery point", rp.Reason)
			}
		})
	}
}

func TestCleanupToleratesAGoneBuilder(t *testing.T) {
	e := &fakeBuilderEC2{terminateFn: func(*ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
		return nil, apiErr("InvalidInstanceID.NotFound")
	}}
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), btPayload(btNow, btSwappedState))
	if err != nil || !res.BuilderTerminated {
		t.Fatalf("result %+v, error %v", res, err)
	}
	e = &fakeBuilderEC2{terminateFn: func(*ec2.TerminateInstancesInput) (*ec2.TerminateInstancesOutput, error) {
		return nil, apiErr("InternalError")
	}}
	_, err = (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), btPayload(btNow, btSwappedState))
	wantTyped[*amiswap.TransientError](t, err)
}

func TestCleanupRetentionNeverDeletesAnAMIInUse(t *testing.T) {
	// Newest first: new (26th, the swap's), 25th, 24th (pinned by $Latest
	// in another version), 23rd (pending), 22nd, 21st.
	golden := []ec2types.Image{
		btGolden("ami-00000000000000021", 21, "available"),
		btGolden(btNewAMI, 26, "available"),
		btGolden("ami-00000000000000024", 24, "available"),
		btGolden("ami-00000000000000022", 22, "failed"),
		btGolden("ami-00000000000000025", 25, "available"),
		btGolden("ami-00000000000000023", 23, "pending"),
	}
	e := &fakeBuilderEC2{
		imagesFn: func(in *ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return &ec2.DescribeImagesOutput{Images: golden}, nil
		},
		versionsFn: func(in *ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []ec2types.LaunchTemplateVersion{
				{VersionNumber: aws.Int64(5), LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String(btNewAMI)}},
				{VersionNumber: aws.Int64(6), LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String("ami-00000000000000024")}},
			}}, nil
		},
	}
	p := btPayload(btNow, func(s *State) {
		btSwappedState(s)
		s.Target.Settings.Keep = 2
	})
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// The query: this group's golden AMIs, owned by this account.
	q := e.images[0]
	filters := map[string]string{}
	for _, f := range q.Filters {
		filters[aws.ToString(f.Name)] = strings.Join(f.Values, ",")
	}
	if q.Owners[0] != "self" || filters["tag:amiswap:group"] != "web" || filters["tag:amiswap:role"] != "golden-ami" {
		t.Errorf("DescribeImages = owners %v filters %v", q.Owners, filters)
	}
	v := e.versions[0]
	if aws.ToString(v.LaunchTemplateId) != "lt-0123456789abcdef0" {
		t.Errorf("launch template = %s", aws.ToString(v.LaunchTemplateId))
	}
	for _, want := range []string{"$Default", "$Latest", "5"} {
		if !slices.Contains(v.Versions, want) {
			t.Errorf("versions looked at = %v, want %s among them", v.Versions, want)
		}
	}
	// Kept: 26 (newest, new), 25 (second newest), 24 (in use), 23 (pending).
	wantGone := []string{"ami-00000000000000022", "ami-00000000000000021"}
	if !slices.Equal(res.DeregisteredImages, wantGone) || !slices.Equal(e.deregister, wantGone) {
		t.Errorf("deregistered %v (calls %v), want %v", res.DeregisteredImages, e.deregister, wantGone)
	}
	wantSnaps := []string{"snap-00000000000000022a", "snap-00000000000000022b", "snap-00000000000000021a", "snap-00000000000000021b"}
	if !slices.Equal(res.DeletedSnapshots, wantSnaps) {
		t.Errorf("deleted snapshots %v, want %v", res.DeletedSnapshots, wantSnaps)
	}
	// Each image's snapshots go after its deregistration.
	order := strings.Join(e.calls, "|")
	if !strings.Contains(order, "DeregisterImage ami-00000000000000022|DeleteSnapshot snap-00000000000000022a|DeleteSnapshot snap-00000000000000022b|DeregisterImage ami-00000000000000021") {
		t.Errorf("call order: %s", order)
	}
}

func TestCleanupKeepsTheNewImageEvenWhenOlderOnesLookNewer(t *testing.T) {
	// Keep 1, and the newest by date is an image that a clock skew put
	// after the new one: the new golden AMI is still never deleted.
	golden := []ec2types.Image{btGolden("ami-00000000000000027", 27, "available"), btGolden(btNewAMI, 26, "available")}
	e := &fakeBuilderEC2{imagesFn: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return &ec2.DescribeImagesOutput{Images: golden}, nil
	}}
	p := btPayload(btNow, func(s *State) {
		btSwappedState(s)
		s.Target.Settings.Keep = 1
	})
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.DeregisteredImages, btNewAMI) || len(res.DeregisteredImages) != 0 {
		t.Errorf("deregistered %v", res.DeregisteredImages)
	}
}

func TestCleanupWithoutALaunchTemplateDeletesNoAMI(t *testing.T) {
	e := &fakeBuilderEC2{imagesFn: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
		return &ec2.DescribeImagesOutput{Images: []ec2types.Image{btGolden("ami-00000000000000021", 21, "available")}}, nil
	}}
	p := btPayload(btNow, func(s *State) {
		s.Target.LaunchTemplate = amiswap.LaunchTemplateRef{}
		s.Target.Settings.Keep = 1
	})
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.deregister) != 0 || len(res.DeregisteredImages) != 0 {
		t.Errorf("deregistered %v", e.deregister)
	}
}

func TestCleanupKeepsAllWhenAVersionInUseResolvesAnSSMParameter(t *testing.T) {
	e := &fakeBuilderEC2{
		imagesFn: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return &ec2.DescribeImagesOutput{Images: []ec2types.Image{btGolden(btNewAMI, 26, "available"), btGolden("ami-00000000000000021", 21, "available")}}, nil
		},
		versionsFn: func(*ec2.DescribeLaunchTemplateVersionsInput) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
			return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []ec2types.LaunchTemplateVersion{
				{VersionNumber: aws.Int64(5), LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String(btNewAMI)}},
				{VersionNumber: aws.Int64(4), LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: aws.String("resolve:ssm:/golden/web")}},
			}}, nil
		},
	}
	p := btPayload(btNow, func(s *State) {
		btSwappedState(s)
		s.Target.Settings.Keep = 1
	})
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.deregister) != 0 || len(res.DeregisteredImages) != 0 {
		t.Errorf("deregistered %v although a version in use names an SSM parameter", e.deregister)
	}
}

func TestCleanupRetentionTolerance(t *testing.T) {
	golden := []ec2types.Image{btGolden(btNewAMI, 26, "available"), btGolden("ami-00000000000000021", 21, "available")}
	base := func() *fakeBuilderEC2 {
		return &fakeBuilderEC2{imagesFn: func(*ec2.DescribeImagesInput) (*ec2.DescribeImagesOutput, error) {
			return &ec2.DescribeImagesOutput{Images: golden}, nil
		}}
	}
	p := btPayload(btNow, func(s *State) {
		btSwappedState(s)
		s.Target.Settings.Keep = 1
	})

	// Deregistered by an earlier attempt, snapshot already gone or shared.
	e := base()
	e.deregFn = func(*ec2.DeregisterImageInput) error { return apiErr("InvalidAMIID.NotFound") }
	e.deleteFn = func(in *ec2.DeleteSnapshotInput) error {
		if strings.HasSuffix(aws.ToString(in.SnapshotId), "a") {
			return apiErr("InvalidSnapshot.NotFound")
		}
		return apiErr("InvalidSnapshot.InUse")
	}
	res, err := (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.DeregisteredImages, []string{"ami-00000000000000021"}) || !slices.Equal(res.DeletedSnapshots, []string{"snap-00000000000000021a"}) {
		t.Errorf("result = %+v", res)
	}

	// A throttled deregistration is retried by the workflow.
	e = base()
	e.deregFn = func(*ec2.DeregisterImageInput) error { return apiErr("RequestLimitExceeded") }
	_, err = (&Cleanup{EC2: e, Backup: &fakeBuilderBackup{}}).Clean(context.Background(), p)
	wantTyped[*amiswap.ThrottledError](t, err)
}
