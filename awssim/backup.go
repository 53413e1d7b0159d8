package awssim

// This file holds AWS Backup for EC2 instances: vaults (a "Default" vault
// in every fresh account), on-demand backup jobs whose recovery point is an
// AMI, the Backup Job State Change events they emit, and recovery points.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// defaultStartWindow is StartWindowMinutes' default (8 hours).
	defaultStartWindow = 8 * time.Hour
	// idempotencyWindow is how long a StartBackupJob IdempotencyToken
	// returns the job it first started.
	idempotencyWindow = time.Hour
	// expectedDateLayout is how the Backup Job State Change event writes
	// expectedCompletionDate ("Jul 15, 2020 9:39:07 PM").
	expectedDateLayout = "Jan 2, 2006 3:04:05 PM"
)

type backupStore struct {
	vaults      map[string]*backupVault
	vaultOrder  []*backupVault
	jobs        map[string]*backupJob
	jobOrder    []*backupJob
	idempotency map[string]*backupJob
	plans       []*backupPlan
}

type backupVault struct {
	Name, ARN        string
	Created          time.Time
	EncryptionKeyArn string
	Tags             map[string]string
	points           []*recoveryPoint
	lock             *vaultLock
}

type recoveryPoint struct {
	ARN           string
	vault         *backupVault
	job           *backupJob
	image         *image
	Status        string // CREATING, COMPLETED, DELETING, EXPIRED
	StatusMessage string // why it is EXPIRED
}

// backupCreator is the plan that started a job (nil for on-demand jobs).
type backupCreator struct {
	BackupPlanID, BackupPlanArn, BackupPlanVersion, BackupRuleID string
}

// view is the CreatedBy of a job or recovery point in the Backup API.
func (c *backupCreator) view() map[string]string {
	return map[string]string{"BackupPlanId": c.BackupPlanID, "BackupPlanArn": c.BackupPlanArn, "BackupPlanVersion": c.BackupPlanVersion, "BackupRuleId": c.BackupRuleID}
}

type backupJob struct {
	ID                              string
	vault                           *backupVault
	ResourceArn, ResourceType, Name string
	IamRoleArn                      string
	State, StatusMessage            string
	Created, Completed              time.Time
	StartBy, ExpectedCompletion     time.Time
	runningAt                       time.Time
	point                           *recoveryPoint
	SizeBytes                       int64
	percent                         float64 // frozen once the job ends
	createdBy                       *backupCreator
}

var (
	vaultNameRe = regexp.MustCompile(`^[a-zA-Z0-9\-_]{2,50}$`)
	roleArnRe   = regexp.MustCompile(`^arn:aws:iam::\d{12}:role/.+`)
)

func init() {
	registerStore("backup", func(s *Sim) {
		s.backup = backupStore{vaults: map[string]*backupVault{}, jobs: map[string]*backupJob{}, idempotency: map[string]*backupJob{}}
		s.createVault("Default", "", nil, s.clock.now.AddDate(0, -1, 0))
	}, backupStateView)
	registerREST("backup", []restRoute{
		restRoutef("PUT /backup-vaults/{backupVaultName}", "CreateBackupVault", backupCreateVault),
		restRoutef("GET /backup-vaults/{backupVaultName}", "DescribeBackupVault", backupDescribeVault),
		restRoutef("GET /backup-vaults/{backupVaultName}/recovery-points", "ListRecoveryPointsByBackupVault", backupListRecoveryPoints),
		restRoutef("GET /backup-vaults/{backupVaultName}/recovery-points/{recoveryPointArn}", "DescribeRecoveryPoint", backupDescribeRecoveryPoint),
		restRoutef("DELETE /backup-vaults/{backupVaultName}/recovery-points/{recoveryPointArn}", "DeleteRecoveryPoint", backupDeleteRecoveryPoint),
		restRoutef("PUT /backup-jobs", "StartBackupJob", backupStartJob),
		restRoutef("GET /backup-jobs", "ListBackupJobs", backupListJobs),
		restRoutef("GET /backup-jobs/{backupJobId}", "DescribeBackupJob", backupDescribeJob),
	})
}

