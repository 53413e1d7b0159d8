package workflow

// What the behaviour tests against the AWS simulator share: a simulator
// served on a loopback port and SDK clients for it.

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/amiswap/amiswap/awssim"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// serveSim serves a simulator made with opts on 127.0.0.1 until the test
// ends, and returns it with clients that talk to it.
func serveSim(t *testing.T, opts awssim.Options) (*awssim.Sim, Clients) {
	t.Helper()
	s, err := awssim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: s}}
	srv.Start()
	t.Cleanup(srv.Close)
	// A literal configuration: nothing from the environment (profiles, CA
	// bundles, endpoints) leaks into the test.
	cfg := aws.Config{
		Region:           s.Region(),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Transport: copiedBodyTransport{&http.Transport{}}},
	}
	return s, NewClients(cfg)
}

// copiedBodyTransport sends a copy of each request body, so that the SDK
// closing the body early cannot break the loopback connection (see
// awssim/simtest_test.go).
type copiedBodyTransport struct{ rt http.RoundTripper }

// RoundTrip sends r with a copied body.
func (b copiedBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return b.rt.RoundTrip(r)
	}
	data, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return b.rt.RoundTrip(r)
}

// TestClientsLeaveThrottlingToTheDefinition: the handlers' clients send a
// throttled call once (the definition's ThrottledError retrier waits for
// it) but still retry a server error.
func TestClientsLeaveThrottlingToTheDefinition(t *testing.T) {
	s, err := awssim.New(awssim.Options{Throttle: awssim.Throttle{ReadBurst: 1, ReadRate: 0.001}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := NewClients(aws.Config{
		Region:           s.Region(),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 3,
		HTTPClient:       &http.Client{Transport: copiedBodyTransport{&http.Transport{}}},
	})
	ctx := context.Background()
	calls := 0
	s.OnCall(func(awssim.Call) { calls++ })
	if _, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if cerr := classify("ec2:DescribeImages", err); errType(cerr) != "ThrottledError" || calls != 2 {
		t.Errorf("throttled call: %v after %d calls, want a ThrottledError after 2 (no SDK retry)", cerr, calls)
	}
	s.AddFault(awssim.Fault{Service: "ec2", Action: "DescribeInstances", Code: "InternalError"})
	calls = 0
	if _, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil || calls != 2 {
		t.Errorf("after a 500: %v in %d calls, want success on the SDK's retry", err, calls)
	}
}
