// Command amiswap-lambda is the AWS Lambda entry point of amiswap: the
// "bootstrap" executable of the provided.al2023 runtime. One binary serves
// every function of the deployment; the environment variable
// AMISWAP_FUNCTION (set per function by the CloudFormation template) names
// which family of ops this instance serves (see workflow.Functions).
//
// Build it with scripts/build-lambda.sh (or `make lambda`):
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc \
//	    -trimpath -ldflags "-s -w -buildid=" -o bootstrap ./cmd/amiswap-lambda
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

func main() {
	logger := newLogger(os.Stderr, os.Getenv("AMISWAP_LOG_LEVEL"))
	h, err := setup(context.Background(), os.Getenv("AMISWAP_FUNCTION"), logger)
	if err != nil {
		// Exiting before the first invocation makes Lambda report
		// Runtime.ExitError; the message is in the function's log.
		logger.Error("amiswap-lambda init failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

// handler is the Lambda handler: a raw JSON payload in, a raw JSON result
// out. Errors are the typed errors of package amiswap, so that
// aws-lambda-go reports their type name as errorType, the name the
// definition's Retry and Catch match on.
type handler func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// setup checks the function name, reads the configuration from the
// environment (workflow.ConfigFromEnv) and the AWS configuration, and
// returns the handler serving that function's ops.
func setup(ctx context.Context, function string, logger *slog.Logger) (handler, error) {
	if err := checkFunction(function); err != nil {
		return nil, err
	}
	conf, err := workflow.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if function == workflow.JanitorFunction {
		// The janitor's rule delivers the whole EventBridge event.
		j := workflow.NewJanitor(workflow.NewClients(awsCfg), conf, sfn.NewFromConfig(awsCfg), logger.With("function", function))
		return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			res, err := j.Handle(ctx, payload)
			if err != nil {
				return nil, amiswap.Typed(err)
			}
			return json.Marshal(res)
		}, nil
	}
	reg := workflow.New(workflow.NewClients(awsCfg), conf, logger.With("function", function))
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		return reg.Invoke(ctx, function, payload)
	}, nil
}

// checkFunction refuses an empty or unknown AMISWAP_FUNCTION.
func checkFunction(function string) error {
	if function == "" {
		return fmt.Errorf("AMISWAP_FUNCTION is not set: want one of %s", functionNames())
	}
	if function == workflow.JanitorFunction {
		return nil
	}
	for _, f := range workflow.Functions {
		if f.Name == function {
			return nil
		}
	}
	return fmt.Errorf("AMISWAP_FUNCTION=%q is not a function of the workflow: want one of %s", function, functionNames())
}

func functionNames() string {
	names := make([]string, len(workflow.Functions))
	for i, f := range workflow.Functions {
		names[i] = f.Name
	}
	return strings.Join(append(names, workflow.JanitorFunction), ", ")
}

// newLogger returns the JSON logger of the function (CloudWatch Logs
// indexes JSON fields). level is debug, info (default), warn or error.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil || level == "" {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
