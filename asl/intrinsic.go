package asl

// This file holds the intrinsic functions (States.Format and friends):
// parsed once into a call tree at parse time, evaluated against the state's
// data and the context object at run time.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// intrinsicArity gives the supported intrinsics and their argument counts
// (-1: any number, min in the second value).
var intrinsicArity = map[string][2]int{
	"States.Format":        {-1, 1},
	"States.StringToJson":  {1, 1},
	"States.JsonToString":  {1, 1},
	"States.Array":         {-1, 0},
	"States.ArrayLength":   {1, 1},
	"States.ArrayGetItem":  {2, 2},
	"States.ArrayContains": {2, 2},
	"States.MathAdd":       {2, 2},
	"States.UUID":          {0, 0},
	"States.StringSplit":   {2, 2},
}

type argKind uint8

const (
	argLiteral argKind = iota
	argPath
	argCall
)

type intrinsicArg struct {
	kind    argKind
	literal any
	tmpl    string // a string literal with \{ and \} kept escaped
	path    *path
	call    *intrinsic
}

type intrinsic struct {
	name string
	args []intrinsicArg
}

// isIntrinsic reports whether a ".$" value is an intrinsic call rather than
// a path.
func isIntrinsic(s string) bool { return strings.HasPrefix(s, "States.") }

// parseIntrinsic parses a whole intrinsic expression.
func parseIntrinsic(s string) (*intrinsic, error) {
	p := &intrinsicParser{s: s}
	c, err := p.call(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the intrinsic call", p.s[p.i:])
	}
	return c, nil
}

type intrinsicParser struct {
	s string
	i int
}

func (p *intrinsicParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// maxIntrinsicDepth is the nesting limit Step Functions documents.
const maxIntrinsicDepth = 10

func (p *intrinsicParser) call(depth int) (*intrinsic, error) {
	if depth >= maxIntrinsicDepth {
		return nil, fmt.Errorf("intrinsic functions nest deeper than %d", maxIntrinsicDepth)
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '(' {
		p.i++
	}
	name := strings.TrimSpace(p.s[start:p.i])
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("%q is not an intrinsic call: missing '('", p.s[start:])
	}
	ar, ok := intrinsicArity[name]
	if !ok {
		return nil, fmt.Errorf("intrinsic function %q is not supported", name)
	}
	p.i++ // (
	c := &intrinsic{name: name}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
	} else {
		for {
			p.space()
			a, err := p.arg(depth)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			c.args = append(c.args, a)
			p.space()
			if p.i >= len(p.s) {
				return nil, fmt.Errorf("%s: missing ')'", name)
			}
			if p.s[p.i] == ')' {
				p.i++
				break
			}
			if p.s[p.i] != ',' {
				return nil, fmt.Errorf("%s: expected ',' or ')' at %q", name, p.s[p.i:])
			}
			p.i++
		}
	}
	if ar[0] >= 0 && len(c.args) != ar[0] {
		return nil, fmt.Errorf("%s takes %d argument(s), got %d", name, ar[0], len(c.args))
	}
	if len(c.args) < ar[1] {
		return nil, fmt.Errorf("%s takes at least %d argument(s), got %d", name, ar[1], len(c.args))
	}
	if name == "States.Format" && c.args[0].kind == argLiteral {
		if _, ok := c.args[0].literal.(string); !ok {
			return nil, fmt.Errorf("States.Format: the template must be a string")
		}
		if n, _ := countPlaceholders(c.args[0].tmpl); n != len(c.args)-1 {
			return nil, fmt.Errorf("States.Format: the template has %d placeholder(s) but %d value(s) follow", n, len(c.args)-1)
		}
	}
	return c, nil
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	if p.i >= len(p.s) {
		return intrinsicArg{}, fmt.Errorf("missing argument")
	}
	switch c := p.s[p.i]; {
	case c == '\'':
		// plain is the string's value; tmpl keeps \{ and \} escaped so
		// that States.Format can tell literal braces from placeholders.
		var plain, tmpl strings.Builder
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '\'' {
			if p.s[p.i] == '\\' && p.i+1 < len(p.s) {
				p.i++
				switch p.s[p.i] {
				case '{', '}', '\\':
					tmpl.WriteByte('\\')
				case '\'':
				default:
					return intrinsicArg{}, fmt.Errorf("unknown escape \\%c in string", p.s[p.i])
				}
			}
			plain.WriteByte(p.s[p.i])
			tmpl.WriteByte(p.s[p.i])
			p.i++
		}
		if p.i >= len(p.s) {
			return intrinsicArg{}, fmt.Errorf("unterminated string")
		}
		p.i++
		return intrinsicArg{kind: argLiteral, literal: plain.String(), tmpl: tmpl.String()}, nil
	case c == '$':
		start := p.i
		depthB, quote := 0, byte(0)
		for ; p.i < len(p.s); p.i++ {
			ch := p.s[p.i]
			if quote != 0 {
				if ch == quote {
					quote = 0
				}
				continue
			}
			if ch == '\'' || ch == '"' {
				quote = ch
			} else if ch == '[' {
				depthB++
			} else if ch == ']' {
				depthB--
			} else if depthB == 0 && (ch == ',' || ch == ')' || ch == ' ') {
				break
			}
		}
		pp, err := parsePath(p.s[start:p.i], true, false)
		if err != nil {
			return intrinsicArg{}, fmt.Errorf("path %q: %w", p.s[start:p.i], err)
		}
		return intrinsicArg{kind: argPath, path: pp}, nil
	case strings.HasPrefix(p.s[p.i:], "States."):
		cl, err := p.call(depth + 1)
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{kind: argCall, call: cl}, nil
	default:
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ')' && p.s[p.i] != ' ' {
			p.i++
		}
		tok := p.s[start:p.i]
		switch tok {
		case "true":
			return intrinsicArg{kind: argLiteral, literal: true}, nil
		case "false":
			return intrinsicArg{kind: argLiteral, literal: false}, nil
		case "null":
			return intrinsicArg{kind: argLiteral, literal: nil}, nil
		}
		if _, err := strconv.ParseFloat(tok, 64); err != nil || tok == "" {
			return intrinsicArg{}, fmt.Errorf("argument %q is not a string, number, boolean, null, path or intrinsic", tok)
		}
		return intrinsicArg{kind: argLiteral, literal: json.Number(tok)}, nil
	}
}

