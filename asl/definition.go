package asl

// This file holds Parse: it reads a States Language definition, checks it
// against the supported subset, and compiles it into an immutable
// Definition.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// State types.
const (
	TypeTask    = "Task"
	TypePass    = "Pass"
	TypeWait    = "Wait"
	TypeChoice  = "Choice"
	TypeSucceed = "Succeed"
	TypeFail    = "Fail"
)

// Definition is a parsed, validated state machine. It is immutable: run
// state lives in an Execution, so one Definition can serve any number of
// concurrent executions.
type Definition struct {
	comment string
	startAt string
	timeout time.Duration
	order   []string
	states  map[string]*state
	digest  string
}

// StartAt returns the name of the first state.
func (d *Definition) StartAt() string { return d.startAt }

// Comment returns the top-level comment.
func (d *Definition) Comment() string { return d.comment }

// Timeout returns the execution timeout (TimeoutSeconds), or 0 for none.
func (d *Definition) Timeout() time.Duration { return d.timeout }

// StateNames returns the state names in the order of the file.
func (d *Definition) StateNames() []string { return slices.Clone(d.order) }

// StateType returns the Type of the named state, or "" if there is none.
func (d *Definition) StateType(name string) string {
	if s, ok := d.states[name]; ok {
		return s.typ
	}
	return ""
}

// Digest returns the SHA-256 of the definition's source, which the history
// records so that Resume can refuse a different definition.
func (d *Definition) Digest() string { return d.digest }

// ioPath is InputPath or OutputPath: absent (the whole value), null (an
// empty object) or a path.
type ioPath struct {
	p    *path
	null bool
}

func (io ioPath) apply(v any) (any, error) {
	switch {
	case io.null:
		return map[string]any{}, nil
	case io.p == nil:
		return v, nil
	}
	return io.p.eval(v)
}

type retrier struct {
	errorEquals []string
	interval    time.Duration
	maxAttempts int
	backoff     float64
	maxDelay    time.Duration // 0: no cap
	fullJitter  bool
}

type catcher struct {
	errorEquals []string
	next        string
	resultPath  *path
	resultNull  bool
}

type waitKind uint8

const (
	waitSeconds waitKind = iota + 1
	waitSecondsPath
	waitTimestamp
	waitTimestampPath
)

type state struct {
	name       string
	typ        string
	next       string
	end        bool
	input      ioPath
	output     ioPath
	params     *template
	selector   *template
	resultPath *path // nil with resultNull false: "$"
	resultNull bool

	// Pass
	result    any
	hasResult bool

	// Task
	resource string
	timeout  time.Duration
	retry    []retrier
	catch    []catcher

	// Wait
	wait      waitKind
	seconds   int64
	timestamp time.Time
	waitPath  *path

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Fail
	errorName, cause   string
	errorDyn, causeDyn *template
}