func backupNotFound(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: fmt.Sprintf(format, args...)}
}

func (s *Sim) createVault(name, kmsKey string, tags map[string]string, created time.Time) *backupVault {
	v := &backupVault{Name: name, ARN: s.arn("backup", "backup-vault:"+name), Created: created, EncryptionKeyArn: kmsKey, Tags: tags}
	if v.EncryptionKeyArn == "" {
		v.EncryptionKeyArn = s.arn("kms", "key/aws-backup-default")
	}
	s.backup.vaults[name] = v
	s.backup.vaultOrder = append(s.backup.vaultOrder, v)
	return v
}

func (s *Sim) vaultByName(name string) (*backupVault, error) {
	v, ok := s.backup.vaults[name]
	if !ok {
		return nil, backupNotFound("Backup vault %s does not exist in account %s.", name, s.opts.AccountID)
	}
	return v, nil
}

// ---- vaults ----------------------------------------------------------------

func backupCreateVault(s *Sim, r *request, vars map[string]string) (int, any, error) {
	name := vars["backupVaultName"]
	var in struct {
		BackupVaultTags  map[string]string
		EncryptionKeyArn string
		CreatorRequestId string
	}
	if err := decodeJSON(nonEmptyJSON(r.body), &in); err != nil {
		return 0, nil, err
	}
	if !vaultNameRe.MatchString(name) {
		return 0, nil, errorf("InvalidParameterValueException", "Backup vault name %q must be 2 to 50 letters, digits, hyphens or underscores.", name)
	}
	if err := s.authorize(r, Resource{ARN: s.arn("backup", "backup-vault:"+name), Tags: in.BackupVaultTags}); err != nil {
		return 0, nil, err
	}
	if _, ok := s.backup.vaults[name]; ok {
		return 0, nil, errorf("AlreadyExistsException", "Backup vault with the same name already exists")
	}
	v := s.createVault(name, in.EncryptionKeyArn, in.BackupVaultTags, s.clock.now)
	return http.StatusOK, map[string]any{"BackupVaultName": v.Name, "BackupVaultArn": v.ARN, "CreationDate": epochSeconds(v.Created)}, nil
}

func backupDescribeVault(s *Sim, r *request, vars map[string]string) (int, any, error) {
	v, err := s.vaultByName(vars["backupVaultName"])
	if err != nil {
		return 0, nil, err
	}
	out := map[string]any{
		"BackupVaultName": v.Name, "BackupVaultArn": v.ARN, "CreationDate": epochSeconds(v.Created),
		"EncryptionKeyArn": v.EncryptionKeyArn, "NumberOfRecoveryPoints": len(v.points), "Locked": v.lock != nil,
		"VaultType": "BACKUP_VAULT", "VaultState": "AVAILABLE", "EncryptionKeyType": "AWS_OWNED_KMS_KEY",
	}
	// Locked, MinRetentionDays, MaxRetentionDays and LockDate describe
	// Vault Lock (API reference, DescribeBackupVault).
	if l := v.lock; l != nil {
		if l.MinDays > 0 {
			out["MinRetentionDays"] = l.MinDays
		}
		if l.MaxDays > 0 {
			out["MaxRetentionDays"] = l.MaxDays
		}
		if !l.LockDate.IsZero() {
			out["LockDate"] = epochSeconds(l.LockDate)
		}
	}
	return http.StatusOK, out, nil
}

// nonEmptyJSON lets a REST body be absent.
func nonEmptyJSON(b []byte) []byte {
	if len(strings.TrimSpace(string(b))) == 0 {
		return []byte("{}")
	}
	return b
}

// ---- jobs ------------------------------------------------------------------

