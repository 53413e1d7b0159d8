package awssim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Benchmarks of the EC2 service. Targets: one-instance DescribeInstances
// ≥ 5,000/s on one core end to end through the SDK (go test -cpu 1 -bench
// EC2), a 1,000-instance DescribeInstances ≥ 100/s, and at most 10 KB of
// heap per instance with 10,000 instances.
//
// Each DescribeInstances figure comes in three parts, so that the
// simulator's share can be told from the rest: End (SDK client → HTTP →
// simulator), Floor (the same SDK call answered by a server that replays
// the simulator's recorded response bytes: SDK and HTTP cost alone), and
// Server (the simulator's ServeHTTP alone, no network, no SDK).

// launchN starts n Windows instances (tagged like an Auto Scaling group's)
// in batches of 1,000 through the SDK and lets them finish booting.
func launchN(b *testing.B, ts *testSim, c *ec2.Client, n int) []string {
	b.Helper()
	ctx := context.Background()
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []types.Filter{{Name: aws.String("platform"), Values: []string{"windows"}}}})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for len(ids) < n {
		k := int32(min(1000, n-len(ids)))
		out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: imgs.Images[0].ImageId, MinCount: aws.Int32(k), MaxCount: aws.Int32(k),
			InstanceType: types.InstanceTypeM5Large,
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
				{Key: aws.String("Name"), Value: aws.String("web")},
				{Key: aws.String("amiswap:group"), Value: aws.String("web-asg")},
			}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, in := range out.Instances {
			ids = append(ids, *in.InstanceId)
		}
	}
	ts.Advance(10 * time.Minute)
	return ids
}

// describeBench runs one DescribeInstances shape (in, expecting want
// instances, against a simulator holding n) as End, Floor and Server.
func describeBench(b *testing.B, n int, in func(ids []string) *ec2.DescribeInstancesInput, want int) {
	ts := newTestSim(b, Options{})
	c := ec2.NewFromConfig(ts.Cfg)
	ids := launchN(b, ts, c, n)
	input := in(ids)
	ctx := context.Background()
	call := func(b *testing.B, c *ec2.Client) {
		out, err := c.DescribeInstances(ctx, input)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, r := range out.Reservations {
			got += len(r.Instances)
		}
		if got != want {
			b.Fatalf("%d instances, want %d", got, want)
		}
	}
	form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}
	for i, id := range input.InstanceIds {
		form.Set("InstanceId."+itoa(i+1), id)
	}
	body := form.Encode()
	serve := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260105/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
		rec := httptest.NewRecorder()
		ts.Sim.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		return rec
	}
	b.Run("End", func(b *testing.B) {
		b.ReportAllocs()
		defer reportRates(b)()
		for b.Loop() {
			call(b, c)
		}
	})
	b.Run("Floor", func(b *testing.B) {
		canned := serve().Body.Bytes()
		var replayed atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			replayed.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.Write(canned)
		}))
		defer srv.Close()
		// The endpoint goes in a client option: ts.Cfg's config sources
		// (config.WithBaseEndpoint) would override cfg.BaseEndpoint and
		// send the calls to the simulator.
		fc := ec2.NewFromConfig(ts.Cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		b.ReportAllocs()
		defer reportRates(b)()
		for b.Loop() {
			call(b, fc)
		}
		if n := replayed.Load(); n != int64(b.N) {
			b.Fatalf("the replaying server answered %d of %d calls", n, b.N)
		}
	})
	b.Run("Server", func(b *testing.B) {
		b.ReportAllocs()
		defer reportRates(b)()
		for b.Loop() {
			serve()
		}
	})
}

// reportRates, deferred at the start of a benchmark's loop, reports calls
// per second of wall time and per second of the process's CPU time (with
// -cpu 1 the latter is the one-core rate even on a busy machine).
func reportRates(b *testing.B) func() {
	cpu0, ok := processCPUTime()
	return func() {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		if cpu1, _ := processCPUTime(); ok && cpu1 > cpu0 {
			b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "calls/cpu-s")
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func BenchmarkEC2DescribeOneInstance(b *testing.B) {
	describeBench(b, 100, func(ids []string) *ec2.DescribeInstancesInput {
		return &ec2.DescribeInstancesInput{InstanceIds: ids[42:43]}
	}, 1)
}

func BenchmarkEC2Describe1000Instances(b *testing.B) {
	describeBench(b, 1000, func([]string) *ec2.DescribeInstancesInput { return &ec2.DescribeInstancesInput{} }, 1000)
}

// BenchmarkEC2HeapPerInstance measures the simulator's heap per instance
// with 10,000 instances, while they boot (lifecycle timers pending) and
// once they run.
func BenchmarkEC2HeapPerInstance(b *testing.B) {
	const n = 10_000
	var booting, running float64
	for b.Loop() {
		ts := newTestSim(b, Options{})
		c := ec2.NewFromConfig(ts.Cfg)
		before := heapInUse()
		launchN(b, ts, c, n) // they finish booting: the running state
		after := heapInUse()
		running = float64(after-before) / n

		ts2 := newTestSim(b, Options{})
		c2 := ec2.NewFromConfig(ts2.Cfg)
		before = heapInUse()
		ts2.Sim.mu.Lock()
		im := ts2.Sim.ec2.imageOrder[0]
		for i := 0; i < n; i++ {
			if _, err := ts2.Sim.launchInstance(instanceSpec{ImageID: im.ID, InstanceType: "m5.large",
				Tags: tags{"Name": "web", "amiswap:group": "web-asg"}}); err != nil {
				b.Fatal(err)
			}
		}
		ts2.Sim.mu.Unlock()
		booting = float64(heapInUse()-before) / n
		runtime.KeepAlive(c2)
	}
	b.ReportMetric(running, "B/instance-running")
	b.ReportMetric(booting, "B/instance-booting")
	if running > 10<<10 || booting > 10<<10 {
		b.Errorf("heap per instance %.0f B running, %.0f B booting: over the 10 KB budget", running, booting)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
