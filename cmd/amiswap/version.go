package main

// This file is `amiswap version`: the module version, the VCS revision
// and the Go version the binary was built with.

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(command{name: "version", summary: "print amiswap's version, VCS revision and Go version", run: runVersion})
}

// versionInfo is what `amiswap version --json` prints.
type versionInfo struct {
	Module   string `json:"module"`
	Version  string `json:"version"`            // v1.2.3 from go install …@v1.2.3, (devel) from a checkout
	Revision string `json:"revision,omitempty"` // the VCS commit, when the build recorded it
	Time     string `json:"time,omitempty"`     // the commit's time
	Modified bool   `json:"modified"`           // the working tree had changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// buildVersion reads the version from the binary's build information
// (runtime/debug.ReadBuildInfo); bi may be nil when the binary has none.
func buildVersion(bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Module: "github.com/amiswap/amiswap", Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return v
	}
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(ctx context.Context, args []string, env *Env) error {
	fs := newFlagSet("version", "[--json]", env)
	asJSON := fs.Bool("json", false, "print a JSON object (module, version, revision, time, modified, go, platform)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, _ := debug.ReadBuildInfo()
	v := buildVersion(bi)
	if *asJSON {
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("version: %w", err)
		}
		_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
		return err
	}
	rev := v.Revision
	switch {
	case rev == "":
		rev = "unknown (built without VCS information)"
	case v.Modified:
		rev += " (modified)"
	}
	if v.Time != "" {
		rev += " " + v.Time
	}
	fmt.Fprintf(env.Stdout, "amiswap %s\nmodule:   %s\nrevision: %s\ngo:       %s %s\n", v.Version, v.Module, rev, v.Go, v.Platform)
	return nil
}
