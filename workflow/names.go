package workflow

// This file holds what amiswap derives from an execution and writes on AWS
// resources: the execution's name, idempotency tokens, tag values and the
// filters that find tagged resources again.

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// executionName is the last part of an execution ARN (the name), or the
// whole id when it is not an ARN.
func executionName(executionID string) string {
	if i := strings.LastIndexByte(executionID, ':'); i >= 0 && i < len(executionID)-1 {
		return executionID[i+1:]
	}
	return executionID
}

// shortHash is a stable 16-hex-digit digest of s.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// clientToken is the idempotency token of op's create call in an
// execution: a retried or resumed task gets what the first try created
// instead of a second one. It is 56 ASCII characters, within the 64 that
// RunInstances and the 128 that CreateLaunchTemplateVersion allow.
func clientToken(op, executionID string) string {
	sum := sha256.Sum256([]byte("amiswap/" + op + "/" + executionID))
	return "amiswap-" + hex.EncodeToString(sum[:24])
}

// limitTagValue cuts a tag value to the 256 characters EC2 allows.
func limitTagValue(v string) string {
	r := []rune(v)
	if len(r) > 256 {
		return string(r[:256])
	}
	return v
}

// ec2Tags are the EC2 tags of m, values cut by limitTagValue, sorted by key
// so that requests are reproducible.
func ec2Tags(m map[string]string) []ec2types.Tag {
	tags := make([]ec2types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(limitTagValue(m[k]))})
	}
	return tags
}

// tagFilter is the EC2 Describe filter on a tag amiswap wrote (its value
// cut as limitTagValue cut it).
func tagFilter(key, value string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String("tag:" + key), Values: []string{limitTagValue(value)}}
}
