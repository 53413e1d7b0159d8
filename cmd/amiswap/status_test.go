package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/status"
	"github.com/amiswap/amiswap/store"
)

// cliSandbox starts an in-process simulator and points the standard AWS
// configuration (the process environment) at it; env is what the CLI's
// own Getenv sees.
func cliSandbox(t *testing.T) (*sandbox.Sandbox, map[string]string) {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	t.Setenv("AWS_ENDPOINT_URL", sb.URL)
	t.Setenv("AWS_REGION", sb.Sim.Region())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAAMISWAPLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_PROFILE", "")
	env := map[string]string{"AWS_ENDPOINT_URL": sb.URL, "AWS_REGION": sb.Sim.Region(), "AWS_ACCESS_KEY_ID": "AKIAAMISWAPLOCAL", "AWS_SECRET_ACCESS_KEY": "test", "AMISWAP_HISTORY_DIR": t.TempDir(), "AMISWAP_LOCK_TABLE": sandbox.LockTable,
		"AMISWAP_TOPIC_ARN": sb.Config.TopicArn}
	return sb, env
}

func statusJSON(t *testing.T, env map[string]string, args ...string) status.Report {
	t.Helper()
	code, out, stderr := run(t, env, append([]string{"status", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("status exited %d\n%s\n%s", code, out, stderr)
	}
	var rep status.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status --json is not one JSON document: %v\n%s", err, out)
	}
	return rep
}

// TestStatusShowsLineageAfterASwap: before the first swap a group runs an
// AMI that is not golden; after one, status shows the golden AMI's lineage,
// the kept AMI, the last swap from the local history and the settings with
// their sources.
func TestStatusShowsLineageAfterASwap(t *testing.T) {
	sb, env := cliSandbox(t)
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux",
		Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagKeep: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "other", Platform: "linux", Tags: map[string]string{"team": "x"}}); err != nil {
		t.Fatal(err)
	}

	rep := statusJSON(t, env)
	if len(rep.Groups) != 1 || rep.Groups[0].Name != "web" {
		t.Fatalf("status lists %+v; want only the opted-in group web", rep.Groups)
	}
	g := rep.Groups[0]
	if g.Golden != nil || g.LastSwap != nil || len(g.KeptImages) != 0 || g.ImageID == "" || g.Locked {
		t.Fatalf("before any swap: %+v", g)
	}
	if s := g.Settings[amiswap.TagKeep]; s.Value != "2" || s.Source != "tag" {
		t.Errorf("keep setting %+v; want 2 from the tag", s)
	}
	if s := g.Settings[amiswap.TagRefresh]; s.Value != "none" || s.Source != "default" {
		t.Errorf("refresh setting %+v; want none by default", s)
	}
	code, out, _ := run(t, env, "status")
	if code != 0 || !strings.Contains(out, "not golden") || !strings.Contains(out, "keep=2") {
		t.Errorf("status table before a swap: exit %d\n%s", code, out)
	}

	job, _, err := sb.BackupEvent(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, env, "run", "--backup-job-id", job); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, stderr)
	}

	rep = statusJSON(t, env, "--group", "web")
	g = rep.Groups[0]
	if g.Golden == nil {
		t.Fatalf("after a swap the group's AMI %s is not reported golden: %+v", g.ImageID, g)
	}
	if g.Golden.ImageID != g.ImageID || g.Golden.BackupJob != job || g.Golden.SourceInstance != ids[0] || g.Golden.ParentImage == "" ||
		g.Golden.RecoveryPoint == "" || g.Golden.Execution == "" || g.Golden.Created.IsZero() || g.Golden.Age == "" {
		t.Errorf("lineage %+v", g.Golden)
	}
	if len(g.KeptImages) != 1 || !g.KeptImages[0].Current || g.KeptImages[0].ImageID != g.ImageID {
		t.Errorf("kept images %+v", g.KeptImages)
	}
	if g.LastSwap == nil || g.LastSwap.Outcome != "swapped" || g.LastSwap.Kind != "swap" || g.LastSwap.Execution == "" {
		t.Errorf("last swap %+v", g.LastSwap)
	}
	if g.Locked {
		t.Error("the lock is still reported held after the swap")
	}
	if !strings.HasPrefix(rep.SwapSource, "local history") {
		t.Errorf("swap source %q; want the local history (no stack)", rep.SwapSource)
	}
	code, out, _ = run(t, env, "status", "--group", "web")
	for _, want := range []string{"backup " + job, "golden AMI", "parent", "amiswap:keep", "(tag)", "(default)", "swapped"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status --group table lacks %q (exit %d):\n%s", want, code, out)
		}
	}
}

