package runner

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/amiswap/amiswap/asl"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts the AWS API calls made through the configurations it
// instruments: every attempt sent (a retried call counts once per
// attempt, as AWS counts requests against its rate limits), and the
// attempts AWS answered with a throttling error.
type Calls struct {
	sent, throttled atomic.Int64
}

// Instrument returns a copy of cfg whose clients count their calls in c.
func (c *Calls) Instrument(cfg aws.Config) aws.Config {
	cfg.APIOptions = append(slices.Clip(cfg.APIOptions), func(st *middleware.Stack) error {
		// Added after the Retry middleware of the Finalize step, so it
		// runs once per attempt.
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("amiswapCountCalls", c.count), middleware.After)
	})
	return cfg
}

func (c *Calls) count(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	c.sent.Add(1)
	out, md, err := next.HandleFinalize(ctx, in)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if _, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]; ok {
			c.throttled.Add(1)
		}
	}
	return out, md, err
}

// Sent returns the number of attempts sent so far.
func (c *Calls) Sent() int64 { return c.sent.Load() }

// Throttled returns the number of attempts AWS throttled so far.
func (c *Calls) Throttled() int64 { return c.throttled.Load() }

// Metrics describe what one local run did, as `run --json` and
// `demo --json` report them. They count this run only: a resumed
// execution's earlier runs are not included.
type Metrics struct {
	// Transitions are state transitions as Step Functions bills them: one
	// per state entered and one per retry.
	Transitions int `json:"transitions"`
	// TaskInvocations are Task attempts (Lambda invocations when deployed).
	TaskInvocations int   `json:"taskInvocations"`
	APICalls        int64 `json:"apiCalls"`
	ThrottledCalls  int64 `json:"throttledCalls"`
	// SimulatedSeconds is the run's duration on the execution's clock: the
	// simulator's for a run against it, else the wall clock.
	SimulatedSeconds float64 `json:"simulatedSeconds"`
	WallSeconds      float64 `json:"wallSeconds"`
}

// MetricsOf computes the metrics of the events from h[from:] (the events
// this run recorded), with the calls counted in calls (nil: none) and the
// run's wall time.
func MetricsOf(h asl.History, from int, calls *Calls, wall time.Duration) Metrics {
	m := Metrics{WallSeconds: wall.Seconds()}
	if from < 0 || from >= len(h) {
		return m
	}
	run := h[from:]
	for _, ev := range run {
		switch {
		case ev.Type.IsStateEntered(), ev.Type == asl.RetryScheduled:
			m.Transitions++
		}
		if ev.Type == asl.TaskScheduled {
			m.TaskInvocations++
		}
	}
	m.SimulatedSeconds = run[len(run)-1].Timestamp.Sub(run[0].Timestamp).Seconds()
	if calls != nil {
		m.APICalls, m.ThrottledCalls = calls.Sent(), calls.Throttled()
	}
	return m
}
