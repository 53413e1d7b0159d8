package awssim

// This file holds AWS Backup's backup plans, their resource selections and
// vault lock configuration: what decides whether an instance is backed up
// at all and whether its recovery points may be deleted. Plans are records
// (their rules do not fire by themselves: RunBackupPlan simulates a rule
// firing); selections are kept as given, with AWS's checks on their shape.

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

type backupPlan struct {
	ID, ARN, Name, VersionID string
	Created                  time.Time
	Rules                    []map[string]any
	Tags                     map[string]string
	selections               []*backupSelection
}

type backupSelection struct {
	ID      string
	Created time.Time
	// Body is the BackupSelection as given (SelectionName, IamRoleArn,
	// Resources, NotResources, ListOfTags, Conditions).
	Body map[string]any
}

// vaultLock is a vault's lock configuration (PutBackupVaultLockConfiguration).
type vaultLock struct {
	MinDays, MaxDays int64
	LockDate         time.Time // zero: governance mode, changeable at any time
}

func init() {
	registerREST("backup", []restRoute{
		restRoutef("PUT /backup/plans", "CreateBackupPlan", backupCreatePlan),
		restRoutef("GET /backup/plans", "ListBackupPlans", backupListPlans),
		restRoutef("GET /backup/plans/{backupPlanId}", "GetBackupPlan", backupGetPlan),
		restRoutef("PUT /backup/plans/{backupPlanId}/selections", "CreateBackupSelection", backupCreateSelection),
		restRoutef("GET /backup/plans/{backupPlanId}/selections", "ListBackupSelections", backupListSelections),
		restRoutef("GET /backup/plans/{backupPlanId}/selections/{selectionId}", "GetBackupSelection", backupGetSelection),
		restRoutef("PUT /backup-vaults/{backupVaultName}/vault-lock", "PutBackupVaultLockConfiguration", backupPutVaultLock),
	})
}

func (s *Sim) backupPlanByID(id string) (*backupPlan, error) {
	for _, p := range s.backup.plans {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, backupNotFound("Failed reading Backup plan with provided version")
}

// backupCreatePlan creates a plan: a name and at least one rule, each with
// a RuleName and a TargetBackupVaultName that exists.
func backupCreatePlan(s *Sim, r *request, vars map[string]string) (int, any, error) {
	var in struct {
		BackupPlan struct {
			BackupPlanName string
			Rules          []map[string]any
		}
		BackupPlanTags   map[string]string
		CreatorRequestId string
	}
	if err := decodeJSON(nonEmptyJSON(r.body), &in); err != nil {
		return 0, nil, err
	}
	name := in.BackupPlan.BackupPlanName
	if name == "" {
		return 0, nil, errorf("MissingParameterValueException", "BackupPlanName is required.")
	}
	if len(in.BackupPlan.Rules) == 0 {
		return 0, nil, errorf("InvalidParameterValueException", "A backup plan needs at least one rule.")
	}
	for _, rule := range in.BackupPlan.Rules {
		rn, _ := rule["RuleName"].(string)
		vault, _ := rule["TargetBackupVaultName"].(string)
		if rn == "" || vault == "" {
			return 0, nil, errorf("InvalidParameterValueException", "Every rule needs a RuleName and a TargetBackupVaultName.")
		}
		if _, err := s.vaultByName(vault); err != nil {
			return 0, nil, err
		}
	}
	for _, p := range s.backup.plans {
		if p.Name == name {
			return 0, nil, errorf("AlreadyExistsException", "Backup plan with the same plan document already exists")
		}
	}
	id := s.genUUID()
	arn := s.arn("backup", "backup-plan:"+id)
	if err := s.authorize(r, Resource{ARN: s.arn("backup", "backup-plan:*"), Tags: in.BackupPlanTags}); err != nil {
		return 0, nil, err
	}
	p := &backupPlan{ID: id, ARN: arn, Name: name, VersionID: strings.ReplaceAll(s.genUUID(), "-", "")[:32], Created: s.clock.now, Tags: in.BackupPlanTags}
	for _, rule := range in.BackupPlan.Rules {
		rc := map[string]any{}
		for k, v := range rule {
			rc[k] = v
		}
		rc["RuleId"] = s.genUUID()
		if _, ok := rc["ScheduleExpression"]; !ok {
			rc["ScheduleExpression"] = "cron(0 5 ? * * *)" // AWS's default: daily at 05:00 UTC
		}
		p.Rules = append(p.Rules, rc)
	}
	s.backup.plans = append(s.backup.plans, p)
	return http.StatusOK, map[string]any{"BackupPlanId": p.ID, "BackupPlanArn": p.ARN, "CreationDate": epochSeconds(p.Created), "VersionId": p.VersionID}, nil
}

func backupGetPlan(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.backupPlanByID(vars["backupPlanId"])
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, Resource{ARN: p.ARN, Tags: p.Tags}); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"BackupPlan":   map[string]any{"BackupPlanName": p.Name, "Rules": p.Rules},
		"BackupPlanId": p.ID, "BackupPlanArn": p.ARN, "VersionId": p.VersionID, "CreationDate": epochSeconds(p.Created),
	}, nil
}

