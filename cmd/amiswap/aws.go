package main

// This file is how every command that talks to AWS finds out where it is:
// the --region and --profile flags, the configuration they select, a
// credentials check with a short timeout (sts:GetCallerIdentity), and the
// line on stderr that names the account, region and identity, or the
// simulator's endpoint.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/runner"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// credentialsTimeout bounds the credentials check: finding credentials
// (instance metadata included) and sts:GetCallerIdentity.
const credentialsTimeout = 10 * time.Second

// imdsTimeout bounds each instance-metadata request. On an EC2 instance the
// service answers in milliseconds; elsewhere nothing answers, and the SDK's
// default (5 s per attempt, 3 attempts) is what made a run with no
// credentials hang.
const imdsTimeout = time.Second

// awsFlags are the flags every command that talks to AWS accepts.
type awsFlags struct {
	Region, Profile string
}

// register adds --region and --profile to fs.
func (f *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Region, "region", "", "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)")
	fs.StringVar(&f.Profile, "profile", "", "shared configuration profile (default: AWS_PROFILE or default)")
}

// awsTarget is where a command acts, as the credentials check found it.
type awsTarget struct {
	Config   aws.Config
	Account  string
	Region   string
	Identity string // the caller's ARN
	// Endpoint is AWS_ENDPOINT_URL when set.
	Endpoint string
	// Sim follows the simulator's clock when Endpoint is an amiswap
	// simulator (it answers GET /_sim/clock); nil against AWS.
	Sim *runner.SimClock
}

// clock is what the run's waits follow: the simulator's clock against the
// simulator, the wall clock against AWS.
func (t *awsTarget) clock() asl.Clock {
	if t.Sim != nil {
		return t.Sim
	}
	return asl.SystemClock{}
}

// String names the target for people: the simulator's endpoint, or the
// account and region.
func (t *awsTarget) String() string {
	if t.Sim != nil {
		return "simulator " + t.Endpoint
	}
	return t.Account + "/" + t.Region
}

// loadAWS loads the AWS configuration that flags and env select, checks
// the credentials with a short timeout and prints where the command is
// about to act on env.Stderr. cmd prefixes errors. A missing region or
// unknown profile is a usage error; credentials that cannot be found or
// are refused are an error (exit 1) with a message that says what to do.
func loadAWS(ctx context.Context, env *Env, cmd string, f awsFlags) (*awsTarget, error) {
	region := f.Region
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region = env.Getenv(k)
		}
	}
	profile := f.Profile
	if profile == "" {
		profile = env.Getenv("AWS_PROFILE")
	}
	endpoint := env.Getenv("AWS_ENDPOINT_URL")
	opts := []func(*config.LoadOptions) error{
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) {
			o.Client = imds.New(imds.Options{
				Endpoint:              env.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
				ClientEnableState:     imdsState(env),
				HTTPClient:            &http.Client{Timeout: imdsTimeout},
				Retryer:               retry.AddWithMaxAttempts(retry.NewStandard(), 1),
				DisableDefaultTimeout: true,
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	if endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(endpoint))
	}
	if id, secret := env.Getenv("AWS_ACCESS_KEY_ID"), env.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" && f.Profile == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, env.Getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var noProfile config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &noProfile):
		return nil, &usageError{fmt.Sprintf("%s: no AWS profile %q in the shared configuration files", cmd, noProfile.Profile)}
	case err != nil:
		return nil, fmt.Errorf("%s: load the AWS configuration: %w", cmd, err)
	case cfg.Region == "":
		return nil, &usageError{cmd + ": no AWS region: give --region, or set AWS_REGION or a profile's region"}
	}
	t := &awsTarget{Config: cfg, Region: cfg.Region, Endpoint: endpoint}

	cctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if t.Sim, _ = runner.DetectSimClock(cctx, endpoint, nil); t.Sim == nil && endpoint != "" {
		// Any other endpoint (LocalStack, a proxy) is taken at its word.
		fmt.Fprintf(env.Stderr, "amiswap: AWS_ENDPOINT_URL is %s\n", endpoint)
	}
	if cfg.Credentials == nil {
		return nil, errNoCredentials(cmd)
	}
	// Finding the credentials first keeps a failure to find them from
	// being retried as if it were a failed call.
	if _, err := cfg.Credentials.Retrieve(cctx); err != nil {
		return nil, credentialsError(ctx, cctx, cmd, t, err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, credentialsError(ctx, cctx, cmd, t, err)
	}
	t.Account, t.Identity = aws.ToString(id.Account), aws.ToString(id.Arn)
	if t.Sim != nil {
		fmt.Fprintf(env.Stderr, "amiswap: AWS simulator at %s (account %s, region %s): waits follow its clock\n", endpoint, t.Account, t.Region)
	} else {
		fmt.Fprintf(env.Stderr, "amiswap: account %s, region %s, identity %s\n", t.Account, t.Region, t.Identity)
	}
	return t, nil
}

// imdsState disables the instance-metadata client when the environment
// says so (AWS_EC2_METADATA_DISABLED=true, as the SDK reads it).
func imdsState(env *Env) imds.ClientEnableState {
	if strings.EqualFold(env.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return imds.ClientDisabled
	}
	return imds.ClientEnabled
}

// credentialsError explains why the credentials check failed.
func credentialsError(ctx, cctx context.Context, cmd string, t *awsTarget, err error) error {
	where := "region " + t.Region
	if t.Endpoint != "" {
		where = t.Endpoint + ", " + where
	}
	var ae smithy.APIError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: check the AWS credentials: %w", cmd, ctx.Err())
	case errors.As(err, &ae):
		return fmt.Errorf("%s: the AWS credentials were refused (%s): %s: %s", cmd, where, ae.ErrorCode(), ae.ErrorMessage())
	case isNoCredentials(err):
		return errNoCredentials(cmd)
	case cctx.Err() != nil:
		return fmt.Errorf("%s: no answer within %s while checking the AWS credentials (%s); give --profile, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or check the network: %w",
			cmd, credentialsTimeout, where, err)
	}
	return fmt.Errorf("%s: check the AWS credentials (%s): %w", cmd, where, err)
}

// isNoCredentials reports whether err says that no credential provider
// had credentials.
func isNoCredentials(err error) bool {
	s := err.Error()
	return strings.Contains(s, "failed to refresh cached credentials") || strings.Contains(s, "no EC2 IMDS role found")
}

// errNoCredentials says that no credentials were found, and where to put some.
func errNoCredentials(cmd string) error {
	return fmt.Errorf("%s: no AWS credentials found: give --profile, set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", cmd)
}