// parseInstanceARN checks that arn names an EC2 instance of this account.
func (s *Sim) parseInstanceARN(arn string) (string, error) {
	prefix := s.instanceARN("")
	if !strings.HasPrefix(arn, prefix) {
		if strings.HasPrefix(arn, "arn:aws:") {
			return "", errorf("InvalidParameterValueException", "Resource ARN %s is not an EC2 instance in %s/%s; the amiswap simulator backs up EC2 instances only.", arn, s.opts.AccountID, s.opts.Region)
		}
		return "", errorf("InvalidParameterValueException", "Invalid ARN: %s", arn)
	}
	id := strings.TrimPrefix(arn, prefix)
	if !instanceIDRe.MatchString(id) {
		return "", errorf("InvalidParameterValueException", "Invalid ARN: %s", arn)
	}
	return id, nil
}

func backupStartJob(s *Sim, r *request, vars map[string]string) (int, any, error) {
	var in struct {
		BackupVaultName       string
		ResourceArn           string
		IamRoleArn            string
		IdempotencyToken      string
		StartWindowMinutes    *int64
		CompleteWindowMinutes *int64
		RecoveryPointTags     map[string]string
	}
	if err := decodeJSON(nonEmptyJSON(r.body), &in); err != nil {
		return 0, nil, err
	}
	for name, v := range map[string]string{"BackupVaultName": in.BackupVaultName, "ResourceArn": in.ResourceArn, "IamRoleArn": in.IamRoleArn} {
		if v == "" {
			return 0, nil, errorf("MissingParameterValueException", "%s is required.", name)
		}
	}
	if !roleArnRe.MatchString(in.IamRoleArn) {
		return 0, nil, errorf("InvalidParameterValueException", "Invalid IAM role ARN: %s", in.IamRoleArn)
	}
	vault, err := s.vaultByName(in.BackupVaultName)
	if err != nil {
		return 0, nil, err
	}
	id, err := s.parseInstanceARN(in.ResourceArn)
	if err != nil {
		return 0, nil, err
	}
	inst := s.ec2.instances[id]
	if inst == nil || inst.State == "shutting-down" || inst.State == "terminated" {
		return 0, nil, errorf("InvalidParameterValueException", "Resource %s not found.", in.ResourceArn)
	}
	if err := s.authorize(r, Resource{ARN: vault.ARN, Tags: vault.Tags}); err != nil {
		return 0, nil, err
	}
	if in.IdempotencyToken != "" {
		if j := s.backup.idempotency[in.IdempotencyToken]; j != nil && s.clock.now.Sub(j.Created) < idempotencyWindow {
			return http.StatusOK, startJobOutput(j), nil
		}
	}
	startWindow := defaultStartWindow
	if in.StartWindowMinutes != nil {
		if *in.StartWindowMinutes < 60 {
			return 0, nil, errorf("InvalidParameterValueException", "StartWindowMinutes must be at least 60.")
		}
		startWindow = time.Duration(*in.StartWindowMinutes) * time.Minute
	}
	j := s.startBackupJob(vault, inst, in.IamRoleArn, startWindow, nil, s.takeOutcome("backup", "StartBackupJob"))
	if in.IdempotencyToken != "" {
		s.backup.idempotency[in.IdempotencyToken] = j
	}
	return http.StatusOK, startJobOutput(j), nil
}

func startJobOutput(j *backupJob) map[string]any {
	return map[string]any{"BackupJobId": j.ID, "RecoveryPointArn": j.point.ARN, "CreationDate": epochSeconds(j.Created), "IsParent": false}
}

