package awssim

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// testSim is a simulator served over HTTP on a loopback port, with an SDK
// configuration pointed at it: the way every behaviour test reaches it.
type testSim struct {
	*Sim
	URL string
	Cfg aws.Config
}

// newTestSim starts a simulator (manual clock, throttling off unless opts
// says otherwise) and stops it when the test ends.
func newTestSim(t testing.TB, opts Options) *testSim {
	t.Helper()
	if opts.Throttle == (Throttle{}) {
		opts.Throttle.Disabled = true
	}
	s, err := New(opts)
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
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(s.Region()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithBaseEndpoint(srv.URL),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	return &testSim{Sim: s, URL: srv.URL, Cfg: cfg}
}
