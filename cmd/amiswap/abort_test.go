package main

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/amiswap/amiswap/sandbox"
)

// TestAbortRightAfterLaunchLeaksNoBuilder: aborted at once after
// LaunchBuilder, while EC2 does not show the new builder yet (its eventual
// consistency; the simulator answers InvalidInstanceID.NotFound for a few
// seconds), compensation waits for it to be visible and terminates it
// instead of taking it for gone.
func TestAbortRightAfterLaunchLeaksNoBuilder(t *testing.T) {
	sb, env := simEnv(t)
	env["AMISWAP_LOCK_TABLE"] = sandbox.LockTable
	job, before := backupJob(t, sb)
	code, stdout, stderr := runSignaled(t, env, "instanceId i-", []os.Signal{syscall.SIGINT}, "run", "--backup-job-id", job)
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, stdout, stderr)
	}
	name := interruptedName(t, stdout)
	code, stdout, stderr = run(t, env, "run", "--abort", name)
	if code != 0 {
		t.Fatalf("--abort: exit %d\n%s\n%s", code, stdout, stderr)
	}
	h := historyOf(t, env, name)
	checks, err := sandbox.VerifyRestored(context.Background(), sb.AWS, sandbox.LockTable, before, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !checks.OK() {
		t.Errorf("after an immediate --abort: %v\n%s", checks.Problems, stdout)
	}
}
