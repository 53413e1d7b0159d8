package motoserver

import (
	"context"
	"net/http"
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
