package store

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/amiswap/amiswap/asl"
)

// manualClock is a virtual clock whose Sleep advances it at once.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

const crashWorkflow = `{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.prepared", "Next": "Work"},
    "Work": {"Type": "Task", "Resource": "work",
      "Parameters": {"id.$": "$.id", "retry.$": "$$.State.RetryCount"},
      "ResultPath": "$.work",
      "Retry": [{"ErrorEquals": ["Flaky"], "MaxAttempts": 1, "IntervalSeconds": 5}],
      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
      "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 10, "Next": "Finish"},
    "Finish": {"Type": "Task", "Resource": "finish", "ResultPath": "$.finish", "End": true},
    "Recover": {"Type": "Pass", "Next": "Failed"},
    "Failed": {"Type": "Fail", "Error": "WorkFailed"}
  }
}`

type script struct {
	mu    sync.Mutex
	calls map[string][]json.RawMessage
	work  func(ctx context.Context, n int) (json.RawMessage, error)
}

func (s *script) Invoke(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string][]json.RawMessage{}
	}
	s.calls[resource] = append(s.calls[resource], params)
	n := len(s.calls[resource])
	s.mu.Unlock()
	if resource == "work" {
		return s.work(ctx, n)
	}
	return json.RawMessage(`"finished"`), nil
}

// crashDuringWork runs the workflow until the given Work call, where it
// cancels the run's context (the process "dies" mid-task).
func crashDuringWork(t *testing.T, dir string, def *asl.Definition, clk asl.Clock, crashAt int, before func(n int) error) *script {
	t.Helper()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := &script{work: func(c context.Context, n int) (json.RawMessage, error) {
		if n == crashAt {
			cancel()
			<-c.Done()
			return nil, c.Err()
		}
		return nil, before(n)
	}}
	ex := &asl.Executor{Invoker: sc, Clock: clk, Journal: st}
	x, err := ex.Start(ctx, def, "swap-1", json.RawMessage(`{"id":"i-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != asl.StatusAborted {
		t.Fatalf("interrupted run status = %s", res.Status)
	}
	// The process dies: the store is dropped without Close.
	return sc
}

func TestResumeAfterCrashReinvokesTaskInFlight(t *testing.T) {
	dir := t.TempDir()
	def, err := asl.Parse([]byte(crashWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{now: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	first := crashDuringWork(t, dir, def, clk, 1, nil)
	if len(first.calls["work"]) != 1 {
		t.Fatalf("work calls before crash = %d", len(first.calls["work"]))
	}

	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != asl.StatusRunning || list[0].State != "Work" || list[0].Name != "swap-1" {
		t.Fatalf("list = %+v", list)
	}
	hist, err := st.Load(list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	second := &script{work: func(ctx context.Context, n int) (json.RawMessage, error) {
		return json.RawMessage(`{"done":true}`), nil
	}}
	var observed []asl.EventType
	ex := &asl.Executor{Invoker: second, Clock: clk, Journal: st, Observer: func(x *asl.Execution, ev asl.Event) { observed = append(observed, ev.Type) }}
	x, err := ex.Resume(def, hist)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != asl.StatusSucceeded {
		t.Fatalf("resumed result = %+v", res)
	}
	if len(second.calls["work"]) != 1 || len(second.calls["finish"]) != 1 {
		t.Fatalf("calls after resume = %v", second.calls)
	}
	if string(second.calls["work"][0]) != `{"id":"i-1","retry":0}` {
		t.Fatalf("re-invoked with %s", second.calls["work"][0])
	}
	if got, want := x.Path(), []string{"Prepare", "Work", "Pause", "Finish"}; !slices.Equal(got, want) {
		t.Fatalf("path = %q, want %q", got, want)
	}
	if observed[0] != asl.ExecutionResumed {
		t.Fatalf("first event after resume = %s", observed[0])
	}
	var out map[string]any
	if err := json.Unmarshal(res.Output, &out); err != nil || out["finish"] != "finished" || out["work"] == nil {
		t.Fatalf("output = %s", res.Output)
	}

	// What is on disk is the whole history, and it is complete.
	stored, err := st.Load(x.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(x.History()) || stored.Status() != asl.StatusSucceeded {
		t.Fatalf("stored %d events (%s), in memory %d", len(stored), stored.Status(), len(x.History()))
	}
	if _, err := ex.Resume(def, stored); !errors.Is(err, asl.ErrCompleted) {
		t.Fatalf("resume of a completed execution: %v", err)
	}
}

func TestResumeKeepsRetryCount(t *testing.T) {
	dir := t.TempDir()
	def, err := asl.Parse([]byte(crashWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{now: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	// Attempt 1 fails with Flaky (retried once), attempt 2 is cut by the crash.
	crashDuringWork(t, dir, def, clk, 2, func(n int) error { return &asl.TaskError{Name: "Flaky", Cause: "try again"} })

	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.Find("swap-1")
	if err != nil {
		t.Fatal(err)
	}
	// The resumed attempt fails with Flaky again: the retrier is used up,
	// so the catcher takes it.
	sc := &script{work: func(ctx context.Context, n int) (json.RawMessage, error) {
		return nil, &asl.TaskError{Name: "Flaky", Cause: "still broken"}
	}}
	x, err := st.Resume(&asl.Executor{Invoker: sc, Clock: clk, Journal: st}, def, id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != asl.StatusFailed || res.Error != "WorkFailed" {
		t.Fatalf("result = %+v", res)
	}
	if len(sc.calls["work"]) != 1 || string(sc.calls["work"][0]) != `{"id":"i-1","retry":1}` {
		t.Fatalf("work calls after resume = %s", sc.calls["work"])
	}
	if got, want := x.Path(), []string{"Prepare", "Work", "Recover", "Failed"}; !slices.Equal(got, want) {
		t.Fatalf("path = %q, want %q", got, want)
	}
}

func TestResumeRefusesOtherDefinition(t *testing.T) {
	dir := t.TempDir()
	def, _ := asl.Parse([]byte(crashWorkflow))
	clk := &manualClock{now: time.Now()}
	crashDuringWork(t, dir, def, clk, 1, nil)
	st, _ := Open(dir)
	defer st.Close()
	id, _ := st.Find("swap-1")
	hist, err := st.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := asl.Parse([]byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`))
	if _, err := (&asl.Executor{Clock: clk}).Resume(other, hist); err == nil {
		t.Fatal("resume with another definition succeeded")
	}
}

