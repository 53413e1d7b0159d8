package motoserver

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestStartAnswersAndClose(t *testing.T) {
	var sh Shared
	s := sh.Get(t)
	out, err := sts.NewFromConfig(s.Config("us-east-1")).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "123456789012" {
		t.Errorf("account = %s", aws.ToString(out.Account))
	}
	if err := s.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	sh.Close()
	if _, err := http.Get(s.URL + "/moto-api/"); err == nil {
		t.Error("moto_server still answers after Close")
	}
}

func TestStartWithoutMotoOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background())
	if err != ErrNotFound {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestStartWithAShimThatFindsNoMoto(t *testing.T) {
	dir := t.TempDir()
	shim := "#!/bin/sh\necho 'pyenv: moto_server: command not found' >&2\nexit 127\n"
	if err := os.WriteFile(filepath.Join(dir, "moto_server"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if _, err := Start(context.Background()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestStartWithABrokenMoto(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "moto_server"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	_, err := Start(context.Background())
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "exited before answering") {
		t.Fatalf("err = %v, want an exit before answering", err)
	}
}
