package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersion: `amiswap version` prints the module version, the revision
// and the Go version from the binary's build information; --json prints
// one JSON object with the same facts.
func TestVersion(t *testing.T) {
	code, out, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "amiswap ") || !strings.Contains(out, "module:   github.com/amiswap/amiswap") ||
		!strings.Contains(out, "revision: ") || !strings.Contains(out, "go:       "+runtime.Version()) {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, nil, "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("version --json: exit %d, %v: %q", code, err, out)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok || v.Version != bi.Main.Version || v.Go != runtime.Version() || v.Module != "github.com/amiswap/amiswap" || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version --json %+v; build info main %+v", v, bi.Main)
	}
	if code, _, stderr := run(t, nil, "version", "extra"); code != 2 || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("version extra: exit %d %q", code, stderr)
	}
}

// TestBuildVersion: the version, revision, time and modified flag come
// from the build information as go install and go build record them.
func TestBuildVersion(t *testing.T) {
	v := buildVersion(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/amiswap/amiswap", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}})
	if v.Version != "v1.4.0" || v.Revision != "0123abcd" || v.Time != "2026-12-01T10:00:00Z" || !v.Modified || v.Go != "go1.26.8" {
		t.Errorf("%+v", v)
	}
	if v := buildVersion(nil); v.Version != "unknown" || v.Revision != "" || v.Go != runtime.Version() {
		t.Errorf("no build info: %+v", v)
	}
}
