package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/status"
	"github.com/amiswap/amiswap/store"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

func init() {
	register(command{name: "status", summary: "show each opted-in group's AMI, its lineage, kept AMIs, last swap, lock and settings", run: runStatus})
}

// statusInput are the flags of `amiswap status`.
type statusInput struct {
	Group, StackName, LockTable, HistoryDir string
	JSON                                    bool
	AWS                                     awsFlags
}

func runStatus(ctx context.Context, args []string, env *Env) error {
	var in statusInput
	fs := newFlagSet("status", "[--group NAME] [--json] [flags]", env)
	fs.StringVar(&in.Group, "group", "", "only this Auto Scaling group (opted in or not)")
	fs.BoolVar(&in.JSON, "json", false, "print the report as one JSON document")
	fs.StringVar(&in.StackName, "stack-name", "amiswap", "the deployed stack: its executions give the last swap and its table the locks")
	fs.StringVar(&in.LockTable, "lock-table", env.Getenv("AMISWAP_LOCK_TABLE"), "DynamoDB lock table (default: the stack's)")
	fs.StringVar(&in.HistoryDir, "history-dir", defaultHistoryDir(env), "local execution histories (the last swap when there is no stack)")
	in.AWS.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if in.Group != "" && !groupNameOK(in.Group) {
		return &usageError{fmt.Sprintf("status: --group %q is not an Auto Scaling group name (1-255 characters, no colon)", in.Group)}
	}
	target, err := loadAWS(ctx, env, "status", in.AWS)
	if err != nil {
		return err
	}
	cfg := target.Config
	now := time.Now()
	if target.Sim != nil {
		now = target.Sim.Now()
	}
	opts := status.Options{ASG: autoscaling.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), Group: in.Group, Now: now, LockTable: in.LockTable}
	stack, err := findStack(ctx, cloudformation.NewFromConfig(cfg), in.StackName)
	if err != nil {
		fmt.Fprintf(env.Stderr, "amiswap: status: %v; the last swaps come from the local history only\n", err)
	}
	// The last swap: the deployed stack's executions (when there is a
	// stack) and the local history, the newest of both.
	st, err := store.Open(in.HistoryDir)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	defer st.Close()
	finders := []status.SwapFinder{status.HistorySwaps{Store: st}}
	source := "local history " + in.HistoryDir
	if stack != nil && len(stack.StateMachines) > 0 {
		finders = append(finders, status.StackSwaps{SFN: sfn.NewFromConfig(cfg), StateMachines: stack.StateMachines})
		source = "stack " + in.StackName + " and the " + source
		if opts.LockTable == "" {
			opts.LockTable = stack.LockTable
		}
	}
	opts.Swaps = status.Merged{Finders: finders, Warn: func(err error) {
		fmt.Fprintf(env.Stderr, "amiswap: status: %v\n", err)
	}}
	if opts.LockTable != "" {
		opts.Locks = dynamodb.NewFromConfig(cfg)
	}
	rep, err := status.Collect(ctx, opts)
	if errors.Is(err, status.ErrNoGroup) {
		return &usageError{fmt.Sprintf("status: no Auto Scaling group %q in region %s", in.Group, cfg.Region)}
	}
	if err != nil {
		return err
	}
	rep.SwapSource = source
	if in.JSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
		return nil
	}
	return printStatus(env.Stdout, rep, in.Group != "")
}

// groupNameOK checks an Auto Scaling group name as the API does: 1 to 255
// characters, no colon (a colon makes it an ARN).
func groupNameOK(s string) bool {
	return len(s) >= 1 && len(s) <= 255 && !strings.Contains(s, ":")
}

// deployedStack is what status and rollback read of the deployed stack.
type deployedStack struct {
	StateMachines []string
	LockTable     string
}

