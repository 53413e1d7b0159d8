package workflow

import (
	"context"
	"errors"
	"net"

	"github.com/amiswap/amiswap"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// classify turns an AWS SDK error into the typed error the definition
// understands: *amiswap.ThrottledError for throttling,
// *amiswap.TransientError for what else is worth retrying (server errors,
// resources not yet visible, network trouble), *amiswap.AWSError for the
// rest. op names the call ("ec2:RunInstances").
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if throttled(err) {
		return &amiswap.ThrottledError{Op: op, Err: err}
	}
	if transient(err) {
		return &amiswap.TransientError{Op: op, Err: err}
	}
	return &amiswap.AWSError{Op: op, Err: err}
}

// throttleCodes are the error codes of throttling: the caller sent too
// many requests. EC2 answers RequestLimitExceeded ("Request throttling for
// the Amazon EC2 API",
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html),
// Query services Throttling, JSON services ThrottlingException, DynamoDB
// also ProvisionedThroughputExceededException and RequestLimitExceeded.
var throttleCodes = map[string]bool{
	"RequestLimitExceeded": true, "Throttling": true, "ThrottlingException": true,
	"ThrottledException": true, "TooManyRequestsException": true, "RequestThrottled": true,
	"ProvisionedThroughputExceededException": true, "SlowDown": true,
}

// throttled reports whether err is a throttling error (throttleCodes).
func throttled(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// transientCodes are error codes that say "try again later".
var transientCodes = map[string]bool{
	"InternalError": true, "InternalFailure": true,
	"ServiceUnavailable": true, "Unavailable": true, "InternalServerError": true,
	"ResourceContention": true, "ScalingActivityInProgress": true,
	"InvocationDoesNotExist": true,
}

// transient reports whether err is worth retrying: a code of
// transientCodes, a server error or a network error. An id that is not
// found yet (eventual consistency right after a create) is not: the
// callers that expect it handle the code themselves.
func transient(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && transientCodes[ae.ErrorCode()] {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// retryable reports whether a classified error is one the definition
// retries: a *amiswap.TransientError or a *amiswap.ThrottledError.
func retryable(err error) bool {
	var te *amiswap.TransientError
	var th *amiswap.ThrottledError
	return errors.As(err, &te) || errors.As(err, &th)
}

// apiCode returns the AWS error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
