package deploy

// This file derives the physical names of the stack's resources from the
// stack name so that they fit AWS's name limits whatever the stack name
// (CloudFormation allows 128 characters: "CreateStack",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
// CloudFormation has no intrinsic function that cuts or hashes a string,
// so the prefix is computed here, by amiswap deploy, and passed as the
// NamePrefix parameter; a template deployed by hand without it leaves the
// names to CloudFormation, which generates ones within the limits.

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/amiswap/amiswap/workflow"
)

// NameLimits are AWS's maximum name lengths of the resources the stack
// names, each from its API reference:
//   - Lambda CreateFunction FunctionName: 64 characters for a name
//     (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html)
//   - EventBridge PutRule Name: 1–64
//     (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html)
//   - Step Functions CreateStateMachine name: 1–80
//     (https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html)
//   - CloudWatch Logs CreateLogGroup logGroupName: 1–512
//     (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html)
//   - SNS CreateTopic Name: up to 256
//     (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html)
//   - DynamoDB CreateTable TableName: 3–255
//     (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html)
//   - SQS CreateQueue QueueName: up to 80
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html)
//   - IAM CreateRole RoleName: 1–64
//     (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html);
//     the stack's roles are unnamed, so CloudFormation names them within it.
var NameLimits = map[string]int{
	"AWS::Lambda::Function":            64,
	"AWS::Events::Rule":                64,
	"AWS::StepFunctions::StateMachine": 80,
	"AWS::Logs::LogGroup":              512,
	"AWS::SNS::Topic":                  256,
	"AWS::DynamoDB::Table":             255,
	"AWS::SQS::Queue":                  80,
	"AWS::IAM::Role":                   64,
}

// MaxNamePrefix is the longest name prefix: with the longest suffix the
// stack appends ("-backup-completed", 17 characters) a name stays within
// the 64 characters of a Lambda function or an EventBridge rule.
const MaxNamePrefix = 40

// NamePrefix returns the prefix of the stack's resource names: the stack
// name itself when it is at most MaxNamePrefix characters long, otherwise
// its first characters, a hyphen and 8 hex digits of its SHA-256, so that
// two long stack names that share their beginning still get different
// names. It is deterministic: the same stack gets the same names on every
// deployment.
func NamePrefix(stack string) string {
	if len(stack) <= MaxNamePrefix {
		return stack
	}
	sum := sha256.Sum256([]byte(stack))
	return strings.TrimRight(stack[:MaxNamePrefix-9], "-") + "-" + hex.EncodeToString(sum[:4])
}

// FunctionName returns the physical name of a function whose stack has
// the name prefix prefix: "PREFIX-update-asg".
func FunctionName(prefix, function string) string {
	return prefix + "-" + strings.TrimPrefix(workflow.LocalFunctionName(function), "amiswap-")
}