// fields each state type accepts, beyond Type, Comment and QueryLanguage.
var stateFields = map[string][]string{
	TypeTask:    {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Resource", "TimeoutSeconds"},
	TypePass:    {"Next", "End", "InputPath", "OutputPath", "Parameters", "Result", "ResultPath"},
	TypeWait:    {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	TypeChoice:  {"InputPath", "OutputPath", "Choices", "Default"},
	TypeSucceed: {"InputPath", "OutputPath"},
	TypeFail:    {"Error", "Cause", "ErrorPath", "CausePath"},
}

// refused explains fields that Step Functions knows but this executor
// deliberately does not implement.
var refused = map[string]string{
	"HeartbeatSeconds":     "is not supported: tasks run in-process and cannot send heartbeats, so a heartbeat timeout could never be honoured; use TimeoutSeconds",
	"HeartbeatSecondsPath": "is not supported: tasks run in-process and cannot send heartbeats; use TimeoutSeconds",
	"TimeoutSecondsPath":   "is not supported; use TimeoutSeconds",
	"Credentials":          "is not supported: the executor has no cross-account role assumption",
	"Arguments":            "is not supported: it belongs to JSONata, and only JSONPath is supported",
	"Output":               "is not supported: it belongs to JSONata, and only JSONPath is supported",
	"Assign":               "is not supported: workflow variables are not implemented",
}

// Parse parses and validates a States Language definition. Anything outside
// the supported subset (see the package documentation) is refused with a
// *ParseError naming the state and the field.
func Parse(data []byte) (*Definition, error) {
	raw, err := decodeOrdered(data)
	if err != nil {
		return nil, perr("", "", "is not valid JSON: %v", err)
	}
	top, ok := raw.(orderedObject)
	if !ok {
		return nil, perr("", "", "must be a JSON object")
	}
	sum := sha256.Sum256(data)
	d := &Definition{states: map[string]*state{}, digest: hex.EncodeToString(sum[:])}
	var statesObj orderedObject
	for _, e := range top {
		switch e.key {
		case "Comment":
			s, ok := e.val.(string)
			if !ok {
				return nil, perr("", e.key, "must be a string")
			}
			d.comment = s
		case "StartAt":
			s, ok := e.val.(string)
			if !ok || s == "" {
				return nil, perr("", e.key, "must be a state name")
			}
			d.startAt = s
		case "States":
			o, ok := e.val.(orderedObject)
			if !ok || len(o) == 0 {
				return nil, perr("", e.key, "must be a non-empty object")
			}
			statesObj = o
		case "TimeoutSeconds":
			n, ok := positiveInt(e.val)
			if !ok {
				return nil, perr("", e.key, "must be a positive integer")
			}
			d.timeout = time.Duration(n) * time.Second
		case "Version":
			if e.val != "1.0" {
				return nil, perr("", e.key, "must be \"1.0\"")
			}
		case "QueryLanguage":
			if err := checkQueryLanguage(e.val); err != nil {
				return nil, perr("", e.key, "%s", err.Error())
			}
		default:
			return nil, perr("", e.key, "is not supported")
		}
	}
	if d.startAt == "" {
		return nil, perr("", "StartAt", "is required")
	}
	if statesObj == nil {
		return nil, perr("", "States", "is required")
	}
	for _, e := range statesObj {
		if e.key == "" || len(e.key) > 80 {
			return nil, perr(e.key, "", "has a name that is empty or longer than 80 characters")
		}
		s, err := parseState(e.key, e.val)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return nil, pe
			}
			var fe *fieldError
			if errors.As(err, &fe) {
				return nil, &ParseError{State: e.key, Field: fe.field, Problem: fe.problem}
			}
			return nil, &ParseError{State: e.key, Problem: err.Error()}
		}
		d.order = append(d.order, e.key)
		d.states[e.key] = s
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return d, nil
}

func checkQueryLanguage(v any) error {
	switch v {
	case "JSONPath":
		return nil
	case "JSONata":
		return fmt.Errorf("is \"JSONata\", which is not supported: only \"JSONPath\" is")
	}
	return fmt.Errorf("must be \"JSONPath\"")
}

// positiveInt reads a JSON integer > 0.
func positiveInt(v any) (int64, bool) {
	n, ok := toInt(v)
	return n, ok && n > 0
}

func parseState(name string, v any) (*state, error) {
	obj, ok := v.(orderedObject)
	if !ok {
		return nil, perr(name, "", "must be an object")
	}
	typ, _ := obj.get("Type")
	ts, ok := typ.(string)
	if !ok {
		return nil, perr(name, "Type", "is required")
	}
	allowed, ok := stateFields[ts]
	if !ok {
		return nil, perr(name, "Type", "is %q, which is not supported (supported: Task, Pass, Wait, Choice, Succeed, Fail)", ts)
	}
	s := &state{name: name, typ: ts}
	var haveNext, haveEnd bool
	for _, e := range obj {
		f := e.key
		switch f {
		case "Type":
			continue
		case "Comment":
			if _, ok := e.val.(string); !ok {
				return nil, perr(name, f, "must be a string")
			}
			continue
		case "QueryLanguage":
			if err := checkQueryLanguage(e.val); err != nil {
				return nil, perr(name, f, "%s", err.Error())
			}
			continue
		}
		if !slices.Contains(allowed, f) {
			if why, ok := refused[f]; ok {
				return nil, perr(name, f, "%s", why)
			}
			return nil, perr(name, f, "is not supported")
		}
		switch f {
		case "Next":
			n, ok := e.val.(string)
			if !ok || n == "" {
				return nil, perr(name, f, "must be a state name")
			}
			s.next, haveNext = n, true
		case "End":
			if e.val != true {
				return nil, perr(name, f, "must be true when present")
			}
			s.end, haveEnd = true, true
		case "InputPath", "OutputPath":
			io, err := parseIOPath(e.val)
			if err != nil {
				return nil, perr(name, f, "%s", err.Error())
			}
			if f == "InputPath" {
				s.input = io
			} else {
				s.output = io
			}
		case "ResultPath":
			if e.val == nil {
				s.resultNull = true
				continue
			}
			p, err := parseReferencePath(e.val)
			if err != nil {
				return nil, perr(name, f, "%s", err.Error())
			}
			s.resultPath = p
		case "Parameters", "ResultSelector":
			if _, ok := e.val.(orderedObject); !ok {
				return nil, perr(name, f, "must be an object")
			}
			t, err := compileTemplate(e.val, f)
			if err != nil {
				return nil, err
			}
			if f == "Parameters" {
				s.params = t
			} else {
				s.selector = t
			}
		case "Result":
			s.result, s.hasResult = plain(e.val), true
		case "Resource":
			r, ok := e.val.(string)
			if !ok || r == "" {
				return nil, perr(name, f, "must be a non-empty string")
			}
			if strings.HasSuffix(r, ".waitForTaskToken") {
				return nil, perr(name, f, "is a callback task (.waitForTaskToken), which is not supported: tasks run in-process and wait for their result, and nothing could send the task token back")
			}
			s.resource = r
		case "TimeoutSeconds":
			n, ok := positiveInt(e.val)
			if !ok {
				return nil, perr(name, f, "must be a positive integer")
			}
			s.timeout = time.Duration(n) * time.Second
		case "Retry":
			rs, err := parseRetry(e.val)
			if err != nil {
				return nil, err
			}
			s.retry = rs
		case "Catch":
			cs, err := parseCatch(e.val)
			if err != nil {
				return nil, err
			}
			s.catch = cs
		case "Seconds":
			n, ok := toInt(e.val)
			if !ok || n < 0 || n > 99999999 {
				return nil, perr(name, f, "must be an integer between 0 and 99999999")
			}
			s.wait, s.seconds = waitSeconds, n
		case "Timestamp":
			str, _ := e.val.(string)
			t, ok := parseTimestamp(str)
			if !ok {
				return nil, perr(name, f, "must be an RFC 3339 timestamp such as \"2026-01-02T15:04:05Z\"")
			}
			s.wait, s.timestamp = waitTimestamp, t
		case "SecondsPath", "TimestampPath":
			str, ok := e.val.(string)
			if !ok {
				return nil, perr(name, f, "must be a path")
			}
			p, err := parsePath(str, true, true)
			if err != nil {
				return nil, perr(name, f, "is not a valid reference path %q: %v", str, err)
			}
			s.waitPath = p
			if f == "SecondsPath" {
				s.wait = waitSecondsPath
			} else {
				s.wait = waitTimestampPath
			}
		case "Choices":
			arr, ok := e.val.([]any)
			if !ok || len(arr) == 0 {
				return nil, perr(name, f, "must be a non-empty array of choice rules")
			}
			for i, x := range arr {
				r, err := parseChoiceRule(x, fmt.Sprintf("Choices[%d]", i), true)
				if err != nil {
					return nil, err
				}
				s.choices = append(s.choices, r)
			}
		case "Default":
			n, ok := e.val.(string)
			if !ok || n == "" {
				return nil, perr(name, f, "must be a state name")
			}
			s.defaultNext = n
		case "Error", "Cause":
			str, ok := e.val.(string)
			if !ok {
				return nil, perr(name, f, "must be a string")
			}
			if f == "Error" {
				s.errorName = str
			} else {
				s.cause = str
			}
		case "ErrorPath", "CausePath":
			str, ok := e.val.(string)
			if !ok {
				return nil, perr(name, f, "must be a path or an intrinsic function")
			}
			t, err := compileDynamic(str)
			if err != nil {
				return nil, perr(name, f, "%s", err.Error())
			}
			if f == "ErrorPath" {
				s.errorDyn = t
			} else {
				s.causeDyn = t
			}
		}
	}
	return s, s.checkShape(obj, haveNext, haveEnd)
}

func (s *state) checkShape(obj orderedObject, haveNext, haveEnd bool) error {
	name := s.name
	switch s.typ {
	case TypeTask, TypePass, TypeWait:
		switch {
		case haveNext && haveEnd:
			return perr(name, "End", "cannot be combined with Next")
		case !haveNext && !haveEnd:
			return perr(name, "Next", "is required (or End: true)")
		}
	}
	count := func(keys ...string) int {
		n := 0
		for _, k := range keys {
			if _, ok := obj.get(k); ok {
				n++
			}
		}
		return n
	}
	switch s.typ {
	case TypeTask:
		if s.resource == "" {
			return perr(name, "Resource", "is required")
		}
	case TypeWait:
		if count("Seconds", "SecondsPath", "Timestamp", "TimestampPath") != 1 {
			return perr(name, "Seconds", "or exactly one of SecondsPath, Timestamp, TimestampPath is required")
		}
	case TypeChoice:
		if len(s.choices) == 0 {
			return perr(name, "Choices", "is required")
		}
	case TypeFail:
		if count("Error", "ErrorPath") > 1 {
			return perr(name, "ErrorPath", "cannot be combined with Error")
		}
		if count("Cause", "CausePath") > 1 {
			return perr(name, "CausePath", "cannot be combined with Cause")
		}
	}
	return nil
}

func parseIOPath(v any) (ioPath, error) {
	if v == nil {
		return ioPath{null: true}, nil
	}
	str, ok := v.(string)
	if !ok {
		return ioPath{}, fmt.Errorf("must be a path or null")
	}
	p, err := parsePath(str, false, false)
	if err != nil {
		return ioPath{}, fmt.Errorf("is not a valid path %q: %v", str, err)
	}
	if len(p.segs) == 0 {
		return ioPath{}, nil // "$" is the default
	}
	return ioPath{p: p}, nil
}

func parseReferencePath(v any) (*path, error) {
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("must be a reference path or null")
	}
	p, err := parsePath(str, false, true)
	if err != nil {
		return nil, fmt.Errorf("is not a valid reference path %q: %v", str, err)
	}
	return p, nil
}

