package amiswap

import (
	"errors"
	"fmt"
	"reflect"
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
		{tags: map[string]string{TagVerify: "false", TagPrepareDocument: "AWS-RunPatchBaseline", TagPrepareParameters: `{"Operation":["Install"]}`,
			TagVerifyDocument: "Web-Smoke", TagVerifyParameters: `{"Port":["443"],"Path":"/health"}`, TagGeneralizeDocument: "My-Cleanup",
			TagSSMParameter: "/golden/web", TagDeprecateAfter: "90d"},
			want: func(s *Settings) {
				s.Verify, s.PrepareDocument, s.PrepareParameters = false, "AWS-RunPatchBaseline", map[string][]string{"Operation": {"Install"}}
				s.VerifyDocument, s.VerifyParameters = "Web-Smoke", map[string][]string{"Port": {"443"}, "Path": {"/health"}}
				s.GeneralizeDocument, s.SSMParameter, s.DeprecateAfterSeconds = "My-Cleanup", "/golden/web", 90*24*3600
			}},
		{tags: map[string]string{TagDeprecateAfter: "12h"}, want: func(s *Settings) { s.DeprecateAfterSeconds = 12 * 3600 }},
		{tags: map[string]string{TagDeprecateAfter: "2w"}, want: func(s *Settings) { s.DeprecateAfterSeconds = 14 * 24 * 3600 }},
		{tags: map[string]string{TagVerify: "maybe"}, badTag: TagVerify},
		{tags: map[string]string{TagVerifyDocument: "a b"}, badTag: TagVerifyDocument},
		{tags: map[string]string{TagPrepareDocument: "AWS-RunPatchBaseline", TagPrepareParameters: `{"Operation":[1]}`}, badTag: TagPrepareParameters},
		{tags: map[string]string{TagPrepareDocument: "AWS-RunPatchBaseline", TagPrepareParameters: `["Install"]`}, badTag: TagPrepareParameters},
		{tags: map[string]string{TagVerifyParameters: `{"Port":["443"]}`}, badTag: TagVerifyParameters},
		{tags: map[string]string{TagGeneralizeDocument: "x"}, badTag: TagGeneralizeDocument},
		{tags: map[string]string{TagSSMParameter: "golden/web"}, badTag: TagSSMParameter},
		{tags: map[string]string{TagSSMParameter: "/aws/golden"}, badTag: TagSSMParameter},
		{tags: map[string]string{TagDeprecateAfter: "90"}, badTag: TagDeprecateAfter},
		{tags: map[string]string{TagDeprecateAfter: "0d"}, badTag: TagDeprecateAfter},
		{tags: map[string]string{TagDeprecateAfter: "30m"}, badTag: TagDeprecateAfter},
		{tags: map[string]string{TagDeprecateAfter: "11000d"}, badTag: TagDeprecateAfter},
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
		if err != nil || !reflect.DeepEqual(got, want) {
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
