package awssim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

const testBackupRole = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"

func startTestBackup(t *testing.T, c *backup.Client, vault string, in *instance, ts *testSim) *backup.StartBackupJobOutput {
	t.Helper()
	out, err := c.StartBackupJob(context.Background(), &backup.StartBackupJobInput{
		BackupVaultName: aws.String(vault), ResourceArn: aws.String(ts.arn("ec2", "instance/"+in.ID)),
		IamRoleArn: aws.String(testBackupRole),
	})
	if err != nil {
		t.Fatalf("StartBackupJob: %v", err)
	}
	return out
}

func describeTestJob(t *testing.T, c *backup.Client, id string) *backup.DescribeBackupJobOutput {
	t.Helper()
	out, err := c.DescribeBackupJob(context.Background(), &backup.DescribeBackupJobInput{BackupJobId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeBackupJob: %v", err)
	}
	return out
}

// backupEvents returns the Backup Job State Change events, decoded loosely
// so that the test sees the JSON types AWS uses.
func backupEvents(t *testing.T, ts *testSim) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range ts.Events() {
		if ev.Source != "aws.backup" {
			continue
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func imageStateOf(t *testing.T, ts *testSim, id string) string {
	t.Helper()
	out, err := ec2.NewFromConfig(ts.Cfg).DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatalf("DescribeImages: %v", err)
	}
	for _, im := range out.Images {
		if aws.ToString(im.ImageId) == id {
			return string(im.State)
		}
	}
	return "absent"
}

func TestBackupJobLifecycleAndEvents(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "windows")
	ts.Advance(ts.dur.InstancePending)
	created := ts.Now()

	start := startTestBackup(t, c, "Default", in, ts)
	rpArn := aws.ToString(start.RecoveryPointArn)
	amiID := strings.TrimPrefix(rpArn, "arn:aws:ec2:us-east-1::image/")
	if !imageIDRe.MatchString(amiID) || !strings.HasPrefix(rpArn, "arn:aws:ec2:us-east-1::image/") {
		t.Fatalf("RecoveryPointArn %q is not an AMI ARN", rpArn)
	}
	if !start.CreationDate.Equal(created) {
		t.Errorf("CreationDate %v, want %v", start.CreationDate, created)
	}
	jobID := aws.ToString(start.BackupJobId)

	j := describeTestJob(t, c, jobID)
	if j.State != backuptypes.BackupJobStateCreated || aws.ToString(j.PercentDone) != "0.0" || aws.ToString(j.ResourceType) != "EC2" ||
		aws.ToString(j.BackupVaultName) != "Default" || aws.ToString(j.BackupVaultArn) != "arn:aws:backup:us-east-1:123456789012:backup-vault:Default" ||
		aws.ToString(j.RecoveryPointArn) != rpArn || aws.ToString(j.IamRoleArn) != testBackupRole || j.CompletionDate != nil ||
		aws.ToInt64(j.BackupSizeInBytes) != 30<<30 || !j.ExpectedCompletionDate.Equal(created.Add(ts.dur.BackupJob)) {
		t.Fatalf("just started: %+v", j)
	}
	ts.mu.Lock()
	im := ts.ec2.images[amiID]
	ts.mu.Unlock()
	if im == nil || !strings.HasPrefix(im.Name, "AwsBackup_"+in.ID+"_") || im.Description != "This AMI is created by AWS Backup" || im.Tags["aws:backup:source-resource"] != in.ID {
		t.Fatalf("recovery point image %+v", im)
	}
	if st := imageStateOf(t, ts, amiID); st != "pending" {
		t.Fatalf("recovery point AMI %s, want pending", st)
	}

	ts.Advance(ts.dur.BackupJob / 15)
	if j := describeTestJob(t, c, jobID); j.State != backuptypes.BackupJobStateRunning {
		t.Fatalf("state %s, want RUNNING", j.State)
	}
	ts.Advance(ts.dur.BackupJob / 3)
	if j := describeTestJob(t, c, jobID); aws.ToString(j.PercentDone) == "0.0" || aws.ToString(j.PercentDone) == "100.0" {
		t.Errorf("PercentDone %q while running", aws.ToString(j.PercentDone))
	}
	ts.Advance(ts.dur.BackupJob - ts.dur.BackupJob/15 - ts.dur.BackupJob/3)
	j = describeTestJob(t, c, jobID)
	if j.State != backuptypes.BackupJobStateCompleted || aws.ToString(j.PercentDone) != "100.0" || j.CompletionDate == nil ||
		!j.CompletionDate.Equal(created.Add(ts.dur.BackupJob)) || aws.ToString(j.StatusMessage) != "" {
		t.Fatalf("after BackupJob: %+v", j)
	}
	if st := imageStateOf(t, ts, amiID); st != "available" {
		t.Fatalf("recovery point AMI %s, want available", st)
	}

	evs := backupEvents(t, ts)
	var states []string
	for _, ev := range evs {
		states = append(states, ev["detail"].(map[string]any)["state"].(string))
	}
	if strings.Join(states, ",") != "CREATED,RUNNING,COMPLETED" {
		t.Fatalf("event states %v", states)
	}
	last := evs[2]
	if last["detail-type"] != "Backup Job State Change" || last["source"] != "aws.backup" {
		t.Errorf("event envelope %v", last)
	}
	if res, _ := last["resources"].([]any); len(res) != 1 || res[0] != rpArn {
		t.Errorf("COMPLETED resources %v, want [%s]", last["resources"], rpArn)
	}
	if res, _ := evs[0]["resources"].([]any); len(res) != 0 {
		t.Errorf("CREATED resources %v, want none", evs[0]["resources"])
	}
	d := last["detail"].(map[string]any)
	wantStrings := map[string]string{
		"backupJobId": jobID, "backupVaultName": "Default",
		"backupVaultArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:Default",
		"resourceArn":    "arn:aws:ec2:us-east-1:123456789012:instance/" + in.ID, "resourceType": "EC2",
		"backupSizeInBytes": "32212254720", "bytesTransferred": "32212254720", "iamRoleArn": testBackupRole,
		"creationDate": isoTime(created), "completionDate": isoTime(created.Add(ts.dur.BackupJob)),
		"startBy":                isoTime(created.Add(8 * time.Hour)),
		"expectedCompletionDate": created.Add(ts.dur.BackupJob).Format("Jan 2, 2006 3:04:05 PM"),
	}
	for k, want := range wantStrings {
		if got, ok := d[k].(string); !ok || got != want {
			t.Errorf("detail.%s = %#v, want string %q", k, d[k], want)
		}
	}
	if p, ok := d["percentDone"].(float64); !ok || p != 100 {
		t.Errorf("detail.percentDone = %#v, want the number 100", d["percentDone"])
	}
	for _, k := range []string{"recoveryPointArn", "statusMessage", "createdBy"} {
		if _, ok := d[k]; ok {
			t.Errorf("detail has %s", k)
		}
	}
	if _, ok := evs[0]["detail"].(map[string]any)["completionDate"]; ok {
		t.Errorf("CREATED event has a completionDate")
	}
	if got := d["expectedCompletionDate"].(string); got != "Jan 5, 2026 9:15:40 AM" {
		t.Errorf("expectedCompletionDate %q", got)
	}
}

// backupOfNewInstance starts a simulator, an instance and a backup job of it.
func backupOfNewInstance(t *testing.T) (*testSim, *backup.Client, *backup.StartBackupJobOutput) {
	t.Helper()
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ts.Advance(ts.dur.InstancePending)
	return ts, c, startTestBackup(t, c, "Default", in, ts)
}

func TestBackupDeleteRecoveryPoint(t *testing.T) {
	ts, c, start := backupOfNewInstance(t)
	ctx := context.Background()
	rpArn := aws.ToString(start.RecoveryPointArn)
	del := &backup.DeleteRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn}
	if _, err := c.DeleteRecoveryPoint(ctx, del); ssmErrCode(err) != "InvalidResourceStateException" {
		t.Errorf("delete while the job runs: %v", err)
	}
	ts.Advance(ts.dur.BackupJob)

	rp, err := c.DescribeRecoveryPoint(ctx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn})
	if err != nil || rp.Status != backuptypes.RecoveryPointStatusCompleted || aws.ToString(rp.ResourceType) != "EC2" {
		t.Fatalf("DescribeRecoveryPoint: %v %+v", err, rp)
	}
	list, err := c.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("Default")})
	if err != nil || len(list.RecoveryPoints) != 1 || aws.ToString(list.RecoveryPoints[0].RecoveryPointArn) != rpArn {
		t.Fatalf("ListRecoveryPointsByBackupVault: %v %+v", err, list)
	}
	amiID := rpArn[strings.LastIndex(rpArn, "/")+1:]
	ts.mu.Lock()
	snaps := append([]string(nil), ts.ec2.images[amiID].SnapshotIDs...)
	ts.mu.Unlock()
	if len(snaps) == 0 {
		t.Fatal("recovery point AMI has no snapshots")
	}

	if _, err := c.DeleteRecoveryPoint(ctx, del); err != nil {
		t.Fatalf("DeleteRecoveryPoint: %v", err)
	}
	// Asynchronous: DELETING until the deletion is done, a second delete
	// meanwhile refused (AWS Backup API reference, DeleteRecoveryPoint,
	// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html).
	rp, err = c.DescribeRecoveryPoint(ctx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn})
	if err != nil || rp.Status != backuptypes.RecoveryPointStatusDeleting {
		t.Fatalf("just after DeleteRecoveryPoint: %v %+v, want DELETING", err, rp)
	}
	if _, err := c.DeleteRecoveryPoint(ctx, del); ssmErrCode(err) != "InvalidResourceStateException" {
		t.Errorf("delete while deleting: %v", err)
	}
	ts.Advance(ts.dur.RecoveryPointDelete)
	if st := imageStateOf(t, ts, amiID); st != "absent" {
		t.Errorf("AMI still listed (%s) after DeleteRecoveryPoint", st)
	}
	ts.mu.Lock()
	for _, id := range snaps {
		if _, ok := ts.ec2.snapshots[id]; ok {
			t.Errorf("snapshot %s survived DeleteRecoveryPoint", id)
		}
	}
	ts.mu.Unlock()
	if _, err := c.DeleteRecoveryPoint(ctx, del); ssmErrCode(err) != "ResourceNotFoundException" {
		t.Errorf("second delete: %v", err)
	}
	list, err = c.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("Default")})
	if err != nil || len(list.RecoveryPoints) != 0 {
		t.Errorf("vault after delete: %v %+v", err, list)
	}
}

