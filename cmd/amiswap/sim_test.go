package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveSim runs `amiswap sim args...` until the test ends and returns its
// endpoint; its stderr goes to stderr.
func serveSim(t *testing.T, stderr io.Writer, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append([]string{"sim", "--addr", "127.0.0.1:0", "--speed", "0"}, args...), &Env{Stdout: pw, Stderr: stderr, Getenv: os.Getenv})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	return strings.TrimSpace(strings.TrimPrefix(line, "endpoint: "))
}

// TestSimVerboseLogsEveryCall: `amiswap sim -v` logs each API call on
// stderr with its service, action, access key, status, error code and
// duration; without -v it logs none.
func TestSimVerboseLogsEveryCall(t *testing.T) {
	for _, verbose := range []bool{true, false} {
		var stderr syncBuffer
		args := []string{}
		if verbose {
			args = append(args, "-v")
		}
		endpoint := serveSim(t, &stderr, args...)
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIAVERBOSE", "secret", "")),
			config.WithBaseEndpoint(endpoint), config.WithRetryMaxAttempts(1))
		if err != nil {
			t.Fatal(err)
		}
		client := ec2.NewFromConfig(cfg)
		if _, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}, DryRun: aws.Bool(false)}); err == nil {
			t.Fatal("StopInstances of an unknown instance succeeded")
		}
		logged := stderr.String()
		wantOK := "msg=call service=ec2 action=DescribeImages accessKey=AKIAVERBOSE status=200 errorCode=\"\" duration="
		wantErr := "msg=call service=ec2 action=StopInstances accessKey=AKIAVERBOSE status=400 errorCode=InvalidInstanceID.NotFound duration="
		if got := strings.Contains(logged, wantOK) && strings.Contains(logged, wantErr); got != verbose {
			t.Errorf("-v %v: stderr has the call lines: %v, want %v\n%s", verbose, got, verbose, logged)
		}
	}
}
