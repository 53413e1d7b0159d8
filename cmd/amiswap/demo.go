package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
)

func init() {
	register(command{name: "demo", summary: "run a whole swap against the built-in AWS simulator (no AWS account needed)", run: runDemo})
}

// demoGroup is the opted-in group of the simulator's demo scenario.
const demoGroup = "demo-windows-web"

func runDemo(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("demo", "[--json]", env)
	asJSON := fs.Bool("json", false, "print one JSON document on stdout (the execution's output, metrics and checks); everything else goes to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	out := env.Stdout
	if *asJSON {
		out = env.Stderr
	}
	wallStart := time.Now()
	sb, err := sandbox.New(ctx, awssim.Options{Scenario: "demo"})
	if err != nil {
		return fmt.Errorf("demo: start the simulator: %w", err)
	}
	defer sb.Close()
	simStart := sb.Sim.Now()
	fmt.Fprintf(out, "amiswap demo — AWS simulator at %s (virtual clock; no AWS account used)\n\n", sb.URL)

	before, err := sandbox.Snapshot(ctx, sb.AWS, demoGroup)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	inService, err := sb.WaitInService(ctx, demoGroup, int(before.Desired))
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	instanceID := inService[0]
	fmt.Fprintf(out, "group %s: %d instances on %s (launch template %s, version %s), MaxSize %d\n",
		demoGroup, before.Desired, before.ImageID, before.LaunchTemplateID, before.GroupVersion, before.Max)
	fmt.Fprintf(out, "AWS Backup: backing up %s …\n", instanceID)
	jobID, event, err := sb.BackupEvent(ctx, instanceID)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	match, reason := deploy.MatchEvent(event)
	if !match {
		return fmt.Errorf("demo: the backup's event does not match the rule: %s", reason)
	}
	req, err := deploy.Transform(event)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := before.WithRecoveryPoint(ctx, sb.AWS, req.RecoveryPointArn); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "AWS Backup: job %s COMPLETED, recovery point %s\n", jobID, req.RecoveryPointArn)
	fmt.Fprintf(out, "EventBridge: the event matches the amiswap rule; starting the workflow\n\n")

	swapStart := sb.Sim.Now()
	progress := &runner.Progress{W: out, Terminal: isTerminal(out)}
	calls := &runner.Calls{}
	// The execution is named after the backup job, which the simulator
	// numbers the same way every time: poll waits and retry jitter are
	// drawn from the execution's id, so the demo's figures are the same
	// from run to run.
	x, res, err := runner.Run(ctx, runner.Options{
		AWS: calls.Instrument(sb.AWS), Config: sb.Config, Clock: sb.Sim, Observer: progress.Observe,
	}, "demo-"+jobID, req)
	if err != nil {
		return fmt.Errorf("demo: run the workflow: %w", err)
	}
	swapDuration := sb.Sim.Now().Sub(swapStart)
	metrics := runner.MetricsOf(x.History(), 0, calls, time.Since(wallStart))
	fmt.Fprintln(out)
	if res.Status != asl.StatusSucceeded {
		fmt.Fprintf(out, "the swap %s: %s: %s\n", strings.ToLower(string(res.Status)), res.Error, res.Cause)
		if *asJSON {
			writeJSON(env.Stdout, map[string]any{"outcome": "failed", "status": res.Status, "error": res.Error, "cause": res.Cause, "metrics": metrics})
		}
		return &exitError{code: 1}
	}
	var st workflow.State
	if err := json.Unmarshal(res.Output, &st); err != nil {
		return fmt.Errorf("demo: read the output: %w", err)
	}
	if st.Target != nil && st.Target.Skip {
		fmt.Fprintf(out, "skipped: %s\n", st.Target.SkipReason)
		if *asJSON {
			writeJSON(env.Stdout, map[string]any{"outcome": "skipped", "status": res.Status, "reason": st.Target.SkipReason, "metrics": metrics})
		}
		return &exitError{code: 1}
	}
	checks, err := sandbox.VerifySwapped(ctx, sb.AWS, before, st)
	if err != nil {
		return fmt.Errorf("demo: verify: %w", err)
	}
	// New instances of the group must come up on the golden AMI.
	replacement, err := sb.ReplaceOne(ctx, demoGroup)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if replacement.ImageID == st.Image.ImageID {
		checks.Passed = append(checks.Passed, fmt.Sprintf("a replacement instance %s launched from %s", replacement.InstanceID, replacement.ImageID))
	} else {
		checks.Problems = append(checks.Problems, fmt.Sprintf("the replacement instance %s launched from %s, not the golden AMI", replacement.InstanceID, replacement.ImageID))
	}

	fmt.Fprintf(out, "Summary\n")
	fmt.Fprintf(out, "  group               %s\n", demoGroup)
	fmt.Fprintf(out, "  AMI                 %s → %s\n", before.ImageID, st.Image.ImageID)
	fmt.Fprintf(out, "  launch template     %s version %s (group follows %s)\n", st.Swap.LaunchTemplateID, st.Swap.NewVersion, before.GroupVersion)
	fmt.Fprintf(out, "  simulated duration  %s (backup included: %s)\n", swapDuration.Round(time.Second), sb.Sim.Now().Sub(simStart).Round(time.Second))
	fmt.Fprintf(out, "  state transitions   %d\n", x.Transitions())
	fmt.Fprintf(out, "  AWS API calls       %d (%d throttled)\n", metrics.APICalls, metrics.ThrottledCalls)
	if st.Verifier != nil {
		fmt.Fprintf(out, "  verification        verifier %s booted %s: running, status checks ok, SSM agent online; terminated before rollout\n",
			st.Verifier.InstanceID, st.Image.ImageID)
	}
	if st.Cleanup != nil {
		rp := "unknown"
		if o := st.Cleanup.RecoveryPoint; o != nil {
			rp = o.Status
		}
		fmt.Fprintf(out, "  cleaned up          builder %s terminated; recovery point %s; old golden AMIs removed: %d\n",
			st.Builder.InstanceID, rp, len(st.Cleanup.DeregisteredImages))
	}
	if st.Notify != nil {
		fmt.Fprintf(out, "  notification        %q\n", st.Notify.Subject)
	}
	fmt.Fprintf(out, "  wall time           %s\n\n", time.Since(wallStart).Round(time.Millisecond))
	fmt.Fprintf(out, "Verified through the AWS APIs:\n")
	for _, p := range checks.Passed {
		fmt.Fprintf(out, "  ✓ %s\n", p)
	}
	for _, p := range checks.Problems {
		fmt.Fprintf(out, "  ✗ %s\n", p)
	}
	if *asJSON {
		var doc map[string]any
		if err := json.Unmarshal(res.Output, &doc); err != nil {
			return fmt.Errorf("demo: read the output: %w", err)
		}
		doc["outcome"], doc["status"], doc["execution"], doc["metrics"] = "swapped", res.Status, x.Name(), metrics
		doc["checks"] = map[string][]string{"passed": nonNil(checks.Passed), "problems": nonNil(checks.Problems)}
		if err := writeJSON(env.Stdout, doc); err != nil {
			return err
		}
	}
	if !checks.OK() {
		return &exitError{code: 1}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