// TestBackupDeleteRecoveryPointExpired: a deletion AWS Backup cannot carry
// out still answers 200, and the recovery point stays, EXPIRED, with a
// status message (AWS Backup API reference, DeleteRecoveryPoint,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html).
// It can be deleted again afterwards.
func TestBackupDeleteRecoveryPointExpired(t *testing.T) {
	ts, c, start := backupOfNewInstance(t)
	ctx := context.Background()
	ts.Advance(ts.dur.BackupJob)
	amiID := strings.TrimPrefix(aws.ToString(start.RecoveryPointArn), "arn:aws:ec2:us-east-1::image/")
	ts.AddFault(Fault{Service: "backup", Action: "DeleteRecoveryPoint", Outcome: "failed"})
	del := &backup.DeleteRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn}
	if _, err := c.DeleteRecoveryPoint(ctx, del); err != nil {
		t.Fatalf("DeleteRecoveryPoint under the fault: %v, want 200", err)
	}
	ts.Advance(time.Hour)
	desc := &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn}
	rp, err := c.DescribeRecoveryPoint(ctx, desc)
	if err != nil || rp.Status != backuptypes.RecoveryPointStatusExpired || aws.ToString(rp.StatusMessage) == "" {
		t.Fatalf("after a failed deletion: %v %+v, want EXPIRED with a message", err, rp)
	}
	if st := imageStateOf(t, ts, amiID); st != "available" {
		t.Errorf("the EXPIRED recovery point's AMI is %s, want available", st)
	}
	if _, err := c.DeleteRecoveryPoint(ctx, del); err != nil {
		t.Fatal(err)
	}
	ts.Advance(ts.dur.RecoveryPointDelete)
	if _, err := c.DescribeRecoveryPoint(ctx, desc); ssmErrCode(err) != "ResourceNotFoundException" {
		t.Errorf("an EXPIRED recovery point deleted again: %v, want it gone", err)
	}
}