// startBackupJob creates a backup job of an instance and schedules its
// lifecycle: CREATED now, RUNNING after a fifteenth of BackupJob, COMPLETED
// (or FAILED halfway, when fail is set) after BackupJob. The recovery point
// AMI is registered at once and stays pending until the job completes.
func (s *Sim) startBackupJob(vault *backupVault, inst *instance, role string, startWindow time.Duration, creator *backupCreator, fail bool) *backupJob {
	j := &backupJob{
		ID: strings.ToUpper(s.genUUID()), vault: vault, ResourceArn: s.instanceARN(inst.ID),
		ResourceType: "EC2", Name: inst.Tags["Name"], IamRoleArn: role, State: "CREATED",
		Created: s.clock.now, StartBy: s.clock.now.Add(startWindow),
		ExpectedCompletion: s.clock.now.Add(s.dur.BackupJob), createdBy: creator,
	}
	for _, v := range inst.Volumes {
		j.SizeBytes += int64(v.SizeGiB) << 30
	}
	srcTag := tags{"aws:backup:source-resource": inst.ID}
	im := s.newImage(inst, "AwsBackup_"+inst.ID+"_"+strings.ToUpper(s.genUUID()), "This AMI is created by AWS Backup", srcTag, srcTag)
	p := &recoveryPoint{ARN: s.imageARN(im.ID), vault: vault, job: j, image: im, Status: "CREATING"}
	j.point = p
	vault.points = append(vault.points, p)
	s.backup.jobs[j.ID] = j
	s.backup.jobOrder = append(s.backup.jobOrder, j)
	s.emitBackupJob(j)

	s.after(s.dur.BackupJob/15, func() {
		if j.State != "CREATED" {
			return
		}
		j.State, j.runningAt = "RUNNING", s.clock.now
		s.emitBackupJob(j)
	})
	if fail {
		s.after(s.dur.BackupJob/2, func() {
			s.failBackupJob(j, "An internal error occurred while creating the EC2 recovery point (injected by the amiswap simulator).")
		})
		return j
	}
	s.after(s.dur.BackupJob, func() {
		if j.State != "RUNNING" {
			return
		}
		if im.State != "pending" {
			s.failBackupJob(j, fmt.Sprintf("The recovery point AMI %s was %s before the backup completed.", im.ID, im.State))
			return
		}
		s.completeImage(im, false, "")
		j.State, j.Completed, j.percent, p.Status = "COMPLETED", s.clock.now, 100, "COMPLETED"
		s.emitBackupJob(j)
	})
	return j
}

// RunBackupPlan simulates a scheduled backup plan rule firing: it starts a
// backup job, into the Default vault, of every pending, running or stopped
// instance tagged key=value, as a tag-based plan selection does (several
// jobs, and events, for one Auto Scaling group). The jobs carry the plan in
// createdBy. It returns the job ids in instance launch order.
func (s *Sim) RunBackupPlan(key, value string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.sync(s)
	planID := "5d0f4a8e-7b1c-4d2e-9f30-a1b2c3d4e5f6"
	creator := &backupCreator{
		BackupPlanID: planID, BackupPlanArn: s.arn("backup", "backup-plan:"+planID),
		BackupPlanVersion: "ZmFjZWZhY2UtYW1pc3dhcC1zaW11bGF0b3I", BackupRuleID: "8e1c2d3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f",
	}
	role := "arn:aws:iam::" + s.opts.AccountID + ":role/service-role/AWSBackupDefaultServiceRole"
	var ids []string
	for _, in := range s.ec2.instanceOrder {
		switch in.State {
		case "pending", "running", "stopping", "stopped":
		default:
			continue
		}
		if v, ok := in.Tags[key]; !ok || v != value {
			continue
		}
		j := s.startBackupJob(s.backup.vaults["Default"], in, role, defaultStartWindow, creator, s.takeOutcome("backup", "StartBackupJob"))
		ids = append(ids, j.ID)
	}
	return ids
}

// failBackupJob ends a job FAILED; AWS Backup removes the half-made AMI,
// its snapshots and the recovery point.
func (s *Sim) failBackupJob(j *backupJob, msg string) {
	if j.State == "COMPLETED" || j.State == "FAILED" {
		return
	}
	j.percent = j.percentDone(s.clock.now)
	j.State, j.StatusMessage, j.Completed = "FAILED", msg, s.clock.now
	s.completeImage(j.point.image, true, "Client.InternalError: "+msg)
	s.removeRecoveryPoint(j.point)
	s.emitBackupJob(j)
}

