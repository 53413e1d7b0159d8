package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// run runs the CLI with args and returns its exit status and output.
func run(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := Run(context.Background(), args, e)
	return exitCode(err, &errb), out.String(), errb.String()
}

func ExampleRun_help() {
	Run(context.Background(), []string{"help"}, &Env{Stdout: os.Stdout, Stderr: os.Stdout, Getenv: os.Getenv})
	// Output:
	// amiswap keeps EC2 Auto Scaling groups on a fresh, generalized ("golden") AMI
	// built from their AWS Backup recovery points.
	//
	// Usage: amiswap <command> [flags]
	//
	// Commands:
	//   definition  print the workflow's States Language definition (as deployed)
	//   demo        run a whole swap against the built-in AWS simulator (no AWS account needed)
	//   deploy      create or update the amiswap stack in AWS (or delete it)
	//   doctor      check that swaps can succeed in the account: stack, roles, groups, network, SSM, backup plans
	//   graph       print the workflow as a Mermaid flowchart
	//   history     list local executions, or show one's history
	//   rollback    put a group back on its previous golden AMI (locked, compensated, recorded)
	//   run         run one swap locally against AWS (or the simulator via AWS_ENDPOINT_URL)
	//   sim         serve the AWS simulator (EC2, Auto Scaling, SSM, Backup, SNS, STS, DynamoDB, IAM, KMS, Step Functions, CloudFormation)
	//   status      show each opted-in group's AMI, its lineage, kept AMIs, last swap, lock and settings
	//   template    print the CloudFormation template (or the deploying identity's IAM policy)
	//   version     print amiswap's version, VCS revision and Go version
	//
	// Run 'amiswap <command> -h' for a command's flags.
}

func TestDefinitionPrintsTheEmbeddedFile(t *testing.T) {
	code, out, _ := run(t, nil, "definition")
	if code != 0 || out != string(workflow.Definition()) {
		t.Fatalf("exit %d; output differs from the embedded definition", code)
	}
	code, out, _ = run(t, nil, "definition", "--local")
	if code != 0 || strings.Contains(out, "FunctionArn}") || !strings.Contains(out, "amiswap-resolve") {
		t.Fatalf("exit %d; --local left placeholders or lacks local names", code)
	}
}

// TestREADMEDiagramIsCurrent keeps the README's workflow diagram equal to
// what `amiswap graph` prints from the embedded definition.
func TestREADMEDiagramIsCurrent(t *testing.T) {
	code, graph, _ := run(t, nil, "graph")
	if code != 0 {
		t.Fatalf("graph exited %d", code)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```mermaid\n"+graph+"```") {
		t.Error("README.md's mermaid block differs from `amiswap graph`: paste its output into the README")
	}
}

// TestREADMECleanupScriptIsCurrent keeps the README's copy of the built-in
// Linux cleanup script equal to workflow.LinuxCleanupScript.
func TestREADMECleanupScriptIsCurrent(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```bash\n"+strings.Join(workflow.LinuxCleanupScript, "\n")+"\n```") {
		t.Error("README.md's copy of the Linux cleanup script differs from workflow.LinuxCleanupScript")
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run"}, "give exactly one of"},
		{[]string{"run", "--backup-job-id", "x", "--instance-id", "i-0123456789abcdef0"}, "give exactly one of"},
		{[]string{"run", "--backup-job-id", "not-a-job"}, "is not a backup job id"},
		{[]string{"run", "--instance-id", "i-xyz"}, "is not an instance id"},
		{[]string{"run", "--event", "/nonexistent/event.json"}, "no file"},
		{[]string{"sim", "--addr", "0.0.0.0:4566"}, "not a loopback address"},
		{[]string{"sim", "--scenario", "huge"}, "unknown scenario"},
		{[]string{"graph", "extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		code, _, stderr := run(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", c.args, code, stderr, c.want)
		}
	}
}

