package runner_test

import (
	"context"
	"testing"

	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
)

// BenchmarkDemoSwap measures one whole swap of the demo group against the
// simulator over HTTP (setup and the backup job excluded): every task
// through the real SDK, every wait on the virtual clock. It reports the
// state transitions and API calls of a swap next to its time.
func BenchmarkDemoSwap(b *testing.B) {
	ctx := context.Background()
	var transitions, calls int
	for b.Loop() {
		b.StopTimer()
		sb, err := sandbox.New(ctx, awssim.Options{Scenario: "demo", Throttle: awssim.Throttle{Disabled: true}})
		if err != nil {
			b.Fatal(err)
		}
		ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
		if err != nil {
			b.Fatal(err)
		}
		req := backupRequest(b, sb, ids[0])
		before := len(sb.Sim.Calls())
		b.StartTimer()
		x, res, err := runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, "", req)
		b.StopTimer()
		if err != nil || res.Status != asl.StatusSucceeded {
			b.Fatalf("%v %s %s", err, res.Error, res.Cause)
		}
		transitions, calls = x.Transitions(), len(sb.Sim.Calls())-before
		sb.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(transitions), "transitions/swap")
	b.ReportMetric(float64(calls), "apicalls/swap")
}