func backupListPlans(s *Sim, r *request, vars map[string]string) (int, any, error) {
	max, offset, err := backupPage(r.httpReq.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOutput("BackupPlansList", s.backup.plans, offset, max, func(p *backupPlan) map[string]any {
		return map[string]any{"BackupPlanArn": p.ARN, "BackupPlanId": p.ID, "BackupPlanName": p.Name,
			"CreationDate": epochSeconds(p.Created), "VersionId": p.VersionID}
	}), nil
}

// backupCreateSelection assigns resources to a plan: by Resources (ARNs,
// with wildcards), ListOfTags (STRINGEQUALS conditions, any of which
// selects) and Conditions (StringEquals, StringNotEquals, StringLike,
// StringNotLike on aws:ResourceTag/KEY, all of which must hold), minus
// NotResources ("Assign resources to a backup plan", AWS Backup developer
// guide, https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html).
// A selection needs a name, an IAM role and something to select.
func backupCreateSelection(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.backupPlanByID(vars["backupPlanId"])
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		BackupSelection  map[string]any
		CreatorRequestId string
	}
	if err := decodeJSON(nonEmptyJSON(r.body), &in); err != nil {
		return 0, nil, err
	}
	sel := in.BackupSelection
	name, _ := sel["SelectionName"].(string)
	role, _ := sel["IamRoleArn"].(string)
	switch {
	case name == "":
		return 0, nil, errorf("MissingParameterValueException", "SelectionName is required.")
	case !roleArnRe.MatchString(role):
		return 0, nil, errorf("InvalidParameterValueException", "Invalid IAM role ARN: %q", role)
	}
	res, _ := sel["Resources"].([]any)
	lot, _ := sel["ListOfTags"].([]any)
	conds, _ := sel["Conditions"].(map[string]any)
	if len(res) == 0 && len(lot) == 0 && len(conds) == 0 {
		return 0, nil, errorf("InvalidParameterValueException", "A backup selection needs Resources, ListOfTags or Conditions.")
	}
	for _, x := range lot {
		c, _ := x.(map[string]any)
		if ct, _ := c["ConditionType"].(string); ct != "STRINGEQUALS" {
			return 0, nil, errorf("InvalidParameterValueException", "ListOfTags ConditionType must be STRINGEQUALS, got %q.", ct)
		}
	}
	for op := range conds {
		switch op {
		case "StringEquals", "StringNotEquals", "StringLike", "StringNotLike":
		default:
			return 0, nil, errorf("InvalidParameterValueException", "Unknown condition operator %s.", op)
		}
	}
	if err := s.authorize(r, Resource{ARN: p.ARN, Tags: p.Tags}); err != nil {
		return 0, nil, err
	}
	x := &backupSelection{ID: s.genUUID(), Created: s.clock.now, Body: sel}
	p.selections = append(p.selections, x)
	return http.StatusOK, map[string]any{"SelectionId": x.ID, "BackupPlanId": p.ID, "CreationDate": epochSeconds(x.Created)}, nil
}

