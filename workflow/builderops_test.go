package workflow

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/amiswap/amiswap"
)

func TestRegisterBuilderOps(t *testing.T) {
	r := NewRegistry(nil)
	registerBuilderOps(r, Clients{}, Config{})
	want := []string{"check-builder-ready", "check-builder-stopped", "check-generalized", "check-hand-off", "check-image",
		"check-prepared", "check-verification", "check-verifier-ready", "cleanup", "create-image", "generalize", "hand-off",
		"launch-builder", "launch-verifier", "notify", "prepare", "record-parameter", "stop-builder", "terminate-builder", "terminate-verifier", "verify"}
	if got := r.Ops(); !slices.Equal(got, want) {
		t.Errorf("ops = %v, want %v", got, want)
	}
}

// TestBuilderOpsThroughTheRegistry runs ops through Invoke, as Lambda and
// the local executor do: results carry every field the definition selects,
// failures come back under their type name.
func TestBuilderOpsThroughTheRegistry(t *testing.T) {
	r := NewRegistry(nil)
	registerBuilderOps(r, Clients{}, Config{}) // no topic: notify publishes nothing
	p := btPayload(btNow, btSucceeded)
	p.Op = "notify"
	in, _ := json.Marshal(p)
	out, err := r.Invoke(context.Background(), "Notify", in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["messageId"]; !ok {
		t.Errorf("result %s lacks messageId", out)
	}
	if _, ok := m["subject"]; !ok {
		t.Errorf("result %s lacks subject", out)
	}

	p = btPayload(btNow, func(s *State) { s.Target = nil })
	p.Op = "launch-builder"
	in, _ = json.Marshal(p)
	_, err = r.Invoke(context.Background(), "Builder", in)
	if amiswap.ErrorName(err) != "InvalidInputError" {
		t.Errorf("error = %v (%s), want InvalidInputError", err, amiswap.ErrorName(err))
	}
}
