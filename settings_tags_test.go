package amiswap

import "testing"

func TestSettingSources(t *testing.T) {
	got := SettingSources(map[string]string{TagKeep: "5", TagRefresh: "sideways", TagEnabled: "true"})
	if len(got) != len(SettingTags()) {
		t.Fatalf("%d settings, want one per setting tag (%d)", len(got), len(SettingTags()))
	}
	if s := got[TagKeep]; s.Value != "5" || s.Source != "tag" || s.Error != "" {
		t.Errorf("keep: %+v", s)
	}
	if s := got[TagRefresh]; s.Source != "tag" || s.Error == "" {
		t.Errorf("a malformed refresh tag must carry its error: %+v", s)
	}
	if s := got[TagMinHealthy]; s.Value != "90" || s.Source != "default" {
		t.Errorf("min healthy: %+v", s)
	}
	if s := got[TagOS]; s.Value != "" || s.Source != "default" || s.Default == "" {
		t.Errorf("os: %+v", s)
	}
	if s := got[TagVerify]; s.Value != "true" || s.Source != "default" {
		t.Errorf("verify: %+v", s)
	}
	// A parameters tag is read with its document; the malformed refresh
	// tag does not hide the others.
	got = SettingSources(map[string]string{TagRefresh: "sideways", TagVerifyDocument: "Check", TagVerifyParameters: `{"a":["1"]}`, TagDeprecateAfter: "90d"})
	if s := got[TagVerifyParameters]; s.Value != `{"a":["1"]}` || s.Source != "tag" || s.Error != "" {
		t.Errorf("verify parameters: %+v", s)
	}
	if s := got[TagDeprecateAfter]; s.Value != "90d" || s.Source != "tag" || s.Error != "" {
		t.Errorf("deprecate after: %+v", s)
	}
}
