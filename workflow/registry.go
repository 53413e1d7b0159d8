package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/amiswap/amiswap"
)

// HandlerFunc runs one op.
type HandlerFunc func(ctx context.Context, p Payload) (any, error)

// Registry maps ops to handlers. The Lambda entry point and the local
// invoker both call Invoke, so that both see the same JSON contract and the
// same error names.
type Registry struct {
	ops map[string]HandlerFunc
	log *slog.Logger
}

// NewRegistry returns an empty registry.
func NewRegistry(log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{ops: map[string]HandlerFunc{}, log: log}
}

// Handle registers the handler of an op. Registering an op twice or an op
// that no Function lists is a programming error.
func (r *Registry) Handle(op string, h HandlerFunc) {
	if _, ok := FunctionFor(op); !ok {
		panic(fmt.Sprintf("workflow: op %q is not served by any function", op))
	}
	if _, dup := r.ops[op]; dup {
		panic(fmt.Sprintf("workflow: op %q registered twice", op))
	}
	r.ops[op] = h
}

// Ops lists the registered ops, sorted.
func (r *Registry) Ops() []string {
	out := make([]string, 0, len(r.ops))
	for op := range r.ops {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Invoke decodes a payload, runs its op and encodes the result. When only
// is not empty, ops that the named function does not serve are refused (a
// Lambda function serves only its own family). Errors come back as the
// typed error found in the chain (see amiswap.Typed), so that the runtime
// reports the name the definition's Retry/Catch match.
func (r *Registry) Invoke(ctx context.Context, only string, payload []byte) ([]byte, error) {
	var p Payload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, &amiswap.InvalidInputError{Field: "payload", Reason: err.Error()}
	}
	h, ok := r.ops[p.Op]
	if !ok {
		return nil, &amiswap.InvalidInputError{Field: "op", Reason: fmt.Sprintf("unknown op %q", p.Op)}
	}
	if only != "" {
		f, _ := FunctionFor(p.Op)
		if f.Name != only {
			return nil, &amiswap.InvalidInputError{Field: "op", Reason: fmt.Sprintf("function %s does not serve op %q (function %s does)", only, p.Op, f.Name)}
		}
	}
	log := r.log.With("op", p.Op, "execution", p.Context.ExecutionID)
	if p.State.Target != nil && p.State.Target.Group != "" {
		log = log.With("group", p.State.Target.Group)
	}
	out, err := h(ctx, p)
	if err != nil {
		err = amiswap.Typed(err)
		log.Warn("task failed", "error", amiswap.ErrorName(err), "cause", err.Error())
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode %s result: %w", p.Op, err)
	}
	log.Debug("task done", "result", json.RawMessage(b))
	return b, nil
}

// errorsAs is errors.As with the target created for the caller.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
