package main

// This test runs the bootstrap under the AWS Lambda Runtime Interface
// Emulator (built from the Go module proxy), as Lambda would run it, with
// the AWS clients pointed at the simulator.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
)

// rieVersion is the emulator the test builds. The build is cached in the
// user's cache directory under this version, so only the first run on a
// machine builds it; change the version to rebuild.
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// rieCachePath is where the emulator of version is cached:
// os.UserCacheDir()/amiswap/aws-lambda-rie/VERSION/aws-lambda-rie.
func rieCachePath(version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "amiswap", "aws-lambda-rie", version, "aws-lambda-rie"), nil
}

// buildRIE returns the cached emulator, building it from the Go module
// proxy on the first run, or skips the test when it cannot be built.
func buildRIE(t *testing.T) string {
	t.Helper()
	bin, err := rieCachePath(rieVersion)
	if err != nil {
		t.Skipf("no user cache directory for the Lambda Runtime Interface Emulator: %v", err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	// Build into a private directory next to the cache entry and rename
	// it into place, so that concurrent test runs never see half a binary.
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Skipf("cannot create the emulator cache: %v", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(bin), "build-")
	if err != nil {
		t.Skipf("cannot create the emulator cache: %v", err)
	}
	defer os.RemoveAll(tmp)
	t.Logf("building the Lambda Runtime Interface Emulator %s into %s (once per machine)", rieVersion, bin)
	cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build the Lambda Runtime Interface Emulator @%s: %v: %s", rieVersion, err, bytes.TrimSpace(out))
	}
	if err := os.Rename(filepath.Join(tmp, "aws-lambda-rie"), bin); err != nil {
		t.Fatalf("cache the emulator: %v", err)
	}
	return bin
}

// buildBootstrap builds this command as Lambda's bootstrap for the host.
// It uses the build settings of the test binary itself (no -trimpath, no
// CGO_ENABLED=0, unlike scripts/build-lambda.sh), so that every dependency
// comes from the build cache the test binary filled: with other settings a
// cold cache compiles the whole AWS SDK a second time, which under load
// took longer than go test's 10-minute limit.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// emulated is one function running under the emulator.
type emulated struct {
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
}

func (e *emulated) log() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logs.String()
}

type lockedWriter struct{ e *emulated }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.e.logs.Write(p)
}

