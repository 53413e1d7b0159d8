package workflow

// What the fakes of the unit tests share.

import "github.com/aws/smithy-go"

// apiErr is an AWS error with a code, as the SDK returns it.
func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"} }

// answer hands in to fn, or answers a zero output when fn is nil: the body
// of a faked SDK method.
func answer[I, O any](fn func(*I) (*O, error), in *I) (*O, error) {
	if fn == nil {
		return new(O), nil
	}
	return fn(in)
}