// removeRecoveryPoint deregisters a recovery point's AMI, deletes its
// snapshots and drops it from its vault.
func (s *Sim) removeRecoveryPoint(p *recoveryPoint) {
	s.removeRecoveryPointImage(p)
	p.vault.points = without(p.vault.points, p)
	p.Status = "DELETED"
}

// removeRecoveryPointImage deregisters a recovery point's AMI and deletes
// its snapshots.
func (s *Sim) removeRecoveryPointImage(p *recoveryPoint) {
	if im := p.image; im.State != "deregistered" {
		s.deregisterImage(im)
	}
	for _, id := range p.image.SnapshotIDs {
		if _, ok := s.ec2.snapshots[id]; ok {
			s.deleteSnapshot(id) // cannot be in use: the image is deregistered
		}
	}
}

// percentDone grows linearly while the job runs.
func (j *backupJob) percentDone(now time.Time) float64 {
	switch j.State {
	case "CREATED":
		return 0
	case "RUNNING":
		total := j.ExpectedCompletion.Sub(j.runningAt)
		if total <= 0 {
			return 99
		}
		return min(99, float64(int(100*float64(now.Sub(j.runningAt))/float64(total))))
	}
	return j.percent
}

func (j *backupJob) bytesTransferred(now time.Time) int64 {
	return int64(float64(j.SizeBytes) * j.percentDone(now) / 100)
}

// backupJobDetail is the detail of a Backup Job State Change event, with
// the field names and types AWS uses (sizes as strings, percentDone a number).
type backupJobDetail struct {
	BackupJobID            string            `json:"backupJobId"`
	BackupSizeInBytes      string            `json:"backupSizeInBytes"`
	BackupVaultArn         string            `json:"backupVaultArn"`
	BackupVaultName        string            `json:"backupVaultName"`
	BytesTransferred       string            `json:"bytesTransferred"`
	CreationDate           string            `json:"creationDate"`
	CompletionDate         string            `json:"completionDate,omitempty"`
	ExpectedCompletionDate string            `json:"expectedCompletionDate"`
	IamRoleArn             string            `json:"iamRoleArn"`
	PercentDone            json.Number       `json:"percentDone"`
	ResourceArn            string            `json:"resourceArn"`
	ResourceType           string            `json:"resourceType"`
	StartBy                string            `json:"startBy"`
	State                  string            `json:"state"`
	StatusMessage          string            `json:"statusMessage,omitempty"`
	CreatedBy              *backupCreatorOut `json:"createdBy,omitempty"`
}

type backupCreatorOut struct {
	BackupPlanID      string `json:"backupPlanId"`
	BackupPlanArn     string `json:"backupPlanArn"`
	BackupPlanVersion string `json:"backupPlanVersion"`
	BackupRuleID      string `json:"backupPlanRuleId"`
}

func (s *Sim) emitBackupJob(j *backupJob) {
	now := s.clock.now
	d := backupJobDetail{
		BackupJobID: j.ID, BackupSizeInBytes: strconv.FormatInt(j.SizeBytes, 10),
		BackupVaultArn: j.vault.ARN, BackupVaultName: j.vault.Name,
		BytesTransferred: strconv.FormatInt(j.bytesTransferred(now), 10), CreationDate: isoTime(j.Created),
		ExpectedCompletionDate: j.ExpectedCompletion.UTC().Format(expectedDateLayout), IamRoleArn: j.IamRoleArn,
		PercentDone: json.Number(strconv.FormatFloat(j.percentDone(now), 'f', 1, 64)),
		ResourceArn: j.ResourceArn, ResourceType: j.ResourceType, StartBy: isoTime(j.StartBy),
		State: j.State, StatusMessage: j.StatusMessage,
	}
	if !j.Completed.IsZero() {
		d.CompletionDate = isoTime(j.Completed)
	}
	if c := j.createdBy; c != nil {
		d.CreatedBy = &backupCreatorOut{c.BackupPlanID, c.BackupPlanArn, c.BackupPlanVersion, c.BackupRuleID}
	}
	var resources []string
	if j.State == "COMPLETED" {
		resources = []string{j.point.ARN}
	}
	s.emit("aws.backup", "Backup Job State Change", resources, d)
}

