# Small conveniences; the Go tool does the rest.
.PHONY: lambda

# lambda builds dist/amiswap-lambda.zip (the bootstrap for provided.al2023, arm64).
lambda:
	scripts/build-lambda.sh
