package asl

// This file holds Choice rules: every comparison operator of the States
// Language, the Is* type tests, and And/Or/Not nesting.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

type valueKind uint8

const (
	kindString valueKind = iota
	kindNumeric
	kindBoolean
	kindTimestamp
	kindTest // IsNull, IsPresent, ...
)

type cmpOp uint8

const (
	opEq cmpOp = iota
	opLt
	opLe
	opGt
	opGe
	opMatches
	opIsNull
	opIsPresent
	opIsNumeric
	opIsString
	opIsBoolean
	opIsTimestamp
)

type operator struct {
	kind   valueKind
	op     cmpOp
	isPath bool
}

// operators maps each comparison operator name to what it does.
var operators = func() map[string]operator {
	m := map[string]operator{
		"StringMatches": {kindString, opMatches, false},
		"IsNull":        {kindTest, opIsNull, false},
		"IsPresent":     {kindTest, opIsPresent, false},
		"IsNumeric":     {kindTest, opIsNumeric, false},
		"IsString":      {kindTest, opIsString, false},
		"IsBoolean":     {kindTest, opIsBoolean, false},
		"IsTimestamp":   {kindTest, opIsTimestamp, false},
	}
	kinds := []struct {
		prefix string
		kind   valueKind
	}{{"String", kindString}, {"Numeric", kindNumeric}, {"Timestamp", kindTimestamp}}
	ops := []struct {
		suffix string
		op     cmpOp
	}{{"Equals", opEq}, {"LessThan", opLt}, {"LessThanEquals", opLe}, {"GreaterThan", opGt}, {"GreaterThanEquals", opGe}}
	for _, k := range kinds {
		for _, o := range ops {
			m[k.prefix+o.suffix] = operator{k.kind, o.op, false}
			m[k.prefix+o.suffix+"Path"] = operator{k.kind, o.op, true}
		}
	}
	m["BooleanEquals"] = operator{kindBoolean, opEq, false}
	m["BooleanEqualsPath"] = operator{kindBoolean, opEq, true}
	return m
}()

// refusedChoiceFields explains the choice-rule fields Step Functions knows
// and this executor does not run.
var refusedChoiceFields = map[string]string{
	"Condition": "is not supported: it belongs to JSONata, and only JSONPath is supported",
	"Assign":    "is not supported: workflow variables are not implemented",
	"Output":    "is not supported: it belongs to JSONata, and only JSONPath is supported",
}

type choiceRule struct {
	and, or []*choiceRule
	not     *choiceRule

	variable *path
	opName   string
	op       operator
	// value is the literal operand: string, float64, bool or time.Time
	// (for kindTest, the bool the test must yield).
	value     any
	valuePath *path

	next string // top-level rules only
}

