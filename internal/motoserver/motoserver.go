// Package motoserver runs moto_server, the Python mock of AWS, on a free
// loopback port for tests that compare amiswap's simulator and handlers
// with an independent implementation of the AWS APIs.
package motoserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ErrNotFound is returned by Start when moto_server is not on the PATH.
var ErrNotFound = errors.New("moto_server not on PATH")

// ErrShort is why tests that need moto_server skip under go test -short.
var ErrShort = errors.New("moto_server tests are slow: skipped under -short")

// startTimeout bounds how long Start waits for moto_server to answer.
const startTimeout = 60 * time.Second

// Server is a running moto_server.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the process's exit status, once done is closed
}

// Start starts moto_server on a free port of 127.0.0.1 and returns once it
// answers HTTP requests. Its output goes to stderr when the environment
// sets MOTO_SERVER_LOG=1, and is discarded otherwise.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotFound
	}
	var last error
	// The port is found free and then handed to moto_server; another
	// process can take it in between, so try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(ctx, bin)
		if err == nil || errors.Is(err, ErrNotFound) {
			return s, err
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func start(ctx context.Context, bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if os.Getenv("MOTO_SERVER_LOG") == "1" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// freePort returns a TCP port that is free on 127.0.0.1 right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls moto's own API until it answers, the process exits or
// the start timeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			var exit *exec.ExitError
			if errors.As(s.err, &exit) && exit.ExitCode() == 127 {
				// A shim (pyenv, asdf) that finds no moto_server for the
				// active interpreter: as good as absent.
				return ErrNotFound
			}
			return fmt.Errorf("moto_server exited before answering: %v", s.err)
		case <-ctx.Done():
			return fmt.Errorf("moto_server did not answer at %s: %w", s.URL, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the server and waits for it to exit.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	kill(s.cmd)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// Reset forgets every resource of every service and region (moto's
// POST /moto-api/reset).
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Config returns an SDK configuration for the server: the region given,
// static test credentials (moto's default account 123456789012) and no
// retries, with nothing read from the environment.
func (s *Server) Config(region string) aws.Config {
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDMOTO", "secret", ""),
		BaseEndpoint:     aws.String(s.URL),
		RetryMaxAttempts: 1,
		HTTPClient:       &http.Client{Timeout: 30 * time.Second, Transport: copiedBodyTransport{&http.Transport{}}},
	}
}

// Shared is one moto_server per test binary, started by the first test
// that asks for it. Call Close from TestMain after m.Run.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Get returns the shared server, starting it on first use. It skips the
// test with the reason "moto_server not on PATH" when it is absent, and
// under go test -short (a second AWS implementation is a slow process to
// start and drive); it fails the test when the server cannot start.
func (sh *Shared) Get(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip(ErrShort.Error())
	}
	sh.once.Do(func() { sh.srv, sh.err = Start(context.Background()) })
	if errors.Is(sh.err, ErrNotFound) {
		tb.Skip(ErrNotFound.Error())
	}
	if sh.err != nil {
		tb.Fatal(sh.err)
	}
	return sh.srv
}

// Close stops the shared server if it was started.
func (sh *Shared) Close() {
	if sh.srv != nil {
		sh.srv.Close()
	}
}

// copiedBodyTransport sends a copy of each request body. smithy-go closes
// the request body as soon as the response headers arrive; when the server
// answers before the transport has finished with the body, the transport
// closes the connection under the response ("use of closed network
// connection"). With a copy, the SDK's close cannot reach the transport.
type copiedBodyTransport struct{ rt http.RoundTripper }

func (c copiedBodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.rt.RoundTrip(r)
	}
	data, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return c.rt.RoundTrip(r)
}
