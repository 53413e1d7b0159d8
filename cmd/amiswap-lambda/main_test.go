package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
)

func TestSetupRefusesMissingOrUnknownFunction(t *testing.T) {
	for _, fn := range []string{"", "resolve", "Nope"} {
		_, err := setup(context.Background(), fn, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "AMISWAP_FUNCTION") || !strings.Contains(err.Error(), "Resolve, Lock") {
			t.Errorf("setup(%q) error %v, want a message naming AMISWAP_FUNCTION and the functions", fn, err)
		}
	}
}

func TestSetupRefusesBadConfiguration(t *testing.T) {
	t.Setenv("AMISWAP_LOCK_TTL", "forever")
	_, err := setup(context.Background(), "Lock", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "AMISWAP_LOCK_TTL") {
		t.Fatalf("error %v, want the bad AMISWAP_LOCK_TTL named", err)
	}
}

func TestHandlerReturnsTypedErrors(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	var logs bytes.Buffer
	h, err := setup(context.Background(), "Lock", newLogger(&logs, "debug"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]json.RawMessage{
		"malformed payload": json.RawMessage(`{"op": 42}`),
		"unknown op":        json.RawMessage(`{"op": "reboot-everything"}`),
	}
	for name, payload := range cases {
		out, err := h(context.Background(), payload)
		var ie *amiswap.InvalidInputError
		if out != nil || !errors.As(err, &ie) || err != error(ie) {
			t.Errorf("%s: got %s, %T %v; want a bare *amiswap.InvalidInputError", name, out, err, err)
		}
	}
}

func TestNewLoggerWritesJSON(t *testing.T) {
	var buf bytes.Buffer
	newLogger(&buf, "").With("execution", "arn:x").Info("task done", "group", "web")
	newLogger(&buf, "").Debug("hidden at the default level")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &line); err != nil {
		t.Fatalf("log is not one JSON line: %q", buf.String())
	}
	if line["execution"] != "arn:x" || line["group"] != "web" || line["msg"] != "task done" {
		t.Errorf("log line %v", line)
	}
}
