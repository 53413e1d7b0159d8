package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/amiswap/amiswap/doctor"
)

func init() {
	register(command{name: "doctor", summary: "check that swaps can succeed in the account: stack, roles, groups, network, SSM, backup plans", run: runDoctor})
}

// doctorInput are the flags of `amiswap doctor`.
type doctorInput struct {
	StackName, Group string
	JSON             bool
	AWS              awsFlags
}

// cfnStackNameRe is CloudFormation's stack name: a letter, then letters,
// digits and hyphens, at most 128 characters.
var cfnStackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

func runDoctor(ctx context.Context, args []string, env *Env) error {
	var in doctorInput
	fs := newFlagSet("doctor", "[--stack-name amiswap] [--group NAME] [--json] [--region R] [--profile P]", env)
	fs.StringVar(&in.StackName, "stack-name", "amiswap", "the deployed stack whose roles and parameters swaps use")
	fs.StringVar(&in.Group, "group", "", "check only this Auto Scaling group (opted in or not); default: every group tagged amiswap:enabled=true")
	fs.BoolVar(&in.JSON, "json", false, `print one JSON document {"account","region","checks":[{"id","group","ok","detail","fix"}]} on stdout`)
	in.AWS.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !cfnStackNameRe.MatchString(in.StackName) {
		return &usageError{fmt.Sprintf("doctor: --stack-name %q is not a CloudFormation stack name (a letter, then letters, digits and hyphens, at most 128)", in.StackName)}
	}
	if in.Group != "" && !groupNameOK(in.Group) {
		return &usageError{fmt.Sprintf("doctor: --group %q is not an Auto Scaling group name (1-255 characters, no colon)", in.Group)}
	}
	var report *doctor.Report
	target, err := loadAWS(ctx, env, "doctor", in.AWS)
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return err
	case err != nil:
		// No identity: the one check that could run says why.
		report = &doctor.Report{Region: in.AWS.Region, Checks: []doctor.Check{{ID: doctor.CheckIdentity, Detail: err.Error(),
			Fix: "configure credentials: --profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and a region (--region or AWS_REGION)"}}}
	default:
		fmt.Fprintf(env.Stderr, "amiswap doctor: checking %s, stack %s\n", target, in.StackName)
		if report, err = doctor.Run(ctx, doctor.NewClients(target.Config), target.Region, doctor.Options{StackName: in.StackName, Group: in.Group}); err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
	}
	if in.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return fmt.Errorf("doctor: write the report: %w", err)
		}
	} else {
		printDoctor(env, report)
	}
	if !report.OK() {
		return &exitError{code: 1}
	}
	return nil
}

// printDoctor prints each check as ✓ or ✗, with the fix under a failed one.
func printDoctor(env *Env, r *doctor.Report) {
	failed := 0
	for _, c := range r.Checks {
		mark := "✓"
		if !c.OK {
			mark, failed = "✗", failed+1
		}
		where := c.ID
		if c.Group != "" {
			where += " [" + c.Group + "]"
		}
		fmt.Fprintf(env.Stdout, "%s %s: %s\n", mark, where, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(env.Stdout, "    fix: %s\n", c.Fix)
		}
	}
	if failed == 0 {
		fmt.Fprintf(env.Stdout, "all %d checks passed: swaps can succeed\n", len(r.Checks))
		return
	}
	fmt.Fprintf(env.Stdout, "%d of %d checks failed\n", failed, len(r.Checks))
}
