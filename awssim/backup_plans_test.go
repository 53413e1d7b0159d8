package awssim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// TestBackupPlansAndSelections creates a plan with a rule and two
// selections — by resource ARN and by tags (ListOfTags and Conditions,
// "Assign resources to a backup plan", AWS Backup developer guide,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/assigning-resources.html)
// — and reads them back as the SDK does.
func TestBackupPlansAndSelections(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := backup.NewFromConfig(ts.Cfg)
	plan, err := c.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &backuptypes.BackupPlanInput{
		BackupPlanName: aws.String("daily"),
		Rules: []backuptypes.BackupRuleInput{{RuleName: aws.String("nightly"), TargetBackupVaultName: aws.String("Default"),
			ScheduleExpression: aws.String("cron(0 3 * * ? *)"), Lifecycle: &backuptypes.Lifecycle{DeleteAfterDays: aws.Int64(14)}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &backuptypes.BackupPlanInput{
		BackupPlanName: aws.String("bad"), Rules: []backuptypes.BackupRuleInput{{RuleName: aws.String("r"), TargetBackupVaultName: aws.String("nope")}},
	}}); ssmErrCode(err) != "ResourceNotFoundException" {
		t.Errorf("a rule into an unknown vault: %v", err)
	}
	id := plan.BackupPlanId
	role := aws.String(testBackupRole)
	byARN, err := c.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: id, BackupSelection: &backuptypes.BackupSelection{
		SelectionName: aws.String("one"), IamRoleArn: role, Resources: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"}}})
	if err != nil {
		t.Fatal(err)
	}
	byTag, err := c.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: id, BackupSelection: &backuptypes.BackupSelection{
		SelectionName: aws.String("tagged"), IamRoleArn: role,
		ListOfTags: []backuptypes.Condition{{ConditionType: backuptypes.ConditionTypeStringequals, ConditionKey: aws.String("backup"), ConditionValue: aws.String("daily")}},
		Conditions: &backuptypes.Conditions{StringEquals: []backuptypes.ConditionParameter{{ConditionKey: aws.String("aws:ResourceTag/env"), ConditionValue: aws.String("prod")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: id, BackupSelection: &backuptypes.BackupSelection{
		SelectionName: aws.String("empty"), IamRoleArn: role}}); ssmErrCode(err) != "InvalidParameterValueException" {
		t.Errorf("a selection of nothing: %v", err)
	}

	plans, err := c.ListBackupPlans(ctx, &backup.ListBackupPlansInput{})
	if err != nil || len(plans.BackupPlansList) != 1 || aws.ToString(plans.BackupPlansList[0].BackupPlanName) != "daily" {
		t.Fatalf("ListBackupPlans: %v %+v", err, plans)
	}
	got, err := c.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: id})
	if err != nil || len(got.BackupPlan.Rules) != 1 || aws.ToString(got.BackupPlan.Rules[0].TargetBackupVaultName) != "Default" || aws.ToString(got.BackupPlan.Rules[0].RuleId) == "" {
		t.Fatalf("GetBackupPlan: %v %+v", err, got)
	}
	sels, err := c.ListBackupSelections(ctx, &backup.ListBackupSelectionsInput{BackupPlanId: id})
	if err != nil || len(sels.BackupSelectionsList) != 2 {
		t.Fatalf("ListBackupSelections: %v %+v", err, sels)
	}
	one, err := c.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: id, SelectionId: byARN.SelectionId})
	if err != nil || len(one.BackupSelection.Resources) != 1 {
		t.Fatalf("GetBackupSelection by ARN: %v %+v", err, one)
	}
	tagged, err := c.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: id, SelectionId: byTag.SelectionId})
	if err != nil || len(tagged.BackupSelection.ListOfTags) != 1 || aws.ToString(tagged.BackupSelection.ListOfTags[0].ConditionValue) != "daily" ||
		tagged.BackupSelection.Conditions == nil || len(tagged.BackupSelection.Conditions.StringEquals) != 1 {
		t.Fatalf("GetBackupSelection by tags: %v %+v", err, tagged)
	}
	if _, err := c.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String("00000000-0000-0000-0000-000000000000")}); ssmErrCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown plan: %v", err)
	}
}

// TestBackupVaultLock: DescribeBackupVault reports the lock (Locked,
// MinRetentionDays), and a recovery point younger than MinRetentionDays
// cannot be deleted ("AWS Backup Vault Lock", AWS Backup developer guide,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html).
func TestBackupVaultLock(t *testing.T) {
	ts, c, start := backupOfNewInstance(t)
	ctx := context.Background()
	ts.Advance(ts.dur.BackupJob)
	if _, err := c.PutBackupVaultLockConfiguration(ctx, &backup.PutBackupVaultLockConfigurationInput{BackupVaultName: aws.String("Default"), MinRetentionDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	v, err := c.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String("Default")})
	if err != nil || !aws.ToBool(v.Locked) || aws.ToInt64(v.MinRetentionDays) != 7 {
		t.Fatalf("DescribeBackupVault: %v %+v", err, v)
	}
	del := &backup.DeleteRecoveryPointInput{BackupVaultName: aws.String("Default"), RecoveryPointArn: start.RecoveryPointArn}
	if _, err := c.DeleteRecoveryPoint(ctx, del); ssmErrCode(err) != "InvalidRequestException" {
		t.Fatalf("delete under the lock: %v", err)
	}
	ts.Advance(7 * 24 * time.Hour)
	if _, err := c.DeleteRecoveryPoint(ctx, del); err != nil {
		t.Errorf("delete after MinRetentionDays: %v", err)
	}
}
