package doctor

// This file checks that an AWS Backup plan selects the group's instances
// (amiswap starts from their completed backups) and reports a vault lock
// that would keep the recovery points amiswap deletes.

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// planSelection is one selection of one plan, with the vaults its rules
// back up into.
type planSelection struct {
	plan, selection string
	vaults          []string
	sel             *backuptypes.BackupSelection
}

// readPlans reads every plan's selections once.
func (r *run) readPlans(ctx context.Context) {
	if r.plansRead {
		return
	}
	r.plansRead = true
	pp := backup.NewListBackupPlansPaginator(r.c.Backup, &backup.ListBackupPlansInput{})
	for pp.HasMorePages() {
		page, err := pp.NextPage(ctx)
		if err != nil {
			r.plansErr = fmt.Errorf("backup:ListBackupPlans: %w", err)
			return
		}
		for _, p := range page.BackupPlansList {
			plan, err := r.c.Backup.GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: p.BackupPlanId})
			if err != nil {
				r.plansErr = fmt.Errorf("backup:GetBackupPlan %s: %w", aws.ToString(p.BackupPlanId), err)
				return
			}
			var vaults []string
			if plan.BackupPlan != nil {
				for _, rule := range plan.BackupPlan.Rules {
					vaults = append(vaults, aws.ToString(rule.TargetBackupVaultName))
				}
			}
			sp := backup.NewListBackupSelectionsPaginator(r.c.Backup, &backup.ListBackupSelectionsInput{BackupPlanId: p.BackupPlanId})
			for sp.HasMorePages() {
				sels, err := sp.NextPage(ctx)
				if err != nil {
					r.plansErr = fmt.Errorf("backup:ListBackupSelections %s: %w", aws.ToString(p.BackupPlanId), err)
					return
				}
				for _, s := range sels.BackupSelectionsList {
					got, err := r.c.Backup.GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: p.BackupPlanId, SelectionId: s.SelectionId})
					if err != nil {
						r.plansErr = fmt.Errorf("backup:GetBackupSelection %s: %w", aws.ToString(s.SelectionId), err)
						return
					}
					r.plans = append(r.plans, planSelection{plan: aws.ToString(p.BackupPlanName), selection: aws.ToString(s.SelectionName), vaults: vaults, sel: got.BackupSelection})
				}
			}
		}
	}
}

// backupPlan checks that a plan selects every instance of the group, and
// reports a vault lock of the plans' vaults (the check vault-lock).
func (r *run) backupPlan(ctx context.Context, gi *groupInfo) {
	r.readPlans(ctx)
	if r.plansErr != nil {
		r.fail(CheckBackupPlan, gi.name, r.plansErr.Error(), "allow the caller backup:ListBackupPlans, backup:GetBackupPlan, backup:ListBackupSelections and backup:GetBackupSelection")
		return
	}
	type target struct {
		arn  string
		tags map[string]string
	}
	var targets []target
	if len(gi.instances) > 0 {
		out, err := r.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: gi.instances})
		if err != nil {
			r.fail(CheckBackupPlan, gi.name, "ec2:DescribeInstances: "+err.Error(), "allow the caller ec2:DescribeInstances")
			return
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				t := map[string]string{}
				for _, x := range in.Tags {
					t[aws.ToString(x.Key)] = aws.ToString(x.Value)
				}
				targets = append(targets, target{r.ec2ARN("instance/" + aws.ToString(in.InstanceId)), t})
			}
		}
	} else {
		// What the group's instances will carry: its name and the tags
		// it propagates.
		t := map[string]string{"aws:autoscaling:groupName": gi.name}
		for _, x := range gi.g.Tags {
			if aws.ToBool(x.PropagateAtLaunch) {
				t[aws.ToString(x.Key)] = aws.ToString(x.Value)
			}
		}
		targets = append(targets, target{r.ec2ARN("instance/i-*"), t})
	}
	fix := "create an AWS Backup plan with a selection of the group's instances, e.g. by the tag aws:autoscaling:groupName=" + gi.name +
		" (Auto Scaling puts it on every instance): aws backup create-backup-selection --backup-plan-id PLAN --backup-selection " +
		`'{"SelectionName":"` + gi.name + `","IamRoleArn":"arn:` + r.partition + `:iam::` + r.account + `:role/service-role/AWSBackupDefaultServiceRole","ListOfTags":[{"ConditionType":"STRINGEQUALS","ConditionKey":"aws:autoscaling:groupName","ConditionValue":"` + gi.name + `"}]}'`
	var by []string
	vaults := map[string]bool{}
	uncovered := 0
	for _, t := range targets {
		found := false
		for _, ps := range r.plans {
			if selects(ps.sel, t.arn, t.tags) {
				found = true
				by = append(by, ps.plan+"/"+ps.selection)
				for _, v := range ps.vaults {
					vaults[v] = true
				}
			}
		}
		if !found {
			uncovered++
		}
	}
	if uncovered > 0 {
		r.fail(CheckBackupPlan, gi.name, fmt.Sprintf("no backup plan selects %d of the group's %d instances: no backup, no swap", uncovered, len(targets)), fix)
		return
	}
	r.pass(CheckBackupPlan, gi.name, "selected by "+strings.Join(dedupe(by), ", "))
	r.vaultLock(ctx, gi, vaults)
}

