package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readRepoFile reads a file at the repository's root.
func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apache2SHA256 is the SHA-256 of the Apache License 2.0 text as the
// Apache Software Foundation publishes it (https://www.apache.org/licenses/LICENSE-2.0.txt).
const apache2SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

// TestLicenseIsApache2: LICENSE holds the full, unmodified Apache License
// 2.0 text.
func TestLicenseIsApache2(t *testing.T) {
	text := readRepoFile(t, "LICENSE")
	sum := sha256.Sum256([]byte(text))
	if hex.EncodeToString(sum[:]) != apache2SHA256 || !strings.Contains(text, "Version 2.0, January 2004") {
		t.Error("LICENSE is not the standard Apache License 2.0 text")
	}
}

// TestREADMEGettingStarted: the README has the go install line, the
// opt-in line, the deployer policy command, the bucket for deploy, and
// the demo's figures as the demo prints them.
func TestREADMEGettingStarted(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	for _, want := range []string{
		"go install github.com/amiswap/amiswap/cmd/amiswap@latest",
		"aws autoscaling create-or-update-tags --tags ResourceId=NAME,ResourceType=auto-scaling-group,Key=amiswap:enabled,Value=true,PropagateAtLaunch=false",
		"amiswap template --deployer-policy",
		"aws backup create-backup-plan", "aws backup create-backup-selection",
		"ssmmessages", "ec2messages", "NAT gateway",
		"--create-bucket",
		"amiswap version",
		"## Before you deploy",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
	code, out, _ := run(t, nil, "demo")
	if code != 0 {
		t.Fatalf("demo exited %d", code)
	}
	figures := map[string]*regexp.Regexp{
		"simulated duration": regexp.MustCompile(`simulated duration\s+(\S+) \(backup included: (\S+)\)`),
		"state transitions":  regexp.MustCompile(`state transitions\s+(\d+)`),
		"AWS API calls":      regexp.MustCompile(`AWS API calls\s+(\d+)`),
	}
	for name, re := range figures {
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("the demo prints no %s", name)
			continue
		}
		for _, v := range m[1:] {
			if !strings.Contains(readme, v) {
				t.Errorf("README.md does not give the demo's %s (%s)", name, v)
			}
		}
	}
}

// TestNoDanglingReferences: no file of the repository points at a design
// note that is not in it.
func TestNoDanglingReferences(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".md")) || strings.HasSuffix(path, "docs_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, ref := range []string{"AWS-BEHAVIOUR.md", "ARCHITECTURE.md", "STYLE.md", "/work/shared", "../shared"} {
			if strings.Contains(string(b), ref) {
				if _, err := os.Stat(filepath.Join(filepath.Dir(path), ref)); err != nil {
					t.Errorf("%s points at %s, which is not in the repository", path, ref)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
