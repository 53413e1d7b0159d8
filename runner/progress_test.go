package runner

import (
	"os"
	"time"

	"github.com/amiswap/amiswap/asl"
)

func ExampleProgress() {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	p := &Progress{W: os.Stdout}
	for _, ev := range []asl.Event{
		{Timestamp: t0, Type: asl.TaskStateEntered, State: "LaunchBuilder"},
		{Timestamp: t0, Type: asl.TaskSucceeded, State: "LaunchBuilder", Output: []byte(`{"Payload":{"instanceId":"i-0123456789abcdef0","launchedAt":"2026-01-05T09:00:00Z"}}`)},
		{Timestamp: t0, Type: asl.TaskStateEntered, State: "CheckBuilderReady"},
		{Timestamp: t0, Type: asl.TaskSucceeded, State: "CheckBuilderReady", Output: []byte(`{"Payload":{"ready":false,"waitSeconds":15,"waiting":"instance pending"}}`)},
		{Timestamp: t0.Add(15 * time.Second), Type: asl.TaskStateEntered, State: "CheckBuilderReady"},
		{Timestamp: t0.Add(15 * time.Second), Type: asl.TaskSucceeded, State: "CheckBuilderReady", Output: []byte(`{"Payload":{"ready":false,"waitSeconds":15,"waiting":"instance pending"}}`)},
		{Timestamp: t0.Add(30 * time.Second), Type: asl.TaskStateEntered, State: "CheckBuilderReady"},
		{Timestamp: t0.Add(30 * time.Second), Type: asl.TaskSucceeded, State: "CheckBuilderReady", Output: []byte(`{"Payload":{"ready":false,"waitSeconds":30,"waiting":"status checks initializing"}}`)},
		{Timestamp: t0.Add(4 * time.Minute), Type: asl.TaskStateEntered, State: "Generalize"},
		{Timestamp: t0.Add(4 * time.Minute), Type: asl.RetryScheduled, State: "Generalize", RetryCount: 1, Delay: asl.Duration(2 * time.Second), Error: "TransientError"},
		{Timestamp: t0.Add(5 * time.Minute), Type: asl.CatchMatched, State: "Generalize", Error: "GeneralizeFailedError", Cause: `{"errorMessage":"command ended Failed","errorType":"GeneralizeFailedError"}`},
		{Timestamp: t0.Add(5 * time.Minute), Type: asl.TaskStateEntered, State: "Compensate"},
		{Timestamp: t0.Add(5 * time.Minute), Type: asl.TaskSucceeded, State: "Compensate", Output: []byte(`{"Payload":{"actions":["terminated builder i-0123456789abcdef0","restored MaxSize 4"],"problems":["deregister image ami-0123456789abcdef0: UnauthorizedOperation"]}}`)},
		{Timestamp: t0.Add(5 * time.Minute), Type: asl.ExecutionFailed, Error: "GeneralizeFailedError"},
	} {
		p.Observe(nil, ev)
	}
	// Output:
	// +00:00:00  LaunchBuilder
	// +00:00:00    instanceId i-0123456789abcdef0
	// +00:00:00  CheckBuilderReady
	// +00:00:00    waiting: instance pending (next check in 15s)
	// +00:00:30    waiting: status checks initializing (next check in 30s)
	// +00:04:00  Generalize
	// +00:04:00    retry 1 of Generalize in 2s: TransientError
	// +00:05:00    Generalize failed with GeneralizeFailedError: command ended Failed
	// +00:05:00  Compensate
	// +00:05:00    undone: terminated builder i-0123456789abcdef0
	// +00:05:00    undone: restored MaxSize 4
	// +00:05:00    could not undo: deregister image ami-0123456789abcdef0: UnauthorizedOperation
	// +00:05:00  execution failed: GeneralizeFailedError
}