// startFunction runs the bootstrap under the emulator with env.
func startFunction(t *testing.T, rie, bootstrap string, env []string) *emulated {
	t.Helper()
	addr, apiAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	e := &emulated{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	cmd.Stdout, cmd.Stderr = lockedWriter{e}, lockedWriter{e}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator log:\n%s", e.log())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s: %v\n%s", addr, err, e.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoke sends a payload and returns the response body.
func (e *emulated) invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body
}

var initDuration = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// catchNames lists the error names of the definition's Retry and Catch.
func catchNames(t *testing.T) map[string]bool {
	t.Helper()
	var def struct {
		States map[string]struct {
			Retry, Catch []struct{ ErrorEquals []string }
		}
	}
	if err := json.Unmarshal(workflow.Definition(), &def); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range def.States {
		for _, r := range append(s.Retry, s.Catch...) {
			for _, n := range r.ErrorEquals {
				names[n] = true
			}
		}
	}
	return names
}

func TestBootstrapUnderRuntimeInterfaceEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator and the bootstrap")
	}
	rie := buildRIE(t)
	bootstrap := buildBootstrap(t)
	if data, err := os.ReadFile(bootstrap); err == nil {
		if z, err := deploy.LambdaZip(data); err == nil {
			t.Logf("bootstrap %d bytes, zipped %d bytes (host GOARCH, not stripped: make lambda builds the smaller arm64 one)", len(data), len(z))
		}
	}

	ctx := context.Background()
	sb, err := sandbox.New(ctx, awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "windows"})
	if err != nil {
		t.Fatal(err)
	}
	_, event, err := sb.BackupEvent(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	req, err := deploy.Transform(event)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iam.Enable(sb.Sim, deploy.Template(), map[string]string{"BuilderRoleArns": "arn:aws:iam::123456789012:role/amiswap-builder"}); err != nil {
		t.Fatal(err)
	}
	env := func(function string) []string {
		return []string{
			"AMISWAP_FUNCTION=" + function, "AMISWAP_LOG_LEVEL=debug", "AMISWAP_LOCK_TABLE=" + sb.Config.LockTable, "AMISWAP_TOPIC_ARN=" + sb.Config.TopicArn,
			"AWS_REGION=" + sb.Sim.Region(), "AWS_ENDPOINT_URL=" + sb.URL,
			"AWS_ACCESS_KEY_ID=" + iam.KeyFor(function), "AWS_SECRET_ACCESS_KEY=emulated", "AWS_SESSION_TOKEN=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		}
	}
	payload := func(op string, st workflow.State) []byte {
		b, err := json.Marshal(workflow.Payload{Op: op, State: st, Context: workflow.Context{
			ExecutionID: "arn:aws:states:us-east-1:123456789012:execution:amiswap:rie-test", EnteredTime: sb.Sim.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	names := catchNames(t)

	// Resolve under its own role: the first invocation is the cold start.
	resolve := startFunction(t, rie, bootstrap, env("Resolve"))
	start := time.Now()
	body := resolve.invoke(t, payload("resolve", workflow.State{Request: req}))
	firstCall := time.Since(start)
	var target amiswap.Target
	if err := json.Unmarshal(body, &target); err != nil || target.Group != "web" || target.Skip || target.Source.ImageID == "" {
		t.Fatalf("resolve answered %s (%v)", body, err)
	}
	// A malformed payload and another function's op fail with
	// InvalidInputError, a name the definition catches.
	for name, p := range map[string][]byte{
		"malformed payload": []byte(`{"op": "resolve", "state": "not an object"}`),
		"another's op":      payload("lock", workflow.State{Request: req, Target: &target}),
	} {
		body = resolve.invoke(t, p)
		var fe struct{ ErrorType, ErrorMessage string }
		if err := json.Unmarshal(body, &fe); err != nil || fe.ErrorType != "InvalidInputError" || !names[fe.ErrorType] {
			t.Errorf("%s: answer %s, want errorType InvalidInputError (a name the definition matches)", name, body)
		}
	}

	// Lock: a success with a different function, then the typed error of
	// a held lock.
	lock := startFunction(t, rie, bootstrap, env("Lock"))
	body = lock.invoke(t, payload("lock", workflow.State{Request: req, Target: &target}))
	var lr workflow.LockResult
	if err := json.Unmarshal(body, &lr); err != nil || lr.Table != sb.Config.LockTable || lr.Key == "" {
		t.Fatalf("lock answered %s (%v)", body, err)
	}
	other := payload("lock", workflow.State{Request: req, Target: &target})
	other = bytes.Replace(other, []byte("rie-test"), []byte("rie-other"), 1)
	body = lock.invoke(t, other)
	var fe struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(body, &fe); err != nil || fe.ErrorType != "LockHeldError" || !names[fe.ErrorType] {
		t.Errorf("second lock: answer %s, want errorType LockHeldError", body)
	}

	// A function started without AMISWAP_FUNCTION fails its init.
	broken := startFunction(t, rie, bootstrap, []string{"AWS_REGION=us-east-1"})
	body = broken.invoke(t, []byte(`{}`))
	if json.Valid(body) && len(body) > 0 && !bytes.Contains(body, []byte("rror")) {
		t.Errorf("function without AMISWAP_FUNCTION answered %s", body)
	}
	if !strings.Contains(broken.log(), "AMISWAP_FUNCTION is not set") {
		t.Errorf("init failure not logged clearly:\n%s", broken.log())
	}

	// JSON logs with the execution id and group.
	sawJSON := false
	sc := bufio.NewScanner(strings.NewReader(resolve.log()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["execution"] != nil && line["function"] == "Resolve" {
			sawJSON = true
		}
	}
	if !sawJSON {
		t.Errorf("no JSON log line with the execution id:\n%s", resolve.log())
	}

	if m := initDuration.FindStringSubmatch(resolve.log()); m != nil {
		ms, _ := strconv.ParseFloat(m[1], 64)
		t.Logf("cold start under the emulator: init %.1f ms (process start to the first /next); first invocation round trip %s", ms, firstCall.Round(time.Millisecond))
	} else {
		t.Logf("first invocation round trip %s (the emulator reported no Init Duration)", firstCall.Round(time.Millisecond))
	}
}

// TestRIEIsCachedByVersion: a cached emulator of rieVersion in the user's
// cache directory is used as is; nothing is built (with no go on the PATH,
// a build attempt would skip the subtest, which fails this test).
func TestRIEIsCachedByVersion(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux and the BSDs
	t.Setenv("HOME", cache)           // on macOS: $HOME/Library/Caches
	bin, err := rieCachePath(rieVersion)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bin, cache) || !strings.Contains(bin, filepath.Join("amiswap", "aws-lambda-rie", rieVersion)) {
		t.Fatalf("cache path %s is not under the user cache %s keyed by version %s", bin, cache, rieVersion)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "")
	var got string
	ok := t.Run("cached", func(t *testing.T) { got = buildRIE(t) })
	if !ok || got != bin {
		t.Errorf("buildRIE returned %q (subtest passed: %v), want the cached %s without a build", got, ok, bin)
	}
	if other, _ := rieCachePath("v0.0.0-other"); other == bin {
		t.Errorf("the cache is not keyed by version: %s", other)
	}
}
