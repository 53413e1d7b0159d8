package awssim

// This file holds a small AWS Step Functions (JSON 1.0, target prefix
// AWSStepFunctions): standard state machines and their executions, as
// `amiswap status` (ListExecutions, DescribeExecution) and a rollback
// started from the console or the CLI (StartExecution) use them. The
// simulator cannot run Lambda functions, so executions are run by a
// StatesRunner that the embedding program installs (cmd/amiswap sim and the
// sandbox install one that runs amiswap's handlers in process against this
// simulator); without one, StartExecution is refused with a message saying
// so rather than leaving an execution that never moves.

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StatesRunner runs one execution that StartExecution started, to its end,
// and reports how it ended. It runs outside the simulator's lock, so it
// may call the simulator's APIs; ctx is cancelled by StopExecution.
type StatesRunner interface {
	RunExecution(ctx context.Context, x StatesExecution) StatesOutcome
}

// StatesExecution is what a StatesRunner is given to run.
type StatesExecution struct {
	ExecutionArn, Name, StateMachineArn, StateMachineName string
	Definition, Input                                     string
}

// StatesOutcome is how an execution ended: Status SUCCEEDED (with Output),
// FAILED (with Error and Cause), TIMED_OUT or ABORTED.
type StatesOutcome struct {
	Status, Output, Error, Cause string
}

type sfnStore struct {
	machines []*sfnMachine
	execs    []*sfnExecution // oldest first
	runner   StatesRunner
}

type sfnMachine struct {
	Name, Arn, Definition, RoleArn, Type string
	Created                              time.Time
}

type sfnExecution struct {
	Arn, Name, MachineArn, Status string
	Input, Output, Error, Cause   string
	Start, Stop                   time.Time
	cancel                        context.CancelFunc
}

// SetStatesRunner installs the runner of Step Functions executions (nil
// removes it).
func (s *Sim) SetStatesRunner(r StatesRunner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sfn.runner = r
}

func init() {
	registerStore("stepfunctions", func(s *Sim) {}, func(s *Sim) any {
		machines, execs := []map[string]any{}, []map[string]any{}
		for _, m := range s.sfn.machines {
			machines = append(machines, map[string]any{"name": m.Name, "stateMachineArn": m.Arn})
		}
		for _, x := range s.sfn.execs {
			execs = append(execs, map[string]any{"executionArn": x.Arn, "status": x.Status, "error": x.Error})
		}
		return map[string]any{"stateMachines": machines, "executions": execs}
	})
	registerJSON("states", "AWSStepFunctions", "application/x-amz-json-1.0", map[string]jsonHandler{
		"CreateStateMachine":   sfnCreateStateMachine,
		"DescribeStateMachine": sfnDescribeStateMachine,
		"ListStateMachines":    sfnListStateMachines,
		"DeleteStateMachine":   sfnDeleteStateMachine,
		"StartExecution":       sfnStartExecution,
		"DescribeExecution":    sfnDescribeExecution,
		"ListExecutions":       sfnListExecutions,
		"StopExecution":        sfnStopExecution,
	})
}

// sfnNameRe is what Step Functions accepts as a state machine or execution
// name: 1–80 characters, none of whitespace, brackets, wildcards,
// "\"#%\\^|~`$&,;:/" or control characters (API reference,
// CreateStateMachine and StartExecution, "name").
var sfnNameRe = regexp.MustCompile("^[^\\s<>{}\\[\\]?*\"#%\\\\^|~`$&,;:/\\x00-\\x1f\\x7f-\\x9f]{1,80}$")

func sfnMissing(kind, arn string) error {
	return &apiError{Status: http.StatusBadRequest, Code: kind + "DoesNotExist", Message: kind + " Does Not Exist: '" + arn + "'"}
}

func (s *Sim) sfnMachine(arn string) (*sfnMachine, error) {
	for _, m := range s.sfn.machines {
		if m.Arn == arn {
			return m, nil
		}
	}
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":stateMachine:") {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return nil, sfnMissing("StateMachine", arn)
}

func (s *Sim) sfnExecution(arn string) (*sfnExecution, error) {
	for _, x := range s.sfn.execs {
		if x.Arn == arn {
			return x, nil
		}
	}
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":execution:") {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return nil, sfnMissing("Execution", arn)
}

