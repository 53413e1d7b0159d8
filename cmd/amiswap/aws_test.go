package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
)

// noAWSConfigFiles points the SDK's shared configuration files (which it
// reads from the process environment) at files that do not exist, so that
// a test sees only the credentials its env map gives.
func noAWSConfigFiles(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
}

// silentIMDS is an instance-metadata endpoint that accepts connections and
// never answers, as a firewalled 169.254.169.254 behaves off EC2.
func silentIMDS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	t.Cleanup(func() { close(done); ln.Close() })
	return "http://" + ln.Addr().String()
}

// simEnv starts a simulator with the demo scenario and returns the
// environment of a CLI run against it.
func simEnv(t *testing.T) (*sandbox.Sandbox, map[string]string) {
	t.Helper()
	noAWSConfigFiles(t)
	sb, err := sandbox.New(context.Background(), awssim.Options{Scenario: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb, map[string]string{
		"AWS_ENDPOINT_URL": sb.URL, "AWS_REGION": sb.Sim.Region(),
		"AWS_ACCESS_KEY_ID": "AKIAOPERATOR", "AWS_SECRET_ACCESS_KEY": "secret",
		"AMISWAP_HISTORY_DIR": t.TempDir(),
	}
}

// TestRunWithoutCredentials: with no credentials anywhere (and an instance
// metadata service that never answers) `run` says so in a clear message
// within the credentials check's timeout, exits 1 and records nothing.
func TestRunWithoutCredentials(t *testing.T) {
	noAWSConfigFiles(t)
	hist := t.TempDir()
	env := map[string]string{"AWS_REGION": "eu-west-1", "AMISWAP_HISTORY_DIR": hist,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": silentIMDS(t)}
	code, stdout, stderr := run(t, env, "run", "--instance-id", "i-0123456789abcdef0")
	if code != 1 || !strings.Contains(stderr, "no AWS credentials found") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and a message about credentials", code, stdout, stderr)
	}
	if strings.Contains(stderr, "operation error") {
		t.Errorf("the message is a raw SDK error: %s", stderr)
	}
	if entries, _ := os.ReadDir(hist); len(entries) != 0 {
		t.Errorf("an execution was recorded: %v", entries)
	}
}

// TestRunRegionAndProfileFlags: --profile names a profile that must exist
// and --region is required when nothing else gives one; both are usage
// errors (exit 2) found before any AWS call.
func TestRunRegionAndProfileFlags(t *testing.T) {
	noAWSConfigFiles(t)
	env := map[string]string{"AMISWAP_HISTORY_DIR": t.TempDir(), "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s"}
	code, _, stderr := run(t, env, "run", "--instance-id", "i-0123456789abcdef0", "--profile", "nosuch", "--region", "eu-west-1")
	if code != 2 || !strings.Contains(stderr, `no AWS profile "nosuch"`) {
		t.Errorf("unknown profile: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, env, "run", "--instance-id", "i-0123456789abcdef0")
	if code != 2 || !strings.Contains(stderr, "no AWS region") || !strings.Contains(stderr, "--region") {
		t.Errorf("no region: exit %d, %q", code, stderr)
	}
}

// TestRunSaysWhereItActs: against the simulator, `run` names the
// simulator's endpoint, the account and the region on stderr; --region
// overrides AWS_REGION (the simulator answers in its own region either
// way, so the line shows the flag's).
func TestRunSaysWhereItActs(t *testing.T) {
	sb, env := simEnv(t)
	code, stdout, stderr := run(t, env, "run", "--instance-id", "i-0123456789abcdef0", "--region", "us-west-2")
	want := "AWS simulator at " + sb.URL + " (account " + sb.Sim.AccountID() + ", region us-west-2)"
	if !strings.Contains(stderr, want) {
		t.Fatalf("exit %d; stderr lacks %q:\n%s\n%s", code, want, stdout, stderr)
	}
}
