package workflow

import (
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
)

func TestPollAgainClamps(t *testing.T) {
	deadline := btNow.Add(time.Hour)
	for _, c := range []struct {
		want time.Duration
		now  time.Time
		secs int
	}{
		{time.Second, btNow, 5},
		{10 * time.Minute, btNow, 120},
		{30 * time.Second, btNow, 30},
		{30 * time.Second, deadline.Add(-1500 * time.Millisecond), 2},
	} {
		res, err := pollAgain("x", c.now, deadline, c.want, "w")
		if err != nil || res.WaitSeconds != c.secs || res.Ready {
			t.Errorf("pollAgain(%v at %v) = %+v, %v; want %d s", c.want, c.now, res, err, c.secs)
		}
	}
	_, err := pollAgain("x", deadline, deadline, time.Minute, "w")
	if to := wantTyped[*amiswap.StepTimeoutError](t, err); to.Step != "x" || to.Waiting != "w" || !to.Deadline.Equal(deadline) {
		t.Errorf("timeout = %+v", to)
	}
}

func TestWaitTowardsTightensNearTheTypicalEnd(t *testing.T) {
	w, err := newWait("", "x", btNow, "state.x", btNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		elapsed time.Duration
		want    time.Duration
	}{
		{0, 5 * time.Minute},                // half of the typical 10 minutes
		{4 * time.Minute, 3 * time.Minute},  // half of the 6 left
		{9 * time.Minute, 30 * time.Second}, // 1 left, not more than twice after
		{20 * time.Minute, 30 * time.Second},
	} {
		w.now = btNow.Add(c.elapsed)
		if got := w.towards(10*time.Minute, 30*time.Second); got != c.want {
			t.Errorf("towards after %v = %v, want %v", c.elapsed, got, c.want)
		}
		if w.elapsed() != c.elapsed {
			t.Errorf("elapsed = %v, want %v", w.elapsed(), c.elapsed)
		}
	}
	if w.deadline != btNow.Add(time.Hour) {
		t.Errorf("deadline = %v", w.deadline)
	}
}

func TestNewWaitRefusesAMissingStart(t *testing.T) {
	_, err := newWait("", "x", btNow, "state.x.startedAt", time.Time{}, time.Hour)
	if e := wantTyped[*amiswap.InvalidInputError](t, err); e.Field != "state.x.startedAt" {
		t.Errorf("field = %q", e.Field)
	}
}

// wantPoll checks a check's verdict: the typed error named wantErr with
// cause in its message when wantErr is not empty, else the poll result.
func wantPoll(t *testing.T, res *PollResult, err error, wantErr, cause string, ready bool, wait int, waiting string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || amiswap.ErrorName(err) != wantErr || !strings.Contains(err.Error(), cause) {
			t.Fatalf("error = %v (%s), want %s containing %q", err, amiswap.ErrorName(err), wantErr, cause)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Ready != ready || res.WaitSeconds != wait || res.Waiting != waiting {
		t.Errorf("poll = %+v, want ready=%v wait=%d waiting=%q", *res, ready, wait, waiting)
	}
}

// noJitter turns the waits' jitter off for the test: it checks their bases.
func noJitter(t *testing.T) {
	old := jitterSpread
	jitterSpread = 0
	t.Cleanup(func() { jitterSpread = old })
}

// TestPollWaitsAreJittered: the same check of two executions waits
// differently, within a fifth of the base either way; the same check of the
// same execution at the same time waits the same (runs are reproducible).
func TestPollWaitsAreJittered(t *testing.T) {
	base := 60 * time.Second
	seen := map[time.Duration]bool{}
	for i := range 50 {
		exec := "arn:aws:states:us-east-1:123456789012:execution:amiswap:run-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		d := jitter(exec, "check-image", btNow, base)
		if d < 48*time.Second || d > 72*time.Second {
			t.Errorf("jitter(%s) = %v, want within 48s..72s", exec, d)
		}
		if again := jitter(exec, "check-image", btNow, base); again != d {
			t.Errorf("jitter(%s) = %v, then %v", exec, d, again)
		}
		seen[d.Round(time.Second)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 executions got only %d distinct waits: %v", len(seen), seen)
	}
	if d := jitter("", "check-image", btNow, base); d != base {
		t.Errorf("without an execution: %v, want %v", d, base)
	}
	w, err := newWait("exec-1", "check-image", btNow, "state.x", btNow.Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.again(base, "w")
	if want := int((jitter("exec-1", "check-image", btNow, base) + time.Second - 1) / time.Second); err != nil || res.WaitSeconds != want {
		t.Errorf("again = %+v, %v; want %d s", res, err, want)
	}
}
