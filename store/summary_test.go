package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/amiswap/amiswap/asl"
)

const summaryWorkflow = `{
  "StartAt": "Resolve",
  "States": {
    "Resolve": {"Type": "Pass", "Result": {"group": "web"}, "ResultPath": "$.target", "Next": "Build"},
    "Build": {"Type": "Task", "Resource": "build", "ResultPath": "$.built", "Next": "Done",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Undo"}]},
    "Done": {"Type": "Succeed"},
    "Undo": {"Type": "Pass", "Next": "Failed"},
    "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
  }
}`

// stopAfterResolve starts an execution named name at simulated time at,
// stops it once Resolve has exited (as the CLI's first signal does) and
// records it as interrupted.
func stopAfterResolve(t *testing.T, st *Store, def *asl.Definition, name string, at time.Time) (*asl.Executor, *asl.Execution) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ex := &asl.Executor{Clock: &manualClock{now: at}, Journal: st, StateMachine: "amiswap",
		Observer: func(x *asl.Execution, ev asl.Event) {
			if ev.Type.IsStateExited() && ev.State == "Resolve" {
				cancel()
			}
		}}
	x, res, err := ex.Run(ctx, def, name, nil)
	if err != nil || res.Status != asl.StatusAborted {
		t.Fatalf("run %s: %v, %+v", name, err, res)
	}
	if err := x.Interrupt("SIGINT"); err != nil {
		t.Fatal(err)
	}
	return ex, x
}

// TestListSummaries: List shows the group an execution resolved, its
// target and wall-clock start from its Meta, INTERRUPTED for an execution
// stopped on purpose and ABORTED for one an operator sent to its
// compensation, and sorts newest first by the wall-clock start, not by the
// histories' (here simulated, and reversed) times.
func TestListSummaries(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, err := asl.Parse([]byte(summaryWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	sim := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	wall := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

	st.Meta = &Meta{Target: "simulator http://127.0.0.1:4566", Started: wall}
	stopAfterResolve(t, st, def, "older", sim.Add(time.Hour))
	st.Meta = &Meta{Target: "123456789012/eu-west-1", Started: wall.Add(time.Minute)}
	ex, x := stopAfterResolve(t, st, def, "newer", sim)

	list, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "newer" || list[1].Name != "older" {
		t.Fatalf("order %v, want newer first", list)
	}
	n := list[0]
	if n.Status != StatusInterrupted || n.Group != "web" || n.Target != "123456789012/eu-west-1" || !n.Started.Equal(wall.Add(time.Minute)) || n.State != "Resolve" {
		t.Errorf("summary %+v", n)
	}

	// An operator's abort: resume, redirect to the compensation, run.
	y, err := ex.Resume(def, x.History())
	if err != nil {
		t.Fatal(err)
	}
	_, in, _ := y.Position()
	var v map[string]any
	json.Unmarshal(in, &v)
	v["error"] = map[string]string{"Error": "States.Aborted", "Cause": "aborted"}
	in, _ = json.Marshal(v)
	if err := y.Redirect("Undo", in, "States.Aborted", "aborted"); err != nil {
		t.Fatal(err)
	}
	if res, err := y.Run(context.Background()); err != nil || res.Status != asl.StatusFailed {
		t.Fatalf("abort: %v, %+v", err, res)
	}
	list, _ = st.List()
	if list[0].Name != "newer" || list[0].Status != StatusAborted || list[0].State != "Failed" {
		t.Errorf("after the abort: %+v", list[0])
	}
	if list[1].Status != StatusInterrupted {
		t.Errorf("the other execution: %+v", list[1])
	}
}
