package asl

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
)

// interruptDef is Build → Swap, with Undo reached by Catch or by an
// operator's Redirect.
const interruptDef = `{
  "StartAt": "Build",
  "States": {
    "Build": {"Type": "Task", "Resource": "build", "ResultPath": "$.built", "Next": "Swap",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}]},
    "Swap":  {"Type": "Task", "Resource": "swap", "ResultPath": "$.swapped", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}]},
    "Undo":  {"Type": "Task", "Resource": "undo", "ResultPath": "$.undone", "Next": "Failed"},
    "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
  }
}`

// stopAfterBuild runs interruptDef until Build has exited (the context is
// cancelled by the observer then, as the CLI does after the first signal)
// and returns the stopped execution.
func stopAfterBuild(t *testing.T, h *handlers) (*Executor, *Definition, *Execution) {
	t.Helper()
	def := mustParse(t, interruptDef)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex := &Executor{Invoker: h, Clock: newFakeClock(), Observer: func(x *Execution, ev Event) {
		if ev.Type == TaskStateExited && ev.State == "Build" {
			cancel()
		}
	}}
	x, res, err := ex.Run(ctx, def, "x", json.RawMessage(`{"group":"g"}`))
	if err != nil || res.Status != StatusAborted {
		t.Fatalf("run: %v, %+v", err, res)
	}
	return ex, def, x
}

func okHandlers() *handlers {
	h := newHandlers()
	for _, r := range []string{"build", "swap", "undo"} {
		h.on(r, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			return json.RawMessage(`"` + r + `-done"`), nil
		})
	}
	return h
}

// TestInterruptStaysResumable: Interrupt records ExecutionInterrupted, the
// execution stays RUNNING, and Resume continues it from the next state.
func TestInterruptStaysResumable(t *testing.T) {
	h := okHandlers()
	ex, def, x := stopAfterBuild(t, h)
	if err := x.Interrupt("SIGINT"); err != nil {
		t.Fatal(err)
	}
	hist := x.History()
	if !hist.Interrupted() || hist.Status() != StatusRunning {
		t.Fatalf("after Interrupt: interrupted %v, status %s", hist.Interrupted(), hist.Status())
	}
	if st, _, _ := x.Position(); st != "Swap" {
		t.Errorf("position %q, want Swap", st)
	}
	y, err := ex.Resume(def, hist)
	if err != nil {
		t.Fatal(err)
	}
	if y.History().Interrupted() {
		t.Error("a resumed execution still counts as interrupted")
	}
	res, err := y.Run(context.Background())
	if err != nil || res.Status != StatusSucceeded {
		t.Fatalf("resume: %v, %+v", err, res)
	}
	if got, want := y.Path(), []string{"Build", "Swap"}; !slices.Equal(got, want) {
		t.Errorf("path %v, want %v", got, want)
	}
	if h.count("build") != 1 || h.count("swap") != 1 {
		t.Errorf("build ran %d times, swap %d; want once each", h.count("build"), h.count("swap"))
	}
}

// TestRedirectToCompensation: an operator's Redirect sends a stopped
// execution to Undo with the error it names; a crash right after the
// redirect resumes at Undo too.
func TestRedirectToCompensation(t *testing.T) {
	h := okHandlers()
	ex, def, x := stopAfterBuild(t, h)
	if err := x.Interrupt("SIGTERM"); err != nil {
		t.Fatal(err)
	}
	y, err := ex.Resume(def, x.History())
	if err != nil {
		t.Fatal(err)
	}
	_, in, err := y.Position()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.Unmarshal(in, &v)
	v["error"] = map[string]string{"Error": "States.Aborted", "Cause": "aborted by the operator"}
	in, _ = json.Marshal(v)
	if err := y.Redirect("Nowhere", in, "States.Aborted", "x"); err == nil {
		t.Error("Redirect to a state that does not exist succeeded")
	}
	if err := y.Redirect("Undo", in, "States.Aborted", "aborted by the operator"); err != nil {
		t.Fatal(err)
	}
	if ev, ok := y.History().Redirected(); !ok || ev.Next != "Undo" || ev.State != "Swap" {
		t.Errorf("redirect event %+v, %v", ev, ok)
	}
	// The process dies here: a resume replays the redirect.
	z, err := ex.Resume(def, y.History())
	if err != nil {
		t.Fatal(err)
	}
	res, err := z.Run(context.Background())
	if err != nil || res.Status != StatusFailed || res.Error != "States.Aborted" || res.Cause != "aborted by the operator" {
		t.Fatalf("after redirect: %v, %+v", err, res)
	}
	if got, want := z.Path(), []string{"Build", "Undo", "Failed"}; !slices.Equal(got, want) {
		t.Errorf("path %v, want %v", got, want)
	}
	if h.count("swap") != 0 || h.count("undo") != 1 {
		t.Errorf("swap ran %d times, undo %d; want 0 and 1", h.count("swap"), h.count("undo"))
	}
	if err := z.Interrupt("late"); err == nil {
		t.Error("Interrupt of a completed execution succeeded")
	}
}
