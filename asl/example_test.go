package asl_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/amiswap/amiswap/asl"
)

func Example() {
	def, err := asl.Parse([]byte(`{
	  "StartAt": "Check",
	  "States": {
	    "Check": {"Type": "Task", "Resource": "check", "ResultPath": "$.ready", "Next": "Ready?"},
	    "Ready?": {"Type": "Choice",
	      "Choices": [{"Variable": "$.ready", "BooleanEquals": true, "Next": "Done"}],
	      "Default": "Wait"},
	    "Wait": {"Type": "Wait", "Seconds": 0, "Next": "Check"},
	    "Done": {"Type": "Succeed"}
	  }
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	calls := 0
	check := asl.InvokerFunc(func(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
		calls++
		return json.Marshal(calls == 2)
	})
	x, res, err := (&asl.Executor{Invoker: check}).Run(context.Background(), def, "example", json.RawMessage(`{"id":"i-1"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Status, string(res.Output))
	fmt.Println(x.Path())
	fmt.Println(x.Transitions(), "transitions")
	// Output:
	// SUCCEEDED {"id":"i-1","ready":true}
	// [Check Ready? Wait Check Ready? Done]
	// 6 transitions
}

func ExampleParse_refused() {
	_, err := asl.Parse([]byte(`{"StartAt": "Resolve", "States": {
	  "Resolve": {"Type": "Task", "Resource": "resolve", "ResultSlector": {}, "End": true}}}`))
	fmt.Println(err)
	// Output:
	// state "Resolve": field "ResultSlector" is not supported
}