// parseChoiceRule parses a rule; field is its position for messages, like
// "Choices[2]" or "Choices[0].And[1]".
func parseChoiceRule(v any, field string, top bool) (*choiceRule, error) {
	obj, ok := v.(orderedObject)
	if !ok {
		return nil, &fieldError{field, "must be an object"}
	}
	r := &choiceRule{}
	var nOps int
	for _, e := range obj {
		f := field + "." + e.key
		switch e.key {
		case "Next":
			s, ok := e.val.(string)
			if !ok || s == "" {
				return nil, &fieldError{f, "must be a state name"}
			}
			if !top {
				return nil, &fieldError{f, "is only allowed in a top-level choice rule"}
			}
			r.next = s
		case "Comment":
			if _, ok := e.val.(string); !ok {
				return nil, &fieldError{f, "must be a string"}
			}
		case "Variable":
			s, ok := e.val.(string)
			if !ok {
				return nil, &fieldError{f, "must be a path"}
			}
			p, err := parsePath(s, true, false)
			if err != nil {
				return nil, &fieldError{f, fmt.Sprintf("is not a valid path %q: %v", s, err)}
			}
			r.variable = p
		case "And", "Or":
			arr, ok := e.val.([]any)
			if !ok || len(arr) == 0 {
				return nil, &fieldError{f, "must be a non-empty array of choice rules"}
			}
			rules := make([]*choiceRule, len(arr))
			for i, x := range arr {
				sub, err := parseChoiceRule(x, fmt.Sprintf("%s[%d]", f, i), false)
				if err != nil {
					return nil, err
				}
				rules[i] = sub
			}
			if e.key == "And" {
				r.and = rules
			} else {
				r.or = rules
			}
			nOps++
		case "Not":
			sub, err := parseChoiceRule(e.val, f, false)
			if err != nil {
				return nil, err
			}
			r.not = sub
			nOps++
		default:
			op, ok := operators[e.key]
			if !ok {
				if why, ok := refusedChoiceFields[e.key]; ok {
					return nil, &fieldError{f, why}
				}
				return nil, &fieldError{f, "is not supported: a choice rule has Variable, one comparison operator (StringEquals, NumericLessThan, IsPresent, ...), And, Or or Not, and Next at the top level"}
			}
			nOps++
			r.opName, r.op = e.key, op
			if err := r.parseOperand(e.val, f); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case nOps == 0:
		return nil, &fieldError{field, "must have one comparison operator, And, Or or Not"}
	case nOps > 1:
		return nil, &fieldError{field, "must have exactly one comparison operator, And, Or or Not"}
	case r.opName != "" && r.variable == nil:
		return nil, &fieldError{field + ".Variable", "is required with " + r.opName}
	case r.opName == "" && r.variable != nil:
		return nil, &fieldError{field + ".Variable", "is only allowed with a comparison operator"}
	case top && r.next == "":
		return nil, &fieldError{field + ".Next", "is required in a top-level choice rule"}
	}
	return r, nil
}

func (r *choiceRule) parseOperand(v any, f string) error {
	if r.op.isPath {
		s, ok := v.(string)
		if !ok {
			return &fieldError{f, "must be a path"}
		}
		p, err := parsePath(s, true, false)
		if err != nil {
			return &fieldError{f, fmt.Sprintf("is not a valid path %q: %v", s, err)}
		}
		r.valuePath = p
		return nil
	}
	switch r.op.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return &fieldError{f, "must be a string"}
		}
		r.value = s
	case kindNumeric:
		n, ok := v.(json.Number)
		if !ok {
			return &fieldError{f, "must be a number"}
		}
		x, err := n.Float64()
		if err != nil {
			return &fieldError{f, "must be a number"}
		}
		r.value = x
	case kindBoolean, kindTest:
		b, ok := v.(bool)
		if !ok {
			return &fieldError{f, "must be true or false"}
		}
		r.value = b
	case kindTimestamp:
		s, ok := v.(string)
		t, okT := parseTimestamp(s)
		if !ok || !okT {
			return &fieldError{f, "must be an RFC 3339 timestamp such as \"2026-01-02T15:04:05Z\""}
		}
		r.value = t
	}
	return nil
}

// parseTimestamp accepts the RFC 3339 profile the States Language requires:
// an uppercase T between date and time, and an uppercase Z or a numeric
// offset.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || s[10] != 'T' || strings.ContainsRune(s, 'z') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// eval tells whether the rule matches data. A Variable that names nothing
// is a States.Runtime error, except for IsPresent.
func (r *choiceRule) eval(res *resolver) (bool, error) {
	switch {
	case r.and != nil:
		for _, s := range r.and {
			ok, err := s.eval(res)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, s := range r.or {
			ok, err := s.eval(res)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(res)
		return !ok, err
	}
	v, err := res.path(r.variable)
	if err != nil {
		if r.op.op == opIsPresent {
			return !r.value.(bool), nil
		}
		return false, &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("invalid path %q: %v", r.variable.src, err)}
	}
	if r.op.kind == kindTest {
		var got bool
		switch r.op.op {
		case opIsPresent:
			got = true
		case opIsNull:
			got = v == nil
		case opIsNumeric:
			_, got = v.(json.Number)
		case opIsString:
			_, got = v.(string)
		case opIsBoolean:
			_, got = v.(bool)
		case opIsTimestamp:
			s, ok := v.(string)
			if ok {
				_, got = parseTimestamp(s)
			}
		}
		return got == r.value.(bool), nil
	}
	operand := r.value
	if r.valuePath != nil {
		pv, err := res.path(r.valuePath)
		if err != nil {
			return false, &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("invalid path %q: %v", r.valuePath.src, err)}
		}
		var ok bool
		if operand, ok = operandOf(r.op.kind, pv); !ok {
			return false, nil
		}
	}
	return compare(r.op, v, operand), nil
}