func sfnCreateStateMachine(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Name, Definition, RoleArn, Type string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	if !sfnNameRe.MatchString(in.Name) {
		return nil, errorf("InvalidName", "Invalid Name: '%s'", in.Name)
	}
	if in.Type == "" {
		in.Type = "STANDARD"
	}
	if in.Type != "STANDARD" {
		// Express workflows do not keep executions that
		// DescribeExecution could read; amiswap does not use them.
		return nil, errorf("ValidationException", "the amiswap simulator runs STANDARD state machines only")
	}
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(in.Definition), &def); err != nil || def.StartAt == "" || def.States[def.StartAt] == nil {
		return nil, errorf("InvalidDefinition", "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the definition needs StartAt naming one of its States'")
	}
	if !strings.HasPrefix(in.RoleArn, "arn:") || !strings.Contains(in.RoleArn, ":role/") {
		return nil, errorf("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", in.RoleArn)
	}
	arn := s.arn("states", "stateMachine:"+in.Name)
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return nil, err
	}
	for _, m := range s.sfn.machines {
		if m.Name == in.Name {
			if m.Definition == in.Definition && m.RoleArn == in.RoleArn {
				return map[string]any{"stateMachineArn": m.Arn, "creationDate": epochSeconds(m.Created)}, nil
			}
			return nil, errorf("StateMachineAlreadyExists", "State Machine Already Exists: '%s'", m.Arn)
		}
	}
	m := &sfnMachine{Name: in.Name, Arn: arn, Definition: in.Definition, RoleArn: in.RoleArn, Type: in.Type, Created: s.clock.now}
	s.sfn.machines = append(s.sfn.machines, m)
	return map[string]any{"stateMachineArn": m.Arn, "creationDate": epochSeconds(m.Created)}, nil
}

func sfnArnParam(body []byte, key string) (string, error) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return "", errorf("SerializationException", "%v", err)
	}
	v, _ := in[key].(string)
	if v == "" {
		return "", errorf("ValidationException", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", key)
	}
	return v, nil
}

func sfnDescribeStateMachine(s *Sim, r *request, body []byte) (any, error) {
	arn, err := sfnArnParam(body, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	m, err := s.sfnMachine(arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, Resource{ARN: m.Arn}); err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineArn": m.Arn, "name": m.Name, "status": "ACTIVE", "definition": m.Definition,
		"roleArn": m.RoleArn, "type": m.Type, "creationDate": epochSeconds(m.Created)}, nil
}

func sfnListStateMachines(s *Sim, r *request, body []byte) (any, error) {
	if err := s.authorize(r); err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, m := range s.sfn.machines {
		out = append(out, map[string]any{"stateMachineArn": m.Arn, "name": m.Name, "type": m.Type, "creationDate": epochSeconds(m.Created)})
	}
	return map[string]any{"stateMachines": out}, nil
}

func sfnDeleteStateMachine(s *Sim, r *request, body []byte) (any, error) {
	arn, err := sfnArnParam(body, "stateMachineArn")
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return nil, err
	}
	// Deleting is idempotent in Step Functions: an unknown ARN succeeds.
	s.sfn.machines = slices.DeleteFunc(s.sfn.machines, func(m *sfnMachine) bool { return m.Arn == arn })
	return map[string]any{}, nil
}

