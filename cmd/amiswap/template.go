package main

// This file is `amiswap template`: print the CloudFormation template, or
// the IAM policy the identity that runs `amiswap deploy` needs.

import (
	"context"
	"flag"
	"fmt"

	"github.com/amiswap/amiswap/deploy"
)

func init() {
	register(command{
		name:    "template",
		summary: "print the CloudFormation template (or the deploying identity's IAM policy)",
		run:     runTemplate,
	})
}

func runTemplate(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("template", "[--deployer-policy [--stack-name NAME] [--artifact-bucket BUCKET] [--partition aws]]", env)
	policy := fs.Bool("deployer-policy", false, "print the IAM policy that the identity running amiswap deploy needs, scoped to the stack and bucket")
	var scope deploy.DeployerScope
	fs.StringVar(&scope.StackName, "stack-name", "amiswap", "with --deployer-policy: the stack's name")
	fs.StringVar(&scope.ArtifactBucket, "artifact-bucket", "", "with --deployer-policy: the artifact bucket (default: any bucket)")
	fs.StringVar(&scope.Partition, "partition", "aws", "with --deployer-policy: the AWS partition (aws, aws-cn, aws-us-gov)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*policy {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name != "deployer-policy" })
		if set {
			return &usageError{"template: --stack-name, --artifact-bucket and --partition go with --deployer-policy"}
		}
		_, err := env.Stdout.Write(deploy.Template())
		return err
	}
	switch scope.Partition {
	case "aws", "aws-cn", "aws-us-gov":
	default:
		return &usageError{fmt.Sprintf("template: --partition %q is not aws, aws-cn or aws-us-gov", scope.Partition)}
	}
	if scope.StackName == "" {
		return &usageError{"template: --stack-name is required"}
	}
	if scope.ArtifactBucket == "" {
		fmt.Fprintln(env.Stderr, "amiswap: template: no --artifact-bucket: the S3 statements name every bucket; pass --artifact-bucket to scope them")
	}
	out, err := deploy.DeployerPolicyJSON(scope)
	if err != nil {
		return err
	}
	_, err = env.Stdout.Write(out)
	return err
}
