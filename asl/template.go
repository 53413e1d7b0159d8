package asl

// This file holds payload templates (Parameters and ResultSelector): JSON
// objects whose keys ending in ".$" take a path, a context path ($$.) or an
// intrinsic function, compiled at parse time.

import (
	"fmt"
	"strings"
)

type tmplKind uint8

const (
	tmplLiteral tmplKind = iota
	tmplObject
	tmplArray
	tmplPath
	tmplCall
)

type template struct {
	kind    tmplKind
	literal any
	fields  []tmplField
	items   []*template
	path    *path
	call    *intrinsic
}

type tmplField struct {
	name string
	t    *template
}

// compileTemplate compiles a payload template. field names the definition
// field for error messages, e.g. "Parameters".
func compileTemplate(v any, field string) (*template, error) {
	switch t := v.(type) {
	case orderedObject:
		out := &template{kind: tmplObject, fields: make([]tmplField, 0, len(t))}
		for _, kv := range t {
			name := kv.key
			if strings.HasSuffix(name, ".$") {
				name = strings.TrimSuffix(name, ".$")
				s, ok := kv.val.(string)
				if !ok {
					return nil, &fieldError{field + "." + kv.key, "must be a string (a path or an intrinsic function)"}
				}
				ft, err := compileDynamic(s)
				if err != nil {
					return nil, &fieldError{field + "." + kv.key, err.Error()}
				}
				out.fields = append(out.fields, tmplField{name, ft})
				continue
			}
			ft, err := compileTemplate(kv.val, field+"."+kv.key)
			if err != nil {
				return nil, err
			}
			out.fields = append(out.fields, tmplField{name, ft})
		}
		return out, nil
	case []any:
		out := &template{kind: tmplArray, items: make([]*template, len(t))}
		static := true
		for i, x := range t {
			it, err := compileTemplate(x, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return nil, err
			}
			out.items[i] = it
			static = static && it.kind == tmplLiteral
		}
		if static {
			return &template{kind: tmplLiteral, literal: plain(v)}, nil
		}
		return out, nil
	default:
		return &template{kind: tmplLiteral, literal: v}, nil
	}
}

// compileDynamic compiles the value of a ".$" key.
func compileDynamic(s string) (*template, error) {
	if isIntrinsic(s) {
		c, err := parseIntrinsic(s)
		if err != nil {
			return nil, fmt.Errorf("is not a valid intrinsic function: %w", err)
		}
		return &template{kind: tmplCall, call: c}, nil
	}
	p, err := parsePath(s, true, false)
	if err != nil {
		return nil, fmt.Errorf("is not a valid path %q: %w", s, err)
	}
	return &template{kind: tmplPath, path: p}, nil
}

// fieldError is a problem with a (possibly nested) field of a state.
type fieldError struct {
	field, problem string
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %q %s", e.field, e.problem) }

// eval builds the payload. Literals are shared with the definition, which is
// safe because values are never modified in place (see path.set).
func (t *template) eval(r *resolver) (any, error) {
	switch t.kind {
	case tmplLiteral:
		return t.literal, nil
	case tmplObject:
		m := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			v, err := f.t.eval(r)
			if err != nil {
				return nil, err
			}
			m[f.name] = v
		}
		return m, nil
	case tmplArray:
		a := make([]any, len(t.items))
		for i, it := range t.items {
			v, err := it.eval(r)
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	case tmplPath:
		v, err := r.path(t.path)
		if err != nil {
			return nil, &TaskError{Name: ErrRuntime, Cause: err.Error()}
		}
		return v, nil
	case tmplCall:
		return t.call.eval(r)
	}
	return nil, fmt.Errorf("unknown template kind %d", t.kind)
}

// resolver evaluates paths against a state's data ($) and, when x is set,
// the context object ($$).
type resolver struct {
	data any
	x    *Execution
}

func (r *resolver) path(p *path) (any, error) {
	if p.context {
		return p.eval(r.context())
	}
	return p.eval(r.data)
}

func (r *resolver) context() any {
	if r.x == nil {
		return map[string]any{}
	}
	return r.x.contextObject()
}

func (r *resolver) uuid() string {
	if r.x != nil && r.x.ex.UUID != nil {
		return r.x.ex.UUID()
	}
	return newUUID()
}