// operandOf converts a value found through a ...Path operator to the
// operand type; a value of the wrong type makes the comparison false.
func operandOf(k valueKind, v any) (any, bool) {
	switch k {
	case kindString:
		s, ok := v.(string)
		return s, ok
	case kindNumeric:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		f, err := n.Float64()
		return f, err == nil
	case kindBoolean:
		b, ok := v.(bool)
		return b, ok
	case kindTimestamp:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		return parseTimestamp(s)
	}
	return nil, false
}

// compare applies op to the variable's value and the operand. A variable of
// another type than the operator's makes the comparison false.
func compare(op operator, v, operand any) bool {
	switch op.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return false
		}
		o := operand.(string)
		if op.op == opMatches {
			return wildcardMatch(o, s)
		}
		return ordered(op.op, strings.Compare(s, o))
	case kindNumeric:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		if err != nil {
			return false
		}
		o := operand.(float64)
		switch {
		case f < o:
			return ordered(op.op, -1)
		case f > o:
			return ordered(op.op, 1)
		}
		return ordered(op.op, 0)
	case kindBoolean:
		b, ok := v.(bool)
		return ok && b == operand.(bool)
	case kindTimestamp:
		s, ok := v.(string)
		if !ok {
			return false
		}
		t, ok := parseTimestamp(s)
		if !ok {
			return false
		}
		return ordered(op.op, t.Compare(operand.(time.Time)))
	}
	return false
}

func ordered(op cmpOp, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

// wildcardMatch matches s against pattern, where * matches any run of
// characters, \* a literal asterisk and \\ a literal backslash.
func wildcardMatch(pattern, s string) bool {
	// Tokenise the pattern into literal runs separated by wildcards.
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '\\'):
			i++
			cur.WriteByte(pattern[i])
		case c == '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}

// describe renders the rule for a graph label, such as
// `$.State == "running"` or `not ($.Ready is true)`.
func (r *choiceRule) describe() string {
	join := func(rules []*choiceRule, sep string) string {
		parts := make([]string, len(rules))
		for i, s := range rules {
			parts[i] = s.describe()
			if s.and != nil || s.or != nil {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, sep)
	}
	switch {
	case r.and != nil:
		return join(r.and, " and ")
	case r.or != nil:
		return join(r.or, " or ")
	case r.not != nil:
		return "not (" + r.not.describe() + ")"
	}
	v := r.variable.src
	if r.op.kind == kindTest {
		what := strings.TrimPrefix(r.opName, "Is")
		if r.opName == "IsNull" {
			what = "null"
		}
		neg := ""
		if !r.value.(bool) {
			neg = "not "
		}
		if r.opName == "IsPresent" {
			return v + " is " + neg + "present"
		}
		return v + " is " + neg + what
	}
	sym := map[cmpOp]string{opEq: "==", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=", opMatches: "matches"}[r.op.op]
	var operand string
	switch x := r.value.(type) {
	case nil:
		operand = r.valuePath.src
	case time.Time:
		operand = x.Format(time.RFC3339Nano)
	case float64:
		operand = strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		operand = `"` + x + `"`
	default:
		operand = fmt.Sprint(x)
	}
	return v + " " + sym + " " + operand
}
