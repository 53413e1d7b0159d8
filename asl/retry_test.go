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

// failing returns an invoker that fails with the given errors in turn and
// then succeeds with {"ok":true}.
func failing(errs ...error) (Invoker, *int) {
	calls := 0
	return InvokerFunc(func(ctx context.Context, resource string, p json.RawMessage) (json.RawMessage, error) {
		calls++
		if calls <= len(errs) {
			return nil, errs[calls-1]
		}
		return json.RawMessage(`{"ok":true}`), nil
	}), &calls
}

func taskDef(t *testing.T, extra string) *Definition {
	t.Helper()
	states := `"T":{"Type":"Task","Resource":"r","Next":"Done"` + extra + `},"Done":{"Type":"Succeed"}`
	for _, name := range []string{"Handled", "HandledOther"} {
		if strings.Contains(extra, `"`+name+`"`) {
			states += `,"` + name + `":{"Type":"Pass","Next":"Done"}`
		}
	}
	return mustParse(t, `{"StartAt":"T","States":{`+states+`}}`)
}

type nameErr struct{ n string }

func (e nameErr) Error() string { return "named " + e.n }
func (e nameErr) Name() string  { return e.n }

func TestRetryBackoffTiming(t *testing.T) {
	e := &TaskError{Name: "Busy", Cause: "try later"}
	cases := []struct {
		name       string
		retry      string
		errs       []error
		wantSleeps []time.Duration
		wantStatus Status
		wantCalls  int
	}{
		{"1s 2s 4s with BackoffRate 2", `[{"ErrorEquals":["Busy"],"IntervalSeconds":1,"MaxAttempts":3,"BackoffRate":2}]`,
			[]error{e, e, e}, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second}, StatusSucceeded, 4},
		{"defaults are 1s, 3 attempts, rate 2", `[{"ErrorEquals":["Busy"]}]`,
			[]error{e, e, e, e}, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second}, StatusFailed, 4},
		{"MaxDelaySeconds caps the interval", `[{"ErrorEquals":["Busy"],"IntervalSeconds":3,"MaxAttempts":5,"BackoffRate":3,"MaxDelaySeconds":20}]`,
			[]error{e, e, e, e, e}, []time.Duration{3 * time.Second, 9 * time.Second, 20 * time.Second, 20 * time.Second, 20 * time.Second}, StatusSucceeded, 6},
		{"MaxAttempts 0 never retries", `[{"ErrorEquals":["Busy"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}]`,
			[]error{e}, nil, StatusFailed, 1},
		{"fractional BackoffRate", `[{"ErrorEquals":["Busy"],"IntervalSeconds":2,"MaxAttempts":2,"BackoffRate":1.5}]`,
			[]error{e, e}, []time.Duration{2 * time.Second, 3 * time.Second}, StatusSucceeded, 3},
		{"each retrier counts on its own", `[{"ErrorEquals":["Busy"],"MaxAttempts":1,"IntervalSeconds":5},{"ErrorEquals":["Other"],"MaxAttempts":1,"IntervalSeconds":7}]`,
			[]error{e, &TaskError{Name: "Other"}}, []time.Duration{5 * time.Second, 7 * time.Second}, StatusSucceeded, 3},
		{"an error no retrier names is not retried", `[{"ErrorEquals":["Busy"]}]`,
			[]error{&TaskError{Name: "Fatal"}}, nil, StatusFailed, 1},
		{"States.TaskFailed matches a plain error", `[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}]`,
			[]error{errors.New("boom")}, []time.Duration{time.Second}, StatusSucceeded, 2},
		{"a Name() method names the error", `[{"ErrorEquals":["Lambda.TooManyRequestsException"],"MaxAttempts":1}]`,
			[]error{fmt.Errorf("wrapped: %w", nameErr{"Lambda.TooManyRequestsException"})}, []time.Duration{time.Second}, StatusSucceeded, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := newFakeClock()
			inv, calls := failing(c.errs...)
			x, res, err := (&Executor{Invoker: inv, Clock: clk}).Run(context.Background(), taskDef(t, `,"Retry":`+c.retry), "r", nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.wantStatus || *calls != c.wantCalls {
				t.Fatalf("status %s after %d calls, want %s after %d (%s)", res.Status, *calls, c.wantStatus, c.wantCalls, res.Cause)
			}
			if got := clk.Sleeps(); !slices.Equal(got, c.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", got, c.wantSleeps)
			}
			retries := 0
			for _, ev := range x.History() {
				if ev.Type == RetryScheduled {
					retries++
					if time.Duration(ev.Delay) != c.wantSleeps[retries-1] || ev.RetryCount != retries {
						t.Fatalf("retry event %+v", ev)
					}
				}
			}
			if retries != len(c.wantSleeps) {
				t.Fatalf("%d RetryScheduled events", retries)
			}
		})
	}
}