func TestDuplicateExecutionName(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	def, _ := asl.Parse([]byte(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`))
	ex := &asl.Executor{Journal: st}
	if _, _, err := ex.Run(context.Background(), def, "once", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Start(context.Background(), def, "once", nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second start: %v", err)
	}
	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != asl.StatusSucceeded || list[0].StopTime.IsZero() || list[0].Transitions != 1 || list[0].State != "P" {
		t.Fatalf("list = %+v", list)
	}
}

func TestTornTailIsIgnoredAndCut(t *testing.T) {
	dir := t.TempDir()
	st, _ := Open(dir)
	clk := &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	def, _ := asl.Parse([]byte(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}`))
	ctx, cancel := context.WithCancel(context.Background())
	ex := &asl.Executor{Journal: st, Clock: clk, Observer: func(x *asl.Execution, ev asl.Event) {
		if ev.Type == asl.WaitStateEntered {
			cancel()
		}
	}}
	x, res, err := ex.Run(ctx, def, "torn", nil)
	if err != nil || res.Status != asl.StatusAborted {
		t.Fatalf("run: %v %+v", err, res)
	}
	// A crash tore the next line in half.
	f, err := os.OpenFile(st.path(x.ID()), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"id":3,"type":"WaitSt`)
	f.Close()

	st2, _ := Open(dir)
	defer st2.Close()
	hist, err := st2.Load(x.ID())
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("loaded %d events, want 2", len(hist))
	}
	x2, err := (&asl.Executor{Journal: st2, Clock: clk}).Resume(def, hist)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := x2.Run(context.Background()); err != nil || res.Status != asl.StatusSucceeded {
		t.Fatalf("resumed: %v %+v", err, res)
	}
	again, err := st2.Load(x.ID())
	if err != nil {
		t.Fatalf("reload after resume: %v", err)
	}
	if again.Status() != asl.StatusSucceeded || len(again) != len(x2.History()) {
		t.Fatalf("reloaded %d events, status %s", len(again), again.Status())
	}
	// The wait ends 5s after the original entry, not after the resume.
	if d := again[len(again)-1].Timestamp.Sub(again[1].Timestamp); d != 5*time.Second {
		t.Fatalf("wait lasted %v", d)
	}
}

func TestLoadMissing(t *testing.T) {
	st, _ := Open(t.TempDir())
	if _, err := st.Load("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("load missing: %v", err)
	}
	if _, err := st.Find("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("find missing: %v", err)
	}
}

func TestFileNameEscapes(t *testing.T) {
	got := fileName("arn:aws:states:local:000000000000:execution:sm:run/1")
	want := "arn%3Aaws%3Astates%3Alocal%3A000000000000%3Aexecution%3Asm%3Arun%2F1.jsonl"
	if got != want {
		t.Fatalf("fileName = %s", got)
	}
	if fileName("..") != "%2E..jsonl" {
		t.Fatalf("fileName(..) = %s", fileName(".."))
	}
}