func stringList(v any, field string) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, &fieldError{field, "must be a non-empty array of error names"}
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		s, ok := x.(string)
		if !ok || s == "" {
			return nil, &fieldError{fmt.Sprintf("%s[%d]", field, i), "must be an error name"}
		}
		out[i] = s
	}
	return out, nil
}

// parseErrorEquals reads the ErrorEquals list of a retrier or catcher;
// States.ALL must appear alone and only in the last one.
func parseErrorEquals(v any, field string, last bool) ([]string, error) {
	names, err := stringList(v, field)
	if err != nil {
		return nil, err
	}
	if slices.Contains(names, ErrAll) {
		if len(names) != 1 {
			return nil, &fieldError{field, "must list States.ALL alone"}
		}
		if !last {
			return nil, &fieldError{field, "may use States.ALL only in the last entry"}
		}
	}
	return names, nil
}

func parseRetry(v any) ([]retrier, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, &fieldError{"Retry", "must be an array"}
	}
	out := make([]retrier, 0, len(arr))
	for i, x := range arr {
		base := fmt.Sprintf("Retry[%d]", i)
		obj, ok := x.(orderedObject)
		if !ok {
			return nil, &fieldError{base, "must be an object"}
		}
		r := retrier{interval: time.Second, maxAttempts: 3, backoff: 2}
		seen := false
		for _, e := range obj {
			f := base + "." + e.key
			switch e.key {
			case "ErrorEquals":
				names, err := parseErrorEquals(e.val, f, i == len(arr)-1)
				if err != nil {
					return nil, err
				}
				r.errorEquals, seen = names, true
			case "IntervalSeconds":
				n, ok := positiveInt(e.val)
				if !ok || n > 99999999 {
					return nil, &fieldError{f, "must be a positive integer"}
				}
				r.interval = time.Duration(n) * time.Second
			case "MaxAttempts":
				n, ok := toInt(e.val)
				if !ok || n < 0 || n > 99999999 {
					return nil, &fieldError{f, "must be a non-negative integer"}
				}
				r.maxAttempts = int(n)
			case "BackoffRate":
				num, ok := e.val.(json.Number)
				var fl float64
				var err error
				if ok {
					fl, err = num.Float64()
				}
				if !ok || err != nil || fl < 1 || math.IsInf(fl, 0) {
					return nil, &fieldError{f, "must be a number greater than or equal to 1.0"}
				}
				r.backoff = fl
			case "MaxDelaySeconds":
				n, ok := positiveInt(e.val)
				if !ok || n > 31622400 {
					return nil, &fieldError{f, "must be a positive integer no greater than 31622400"}
				}
				r.maxDelay = time.Duration(n) * time.Second
			case "JitterStrategy":
				switch e.val {
				case "FULL":
					r.fullJitter = true
				case "NONE":
				default:
					return nil, &fieldError{f, "must be \"FULL\" or \"NONE\""}
				}
			case "Comment":
			default:
				return nil, &fieldError{f, "is not supported"}
			}
		}
		if !seen {
			return nil, &fieldError{base + ".ErrorEquals", "is required"}
		}
		out = append(out, r)
	}
	return out, nil
}

