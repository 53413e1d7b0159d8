package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/store"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestResumeAfterCrash kills a local run in the middle of each long step
// (the process "dies": its context is cancelled and the executor dropped),
// then resumes it from the on-disk history with a new executor. The swap
// completes with one builder and one golden AMI: re-run tasks are
// idempotent, and nothing is left running or frozen.
func TestResumeAfterCrash(t *testing.T) {
	for _, crashIn := range []string{"CheckBuilderReady", "CheckGeneralized", "CreateImage", "CheckImage", "UpdateLaunchTemplate", "Cleanup"} {
		t.Run(crashIn, func(t *testing.T) {
			sb := newSandbox(t, awssim.Options{})
			ctx := context.Background()
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "windows",
				Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
			before, err := sandbox.Snapshot(ctx, sb.AWS, "web")
			if err != nil {
				t.Fatal(err)
			}
			if err := before.WithRecoveryPoint(ctx, sb.AWS, req.RecoveryPointArn); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			st, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			// First process: dies on entering crashIn (second time, for a poll).
			runCtx, die := context.WithCancel(ctx)
			seen := 0
			ex, def, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, Journal: st,
				Observer: func(x *asl.Execution, ev asl.Event) {
					if ev.Type == asl.TaskScheduled && ev.State == crashIn {
						if seen++; seen == 2 || crashIn == "CreateImage" || crashIn == "UpdateLaunchTemplate" || crashIn == "Cleanup" {
							die()
						}
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			input, _ := json.Marshal(req)
			x, err := ex.Start(runCtx, def, "crashing", input)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.Run(runCtx); !errors.Is(err, context.Canceled) && err != nil {
				t.Logf("first run ended with %v", err)
			}
			st.Close()

			// Second process: resumes from the store.
			st2, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			id, err := st2.Find("crashing")
			if err != nil {
				t.Fatal(err)
			}
			h, err := st2.Load(id)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status() != asl.StatusRunning {
				t.Fatalf("the crashed run is recorded %s, want RUNNING", h.Status())
			}
			ex2, def2, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, Journal: st2})
			if err != nil {
				t.Fatal(err)
			}
			x2, err := ex2.Resume(def2, h)
			if err != nil {
				t.Fatal(err)
			}
			res, err := x2.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != asl.StatusSucceeded {
				t.Fatalf("resumed run: %s %s %s", res.Status, res.Error, res.Cause)
			}
			var out workflow.State
			json.Unmarshal(res.Output, &out)
			checks, err := sandbox.VerifySwapped(ctx, sb.AWS, before, out)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range checks.Problems {
				t.Errorf("after resume: %s", p)
			}
			e := ec2.NewFromConfig(sb.AWS)
			builders, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder}}}})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range builders.Reservations {
				n += len(r.Instances)
			}
			if n != 1 {
				t.Errorf("%d builders were launched, want 1", n)
			}
			golden, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(golden.Images) != 1 {
				t.Errorf("%d golden AMIs exist, want 1", len(golden.Images))
			}
		})
	}
}
