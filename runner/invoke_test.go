package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/workflow"
)

func TestInvokerAnswersLikeTheLambdaIntegration(t *testing.T) {
	reg := workflow.NewRegistry(nil)
	reg.Handle("notify", func(ctx context.Context, p workflow.Payload) (any, error) {
		return workflow.NotifyResult{MessageID: "m-1", Subject: "s"}, nil
	})
	reg.Handle("cleanup", func(ctx context.Context, p workflow.Payload) (any, error) {
		// Wrapped, as handlers do: the name must still be the typed error's.
		return nil, fmt.Errorf("cleanup: %w", &amiswap.TransientError{Op: "ec2:TerminateInstances", Err: errors.New("throttled")})
	})
	inv := NewInvoker(reg)
	call := func(fn, op string) (json.RawMessage, error) {
		params, _ := json.Marshal(map[string]any{"FunctionName": fn, "Payload": map[string]any{"op": op, "state": map[string]any{}}})
		return inv.Invoke(context.Background(), LambdaResource, params)
	}

	out, err := call("amiswap-notify", "notify")
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode int
		Payload    workflow.NotifyResult
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.Payload.MessageID != "m-1" {
		t.Errorf("response %s (%v)", out, err)
	}

	_, err = call("arn:aws:lambda:us-east-1:123456789012:function:amiswap-cleanup", "cleanup")
	var te *asl.TaskError
	if !errors.As(err, &te) || te.Name != "TransientError" {
		t.Fatalf("error %v, want a TaskError named TransientError", err)
	}
	var cause struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal([]byte(te.Cause), &cause); err != nil || cause.ErrorType != "TransientError" || cause.ErrorMessage == "" {
		t.Errorf("cause %q is not the runtime's error JSON", te.Cause)
	}

	// A function serves only its own ops, as a deployed one does.
	_, err = call("amiswap-notify", "cleanup")
	if !errors.As(err, &te) || te.Name != "InvalidInputError" {
		t.Errorf("op sent to the wrong function: %v, want InvalidInputError", err)
	}
	_, err = call("amiswap-unknown", "notify")
	if !errors.As(err, &te) || te.Name != "Lambda.ResourceNotFoundException" {
		t.Errorf("unknown function: %v", err)
	}
	if _, err := inv.Invoke(context.Background(), "arn:aws:states:::sns:publish", []byte(`{}`)); err == nil {
		t.Error("a resource other than lambda:invoke was accepted")
	}
	// The definition deployed to another partition names the integration
	// with that partition ("Amazon Resource Names (ARNs)",
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
	// the local executor runs it all the same.
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov"} {
		params, _ := json.Marshal(map[string]any{"FunctionName": "amiswap-notify", "Payload": map[string]any{"op": "nope"}})
		_, err := inv.Invoke(context.Background(), workflow.LambdaInvokeResource(partition), params)
		if !errors.As(err, &te) || te.Name != "InvalidInputError" {
			t.Errorf("%s: %v, want the function's InvalidInputError (the resource accepted)", partition, err)
		}
	}
	if _, err := inv.Invoke(context.Background(), "arn:${Partition}:states:::lambda:invoke", []byte(`{}`)); err == nil {
		t.Error("an unsubstituted partition placeholder was accepted")
	}
}