// jobView is the BackupJob / DescribeBackupJob shape.
func (s *Sim) jobView(j *backupJob) map[string]any {
	now := s.clock.now
	v := map[string]any{
		"AccountId": s.opts.AccountID, "BackupJobId": j.ID, "BackupVaultName": j.vault.Name,
		"BackupVaultArn": j.vault.ARN, "VaultType": "BACKUP_VAULT", "RecoveryPointArn": j.point.ARN,
		"ResourceArn": j.ResourceArn, "CreationDate": epochSeconds(j.Created), "State": j.State,
		"PercentDone": strconv.FormatFloat(j.percentDone(now), 'f', 1, 64), "BackupSizeInBytes": j.SizeBytes,
		"IamRoleArn": j.IamRoleArn, "ExpectedCompletionDate": epochSeconds(j.ExpectedCompletion),
		"StartBy": epochSeconds(j.StartBy), "ResourceType": j.ResourceType, "BytesTransferred": j.bytesTransferred(now),
		"BackupType": "", "IsParent": false, "IsEncrypted": false, "InitiationDate": epochSeconds(j.Created),
	}
	if j.StatusMessage != "" {
		v["StatusMessage"] = j.StatusMessage
	}
	j.addOptional(v)
	return v
}

// addOptional adds to a job's or its recovery point's view the fields
// both show only when set: ResourceName, CompletionDate and CreatedBy.
func (j *backupJob) addOptional(v map[string]any) {
	if j.Name != "" {
		v["ResourceName"] = j.Name
	}
	if !j.Completed.IsZero() {
		v["CompletionDate"] = epochSeconds(j.Completed)
	}
	if c := j.createdBy; c != nil {
		v["CreatedBy"] = c.view()
	}
}

func backupDescribeJob(s *Sim, r *request, vars map[string]string) (int, any, error) {
	j, ok := s.backup.jobs[vars["backupJobId"]]
	if !ok {
		return 0, nil, backupNotFound("Cannot find backup job %s.", vars["backupJobId"])
	}
	return http.StatusOK, s.jobView(j), nil
}

// backupQueryTime reads a timestamp query parameter (ISO 8601, or epoch
// seconds as some clients send).
func backupQueryTime(q map[string][]string, name string) (time.Time, bool, error) {
	v := ""
	if x := q[name]; len(x) > 0 {
		v = x[0]
	}
	if v == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return time.UnixMilli(int64(f * 1000)), true, nil
	}
	return time.Time{}, false, errorf("InvalidParameterValueException", "%s %q is not a timestamp.", name, v)
}

// backupPage reads a list call's maxResults and nextToken.
func backupPage(q url.Values) (max int, offset uint64, err error) {
	if max, err = backupMaxResults(q); err != nil {
		return 0, 0, err
	}
	if offset, err = parseOffsetToken(q.Get("nextToken"), "InvalidParameterValueException"); err != nil {
		return 0, 0, err
	}
	return max, offset, nil
}

func backupMaxResults(q map[string][]string) (int, error) {
	v := ""
	if x := q["maxResults"]; len(x) > 0 {
		v = x[0]
	}
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errorf("InvalidParameterValueException", "maxResults must be between 1 and 1000, got %q.", v)
	}
	return n, nil
}

