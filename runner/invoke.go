// Package runner runs the swap workflow locally: the embedded States
// Language executor over the same task handlers that the Lambda functions
// serve, against real AWS or the simulator, with its waits following the
// simulator's clock when there is one.
package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
)

// LambdaResource is the Step Functions integration the definition's tasks
// use, in the aws partition (LocalDefinition's).
const LambdaResource = "arn:aws:states:::lambda:invoke"

// lambdaResourceRe is the same integration in any partition (aws, aws-cn,
// aws-us-gov, …), so that a definition deployed to another partition runs
// locally too.
var lambdaResourceRe = regexp.MustCompile(`^arn:aws(-[a-z]+)*:states:::lambda:invoke$`)

// Invoker carries out the definition's lambda:invoke tasks in process. It
// answers as the Step Functions integration does: the function's result in
// Payload, and a function error as the error name the Lambda runtime
// reports (the Go type name of the typed error) with a Cause shaped like
// the runtime's error JSON.
type Invoker struct {
	// Functions maps a function name of workflow.Functions to the registry
	// that serves it. Separate registries let each function run with its
	// own credentials (and so its own IAM role in the simulator).
	Functions map[string]*workflow.Registry
}

// NewInvoker serves every function from one registry.
func NewInvoker(reg *workflow.Registry) *Invoker {
	inv := &Invoker{Functions: map[string]*workflow.Registry{}}
	for _, f := range workflow.Functions {
		inv.Functions[f.Name] = reg
	}
	return inv
}

// Invoke implements asl.Invoker.
func (inv *Invoker) Invoke(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
	if !lambdaResourceRe.MatchString(resource) {
		return nil, &asl.TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("the local runner only serves %s, not %s", LambdaResource, resource)}
	}
	var in struct {
		FunctionName string          `json:"FunctionName"`
		Payload      json.RawMessage `json:"Payload"`
	}
	if err := json.Unmarshal(params, &in); err != nil {
		return nil, &asl.TaskError{Name: "States.Runtime", Cause: "lambda:invoke parameters: " + err.Error()}
	}
	fn, err := functionOf(in.FunctionName)
	if err != nil {
		return nil, &asl.TaskError{Name: "Lambda.ResourceNotFoundException", Cause: err.Error()}
	}
	reg := inv.Functions[fn]
	if reg == nil {
		return nil, &asl.TaskError{Name: "Lambda.ResourceNotFoundException", Cause: "no registry serves function " + fn}
	}
	out, err := reg.Invoke(ctx, fn, in.Payload)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		name := amiswap.ErrorName(err)
		cause, _ := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": name})
		return nil, &asl.TaskError{Name: name, Cause: string(cause), Err: err}
	}
	resp, err := json.Marshal(map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         json.RawMessage(out),
		"StatusCode":      200,
	})
	if err != nil {
		return nil, fmt.Errorf("encode lambda response: %w", err)
	}
	return resp, nil
}

// functionOf maps a FunctionName — a local name such as amiswap-resolve, a
// function name from a deployment (…-Resolve-…) or an ARN — to the name of
// one of workflow.Functions.
func functionOf(name string) (string, error) {
	for _, f := range workflow.Functions {
		if name == workflow.LocalFunctionName(f.Name) || name == f.Name {
			return f.Name, nil
		}
	}
	if i := strings.LastIndex(name, ":function:"); i >= 0 {
		short := name[i+len(":function:"):]
		for _, f := range workflow.Functions {
			if short == workflow.LocalFunctionName(f.Name) {
				return f.Name, nil
			}
		}
	}
	return "", fmt.Errorf("function %q is not one of amiswap's", name)
}