func dedupe(list []string) []string {
	sort.Strings(list)
	out := list[:0]
	for i, s := range list {
		if i == 0 || s != list[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// selects reports whether a backup selection assigns a resource: by its
// ARN (Resources, with wildcards) or one of ListOfTags, and every one of
// Conditions, and not by NotResources ("Assign resources to a backup
// plan", AWS Backup developer guide).
func selects(s *backuptypes.BackupSelection, arn string, tags map[string]string) bool {
	if s == nil {
		return false
	}
	for _, p := range s.NotResources {
		if like(p, arn) {
			return false
		}
	}
	picked := len(s.Resources) == 0 && len(s.ListOfTags) == 0
	for _, p := range s.Resources {
		picked = picked || like(p, arn)
	}
	for _, c := range s.ListOfTags {
		if v, ok := tags[strings.TrimPrefix(aws.ToString(c.ConditionKey), "aws:ResourceTag/")]; ok && v == aws.ToString(c.ConditionValue) {
			picked = true
		}
	}
	if !picked {
		return false
	}
	if c := s.Conditions; c != nil {
		val := func(p backuptypes.ConditionParameter) (string, bool) {
			v, ok := tags[strings.TrimPrefix(aws.ToString(p.ConditionKey), "aws:ResourceTag/")]
			return v, ok
		}
		for _, p := range c.StringEquals {
			if v, ok := val(p); !ok || v != aws.ToString(p.ConditionValue) {
				return false
			}
		}
		for _, p := range c.StringNotEquals {
			if v, ok := val(p); ok && v == aws.ToString(p.ConditionValue) {
				return false
			}
		}
		for _, p := range c.StringLike {
			if v, ok := val(p); !ok || !like(aws.ToString(p.ConditionValue), v) {
				return false
			}
		}
		for _, p := range c.StringNotLike {
			if v, ok := val(p); ok && like(aws.ToString(p.ConditionValue), v) {
				return false
			}
		}
	}
	return true
}

// like matches * and ? wildcards.
func like(pattern, s string) bool {
	// path.Match treats / specially; ARNs and tag values hold slashes, so
	// they are swapped for a character neither contains.
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return ok || pattern == "*"
}

// vaultLock reports a lock on the vaults the group's backups go to that
// keeps recovery points amiswap would delete.
func (r *run) vaultLock(ctx context.Context, gi *groupInfo, vaults map[string]bool) {
	if groupTag(gi.g, amiswap.TagDeleteRecoveryPoint) == "false" {
		r.pass(CheckVaultLock, gi.name, "the group keeps its recovery points ("+amiswap.TagDeleteRecoveryPoint+"=false)")
		return
	}
	names := make([]string, 0, len(vaults))
	for v := range vaults {
		names = append(names, v)
	}
	sort.Strings(names)
	var locked []string
	for _, v := range names {
		out, err := r.c.Backup.DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(v)})
		if err != nil {
			r.fail(CheckVaultLock, gi.name, "backup:DescribeBackupVault "+v+": "+err.Error(), "allow the caller backup:DescribeBackupVault")
			return
		}
		if aws.ToBool(out.Locked) && aws.ToInt64(out.MinRetentionDays) > 0 {
			locked = append(locked, fmt.Sprintf("%s (vault lock: recovery points kept at least %d days)", v, aws.ToInt64(out.MinRetentionDays)))
		}
	}
	if len(locked) > 0 {
		r.fail(CheckVaultLock, gi.name, "the group's backups go to "+strings.Join(locked, ", ")+": amiswap cannot delete their recovery points after a swap, and reports them kept",
			"tag the group "+amiswap.TagDeleteRecoveryPoint+"=false to keep them on purpose, or back it up into a vault without a lock")
		return
	}
	r.pass(CheckVaultLock, gi.name, "no vault lock keeps the group's recovery points ("+strings.Join(names, ", ")+")")
}