func backupListJobs(s *Sim, r *request, vars map[string]string) (int, any, error) {
	q := r.httpReq.URL.Query()
	max, offset, err := backupPage(q)
	if err != nil {
		return 0, nil, err
	}
	before, hasBefore, err := backupQueryTime(q, "createdBefore")
	if err != nil {
		return 0, nil, err
	}
	after, hasAfter, err := backupQueryTime(q, "createdAfter")
	if err != nil {
		return 0, nil, err
	}
	var all []*backupJob
	for i := len(s.backup.jobOrder) - 1; i >= 0; i-- {
		j := s.backup.jobOrder[i]
		switch {
		case q.Get("resourceArn") != "" && j.ResourceArn != q.Get("resourceArn"),
			q.Get("state") != "" && j.State != q.Get("state"),
			q.Get("backupVaultName") != "" && j.vault.Name != q.Get("backupVaultName"),
			q.Get("resourceType") != "" && j.ResourceType != q.Get("resourceType"),
			q.Get("accountId") != "" && q.Get("accountId") != s.opts.AccountID,
			hasBefore && !j.Created.Before(before),
			hasAfter && !j.Created.After(after):
			continue
		}
		all = append(all, j)
	}
	return http.StatusOK, listOutput("BackupJobs", all, offset, max, s.jobView), nil
}

// ---- recovery points -------------------------------------------------------

func (s *Sim) recoveryPoint(vaultName, arn string) (*recoveryPoint, error) {
	v, err := s.vaultByName(vaultName)
	if err != nil {
		return nil, err
	}
	for _, p := range v.points {
		if p.ARN == arn {
			return p, nil
		}
	}
	return nil, backupNotFound("Recovery point %s does not exist in backup vault %s.", arn, vaultName)
}

func (s *Sim) recoveryPointView(p *recoveryPoint) map[string]any {
	j := p.job
	v := map[string]any{
		"RecoveryPointArn": p.ARN, "BackupVaultName": p.vault.Name, "BackupVaultArn": p.vault.ARN,
		"ResourceArn": j.ResourceArn, "ResourceType": j.ResourceType, "IamRoleArn": j.IamRoleArn,
		"Status": p.Status, "CreationDate": epochSeconds(j.Created), "InitiationDate": epochSeconds(j.Created),
		"BackupSizeInBytes": j.SizeBytes, "IsEncrypted": false, "StorageClass": "WARM", "IsParent": false,
		"VaultType": "BACKUP_VAULT", "EncryptionKeyType": "AWS_OWNED_KMS_KEY",
	}
	if p.StatusMessage != "" {
		v["StatusMessage"] = p.StatusMessage
	}
	j.addOptional(v)
	return v
}

