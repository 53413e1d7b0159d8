package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// demoBackupJob backs up the demo group's first instance through the
// simulator at endpoint and returns the completed job's id.
func demoBackupJob(t *testing.T, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint(endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAOPERATOR", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(inst.Reservations[0].Instances[0].InstanceId)
	job, err := backup.NewFromConfig(cfg).StartBackupJob(ctx, &backup.StartBackupJobInput{
		BackupVaultName: aws.String("Default"),
		ResourceArn:     aws.String("arn:aws:ec2:us-east-1:123456789012:instance/" + id),
		IamRoleArn:      aws.String("arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(endpoint+"/_sim/clock", "application/json", strings.NewReader(`{"advance":"1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return aws.ToString(job.BackupJobId)
}

// TestRunWithFunctionKeys: `run --function-keys` against `sim
// --iam-template` swaps with each task under its function's role; a role
// the template leaves without its permissions fails the swap with an
// access error; the flag is refused without a simulator, and against one
// that enforces no template.
func TestRunWithFunctionKeys(t *testing.T) {
	dir := t.TempDir()
	code, tmpl, _ := run(t, nil, "template")
	if code != 0 {
		t.Fatal("template failed")
	}
	good := filepath.Join(dir, "template.json")
	os.WriteFile(good, []byte(tmpl), 0o600)
	// The same template with a Resolve role that may do nothing.
	var doc map[string]any
	if err := json.Unmarshal([]byte(tmpl), &doc); err != nil {
		t.Fatal(err)
	}
	resolve := doc["Resources"].(map[string]any)["ResolveRole"].(map[string]any)["Properties"].(map[string]any)
	resolve["Policies"] = []any{map[string]any{"PolicyName": "nothing", "PolicyDocument": map[string]any{"Version": "2012-10-17",
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": "sns:ListTopics", "Resource": "*"}}}}}
	crippled := filepath.Join(dir, "crippled.json")
	b, _ := json.Marshal(doc)
	os.WriteFile(crippled, b, 0o600)

	params := []string{"--scenario", "demo", "--iam-param", "BuilderRoleArns=arn:aws:iam::123456789012:role/demo-windows-ssm"}
	swap := func(template string) (int, string, string) {
		endpoint := serveSim(t, io.Discard, append([]string{"--iam-template", template}, params...)...)
		job := demoBackupJob(t, endpoint)
		env := map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAOPERATOR", "AWS_SECRET_ACCESS_KEY": "test",
			"AMISWAP_HISTORY_DIR": t.TempDir()}
		// The simulated stack names a lock table the demo scenario lacks.
		return run(t, env, "run", "--function-keys", "--no-lock", "--backup-job-id", job, "--json")
	}
	code, stdout, stderr := swap(good)
	if code != 0 {
		t.Fatalf("run --function-keys under the template's roles: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var out map[string]any
	oneJSON(t, stdout, &out)
	if out["outcome"] != "swapped" {
		t.Errorf("outcome %v, want swapped", out["outcome"])
	}
	code, stdout, stderr = swap(crippled)
	if code == 0 || !strings.Contains(stdout+stderr, "assumed-role/amiswap-ResolveRole/Resolve is not authorized") {
		t.Errorf("run --function-keys with a Resolve role that may do nothing: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, _, stderr = run(t, map[string]string{"AWS_REGION": "us-east-1"}, "run", "--function-keys", "--instance-id", "i-0123456789abcdef0")
	if code != 2 || !strings.Contains(stderr, "AWS_ENDPOINT_URL") {
		t.Errorf("--function-keys without a simulator: exit %d, %s", code, stderr)
	}
	plain := serveSim(t, io.Discard, "--scenario", "demo")
	job := demoBackupJob(t, plain)
	code, _, stderr = run(t, map[string]string{"AWS_ENDPOINT_URL": plain, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAOPERATOR", "AWS_SECRET_ACCESS_KEY": "test", "AMISWAP_HISTORY_DIR": t.TempDir()},
		"run", "--function-keys", "--backup-job-id", job)
	if code != 1 || !strings.Contains(stderr, "--iam-template") {
		t.Errorf("--function-keys against a simulator without a template: exit %d, %s", code, stderr)
	}
}
