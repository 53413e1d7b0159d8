package asl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// runOne runs a one-state machine whose state is stateJSON (without Type
// End), with a task that records its parameters and returns result.
func runOne(t *testing.T, stateJSON, input, result string) (Result, json.RawMessage) {
	t.Helper()
	def := mustParse(t, fmt.Sprintf(`{"StartAt":"S","States":{"S":%s}}`, stateJSON))
	var params json.RawMessage
	inv := InvokerFunc(func(ctx context.Context, resource string, p json.RawMessage) (json.RawMessage, error) {
		params = p
		return json.RawMessage(result), nil
	})
	_, res, err := (&Executor{Invoker: inv, Clock: newFakeClock()}).Run(context.Background(), def, "io", json.RawMessage(input))
	if err != nil {
		t.Fatal(err)
	}
	return res, params
}

// The cases follow the ideas of the specification's "Input and Output
// Processing" section, with data of our own.
func TestInputOutputProcessing(t *testing.T) {
	const order = `{"order":"o-17","sizes":{"small":3,"large":4},"tags":["a","b","c"]}`
	cases := []struct {
		name, state, input, result string
		wantParams, wantOutput     string
	}{
		{
			name:       "InputPath selects what the task sees, ResultPath adds the result to the raw input",
			state:      `{"Type":"Task","Resource":"r","InputPath":"$.sizes","ResultPath":"$.total","End":true}`,
			input:      order,
			result:     `7`,
			wantParams: `{"small":3,"large":4}`,
			wantOutput: `{"order":"o-17","sizes":{"small":3,"large":4},"tags":["a","b","c"],"total":7}`,
		},
		{
			name:       "OutputPath then picks part of the combined document",
			state:      `{"Type":"Task","Resource":"r","InputPath":"$.sizes","ResultPath":"$.total","OutputPath":"$.total","End":true}`,
			input:      order,
			result:     `7`,
			wantParams: `{"small":3,"large":4}`,
			wantOutput: `7`,
		},
		{
			name:       "without ResultPath the result replaces the input",
			state:      `{"Type":"Task","Resource":"r","End":true}`,
			input:      order,
			result:     `{"fresh":true}`,
			wantParams: order,
			wantOutput: `{"fresh":true}`,
		},
		{
			name:       "ResultPath null discards the result and passes the input through",
			state:      `{"Type":"Task","Resource":"r","ResultPath":null,"End":true}`,
			input:      order,
			result:     `{"ignored":1}`,
			wantParams: order,
			wantOutput: order,
		},
		{
			name:       "ResultPath creates the objects it needs",
			state:      `{"Type":"Task","Resource":"r","ResultPath":"$.audit.last.result","End":true}`,
			input:      `{"order":"o-1"}`,
			result:     `"ok"`,
			wantParams: `{"order":"o-1"}`,
			wantOutput: `{"order":"o-1","audit":{"last":{"result":"ok"}}}`,
		},
		{
			name:       "ResultPath replaces an existing field and keeps its siblings",
			state:      `{"Type":"Task","Resource":"r","ResultPath":"$.sizes.large","End":true}`,
			input:      order,
			result:     `40`,
			wantParams: order,
			wantOutput: `{"order":"o-17","sizes":{"small":3,"large":40},"tags":["a","b","c"]}`,
		},
		{
			name: "Parameters build the payload from static values, paths, the context object and intrinsics",
			state: `{"Type":"Task","Resource":"r","Parameters":{
				"static":{"kind":"image","count":2},
				"order.$":"$.order",
				"firstTag.$":"$.tags[0]",
				"allTags.$":"$.tags[*]",
				"nested":{"small.$":"$.sizes.small"},
				"list":[1,{"x.$":"$.order"}],
				"exec.$":"$$.Execution.Name",
				"label.$":"States.Format('{}-{}', $.order, $.sizes.large)"
			},"ResultPath":"$.out","OutputPath":"$.out","End":true}`,
			input:      order,
			result:     `{"done":true}`,
			wantParams: `{"static":{"kind":"image","count":2},"order":"o-17","firstTag":"a","allTags":["a","b","c"],"nested":{"small":3},"list":[1,{"x":"o-17"}],"exec":"io","label":"o-17-4"}`,
			wantOutput: `{"done":true}`,
		},
		{
			name:       "InputPath applies before Parameters",
			state:      `{"Type":"Task","Resource":"r","InputPath":"$.sizes","Parameters":{"big.$":"$.large"},"ResultPath":"$.r","End":true}`,
			input:      order,
			result:     `1`,
			wantParams: `{"big":4}`,
			wantOutput: `{"order":"o-17","sizes":{"small":3,"large":4},"tags":["a","b","c"],"r":1}`,
		},
		{
			name: "ResultSelector shapes the raw result before ResultPath",
			state: `{"Type":"Task","Resource":"r","ResultSelector":{"image.$":"$.Payload.ImageId","code.$":"$.StatusCode","fixed":"v"},
				"ResultPath":"$.created","End":true}`,
			input:      `{"order":"o-2"}`,
			result:     `{"Payload":{"ImageId":"ami-9","Extra":1},"StatusCode":200,"ExecutedVersion":"$LATEST"}`,
			wantParams: `{"order":"o-2"}`,
			wantOutput: `{"order":"o-2","created":{"image":"ami-9","code":200,"fixed":"v"}}`,
		},
		{
			name:       "InputPath null gives the task an empty object",
			state:      `{"Type":"Task","Resource":"r","InputPath":null,"ResultPath":"$.r","End":true}`,
			input:      order,
			result:     `2`,
			wantParams: `{}`,
			wantOutput: `{"order":"o-17","sizes":{"small":3,"large":4},"tags":["a","b","c"],"r":2}`,
		},
		{
			name:       "OutputPath null gives the next state an empty object",
			state:      `{"Type":"Task","Resource":"r","OutputPath":null,"End":true}`,
			input:      order,
			result:     `2`,
			wantParams: order,
			wantOutput: `{}`,
		},
		{
			name:       "a wildcard OutputPath yields an array",
			state:      `{"Type":"Task","Resource":"r","ResultPath":null,"OutputPath":"$.sizes.*","End":true}`,
			input:      order,
			result:     `0`,
			wantParams: order,
			wantOutput: `[4,3]`,
		},
		{
			name:       "Pass: Result goes to ResultPath",
			state:      `{"Type":"Pass","Result":{"x":[1,2]},"ResultPath":"$.fixed","End":true}`,
			input:      `{"a":1}`,
			wantOutput: `{"a":1,"fixed":{"x":[1,2]}}`,
		},
		{
			name:       "Pass: without Result the effective input (after Parameters) is the result",
			state:      `{"Type":"Pass","Parameters":{"copy.$":"$.a"},"ResultPath":"$.p","End":true}`,
			input:      `{"a":1}`,
			wantOutput: `{"a":1,"p":{"copy":1}}`,
		},
		{
			name:       "Pass: no fields passes the input through",
			state:      `{"Type":"Pass","End":true}`,
			input:      order,
			wantOutput: order,
		},
		{
			name:       "Succeed: InputPath then OutputPath",
			state:      `{"Type":"Succeed","InputPath":"$.sizes","OutputPath":"$.small"}`,
			input:      order,
			wantOutput: `3`,
		},
		{
			name:       "Wait: OutputPath filters its input",
			state:      `{"Type":"Wait","Seconds":0,"OutputPath":"$.order","End":true}`,
			input:      order,
			wantOutput: `"o-17"`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, params := runOne(t, c.state, c.input, c.result)
			if res.Status != StatusSucceeded {
				t.Fatalf("status %s: %s: %s", res.Status, res.Error, res.Cause)
			}
			if c.wantParams != "" && !sameJSON(t, params, c.wantParams) {
				t.Errorf("params = %s\nwant     %s", params, c.wantParams)
			}
			if !sameJSON(t, res.Output, c.wantOutput) {
				t.Errorf("output = %s\nwant     %s", res.Output, c.wantOutput)
			}
		})
	}
}

