package asl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// wrap puts states into a definition that starts at the first one.
func wrap(start, states string) string {
	return fmt.Sprintf(`{"StartAt":%q,"States":{%s}}`, start, states)
}

func TestParseRefusals(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown field", wrap("Resolve", `"Resolve":{"Type":"Task","Resource":"r","ResultSlector":{},"End":true}`),
			`state "Resolve": field "ResultSlector" is not supported`},
		{"field of another state type", wrap("P", `"P":{"Type":"Pass","Resource":"r","End":true}`),
			`state "P": field "Resource" is not supported`},
		{"Map state", wrap("M", `"M":{"Type":"Map","End":true}`),
			`state "M": field "Type" is "Map", which is not supported (supported: Task, Pass, Wait, Choice, Succeed, Fail)`},
		{"Parallel state", wrap("P", `"P":{"Type":"Parallel","Branches":[],"End":true}`),
			`state "P": field "Type" is "Parallel", which is not supported (supported: Task, Pass, Wait, Choice, Succeed, Fail)`},
		{"unknown state type", wrap("X", `"X":{"Type":"Sleep","End":true}`),
			`state "X": field "Type" is "Sleep", which is not supported (supported: Task, Pass, Wait, Choice, Succeed, Fail)`},
		{"missing type", wrap("X", `"X":{"End":true}`),
			`state "X": field "Type" is required`},
		{"unknown intrinsic", wrap("P", `"P":{"Type":"Pass","Parameters":{"h.$":"States.Hash($.a, 'MD5')"},"End":true}`),
			`state "P": field "Parameters.h.$" is not a valid intrinsic function: intrinsic function "States.Hash" is not supported`},
		{"bad path in Parameters", wrap("P", `"P":{"Type":"Pass","Parameters":{"n":{"h.$":"$.a[?(@.x)]"}},"End":true}`),
			`state "P": field "Parameters.n.h.$" is not a valid path "$.a[?(@.x)]": only a single non-negative index, '*' or a quoted name is supported inside [...] (filters, slices, unions and negative indexes are not)`},
		{"Next to a missing state", wrap("A", `"A":{"Type":"Pass","Next":"Nowhere"}`),
			`state "A": field "Next" names state "Nowhere", which does not exist`},
		{"Default to a missing state", wrap("C", `"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"D"}],"Default":"Gone"},"D":{"Type":"Succeed"}`),
			`state "C": field "Default" names state "Gone", which does not exist`},
		{"Catch to a missing state", wrap("T", `"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Gone"}],"End":true}`),
			`state "T": field "Catch[0].Next" names state "Gone", which does not exist`},
		{"StartAt missing state", `{"StartAt":"Nope","States":{"A":{"Type":"Succeed"}}}`,
			`field "StartAt" names state "Nope", which does not exist`},
		{"unreachable state", wrap("A", `"A":{"Type":"Succeed"},"Orphan":{"Type":"Succeed"}`),
			`state "Orphan" is unreachable from StartAt "A"`},
		{"Choice without a way out", wrap("Loop", `"Loop":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Next":"Again"}],"Default":"Again"},"Again":{"Type":"Pass","Next":"Loop"}`),
			`state "Loop" has no way out: no path from it reaches a terminal state (End, Succeed or Fail)`},
		{"Choice without Choices", wrap("C", `"C":{"Type":"Choice","Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices" is required`},
		{"Choice with empty Choices", wrap("C", `"C":{"Type":"Choice","Choices":[],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices" must be a non-empty array of choice rules`},
		{"Choice rule without Next", wrap("C", `"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true}],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices[0].Next" is required in a top-level choice rule`},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
			`field "QueryLanguage" is "JSONata", which is not supported: only "JSONPath" is`},
		{"JSONata on a state", wrap("A", `"A":{"Type":"Succeed","QueryLanguage":"JSONata"}`),
			`state "A": field "QueryLanguage" is "JSONata", which is not supported: only "JSONPath" is`},
		{"HeartbeatSeconds", wrap("T", `"T":{"Type":"Task","Resource":"r","HeartbeatSeconds":10,"End":true}`),
			`state "T": field "HeartbeatSeconds" is not supported: tasks run in-process and cannot send heartbeats, so a heartbeat timeout could never be honoured; use TimeoutSeconds`},
		{"callback task", wrap("T", `"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","End":true}`),
			`state "T": field "Resource" is a callback task (.waitForTaskToken), which is not supported: tasks run in-process and wait for their result, and nothing could send the task token back`},
		{"task token", wrap("T", `"T":{"Type":"Task","Resource":"r","Parameters":{"token.$":"$$.Task.Token"},"End":true}`),
			`state "T": field "Parameters.token.$" is not a valid path "$$.Task.Token": $$.Task is not provided: $$.Task.Token exists only for callback tasks (.waitForTaskToken), which are not supported`},
		{"map item", wrap("P", `"P":{"Type":"Pass","Parameters":{"i.$":"$$.Map.Item.Value"},"End":true}`),
			`state "P": field "Parameters.i.$" is not a valid path "$$.Map.Item.Value": $$.Map is not provided: $$.Map.Item exists only inside a Map state, and Map states are not supported`},
		{"unknown context field", wrap("P", `"P":{"Type":"Pass","Parameters":{"r.$":"$$.Execution.RoleArn"},"End":true}`),
			`state "P": field "Parameters.r.$" is not a valid path "$$.Execution.RoleArn": $$.Execution has no such field: it provides Id, Name, StartTime, Input`},
		{"unknown context object", wrap("P", `"P":{"Type":"Pass","Parameters":{"r.$":"$$.Redrive"},"End":true}`),
			`state "P": field "Parameters.r.$" is not a valid path "$$.Redrive": $$.Redrive is not provided: the context object has only Execution, State and StateMachine`},
		{"context path in a choice", wrap("C", `"C":{"Type":"Choice","Choices":[{"Variable":"$$.Map.Item.Index","NumericEquals":0,"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices[0].Variable" is not a valid path "$$.Map.Item.Index": $$.Map is not provided: $$.Map.Item exists only inside a Map state, and Map states are not supported`},
		{"JSONata choice condition", wrap("C", `"C":{"Type":"Choice","Choices":[{"Condition":"{% $x %}","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices[0].Condition" is not supported: it belongs to JSONata, and only JSONPath is supported`},
		{"choice rule with Assign", wrap("C", `"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsPresent":true,"Assign":{"x":1},"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices[0].Assign" is not supported: workflow variables are not implemented`},
		{"unknown choice operator", wrap("C", `"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringContains":"x","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}`),
			`state "C": field "Choices[0].StringContains" is not supported: a choice rule has Variable, one comparison operator (StringEquals, NumericLessThan, IsPresent, ...), And, Or or Not, and Next at the top level`},
		{"States.ALL not alone", wrap("T", `"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["States.ALL","Busy"]}],"End":true}`),
			`state "T": field "Retry[0].ErrorEquals" must list States.ALL alone`},
		{"States.ALL not last", wrap("T", `"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"},{"ErrorEquals":["Busy"],"Next":"F"}],"End":true},"F":{"Type":"Fail"}`),
			`state "T": field "Catch[0].ErrorEquals" may use States.ALL only in the last entry`},
		{"bad BackoffRate", wrap("T", `"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}],"End":true}`),
			`state "T": field "Retry[0].BackoffRate" must be a number greater than or equal to 1.0`},
		{"bad MaxAttempts", wrap("T", `"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["X"],"MaxAttempts":-1}],"End":true}`),
			`state "T": field "Retry[0].MaxAttempts" must be a non-negative integer`},
		{"bad JitterStrategy", wrap("T", `"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"HALF"}],"End":true}`),
			`state "T": field "Retry[0].JitterStrategy" must be "FULL" or "NONE"`},
		{"unknown retrier field", wrap("T", `"T":{"Type":"Task","Resource":"r","Retry":[{"ErrorEquals":["X"],"Interval":1}],"End":true}`),
			`state "T": field "Retry[0].Interval" is not supported`},
		{"Catch without Next", wrap("T", `"T":{"Type":"Task","Resource":"r","Catch":[{"ErrorEquals":["X"]}],"End":true}`),
			`state "T": field "Catch[0].Next" is required`},
		{"wildcard ResultPath", wrap("T", `"T":{"Type":"Task","Resource":"r","ResultPath":"$.a[*]","End":true}`),
			`state "T": field "ResultPath" is not a valid reference path "$.a[*]": wildcards are not allowed in a reference path`},
		{"context in InputPath", wrap("T", `"T":{"Type":"Task","Resource":"r","InputPath":"$$.Execution","End":true}`),
			`state "T": field "InputPath" is not a valid path "$$.Execution": the context object ($$) cannot be used here`},
		{"Next and End", wrap("P", `"P":{"Type":"Pass","Next":"P","End":true}`),
			`state "P": field "End" cannot be combined with Next`},
		{"neither Next nor End", wrap("P", `"P":{"Type":"Pass"}`),
			`state "P": field "Next" is required (or End: true)`},
		{"Task without Resource", wrap("T", `"T":{"Type":"Task","End":true}`),
			`state "T": field "Resource" is required`},
		{"Wait with two durations", wrap("W", `"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","End":true}`),
			`state "W": field "Seconds" or exactly one of SecondsPath, Timestamp, TimestampPath is required`},
		{"Wait with a bad timestamp", wrap("W", `"W":{"Type":"Wait","Timestamp":"2026-01-01 10:00","End":true}`),
			`state "W": field "Timestamp" must be an RFC 3339 timestamp such as "2026-01-02T15:04:05Z"`},
		{"Fail with Error and ErrorPath", wrap("F", `"F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}`),
			`state "F": field "ErrorPath" cannot be combined with Error`},
		{"Succeed with Next", wrap("S", `"S":{"Type":"Succeed","Next":"S"}`),
			`state "S": field "Next" is not supported`},
		{"Task TimeoutSeconds zero", wrap("T", `"T":{"Type":"Task","Resource":"r","TimeoutSeconds":0,"End":true}`),
			`state "T": field "TimeoutSeconds" must be a positive integer`},
		{"unknown top-level field", `{"StartAt":"A","Stats":{},"States":{"A":{"Type":"Succeed"}}}`,
			`field "Stats" is not supported`},
		{"bad Version", `{"Version":"2.0","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`,
			`field "Version" must be "1.0"`},
		{"missing StartAt", `{"States":{"A":{"Type":"Succeed"}}}`,
			`field "StartAt" is required`},
		{"not JSON", `{"StartAt":`, `definition is not valid JSON: unexpected EOF`},
		{"duplicate state", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Succeed"}}}`,
			`definition is not valid JSON: duplicate key "A"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src))
			if err == nil {
				t.Fatal("accepted")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if err.Error() != c.want {
				t.Fatalf("error:\n got  %s\n want %s", err, c.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	src := `{
	  "Comment": "everything supported, once",
	  "Version": "1.0", "QueryLanguage": "JSONPath", "TimeoutSeconds": 3600,
	  "StartAt": "T",
	  "States": {
	    "T": {"Type": "Task", "Comment": "c", "QueryLanguage": "JSONPath", "Resource": "arn:aws:states:::lambda:invoke",
	      "InputPath": "$.in", "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "ResultSelector": {"p.$": "$.Payload"},
	      "ResultPath": "$.out", "OutputPath": "$", "TimeoutSeconds": 30,
	      "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 0, "BackoffRate": 1.5,
	                 "MaxDelaySeconds": 10, "JitterStrategy": "NONE", "Comment": "r"}],
	      "Catch": [{"ErrorEquals": ["States.Timeout", "States.TaskFailed"], "ResultPath": null, "Next": "F", "Comment": "c"},
	                {"ErrorEquals": ["States.ALL"], "Next": "F"}],
	      "Next": "W"},
	    "W": {"Type": "Wait", "TimestampPath": "$.at", "Next": "C"},
	    "C": {"Type": "Choice", "InputPath": "$", "OutputPath": "$",
	      "Choices": [{"Not": {"Variable": "$$.State.Name", "StringEquals": "x"}, "Next": "P", "Comment": "c"}], "Default": "S"},
	    "P": {"Type": "Pass", "Result": [1, {"a": "b"}], "ResultPath": "$.r", "End": true},
	    "S": {"Type": "Succeed"},
	    "F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('{}', $.c)"}
	  }
	}`
	def, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if def.StartAt() != "T" || def.Timeout().Seconds() != 3600 || def.Comment() != "everything supported, once" {
		t.Fatalf("definition = %+v", def)
	}
	if got := strings.Join(def.StateNames(), ","); got != "T,W,C,P,S,F" {
		t.Fatalf("state order = %s", got)
	}
	if def.StateType("C") != TypeChoice || def.StateType("nope") != "" {
		t.Fatal("StateType")
	}
	if len(def.Digest()) != 64 {
		t.Fatalf("digest = %q", def.Digest())
	}
}