func backupListSelections(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.backupPlanByID(vars["backupPlanId"])
	if err != nil {
		return 0, nil, err
	}
	max, offset, err := backupPage(r.httpReq.URL.Query())
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, Resource{ARN: p.ARN, Tags: p.Tags}); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOutput("BackupSelectionsList", p.selections, offset, max, func(x *backupSelection) map[string]any {
		return map[string]any{"SelectionId": x.ID, "SelectionName": x.Body["SelectionName"], "BackupPlanId": p.ID,
			"IamRoleArn": x.Body["IamRoleArn"], "CreationDate": epochSeconds(x.Created)}
	}), nil
}

func backupGetSelection(s *Sim, r *request, vars map[string]string) (int, any, error) {
	p, err := s.backupPlanByID(vars["backupPlanId"])
	if err != nil {
		return 0, nil, err
	}
	if err := s.authorize(r, Resource{ARN: p.ARN, Tags: p.Tags}); err != nil {
		return 0, nil, err
	}
	for _, x := range p.selections {
		if x.ID == vars["selectionId"] {
			return http.StatusOK, map[string]any{"BackupSelection": x.Body, "SelectionId": x.ID, "BackupPlanId": p.ID, "CreationDate": epochSeconds(x.Created)}, nil
		}
	}
	return 0, nil, backupNotFound("Selection %s not found in backup plan %s.", vars["selectionId"], p.ID)
}

// backupPutVaultLock configures AWS Backup Vault Lock: recovery points of
// the vault cannot be deleted before MinRetentionDays. With
// ChangeableForDays (at least 3) the lock becomes immutable (compliance
// mode) on LockDate; without it, it is governance mode ("AWS Backup Vault
// Lock", AWS Backup developer guide,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html).
func backupPutVaultLock(s *Sim, r *request, vars map[string]string) (int, any, error) {
	v, err := s.vaultByName(vars["backupVaultName"])
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		MinRetentionDays, MaxRetentionDays, ChangeableForDays *int64
	}
	if err := decodeJSON(nonEmptyJSON(r.body), &in); err != nil {
		return 0, nil, err
	}
	if v.lock != nil && !v.lock.LockDate.IsZero() && !s.clock.now.Before(v.lock.LockDate) {
		return 0, nil, errorf("InvalidRequestException", "Backup vault %s is locked in compliance mode and its lock cannot be changed.", v.Name)
	}
	l := &vaultLock{}
	if in.MinRetentionDays != nil {
		l.MinDays = *in.MinRetentionDays
	}
	if in.MaxRetentionDays != nil {
		l.MaxDays = *in.MaxRetentionDays
	}
	if l.MaxDays > 0 && l.MinDays > l.MaxDays {
		return 0, nil, errorf("InvalidParameterValueException", "MinRetentionDays must not exceed MaxRetentionDays.")
	}
	if in.ChangeableForDays != nil {
		if *in.ChangeableForDays < 3 {
			return 0, nil, errorf("InvalidParameterValueException", "ChangeableForDays must be at least 3.")
		}
		l.LockDate = s.clock.now.Add(time.Duration(*in.ChangeableForDays) * 24 * time.Hour)
	}
	if err := s.authorize(r, Resource{ARN: v.ARN, Tags: v.Tags}); err != nil {
		return 0, nil, err
	}
	v.lock = l
	return http.StatusOK, nil, nil
}

// vaultLockKeeps reports why a vault lock keeps a recovery point from
// being deleted now, or "". AWS's API reference does not name the error
// DeleteRecoveryPoint answers then; the simulator answers
// InvalidRequestException.
func (s *Sim) vaultLockKeeps(p *recoveryPoint) string {
	l := p.vault.lock
	if l == nil || l.MinDays == 0 {
		return ""
	}
	until := p.job.Created.Add(time.Duration(l.MinDays) * 24 * time.Hour)
	if s.clock.now.Before(until) {
		return "Backup vault " + p.vault.Name + " is locked: its recovery points are kept at least " + strconv.FormatInt(l.MinDays, 10) + " days (until " + isoTime(until) + ")."
	}
	return ""
}
