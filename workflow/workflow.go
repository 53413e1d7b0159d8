// Package workflow is amiswap's swap workflow: the States Language
// definition (embedded, deployed as it is to Step Functions and run by the
// local executor), the Go mirror of the data it carries, and the task
// handlers that do the AWS work, one per operation ("op") of the
// definition's Lambda tasks.
package workflow

import (
	_ "embed"
	"sort"
	"strings"
	"time"

	"github.com/amiswap/amiswap"
)

//go:embed definition.asl.json
var definition []byte

// Definition returns the workflow definition with ${…FunctionArn}
// placeholders and the ${Partition} placeholder of its tasks' Resource ARNs
// (arn:${Partition}:states:::lambda:invoke), as Step Functions'
// DefinitionSubstitutions expects them. The deployment substitutes the
// stack's partition (aws, aws-cn, aws-us-gov: "Amazon Resource Names
// (ARNs)", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html),
// the local executor "aws" (see LocalDefinition).
func Definition() []byte { return append([]byte(nil), definition...) }

// PartitionPlaceholder stands for the partition in the definition's ARNs.
const PartitionPlaceholder = "${Partition}"

// LambdaInvokeResource returns the Step Functions Lambda integration's
// Resource ARN in a partition: arn:PARTITION:states:::lambda:invoke.
func LambdaInvokeResource(partition string) string {
	return "arn:" + partition + ":states:::lambda:invoke"
}

// Function is one Lambda function of the deployment: a family of ops that
// share an IAM role.
type Function struct {
	// Name is the function's name in the definition: ${NameFunctionArn}.
	Name string
	Ops  []string
}

// Functions lists the deployment's Lambda functions and the ops each serves.
var Functions = []Function{
	{"Resolve", []string{"resolve", "resolve-rollback"}},
	{"Lock", []string{"lock", "unlock"}},
	{"Builder", []string{"launch-builder", "stop-builder"}},
	{"CheckInstance", []string{"check-builder-ready", "check-builder-stopped"}},
	{"Generalize", []string{"prepare", "check-prepared", "generalize", "check-generalized"}},
	{"Image", []string{"create-image"}},
	{"CheckImage", []string{"check-image"}},
	{"Verify", []string{"launch-verifier", "check-verifier-ready", "verify", "check-verification", "terminate-verifier"}},
	{"UpdateAsg", []string{"freeze", "update-launch-template", "thaw", "start-refresh", "check-refresh"}},
	{"HandOff", []string{"record-parameter", "hand-off", "check-hand-off"}},
	{"Cleanup", []string{"terminate-builder", "cleanup"}},
	{"Notify", []string{"notify"}},
	{"Compensate", []string{"compensate"}},
}

// FunctionFor returns the function that serves op.
func FunctionFor(op string) (Function, bool) {
	for _, f := range Functions {
		for _, o := range f.Ops {
			if o == op {
				return f, true
			}
		}
	}
	return Function{}, false
}

// Placeholder is the definition's placeholder for a function's ARN.
func Placeholder(function string) string { return "${" + function + "FunctionArn}" }

// LocalDefinition returns the definition with each placeholder replaced by
// a local function name ("amiswap-resolve", …) and the partition by "aws",
// for the embedded executor.
func LocalDefinition() []byte { return localize(definition) }

// localize replaces each function placeholder of def with its local name,
// and the partition placeholder with "aws".
func localize(def []byte) []byte {
	s := strings.ReplaceAll(string(def), PartitionPlaceholder, "aws")
	for _, f := range Functions {
		s = strings.ReplaceAll(s, Placeholder(f.Name), LocalFunctionName(f.Name))
	}
	return []byte(s)
}

