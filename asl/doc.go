// Package asl is an Amazon States Language engine: it parses a state
// machine definition, refuses anything outside the subset it implements,
// and runs it with an injected task invoker, clock and journal, recording a
// Step-Functions-style history. It imports nothing from AWS: the same JSON
// file is deployed to AWS Step Functions and run here.
//
// # Supported subset
//
// Top level: Comment, StartAt, States, TimeoutSeconds, Version ("1.0") and
// QueryLanguage ("JSONPath" only; "JSONata" is refused).
//
// State types: Task, Pass, Wait, Choice, Succeed and Fail. Map and Parallel
// are refused.
//
//   - Task: Resource, Parameters, ResultSelector, ResultPath, InputPath,
//     OutputPath, Retry (ErrorEquals, IntervalSeconds, MaxAttempts,
//     BackoffRate, MaxDelaySeconds, JitterStrategy), Catch (ErrorEquals,
//     Next, ResultPath) and TimeoutSeconds. HeartbeatSeconds is refused:
//     tasks run in-process and cannot send heartbeats, so accepting it
//     would promise a timeout that never fires.
//   - Pass: Result, Parameters, ResultPath, InputPath, OutputPath.
//   - Wait: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath.
//   - Choice: Choices with every comparison operator of the specification
//     (String…, Numeric…, Boolean…, Timestamp… with their …Path forms,
//     StringMatches, IsNull, IsPresent, IsNumeric, IsString, IsBoolean,
//     IsTimestamp), And/Or/Not nesting, and Default.
//   - Succeed: InputPath, OutputPath. Fail: Error, Cause, ErrorPath,
//     CausePath.
//
// Comment is accepted everywhere. Any other field, an unknown state type, an
// unknown intrinsic, a Next to a missing state, an unreachable state or a
// state with no path to an end is refused by Parse with a *ParseError that
// names the state and the field.
//
// Paths: "$", "$.a.b", "$['a']", "$.a[0]", and wildcards ("$.a[*].b",
// "$.*") where the specification allows a Path; ResultPath takes a
// Reference Path (no wildcards). Filters, slices, unions, negative indexes
// and deep scan are refused. A path that names nothing is an error, except
// one with a wildcard, which yields an empty array; a wildcard over an
// object yields its members in key order. Parameters and ResultSelector keys ending in
// ".$" take a path, a context-object path ("$$.Execution.Id") or an
// intrinsic: States.Format, States.StringToJson, States.JsonToString,
// States.Array, States.ArrayLength, States.ArrayGetItem,
// States.ArrayContains, States.MathAdd, States.UUID and States.StringSplit.
// The context object provides $$.Execution.{Id,Name,StartTime,Input},
// $$.State.{Name,EnteredTime,RetryCount} and $$.StateMachine.{Id,Name}; a
// context path naming anything else is refused at load with the reason
// ($$.Task.Token exists only for callback tasks, $$.Map only in Map
// states, neither of which runs here). A callback Resource
// (".waitForTaskToken") is refused too, and so is a choice-rule field that
// is not a comparison operator, And, Or, Not, Variable or Next (JSONata's
// Condition, Assign, Output each with their reason).
//
// # Errors
//
// A task fails with the name of the error its Invoker returns (a *TaskError
// or any error with a Name() string method), else States.TaskFailed; a task
// that overruns TimeoutSeconds fails with States.Timeout. Retry and Catch
// match those names, States.ALL and States.TaskFailed (anything but
// States.Timeout); a ResultPath that cannot be applied is
// States.ResultPathMatchFailure and can be caught too. Failures to process
// data (a path that names nothing in InputPath, Parameters, ResultSelector
// or OutputPath, an intrinsic that fails, a Choice Variable that is
// missing) are States.Runtime (or States.IntrinsicFailure) and fail the
// execution at once, as in Step Functions.
//
// # Time
//
// Every timestamp, Wait, retry interval and timeout goes through the Clock,
// so tests and the simulator can run whole executions on virtual time. With
// a virtual clock a task cannot be interrupted by its timeout; it is
// measured instead when it returns (a fake handler advances the clock to
// take time). With SystemClock the call's context is also cancelled.
//
// # Durability
//
// With a Journal, every event is stored as it is recorded, and state
// transitions are synced. Executor.Resume rebuilds an execution from its
// stored history and continues it from the state that was running; a task
// that was in flight is invoked again, so task handlers must be idempotent.
// Cancelling the context of Run interrupts the run without recording an
// end, exactly like a crash, so it can be resumed; Execution.Interrupt
// records that an operator stopped it on purpose (still resumable),
// Execution.Redirect sends a stopped execution to another state (an
// operator's abort to the compensation), and Execution.Abort ends an
// execution for good.
package asl
