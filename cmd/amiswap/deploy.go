package main

// This file is `amiswap deploy`: create or update the amiswap stack (the
// template of `amiswap template`) through a change set that it shows and,
// on a terminal, asks about before executing; or delete the stack.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/amiswap/amiswap/deploy"
)

func init() {
	register(command{
		name:    "deploy",
		summary: "create or update the amiswap stack in AWS (or delete it)",
		run:     runDeploy,
	})
}

// kmsKeyArnRe is a KMS key ARN, which IAM policies name keys by.
var kmsKeyArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)

func runDeploy(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("deploy", "--stack-name NAME --artifact-bucket BUCKET --builder-role-arns ARN[,ARN…] [--create-bucket] [--yes] [flags] | --delete [--force] [--yes]", env)
	var o deploy.Options
	var awsf awsFlags
	var subnet, groups, profile, roles, kmsKeys, email, retention, lockTTL string
	var del, yes bool
	awsf.register(fs)
	fs.StringVar(&o.StackName, "stack-name", "amiswap", "CloudFormation stack name (also the prefix of the resources' names)")
	fs.StringVar(&o.ArtifactBucket, "artifact-bucket", "", "S3 bucket in the stack's region for the Lambda package and the template (required to deploy)")
	fs.BoolVar(&o.CreateBucket, "create-bucket", false, "create the artifact bucket when it does not exist (public access blocked)")
	fs.StringVar(&o.LambdaZip, "lambda-zip", "dist/amiswap-lambda.zip", "Lambda package built by make lambda")
	fs.StringVar(&subnet, "builder-subnet", "", "subnet id for builder instances (default: the group's own)")
	fs.StringVar(&groups, "builder-security-groups", "", "comma-separated security group ids for builders (default: the group's own)")
	fs.StringVar(&profile, "builder-instance-profile", "", "instance profile name or ARN for builders (default: the group's own)")
	fs.StringVar(&roles, "builder-role-arns", "", "comma-separated ARNs of the roles in the builders' and groups' instance profiles: the only roles amiswap may pass to EC2 (required to deploy)")
	fs.StringVar(&kmsKeys, "kms-key-arns", "", "comma-separated ARNs of the customer managed KMS keys that encrypt the groups' EBS volumes (the AWS managed key aws/ebs needs none)")
	fs.StringVar(&email, "email", "", "e-mail address to subscribe to swap notifications")
	fs.StringVar(&retention, "log-retention-days", "", "days to keep logs (template default 30)")
	fs.StringVar(&lockTTL, "lock-ttl", "", "group lock lifetime, such as 8h (template default)")
	fs.BoolVar(&del, "delete", false, "delete the stack instead (the artifact bucket is kept)")
	fs.BoolVar(&yes, "yes", false, "execute the change set (or delete the stack) without asking; required when stdin is not a terminal")
	fs.BoolVar(&o.Force, "force", false, "with --delete: delete even while executions of the stack's state machine are running")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.StackName == "" {
		return &usageError{"deploy: --stack-name is required"}
	}
	if !del && o.ArtifactBucket == "" {
		return &usageError{"deploy: --artifact-bucket is required (an S3 bucket in the stack's region; --create-bucket creates it)"}
	}
	if o.Force && !del {
		return &usageError{"deploy: --force goes with --delete"}
	}
	for _, a := range strings.Split(kmsKeys, ",") {
		if a = strings.TrimSpace(a); a != "" && !kmsKeyArnRe.MatchString(a) {
			return &usageError{fmt.Sprintf("deploy: --kms-key-arns: %q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID; not a key id or an alias)", a)}
		}
	}
	// Flags given, even empty, are parameters; others keep their previous
	// value on an update.
	o.Parameters = map[string]string{}
	flagParams := map[string]struct {
		param string
		value *string
	}{
		"builder-subnet": {"BuilderSubnetId", &subnet}, "builder-security-groups": {"BuilderSecurityGroupIds", &groups},
		"builder-instance-profile": {"BuilderInstanceProfile", &profile}, "builder-role-arns": {"BuilderRoleArns", &roles},
		"kms-key-arns": {"KmsKeyArns", &kmsKeys},
		"email":        {"NotificationEmail", &email}, "log-retention-days": {"LogRetentionDays", &retention}, "lock-ttl": {"LockTTL", &lockTTL},
	}
	fs.Visit(func(f *flag.Flag) {
		if p, ok := flagParams[f.Name]; ok {
			o.Parameters[p.param] = *p.value
		}
	})

	if !del {
		// Refused before any AWS call: BuilderRoleArns is required, the
		// stack name must be one CloudFormation accepts.
		if err := o.Validate(); err != nil {
			var ue *deploy.UsageError
			if errors.As(err, &ue) {
				return &usageError{ue.Msg}
			}
			return err
		}
	}
	interactive := isTerminal(env.Stdin)
	if !yes && !interactive {
		what := "execute the change set"
		if del {
			what = "delete the stack"
		}
		return &usageError{fmt.Sprintf("deploy: stdin is not a terminal, so there is no one to ask: pass --yes to %s without asking (nothing was changed)", what)}
	}
	if !yes {
		o.Confirm = confirm(env)
	}
	if v := env.Getenv("AMISWAP_CALL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return &usageError{fmt.Sprintf("deploy: AMISWAP_CALL_TIMEOUT=%q is not a duration such as 30s (0: no limit)", v)}
		}
		o.CallTimeout = d
		if d == 0 {
			o.CallTimeout = deploy.NoCallTimeout
		}
	}
	target, err := loadAWS(ctx, env, "deploy", awsf)
	if err != nil {
		return err
	}
	clients := deploy.NewClients(target.Config)
	if del {
		err = deploy.Delete(ctx, clients, o, env.Stdout)
	} else {
		_, err = deploy.Deploy(ctx, clients, o, env.Stdout)
	}
	if errors.Is(err, deploy.ErrDeclined) {
		fmt.Fprintln(env.Stderr, "amiswap: deploy: declined; nothing was changed")
		return nil
	}
	return err
}
