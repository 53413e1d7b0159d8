package deploy

// This file is the IAM policy the identity that runs `amiswap deploy`
// needs (`amiswap template --deployer-policy`): what deploy calls itself
// (S3 for the artifacts, CloudFormation for the change set, Step Functions
// for the running-executions check of --delete) and what CloudFormation
// calls with the deployer's credentials to create, update and delete each
// resource type of the template. Each resource type's actions are those of
// its resource handlers (the "handlers" permissions of the CloudFormation
// resource type schemas, https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).

import (
	"encoding/json"
	"fmt"
	"sort"
)

// PolicyStatement is one statement of an IAM policy document.
type PolicyStatement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// PolicyDocument is an IAM policy document.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// DeployerScope names what the deployer policy is scoped to.
type DeployerScope struct {
	StackName string
	// ArtifactBucket is the bucket of --artifact-bucket; "" grants the
	// S3 actions on every bucket (the policy then says so in its Sid).
	ArtifactBucket string
	// Partition is aws (default), aws-cn or aws-us-gov.
	Partition string
}

// deployerTypes maps each resource type the template may hold to the Sids
// of the statements that let CloudFormation manage it; a template type
// missing here fails TestDeployerPolicyCoversTheTemplate.
var deployerTypes = map[string][]string{
	"AWS::IAM::Role":                   {"StackRoles", "PassStackRoles"},
	"AWS::Lambda::Function":            {"StackFunctions", "ReadArtifacts"},
	"AWS::Lambda::Permission":          {"StackFunctions"},
	"AWS::Logs::LogGroup":              {"StackLogGroups", "DescribeLogGroups"},
	"AWS::StepFunctions::StateMachine": {"StackStateMachines", "StateMachineLogDelivery", "PassStackRoles"},
	"AWS::Events::Rule":                {"StackRule", "PassStackRoles"},
	"AWS::SNS::Topic":                  {"StackTopic"},
	"AWS::SNS::Subscription":           {"StackTopic", "Subscriptions"},
	"AWS::SQS::Queue":                  {"StackQueue"},
	"AWS::SQS::QueuePolicy":            {"StackQueue"},
	"AWS::DynamoDB::Table":             {"StackTable"},
}

