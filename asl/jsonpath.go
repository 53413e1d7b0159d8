package asl

// This file holds the JSONPath subset that Step Functions accepts in paths
// and reference paths, compiled once at parse time and evaluated on decoded
// JSON values (map[string]any, []any, json.Number, string, bool, nil).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type segKind uint8

const (
	segField segKind = iota // .name or ['name']
	segIndex                // [3]
	segWild                 // [*] or .*
)

type segment struct {
	kind  segKind
	name  string
	index int
}

// path is a compiled JSONPath: "$" (the state's data) or "$$" (the context
// object) followed by segments.
type path struct {
	src     string
	context bool
	segs    []segment
	// definite is true when the path has no wildcard and so names at most
	// one node.
	definite bool
}

// String returns the path as written in the definition.
func (p *path) String() string { return p.src }

// parsePath compiles a Path. allowContext admits "$$" paths; reference
// restricts the syntax to a Reference Path (no wildcards).
func parsePath(s string, allowContext, reference bool) (*path, error) {
	p := &path{src: s, definite: true}
	i := 0
	switch {
	case strings.HasPrefix(s, "$$"):
		if !allowContext {
			return nil, fmt.Errorf("the context object ($$) cannot be used here")
		}
		p.context = true
		i = 2
	case strings.HasPrefix(s, "$"):
		i = 1
	default:
		return nil, fmt.Errorf("must start with \"$\"")
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				return nil, fmt.Errorf("deep scan (..) is not supported")
			}
			start := i
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				i++
			}
			name := s[start:i]
			if name == "" {
				return nil, fmt.Errorf("empty field name at offset %d", start)
			}
			if name == "*" {
				if reference {
					return nil, fmt.Errorf("wildcards are not allowed in a reference path")
				}
				p.segs = append(p.segs, segment{kind: segWild})
				p.definite = false
				continue
			}
			if strings.ContainsAny(name, "'\"()?@,* ") {
				return nil, fmt.Errorf("field name %q is not supported; use ['...']", name)
			}
			p.segs = append(p.segs, segment{kind: segField, name: name})
		case '[':
			end, seg, err := parseBracket(s, i)
			if err != nil {
				return nil, err
			}
			if seg.kind == segWild {
				if reference {
					return nil, fmt.Errorf("wildcards are not allowed in a reference path")
				}
				p.definite = false
			}
			p.segs = append(p.segs, seg)
			i = end
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
	}
	if p.context {
		if err := checkContextPath(p.segs); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// contextFields are the fields of the context object the executor provides
// (see Execution.contextObject); below Execution.Input anything goes.
var contextFields = map[string][]string{
	"Execution":    {"Id", "Name", "StartTime", "Input"},
	"State":        {"Name", "EnteredTime", "RetryCount"},
	"StateMachine": {"Id", "Name"},
}

// contextRefused explains the context-object fields Step Functions has and
// this executor does not provide.
var contextRefused = map[string]string{
	"Task": "is not provided: $$.Task.Token exists only for callback tasks (.waitForTaskToken), which are not supported",
	"Map":  "is not provided: $$.Map.Item exists only inside a Map state, and Map states are not supported",
}

// checkContextPath refuses a context path that names a field the executor
// does not provide, saying why: such a path could never be resolved, and
// would fail the execution at run time instead of the definition at load.
func checkContextPath(segs []segment) error {
	if len(segs) == 0 {
		return nil
	}
	top := segs[0]
	if top.kind != segField {
		return fmt.Errorf("the context object is not an array")
	}
	if why, ok := contextRefused[top.name]; ok {
		return fmt.Errorf("$$.%s %s", top.name, why)
	}
	fields, ok := contextFields[top.name]
	if !ok {
		return fmt.Errorf("$$.%s is not provided: the context object has only Execution, State and StateMachine", top.name)
	}
	if len(segs) < 2 {
		return nil
	}
	f := segs[1]
	if f.kind != segField || !slices.Contains(fields, f.name) {
		return fmt.Errorf("$$.%s has no such field: it provides %s", top.name, strings.Join(fields, ", "))
	}
	if len(segs) > 2 && f.name != "Input" {
		return fmt.Errorf("$$.%s.%s is a single value, it has no fields", top.name, f.name)
	}
	return nil
}

// parseBracket parses the bracket expression starting at s[i] == '['.
func parseBracket(s string, i int) (int, segment, error) {
	i++
	if i >= len(s) {
		return 0, segment{}, fmt.Errorf("unterminated '['")
	}
	switch c := s[i]; {
	case c == '\'' || c == '"':
		var b strings.Builder
		i++
		for ; i < len(s) && s[i] != c; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		if i+1 >= len(s) || s[i+1] != ']' {
			return 0, segment{}, fmt.Errorf("unterminated quoted field name")
		}
		return i + 2, segment{kind: segField, name: b.String()}, nil
	case c == '*':
		if i+1 >= len(s) || s[i+1] != ']' {
			return 0, segment{}, fmt.Errorf("expected ']' after '*'")
		}
		return i + 2, segment{kind: segWild}, nil
	case c >= '0' && c <= '9':
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i >= len(s) || s[i] != ']' {
			return 0, segment{}, fmt.Errorf("only a single non-negative index, '*' or a quoted name is supported inside [...]")
		}
		n, err := strconv.Atoi(s[start:i])
		if err != nil {
			return 0, segment{}, fmt.Errorf("bad index %q", s[start:i])
		}
		return i + 1, segment{kind: segIndex, index: n}, nil
	default:
		return 0, segment{}, fmt.Errorf("only a single non-negative index, '*' or a quoted name is supported inside [...] (filters, slices, unions and negative indexes are not)")
	}
}

// errPathNotFound is returned (wrapped) when a definite path names nothing.
type pathNotFoundError struct{ path string }

func (e *pathNotFoundError) Error() string {
	return fmt.Sprintf("the JSONPath %q could not be found in the input", e.path)
}

// eval returns the value the path selects in v. A definite path that names
// nothing is an error; an indefinite one yields the (possibly empty) array
// of matches, as Step Functions does.
func (p *path) eval(v any) (any, error) {
	if p.definite {
		for _, sg := range p.segs {
			var ok bool
			v, ok = step(v, sg)
			if !ok {
				return nil, &pathNotFoundError{p.src}
			}
		}
		return v, nil
	}
	out := []any{}
	collect(v, p.segs, &out)
	return out, nil
}

func step(v any, sg segment) (any, bool) {
	switch sg.kind {
	case segField:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		x, ok := m[sg.name]
		return x, ok
	case segIndex:
		a, ok := v.([]any)
		if !ok || sg.index >= len(a) {
			return nil, false
		}
		return a[sg.index], true
	}
	return nil, false
}

func collect(v any, segs []segment, out *[]any) {
	if len(segs) == 0 {
		*out = append(*out, v)
		return
	}
	sg := segs[0]
	if sg.kind != segWild {
		if x, ok := step(v, sg); ok {
			collect(x, segs[1:], out)
		}
		return
	}
	switch t := v.(type) {
	case []any:
		for _, x := range t {
			collect(x, segs[1:], out)
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			collect(t[k], segs[1:], out)
		}
	}
}

// set returns a copy of root with val stored at the reference path p,
// creating objects along the way. root itself is never modified: the maps
// and arrays on the path are copied, everything else is shared.
func (p *path) set(root, val any) (any, error) {
	return setAt(root, p.segs, val, p.src)
}

func setAt(node any, segs []segment, val any, src string) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	sg := segs[0]
	switch sg.kind {
	case segField:
		var m map[string]any
		switch t := node.(type) {
		case map[string]any:
			m = make(map[string]any, len(t)+1)
			for k, x := range t {
				m[k] = x
			}
		case nil:
			m = make(map[string]any, 1)
		default:
			return nil, fmt.Errorf("unable to apply ResultPath %q: %q is not inside an object", src, sg.name)
		}
		child, err := setAt(m[sg.name], segs[1:], val, src)
		if err != nil {
			return nil, err
		}
		m[sg.name] = child
		return m, nil
	case segIndex:
		a, ok := node.([]any)
		if !ok || sg.index >= len(a) {
			return nil, fmt.Errorf("unable to apply ResultPath %q: index %d does not exist", src, sg.index)
		}
		c := make([]any, len(a))
		copy(c, a)
		child, err := setAt(c[sg.index], segs[1:], val, src)
		if err != nil {
			return nil, err
		}
		c[sg.index] = child
		return c, nil
	}
	return nil, fmt.Errorf("unable to apply ResultPath %q", src)
}

// decodeJSON decodes data keeping numbers exact (json.Number).
func decodeJSON(data []byte) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
