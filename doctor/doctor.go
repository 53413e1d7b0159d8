// Package doctor checks, before any backup completes, that swaps can
// succeed in an account: who and where the caller is, the stack and its
// outputs, and for each opted-in Auto Scaling group that it uses a launch
// template whose image resolves, that the stack's roles allow what the
// group needs (asked of IAM with iam:SimulatePrincipalPolicy with the real
// ARNs and context keys), that the builder's subnet reaches Systems
// Manager, that the group's instances are managed by SSM, and that an AWS
// Backup plan selects them. Each check says what is wrong and how to fix
// it. The same calls work against AWS and the amiswap simulator.
package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// The ids of the checks.
const (
	CheckIdentity       = "identity"
	CheckStack          = "stack"
	CheckGroups         = "groups"
	CheckLaunchTemplate = "launch-template"
	CheckImage          = "image"
	CheckIAMLaunch      = "iam-launch"
	CheckIAMUpdateGroup = "iam-update-group"
	CheckKMS            = "kms"
	CheckBuilderNetwork = "builder-network"
	CheckSSMManaged     = "ssm-managed"
	CheckBackupPlan     = "backup-plan"
	CheckVaultLock      = "vault-lock"
)

// Check is one finding: OK, or what is wrong (Detail) and what to do (Fix).
// Group is "" for account-wide checks.
type Check struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Report is every check of one run, with where it ran.
type Report struct {
	Account string  `json:"account"`
	Region  string  `json:"region"`
	Checks  []Check `json:"checks"`
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Options select what to check: the stack's name, and one group (by
// name, opted in or not) instead of every opted-in group.
type Options struct {
	StackName string
	Group     string
}

// Clients are the AWS APIs the checks call.
type Clients struct {
	STS    *sts.Client
	CFN    *cloudformation.Client
	ASG    *autoscaling.Client
	EC2    *ec2.Client
	IAM    *iam.Client
	SSM    *ssm.Client
	Backup *backup.Client
	KMS    *kms.Client
}

// NewClients returns the clients of cfg.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		STS: sts.NewFromConfig(cfg), CFN: cloudformation.NewFromConfig(cfg), ASG: autoscaling.NewFromConfig(cfg),
		EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg), SSM: ssm.NewFromConfig(cfg),
		Backup: backup.NewFromConfig(cfg), KMS: kms.NewFromConfig(cfg),
	}
}

// run is one doctor run's state.
type run struct {
	c         Clients
	opts      Options
	region    string
	partition string
	account   string
	report    *Report
	stack     *stackInfo
	plans     []planSelection // every backup selection, read once
	plansErr  error
	plansRead bool
}

// Run runs every check. Failures of the calls a check makes are that
// check's finding, not an error; the error is the context's.
func Run(ctx context.Context, c Clients, region string, opts Options) (*Report, error) {
	if opts.StackName == "" {
		opts.StackName = "amiswap"
	}
	r := &run{c: c, opts: opts, region: region, partition: partitionOf(region), report: &Report{Region: region, Checks: []Check{}}}
	if !r.identity(ctx) {
		return r.report, ctx.Err()
	}
	r.stackCheck(ctx)
	groups := r.groups(ctx)
	for _, g := range groups {
		if ctx.Err() != nil {
			break
		}
		r.group(ctx, g)
	}
	return r.report, ctx.Err()
}

func (r *run) add(c Check) { r.report.Checks = append(r.report.Checks, c) }

func (r *run) pass(id, group, detail string) {
	r.add(Check{ID: id, Group: group, OK: true, Detail: detail})
}

func (r *run) fail(id, group, detail, fix string) {
	r.add(Check{ID: id, Group: group, Detail: detail, Fix: fix})
}

// partitionOf is the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (r *run) identity(ctx context.Context) bool {
	out, err := r.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		r.fail(CheckIdentity, "", "sts:GetCallerIdentity: "+err.Error(),
			"configure credentials: --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and a region (--region or AWS_REGION)")
		return false
	}
	r.account = aws.ToString(out.Account)
	r.report.Account = r.account
	r.pass(CheckIdentity, "", fmt.Sprintf("account %s, region %s, identity %s", r.account, r.region, aws.ToString(out.Arn)))
	return true
}

// groups returns the groups to check: the one named, or every group
// tagged amiswap:enabled=true.
func (r *run) groups(ctx context.Context) []asgtypes.AutoScalingGroup {
	in := &autoscaling.DescribeAutoScalingGroupsInput{}
	if r.opts.Group != "" {
		in.AutoScalingGroupNames = []string{r.opts.Group}
	}
	var out []asgtypes.AutoScalingGroup
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(r.c.ASG, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.fail(CheckGroups, r.opts.Group, "autoscaling:DescribeAutoScalingGroups: "+err.Error(), "allow the caller autoscaling:DescribeAutoScalingGroups")
			return nil
		}
		for _, g := range page.AutoScalingGroups {
			if r.opts.Group != "" || groupTag(g, amiswap.TagEnabled) == "true" {
				out = append(out, g)
			}
		}
	}
	switch {
	case r.opts.Group != "" && len(out) == 0:
		r.fail(CheckGroups, r.opts.Group, "no Auto Scaling group "+r.opts.Group+" in "+r.region, "check the group's name and the region")
	case len(out) == 0:
		r.fail(CheckGroups, "", "no Auto Scaling group is tagged "+amiswap.TagEnabled+"=true", "tag each group amiswap should keep on a golden AMI "+amiswap.TagEnabled+"=true")
	case r.opts.Group != "" && groupTag(out[0], amiswap.TagEnabled) != "true":
		r.fail(CheckGroups, r.opts.Group, "group "+r.opts.Group+" is not tagged "+amiswap.TagEnabled+"=true: its backups are skipped", "tag the group "+amiswap.TagEnabled+"=true")
	default:
		names := make([]string, 0, len(out))
		for _, g := range out {
			names = append(names, aws.ToString(g.AutoScalingGroupName))
		}
		sort.Strings(names)
		r.pass(CheckGroups, r.opts.Group, "checking "+strings.Join(names, ", "))
	}
	return out
}

func groupTag(g asgtypes.AutoScalingGroup, key string) string {
	for _, t := range g.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