// DeployerPolicy returns the policy document for scope.
func DeployerPolicy(scope DeployerScope) (PolicyDocument, error) {
	if scope.StackName == "" {
		return PolicyDocument{}, fmt.Errorf("deployer policy: a stack name is required")
	}
	p := scope.Partition
	if p == "" {
		p = "aws"
	}
	prefix := NamePrefix(scope.StackName)
	arn := func(service, resource string) string { return fmt.Sprintf("arn:%s:%s:*:*:%s", p, service, resource) }
	bucket := scope.ArtifactBucket
	if bucket == "" {
		bucket = "*"
	}
	doc := PolicyDocument{Version: "2012-10-17", Statement: []PolicyStatement{
		{Sid: "StackChangeSets", Action: []string{
			"cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack",
			"cloudformation:DescribeChangeSet", "cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResources",
			"cloudformation:DescribeStacks", "cloudformation:ExecuteChangeSet", "cloudformation:ListChangeSets",
		}, Resource: []string{arn("cloudformation", "stack/"+scope.StackName+"/*")}},
		{Sid: "ArtifactBucket", Action: []string{"s3:CreateBucket", "s3:ListBucket", "s3:PutBucketPublicAccessBlock"},
			Resource: []string{fmt.Sprintf("arn:%s:s3:::%s", p, bucket)}},
		{Sid: "ReadArtifacts", Action: []string{"s3:GetObject", "s3:PutObject"},
			Resource: []string{fmt.Sprintf("arn:%s:s3:::%s/amiswap/*", p, bucket)}},
		// CloudFormation names the roles STACK-LogicalId-SUFFIX.
		{Sid: "StackRoles", Action: []string{
			"iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy",
			"iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole",
			"iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
		}, Resource: []string{fmt.Sprintf("arn:%s:iam::*:role/%s-*", p, scope.StackName)}},
		{Sid: "PassStackRoles", Action: []string{"iam:PassRole"},
			Resource:  []string{fmt.Sprintf("arn:%s:iam::*:role/%s-*", p, scope.StackName)},
			Condition: map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"events.amazonaws.com", "lambda.amazonaws.com", "states.amazonaws.com"}}}},
		{Sid: "StackFunctions", Action: []string{
			"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
			"lambda:GetFunctionConfiguration", "lambda:ListTags", "lambda:TagResource", "lambda:UntagResource",
			"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
			// The janitor rule's permission to invoke the janitor.
			"lambda:AddPermission", "lambda:GetPolicy", "lambda:RemovePermission",
		}, Resource: []string{arn("lambda", "function:"+prefix+"-*")}},
		{Sid: "StackLogGroups", Action: []string{
			"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:ListTagsForResource",
			"logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource",
		}, Resource: []string{arn("logs", "log-group:/aws/lambda/"+prefix+"-*"), arn("logs", "log-group:/aws/vendedlogs/states/"+prefix+"*")}},
		{Sid: "DescribeLogGroups", Action: []string{"logs:DescribeLogGroups"}, Resource: []string{"*"}},
		// A state machine's logging goes through log deliveries, which
		// IAM cannot scope ("Logging using CloudWatch Logs", AWS Step
		// Functions Developer Guide).
		{Sid: "StateMachineLogDelivery", Action: []string{
			"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeResourcePolicies", "logs:GetLogDelivery",
			"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
		}, Resource: []string{"*"}},
		{Sid: "StackStateMachines", Action: []string{
			"states:CreateStateMachine", "states:DeleteStateMachine", "states:DescribeStateMachine", "states:ListExecutions",
			"states:ListTagsForResource", "states:TagResource", "states:UntagResource", "states:UpdateStateMachine",
		}, Resource: []string{arn("states", "stateMachine:"+prefix), arn("states", "stateMachine:"+prefix+"-*")}},
		{Sid: "StackRule", Action: []string{
			"events:DeleteRule", "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule", "events:PutRule",
			"events:PutTargets", "events:RemoveTargets", "events:TagResource", "events:UntagResource",
		}, Resource: []string{arn("events", "rule/"+prefix+"-*")}},
		{Sid: "StackTopic", Action: []string{
			"sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
			"sns:ListTagsForResource", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:UntagResource",
		}, Resource: []string{arn("sns", prefix+"-*")}},
		// A subscription's own actions support no resource-level
		// permissions (Service Authorization Reference, Amazon SNS).
		{Sid: "Subscriptions", Action: []string{"sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"}, Resource: []string{"*"}},
		{Sid: "StackQueue", Action: []string{
			"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
			"sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue",
		}, Resource: []string{arn("sqs", prefix+"-*")}},
		{Sid: "StackTable", Action: []string{
			"dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable",
			"dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource", "dynamodb:TagResource", "dynamodb:UntagResource",
			"dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
		}, Resource: []string{arn("dynamodb", "table/"+prefix+"-*")}},
	}}
	for i := range doc.Statement {
		doc.Statement[i].Effect = "Allow"
		sort.Strings(doc.Statement[i].Action)
	}
	return doc, nil
}

// DeployerPolicyJSON is DeployerPolicy as indented JSON.
func DeployerPolicyJSON(scope DeployerScope) ([]byte, error) {
	doc, err := DeployerPolicy(scope)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("deployer policy: %w", err)
	}
	return append(out, '\n'), nil
}

// DeployerStatementsFor returns the Sids of the deployer policy's
// statements that let CloudFormation manage resources of type typ, or nil
// when the policy does not cover it.
func DeployerStatementsFor(typ string) []string { return deployerTypes[typ] }
