package amiswap

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	cases := []struct {
		tags   map[string]string
		want   func(*Settings)
		badTag string
	}{
		{tags: map[string]string{TagEnabled: "true"}, want: func(s *Settings) {}},
		{tags: map[string]string{TagRefresh: "Rolling", TagMinHealthy: "50", TagWarmup: "120", TagKeep: "5"},
			want: func(s *Settings) { s.Refresh, s.MinHealthyPercentage, s.InstanceWarmup, s.Keep = "rolling", 50, 120, 5 }},
		{tags: map[string]string{TagFreezeMaxSize: "true", TagDeleteRecoveryPoint: "false", TagOS: "Linux", TagInstanceType: "m6i.large"},
			want: func(s *Settings) {
				s.FreezeMaxSize, s.DeleteRecoveryPoint, s.OS, s.InstanceType = true, false, "linux", "m6i.large"
			}},
		{tags: map[string]string{TagRefresh: "blue-green"}, badTag: TagRefresh},
		{tags: map[string]string{TagMinHealthy: "101"}, badTag: TagMinHealthy},
		{tags: map[string]string{TagKeep: "0"}, badTag: TagKeep},
		{tags: map[string]string{TagFreezeMaxSize: "yes please"}, badTag: TagFreezeMaxSize},
		{tags: map[string]string{TagOS: "macos"}, badTag: TagOS},
		{tags: map[string]string{TagInstanceType: "large"}, badTag: TagInstanceType},
		{tags: map[string]string{TagWarmup: "-1"}, badTag: TagWarmup},
	}
	for _, c := range cases {
		got, err := ParseSettings(c.tags)
		if c.badTag != "" {
			var ie *InvalidInputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.badTag) {
				t.Errorf("%v: error %v, want an InvalidInputError naming %s", c.tags, err, c.badTag)
			}
			continue
		}
		want := DefaultSettings()
		c.want(&want)
		if err != nil || got != want {
			t.Errorf("%v: got %+v (%v), want %+v", c.tags, got, err, want)
		}
	}
}

func TestEnabled(t *testing.T) {
	for tags, want := range map[string]bool{"true": true, " TRUE ": true, "false": false, "yes": false, "": false} {
		ok, reason := Enabled(map[string]string{TagEnabled: tags})
		if ok != want || (!ok && !strings.Contains(reason, TagEnabled)) {
			t.Errorf("%q: %v %q", tags, ok, reason)
		}
	}
	if ok, reason := Enabled(map[string]string{"team": "web"}); ok || !strings.Contains(reason, "not tagged") {
		t.Errorf("untagged group: %v %q", ok, reason)
	}
}

// TestErrorNames: the name reported for an error is its typed error's Go
// type name, even when a handler wrapped it — the way aws-lambda-go names
// errors and the definition's Retry/Catch match them.
func TestErrorNames(t *testing.T) {
	for _, e := range ErrorTypes {
		name := ErrorName(fmt.Errorf("step: %w", e))
		if !strings.HasSuffix(name, "Error") || strings.HasPrefix(name, "*") {
			t.Errorf("%T is named %q", e, name)
		}
		if got := ErrorName(e); got != name {
			t.Errorf("%T: %q wrapped, %q bare", e, name, got)
		}
	}
	if got := ErrorName(errors.New("plain")); got != "errorString" {
		t.Errorf("an untyped error is named %q, want the runtime's errorString", got)
	}
	inner := &TransientError{Op: "ec2:RunInstances", Err: errors.New("throttled")}
	if Typed(fmt.Errorf("a: %w", fmt.Errorf("b: %w", inner))) != inner {
		t.Error("Typed does not find a typed error two wraps deep")
	}
}

func TestLineageTags(t *testing.T) {
	tags := Lineage{Group: "web", SourceInstance: "i-1", BackupJob: "J", RecoveryPoint: "rp", ParentImage: "ami-1", Execution: "x"}.Tags()
	for _, k := range []string{TagRole, TagGroup, TagSourceInst, TagBackupJob, TagRecoveryPoint, TagParentImage, TagExecution, TagCreatedAt} {
		if tags[k] == "" {
			t.Errorf("lineage lacks %s", k)
		}
	}
	if tags[TagRole] != RoleGolden {
		t.Errorf("role %q", tags[TagRole])
	}
}
