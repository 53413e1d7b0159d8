#!/bin/sh
# build-lambda.sh builds the amiswap Lambda package reproducibly:
# dist/bootstrap (linux/arm64 by default, for provided.al2023) and
# dist/amiswap-lambda.zip (fixed mtimes and modes, see deploy.LambdaZip).
# LAMBDA_ARCH=amd64 scripts/build-lambda.sh builds for x86_64 functions.
set -eu
cd "$(dirname "$0")/.."
mkdir -p dist
GOOS=linux GOARCH="${LAMBDA_ARCH:-arm64}" CGO_ENABLED=0 \
	go build -tags lambda.norpc -trimpath -ldflags "-s -w -buildid=" \
	-o dist/bootstrap ./cmd/amiswap-lambda
go run ./deploy/internal/zipit -o dist/amiswap-lambda.zip dist/bootstrap
