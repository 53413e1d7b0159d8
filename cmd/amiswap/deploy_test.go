package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/internal/motoserver"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

func TestTemplatePrintsTheEmbeddedTemplate(t *testing.T) {
	code, out, _ := run(t, nil, "template")
	if code != 0 || out != string(deploy.Template()) {
		t.Fatalf("exit %d; output differs from the embedded template", code)
	}
}

func TestDeployUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "--artifact-bucket is required"},
		{[]string{"deploy", "--stack-name", "", "--delete"}, "--stack-name is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "extra"}, "unexpected argument"},
		// BuilderRoleArns is required: refused before any AWS call (no
		// region or credentials are configured in this test).
		{[]string{"deploy", "--artifact-bucket", "b"}, "--builder-role-arns is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", ""}, "--builder-role-arns is required"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", "my-role"}, "is not an IAM role ARN"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", "arn:aws:iam::123456789012:role/r", "--stack-name", "1bad"}, "stack name"},
		{[]string{"deploy", "--artifact-bucket", "b", "--force", "--yes"}, "--force goes with --delete"},
		{[]string{"deploy", "--artifact-bucket", "b", "--builder-role-arns", "arn:aws:iam::123456789012:role/r", "--kms-key-arns", "alias/app"}, "--kms-key-arns: \"alias/app\" is not a KMS key ARN"},
	} {
		code, _, stderr := run(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if code, _, stderr := run(t, map[string]string{"AMISWAP_CALL_TIMEOUT": "soon"}, "deploy", "--delete", "--yes"); code != 2 || !strings.Contains(stderr, "AMISWAP_CALL_TIMEOUT") {
		t.Errorf("a bad AMISWAP_CALL_TIMEOUT: exit %d, stderr %q", code, stderr)
	}
}

// TestDeployWithoutTerminalNeedsYes: with stdin not a terminal and no
// --yes, deploy and deploy --delete are usage errors (exit 2) that name
// --yes, before any AWS call.
func TestDeployWithoutTerminalNeedsYes(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); w.WriteHeader(500) }))
	defer srv.Close()
	noAWSConfigFiles(t)
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret"}
	for _, stdin := range []*os.File{nil, devNull(t)} {
		for _, args := range [][]string{
			{"deploy", "--artifact-bucket", "b", "--lambda-zip", lambdaZip(t), "--builder-role-arns", "arn:aws:iam::123456789012:role/web"},
			{"deploy", "--delete"},
			{"deploy", "--delete", "--force"},
		} {
			var out, errb bytes.Buffer
			e := &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
			if stdin != nil {
				e.Stdin = stdin
			}
			code := exitCode(Run(context.Background(), args, e), &errb)
			if code != 2 || !strings.Contains(errb.String(), "--yes") || !strings.Contains(errb.String(), "not a terminal") {
				t.Errorf("%v (stdin %v): exit %d, stderr %q; want exit 2 naming --yes", args, stdin, code, errb.String())
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d AWS calls made before refusing", n)
	}
}

// devNull is /dev/null opened for reading: a character device, but not a
// terminal.
func devNull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// lambdaZip writes a Lambda package (not a working bootstrap: moto does
// not run it) and returns its path.
func lambdaZip(t *testing.T) string {
	t.Helper()
	data, err := deploy.LambdaZip([]byte("#!/bin/sh\necho not a real bootstrap\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "amiswap-lambda.zip")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// motoDeployEnv starts moto_server (or skips) and returns the CLI's
// environment pointing at it in region, and an SDK configuration for the
// test's own calls.
func motoDeployEnv(t *testing.T, region string) (map[string]string, aws.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("deploys a stack into moto_server")
	}
	srv, err := motoserver.Start(context.Background())
	if errors.Is(err, motoserver.ErrNotFound) {
		t.Skip("moto_server is not on PATH (pip install 'moto[server]')")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	noAWSConfigFiles(t)
	// No time limit on deploy's calls: under load, moto can take long to
	// create the stack's resources, and the test must not fail for it.
	env := map[string]string{"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": region, "AWS_ACCESS_KEY_ID": "AKIDMOTO", "AWS_SECRET_ACCESS_KEY": "secret",
		"AMISWAP_CALL_TIMEOUT": "0"}
	return env, srv.Config(region)
}

// TestDeployAndDeleteThroughTheCLI deploys the stack into moto_server
// with --yes: a missing bucket names --create-bucket (no raw
// NoSuchBucket); --create-bucket creates it and the change set is listed
// before it is executed; --delete refuses while an execution runs and
// deletes with --force.
func TestDeployAndDeleteThroughTheCLI(t *testing.T) {
	env, cfg := motoDeployEnv(t, "eu-west-1")
	zip := lambdaZip(t)
	deployArgs := []string{"deploy", "--stack-name", "amiswap-cli", "--artifact-bucket", "amiswap-cli-artifacts", "--lambda-zip", zip,
		"--builder-role-arns", "arn:aws:iam::123456789012:role/web", "--email", "ops@example.com", "--yes"}

	code, stdout, stderr := run(t, env, deployArgs...)
	if code != 1 || !strings.Contains(stderr, "--create-bucket") || strings.Contains(stderr, "NoSuchBucket") {
		t.Fatalf("missing bucket: exit %d, stderr %q; want exit 1 naming --create-bucket", code, stderr)
	}
	if !strings.Contains(stderr, "account 123456789012, region eu-west-1") && !strings.Contains(stderr, "AWS_ENDPOINT_URL") {
		t.Errorf("deploy does not say where it acts: %q", stderr)
	}

	code, stdout, stderr = run(t, env, append(deployArgs, "--create-bucket")...)
	if code != 0 {
		t.Fatalf("deploy --create-bucket --yes: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"created the artifact bucket s3://amiswap-cli-artifacts in eu-west-1", "Action", "LogicalResourceId", "ResourceType", "Replacement",
		"AWS::StepFunctions::StateMachine", "to add", "CREATE_COMPLETE"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, stdout)
		}
	}
	if i, j := strings.Index(stdout, "AWS::StepFunctions::StateMachine"), strings.Index(stdout, "CREATE_COMPLETE"); i > j {
		t.Errorf("the changes are not listed before the execution:\n%s", stdout)
	}

	// An execution running: --delete refuses, naming it and --force.
	ctx := context.Background()
	res, err := cloudformation.NewFromConfig(cfg).DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("amiswap-cli")})
	if err != nil {
		t.Fatal(err)
	}
	sm := ""
	for _, r := range res.StackResources {
		if aws.ToString(r.LogicalResourceId) == "StateMachine" {
			sm = aws.ToString(r.PhysicalResourceId)
		}
	}
	if _, err := sfn.NewFromConfig(cfg).StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String("swap-in-progress"), Input: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(t, env, "deploy", "--stack-name", "amiswap-cli", "--delete", "--yes")
	if code != 1 || !strings.Contains(stderr, "swap-in-progress") || !strings.Contains(stderr, "--force") {
		t.Fatalf("delete while running: exit %d, stderr %q; want exit 1 naming the execution and --force", code, stderr)
	}
	if st := stackStatus(t, cfg, "amiswap-cli"); st == "" {
		t.Fatal("the stack was deleted although an execution runs")
	}
	code, stdout, stderr = run(t, env, "deploy", "--stack-name", "amiswap-cli", "--delete", "--yes", "--force")
	if code != 0 || !strings.Contains(stdout, "stack deleted") || !strings.Contains(stdout, "warning: deleting the stack under 1 running") {
		t.Fatalf("delete --force: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// stackStatus is the stack's status, or "" when it does not exist.
func stackStatus(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil || len(out.Stacks) == 0 {
		return ""
	}
	if st := string(out.Stacks[0].StackStatus); st != "DELETE_COMPLETE" {
		return st
	}
	return ""
}

// TestTemplateDeployerPolicy: `amiswap template --deployer-policy` prints
// one IAM policy document scoped to the stack and bucket given.
func TestTemplateDeployerPolicy(t *testing.T) {
	code, out, stderr := run(t, nil, "template", "--deployer-policy", "--stack-name", "swapper", "--artifact-bucket", "swapper-artifacts")
	var doc struct {
		Version   string
		Statement []struct {
			Sid, Effect      string
			Action, Resource []string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s\n%s", code, err, out, stderr)
	}
	actions := map[string]string{}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			actions[a] = strings.Join(st.Resource, " ")
		}
	}
	for a, res := range map[string]string{
		"cloudformation:ExecuteChangeSet": ":stack/swapper/*", "s3:PutObject": "arn:aws:s3:::swapper-artifacts/amiswap/*",
		"iam:PassRole": ":role/swapper-*", "lambda:CreateFunction": ":function:swapper-*", "states:ListExecutions": ":stateMachine:swapper",
	} {
		if !strings.Contains(actions[a], res) {
			t.Errorf("%s on %q, want a resource containing %q", a, actions[a], res)
		}
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("version %q", doc.Version)
	}
	code, out, _ = run(t, nil, "template", "--deployer-policy", "--partition", "aws-cn")
	if code != 0 || !strings.Contains(out, "arn:aws-cn:") || strings.Contains(out, "arn:aws:") {
		t.Errorf("aws-cn: exit %d", code)
	}
	for _, args := range [][]string{{"template", "--stack-name", "x"}, {"template", "--deployer-policy", "--partition", "mars"}} {
		if code, _, stderr := run(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d %s, want 2", args, code, stderr)
		}
	}
}
