package main

// This file holds what `amiswap run` finds out before it starts an
// execution: that the id it was given exists where it is about to act,
// and, for --dry-run, the plan of the swap.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// idChecker is the part of EC2 and AWS Backup that checkExists reads.
type idChecker interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

type jobChecker interface {
	DescribeBackupJob(ctx context.Context, in *backup.DescribeBackupJobInput, optFns ...func(*backup.Options)) (*backup.DescribeBackupJobOutput, error)
}

// checkExists makes sure that the instance or backup job a run was started
// with exists in the target account and region. A typo or the wrong
// region is a usage error (exit 2) naming both, not a skipped swap;
// events (--event) are not checked, so that a gone instance still skips.
//
// EC2 answers DescribeInstances for an id it does not know with
// InvalidInstanceID.NotFound ("Error codes for the Amazon EC2 API",
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html);
// AWS Backup answers DescribeBackupJob with ResourceNotFoundException
// ("DescribeBackupJob", AWS Backup API Reference,
// https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DescribeBackupJob.html).
func checkExists(ctx context.Context, ec idChecker, bk jobChecker, t *awsTarget, req amiswap.Request) error {
	where := fmt.Sprintf("account %s, region %s", t.Account, t.Region)
	if t.Sim != nil {
		where += " (simulator " + t.Endpoint + ")"
	}
	var ae smithy.APIError
	if req.InstanceID != "" {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{req.InstanceID}})
		switch {
		case errors.As(err, &ae) && ae.ErrorCode() == "InvalidInstanceID.NotFound":
			return &usageError{fmt.Sprintf("run: instance %s does not exist in %s", req.InstanceID, where)}
		case err != nil:
			return fmt.Errorf("run: look up instance %s: %w", req.InstanceID, err)
		case len(out.Reservations) == 0:
			return &usageError{fmt.Sprintf("run: instance %s does not exist in %s", req.InstanceID, where)}
		}
	}
	if req.BackupJobID != "" {
		_, err := bk.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String(req.BackupJobID)})
		switch {
		case errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException":
			return &usageError{fmt.Sprintf("run: backup job %s does not exist in %s", req.BackupJobID, where)}
		case err != nil:
			return fmt.Errorf("run: look up backup job %s: %w", req.BackupJobID, err)
		}
	}
	return nil
}

// plan is what `run --dry-run` prints: the target Resolve found and the
// changes a run would make, in order.
type plan struct {
	DryRun    bool            `json:"dryRun"`
	Where     string          `json:"where"`
	LockTable string          `json:"lockTable"`
	TopicArn  string          `json:"topicArn"`
	Target    *amiswap.Target `json:"target"`
	Changes   []string        `json:"changes"`
}

// dryRun resolves the request with the Resolve handler (which only reads:
// Describe*, Get* and List* calls) and returns the plan.
func dryRun(ctx context.Context, reg *workflow.Registry, t *awsTarget, conf workflow.Config, req amiswap.Request, now time.Time) (*plan, error) {
	payload, err := json.Marshal(map[string]any{
		"op":      "resolve",
		"state":   req,
		"context": map[string]any{"executionId": "dry-run", "enteredTime": now.UTC()},
	})
	if err != nil {
		return nil, fmt.Errorf("run: --dry-run: %w", err)
	}
	out, err := reg.Invoke(ctx, "", payload)
	if err != nil {
		return nil, fmt.Errorf("run: --dry-run: resolve: %w", err)
	}
	var target amiswap.Target
	if err := json.Unmarshal(out, &target); err != nil {
		return nil, fmt.Errorf("run: --dry-run: read what resolve found: %w", err)
	}
	p := &plan{DryRun: true, Where: t.String(), LockTable: conf.LockTable, TopicArn: conf.TopicArn, Target: &target}
	if !target.Skip {
		p.Changes = planChanges(&target, conf)
	}
	return p, nil
}

