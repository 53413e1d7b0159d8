package awssim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAWSCLI drives the simulator with the aws command-line tool (a second,
// independent client: botocore's serializers and parsers), the way a user
// would with AWS_ENDPOINT_URL. It skips when the aws CLI is not on PATH.
func TestAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the aws CLI, a Python process per call: skipped under -short")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	ts := newTestSim(t, Options{Scenario: "demo"})
	run := func(args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append(args, "--output", "json")...)
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "AWS_") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "AWS_ENDPOINT_URL="+ts.URL, "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null",
			"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			if strings.Contains(stderr, "No module named") {
				t.Skipf("the aws CLI on PATH cannot start: %s", stderr)
			}
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return v
	}
	count := func(v map[string]any, key string) int {
		l, _ := v[key].([]any)
		return len(l)
	}
	if n := count(run("ec2", "describe-images", "--owners", "amazon"), "Images"); n < 2 {
		t.Errorf("ec2 describe-images: %d images, want the base images", n)
	}
	if n := count(run("ec2", "describe-instances"), "Reservations"); n != 2 {
		t.Errorf("ec2 describe-instances: %d reservations, want the demo group's 2", n)
	}
	if n := count(run("autoscaling", "describe-auto-scaling-groups"), "AutoScalingGroups"); n != 1 {
		t.Errorf("autoscaling describe-auto-scaling-groups: %d groups, want 1", n)
	}
	if n := count(run("ssm", "describe-instance-information"), "InstanceInformationList"); n != 2 {
		t.Errorf("ssm describe-instance-information: %d, want 2", n)
	}
	if v := run("sts", "get-caller-identity"); v["Account"] != "123456789012" {
		t.Errorf("sts get-caller-identity: %v", v)
	}
	run("sns", "create-topic", "--name", "cli")
	if n := count(run("sns", "list-topics"), "Topics"); n != 1 {
		t.Errorf("sns list-topics: %d topics, want 1", n)
	}
	run("dynamodb", "create-table", "--table-name", "cli-table", "--attribute-definitions", "AttributeName=pk,AttributeType=S",
		"--key-schema", "AttributeName=pk,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
	if n := count(run("dynamodb", "list-tables"), "TableNames"); n != 1 {
		t.Errorf("dynamodb list-tables: %d tables, want 1", n)
	}
	job := run("backup", "start-backup-job", "--backup-vault-name", "Default",
		"--resource-arn", "arn:aws:ec2:us-east-1:123456789012:instance/"+ts.firstInstance(t),
		"--iam-role-arn", "arn:aws:iam::123456789012:role/backup")
	ts.Advance(time.Hour)
	if v := run("backup", "describe-backup-job", "--backup-job-id", job["BackupJobId"].(string)); v["State"] != "COMPLETED" {
		t.Errorf("backup describe-backup-job: %v", v["State"])
	}
}

func (ts *testSim) firstInstance(t *testing.T) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, in := range ts.ec2.instanceOrder {
		return in.ID
	}
	t.Fatal("no instance")
	return ""
}
