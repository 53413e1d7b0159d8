package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const pollWorkflow = `{
  "Comment": "resolve, then poll an image until it is available",
  "StartAt": "Resolve",
  "States": {
    "Resolve": {"Type": "Task", "Resource": "resolve", "ResultPath": "$.target", "Next": "CreateImage"},
    "CreateImage": {"Type": "Task", "Resource": "create", "ResultPath": "$.image", "Next": "WaitImage"},
    "WaitImage": {"Type": "Wait", "SecondsPath": "$.image.waitSeconds", "Next": "CheckImage"},
    "CheckImage": {"Type": "Task", "Resource": "check", "Parameters": {"id.$": "$.image.id"}, "ResultPath": "$.image", "Next": "ImageReady?"},
    "ImageReady?": {"Type": "Choice", "Choices": [
        {"Variable": "$.image.state", "StringEquals": "available", "Next": "Done"},
        {"Variable": "$.image.state", "StringEquals": "failed", "Next": "Broken"}
      ], "Default": "WaitImage"},
    "Broken": {"Type": "Fail", "Error": "ImageFailed", "CausePath": "$.image.reason"},
    "Done": {"Type": "Succeed", "OutputPath": "$.image"}
  }
}`

func TestPollLoopPath(t *testing.T) {
	def := mustParse(t, pollWorkflow)
	clk := newFakeClock()
	h := newHandlers()
	h.on("resolve", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"group":"web"}`), nil
	})
	h.on("create", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"id":"ami-1","state":"pending","waitSeconds":30}`), nil
	})
	checks := 0
	h.on("check", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		if !sameJSON(t, p, `{"id":"ami-1"}`) {
			t.Errorf("check params = %s", p)
		}
		checks++
		if checks < 3 {
			return json.RawMessage(`{"id":"ami-1","state":"pending","waitSeconds":60}`), nil
		}
		return json.RawMessage(`{"id":"ami-1","state":"available","waitSeconds":0}`), nil
	})
	var seen []EventType
	ex := &Executor{Invoker: h, Clock: clk, Observer: func(x *Execution, ev Event) { seen = append(seen, ev.Type) }}
	x, res, err := ex.Run(context.Background(), def, "run-1", json.RawMessage(`{"backup":"job-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSucceeded || !sameJSON(t, res.Output, `{"id":"ami-1","state":"available","waitSeconds":0}`) {
		t.Fatalf("result = %+v %s", res, res.Output)
	}
	want := []string{"Resolve", "CreateImage", "WaitImage", "CheckImage", "ImageReady?", "WaitImage", "CheckImage", "ImageReady?", "WaitImage", "CheckImage", "ImageReady?", "Done"}
	if got := x.Path(); !slices.Equal(got, want) {
		t.Fatalf("path = %q\nwant   %q", got, want)
	}
	if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{30 * time.Second, 60 * time.Second, 60 * time.Second}) {
		t.Fatalf("sleeps = %v", got)
	}
	if x.Transitions() != len(want) {
		t.Fatalf("transitions = %d, want %d", x.Transitions(), len(want))
	}
	hist := x.History()
	if len(seen) != len(hist) {
		t.Fatalf("observer saw %d events, history has %d", len(seen), len(hist))
	}
	for i, ev := range hist {
		if ev.ID != int64(i+1) || ev.PreviousEventID != int64(i) {
			t.Fatalf("event %d: id %d prev %d", i, ev.ID, ev.PreviousEventID)
		}
		if i > 0 && ev.Timestamp.Before(hist[i-1].Timestamp) {
			t.Fatalf("event %d goes back in time", i)
		}
	}
	if hist[0].Type != ExecutionStarted || hist[len(hist)-1].Type != ExecutionSucceeded {
		t.Fatalf("first/last = %s/%s", hist[0].Type, hist[len(hist)-1].Type)
	}
	if end := hist[len(hist)-1].Timestamp; end.Sub(hist[0].Timestamp) != 150*time.Second {
		t.Fatalf("virtual duration = %v", end.Sub(hist[0].Timestamp))
	}
}

func TestPollLoopFailBranch(t *testing.T) {
	def := mustParse(t, pollWorkflow)
	h := newHandlers()
	h.on("resolve", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})
	h.on("create", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"id":"ami-1","state":"pending","waitSeconds":5}`), nil
	})
	h.on("check", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{"id":"ami-1","state":"failed","reason":"snapshot error"}`), nil
	})
	x, res, err := (&Executor{Invoker: h, Clock: newFakeClock()}).Run(context.Background(), def, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || res.Error != "ImageFailed" || res.Cause != "snapshot error" {
		t.Fatalf("result = %+v", res)
	}
	want := []string{"Resolve", "CreateImage", "WaitImage", "CheckImage", "ImageReady?", "Broken"}
	if got := x.Path(); !slices.Equal(got, want) {
		t.Fatalf("path = %q", got)
	}
	if x.Name() == "" {
		t.Fatal("an empty name must be replaced by a generated one")
	}
}

func TestRunCompletedExecution(t *testing.T) {
	def := mustParse(t, `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	x, _, err := (&Executor{Clock: newFakeClock()}).Run(context.Background(), def, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Run(context.Background()); !errors.Is(err, ErrCompleted) {
		t.Fatalf("second run: %v", err)
	}
}

func TestHistoryLimit(t *testing.T) {
	def := mustParse(t, `{"StartAt":"Loop","States":{
		"Loop":{"Type":"Choice","Choices":[{"Variable":"$.stop","BooleanEquals":true,"Next":"Done"}],"Default":"Again"},
		"Again":{"Type":"Pass","Next":"Loop"},
		"Done":{"Type":"Succeed"}}}`)
	x, res, err := (&Executor{Clock: newFakeClock(), MaxEvents: 50}).Run(context.Background(), def, "loop", json.RawMessage(`{"stop":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || res.Error != ErrRuntime || !strings.Contains(res.Cause, "maximum number of history events (50)") {
		t.Fatalf("result = %+v", res)
	}
	if n := len(x.History()); n != 50 {
		t.Fatalf("history has %d events", n)
	}
}

type memJournal struct {
	synced   map[EventType]bool
	events   int
	failFrom int // fail every Append from this event number on (0: never)
}

func (j *memJournal) Append(id string, ev Event, sync bool) error {
	j.events++
	if j.failFrom > 0 && j.events >= j.failFrom {
		return errors.New("disk full")
	}
	if j.synced == nil {
		j.synced = map[EventType]bool{}
	}
	if prev, ok := j.synced[ev.Type]; ok && prev != sync {
		return fmt.Errorf("%s synced inconsistently", ev.Type)
	}
	j.synced[ev.Type] = sync
	return nil
}

func TestJournalSyncAndFailure(t *testing.T) {
	h := newHandlers()
	h.on("r", func(ctx context.Context, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`1`), nil
	})
	def := taskDef(t, ``)
	j := &memJournal{}
	if _, res, err := (&Executor{Invoker: h, Clock: newFakeClock(), Journal: j}).Run(context.Background(), def, "j", nil); err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	want := map[EventType]bool{ExecutionStarted: true, TaskStateEntered: true, TaskScheduled: false, TaskSucceeded: false,
		TaskStateExited: true, SucceedStateEntered: true, SucceedStateExited: true, ExecutionSucceeded: true}
	for typ, sync := range want {
		if got, ok := j.synced[typ]; !ok || got != sync {
			t.Errorf("%s: synced=%v (recorded %v), want %v", typ, got, ok, sync)
		}
	}

	broken := &memJournal{failFrom: 3}
	x, err := (&Executor{Invoker: h, Clock: newFakeClock(), Journal: broken}).Start(context.Background(), def, "j2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("run with a failing journal: %v", err)
	}
	if x.Status() != StatusRunning {
		t.Fatalf("status after a journal failure = %s", x.Status())
	}
}

// A run interrupted while waiting to retry resumes by waiting out the rest
// of the interval, with the retrier's count kept.
func TestResumeDuringRetryInterval(t *testing.T) {
	clk := newFakeClock()
	calls := 0
	inv := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		calls++
		if calls <= 2 {
			return nil, &TaskError{Name: "Busy"}
		}
		return json.RawMessage(`"ok"`), nil
	})
	def := taskDef(t, `,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":10,"MaxAttempts":2}],"Parameters":{"n.$":"$$.State.RetryCount"}`)
	ctx, cancel := context.WithCancel(context.Background())
	ex := &Executor{Invoker: inv, Clock: clk, Observer: func(x *Execution, ev Event) {
		if ev.Type == RetryScheduled {
			cancel()
		}
	}}
	x, res, err := ex.Run(ctx, def, "rr", nil)
	if err != nil || res.Status != StatusAborted || calls != 1 {
		t.Fatalf("%v %+v calls=%d", err, res, calls)
	}
	clk.Advance(4 * time.Second) // down for 4s of the 10s interval

	var params []string
	inv2 := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		params = append(params, string(p))
		return inv(ctx, r, p)
	})
	y, err := (&Executor{Invoker: inv2, Clock: clk}).Resume(def, x.History())
	if err != nil {
		t.Fatal(err)
	}
	res, err = y.Run(context.Background())
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{6 * time.Second, 20 * time.Second}) {
		t.Fatalf("sleeps after resume = %v", got)
	}
	if !slices.Equal(params, []string{`{"n":1}`, `{"n":2}`}) {
		t.Fatalf("params = %q", params)
	}
	if got := y.Path(); !slices.Equal(got, []string{"T", "Done"}) {
		t.Fatalf("path = %q", got)
	}
	if _, err := (&Executor{Clock: clk}).Resume(def, y.History()); !errors.Is(err, ErrCompleted) {
		t.Fatalf("resume completed: %v", err)
	}
}