func TestBackupErrors(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	_, err := c.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String("D0E8F7A1-0000-4000-8000-000000000000")})
	if ssmErrCode(err) != "ResourceNotFoundException" {
		t.Fatalf("unknown job: %v", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		t.Errorf("unknown job: want HTTP 404, got %v", err)
	}
	in := ssmLaunch(t, ts, "")
	for name, tc := range map[string]struct {
		in   backup.StartBackupJobInput
		code string
	}{
		"unknown vault":    {backup.StartBackupJobInput{BackupVaultName: aws.String("nope"), ResourceArn: aws.String(ts.arn("ec2", "instance/"+in.ID)), IamRoleArn: aws.String(testBackupRole)}, "ResourceNotFoundException"},
		"not an instance":  {backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String("arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"), IamRoleArn: aws.String(testBackupRole)}, "InvalidParameterValueException"},
		"unknown instance": {backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String(ts.arn("ec2", "instance/i-0123456789abcdef0")), IamRoleArn: aws.String(testBackupRole)}, "InvalidParameterValueException"},
		"bad role":         {backup.StartBackupJobInput{BackupVaultName: aws.String("Default"), ResourceArn: aws.String(ts.arn("ec2", "instance/"+in.ID)), IamRoleArn: aws.String("role")}, "InvalidParameterValueException"},
	} {
		if _, err := c.StartBackupJob(ctx, &tc.in); ssmErrCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
	if _, err := c.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("Default")}); ssmErrCode(err) != "AlreadyExistsException" {
		t.Errorf("duplicate vault: %v", err)
	}
}