func TestRunEventThatDoesNotMatch(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"source":`), 0o600)
	if code, _, stderr := run(t, nil, "run", "--event", bad); code != 2 || !strings.Contains(stderr, "is not JSON") {
		t.Errorf("malformed event: exit %d, %q", code, stderr)
	}
	event := filepath.Join(dir, "running.json")
	os.WriteFile(event, []byte(`{"version":"0","id":"1","detail-type":"Backup Job State Change","source":"aws.backup","account":"123456789012","time":"2026-01-05T09:00:00Z","region":"us-east-1","resources":[],"detail":{"backupJobId":"34E7A847-A2FC-473F-B474-9FB361AFA3DB","state":"RUNNING","resourceType":"EC2"}}`), 0o600)
	code, out, stderr := run(t, map[string]string{"AMISWAP_HISTORY_DIR": dir}, "run", "--event", event)
	if code != 0 || !strings.Contains(out, "does not match") {
		t.Fatalf("exit %d, out %q, err %q", code, out, stderr)
	}
}

func TestDemo(t *testing.T) {
	code, out, stderr := run(t, nil, "demo")
	if code != 0 {
		t.Fatalf("demo exited %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"Summary", "state transitions", "AWS API calls", "Verified through the AWS APIs", "launched from"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "✗") {
		t.Errorf("demo reports a failed check:\n%s", out)
	}
}

// TestSimAndRun serves the simulator with `amiswap sim` on an ephemeral
// loopback port and runs a swap against it with `amiswap run`, through
// AWS_ENDPOINT_URL only; the run follows the simulator's clock.
func TestSimAndRun(t *testing.T) {
	ctx := context.Background()
	endpoint := serveSim(t, io.Discard, "--scenario", "demo")

	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	cfg, err := config.LoadDefaultConfig(ctx, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(out.Images) < 2 {
		t.Fatalf("DescribeImages through AWS_ENDPOINT_URL: %v (%d images)", err, len(out.Images))
	}
	inst, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(inst.Reservations[0].Instances[0].InstanceId)
	// No backup of the instance exists yet: the run skips with a reason
	// and exits 0, having changed nothing.
	env := map[string]string{"AWS_ENDPOINT_URL": endpoint, "AMISWAP_HISTORY_DIR": t.TempDir(),
		"AMISWAP_LOCK_TABLE": ""}
	code, stdout, stderr := run(t, env, "run", "--instance-id", id)
	if code != 0 || !strings.Contains(stdout, "skipped:") || !strings.Contains(stdout, "no COMPLETED backup") {
		t.Fatalf("run --instance-id without a backup: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Back the instance up through the API, let the simulator's manual
	// clock run through the job, and swap from it: the run's waits advance
	// the simulator's clock through its control API.
	job := demoBackupJob(t, endpoint)
	code, stdout, stderr = run(t, env, "run", "--backup-job-id", job, "--json")
	if code != 0 {
		t.Fatalf("run --backup-job-id: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var st workflow.State
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if st.Image == nil || st.Swap == nil || st.Notify == nil {
		t.Fatalf("the output lacks the image, swap or notification: %s", stdout)
	}
	if !strings.Contains(stderr, "waits follow its clock") {
		t.Errorf("the run did not detect the simulator: %s", stderr)
	}
}

// TestSimEnforcesIAMFromTemplate serves the simulator with the template's
// roles enforced: a function's key may do what its role allows and no more.
func TestSimEnforcesIAMFromTemplate(t *testing.T) {
	dir := t.TempDir()
	code, tmpl, _ := run(t, nil, "template")
	if code != 0 {
		t.Fatal("template failed")
	}
	file := filepath.Join(dir, "template.json")
	os.WriteFile(file, []byte(tmpl), 0o600)
	ctx := context.Background()
	var stderr syncBuffer
	endpoint := serveSim(t, &stderr, "--iam-template", file, "--iam-param", "AWS::StackName=amiswap", "--iam-param", "BuilderRoleArns=arn:aws:iam::123456789012:role/builder")
	as := func(key string) *ec2.Client {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, "secret", "")),
			config.WithBaseEndpoint(endpoint))
		if err != nil {
			t.Fatal(err)
		}
		return ec2.NewFromConfig(cfg)
	}
	if _, err := as("AKIARESOLVE").DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("Resolve may describe instances: %v", err)
	}
	_, err := as("AKIANOTIFY").DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err == nil || !strings.Contains(err.Error(), "UnauthorizedOperation") {
		t.Errorf("Notify described instances: %v, want UnauthorizedOperation", err)
	}
	if !strings.Contains(stderr.String(), "AKIACOMPENSATE") {
		t.Errorf("the sim does not say which key each function uses: %s", stderr.String())
	}
}