func backupDescribeRecoveryPoint(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.recoveryPoint(vars["backupVaultName"], vars["recoveryPointArn"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.recoveryPointView(p), nil
}

func backupListRecoveryPoints(s *Sim, r *request, vars map[string]string) (int, any, error) {
	v, err := s.vaultByName(vars["backupVaultName"])
	if err != nil {
		return 0, nil, err
	}
	q := r.httpReq.URL.Query()
	max, offset, err := backupPage(q)
	if err != nil {
		return 0, nil, err
	}
	var all []*recoveryPoint
	for _, p := range v.points {
		if (q.Get("resourceArn") != "" && p.job.ResourceArn != q.Get("resourceArn")) ||
			(q.Get("resourceType") != "" && p.job.ResourceType != q.Get("resourceType")) {
			continue
		}
		all = append(all, p)
	}
	return http.StatusOK, listOutput("RecoveryPoints", all, offset, max, s.recoveryPointView), nil
}

// backupDeleteRecoveryPoint deletes a recovery point as AWS Backup does:
// asynchronously. The call answers 200 with an empty body, the recovery
// point goes DELETING and is gone Durations.RecoveryPointDelete later (AWS
// gives no figure). When the caller's permissions are insufficient for
// what the deletion does — for an EC2 recovery point, deregistering its
// AMI and deleting its snapshots, which the simulator evaluates as
// ec2:DeregisterImage and ec2:DeleteSnapshot of the caller on the image
// and snapshots — or under the fault
// {"service":"backup","action":"DeleteRecoveryPoint","outcome":"failed"},
// the call still answers 200 and the recovery point is left EXPIRED:
// "When an IAM role's permissions are insufficient to call this API, the
// service sends back an HTTP 200 response with an empty HTTP body, but the
// recovery point is not deleted. Instead, it enters an EXPIRED state"
// (AWS Backup API reference, DeleteRecoveryPoint,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteRecoveryPoint.html).
// An EXPIRED recovery point may be deleted again. One being deleted, or
// still being created, is refused with InvalidResourceStateException
// ("AWS Backup is already performing an action on this recovery point").
func backupDeleteRecoveryPoint(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.recoveryPoint(vars["backupVaultName"], vars["recoveryPointArn"])
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, Resource{ARN: p.ARN}); err != nil {
		return 0, nil, err
	}
	switch p.Status {
	case "CREATING":
		return 0, nil, errorf("InvalidResourceStateException", "Recovery point %s cannot be deleted while its backup job %s is %s.", p.ARN, p.job.ID, p.job.State)
	case "DELETING":
		return 0, nil, errorf("InvalidResourceStateException", "AWS Backup is already performing an action on recovery point %s: it is being deleted.", p.ARN)
	}
	if why := s.vaultLockKeeps(p); why != "" {
		return 0, nil, errorf("InvalidRequestException", "%s", why)
	}
	if s.takeOutcome("backup", "DeleteRecoveryPoint") {
		p.Status, p.StatusMessage = "EXPIRED", "Insufficient privileges to delete the recovery point (injected by the amiswap simulator)."
		return http.StatusOK, nil, nil
	}
	if err := s.backupMayDelete(r, p); err != nil {
		p.Status, p.StatusMessage = "EXPIRED", "Insufficient privileges to delete the recovery point: "+err.Error()
		return http.StatusOK, nil, nil
	}
	// AWS does not say in which order the AMI, its snapshots and the
	// recovery point's record go; the simulator removes the AMI and
	// snapshots at once and the record when the deletion ends.
	p.Status, p.StatusMessage = "DELETING", ""
	s.removeRecoveryPointImage(p)
	s.after(s.dur.RecoveryPointDelete, func() {
		if p.Status == "DELETING" {
			s.removeRecoveryPoint(p)
		}
	})
	return http.StatusOK, nil, nil
}

// backupMayDelete evaluates, with the caller's identity, what deleting an
// EC2 recovery point does: deregister its AMI and delete its snapshots.
func (s *Sim) backupMayDelete(r *request, p *recoveryPoint) error {
	if s.authz == nil {
		return nil
	}
	im := p.image
	if err := s.authz.Authorize(r.accessKeyID, "ec2", "DeregisterImage", []Resource{{ARN: s.imageARN(im.ID), Tags: im.Tags}}); err != nil {
		return err
	}
	for _, id := range im.SnapshotIDs {
		if sn, ok := s.ec2.snapshots[id]; ok {
			if err := s.authz.Authorize(r.accessKeyID, "ec2", "DeleteSnapshot", []Resource{{ARN: s.snapshotARN(id), Tags: sn.Tags}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// backupStateView is the Backup part of GET /_sim/state.
func backupStateView(s *Sim) any {
	type job struct {
		ID               string `json:"backupJobId"`
		State            string `json:"state"`
		ResourceArn      string `json:"resourceArn"`
		RecoveryPointArn string `json:"recoveryPointArn"`
		Vault            string `json:"backupVaultName"`
		StatusMessage    string `json:"statusMessage,omitempty"`
	}
	type vault struct {
		Name           string   `json:"name"`
		ARN            string   `json:"arn"`
		RecoveryPoints []string `json:"recoveryPoints"`
	}
	vaults := []vault{}
	for _, v := range s.backup.vaultOrder {
		x := vault{Name: v.Name, ARN: v.ARN, RecoveryPoints: []string{}}
		for _, p := range v.points {
			x.RecoveryPoints = append(x.RecoveryPoints, p.ARN)
		}
		vaults = append(vaults, x)
	}
	jobs := []job{}
	for _, j := range s.backup.jobOrder {
		jobs = append(jobs, job{j.ID, j.State, j.ResourceArn, j.point.ARN, j.vault.Name, j.StatusMessage})
	}
	return map[string]any{"vaults": vaults, "jobs": jobs}
}