// LocalFunctionName is the function name used by local runs:
// "UpdateAsg" → "amiswap-update-asg".
func LocalFunctionName(function string) string {
	var b strings.Builder
	b.WriteString("amiswap")
	for _, r := range function {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('-')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Payload is what every task sends its Lambda function: the op to run, the
// whole execution state, and a few context-object fields.
type Payload struct {
	Op      string  `json:"op"`
	State   State   `json:"state"`
	Context Context `json:"context"`
}

// Context carries the Step Functions context-object fields a handler needs.
// Handlers take the time from here, never from the machine's clock, so that
// a run against the simulator follows its virtual clock.
type Context struct {
	ExecutionID string    `json:"executionId"`
	EnteredTime time.Time `json:"enteredTime"`
}

// State mirrors the execution's JSON state ($): the request at the top
// level, then one key per step, written by that step's ResultPath.
type State struct {
	amiswap.Request
	// RollbackRequest is the input of a rollback execution.
	amiswap.RollbackRequest

	Target       *amiswap.Target     `json:"target,omitempty"`
	Lock         *LockResult         `json:"lock,omitempty"`
	Freeze       *FreezeResult       `json:"freeze,omitempty"`
	Builder      *BuilderResult      `json:"builder,omitempty"`
	Poll         *PollResult         `json:"poll,omitempty"`
	Prepare      *GeneralizeResult   `json:"prepare,omitempty"`
	Generalize   *GeneralizeResult   `json:"generalize,omitempty"`
	Stop         *StopResult         `json:"stop,omitempty"`
	Image        *ImageResult        `json:"image,omitempty"`
	Verifier     *BuilderResult      `json:"verifier,omitempty"`
	Verification *GeneralizeResult   `json:"verification,omitempty"`
	VerifierDone *VerifierResult     `json:"verifierDone,omitempty"`
	Terminate    *TerminateResult    `json:"terminate,omitempty"`
	Swap         *SwapResult         `json:"swap,omitempty"`
	Rollback     *RollbackResult     `json:"rollback,omitempty"`
	Thaw         *ThawResult         `json:"thaw,omitempty"`
	Refresh      *RefreshResult      `json:"refresh,omitempty"`
	HandOff      *HandOffResult      `json:"handOff,omitempty"`
	HandOffPut   *HandOffPut         `json:"handOffPut,omitempty"`
	RolledOut    bool                `json:"rolledOut,omitempty"`
	Cleanup      *CleanupResult      `json:"cleanup,omitempty"`
	Notify       *NotifyResult       `json:"notify,omitempty"`
	Compensation *CompensationResult `json:"compensation,omitempty"`

	// Error is what a Catch recorded: the error that failed the run.
	Error             *ErrorInfo `json:"error,omitempty"`
	CompensationError *ErrorInfo `json:"compensationError,omitempty"`
	// TerminateError is why TerminateBuilder failed (Cleanup terminates the
	// builder again).
	TerminateError *ErrorInfo `json:"terminateError,omitempty"`
	NotifyError    *ErrorInfo `json:"notifyError,omitempty"`
	UnlockError    *ErrorInfo `json:"unlockError,omitempty"`
}

// ErrorInfo is the error output of a Catch: {"Error": name, "Cause": message}.
type ErrorInfo struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// LockResult is the group lock that Lock took.
type LockResult struct {
	Table     string    `json:"table"`
	Key       string    `json:"key"`
	Owner     string    `json:"owner"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// FreezeResult says whether MaxSize was frozen, and from what.
type FreezeResult struct {
	Frozen          bool  `json:"frozen"`
	OriginalMaxSize int32 `json:"originalMaxSize"`
	FrozenMaxSize   int32 `json:"frozenMaxSize"`
}

// BuilderResult is the builder instance LaunchBuilder started.
type BuilderResult struct {
	InstanceID string    `json:"instanceId"`
	LaunchedAt time.Time `json:"launchedAt"`
}

// PollResult is a check's verdict: ready, or how long to wait and for what.
type PollResult struct {
	Ready       bool   `json:"ready"`
	WaitSeconds int    `json:"waitSeconds"`
	Waiting     string `json:"waiting"`
}

// GeneralizeResult is the SSM command that generalizes the builder.
type GeneralizeResult struct {
	CommandID string    `json:"commandId"`
	Document  string    `json:"document"`
	SentAt    time.Time `json:"sentAt"`
}

// StopResult records the stop request.
type StopResult struct {
	RequestedAt    time.Time `json:"requestedAt"`
	AlreadyStopped bool      `json:"alreadyStopped"`
}

// ImageResult is the golden AMI being created.
type ImageResult struct {
	ImageID     string    `json:"imageId"`
	Name        string    `json:"name"`
	RequestedAt time.Time `json:"requestedAt"`
}

// TerminateResult is the builder TerminateBuilder terminated as soon as
// the golden AMI was available.
type TerminateResult struct {
	InstanceID string `json:"instanceId"`
	Terminated bool   `json:"terminated"`
}

// SwapResult is what UpdateLaunchTemplate changed, with what it needs to
// revert it.
type SwapResult struct {
	LaunchTemplateID       string `json:"launchTemplateId"`
	NewVersion             string `json:"newVersion"`
	PreviousDefaultVersion string `json:"previousDefaultVersion"`
	DefaultVersionChanged  bool   `json:"defaultVersionChanged"`
	// GroupVersion is the version the group now names; PreviousGroupVersion
	// what it named before. GroupUpdated is true when the group was changed.
	GroupVersion         string `json:"groupVersion"`
	PreviousGroupVersion string `json:"previousGroupVersion"`
	GroupUpdated         bool   `json:"groupUpdated"`
}

// ThawResult says whether MaxSize was restored.
type ThawResult struct {
	Restored bool  `json:"restored"`
	MaxSize  int32 `json:"maxSize"`
}

// RefreshResult is the instance refresh started.
type RefreshResult struct {
	RefreshID string `json:"refreshId"`
}

// CleanupResult is what Cleanup removed, and what it could not.
type CleanupResult struct {
	BuilderTerminated bool `json:"builderTerminated"`
	// RecoveryPoint is what became of the backup's recovery point; never
	// nil in a result of Clean.
	RecoveryPoint      *RecoveryPointOutcome `json:"recoveryPoint"`
	DeregisteredImages []string              `json:"deregisteredImages"`
	DeletedSnapshots   []string              `json:"deletedSnapshots"`
}

// The statuses of a RecoveryPointOutcome.
const (
	// RecoveryPointDeleted: AWS Backup no longer knows the recovery point.
	RecoveryPointDeleted = "deleted"
	// RecoveryPointDeleting: AWS Backup accepted the deletion and is
	// carrying it out (it deletes asynchronously).
	RecoveryPointDeleting = "deleting"
	// RecoveryPointExpired: AWS Backup accepted the call but could not
	// delete the recovery point (the caller's permissions were not
	// enough); it stays, EXPIRED, and keeps costing storage.
	RecoveryPointExpired = "expired"
	// RecoveryPointKept: not deleted, by the group's setting or because
	// the deletion was refused (a vault lock, access denied).
	RecoveryPointKept = "kept"
)

// RecoveryPointOutcome says what Cleanup did with the recovery point, and
// why.
type RecoveryPointOutcome struct {
	Status string `json:"status"` // deleted, deleting, expired or kept
	Reason string `json:"reason"`
}

// NotifyResult is the SNS message published.
type NotifyResult struct {
	MessageID string `json:"messageId"`
	Subject   string `json:"subject"`
}

// CompensationResult lists what compensation did and what it could not do.
type CompensationResult struct {
	Actions  []string `json:"actions"`
	Problems []string `json:"problems"`
}

// Ops returns every op name, sorted.
func Ops() []string {
	var ops []string
	for _, f := range Functions {
		ops = append(ops, f.Ops...)
	}
	sort.Strings(ops)
	return ops
}
