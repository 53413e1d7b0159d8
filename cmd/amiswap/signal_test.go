package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/store"
)

// TestRunProcessSIGINT sends a real SIGINT to a real `amiswap run`
// process. The simulator runs at speed 1, so the swap's first wait (the
// builder is not visible for 10 simulated seconds) lasts seconds of wall
// time, and the signal is sent once the progress shows LaunchBuilder:
// wherever it lands, the step in flight is at most one poll, and the run
// cannot have finished. The process exits 130 having recorded the
// execution as interrupted; `run --abort` then restores the group.
func TestRunProcessSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the amiswap binary")
	}
	bin := filepath.Join(t.TempDir(), "amiswap")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	noAWSConfigFiles(t)
	ctx := context.Background()
	sb, err := sandbox.New(ctx, awssim.Options{Scenario: "demo", Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	job, before := backupJob(t, sb)
	env := map[string]string{
		"AWS_ENDPOINT_URL": sb.URL, "AWS_REGION": sb.Sim.Region(),
		"AWS_ACCESS_KEY_ID": "AKIAOPERATOR", "AWS_SECRET_ACCESS_KEY": "secret",
		"AMISWAP_HISTORY_DIR": t.TempDir(), "AMISWAP_LOCK_TABLE": sandbox.LockTable,
		"AWS_CONFIG_FILE": os.Getenv("AWS_CONFIG_FILE"), "AWS_SHARED_CREDENTIALS_FILE": os.Getenv("AWS_SHARED_CREDENTIALS_FILE"),
		"AWS_EC2_METADATA_DISABLED": "true", "HOME": t.TempDir(), "PATH": os.Getenv("PATH"),
	}
	cmd := exec.Command(bin, "run", "--backup-job-id", job)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	sc := bufio.NewScanner(pipe)
	signaled := false
	for sc.Scan() {
		stdout.WriteString(sc.Text() + "\n")
		if !signaled && strings.Contains(sc.Text(), "LaunchBuilder") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signaled = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s\n%s", err, stdout.String(), stderr.String())
	}
	name := interruptedName(t, stdout.String())
	if strings.Contains(stdout.String(), "Generalize") {
		t.Errorf("the run went on past the step in flight:\n%s", stdout.String())
	}
	h := historyOf(t, env, name)
	if h.Status != store.StatusInterrupted {
		t.Errorf("history shows %s, want INTERRUPTED", h.Status)
	}
	sb.Sim.Advance(time.Minute)
	if code, out, errs := run(t, env, "run", "--abort", name); code != 0 {
		t.Fatalf("--abort: exit %d\n%s\n%s", code, out, errs)
	}
	checks, err := sandbox.VerifyRestored(ctx, sb.AWS, sandbox.LockTable, before, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !checks.OK() {
		t.Errorf("after --abort: %v", checks.Problems)
	}
}