func TestRetryFullJitter(t *testing.T) {
	clk := newFakeClock()
	e := &TaskError{Name: "Busy"}
	inv, _ := failing(e, e)
	ex := &Executor{Invoker: inv, Clock: clk, Rand: func() float64 { return 0.25 }}
	_, res, err := ex.Run(context.Background(), taskDef(t, `,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":4,"JitterStrategy":"FULL"}]`), "j", nil)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("sleeps = %v", got)
	}
}

// TestRetryJitterPerExecution: without Executor.Rand, each execution draws
// its FULL jitter from its own generator seeded with its id: two executions
// that fail together do not retry in step, and the same execution id waits
// the same again (runs are reproducible).
func TestRetryJitterPerExecution(t *testing.T) {
	sleeps := func(name string) []time.Duration {
		clk := newFakeClock()
		e := &TaskError{Name: "Busy"}
		inv, _ := failing(e, e, e)
		ex := &Executor{Invoker: inv, Clock: clk}
		_, res, err := ex.Run(context.Background(), taskDef(t, `,"Retry":[{"ErrorEquals":["Busy"],"IntervalSeconds":40,"MaxAttempts":5,"JitterStrategy":"FULL"}]`), name, nil)
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("%v %+v", err, res)
		}
		got := clk.Sleeps()
		for i, d := range got {
			if limit := 40 * time.Second << i; d < 0 || d >= limit {
				t.Errorf("%s: retry %d waits %v, want [0, %v)", name, i, d, limit)
			}
		}
		return got
	}
	a, b, a2 := sleeps("run-a"), sleeps("run-b"), sleeps("run-a")
	if slices.Equal(a, b) {
		t.Errorf("two executions retried in step: %v", a)
	}
	if !slices.Equal(a, a2) {
		t.Errorf("the same execution waited %v, then %v", a, a2)
	}
}

func TestRetryCountInContext(t *testing.T) {
	var seen []string
	calls := 0
	inv := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		seen = append(seen, string(p))
		calls++
		if calls < 3 {
			return nil, &TaskError{Name: "Busy"}
		}
		return json.RawMessage(`1`), nil
	})
	def := taskDef(t, `,"Parameters":{"n.$":"$$.State.RetryCount","s.$":"$$.State.Name"},"Retry":[{"ErrorEquals":["Busy"]}]`)
	if _, res, err := (&Executor{Invoker: inv, Clock: newFakeClock()}).Run(context.Background(), def, "c", nil); err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	if !slices.Equal(seen, []string{`{"n":0,"s":"T"}`, `{"n":1,"s":"T"}`, `{"n":2,"s":"T"}`}) {
		t.Fatalf("params = %q", seen)
	}
}