// intrinsicError is a run-time failure of an intrinsic (States.IntrinsicFailure).
func intrinsicError(name, format string, a ...any) error {
	return &TaskError{Name: ErrIntrinsicFailure, Cause: name + ": " + fmt.Sprintf(format, a...)}
}

// eval runs the call.
func (c *intrinsic) eval(r *resolver) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch a.kind {
		case argLiteral:
			args[i] = a.literal
		case argPath:
			v, err := r.path(a.path)
			if err != nil {
				return nil, intrinsicError(c.name, "%v", err)
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(r)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	switch c.name {
	case "States.Format":
		tmpl, ok := args[0].(string)
		if !ok {
			return nil, intrinsicError(c.name, "the template is not a string")
		}
		if c.args[0].kind == argLiteral {
			tmpl = c.args[0].tmpl
		}
		return formatTemplate(tmpl, args[1:])
	case "States.StringToJson":
		s, ok := args[0].(string)
		if !ok {
			return nil, intrinsicError(c.name, "the argument is not a string")
		}
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, intrinsicError(c.name, "the argument is not JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		b, err := json.Marshal(args[0])
		if err != nil {
			return nil, intrinsicError(c.name, "%v", err)
		}
		return string(b), nil
	case "States.Array":
		return args, nil
	case "States.ArrayLength":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(c.name, "the argument is not an array")
		}
		return json.Number(strconv.Itoa(len(a))), nil
	case "States.ArrayGetItem":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(c.name, "the first argument is not an array")
		}
		n, ok := toInt(args[1])
		if !ok || n < 0 {
			return nil, intrinsicError(c.name, "the index is not a non-negative integer")
		}
		if n >= int64(len(a)) {
			return nil, intrinsicError(c.name, "index %d is out of bounds (length %d)", n, len(a))
		}
		return a[n], nil
	case "States.ArrayContains":
		a, ok := args[0].([]any)
		if !ok {
			return nil, intrinsicError(c.name, "the first argument is not an array")
		}
		for _, x := range a {
			if jsonEqual(x, args[1]) {
				return true, nil
			}
		}
		return false, nil
	case "States.MathAdd":
		x, ok1 := toInt(args[0])
		y, ok2 := toInt(args[1])
		if !ok1 || !ok2 {
			return nil, intrinsicError(c.name, "both arguments must be integers")
		}
		if x < math.MinInt32 || x > math.MaxInt32 || y < math.MinInt32 || y > math.MaxInt32 {
			return nil, intrinsicError(c.name, "arguments must lie between %d and %d", math.MinInt32, math.MaxInt32)
		}
		return json.Number(strconv.FormatInt(x+y, 10)), nil
	case "States.UUID":
		return r.uuid(), nil
	case "States.StringSplit":
		s, ok1 := args[0].(string)
		d, ok2 := args[1].(string)
		if !ok1 || !ok2 {
			return nil, intrinsicError(c.name, "both arguments must be strings")
		}
		parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(d, r) })
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}
	return nil, intrinsicError(c.name, "not supported")
}

// formatTemplate fills each {} of tmpl with the next value; \{ and \} are
// literal braces and \\ a backslash.
func formatTemplate(tmpl string, vals []any) (any, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		switch {
		case tmpl[i] == '\\' && i+1 < len(tmpl) && (tmpl[i+1] == '{' || tmpl[i+1] == '}' || tmpl[i+1] == '\\'):
			i++
			b.WriteByte(tmpl[i])
		case tmpl[i] == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if n >= len(vals) {
				return nil, intrinsicError("States.Format", "more placeholders than values")
			}
			switch v := vals[n].(type) {
			case string:
				b.WriteString(v)
			case json.Number:
				b.WriteString(v.String())
			case bool:
				b.WriteString(strconv.FormatBool(v))
			case nil:
				b.WriteString("null")
			default:
				return nil, intrinsicError("States.Format", "value %d is an object or array; only strings, numbers, booleans and null can be formatted", n+1)
			}
			n++
			i++
		default:
			b.WriteByte(tmpl[i])
		}
	}
	if n != len(vals) {
		return nil, intrinsicError("States.Format", "%d value(s) but %d placeholder(s)", len(vals), n)
	}
	return b.String(), nil
}

// toInt reads an integral JSON number.
func toInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// jsonEqual compares two decoded JSON values (numbers by value).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, e1 := x.Float64()
		fy, e2 := y.Float64()
		return e1 == nil && e2 == nil && fx == fy
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// countPlaceholders counts the unescaped {} in a States.Format template.
func countPlaceholders(tmpl string) (int, error) {
	n := 0
	for i := 0; i < len(tmpl); i++ {
		switch {
		case tmpl[i] == '\\' && i+1 < len(tmpl):
			i++
		case tmpl[i] == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			n++
			i++
		}
	}
	return n, nil
}
