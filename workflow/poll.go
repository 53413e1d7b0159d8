package workflow

// This file holds what the check ops share: the step's "now", the wait a
// check belongs to (when it started, its deadline) and the verdicts a check
// returns (ready, or how long to wait and for what).

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/amiswap/amiswap"
)

// Wait lengths a poll can ask for: never shorter than minPollWait (except
// to land on a deadline), never longer than maxPollWait.
const (
	minPollWait = 5 * time.Second
	maxPollWait = 120 * time.Second
)

// notFoundGrace is how long a just-created resource may be invisible to
// Describe calls (eventual consistency) before it counts as gone.
const notFoundGrace = 5 * time.Minute

// needNow returns the step's entered time; handlers never read the
// machine's clock.
func needNow(p Payload) (time.Time, error) {
	if p.Context.EnteredTime.IsZero() {
		return time.Time{}, &amiswap.InvalidInputError{Field: "context.enteredTime", Reason: "missing"}
	}
	return p.Context.EnteredTime, nil
}

// wait is one check of a wait: the execution and the check's step, when it
// looks (now), when the awaited work started and when the wait gives up.
type wait struct {
	exec, step           string
	now, start, deadline time.Time
}

// newWait returns the wait of step of execution exec seen at now, which
// started at start (the state's field) and lasts at most limit. A missing
// start is an *amiswap.InvalidInputError: the deadline would be
// meaningless.
func newWait(exec, step string, now time.Time, field string, start time.Time, limit time.Duration) (wait, error) {
	if start.IsZero() {
		return wait{}, &amiswap.InvalidInputError{Field: field, Reason: "missing"}
	}
	return wait{exec: exec, step: step, now: now, start: start, deadline: start.Add(limit)}, nil
}

// elapsed is how long the awaited work has been going.
func (w wait) elapsed() time.Duration { return w.now.Sub(w.start) }

// again is pollAgain for this wait, the wait jittered (see jitter).
func (w wait) again(want time.Duration, waiting string) (*PollResult, error) {
	return pollAgain(w.step, w.now, w.deadline, jitter(w.exec, w.step, w.now, want), waiting)
}

// jitterSpread is how far a jittered wait strays from the one asked for:
// up to a fifth either way. (A variable so that tests of the waits' bases
// can set it to 0.)
var jitterSpread = 0.2

// jitter spreads a wait around want (within ±jitterSpread), so that the
// polls of executions that started together (a backup plan completes a
// fleet's backups in one window) do not stay in step and hit the APIs at
// the same instants. The spread is a hash of the execution, the step and
// the time, not a random draw: different executions get different waits,
// and the same check of the same execution gets the same one, so a run is
// reproducible. Without an execution id want is returned as it is.
func jitter(exec, step string, now time.Time, want time.Duration) time.Duration {
	if exec == "" {
		return want
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%d", exec, step, now.UnixNano())
	u := float64(h.Sum64()>>11) / (1 << 53) // [0, 1)
	return time.Duration(float64(want) * (1 + jitterSpread*(2*u-1)))
}

// towards is half of what is left of a typical duration of the awaited
// work, or after once that is no more than twice after: polls start sparse
// and tighten as the expected end approaches.
func (w wait) towards(typical, after time.Duration) time.Duration {
	if left := w.start.Add(typical).Sub(w.now); left > 2*after {
		return left / 2
	}
	return after
}

// pollReady is the verdict of a wait that is over.
func pollReady() *PollResult { return &PollResult{Ready: true, Waiting: ""} }

// pollAgain asks the state machine to wait about want before checking
// again, clamped to [minPollWait, maxPollWait] and never past deadline.
// Past the deadline it returns a *amiswap.StepTimeoutError naming what was
// still awaited.
func pollAgain(step string, now, deadline time.Time, want time.Duration, waiting string) (*PollResult, error) {
	left := deadline.Sub(now)
	if left <= 0 {
		return nil, &amiswap.StepTimeoutError{Step: step, Deadline: deadline, Waiting: waiting}
	}
	want = min(max(want, minPollWait), maxPollWait)
	if want > left {
		want = left
	}
	secs := int((want + time.Second - 1) / time.Second)
	return &PollResult{Ready: false, WaitSeconds: max(secs, 1), Waiting: waiting}, nil
}

// CheckDeadlines are the poll loops' deadlines, by check op (see the
// table in README.md): past one, the check fails with a StepTimeoutError.
// The execution's TimeoutSeconds must exceed their sum with the rest of
// the run (see deploy's TestExecutionTimeoutExceedsTheStepDeadlines).
var CheckDeadlines = map[string]time.Duration{
	"check-builder-ready":   builderReadyDeadline,
	"check-generalized":     generalizeDeadline,
	"check-builder-stopped": builderStoppedDeadline,
	"check-image":           imageDeadline,
	"check-refresh":         refreshDeadline,
	"check-prepared":        prepareDeadline,
	"check-verifier-ready":  verifierReadyDeadline,
	"check-verification":    verifyDeadline,
	"check-hand-off":        handOffDeadline,
}

// MaxPollWait is the longest wait a check asks for.
const MaxPollWait = maxPollWait