func TestProcessingFailures(t *testing.T) {
	cases := []struct {
		name, state, input, result string
		wantError, wantCause       string
	}{
		{"InputPath names nothing", `{"Type":"Task","Resource":"r","InputPath":"$.missing","End":true}`, `{}`, `1`, ErrRuntime, `"$.missing" could not be found`},
		{"Parameters path names nothing", `{"Type":"Pass","Parameters":{"x.$":"$.missing"},"End":true}`, `{}`, ``, ErrRuntime, `"$.missing" could not be found`},
		{"ResultSelector path names nothing", `{"Type":"Task","Resource":"r","ResultSelector":{"x.$":"$.nope"},"End":true}`, `{}`, `{}`, ErrRuntime, `"$.nope"`},
		{"OutputPath names nothing", `{"Type":"Task","Resource":"r","OutputPath":"$.nope","End":true}`, `{}`, `{}`, ErrRuntime, `"$.nope"`},
		{"ResultPath into a string", `{"Type":"Task","Resource":"r","ResultPath":"$.s.x","End":true}`, `{"s":"str"}`, `1`, ErrResultPathMatchFailure, `unable to apply ResultPath "$.s.x"`},
		{"intrinsic fails", `{"Type":"Pass","Parameters":{"x.$":"States.ArrayLength($.s)"},"End":true}`, `{"s":"str"}`, ``, ErrIntrinsicFailure, `not an array`},
		{"task result is not JSON", `{"Type":"Task","Resource":"r","End":true}`, `{}`, `{oops`, ErrTaskFailed, `not JSON`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, _ := runOne(t, c.state, c.input, c.result)
			if res.Status != StatusFailed || res.Error != c.wantError || !strings.Contains(res.Cause, c.wantCause) {
				t.Fatalf("result = %+v, want %s containing %q", res, c.wantError, c.wantCause)
			}
		})
	}
}

// Definitions are never modified by a run: a Result literal written into
// by a later ResultPath stays as parsed.
func TestDefinitionUnchangedByRuns(t *testing.T) {
	def := mustParse(t, `{"StartAt":"A","States":{
		"A":{"Type":"Pass","Result":{"inner":{"v":1}},"Next":"B"},
		"B":{"Type":"Pass","Result":"changed","ResultPath":"$.inner.v","End":true}}}`)
	ex := &Executor{Clock: newFakeClock()}
	for i := 0; i < 2; i++ {
		_, res, err := ex.Run(context.Background(), def, fmt.Sprintf("r%d", i), nil)
		if err != nil || !sameJSON(t, res.Output, `{"inner":{"v":"changed"}}`) {
			t.Fatalf("run %d: %v %s", i, err, res.Output)
		}
	}
	raw, _ := json.Marshal(def.states["A"].result)
	if string(raw) != `{"inner":{"v":1}}` {
		t.Fatalf("definition literal changed: %s", raw)
	}
}
