package amiswap

import (
	"errors"
	"fmt"
	"reflect"
	"time"
)

// The error types below are the contract between the task handlers and the
// workflow definition: a handler returns one of them, the Lambda runtime
// (and the local invoker) reports its type name as the error name, and the
// definition's Retry and Catch match on that name. Renaming one is a
// breaking change to the definition; TestErrorNamesInDefinition keeps the
// two in step.

// InvalidInputError: the request or a group's settings are malformed.
// Nothing has been changed; the workflow fails at once without retrying.
type InvalidInputError struct {
	Field  string
	Reason string
}

func (e *InvalidInputError) Error() string { return "invalid " + e.Field + ": " + e.Reason }

// LockHeldError: another execution is swapping the same group. The
// workflow ends without doing anything: concurrent events collapse to one run.
type LockHeldError struct {
	Group, Owner string
	Expires      time.Time
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("group %s is being swapped by %s (lock expires %s)", e.Group, e.Owner, e.Expires.UTC().Format(time.RFC3339))
}

// TransientError: an AWS call failed in a way worth retrying (throttling,
// a 5xx, a resource not yet visible). The definition retries it with backoff.
type TransientError struct {
	Op  string
	Err error
}

func (e *TransientError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// ThrottledError: AWS throttled a call (RequestLimitExceeded, Throttling,
// ThrottlingException, ...). The definition retries it with its own
// retrier, jittered and patient, so that throttling under fleet load does
// not use up the budget of TransientError's retrier.
type ThrottledError struct {
	Op  string
	Err error
}

func (e *ThrottledError) Error() string { return e.Op + ": throttled: " + e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// AWSError: an AWS call failed for good (access denied, validation, …).
type AWSError struct {
	Op  string
	Err error
}

func (e *AWSError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *AWSError) Unwrap() error { return e.Err }

// BuilderFailedError: the builder instance stopped, terminated or failed
// its status checks while amiswap was waiting for it.
type BuilderFailedError struct {
	InstanceID, Reason string
}

func (e *BuilderFailedError) Error() string {
	return "builder " + e.InstanceID + " failed: " + e.Reason
}

// GeneralizeFailedError: the Sysprep or cleanup command (or the group's
// prepare or generalize document) did not succeed on the builder.
// Document is set for a command other than Sysprep or the built-in Linux
// cleanup script: the group's prepare or generalize document.
type GeneralizeFailedError struct {
	InstanceID, CommandID, Status, Output string
	Document                              string
}

func (e *GeneralizeFailedError) Error() string {
	msg := fmt.Sprintf("generalization command %s on %s ended %s", e.CommandID, e.InstanceID, e.Status)
	if e.Document != "" {
		msg = fmt.Sprintf("command %s (%s) on builder %s ended %s", e.CommandID, e.Document, e.InstanceID, e.Status)
	}
	if e.Output != "" {
		msg += ": " + e.Output
	}
	return msg
}

// VerificationFailedError: the golden AMI failed its verification on a
// verifier instance (launched from it with the group's settings) before
// rollout. Check names what failed ("instance state", "status checks",
// "SSM agent", "verify document"); Output is the tail of the verify
// document's output when it ran. Nothing was rolled out: compensation
// removes the golden AMI and its snapshots and terminates the verifier.
type VerificationFailedError struct {
	ImageID, InstanceID, Check, Reason string
	CommandID, Status, Output          string
}

func (e *VerificationFailedError) Error() string {
	msg := fmt.Sprintf("verification of %s on verifier %s failed: %s: %s", e.ImageID, e.InstanceID, e.Check, e.Reason)
	if e.Output != "" {
		msg += "; output: " + e.Output
	}
	return msg
}

// ImageFailedError: the golden AMI ended in state failed.
type ImageFailedError struct {
	ImageID, Reason string
}

func (e *ImageFailedError) Error() string { return "image " + e.ImageID + " failed: " + e.Reason }

// RefreshFailedError: the instance refresh did not succeed.
type RefreshFailedError struct {
	Group, RefreshID, Status, Reason string
}

func (e *RefreshFailedError) Error() string {
	return fmt.Sprintf("instance refresh %s of %s ended %s: %s", e.RefreshID, e.Group, e.Status, e.Reason)
}

// StepTimeoutError: a wait exceeded its deadline.
type StepTimeoutError struct {
	Step     string
	Deadline time.Time
	Waiting  string
}

func (e *StepTimeoutError) Error() string {
	return fmt.Sprintf("%s: still %s at the deadline %s", e.Step, e.Waiting, e.Deadline.UTC().Format(time.RFC3339))
}

// KmsKeyAccessError: the backup's volumes are encrypted with a customer
// managed KMS key that amiswap's roles cannot use, so no builder can be
// launched from it (EC2 would terminate it at launch with
// Client.InternalError). Resolve finds it before anything changes
// (kms:DescribeKey on the key is denied); check-builder-ready maps a
// builder that terminated with Client.InternalError on an encrypted image
// to it. KeyArn names the key; the fix is to add it to the stack's
// KmsKeyArns parameter (amiswap deploy --kms-key-arns) and to let the
// account's IAM policies use it in its key policy. The definition routes
// it to Compensate; it is not retried.
type KmsKeyAccessError struct {
	KeyArn, Reason string
}

func (e *KmsKeyAccessError) Error() string {
	return fmt.Sprintf("amiswap's roles cannot use the KMS key %s that encrypts the backup's volumes (%s): add %s to the stack's KmsKeyArns parameter (amiswap deploy --kms-key-arns) and make sure the key policy lets the account's IAM policies use the key",
		e.KeyArn, e.Reason, e.KeyArn)
}

// CompensationError: undoing a failed swap left something behind; the
// message lists what, so that an operator can finish the job.
type CompensationError struct {
	Problems []string
}

func (e *CompensationError) Error() string {
	return fmt.Sprintf("compensation incomplete: %v", e.Problems)
}

// NothingToRollBackError: a rollback found no golden AMI to go back to (or
// the one asked for is not a registered golden AMI of the group). Nothing
// has been changed.
type NothingToRollBackError struct {
	Group, Reason string
}

func (e *NothingToRollBackError) Error() string {
	return fmt.Sprintf("nothing to roll group %s back to: %s", e.Group, e.Reason)
}

// ErrorTypes lists one value of each error type, for tests and docs.
var ErrorTypes = []error{
	&InvalidInputError{}, &LockHeldError{}, &TransientError{}, &ThrottledError{}, &AWSError{},
	&BuilderFailedError{}, &GeneralizeFailedError{}, &VerificationFailedError{}, &ImageFailedError{},
	&RefreshFailedError{}, &StepTimeoutError{}, &CompensationError{},
	&NothingToRollBackError{}, &KmsKeyAccessError{},
}

// ErrorName is the name a Lambda runtime reports for err, the way
// aws-lambda-go does: the name of its (pointed-to) type. Typed errors found
// inside a wrapped chain are reported by their own name; see Typed.
func ErrorName(err error) string {
	t := reflect.TypeOf(Typed(err))
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Typed returns the first error in err's chain whose type is one of
// ErrorTypes, or err itself. Handlers pass their errors through it before
// returning to the runtime, so that wrapping never hides the name.
func Typed(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, t := range ErrorTypes {
			if reflect.TypeOf(e) == reflect.TypeOf(t) {
				return e
			}
		}
	}
	return err
}