func sfnStartExecution(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		StateMachineArn, Name string
		Input                 *string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	m, err := s.sfnMachine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if in.Name == "" {
		in.Name = s.genUUID()
	}
	if !sfnNameRe.MatchString(in.Name) {
		return nil, errorf("InvalidName", "Invalid Name: '%s'", in.Name)
	}
	input := "{}"
	if in.Input != nil {
		input = *in.Input
	}
	if !json.Valid([]byte(input)) {
		return nil, errorf("InvalidExecutionInput", "Invalid State Machine Execution Input: 'the input is not JSON'")
	}
	if err := s.authorize(r, Resource{ARN: m.Arn}); err != nil {
		return nil, err
	}
	arn := strings.Replace(m.Arn, ":stateMachine:", ":execution:", 1) + ":" + in.Name
	for _, x := range s.sfn.execs {
		if x.Arn == arn {
			// StartExecution is idempotent for a running execution with
			// the same name and input (API reference, StartExecution).
			if x.Status == "RUNNING" && x.Input == input {
				return map[string]any{"executionArn": x.Arn, "startDate": epochSeconds(x.Start)}, nil
			}
			return nil, errorf("ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
		}
	}
	runner := s.sfn.runner
	if runner == nil {
		// AWS is not silent here, the simulator is limited: it has no
		// Lambda to run tasks with, so it says so instead of starting an
		// execution that would never move.
		return nil, errorf("ValidationException", "the amiswap simulator runs executions only when a state machine runner is installed (amiswap sim installs one; so does the sandbox)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &sfnExecution{Arn: arn, Name: in.Name, MachineArn: m.Arn, Status: "RUNNING", Input: input, Start: s.clock.now, cancel: cancel}
	s.sfn.execs = append(s.sfn.execs, x)
	job := StatesExecution{ExecutionArn: arn, Name: in.Name, StateMachineArn: m.Arn, StateMachineName: m.Name, Definition: m.Definition, Input: input}
	go func() {
		out := runner.RunExecution(ctx, job)
		s.mu.Lock()
		defer s.mu.Unlock()
		cancel()
		if x.Status != "RUNNING" {
			return // stopped meanwhile
		}
		x.Status, x.Output, x.Error, x.Cause, x.Stop = out.Status, out.Output, out.Error, out.Cause, s.clock.now
	}()
	return map[string]any{"executionArn": x.Arn, "startDate": epochSeconds(x.Start)}, nil
}

func (x *sfnExecution) describe() map[string]any {
	d := map[string]any{"executionArn": x.Arn, "stateMachineArn": x.MachineArn, "name": x.Name, "status": x.Status,
		"startDate": epochSeconds(x.Start), "input": x.Input}
	if !x.Stop.IsZero() {
		d["stopDate"] = epochSeconds(x.Stop)
	}
	if x.Status == "SUCCEEDED" {
		d["output"] = x.Output
	}
	if x.Error != "" {
		d["error"], d["cause"] = x.Error, x.Cause
	}
	return d
}

func sfnDescribeExecution(s *Sim, r *request, body []byte) (any, error) {
	arn, err := sfnArnParam(body, "executionArn")
	if err != nil {
		return nil, err
	}
	x, err := s.sfnExecution(arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, Resource{ARN: x.Arn}); err != nil {
		return nil, err
	}
	return x.describe(), nil
}

func sfnListExecutions(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		StateMachineArn, StatusFilter, NextToken string
		MaxResults                               int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	m, err := s.sfnMachine(in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, Resource{ARN: m.Arn}); err != nil {
		return nil, err
	}
	switch in.StatusFilter {
	case "", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE":
	default:
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", in.StatusFilter)
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", in.MaxResults)
	}
	limit := in.MaxResults
	if limit == 0 {
		limit = 100
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, errorf("InvalidToken", "Invalid Token: '%s'", in.NextToken)
		}
		start = n
	}
	// Newest first, as Step Functions lists them.
	var all []*sfnExecution
	for i := len(s.sfn.execs) - 1; i >= 0; i-- {
		x := s.sfn.execs[i]
		if x.MachineArn == m.Arn && (in.StatusFilter == "" || x.Status == in.StatusFilter) {
			all = append(all, x)
		}
	}
	out := map[string]any{}
	items := []map[string]any{}
	for i := start; i < len(all) && i < start+limit; i++ {
		x := all[i]
		item := map[string]any{"executionArn": x.Arn, "stateMachineArn": x.MachineArn, "name": x.Name, "status": x.Status, "startDate": epochSeconds(x.Start)}
		if !x.Stop.IsZero() {
			item["stopDate"] = epochSeconds(x.Stop)
		}
		items = append(items, item)
	}
	out["executions"] = items
	if start+limit < len(all) {
		out["nextToken"] = strconv.Itoa(start + limit)
	}
	return out, nil
}

func sfnStopExecution(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		ExecutionArn, Error, Cause string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errorf("SerializationException", "%v", err)
	}
	x, err := s.sfnExecution(in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(r, Resource{ARN: x.Arn}); err != nil {
		return nil, err
	}
	if x.Status == "RUNNING" {
		x.Status, x.Error, x.Cause, x.Stop = "ABORTED", in.Error, in.Cause, s.clock.now
		x.cancel()
	}
	return map[string]any{"stopDate": epochSeconds(x.Stop)}, nil
}
