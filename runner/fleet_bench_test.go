package runner_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
)

// fleetSpeed is how many times faster than the wall clock the fleet
// benchmark's simulator runs. Token buckets refill on the simulator's
// clock, so throttling at this speed is what AWS would apply to the same
// calls over the same simulated time.
const fleetSpeed = 100

// BenchmarkFleet runs N swaps at once against one simulator with its
// default throttling (EC2's token bucket sizes and refill rates), as when a
// backup plan completes the backups of a whole fleet in one window: N
// opted-in Linux groups, their backup jobs completing together, N
// executions started at the same instant. It reports the wall time, the
// API calls and throttled calls per swap, and the executions that did not
// end Swapped. It is a benchmark so that `go test ./...` does not run it:
//
//	go test ./runner -run '^$' -bench BenchmarkFleet -benchtime 1x
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			for range b.N {
				runFleet(b, n)
			}
		})
	}
}

// runFleet sets up n groups with completed backups, then runs their swaps
// concurrently and reports what happened.
func runFleet(b *testing.B, n int) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.New(ctx, awssim.Options{Speed: fleetSpeed, Throttle: awssim.Throttle{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	go sb.Sim.Run(ctx)
	// Many concurrent executions: keep their connections open.
	sb.AWS.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 4 * n, IdleConnTimeout: time.Minute}}

	// Setup, unthrottled: the groups, one instance each, and a backup job
	// of each instance, all completing in the same window.
	bk := backup.NewFromConfig(sb.AWS)
	jobs := make([]string, n)
	for i := range n {
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: fmt.Sprintf("fleet-%03d", i), Platform: "linux", Desired: 1})
		if err != nil {
			b.Fatal(err)
		}
		out, err := bk.StartBackupJob(ctx, &backup.StartBackupJobInput{
			BackupVaultName: aws.String(sandbox.Vault),
			ResourceArn:     aws.String(fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", sb.Sim.Region(), sb.Sim.AccountID(), ids[0])),
			IamRoleArn:      aws.String(fmt.Sprintf("arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole", sb.Sim.AccountID())),
		})
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = aws.ToString(out.BackupJobId)
	}
	sb.Sim.Advance(2 * time.Hour) // every job has completed
	sb.Sim.SetThrottle(awssim.Throttle{})

	var calls, throttled atomic.Int64
	sb.Sim.OnCall(func(c awssim.Call) {
		calls.Add(1)
		switch c.ErrorCode {
		case "RequestLimitExceeded", "Throttling", "ThrottlingException":
			throttled.Add(1)
		}
	})
	results := make([]string, n)
	var wg sync.WaitGroup
	b.StartTimer()
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, res, err := runner.Run(ctx, runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim}, fmt.Sprintf("fleet-%03d", i), amiswap.Request{BackupJobID: jobs[i]})
			switch {
			case err != nil:
				results[i] = err.Error()
			case res.Status != asl.StatusSucceeded || x.Path()[len(x.Path())-1] != "Swapped":
				results[i] = fmt.Sprintf("%s in %s: %s: %s", res.Status, x.Path()[len(x.Path())-1], res.Error, res.Cause)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	failures := 0
	for i, r := range results {
		if r != "" {
			failures++
			if failures <= 5 {
				b.Logf("fleet-%03d: %s", i, r)
			}
		}
	}
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(calls.Load())/float64(n), "calls/swap")
	b.ReportMetric(float64(throttled.Load())/float64(n), "throttled/swap")
	b.ReportMetric(float64(failures), "failures")
	b.Logf("N=%d at --speed %d: wall %s, %.1f API calls and %.1f throttled calls per swap, %d failures",
		n, fleetSpeed, wall.Round(time.Millisecond), float64(calls.Load())/float64(n), float64(throttled.Load())/float64(n), failures)
}