func TestStatusUsageErrors(t *testing.T) {
	_, env := cliSandbox(t)
	if code, _, stderr := run(t, env, "status", "--group", "no-such-group"); code != 2 || !strings.Contains(stderr, `no Auto Scaling group "no-such-group"`) {
		t.Errorf("unknown group: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, env, "status", "--group", "a:b"); code != 2 || !strings.Contains(stderr, "not an Auto Scaling group name") {
		t.Errorf("bad group name: exit %d, %s", code, stderr)
	}
}

// TestRollbackCommand: after two swaps, `amiswap rollback` puts the group
// back on the first golden AMI (status shows it, and the last swap is the
// rollback); rolling back again has nothing older and exits 2 without
// recording an execution; usage mistakes exit 2 before any AWS call.
func TestRollbackCommand(t *testing.T) {
	sb, env := cliSandbox(t)
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	golden := cliSwaps(t, sb, env, "web", ids[0], 2)

	code, out, stderr := run(t, env, "rollback", "--group", "web")
	if code != 0 || !strings.Contains(out, "rolled back: group web now on "+golden[0]) {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, stderr)
	}
	g := statusJSON(t, env, "--group", "web").Groups[0]
	if g.ImageID != golden[0] || g.Golden == nil || len(g.KeptImages) != 2 {
		t.Errorf("after the rollback status says %+v; want the first golden AMI %s and both kept", g, golden[0])
	}
	if g.LastSwap == nil || g.LastSwap.Kind != "rollback" || g.LastSwap.Outcome != "rolled back" {
		t.Errorf("last swap %+v; want the rollback", g.LastSwap)
	}

	_, histBefore, _ := run(t, env, "history")
	code, _, stderr = run(t, env, "rollback", "--group", "web")
	if code != 2 || !strings.Contains(stderr, "nothing to roll group web back to") {
		t.Errorf("nothing to roll back to: exit %d, %s", code, stderr)
	}
	if _, histAfter, _ := run(t, env, "history"); histAfter != histBefore {
		t.Errorf("a refused rollback recorded an execution:\n%s\nbefore:\n%s", histAfter, histBefore)
	}

	code, out, _ = run(t, env, "rollback", "--group", "web", "--to", golden[1], "--json")
	var st struct {
		Rollback struct{ ImageID string } `json:"rollback"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Rollback.ImageID != golden[1] {
		t.Errorf("rollback --to --json: exit %d, %s", code, out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback"}, "give --group"},
		{[]string{"rollback", "--group", "a:b"}, "not an Auto Scaling group name"},
		{[]string{"rollback", "--group", "web", "--to", "ami-xyz"}, "is not an AMI id"},
		{[]string{"rollback", "--group", "nope"}, "no Auto Scaling group nope"},
	} {
		if code, _, stderr := run(t, env, c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s; want 2 mentioning %q", c.args, code, stderr, c.want)
		}
	}
}

// TestRollbackInterruptedThenResumed: a SIGINT during a rollback stops it
// after the step in flight (exit 130, INTERRUPTED), and `run --resume`
// finishes it on the rollback definition.
func TestRollbackInterruptedThenResumed(t *testing.T) {
	sb, env := cliSandbox(t)
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	golden := cliSwaps(t, sb, env, "web", ids[0], 2)
	code, stdout, stderr := runSignaled(t, env, "Lock", []os.Signal{syscall.SIGINT}, "rollback", "--group", "web")
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, stdout, stderr)
	}
	name := interruptedName(t, stdout)
	if h := historyOf(t, env, name); h.Status != store.StatusInterrupted {
		t.Errorf("history shows %s, want INTERRUPTED", h.Status)
	}
	code, stdout, stderr = run(t, env, "run", "--resume", name)
	if code != 0 {
		t.Fatalf("--resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "RolledBack") {
		t.Errorf("the resumed rollback did not end in RolledBack:\n%s", stdout)
	}
	if g := statusJSON(t, env, "--group", "web").Groups[0]; g.ImageID != golden[0] {
		t.Errorf("after the resumed rollback the group launches %s, want %s", g.ImageID, golden[0])
	}
}

// cliSwaps swaps group n times through `amiswap run`, each from a new
// backup of instance, and returns the golden AMIs, oldest first.
func cliSwaps(t *testing.T, sb *sandbox.Sandbox, env map[string]string, group, instance string, n int) []string {
	t.Helper()
	var golden []string
	for range n {
		job, _, err := sb.BackupEvent(context.Background(), instance)
		if err != nil {
			t.Fatal(err)
		}
		if code, out, stderr := run(t, env, "run", "--backup-job-id", job); code != 0 {
			t.Fatalf("run: exit %d\n%s\n%s", code, out, stderr)
		}
		golden = append(golden, statusJSON(t, env, "--group", group).Groups[0].ImageID)
	}
	return golden
}
