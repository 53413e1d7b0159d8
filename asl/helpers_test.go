package asl

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// fakeClock is a virtual clock: Sleep advances it at once and records the
// duration.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// handlers is an Invoker that dispatches on the resource and counts calls.
type handlers struct {
	mu    sync.Mutex
	fns   map[string]func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)
	calls map[string]int
}

func newHandlers() *handlers {
	return &handlers{fns: map[string]func(context.Context, json.RawMessage) (json.RawMessage, error){}, calls: map[string]int{}}
}

func (h *handlers) on(resource string, fn func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)) {
	h.fns[resource] = fn
}

func (h *handlers) Invoke(ctx context.Context, resource string, params json.RawMessage) (json.RawMessage, error) {
	h.mu.Lock()
	h.calls[resource]++
	fn := h.fns[resource]
	h.mu.Unlock()
	if fn == nil {
		return nil, &TaskError{Name: "NoHandler", Cause: resource}
	}
	return fn(ctx, params)
}

func (h *handlers) count(resource string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[resource]
}

func mustParse(t testing.TB, src string) *Definition {
	t.Helper()
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return d
}

// decode turns JSON text into a value for comparisons.
func decode(t testing.TB, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// sameJSON compares two JSON texts semantically.
func sameJSON(t testing.TB, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("bad JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatalf("bad JSON %s: %v", want, err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