func TestCatchOrderAndResultPath(t *testing.T) {
	cases := []struct {
		name, catch string
		err         error
		wantPath    []string
		wantOutput  string
		wantCatcher int
	}{
		{"first matching catcher wins",
			`[{"ErrorEquals":["Busy"],"Next":"Handled"},{"ErrorEquals":["Busy","Other"],"Next":"HandledOther"}]`,
			&TaskError{Name: "Busy", Cause: "c1"}, []string{"T", "Handled", "Done"}, `{"Error":"Busy","Cause":"c1"}`, 1},
		{"later catcher when the first does not match",
			`[{"ErrorEquals":["Busy"],"Next":"Handled"},{"ErrorEquals":["Other"],"Next":"HandledOther"}]`,
			&TaskError{Name: "Other", Cause: "c2"}, []string{"T", "HandledOther", "Done"}, `{"Error":"Other","Cause":"c2"}`, 2},
		{"ResultPath keeps the input beside the error",
			`[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Handled"}]`,
			&TaskError{Name: "Any", Cause: "c3"}, []string{"T", "Handled", "Done"}, `{"in":1,"error":{"Error":"Any","Cause":"c3"}}`, 1},
		{"ResultPath null keeps only the input",
			`[{"ErrorEquals":["States.TaskFailed"],"ResultPath":null,"Next":"Handled"}]`,
			errors.New("plain"), []string{"T", "Handled", "Done"}, `{"in":1}`, 1},
		{"States.ALL catches a timeout-free error after specific catchers",
			`[{"ErrorEquals":["Busy"],"Next":"Handled"},{"ErrorEquals":["States.ALL"],"Next":"HandledOther"}]`,
			errors.New("plain"), []string{"T", "HandledOther", "Done"}, `{"Error":"States.TaskFailed","Cause":"plain"}`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv, _ := failing(c.err)
			x, res, err := (&Executor{Invoker: inv, Clock: newFakeClock()}).Run(context.Background(), taskDef(t, `,"Catch":`+c.catch), "c", json.RawMessage(`{"in":1}`))
			if err != nil || res.Status != StatusSucceeded {
				t.Fatalf("%v %+v", err, res)
			}
			if got := x.Path(); !slices.Equal(got, c.wantPath) {
				t.Fatalf("path = %q", got)
			}
			if !sameJSON(t, res.Output, c.wantOutput) {
				t.Fatalf("output = %s, want %s", res.Output, c.wantOutput)
			}
			var caught *Event
			for _, ev := range x.History() {
				if ev.Type == CatchMatched {
					caught = &ev
				}
			}
			if caught == nil || caught.Catcher != c.wantCatcher || caught.Next != c.wantPath[1] {
				t.Fatalf("CatchMatched = %+v", caught)
			}
		})
	}
}

func TestRetryThenCatch(t *testing.T) {
	e := &TaskError{Name: "Busy", Cause: "still"}
	inv, calls := failing(e, e, e)
	clk := newFakeClock()
	def := taskDef(t, `,"Retry":[{"ErrorEquals":["Busy"],"MaxAttempts":2}],"Catch":[{"ErrorEquals":["Busy"],"Next":"Handled"}]`)
	x, res, err := (&Executor{Invoker: inv, Clock: clk}).Run(context.Background(), def, "rc", nil)
	if err != nil || res.Status != StatusSucceeded || *calls != 3 {
		t.Fatalf("%v %+v calls=%d", err, res, *calls)
	}
	if got := x.Path(); !slices.Equal(got, []string{"T", "Handled", "Done"}) {
		t.Fatalf("path = %q", got)
	}
	// 3 states entered + 2 retries.
	if x.Transitions() != 5 {
		t.Fatalf("transitions = %d", x.Transitions())
	}
}

func TestTaskTimeout(t *testing.T) {
	clk := newFakeClock()
	slow := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		clk.Advance(90 * time.Second) // the task takes 90 virtual seconds
		return json.RawMessage(`{}`), nil
	})
	def := taskDef(t, `,"TimeoutSeconds":60,"Retry":[{"ErrorEquals":["States.TaskFailed"]}],"Catch":[{"ErrorEquals":["States.Timeout"],"ResultPath":"$.err","Next":"Handled"}]`)
	x, res, err := (&Executor{Invoker: slow, Clock: clk}).Run(context.Background(), def, "slow", nil)
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	// States.TaskFailed does not match States.Timeout, so no retry.
	if got := x.Path(); !slices.Equal(got, []string{"T", "Handled", "Done"}) {
		t.Fatalf("path = %q", got)
	}
	if !strings.Contains(string(res.Output), `"Error":"States.Timeout"`) {
		t.Fatalf("output = %s", res.Output)
	}
	hasTimedOut := false
	for _, ev := range x.History() {
		hasTimedOut = hasTimedOut || ev.Type == TaskTimedOut
	}
	if !hasTimedOut {
		t.Fatal("no TaskTimedOut event")
	}

	// A task within its timeout succeeds.
	fast := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		clk.Advance(59 * time.Second)
		return json.RawMessage(`{}`), nil
	})
	if _, res, _ := (&Executor{Invoker: fast, Clock: clk}).Run(context.Background(), def, "fast", nil); res.Status != StatusSucceeded {
		t.Fatalf("fast: %+v", res)
	}
}

