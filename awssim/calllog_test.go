package awssim

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestVerboseLogsEveryCall: with a debug-level logger (amiswap sim -v),
// each API call is logged once with its service, action, access key,
// status, error code and duration; at the default level nothing is.
func TestVerboseLogsEveryCall(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	ts := newTestSim(t, Options{Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logged}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	client := ec2.NewFromConfig(ts.Cfg)
	ctx := context.Background()
	if _, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
		t.Fatal(err)
	}
	_, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if err == nil {
		t.Fatal("DescribeInstances of an unknown id succeeded")
	}

	mu.Lock()
	lines := bytes.Split(bytes.TrimSpace(logged.Bytes()), []byte("\n"))
	mu.Unlock()
	type entry struct {
		Level, Msg, Service, Action, AccessKey, ErrorCode string
		Status                                            int
		Duration                                          *time.Duration
	}
	var calls []entry
	for _, l := range lines {
		var e entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if e.Msg == "call" {
			calls = append(calls, e)
		}
	}
	if len(calls) != 2 {
		t.Fatalf("logged %d calls, want 2:\n%s", len(calls), logged.String())
	}
	ok, failed := calls[0], calls[1]
	if ok.Service != "ec2" || ok.Action != "DescribeImages" || ok.AccessKey != "AKIDTEST" || ok.Status != 200 || ok.ErrorCode != "" || ok.Duration == nil || *ok.Duration < 0 {
		t.Errorf("successful call logged as %+v", ok)
	}
	if failed.Action != "DescribeInstances" || failed.Status != 400 || failed.ErrorCode != "InvalidInstanceID.NotFound" || failed.Duration == nil {
		t.Errorf("failed call logged as %+v", failed)
	}
	if n := len(ts.Calls()); n != 2 {
		t.Errorf("call log holds %d calls, want 2", n)
	}

	// At the default level (no -v), no call is logged.
	logged.Reset()
	quiet := newTestSim(t, Options{Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logged}, nil))})
	if _, err := ec2.NewFromConfig(quiet.Cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if logged.Len() != 0 {
		t.Errorf("logged at the info level:\n%s", logged.String())
	}
}