func TestBackupFailedJob(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "windows")
	ts.Advance(ts.dur.InstancePending)
	ts.AddFault(Fault{Service: "backup", Action: "StartBackupJob", Outcome: "failed"})
	start := startTestBackup(t, c, "Default", in, ts)
	amiID := aws.ToString(start.RecoveryPointArn)[strings.LastIndex(aws.ToString(start.RecoveryPointArn), "/")+1:]
	ts.Advance(ts.dur.BackupJob)
	j := describeTestJob(t, c, aws.ToString(start.BackupJobId))
	if j.State != backuptypes.BackupJobStateFailed || aws.ToString(j.StatusMessage) == "" || j.CompletionDate == nil {
		t.Fatalf("faulted job: %+v", j)
	}
	if st := imageStateOf(t, ts, amiID); st != "absent" {
		t.Errorf("failed job's AMI is %s, want gone", st)
	}
	evs := backupEvents(t, ts)
	if len(evs) != 3 {
		t.Fatalf("got %d events, want CREATED, RUNNING, FAILED", len(evs))
	}
	d := evs[2]["detail"].(map[string]any)
	if d["state"] != "FAILED" || d["statusMessage"] != aws.ToString(j.StatusMessage) {
		t.Errorf("FAILED detail %v", d)
	}
	if res, _ := evs[2]["resources"].([]any); len(res) != 0 {
		t.Errorf("FAILED resources %v", res)
	}
	// The fault is used up: the next job completes.
	start = startTestBackup(t, c, "Default", in, ts)
	ts.Advance(ts.dur.BackupJob)
	if j := describeTestJob(t, c, aws.ToString(start.BackupJobId)); j.State != backuptypes.BackupJobStateCompleted {
		t.Errorf("next job %s", j.State)
	}
}

