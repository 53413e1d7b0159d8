package awssim

// This file gives the conformance suite its moto_server: one per test
// binary, started by the first test that needs it and stopped in TestMain.

import (
	"context"
	"os"
	"testing"

	"github.com/amiswap/amiswap/internal/motoserver"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// moto is the test binary's moto_server, started on first use.
var moto motoserver.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	moto.Close()
	os.Exit(code)
}

// newMoto returns an SDK configuration for a freshly reset moto_server in
// region, or skips the test with "moto_server not on PATH".
func newMoto(t *testing.T, region string) aws.Config {
	t.Helper()
	srv := moto.Get(t)
	if err := srv.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv.Config(region)
}
