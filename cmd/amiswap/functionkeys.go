package main

// This file holds `amiswap run --function-keys`: against a simulator
// serving IAM from a template (`amiswap sim --iam-template`), each task
// signs its AWS calls with its function's access key, so that the swap
// runs under the roles the template deploys.

import (
	"context"
	"fmt"
	"strings"

	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// functionKeySecret is the secret of the functions' access keys: the
// simulator checks signatures' shape, not their secret.
const functionKeySecret = "amiswap-function-key"

// checkFunctionKeysFlag refuses --function-keys before any AWS call when
// nothing points at a simulator.
func checkFunctionKeysFlag(env *Env) error {
	if env.Getenv("AWS_ENDPOINT_URL") == "" {
		return &usageError{"run: --function-keys signs calls with the simulator's function keys (AKIA<FUNCTION>): set AWS_ENDPOINT_URL to an 'amiswap sim --iam-template FILE' endpoint"}
	}
	return nil
}

// functionConfigs returns, for each function of workflow.Functions, cfg
// signing with the function's key (iam.KeyFor) and counted by calls. It
// checks that the target is a simulator that maps the keys to the roles of
// a template: otherwise the keys would not restrict anything.
func functionConfigs(ctx context.Context, target *awsTarget, calls *runner.Calls) (map[string]aws.Config, error) {
	if target.Sim == nil {
		return nil, fmt.Errorf("run: --function-keys: %s is not an amiswap simulator", target.Endpoint)
	}
	out := make(map[string]aws.Config, len(workflow.Functions))
	for _, f := range workflow.Functions {
		c := target.Config.Copy()
		c.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(iam.KeyFor(f.Name), functionKeySecret, ""))
		out[f.Name] = calls.Instrument(c)
	}
	probe := workflow.Functions[0].Name
	id, err := sts.NewFromConfig(out[probe]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("run: --function-keys: %w", err)
	}
	if !strings.Contains(aws.ToString(id.Arn), ":assumed-role/") {
		return nil, fmt.Errorf("run: --function-keys: the simulator at %s enforces no IAM template (%s is %s): start it with 'amiswap sim --iam-template FILE'",
			target.Endpoint, iam.KeyFor(probe), aws.ToString(id.Arn))
	}
	return out, nil
}