func TestBackupListJobsAndVaults(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	if _, err := c.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("golden")}); err != nil {
		t.Fatalf("CreateBackupVault: %v", err)
	}
	a, b := ssmLaunch(t, ts, ""), ssmLaunch(t, ts, "windows")
	ts.Advance(ts.dur.InstancePending)
	var ids []string
	for i := range 3 {
		ids = append(ids, aws.ToString(startTestBackup(t, c, "Default", a, ts).BackupJobId))
		ts.Advance(time.Duration(i+1) * time.Minute)
	}
	other := aws.ToString(startTestBackup(t, c, "golden", b, ts).BackupJobId)
	ts.Advance(ts.dur.BackupJob - time.Minute) // the first three complete, the last runs

	count := func(in *backup.ListBackupJobsInput) []string {
		t.Helper()
		var got []string
		p := backup.NewListBackupJobsPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListBackupJobs: %v", err)
			}
			for _, j := range out.BackupJobs {
				got = append(got, aws.ToString(j.BackupJobId))
			}
		}
		return got
	}
	if got := count(&backup.ListBackupJobsInput{MaxResults: aws.Int32(2)}); len(got) != 4 || got[0] != other {
		t.Errorf("all jobs, newest first: %v", got)
	}
	if got := count(&backup.ListBackupJobsInput{ByResourceArn: aws.String(ts.arn("ec2", "instance/"+a.ID))}); len(got) != 3 {
		t.Errorf("by resource: %v", got)
	}
	if got := count(&backup.ListBackupJobsInput{ByBackupVaultName: aws.String("golden")}); len(got) != 1 || got[0] != other {
		t.Errorf("by vault: %v", got)
	}
	if got := count(&backup.ListBackupJobsInput{ByState: backuptypes.BackupJobStateCompleted, ByResourceType: aws.String("EC2")}); len(got) != 3 {
		t.Errorf("completed: %v (want %v)", got, ids)
	}
	if got := count(&backup.ListBackupJobsInput{ByState: backuptypes.BackupJobStateRunning}); len(got) != 1 || got[0] != other {
		t.Errorf("running: %v", got)
	}
	v, err := c.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
	if err != nil || v.NumberOfRecoveryPoints != 3 {
		t.Errorf("DescribeBackupVault: %v %+v", err, v)
	}
}

