package deploy

// This file is the EventBridge rule that starts a swap: its event pattern
// and input transformer as Go values (the template is generated from them),
// and a local evaluation of both, exactly as EventBridge applies them, used
// by `amiswap run --event` and the demo to turn a Backup event into the
// workflow's input.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/workflow"
)

// RulePattern returns the rule's event pattern: completed AWS Backup jobs
// of EC2 instances, and nothing else.
func RulePattern() map[string]any {
	return map[string]any{
		"source":      []any{"aws.backup"},
		"detail-type": []any{"Backup Job State Change"},
		"detail": map[string]any{
			"state":        []any{"COMPLETED"},
			"resourceType": []any{"EC2"},
		},
	}
}

// JanitorPattern returns the janitor rule's event pattern: executions of
// the state machine stateMachineArn (an ARN, or the template's Ref) that
// ended TIMED_OUT, ABORTED or FAILED. The event is Step Functions'
// "Step Functions Execution Status Change" ("Automating Step Functions
// event delivery with EventBridge",
// https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html).
func JanitorPattern(stateMachineArn any) map[string]any {
	statuses := make([]any, len(workflow.JanitorStatuses))
	for i, s := range workflow.JanitorStatuses {
		statuses[i] = s
	}
	return map[string]any{
		"source":      []any{"aws.states"},
		"detail-type": []any{"Step Functions Execution Status Change"},
		"detail": map[string]any{
			"status":          statuses,
			"stateMachineArn": []any{stateMachineArn},
		},
	}
}

// MatchJanitorEvent reports whether EventBridge would deliver event to the
// janitor rule of the state machine stateMachineArn, and when not, why.
func MatchJanitorEvent(event []byte, stateMachineArn string) (bool, string) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil || ev == nil {
		return false, fmt.Sprintf("not a JSON event object: %v", err)
	}
	return matchPattern(JanitorPattern(stateMachineArn), ev, "")
}

// inputPaths are the transformer's variables: the amiswap.Request field
// each fills, and where in the event it comes from. On COMPLETED the
// recovery point (for EC2 the AMI ARN) is resources[0], not in detail.
var inputPaths = [][2]string{
	{"backupJobId", "$.detail.backupJobId"},
	{"resourceArn", "$.detail.resourceArn"},
	{"resourceType", "$.detail.resourceType"},
	{"recoveryPointArn", "$.resources[0]"},
	{"backupVaultName", "$.detail.backupVaultName"},
	{"state", "$.detail.state"},
	{"eventId", "$.id"},
	{"eventTime", "$.time"},
}

// InputPaths returns the transformer's InputPathsMap.
func InputPaths() map[string]string {
	m := make(map[string]string, len(inputPaths))
	for _, p := range inputPaths {
		m[p[0]] = p[1]
	}
	return m
}

// InputTemplate is the transformer's InputTemplate: the amiswap.Request
// JSON, every placeholder inside quotes. EventBridge drops a variable whose
// path the event lacks ("Amazon EventBridge input transformation",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html):
// unquoted, `"backupJobId": <backupJobId>` would then become
// `"backupJobId": ,`, which is not JSON and which Step Functions refuses;
// quoted, it becomes "", which Resolve refuses with an InvalidInputError
// naming the field. Every value amiswap takes from the event is a string.
var InputTemplate = func() string {
	var parts []string
	for _, p := range inputPaths {
		parts = append(parts, fmt.Sprintf("%q: \"<%s>\"", p[0], p[0]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}()

// MatchEvent reports whether EventBridge would deliver event to the rule,
// and when not, why.
func MatchEvent(event []byte) (bool, string) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return false, fmt.Sprintf("not a JSON event: %v", err)
	}
	if ev == nil {
		return false, "not a JSON object"
	}
	return matchPattern(RulePattern(), ev, "")
}

// matchPattern applies an event pattern to an object: every field of the
// pattern must be present; a list matches when the event's value (or one
// of the event's list elements) equals one of its values; an object
// matches recursively.
func matchPattern(pattern map[string]any, ev map[string]any, prefix string) (bool, string) {
	keys := make([]string, 0, len(pattern))
	for k := range pattern {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := prefix + k
		v, ok := ev[k]
		if !ok {
			return false, fmt.Sprintf("the event has no %s", field)
		}
		switch p := pattern[k].(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok {
				return false, fmt.Sprintf("%s is not an object", field)
			}
			if ok, why := matchPattern(p, sub, field+"."); !ok {
				return false, why
			}
		case []any:
			if !matchValues(p, v) {
				got, _ := json.Marshal(v)
				want, _ := json.Marshal(p)
				return false, fmt.Sprintf("%s is %s, not one of %s", field, got, want)
			}
		}
	}
	return true, ""
}

func matchValues(allowed []any, v any) bool {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if matchValues(allowed, e) {
				return true
			}
		}
		return false
	}
	if _, ok := v.(map[string]any); ok {
		return false
	}
	for _, a := range allowed {
		if a == v {
			return true
		}
	}
	return false
}

// Transform returns the workflow input EventBridge sends the state machine
// for event: the input transformer applied to it. An event that the rule
// does not match is an *amiswap.InvalidInputError saying why.
func Transform(event []byte) (amiswap.Request, error) {
	var req amiswap.Request
	if ok, why := MatchEvent(event); !ok {
		return req, &amiswap.InvalidInputError{Field: "event", Reason: "not a completed EC2 backup: " + why}
	}
	input, err := TransformInput(event)
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(input, &req); err != nil {
		return req, fmt.Errorf("transformed input %s: %w", input, err)
	}
	return req, nil
}

// TransformInput applies the input transformer to event and returns the
// text EventBridge would send: each <variable> outside quotes replaced by
// the JSON value at its path, inside quotes by the value's text; a
// variable whose path the event lacks is dropped (replaced by nothing), as
// EventBridge does.
func TransformInput(event []byte) ([]byte, error) {
	var ev any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "event", Reason: err.Error()}
	}
	var out bytes.Buffer
	tmpl := InputTemplate
	inString := false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && inString && i+1 < len(tmpl):
			out.WriteByte(c)
			i++
			out.WriteByte(tmpl[i])
			continue
		case c == '"':
			inString = !inString
		case c == '<':
			end := strings.IndexByte(tmpl[i:], '>')
			if end > 0 {
				name := tmpl[i+1 : i+end]
				if path, ok := InputPaths()[name]; ok {
					v, found := lookup(ev, path)
					writeValue(&out, v, found, inString)
					i += end
					continue
				}
			}
		}
		out.WriteByte(c)
	}
	if !json.Valid(out.Bytes()) {
		return nil, fmt.Errorf("transformed input is not JSON: %s", out.Bytes())
	}
	return out.Bytes(), nil
}

func writeValue(out *bytes.Buffer, v any, found, inString bool) {
	switch {
	case !found: // dropped
	case inString:
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		q, _ := json.Marshal(s)
		out.Write(q[1 : len(q)-1])
	default:
		b, _ := json.Marshal(v)
		out.Write(b)
	}
}

// lookup evaluates the transformer's JSONPath subset ($.a.b, $.a[0]).
func lookup(v any, path string) (any, bool) {
	rest := strings.TrimPrefix(path, "$")
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[rest[:end]]; !ok {
				return nil, false
			}
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(rest[1:end])
			list, ok := v.([]any)
			if err != nil || !ok || n < 0 || n >= len(list) {
				return nil, false
			}
			v, rest = list[n], rest[end+1:]
		default:
			return nil, false
		}
	}
	return v, true
}
