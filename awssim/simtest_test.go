package awssim

import (
	"bytes"
	"context"
	"io"
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
	cfg.HTTPClient = &http.Client{Transport: bufferedBodyTransport{&http.Transport{}}}
	return &testSim{Sim: s, URL: srv.URL, Cfg: cfg}
}

// bufferedBodyTransport sends a copy of each request body. smithy-go closes
// the request body as soon as the response headers arrive; on loopback the
// server often answers before the transport's writer has made its final
// read of the body, the read fails, and the transport closes the connection
// under the response ("use of closed network connection", about 1 call in
// 60). With a copy, the SDK's close cannot reach the transport's reader.
type bufferedBodyTransport struct{ rt http.RoundTripper }

func (b bufferedBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
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