func TestBackupIdempotencyToken(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ts.Advance(ts.dur.InstancePending)
	start := func() string {
		out, err := c.StartBackupJob(context.Background(), &backup.StartBackupJobInput{
			BackupVaultName: aws.String("Default"), ResourceArn: aws.String(ts.arn("ec2", "instance/"+in.ID)),
			IamRoleArn: aws.String(testBackupRole), IdempotencyToken: aws.String("tok-1"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.BackupJobId)
	}
	if a, b := start(), start(); a != b {
		t.Errorf("same token started two jobs: %s %s", a, b)
	}
}

func TestBackupAuthorizeSeesVaultAndRecoveryPoint(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ts.Advance(ts.dur.InstancePending)
	start := startTestBackup(t, c, "Default", in, ts)
	ts.Advance(ts.dur.BackupJob)
	a := &ssmAuthorizer{deny: "image/" + strings.TrimPrefix(aws.ToString(start.RecoveryPointArn), "arn:aws:ec2:us-east-1::image/")}
	ts.SetAuthorizer(a)
	_, err := c.DeleteRecoveryPoint(context.Background(), &backup.DeleteRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn})
	if ssmErrCode(err) != "AccessDeniedException" {
		t.Fatalf("denied delete: %v", err)
	}
	if st := imageStateOf(t, ts, strings.TrimPrefix(aws.ToString(start.RecoveryPointArn), "arn:aws:ec2:us-east-1::image/")); st != "available" {
		t.Errorf("a denied delete changed the AMI to %s", st)
	}
	ts.mu.Lock()
	a.seen = nil
	ts.mu.Unlock()
	startTestBackup(t, c, "Default", in, ts)
	var sawVault bool
	ts.mu.Lock() // the authorizer runs under the simulator's lock
	defer ts.mu.Unlock()
	for _, r := range a.seen {
		sawVault = sawVault || r.ARN == "arn:aws:backup:us-east-1:123456789012:backup-vault:Default"
	}
	if !sawVault {
		t.Errorf("StartBackupJob authorized %+v, want the vault", a.seen)
	}
}

// TestBackupWireShapes checks raw bodies the SDK would accept from the
// simulator, independently of the SDK's leniency.
func TestBackupWireShapes(t *testing.T) {
	ts := newTestSim(t, Options{})
	resp, err := http.Get(ts.URL + "/backup-jobs/NOPE")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
		t.Errorf("unsigned GET /backup-jobs/NOPE: %d %q %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body.String())
	}
}

func TestBackupStateView(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	in := ssmLaunch(t, ts, "")
	ts.Advance(ts.dur.InstancePending)
	start := startTestBackup(t, c, "Default", in, ts)
	raw, err := json.Marshal(ts.State()["backup"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), aws.ToString(start.BackupJobId)) || !strings.Contains(string(raw), aws.ToString(start.RecoveryPointArn)) {
		t.Errorf("state view %s", raw)
	}
}

// BenchmarkBackupDescribeJob measures the poll a caller makes while a
// backup job runs: one DescribeBackupJob over HTTP.
func BenchmarkBackupDescribeJob(b *testing.B) {
	ts := newTestSim(b, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	ts.mu.Lock()
	in, err := ts.launchInstance(instanceSpec{ImageID: ts.ec2.imageOrder[0].ID})
	ts.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	ts.Advance(ts.dur.InstancePending)
	out, err := c.StartBackupJob(context.Background(), &backup.StartBackupJobInput{
		BackupVaultName: aws.String("Default"), ResourceArn: aws.String(ts.arn("ec2", "instance/"+in.ID)), IamRoleArn: aws.String(testBackupRole)})
	if err != nil {
		b.Fatal(err)
	}
	in2 := &backup.DescribeBackupJobInput{BackupJobId: out.BackupJobId}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.DescribeBackupJob(context.Background(), in2); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBackupPlanJobsCarryCreatedBy(t *testing.T) {
	ts := newTestSim(t, Options{})
	c := backup.NewFromConfig(ts.Cfg)
	a, b := ssmLaunch(t, ts, "windows"), ssmLaunch(t, ts, "windows")
	ssmLaunch(t, ts, "") // not selected
	ts.mu.Lock()
	a.Tags["aws:autoscaling:groupName"] = "web"
	b.Tags["aws:autoscaling:groupName"] = "web"
	ts.mu.Unlock()
	ts.Advance(ts.dur.InstancePending)
	ids := ts.RunBackupPlan("aws:autoscaling:groupName", "web")
	if len(ids) != 2 {
		t.Fatalf("plan started %d jobs, want 2", len(ids))
	}
	ts.Advance(ts.dur.BackupJob)
	j := describeTestJob(t, c, ids[0])
	if j.State != backuptypes.BackupJobStateCompleted || j.CreatedBy == nil || aws.ToString(j.CreatedBy.BackupPlanId) == "" {
		t.Fatalf("plan job %+v", j)
	}
	var completed int
	for _, ev := range backupEvents(t, ts) {
		d := ev["detail"].(map[string]any)
		cb, ok := d["createdBy"].(map[string]any)
		if !ok || cb["backupPlanId"] != aws.ToString(j.CreatedBy.BackupPlanId) || cb["backupPlanRuleId"] == "" {
			t.Errorf("event createdBy %v", d["createdBy"])
		}
		if d["state"] == "COMPLETED" {
			completed++
		}
	}
	if completed != 2 {
		t.Errorf("%d COMPLETED events, want 2", completed)
	}
}
