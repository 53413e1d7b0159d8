package asl

// This file holds the error vocabulary: the predefined States.* error names,
// TaskError (a named error that Retry and Catch match), and ParseError.

import (
	"errors"
	"fmt"
)

// Predefined error names of the States Language.
const (
	ErrAll                    = "States.ALL"
	ErrTimeout                = "States.Timeout"
	ErrTaskFailed             = "States.TaskFailed"
	ErrRuntime                = "States.Runtime"
	ErrResultPathMatchFailure = "States.ResultPathMatchFailure"
	ErrIntrinsicFailure       = "States.IntrinsicFailure"
	ErrNoChoiceMatched        = "States.NoChoiceMatched"
)

// TaskError is an error with a name that Retry and Catch ErrorEquals match.
// Invokers return it (or any error with a Name() string method) to report a
// named failure; any other error is reported as States.TaskFailed.
type TaskError struct {
	Name  string
	Cause string
	// Err is the underlying error, if any.
	Err error
}

// Error returns "Name: Cause".
func (e *TaskError) Error() string {
	if e.Cause == "" {
		return e.Name
	}
	return e.Name + ": " + e.Cause
}

// Unwrap returns the underlying error.
func (e *TaskError) Unwrap() error { return e.Err }

// ErrorName returns the name Retry and Catch match on.
func (e *TaskError) ErrorName() string { return e.Name }

// named is implemented by errors that carry a States Language error name.
type named interface{ Name() string }

// errorNameCause classifies an error returned by an Invoker into the name
// that ErrorEquals matches and the cause recorded in the history.
func errorNameCause(err error) (name, cause string) {
	var te *TaskError
	if errors.As(err, &te) {
		return te.Name, te.Cause
	}
	var n named
	if errors.As(err, &n) && n.Name() != "" {
		return n.Name(), err.Error()
	}
	return ErrTaskFailed, err.Error()
}

// ParseError reports a definition that Parse refuses. Its message names the
// state and the field, for example
//
//	state "Resolve": field "ResultSlector" is not supported
type ParseError struct {
	State string // empty for top-level fields
	Field string // empty when the problem is the state as a whole
	// Problem completes the sentence: "is not supported", "must be ...".
	Problem string
}

// Error formats the message.
func (e *ParseError) Error() string {
	switch {
	case e.State != "" && e.Field != "":
		return fmt.Sprintf("state %q: field %q %s", e.State, e.Field, e.Problem)
	case e.State != "":
		return fmt.Sprintf("state %q %s", e.State, e.Problem)
	case e.Field != "":
		return fmt.Sprintf("field %q %s", e.Field, e.Problem)
	}
	return "definition " + e.Problem
}

func perr(state, field, format string, a ...any) *ParseError {
	return &ParseError{State: state, Field: field, Problem: fmt.Sprintf(format, a...)}
}