func parseCatch(v any) ([]catcher, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, &fieldError{"Catch", "must be an array"}
	}
	out := make([]catcher, 0, len(arr))
	for i, x := range arr {
		base := fmt.Sprintf("Catch[%d]", i)
		obj, ok := x.(orderedObject)
		if !ok {
			return nil, &fieldError{base, "must be an object"}
		}
		var c catcher
		seen := false
		for _, e := range obj {
			f := base + "." + e.key
			switch e.key {
			case "ErrorEquals":
				names, err := parseErrorEquals(e.val, f, i == len(arr)-1)
				if err != nil {
					return nil, err
				}
				c.errorEquals, seen = names, true
			case "Next":
				n, ok := e.val.(string)
				if !ok || n == "" {
					return nil, &fieldError{f, "must be a state name"}
				}
				c.next = n
			case "ResultPath":
				if e.val == nil {
					c.resultNull = true
					continue
				}
				p, err := parseReferencePath(e.val)
				if err != nil {
					return nil, &fieldError{f, err.Error()}
				}
				c.resultPath = p
			case "Comment":
			default:
				if why, ok := refused[e.key]; ok {
					return nil, &fieldError{f, why}
				}
				return nil, &fieldError{f, "is not supported"}
			}
		}
		if !seen {
			return nil, &fieldError{base + ".ErrorEquals", "is required"}
		}
		if c.next == "" {
			return nil, &fieldError{base + ".Next", "is required"}
		}
		out = append(out, c)
	}
	return out, nil
}