// stackDescriber is what findStack calls.
type stackDescriber interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// findStack reads the stack's outputs; a stack that does not exist is
// (nil, nil). Any other failure is returned, to be reported, not fatal.
func findStack(ctx context.Context, c stackDescriber, name string) (*deployedStack, error) {
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var code interface{ ErrorCode() string }
		if errors.As(err, &code) && code.ErrorCode() == "ValidationError" && strings.Contains(err.Error(), "does not exist") {
			return nil, nil
		}
		return nil, fmt.Errorf("read stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	st := &deployedStack{}
	for _, o := range out.Stacks[0].Outputs {
		switch aws.ToString(o.OutputKey) {
		case "StateMachineArn", "RollbackStateMachineArn":
			st.StateMachines = append(st.StateMachines, aws.ToString(o.OutputValue))
		case "LockTableName":
			st.LockTable = aws.ToString(o.OutputValue)
		}
	}
	slices.Sort(st.StateMachines)
	return st, nil
}

// printStatus prints the report as a table; with detail (one group), the
// lineage, kept AMIs and every setting follow.
func printStatus(w io.Writer, rep *status.Report, detail bool) error {
	if len(rep.Groups) == 0 {
		fmt.Fprintf(w, "no opted-in groups (tag a group %s=true)\n", amiswap.TagEnabled)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tIMAGE\tGOLDEN\tAGE\tKEPT\tLAST SWAP\tLOCK\tSETTINGS")
	for _, g := range rep.Groups {
		golden, age := "not golden", "-"
		if g.Golden != nil {
			golden, age = "backup "+g.Golden.BackupJob, g.Golden.Age
		}
		if g.Problem != "" && g.LaunchTemplate == nil {
			golden = g.Problem
		}
		last := "-"
		if s := g.LastSwap; s != nil {
			last = fmt.Sprintf("%s %s (%s)", s.Outcome, s.When.UTC().Format(time.RFC3339), s.Execution)
		}
		lock := "free"
		if g.Locked {
			lock = "held by " + g.LockOwner
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", g.Name, orDash(g.ImageID), golden, age, len(g.KeptImages), last, lock, tagSettings(g.Settings))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.SwapSource != "" {
		fmt.Fprintf(w, "last swaps from the %s\n", rep.SwapSource)
	}
	if !detail {
		return nil
	}
	for _, g := range rep.Groups {
		fmt.Fprintf(w, "\ngroup %s\n", g.Name)
		if lt := g.LaunchTemplate; lt != nil {
			fmt.Fprintf(w, "  launch template  %s %s version %s (%s)\n", lt.ID, lt.Name, orDefault(lt.Version), lt.ResolvedVersion)
		}
		if gd := g.Golden; gd != nil {
			fmt.Fprintf(w, "  golden AMI       %s from instance %s, backup job %s, recovery point %s\n", gd.ImageID, gd.SourceInstance, gd.BackupJob, gd.RecoveryPoint)
			fmt.Fprintf(w, "                   parent %s, execution %s, created %s (%s ago)\n", gd.ParentImage, gd.Execution, gd.Created.Format(time.RFC3339), gd.Age)
		} else {
			fmt.Fprintf(w, "  AMI              %s is not a golden AMI (no swap yet)\n", orDash(g.ImageID))
		}
		for _, im := range g.KeptImages {
			cur := ""
			if im.Current {
				cur = "  (current)"
			}
			fmt.Fprintf(w, "  kept             %s %s %s%s\n", im.ImageID, im.Created.Format(time.RFC3339), im.Name, cur)
		}
		tags := make([]string, 0, len(g.Settings))
		for k := range g.Settings {
			tags = append(tags, k)
		}
		slices.Sort(tags)
		for _, k := range tags {
			s := g.Settings[k]
			v := s.Value
			if v == "" {
				v = s.Default
			}
			line := fmt.Sprintf("  %-32s %s (%s)", k, v, s.Source)
			if s.Error != "" {
				line += "  ✗ " + s.Error
			}
			fmt.Fprintln(w, line)
		}
	}
	return nil
}

// tagSettings lists the settings a group sets by tag, or "defaults".
func tagSettings(m map[string]amiswap.SettingSource) string {
	var out []string
	for k, s := range m {
		if s.Source == "tag" {
			out = append(out, strings.TrimPrefix(k, "amiswap:")+"="+s.Value)
		}
	}
	if len(out) == 0 {
		return "defaults"
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orDefault(v string) string {
	if v == "" {
		return "$Default"
	}
	return v
}
