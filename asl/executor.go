package asl

// This file holds the executor: it runs a Definition's states one after the
// other, with the clock, the task invoker and the journal injected, and
// records every step in the execution's history.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Invoker runs the work of Task states.
type Invoker interface {
	// Invoke runs resource with the JSON params and returns its JSON result.
	// An error that is (or wraps) a *TaskError, or that has a
	// Name() string method, fails the task with that error name, which
	// Retry and Catch match; any other error is States.TaskFailed. Invoke
	// must return promptly once ctx is done.
	Invoke(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
	return f(ctx, resource, params)
}

// Clock tells the time and waits. Wait states, retry intervals, timeouts
// and history timestamps all use it, so a virtual clock drives a whole run.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, returning ctx.Err() if ctx is done first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Journal stores history events durably (see package store).
type Journal interface {
	// Append stores ev as the next event of the execution executionID. The
	// first event of an execution is ExecutionStarted; Append must fail if
	// that execution already exists. With sync set, the event must be on
	// stable storage when Append returns.
	Append(executionID string, ev Event, sync bool) error
}

// Status is an execution's status.
type Status string

// Execution statuses.
const (
	StatusRunning   Status = "RUNNING"
	StatusSucceeded Status = "SUCCEEDED"
	StatusFailed    Status = "FAILED"
	StatusTimedOut  Status = "TIMED_OUT"
	StatusAborted   Status = "ABORTED"
)

// Result is how an execution ended (or stopped).
type Result struct {
	Status Status
	Output json.RawMessage // SUCCEEDED only
	Error  string
	Cause  string
}

// ErrCompleted is returned when resuming or running an execution that has
// already ended.
var ErrCompleted = errors.New("execution already completed")

// Executor runs definitions. Its fields are read-only once it is in use; one
// Executor can run any number of executions at the same time.
type Executor struct {
	// Invoker runs Task states. Required when the definition has one.
	Invoker Invoker
	// Clock defaults to SystemClock.
	Clock Clock
	// Journal, when set, receives every event as it is recorded.
	Journal Journal
	// Observer, when set, sees every event live, after it was journaled.
	// It runs on the execution's goroutine and must not block for long.
	Observer func(x *Execution, ev Event)
	// StateMachine names the state machine in execution ids and in the
	// context object ($$.StateMachine.Name); default "StateMachine".
	StateMachine string
	// Rand returns a number in [0, 1) for FULL retry jitter. By default
	// each execution draws from its own generator seeded with its id:
	// executions that fail together do not retry in step, and a run is
	// reproducible.
	Rand func() float64
	// UUID generates execution names and States.UUID; default random v4.
	UUID func() string
	// MaxEvents limits an execution's history, failing the execution
	// with States.Runtime when it is reached, as Step Functions does at
	// 25,000 events (the default); negative means no limit.
	MaxEvents int
}

// DefaultMaxEvents is the Step Functions limit on an execution's history.
const DefaultMaxEvents = 25000

func (e *Executor) maxEvents() int {
	switch {
	case e.MaxEvents == 0:
		return DefaultMaxEvents
	case e.MaxEvents < 0:
		return 0
	}
	return e.MaxEvents
}

const arnPrefix = "arn:aws:states:local:000000000000:"

func (e *Executor) clock() Clock {
	if e.Clock == nil {
		return SystemClock{}
	}
	return e.Clock
}

func (e *Executor) smName() string {
	if e.StateMachine == "" {
		return "StateMachine"
	}
	return e.StateMachine
}

// Execution is one run of a definition. Its run state (current state,
// retry counters, history) lives here, never in the Definition. Methods are
// not safe for concurrent use: Run it from one goroutine.
type Execution struct {
	ex      *Executor
	clk     Clock
	def     *Definition
	info    ExecutionInfo
	input   any
	history History
	status  Status
	result  Result
	ctxObj  map[string]any

	// Position: the state to run next and its input.
	cur       string
	curInput  any
	curRaw    json.RawMessage // curInput encoded, when known
	entered   bool            // cur's …StateEntered is already recorded
	enteredAt time.Time       // when cur was entered
	counts    []int           // per-retrier attempts of cur
	retries   int             // total retries of cur
	retryAt   time.Time       // a resumed run waits for a scheduled retry until then
	running   bool
	jitter    *rand.Rand // FULL jitter draws without Executor.Rand (see there)
}

// ID returns the execution id (an ARN-like string).
func (x *Execution) ID() string { return x.info.ID }

// Name returns the execution name.
func (x *Execution) Name() string { return x.info.Name }

// Info returns the execution's identity.
func (x *Execution) Info() ExecutionInfo { return x.info }

// Status returns the current status.
func (x *Execution) Status() Status { return x.status }

// History returns a copy of the events recorded so far.
func (x *Execution) History() History { return append(History(nil), x.history...) }

// Transitions returns the number of state transitions so far.
func (x *Execution) Transitions() int { return x.history.Transitions() }

// Path returns the names of the states entered so far.
func (x *Execution) Path() []string { return x.history.Path() }

// Result returns how the execution ended; Status is RUNNING until then.
func (x *Execution) Result() Result {
	if x.status == StatusRunning {
		return Result{Status: StatusRunning}
	}
	return x.result
}

// Run starts an execution and runs it to its end (see Execution.Run).
func (e *Executor) Run(ctx context.Context, def *Definition, name string, input json.RawMessage) (*Execution, Result, error) {
	x, err := e.Start(ctx, def, name, input)
	if err != nil {
		return nil, Result{}, err
	}
	res, err := x.Run(ctx)
	return x, res, err
}

// Start creates an execution and records ExecutionStarted; Run runs it. An
// empty name is replaced by a UUID. Input must be JSON (empty means {}).
func (e *Executor) Start(ctx context.Context, def *Definition, name string, input json.RawMessage) (*Execution, error) {
	if def == nil {
		return nil, errors.New("start execution: nil definition")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start execution: %w", err)
	}
	if name == "" {
		name = e.uuid()
	}
	if err := checkExecutionName(name); err != nil {
		return nil, fmt.Errorf("start execution: %w", err)
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	in, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("start execution %q: input is not JSON: %w", name, err)
	}
	clk := e.clock()
	sm := e.smName()
	x := &Execution{
		ex: e, clk: clk, def: def, input: in, status: StatusRunning,
		info: ExecutionInfo{
			ID:               arnPrefix + "execution:" + sm + ":" + name,
			Name:             name,
			StateMachineID:   arnPrefix + "stateMachine:" + sm,
			StateMachineName: sm,
			StartTime:        clk.Now(),
			Digest:           def.digest,
		},
		cur:      def.startAt,
		curInput: in,
	}
	info := x.info
	raw, err := marshalValue(in)
	if err != nil {
		return nil, fmt.Errorf("start execution %q: %w", name, err)
	}
	x.curRaw = raw
	if err := x.record(Event{Type: ExecutionStarted, Input: raw, Execution: &info}); err != nil {
		return nil, fmt.Errorf("start execution %q: %w", name, err)
	}
	return x, nil
}

func (e *Executor) uuid() string {
	if e.UUID != nil {
		return e.UUID()
	}
	return newUUID()
}

// checkExecutionName applies the Step Functions naming rules.
func checkExecutionName(name string) error {
	if len(name) > 80 {
		return fmt.Errorf("execution name %q is longer than 80 characters", name)
	}
	for _, r := range name {
		if r <= 0x20 || (r >= 0x7f && r <= 0x9f) || containsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return fmt.Errorf("execution name %q contains %q, which is not allowed", name, r)
		}
	}
	return nil
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// Resume rebuilds an execution from its recorded history so that Run can
// continue it after the process that ran it died. It re-enters the last
// state that was entered but not exited, with that state's input and retry
// counters; a task in flight at the crash is therefore invoked again, so
// task handlers must be idempotent. A run that died between two states
// continues with the next one. A completed execution cannot be resumed
// (ErrCompleted), and the history must come from the same definition. The
// execution's TimeoutSeconds still counts from its original start, so time
// spent down counts too, as it would in Step Functions.
func (e *Executor) Resume(def *Definition, events History) (*Execution, error) {
	info, ok := events.Info()
	if !ok {
		return nil, errors.New("resume: the history does not start with ExecutionStarted")
	}
	if st := events.Status(); st != StatusRunning {
		return nil, fmt.Errorf("resume %s: %w (%s)", info.Name, ErrCompleted, st)
	}
	if info.Digest != def.digest {
		return nil, fmt.Errorf("resume %s: the history was recorded with a different definition", info.Name)
	}
	in, err := decodeJSON(events[0].Input)
	if err != nil {
		return nil, fmt.Errorf("resume %s: execution input: %w", info.Name, err)
	}
	x := &Execution{
		ex: e, clk: e.clock(), def: def, info: info, input: in, status: StatusRunning,
		history: append(History(nil), events...),
		cur:     def.startAt, curInput: in,
	}
	for _, ev := range events {
		switch {
		case ev.Type.IsStateEntered():
			st, ok := def.states[ev.State]
			if !ok {
				return nil, fmt.Errorf("resume %s: state %q is not in the definition", info.Name, ev.State)
			}
			v, err := decodeJSON(ev.Input)
			if err != nil {
				return nil, fmt.Errorf("resume %s: input of %q: %w", info.Name, ev.State, err)
			}
			x.cur, x.curInput, x.curRaw, x.entered, x.enteredAt = ev.State, v, ev.Input, true, ev.Timestamp
			x.counts, x.retries, x.retryAt = make([]int, len(st.retry)), 0, time.Time{}
		case ev.Type.IsStateExited():
			v, err := decodeJSON(ev.Output)
			if err != nil {
				return nil, fmt.Errorf("resume %s: output of %q: %w", info.Name, ev.State, err)
			}
			x.curInput, x.curRaw, x.entered = v, ev.Output, false
			x.cur = ev.Next // empty: the execution ends with this output
		case ev.Type == RetryScheduled:
			if ev.Retrier > 0 && ev.Retrier <= len(x.counts) {
				x.counts[ev.Retrier-1]++
			}
			x.retries = ev.RetryCount
			x.retryAt = ev.Timestamp.Add(time.Duration(ev.Delay))
		case ev.Type == TaskScheduled:
			x.retryAt = time.Time{}
		case ev.Type == ExecutionRedirected:
			v, err := decodeJSON(ev.Output)
			if err != nil {
				return nil, fmt.Errorf("resume %s: redirect to %q: %w", info.Name, ev.Next, err)
			}
			x.cur, x.curInput, x.curRaw, x.entered = ev.Next, v, ev.Output, false
		}
	}
	ev := Event{Type: ExecutionResumed, State: x.cur}
	if err := x.record(ev); err != nil {
		return nil, fmt.Errorf("resume %s: %w", info.Name, err)
	}
	return x, nil
}

// Abort ends an execution that is not running with status ABORTED, like
// StopExecution; it records ExecutionAborted, so it cannot be resumed.
func (x *Execution) Abort(cause string) error {
	if x.running {
		return errors.New("abort: the execution is running; cancel its context first")
	}
	if x.status != StatusRunning {
		return fmt.Errorf("abort %s: %w", x.info.Name, ErrCompleted)
	}
	return x.finish(Result{Status: StatusAborted, Error: "States.Aborted", Cause: cause})
}

// Interrupt records that the run was stopped on purpose (an operator's
// signal) with cause, after Run returned for a cancelled context. The
// execution stays RUNNING: Resume continues it, Redirect and Abort end it
// another way.
func (x *Execution) Interrupt(cause string) error {
	if x.running {
		return errors.New("interrupt: the execution is running; cancel its context first")
	}
	if x.status != StatusRunning {
		return fmt.Errorf("interrupt %s: %w", x.info.Name, ErrCompleted)
	}
	if err := x.record(Event{Type: ExecutionInterrupted, State: x.cur, Cause: cause}); err != nil {
		return fmt.Errorf("interrupt %s: %w", x.info.Name, err)
	}
	return nil
}

// Redirect moves an execution that is not running to the state next, with
// input as that state's input, and records ExecutionRedirected with
// errorName and cause (why). The state in flight, if any, is left without
// an exit, as a Catch leaves it. It is how an operator sends a stopped
// execution to its compensation; Run then continues from next.
func (x *Execution) Redirect(next string, input json.RawMessage, errorName, cause string) error {
	if x.running {
		return errors.New("redirect: the execution is running; cancel its context first")
	}
	if x.status != StatusRunning {
		return fmt.Errorf("redirect %s: %w", x.info.Name, ErrCompleted)
	}
	if _, ok := x.def.states[next]; !ok {
		return fmt.Errorf("redirect %s: no state %q in the definition", x.info.Name, next)
	}
	v, err := decodeJSON(input)
	if err != nil {
		return fmt.Errorf("redirect %s: input is not JSON: %w", x.info.Name, err)
	}
	raw, err := marshalValue(v)
	if err != nil {
		return fmt.Errorf("redirect %s: %w", x.info.Name, err)
	}
	if err := x.record(Event{Type: ExecutionRedirected, State: x.cur, Next: next, Output: raw, Error: errorName, Cause: cause}); err != nil {
		return fmt.Errorf("redirect %s: %w", x.info.Name, err)
	}
	x.cur, x.curInput, x.curRaw, x.entered = next, v, raw, false
	return nil
}

// Position returns the state the execution is in (or goes to next) and
// that state's input; "" once the last state has exited.
func (x *Execution) Position() (state string, input json.RawMessage, err error) {
	raw := x.curRaw
	if raw == nil {
		if raw, err = marshalValue(x.curInput); err != nil {
			return "", nil, err
		}
	}
	return x.cur, raw, nil
}

// errInterrupted signals that ctx was cancelled mid-run.
var errInterrupted = errors.New("interrupted")

// failure is a state failure: name and cause, and whether Retry and Catch
// may handle it (States.Runtime errors may not).
type failure struct {
	name, cause string
	fatal       bool
}

func (f *failure) Error() string { return f.name + ": " + f.cause }

// asFailure converts an error from data processing into a failure.
func asFailure(err error, defName string, fatal bool) *failure {
	var te *TaskError
	if errors.As(err, &te) {
		return &failure{te.Name, te.Cause, fatal || te.Name == ErrRuntime}
	}
	var pnf *pathNotFoundError
	if errors.As(err, &pnf) {
		return &failure{ErrRuntime, err.Error(), true}
	}
	return &failure{defName, err.Error(), fatal || defName == ErrRuntime}
}

// errExecTimeout signals that the execution's own TimeoutSeconds elapsed.
var errExecTimeout = errors.New("execution timed out")

// Run runs the execution until it ends and returns how it ended. If ctx is
// cancelled, Run stops where it is and returns status ABORTED without
// recording an end: the history stays open, as after a crash, and Resume
// can continue it (use Abort to end it for good). The error is non-nil only
// when the run could not go on for another reason, such as a Journal
// failure; the execution is then still RUNNING.
func (x *Execution) Run(ctx context.Context) (Result, error) {
	if x.status != StatusRunning {
		return x.result, fmt.Errorf("run %s: %w", x.info.Name, ErrCompleted)
	}
	if x.running {
		return Result{}, fmt.Errorf("run %s: already running", x.info.Name)
	}
	x.running = true
	defer func() { x.running = false }()
	for {
		if err := ctx.Err(); err != nil {
			return x.interrupted(err), nil
		}
		if x.cur == "" { // resumed after the last state exited
			raw := x.curRaw
			if raw == nil {
				raw, _ = marshalValue(x.curInput)
			}
			return x.end(Result{Status: StatusSucceeded, Output: raw})
		}
		if x.deadlinePassed() {
			return x.end(x.timeoutResult())
		}
		st := x.def.states[x.cur]
		if !x.entered {
			x.enteredAt = x.clk.Now()
			x.counts = x.counts[:0]
			for range st.retry {
				x.counts = append(x.counts, 0)
			}
			x.retries, x.retryAt = 0, time.Time{}
			x.ctxObj = nil
			raw := x.curRaw // the previous state's output, already encoded
			if raw == nil {
				var err error
				if raw, err = marshalValue(x.curInput); err != nil {
					return Result{}, fmt.Errorf("run %s: %w", x.info.Name, err)
				}
			}
			if err := x.record(Event{Type: enteredTypes[st.typ], State: st.name, Input: raw}); err != nil {
				return x.stop(err)
			}
			x.entered = true
		}
		out, next, err := x.runState(ctx, st)
		switch {
		case errors.Is(err, errInterrupted):
			return x.interrupted(ctx.Err()), nil
		case errors.Is(err, errExecTimeout):
			return x.end(x.timeoutResult())
		case err != nil:
			return x.stop(err)
		}
		if st.typ == TypeFail {
			return x.result, nil // runFail recorded the end
		}
		raw, err := marshalValue(out)
		if err != nil {
			return Result{}, fmt.Errorf("run %s: %w", x.info.Name, err)
		}
		if err := x.record(Event{Type: exitedTypes[st.typ], State: st.name, Output: raw, Next: next}); err != nil {
			return x.stop(err)
		}
		x.cur, x.curInput, x.curRaw, x.entered = next, out, raw, false
		if next == "" {
			return x.end(Result{Status: StatusSucceeded, Output: raw})
		}
	}
}

func (x *Execution) interrupted(err error) Result {
	return Result{Status: StatusAborted, Error: "States.Aborted", Cause: "interrupted: " + err.Error()}
}

func (x *Execution) deadline() time.Time {
	if x.def.timeout <= 0 {
		return time.Time{}
	}
	return x.info.StartTime.Add(x.def.timeout)
}

func (x *Execution) deadlinePassed() bool {
	d := x.deadline()
	return !d.IsZero() && !x.clk.Now().Before(d)
}

func (x *Execution) timeoutResult() Result {
	return Result{Status: StatusTimedOut, Error: ErrTimeout,
		Cause: fmt.Sprintf("the execution did not finish within TimeoutSeconds (%d)", int64(x.def.timeout/time.Second))}
}

// stop ends the execution as FAILED for a *failure, or stops the run with
// the error otherwise (a Journal failure: the execution stays RUNNING).
func (x *Execution) stop(err error) (Result, error) {
	var f *failure
	if errors.As(err, &f) {
		return x.end(Result{Status: StatusFailed, Error: f.name, Cause: f.cause})
	}
	return Result{}, fmt.Errorf("run %s: %w", x.info.Name, err)
}

// end records the terminal event and returns the result.
func (x *Execution) end(r Result) (Result, error) {
	if err := x.finish(r); err != nil {
		return Result{}, err
	}
	return x.result, nil
}

// finish records the terminal event.
func (x *Execution) finish(r Result) error {
	ev := Event{Error: r.Error, Cause: r.Cause}
	switch r.Status {
	case StatusSucceeded:
		ev.Type, ev.Output = ExecutionSucceeded, r.Output
	case StatusFailed:
		ev.Type = ExecutionFailed
	case StatusTimedOut:
		ev.Type = ExecutionTimedOut
	case StatusAborted:
		ev.Type = ExecutionAborted
	}
	if err := x.record(ev); err != nil {
		return fmt.Errorf("finish %s: %w", x.info.Name, err)
	}
	x.status, x.result = r.Status, r
	return nil
}

// record stamps ev, appends it to the history and the journal, and shows
// it to the observer. State transitions and the end are synced.
func (x *Execution) record(ev Event) error {
	if max := x.ex.maxEvents(); max > 0 && !ev.Type.IsTerminal() && len(x.history) >= max-1 {
		// The last place is kept for the terminal event.
		return &failure{ErrRuntime, fmt.Sprintf("the execution reached the maximum number of history events (%d)", max), true}
	}
	n := int64(len(x.history))
	ev.ID = n + 1
	ev.PreviousEventID = n
	ev.Timestamp = x.clk.Now()
	if x.ex.Journal != nil {
		sync := ev.Type.IsStateEntered() || ev.Type.IsStateExited() || ev.Type.IsTerminal() ||
			ev.Type == ExecutionStarted || ev.Type == RetryScheduled || ev.Type == ExecutionResumed
		if err := x.ex.Journal.Append(x.info.ID, ev, sync); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	x.history = append(x.history, ev)
	if x.ex.Observer != nil {
		x.ex.Observer(x, ev)
	}
	return nil
}

// sleepUntil waits until t on the clock, but not past the execution
// deadline (errExecTimeout) and not once ctx is done (errInterrupted).
func (x *Execution) sleepUntil(ctx context.Context, t time.Time) error {
	d := x.deadline()
	limit := t
	if !d.IsZero() && d.Before(limit) {
		limit = d
	}
	if wait := limit.Sub(x.clk.Now()); wait > 0 {
		if err := x.clk.Sleep(ctx, wait); err != nil {
			return errInterrupted
		}
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	if !d.IsZero() && !x.clk.Now().Before(d) {
		return errExecTimeout
	}
	return nil
}

// contextObject builds $$ for the current state (once per state visit).
func (x *Execution) contextObject() any {
	if x.ctxObj != nil {
		return x.ctxObj
	}
	x.ctxObj = map[string]any{
		"Execution": map[string]any{
			"Id":        x.info.ID,
			"Name":      x.info.Name,
			"StartTime": formatTime(x.info.StartTime),
			"Input":     x.input,
		},
		"State": map[string]any{
			"Name":        x.cur,
			"EnteredTime": formatTime(x.enteredAt),
			"RetryCount":  json.Number(strconv.Itoa(x.retries)),
		},
		"StateMachine": map[string]any{
			"Id":   x.info.StateMachineID,
			"Name": x.info.StateMachineName,
		},
	}
	return x.ctxObj
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// runState runs one state. It returns the state's output and the next
// state ("" to end the execution), or a *failure, errInterrupted or
// errExecTimeout.
func (x *Execution) runState(ctx context.Context, st *state) (any, string, error) {
	switch st.typ {
	case TypePass:
		return x.runPass(st)
	case TypeTask:
		return x.runTask(ctx, st)
	case TypeWait:
		return x.runWait(ctx, st)
	case TypeChoice:
		return x.runChoice(st)
	case TypeSucceed:
		eff, err := st.input.apply(x.curInput)
		if err != nil {
			return nil, "", asFailure(err, ErrRuntime, true)
		}
		out, err := st.output.apply(eff)
		if err != nil {
			return nil, "", asFailure(err, ErrRuntime, true)
		}
		return out, "", nil
	case TypeFail:
		return nil, "", x.runFail(st)
	}
	return nil, "", fmt.Errorf("state %q: unknown type %q", st.name, st.typ)
}

// effectiveInput applies InputPath and Parameters.
func (x *Execution) effectiveInput(st *state) (any, error) {
	eff, err := st.input.apply(x.curInput)
	if err != nil {
		return nil, asFailure(err, ErrRuntime, true)
	}
	if st.params != nil {
		eff, err = st.params.eval(&resolver{data: eff, x: x})
		if err != nil {
			return nil, asFailure(err, ErrRuntime, true)
		}
	}
	return eff, nil
}

// applyResultPath stores result into the raw input at the state's
// ResultPath.
func applyResultPath(rawInput, result any, p *path, null bool) (any, error) {
	switch {
	case null:
		return rawInput, nil
	case p == nil || len(p.segs) == 0:
		return result, nil
	}
	v, err := p.set(rawInput, result)
	if err != nil {
		return nil, &TaskError{Name: ErrResultPathMatchFailure, Cause: err.Error()}
	}
	return v, nil
}

func (x *Execution) runPass(st *state) (any, string, error) {
	eff, err := x.effectiveInput(st)
	if err != nil {
		return nil, "", err
	}
	result := eff
	if st.hasResult {
		result = st.result
	}
	out, err := applyResultPath(x.curInput, result, st.resultPath, st.resultNull)
	if err != nil {
		return nil, "", asFailure(err, ErrResultPathMatchFailure, true)
	}
	out, err = st.output.apply(out)
	if err != nil {
		return nil, "", asFailure(err, ErrRuntime, true)
	}
	return out, st.next, nil
}

func (x *Execution) runChoice(st *state) (any, string, error) {
	eff, err := st.input.apply(x.curInput)
	if err != nil {
		return nil, "", asFailure(err, ErrRuntime, true)
	}
	r := &resolver{data: eff, x: x}
	next := ""
	for _, rule := range st.choices {
		ok, err := rule.eval(r)
		if err != nil {
			return nil, "", asFailure(err, ErrRuntime, true)
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		if st.defaultNext == "" {
			return nil, "", &failure{ErrNoChoiceMatched, fmt.Sprintf("no choice rule of state %q matched and it has no Default", st.name), true}
		}
		next = st.defaultNext
	}
	out, err := st.output.apply(eff)
	if err != nil {
		return nil, "", asFailure(err, ErrRuntime, true)
	}
	return out, next, nil
}

func (x *Execution) runWait(ctx context.Context, st *state) (any, string, error) {
	eff, err := st.input.apply(x.curInput)
	if err != nil {
		return nil, "", asFailure(err, ErrRuntime, true)
	}
	// The end is computed from the entry time and the input, so a resumed
	// run (which keeps both) waits until the same instant.
	var until time.Time
	{
		switch st.wait {
		case waitSeconds:
			until = x.enteredAt.Add(time.Duration(st.seconds) * time.Second)
		case waitTimestamp:
			until = st.timestamp
		case waitSecondsPath:
			v, err := (&resolver{data: eff, x: x}).path(st.waitPath)
			if err != nil {
				return nil, "", asFailure(err, ErrRuntime, true)
			}
			n, ok := toInt(v)
			if !ok || n < 0 {
				return nil, "", &failure{ErrRuntime, fmt.Sprintf("SecondsPath %q must name a non-negative integer", st.waitPath.src), true}
			}
			until = x.enteredAt.Add(time.Duration(n) * time.Second)
		case waitTimestampPath:
			v, err := (&resolver{data: eff, x: x}).path(st.waitPath)
			if err != nil {
				return nil, "", asFailure(err, ErrRuntime, true)
			}
			s, _ := v.(string)
			t, ok := parseTimestamp(s)
			if !ok {
				return nil, "", &failure{ErrRuntime, fmt.Sprintf("TimestampPath %q must name an RFC 3339 timestamp", st.waitPath.src), true}
			}
			until = t
		}
	}
	if err := x.sleepUntil(ctx, until); err != nil {
		return nil, "", err
	}
	out, err := st.output.apply(eff)
	if err != nil {
		return nil, "", asFailure(err, ErrRuntime, true)
	}
	return out, st.next, nil
}

func (x *Execution) runFail(st *state) error {
	r := &resolver{data: x.curInput, x: x}
	name, cause := st.errorName, st.cause
	if st.errorDyn != nil {
		v, err := st.errorDyn.eval(r)
		if err != nil {
			return asFailure(err, ErrRuntime, true)
		}
		s, ok := v.(string)
		if !ok {
			return &failure{ErrRuntime, "ErrorPath must name a string", true}
		}
		name = s
	}
	if st.causeDyn != nil {
		v, err := st.causeDyn.eval(r)
		if err != nil {
			return asFailure(err, ErrRuntime, true)
		}
		s, ok := v.(string)
		if !ok {
			return &failure{ErrRuntime, "CausePath must name a string", true}
		}
		cause = s
	}
	return x.finish(Result{Status: StatusFailed, Error: name, Cause: cause})
}

// matches tells whether ErrorEquals names covers the error name.
func matches(names []string, name string) bool {
	for _, n := range names {
		switch {
		case n == name:
			return true
		case n == ErrAll:
			return true
		case n == ErrTaskFailed && name != ErrTimeout:
			return true
		}
	}
	return false
}

// retryDelay is the wait before the retry after attempt (0-based) of r.
func (x *Execution) retryDelay(r retrier, attempt int) time.Duration {
	d := float64(r.interval) * math.Pow(r.backoff, float64(attempt))
	if r.maxDelay > 0 && d > float64(r.maxDelay) {
		d = float64(r.maxDelay)
	}
	if d > float64(math.MaxInt64/2) {
		d = float64(math.MaxInt64 / 2)
	}
	if r.fullJitter {
		rnd := x.ex.Rand
		if rnd == nil {
			if x.jitter == nil {
				h := fnv.New64a()
				h.Write([]byte(x.info.ID))
				x.jitter = rand.New(rand.NewPCG(h.Sum64(), 0x616d6973776170)) // "amiswap"
			}
			rnd = x.jitter.Float64
		}
		d *= rnd()
	}
	return time.Duration(d)
}

func (x *Execution) runTask(ctx context.Context, st *state) (any, string, error) {
	if x.ex.Invoker == nil {
		return nil, "", errors.New("the executor has no Invoker for Task states")
	}
	if !x.retryAt.IsZero() { // resumed during a retry interval
		if err := x.sleepUntil(ctx, x.retryAt); err != nil {
			return nil, "", err
		}
		x.retryAt = time.Time{}
	}
	for {
		// Parameters are evaluated for each attempt, so that
		// $$.State.RetryCount counts the retries.
		params, err := x.effectiveInput(st)
		if err != nil {
			return nil, "", err
		}
		paramsRaw, err := marshalValue(params)
		if err != nil {
			return nil, "", &failure{ErrRuntime, err.Error(), true}
		}
		out, f, err := x.attempt(ctx, st, paramsRaw)
		if err != nil {
			return nil, "", err
		}
		if f == nil {
			return out, st.next, nil
		}
		if f.fatal {
			return nil, "", f
		}
		// Retry: the first retrier that matches decides.
		retried := false
		for i, r := range st.retry {
			if !matches(r.errorEquals, f.name) {
				continue
			}
			if x.counts[i] < r.maxAttempts {
				delay := x.retryDelay(r, x.counts[i])
				x.counts[i]++
				x.retries++
				x.ctxObj = nil
				if err := x.record(Event{Type: RetryScheduled, State: st.name, Error: f.name, Cause: f.cause,
					Retrier: i + 1, RetryCount: x.retries, Delay: Duration(delay)}); err != nil {
					return nil, "", err
				}
				if err := x.sleepUntil(ctx, x.clk.Now().Add(delay)); err != nil {
					return nil, "", err
				}
				retried = true
			}
			break
		}
		if retried {
			continue
		}
		for i, c := range st.catch {
			if !matches(c.errorEquals, f.name) {
				continue
			}
			errOut := map[string]any{"Error": f.name, "Cause": f.cause}
			out, err := applyResultPath(x.curInput, errOut, c.resultPath, c.resultNull)
			if err != nil {
				return nil, "", asFailure(err, ErrRuntime, true)
			}
			if err := x.record(Event{Type: CatchMatched, State: st.name, Error: f.name, Cause: f.cause,
				Catcher: i + 1, Next: c.next}); err != nil {
				return nil, "", err
			}
			return out, c.next, nil
		}
		return nil, "", f
	}
}

// attempt invokes the task once and processes its result. It returns the
// state output, or a failure for Retry and Catch, or an error that stops
// the run.
func (x *Execution) attempt(ctx context.Context, st *state, params json.RawMessage) (any, *failure, error) {
	if x.deadlinePassed() {
		return nil, nil, errExecTimeout
	}
	if err := x.record(Event{Type: TaskScheduled, State: st.name, Resource: st.resource, Input: params, RetryCount: x.retries}); err != nil {
		return nil, nil, err
	}
	start := x.clk.Now()
	// With the wall clock, a timeout also cancels the call. Virtual clocks
	// cannot race a call, so there the elapsed virtual time is checked when
	// the call returns (a fake handler advances the clock to take time).
	callCtx := ctx
	limit := st.timeout
	if d := x.deadline(); !d.IsZero() && (limit == 0 || d.Sub(start) < limit) {
		limit = d.Sub(start)
	}
	if _, wall := x.clk.(SystemClock); wall && limit > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	res, err := x.invoke(callCtx, st.resource, params)
	if ctx.Err() != nil {
		return nil, nil, errInterrupted
	}
	if x.deadlinePassed() {
		return nil, nil, errExecTimeout
	}
	var f *failure
	switch {
	case st.timeout > 0 && x.clk.Now().Sub(start) >= st.timeout:
		f = &failure{ErrTimeout, fmt.Sprintf("the task did not finish within TimeoutSeconds (%d)", int64(st.timeout/time.Second)), false}
		if err := x.record(Event{Type: TaskTimedOut, State: st.name, Resource: st.resource, Error: f.name, Cause: f.cause}); err != nil {
			return nil, nil, err
		}
		return nil, f, nil
	case err != nil:
		name, cause := errorNameCause(err)
		f = &failure{name, cause, false}
		if err := x.record(Event{Type: TaskFailed, State: st.name, Resource: st.resource, Error: name, Cause: cause}); err != nil {
			return nil, nil, err
		}
		return nil, f, nil
	}
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	result, derr := decodeJSON(res)
	if derr != nil {
		f = &failure{ErrTaskFailed, "the task result is not JSON: " + derr.Error(), false}
		if err := x.record(Event{Type: TaskFailed, State: st.name, Resource: st.resource, Error: f.name, Cause: f.cause}); err != nil {
			return nil, nil, err
		}
		return nil, f, nil
	}
	if err := x.record(Event{Type: TaskSucceeded, State: st.name, Resource: st.resource, Output: res}); err != nil {
		return nil, nil, err
	}
	if st.selector != nil {
		if result, err = st.selector.eval(&resolver{data: result, x: x}); err != nil {
			return nil, asFailure(err, ErrRuntime, true), nil
		}
	}
	out, err := applyResultPath(x.curInput, result, st.resultPath, st.resultNull)
	if err != nil {
		return nil, asFailure(err, ErrResultPathMatchFailure, false), nil
	}
	if out, err = st.output.apply(out); err != nil {
		return nil, asFailure(err, ErrRuntime, true), nil
	}
	return out, nil, nil
}

// invoke calls the Invoker, turning a panic into a task failure.
func (x *Execution) invoke(ctx context.Context, resource string, params json.RawMessage) (res json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &TaskError{Name: ErrTaskFailed, Cause: fmt.Sprintf("task panicked: %v", p)}
		}
	}()
	return x.ex.Invoker.Invoke(ctx, resource, params)
}