func TestTaskTimeoutWallClockCancelsCall(t *testing.T) {
	hang := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	def := taskDef(t, `,"TimeoutSeconds":1`)
	_, res, err := (&Executor{Invoker: hang}).Run(context.Background(), def, "hang", nil)
	if err != nil || res.Status != StatusFailed || res.Error != ErrTimeout {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestExecutionTimeout(t *testing.T) {
	clk := newFakeClock()
	def := mustParse(t, `{"TimeoutSeconds":100,"StartAt":"Poll","States":{
		"Poll":{"Type":"Task","Resource":"check","ResultPath":"$.r","Next":"Ready?"},
		"Ready?":{"Type":"Choice","Choices":[{"Variable":"$.r","BooleanEquals":true,"Next":"Done"}],"Default":"Wait"},
		"Wait":{"Type":"Wait","Seconds":30,"Next":"Poll"},
		"Done":{"Type":"Succeed"}}}`)
	inv := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`false`), nil
	})
	x, res, err := (&Executor{Invoker: inv, Clock: clk}).Run(context.Background(), def, "to", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusTimedOut || res.Error != ErrTimeout {
		t.Fatalf("result = %+v", res)
	}
	hist := x.History()
	last := hist[len(hist)-1]
	if last.Type != ExecutionTimedOut || last.Timestamp.Sub(hist[0].Timestamp) != 100*time.Second {
		t.Fatalf("last event %s at +%v", last.Type, last.Timestamp.Sub(hist[0].Timestamp))
	}
	// The last wait is cut short at the deadline: 30+30+30+10.
	if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second, 10 * time.Second}) {
		t.Fatalf("sleeps = %v", got)
	}

	// A task that overruns the execution deadline times the execution out,
	// and no Catch can take it.
	clk2 := newFakeClock()
	slow := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		clk2.Advance(101 * time.Second)
		return json.RawMessage(`true`), nil
	})
	def2 := mustParse(t, `{"TimeoutSeconds":100,"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"C"}],"End":true},
		"C":{"Type":"Succeed"}}}`)
	_, res, err = (&Executor{Invoker: slow, Clock: clk2}).Run(context.Background(), def2, "to2", nil)
	if err != nil || res.Status != StatusTimedOut {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestFailState(t *testing.T) {
	cases := []struct {
		state, input         string
		wantError, wantCause string
	}{
		{`{"Type":"Fail","Error":"Broken","Cause":"it broke"}`, `{}`, "Broken", "it broke"},
		{`{"Type":"Fail","ErrorPath":"$.err.name","CausePath":"$.err.why"}`, `{"err":{"name":"Custom","why":"because"}}`, "Custom", "because"},
		{`{"Type":"Fail","Error":"E","CausePath":"States.Format('group {} failed', $.g)"}`, `{"g":"web"}`, "E", "group web failed"},
		{`{"Type":"Fail","ErrorPath":"$$.State.Name"}`, `{}`, "S", ""},
		{`{"Type":"Fail","ErrorPath":"$.n"}`, `{"n":1}`, ErrRuntime, "ErrorPath must name a string"},
		{`{"Type":"Fail","CausePath":"$.missing"}`, `{}`, ErrRuntime, "could not be found"},
	}
	for _, c := range cases {
		res, _ := runOne(t, c.state, c.input, "")
		if res.Status != StatusFailed || res.Error != c.wantError || !strings.Contains(res.Cause, c.wantCause) {
			t.Errorf("%s: %+v", c.state, res)
		}
	}
}

func TestChoiceNoMatchFails(t *testing.T) {
	def := mustParse(t, `{"StartAt":"C","States":{
		"C":{"Type":"Choice","Choices":[{"Variable":"$.a","NumericEquals":1,"Next":"D"}]},
		"D":{"Type":"Succeed"}}}`)
	_, res, err := (&Executor{Clock: newFakeClock()}).Run(context.Background(), def, "nm", json.RawMessage(`{"a":2}`))
	if err != nil || res.Status != StatusFailed || res.Error != ErrNoChoiceMatched {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestWaitVariants(t *testing.T) {
	cases := []struct {
		state, input string
		want         time.Duration
	}{
		{`{"Type":"Wait","Seconds":45,"End":true}`, `{}`, 45 * time.Second},
		{`{"Type":"Wait","SecondsPath":"$.s","End":true}`, `{"s":12}`, 12 * time.Second},
		{`{"Type":"Wait","Timestamp":"2026-03-01T12:05:00Z","End":true}`, `{}`, 5 * time.Minute},
		{`{"Type":"Wait","TimestampPath":"$.at","End":true}`, `{"at":"2026-03-01T13:00:00+01:00"}`, 0},
		{`{"Type":"Wait","TimestampPath":"$.at","End":true}`, `{"at":"2026-03-01T12:00:30.5Z"}`, 30500 * time.Millisecond},
	}
	for _, c := range cases {
		clk := newFakeClock() // 2026-03-01T12:00:00Z
		def := mustParse(t, `{"StartAt":"S","States":{"S":`+c.state+`}}`)
		x, res, err := (&Executor{Clock: clk}).Run(context.Background(), def, "w", json.RawMessage(c.input))
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("%s: %v %+v", c.state, err, res)
		}
		h := x.History()
		if d := h[len(h)-1].Timestamp.Sub(h[0].Timestamp); d != c.want {
			t.Errorf("%s waited %v, want %v", c.state, d, c.want)
		}
	}
	for _, in := range []string{`{"s":-1}`, `{"s":"10"}`, `{"s":1.5}`, `{}`} {
		def := mustParse(t, `{"StartAt":"S","States":{"S":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`)
		_, res, _ := (&Executor{Clock: newFakeClock()}).Run(context.Background(), def, "w", json.RawMessage(in))
		if res.Status != StatusFailed || res.Error != ErrRuntime {
			t.Errorf("SecondsPath with %s: %+v", in, res)
		}
	}
}

func TestCancelInterruptsAndAbort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	inv := InvokerFunc(func(c context.Context, r string, p json.RawMessage) (json.RawMessage, error) {
		cancel()
		<-c.Done()
		return nil, c.Err()
	})
	x, err := (&Executor{Invoker: inv, Clock: newFakeClock()}).Start(ctx, taskDef(t, ``), "cx", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(ctx)
	if err != nil || res.Status != StatusAborted {
		t.Fatalf("%v %+v", err, res)
	}
	h := x.History()
	if last := h[len(h)-1]; last.Type != TaskScheduled || h.Status() != StatusRunning {
		t.Fatalf("an interrupted run must leave the history open, last = %s", last.Type)
	}
	if err := x.Abort("operator stop"); err != nil {
		t.Fatal(err)
	}
	if h := x.History(); h.Status() != StatusAborted || x.Status() != StatusAborted {
		t.Fatalf("after Abort: %s", h.Status())
	}
	if err := x.Abort("again"); !errors.Is(err, ErrCompleted) {
		t.Fatalf("second abort: %v", err)
	}
}

func TestTaskPanicIsTaskFailed(t *testing.T) {
	inv := InvokerFunc(func(ctx context.Context, r string, p json.RawMessage) (json.RawMessage, error) { panic("boom") })
	_, res, err := (&Executor{Invoker: inv, Clock: newFakeClock()}).Run(context.Background(), taskDef(t, ``), "p", nil)
	if err != nil || res.Status != StatusFailed || res.Error != ErrTaskFailed || !strings.Contains(res.Cause, "boom") {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestExecutionNames(t *testing.T) {
	def := taskDef(t, ``)
	for _, bad := range []string{"has space", "a/b", "x:y", strings.Repeat("n", 81)} {
		if _, err := (&Executor{}).Start(context.Background(), def, bad, nil); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := (&Executor{}).Start(context.Background(), def, "ok", json.RawMessage(`{bad`)); err == nil {
		t.Error("bad input accepted")
	}
}

func TestContextObject(t *testing.T) {
	clk := newFakeClock()
	def := mustParse(t, `{"StartAt":"First","States":{"First":{"Type":"Wait","Seconds":3,"Next":"P"},"P":{"Type":"Pass","Parameters":{
		"id.$":"$$.Execution.Id","name.$":"$$.Execution.Name","start.$":"$$.Execution.StartTime","input.$":"$$.Execution.Input",
		"state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","retry.$":"$$.State.RetryCount",
		"sm.$":"$$.StateMachine.Id","smName.$":"$$.StateMachine.Name"},"End":true}}}`)
	_, res, err := (&Executor{Clock: clk, StateMachine: "amiswap"}).Run(context.Background(), def, "ctx-1", json.RawMessage(`{"k":"v"}`))
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	want := `{"id":"arn:aws:states:local:000000000000:execution:amiswap:ctx-1","name":"ctx-1","start":"2026-03-01T12:00:00.000Z",
	  "input":{"k":"v"},"state":"P","entered":"2026-03-01T12:00:03.000Z","retry":0,
	  "sm":"arn:aws:states:local:000000000000:stateMachine:amiswap","smName":"amiswap"}`
	if !sameJSON(t, res.Output, want) {
		t.Fatalf("output = %s", res.Output)
	}
}