// edge is a transition of the graph, used by validation and Mermaid.
type edge struct {
	from, to string
	label    string
	field    string // for messages: "Next", "Default", "Choices[1].Next", "Catch[0].Next"
	catch    bool
}

// edges lists the transitions out of s in a stable order.
func (s *state) edges() []edge {
	var out []edge
	if s.next != "" {
		out = append(out, edge{s.name, s.next, "", "Next", false})
	}
	for i, r := range s.choices {
		out = append(out, edge{s.name, r.next, r.describe(), fmt.Sprintf("Choices[%d].Next", i), false})
	}
	if s.defaultNext != "" {
		out = append(out, edge{s.name, s.defaultNext, "Default", "Default", false})
	}
	for i, c := range s.catch {
		out = append(out, edge{s.name, c.next, strings.Join(c.errorEquals, ", "), fmt.Sprintf("Catch[%d].Next", i), true})
	}
	return out
}

// terminal reports whether an execution can end in s.
func (s *state) terminal() bool {
	return s.end || s.typ == TypeSucceed || s.typ == TypeFail
}

// check validates the graph: every transition names a state, every state
// is reachable from StartAt, and every state has a way to a terminal state.
func (d *Definition) check() error {
	if _, ok := d.states[d.startAt]; !ok {
		return perr("", "StartAt", "names state %q, which does not exist", d.startAt)
	}
	for _, name := range d.order {
		for _, e := range d.states[name].edges() {
			if _, ok := d.states[e.to]; !ok {
				return perr(name, e.field, "names state %q, which does not exist", e.to)
			}
		}
	}
	reach := map[string]bool{d.startAt: true}
	queue := []string{d.startAt}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range d.states[n].edges() {
			if !reach[e.to] {
				reach[e.to] = true
				queue = append(queue, e.to)
			}
		}
	}
	for _, name := range d.order {
		if !reach[name] {
			return perr(name, "", "is unreachable from StartAt %q", d.startAt)
		}
	}
	// Way out: walk the reverse graph from the terminal states.
	rev := map[string][]string{}
	for _, name := range d.order {
		for _, e := range d.states[name].edges() {
			rev[e.to] = append(rev[e.to], name)
		}
	}
	out := map[string]bool{}
	queue = queue[:0]
	for _, name := range d.order {
		if d.states[name].terminal() {
			out[name] = true
			queue = append(queue, name)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, p := range rev[n] {
			if !out[p] {
				out[p] = true
				queue = append(queue, p)
			}
		}
	}
	for _, name := range d.order {
		if !out[name] {
			return perr(name, "", "has no way out: no path from it reaches a terminal state (End, Succeed or Fail)")
		}
	}
	return nil
}