// planChanges lists what a swap of target would change, in order.
func planChanges(tg *amiswap.Target, conf workflow.Config) []string {
	var c []string
	if conf.LockTable != "" {
		c = append(c, fmt.Sprintf("lock group %s in DynamoDB table %s", tg.Group, conf.LockTable))
	}
	if tg.Settings.FreezeMaxSize {
		c = append(c, fmt.Sprintf("hold MaxSize of %s at %d (now %d) during the build, saving the original in tag %s", tg.Group, tg.Capacity.Desired, tg.Capacity.Max, amiswap.TagOriginalMaxSize))
	}
	c = append(c, fmt.Sprintf("launch a builder (%s) from %s in subnet %s", tg.Builder.InstanceType, tg.Source.ImageID, tg.Builder.SubnetID))
	doc := "AWS-RunShellScript with the Linux cleanup script"
	if strings.EqualFold(platformOf(tg), "windows") {
		doc = "AWSEC2-RunSysprep"
	}
	c = append(c, "generalize it with "+doc+", stop it and create a golden AMI (tagged with its lineage)")
	lt := tg.LaunchTemplate.ID
	if tg.LaunchTemplate.Name != "" {
		lt += " (" + tg.LaunchTemplate.Name + ")"
	}
	c = append(c, fmt.Sprintf("create a version of launch template %s from version %s with only ImageId changed (%s → the golden AMI); the group, on %s, follows it",
		lt, tg.LaunchTemplate.SourceVersion, tg.LaunchTemplate.ImageID, tg.LaunchTemplate.Version))
	if tg.Settings.FreezeMaxSize {
		c = append(c, fmt.Sprintf("restore MaxSize of %s to %d", tg.Group, tg.Capacity.Max))
	}
	if tg.Settings.Refresh == "rolling" {
		c = append(c, fmt.Sprintf("start an instance refresh of %s (min healthy %d%%) and wait for it", tg.Group, tg.Settings.MinHealthyPercentage))
	} else {
		c = append(c, "leave the running instances alone (amiswap:refresh is none): new instances launch the golden AMI")
	}
	c = append(c, "terminate the builder")
	if tg.Settings.DeleteRecoveryPoint {
		c = append(c, "delete recovery point "+tg.Source.RecoveryPointArn)
	}
	c = append(c, fmt.Sprintf("keep the newest %d golden AMIs of %s, deregistering older ones and their snapshots", tg.Settings.Keep, tg.Group))
	if conf.TopicArn != "" {
		c = append(c, "notify SNS topic "+conf.TopicArn)
	}
	return c
}

func platformOf(tg *amiswap.Target) string {
	if tg.Settings.OS != "" {
		return tg.Settings.OS
	}
	return tg.Source.Platform
}

// print writes the plan for people.
func (p *plan) print(w io.Writer) {
	tg := p.Target
	fmt.Fprintf(w, "dry run against %s: nothing was changed\n", p.Where)
	if tg.Skip {
		fmt.Fprintf(w, "would skip: %s\n", tg.SkipReason)
		return
	}
	lock := p.LockTable
	if lock == "" {
		lock = "none"
	}
	fmt.Fprintf(w, "  group             %s (min %d, max %d, desired %d)\n", tg.Group, tg.Capacity.Min, tg.Capacity.Max, tg.Capacity.Desired)
	fmt.Fprintf(w, "  launch template   %s %s, version %s (= %s), AMI %s\n", tg.LaunchTemplate.ID, tg.LaunchTemplate.Name, tg.LaunchTemplate.Version, tg.LaunchTemplate.SourceVersion, tg.LaunchTemplate.ImageID)
	fmt.Fprintf(w, "  backup            job %s of %s, recovery point %s (AMI %s, %s)\n", tg.Source.BackupJobID, tg.Source.InstanceID, tg.Source.RecoveryPointArn, tg.Source.ImageID, platformOf(tg))
	profile := tg.Builder.InstanceProfile
	if profile == "" {
		profile = tg.Builder.InstanceProfileArn
	}
	fmt.Fprintf(w, "  builder           %s in subnet %s, security groups %s, instance profile %s\n", tg.Builder.InstanceType, tg.Builder.SubnetID, strings.Join(tg.Builder.SecurityGroupIDs, ","), orNone(profile))
	fmt.Fprintf(w, "  settings          refresh %s, keep %d, freeze MaxSize %v, delete recovery point %v\n", tg.Settings.Refresh, tg.Settings.Keep, tg.Settings.FreezeMaxSize, tg.Settings.DeleteRecoveryPoint)
	fmt.Fprintf(w, "  lock table        %s\n", lock)
	fmt.Fprintf(w, "  notifications     %s\n", orNone(p.TopicArn))
	fmt.Fprintf(w, "a run would:\n")
	for i, c := range p.Changes {
		fmt.Fprintf(w, "  %d. %s\n", i+1, c)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
