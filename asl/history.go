package asl

// This file holds the execution history: Step-Functions-style events with
// ids, previous ids and (virtual) timestamps, and helpers over a history.

import (
	"encoding/json"
	"strings"
	"time"
)

// EventType names a history event, following Step Functions where it has
// an equivalent.
type EventType string

// History event types. RetryScheduled, CatchMatched, ExecutionResumed,
// ExecutionInterrupted and ExecutionRedirected have no Step Functions
// equivalent: they record which retrier or catcher matched, where a resumed
// run picked up, that an operator stopped the run on purpose (it stays
// resumable), and that an operator moved it to another state.
const (
	ExecutionStarted   EventType = "ExecutionStarted"
	ExecutionSucceeded EventType = "ExecutionSucceeded"
	ExecutionFailed    EventType = "ExecutionFailed"
	ExecutionTimedOut  EventType = "ExecutionTimedOut"
	ExecutionAborted   EventType = "ExecutionAborted"
	ExecutionResumed   EventType = "ExecutionResumed"
	// ExecutionInterrupted is not terminal: the execution stays RUNNING
	// and can be resumed.
	ExecutionInterrupted EventType = "ExecutionInterrupted"
	// ExecutionRedirected moves the execution to the state in Next with
	// Output as that state's input; Resume replays it.
	ExecutionRedirected EventType = "ExecutionRedirected"

	TaskStateEntered    EventType = "TaskStateEntered"
	TaskStateExited     EventType = "TaskStateExited"
	PassStateEntered    EventType = "PassStateEntered"
	PassStateExited     EventType = "PassStateExited"
	WaitStateEntered    EventType = "WaitStateEntered"
	WaitStateExited     EventType = "WaitStateExited"
	ChoiceStateEntered  EventType = "ChoiceStateEntered"
	ChoiceStateExited   EventType = "ChoiceStateExited"
	SucceedStateEntered EventType = "SucceedStateEntered"
	SucceedStateExited  EventType = "SucceedStateExited"
	FailStateEntered    EventType = "FailStateEntered"

	TaskScheduled  EventType = "TaskScheduled"
	TaskSucceeded  EventType = "TaskSucceeded"
	TaskFailed     EventType = "TaskFailed"
	TaskTimedOut   EventType = "TaskTimedOut"
	RetryScheduled EventType = "RetryScheduled"
	CatchMatched   EventType = "CatchMatched"
)

var (
	enteredTypes = map[string]EventType{TypeTask: TaskStateEntered, TypePass: PassStateEntered, TypeWait: WaitStateEntered, TypeChoice: ChoiceStateEntered, TypeSucceed: SucceedStateEntered, TypeFail: FailStateEntered}
	exitedTypes  = map[string]EventType{TypeTask: TaskStateExited, TypePass: PassStateExited, TypeWait: WaitStateExited, TypeChoice: ChoiceStateExited, TypeSucceed: SucceedStateExited}
)

// IsStateEntered reports whether t is one of the ...StateEntered types.
func (t EventType) IsStateEntered() bool { return strings.HasSuffix(string(t), "StateEntered") }

// IsStateExited reports whether t is one of the ...StateExited types.
func (t EventType) IsStateExited() bool { return strings.HasSuffix(string(t), "StateExited") }

// IsTerminal reports whether t ends an execution.
func (t EventType) IsTerminal() bool {
	switch t {
	case ExecutionSucceeded, ExecutionFailed, ExecutionTimedOut, ExecutionAborted:
		return true
	}
	return false
}

// Event is one entry of an execution's history.
type Event struct {
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId,omitempty"`
	Timestamp       time.Time `json:"timestamp"`
	Type            EventType `json:"type"`
	// State is the state the event belongs to.
	State string `json:"state,omitempty"`
	// Input is the state's raw input (…StateEntered), the execution input
	// (ExecutionStarted) or the task parameters (TaskScheduled).
	Input json.RawMessage `json:"input,omitempty"`
	// Output is the state's output (…StateExited), the task result
	// (TaskSucceeded) or the execution output (ExecutionSucceeded).
	Output   json.RawMessage `json:"output,omitempty"`
	Resource string          `json:"resource,omitempty"`
	Error    string          `json:"error,omitempty"`
	Cause    string          `json:"cause,omitempty"`
	// Next is the state that follows a …StateExited or CatchMatched event
	// (empty when the execution ends there).
	Next string `json:"next,omitempty"`
	// RetryCount is the number of retries before this attempt
	// (TaskScheduled), or after this one (RetryScheduled).
	RetryCount int `json:"retryCount,omitempty"`
	// Retrier and Catcher are the 1-based positions in Retry and Catch of
	// the entry that matched.
	Retrier int `json:"retrier,omitempty"`
	Catcher int `json:"catcher,omitempty"`
	// Delay is the wait before the retry (RetryScheduled).
	Delay Duration `json:"delay,omitempty"`
	// Execution describes the execution (ExecutionStarted only).
	Execution *ExecutionInfo `json:"execution,omitempty"`
}

// Duration is a time.Duration that reads and writes as seconds in JSON.
type Duration time.Duration

// MarshalJSON writes the duration in seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// ExecutionInfo identifies an execution; ExecutionStarted carries it.
type ExecutionInfo struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	StateMachineID   string    `json:"stateMachineId"`
	StateMachineName string    `json:"stateMachineName"`
	StartTime        time.Time `json:"startTime"`
	// Digest is the SHA-256 of the definition the execution runs.
	Digest string `json:"definitionDigest"`
}

// History is the ordered list of an execution's events.
type History []Event

// Path returns the names of the states entered, in order. A state that a
// resumed run re-entered after a crash counts once.
func (h History) Path() []string {
	var out []string
	for _, ev := range h {
		if ev.Type.IsStateEntered() {
			out = append(out, ev.State)
		}
	}
	return out
}

// Transitions counts the state transitions, as Step Functions bills them:
// one per state entered and one per retry.
func (h History) Transitions() int {
	n := 0
	for _, ev := range h {
		if ev.Type.IsStateEntered() || ev.Type == RetryScheduled {
			n++
		}
	}
	return n
}

// Status reports the execution status the history ends in: RUNNING when it
// has no terminal event.
func (h History) Status() Status {
	if len(h) == 0 {
		return StatusRunning
	}
	switch h[len(h)-1].Type {
	case ExecutionSucceeded:
		return StatusSucceeded
	case ExecutionFailed:
		return StatusFailed
	case ExecutionTimedOut:
		return StatusTimedOut
	case ExecutionAborted:
		return StatusAborted
	}
	return StatusRunning
}

// Interrupted reports whether the execution was stopped on purpose and not
// resumed since: it is RUNNING and its last event is ExecutionInterrupted.
func (h History) Interrupted() bool {
	return len(h) > 0 && h[len(h)-1].Type == ExecutionInterrupted
}

// Redirected returns the last ExecutionRedirected event, if any.
func (h History) Redirected() (Event, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Type == ExecutionRedirected {
			return h[i], true
		}
	}
	return Event{}, false
}

// Info returns the execution description from ExecutionStarted.
func (h History) Info() (ExecutionInfo, bool) {
	if len(h) == 0 || h[0].Type != ExecutionStarted || h[0].Execution == nil {
		return ExecutionInfo{}, false
	}
	return *h[0].Execution, true
}
