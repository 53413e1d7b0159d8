package deploy

// This file builds the CloudFormation template from Go values: the
// functions of workflow.Functions, their policies (policies.go), the
// workflow definition and the EventBridge rule (rule.go). The result is
// checked in as template.json (go generate ./deploy) and embedded;
// TestTemplateUpToDate fails when the two differ.

//go:generate go run ./internal/gentemplate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/amiswap/amiswap/workflow"
)

//go:embed template.json
var templateJSON []byte

// Template returns the CloudFormation template (JSON).
func Template() []byte { return append([]byte(nil), templateJSON...) }

// FunctionSettings are a Lambda function's timeout (seconds) and memory (MB).
type FunctionSettings struct{ Timeout, Memory int }

// functionSettings are per function; the rest get defaultSettings. Cleanup
// and Compensate page through images and undo several things in one call.
var (
	defaultSettings  = FunctionSettings{Timeout: 60, Memory: 128}
	functionSettings = map[string]FunctionSettings{
		"Cleanup":    {Timeout: 300, Memory: 128},
		"Compensate": {Timeout: 300, Memory: 128},
	}
)

// LogicalID returns the template's logical id of a function's resource
// kind ("Function", "Role", "LogGroup").
func LogicalID(function, kind string) string { return function + kind }

type obj = map[string]any

// RoleArnPattern is an IAM role ARN in any partition.
const RoleArnPattern = `^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`

// named is a resource name "PREFIX-suffix" when the NamePrefix parameter
// is set; otherwise CloudFormation generates one (AWS::NoValue).
func named(suffix string) obj { return namedAs("${NamePrefix}-" + suffix) }

// namedAs is the name pattern (an Fn::Sub string over ${NamePrefix}) when
// the NamePrefix parameter is set, otherwise AWS::NoValue.
func namedAs(pattern string) obj { return ifCond("HasNamePrefix", sub(pattern), ref("AWS::NoValue")) }

// targetRetry is the rules' target retry policy: EventBridge's maxima, a
// day and 185 attempts, set explicitly ("Event retry policy and using
// dead-letter queues",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
var targetRetry = obj{"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}

// deadLetterSources are the rules whose undelivered events the dead-letter
// queue takes.
var deadLetterSources = []any{getAtt("BackupCompletedRule", "Arn"), getAtt("ExecutionEndedRule", "Arn")}

func ref(name string) obj           { return obj{"Ref": name} }
func getAtt(name, attr string) obj  { return obj{"Fn::GetAtt": []string{name, attr}} }
func ifCond(c string, a, b any) obj { return obj{"Fn::If": []any{c, a, b}} }
func join(sep string, list any) obj { return obj{"Fn::Join": []any{sep, list}} }
func policyDoc(statements any) obj  { return obj{"Version": "2012-10-17", "Statement": statements} }
func assumeRole(service string) obj {
	return policyDoc([]obj{{"Effect": "Allow", "Principal": obj{"Service": service}, "Action": "sts:AssumeRole"}})
}

// definitionForSub returns a workflow definition (the swap's or the
// rollback's) with each
// ${NameFunctionArn} placeholder written ${NameFunction.Arn}, for Fn::Sub
// in its one-string form: CloudFormation replaces each with the function's
// ARN. (DefinitionSubstitutions would do the same in AWS, but emulators
// such as moto ignore it, and Fn::Sub's variable-map form makes moto turn
// the definition's "$$." into "$."; the string form is exact in both.)
//
// The tasks' ${Partition} becomes ${AWS::Partition}: the Lambda
// integration's ARN names the stack's partition (aws, aws-cn, aws-us-gov).
func definitionForSub(definition []byte) string {
	def := strings.ReplaceAll(string(definition), workflow.PartitionPlaceholder, "${AWS::Partition}")
	for _, f := range workflow.Functions {
		def = strings.ReplaceAll(def, workflow.Placeholder(f.Name), "${"+LogicalID(f.Name, "Function")+".Arn}")
	}
	return def
}

// withKMS is a function's statements, followed by its KMSPolicies when
// the HasKmsKeys condition holds: Fn::If chooses between the two whole
// lists (an AWS::NoValue element inside the list would do in
// CloudFormation, but emulators such as moto leave a null there).
func withKMS(function string, statements []Statement) any {
	extra := KMSPolicies[function]
	if len(extra) == 0 {
		return statements
	}
	with := append(append([]Statement(nil), statements...), extra...)
	return ifCond(HasKmsKeys, with, statements)
}

// BuildTemplate returns the template as it must be checked in.
func BuildTemplate() ([]byte, error) {
	params := obj{
		"ArtifactBucket": obj{"Type": "String", "Description": "S3 bucket holding the Lambda package (amiswap deploy uploads it there).", "MinLength": 3},
		"ArtifactKey":    obj{"Type": "String", "Description": "S3 key of the Lambda package (dist/amiswap-lambda.zip).", "MinLength": 1},
		"BuilderSubnetId": obj{"Type": "String", "Default": "",
			"Description": "Subnet for builder instances; empty: the group's own subnet."},
		"BuilderSecurityGroupIds": obj{"Type": "CommaDelimitedList", "Default": "",
			"Description": "Security groups for builder instances; empty: the group's own."},
		"BuilderInstanceProfile": obj{"Type": "String", "Default": "",
			"Description": "Instance profile (name or ARN) for builder instances; empty: the group's own. It must let the SSM agent register."},
		// Required: no Default, and each element must be a role ARN ("When
		// applied to a parameter of type CommaDelimitedList, the pattern must
		// match each value in the list": "Parameters",
		// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
		"BuilderRoleArns": obj{"Type": "CommaDelimitedList", "AllowedPattern": RoleArnPattern,
			"ConstraintDescription": "one or more IAM role ARNs (arn:PARTITION:iam::ACCOUNT:role/NAME), comma-separated",
			"Description":           "Required. ARNs of the IAM roles inside the instance profiles that builders and groups launch with (the builder profile's, or the groups' own): the only roles amiswap may pass to EC2."},
		"NamePrefix": obj{"Type": "String", "Default": "", "MaxLength": MaxNamePrefix, "AllowedPattern": "^([A-Za-z][A-Za-z0-9-]*)?$",
			"Description": "Prefix of the resources' names (amiswap deploy passes the stack name, cut to 40 characters with a hash when longer); empty: CloudFormation names them."},
		"KmsKeyArns": obj{"Type": "CommaDelimitedList", "Default": "",
			"Description": "ARNs of the customer managed KMS keys that encrypt the EBS volumes of the instances amiswap swaps: the builder, the golden AMI and the early key check may use them through EC2. The AWS managed key aws/ebs needs nothing. Empty: none."},
		"NotificationEmail": obj{"Type": "String", "Default": "",
			"Description": "E-mail address subscribed to swap notifications; empty: no subscription."},
		"LogRetentionDays": obj{"Type": "Number", "Default": 30,
			"AllowedValues": []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653},
			"Description":   "Days to keep the functions' and the state machine's logs."},
		"LockTTL": obj{"Type": "String", "Default": workflow.DefaultLockTTL.String(), "AllowedPattern": "^[0-9]+(h|m|s|h[0-9]+m|h[0-9]+m[0-9]+s|m[0-9]+s)$",
			"Description": "How long a group lock outlives a crashed execution (a Go duration such as 8h)."},
	}
	conditions := obj{
		"HasEmail":      obj{"Fn::Not": []any{obj{"Fn::Equals": []any{ref("NotificationEmail"), ""}}}},
		"HasNamePrefix": obj{"Fn::Not": []any{obj{"Fn::Equals": []any{ref("NamePrefix"), ""}}}},
		HasKmsKeys:      obj{"Fn::Not": []any{obj{"Fn::Equals": []any{join("", ref("KmsKeyArns")), ""}}}},
	}
	res := obj{
		"Topic": obj{"Type": "AWS::SNS::Topic", "Properties": obj{
			"TopicName": named("notifications"), "DisplayName": "amiswap",
		}},
		"EmailSubscription": obj{"Type": "AWS::SNS::Subscription", "Condition": "HasEmail", "Properties": obj{
			"TopicArn": ref("Topic"), "Protocol": "email", "Endpoint": ref("NotificationEmail"),
		}},
		"LockTable": obj{"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": obj{
			"TableName":                        named("locks"),
			"BillingMode":                      "PAY_PER_REQUEST",
			"AttributeDefinitions":             []obj{{"AttributeName": "pk", "AttributeType": "S"}},
			"KeySchema":                        []obj{{"AttributeName": "pk", "KeyType": "HASH"}},
			"TimeToLiveSpecification":          obj{"AttributeName": "expiresAt", "Enabled": true},
			"SSESpecification":                 obj{"SSEEnabled": true},
			"PointInTimeRecoverySpecification": obj{"PointInTimeRecoveryEnabled": false},
		}},
	}
	var functionArns []any
	// The janitor is a function of the same binary too, with its own role,
	// but the state machine never invokes it: its rule does.
	deployed := append(slices.Clone(workflow.Functions), workflow.Function{Name: workflow.JanitorFunction})
	for _, f := range deployed {
		statements, ok := Policies[f.Name]
		if f.Name == workflow.JanitorFunction {
			statements, ok = JanitorPolicies(), true
		}
		if !ok {
			return nil, fmt.Errorf("deploy: no policy for function %s", f.Name)
		}
		description := fmt.Sprintf("amiswap %s: %s", f.Name, strings.Join(f.Ops, ", "))
		if f.Name == workflow.JanitorFunction {
			description = "amiswap Janitor: compensates swap executions that ended TIMED_OUT, ABORTED or FAILED outside their Catch"
		}
		set, ok := functionSettings[f.Name]
		if !ok {
			set = defaultSettings
		}
		fnID, roleID, logID := LogicalID(f.Name, "Function"), LogicalID(f.Name, "Role"), LogicalID(f.Name, "LogGroup")
		suffix := strings.TrimPrefix(FunctionName("", f.Name), "-")
		name := named(suffix)
		logs := Statement{Sid: "WriteOwnLogs", Effect: "Allow", Action: RuntimeActions, Resource: []any{getAtt(logID, "Arn")}}
		res[logID] = obj{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": obj{
			"LogGroupName":    namedAs("/aws/lambda/${NamePrefix}-" + suffix),
			"RetentionInDays": ref("LogRetentionDays"),
		}}
		res[roleID] = obj{"Type": "AWS::IAM::Role", "Properties": obj{
			"Description":              description,
			"AssumeRolePolicyDocument": assumeRole("lambda.amazonaws.com"),
			"Policies": []obj{{"PolicyName": "amiswap-" + workflow.LocalFunctionName(f.Name)[len("amiswap-"):],
				"PolicyDocument": policyDoc(withKMS(f.Name, append(append([]Statement(nil), statements...), logs)))}},
		}}
		res[fnID] = obj{"Type": "AWS::Lambda::Function", "Properties": obj{
			"FunctionName":  name,
			"Description":   description,
			"Runtime":       "provided.al2023",
			"Architectures": []string{"arm64"},
			"Handler":       "bootstrap",
			"Code":          obj{"S3Bucket": ref("ArtifactBucket"), "S3Key": ref("ArtifactKey")},
			"Role":          getAtt(roleID, "Arn"),
			"Timeout":       set.Timeout,
			"MemorySize":    set.Memory,
			"LoggingConfig": obj{"LogGroup": ref(logID), "LogFormat": "JSON"},
			"Environment": obj{"Variables": obj{
				"AMISWAP_FUNCTION":                   f.Name,
				"AMISWAP_LOCK_TABLE":                 ref("LockTable"),
				"AMISWAP_LOCK_TTL":                   ref("LockTTL"),
				"AMISWAP_TOPIC_ARN":                  ref("Topic"),
				"AMISWAP_BUILDER_SUBNET_ID":          ref("BuilderSubnetId"),
				"AMISWAP_BUILDER_SECURITY_GROUP_IDS": join(",", ref("BuilderSecurityGroupIds")),
				"AMISWAP_BUILDER_INSTANCE_PROFILE":   ref("BuilderInstanceProfile"),
			}},
		}}
		if f.Name != workflow.JanitorFunction {
			functionArns = append(functionArns, getAtt(fnID, "Arn"))
		}
	}
	res["StateMachineLogGroup"] = obj{"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": obj{
		"LogGroupName":    namedAs("/aws/vendedlogs/states/${NamePrefix}"),
		"RetentionInDays": ref("LogRetentionDays"),
	}}
	res["StateMachineRole"] = obj{"Type": "AWS::IAM::Role", "Properties": obj{
		"Description":              "amiswap state machine: invokes the amiswap functions and nothing else",
		"AssumeRolePolicyDocument": assumeRole("states.amazonaws.com"),
		"Policies": []obj{{"PolicyName": "amiswap-state-machine", "PolicyDocument": policyDoc([]Statement{
			{Sid: "InvokeAmiswapFunctions", Effect: "Allow", Action: []string{"lambda:InvokeFunction"}, Resource: functionArns},
			{Sid: "DeliverLogs", Effect: "Allow", Resource: anyResource,
				// Step Functions' log delivery cannot be scoped to a log group.
				Action: []string{"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
					"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"}},
		})}},
	}}
	res["StateMachine"] = obj{"Type": "AWS::StepFunctions::StateMachine", "Properties": obj{
		"StateMachineName": namedAs("${NamePrefix}"),
		"StateMachineType": "STANDARD",
		"DefinitionString": obj{"Fn::Sub": definitionForSub(workflow.Definition())},
		"RoleArn":          getAtt("StateMachineRole", "Arn"),
		"LoggingConfiguration": obj{"Level": "ERROR", "IncludeExecutionData": false,
			"Destinations": []obj{{"CloudWatchLogsLogGroup": obj{"LogGroupArn": getAtt("StateMachineLogGroup", "Arn")}}}},
		"TracingConfiguration": obj{"Enabled": false},
	}}
	// The rollback state machine runs on the same functions and role, so
	// that `amiswap rollback` has a twin that can be started from the
	// console: input {"group": NAME, "toImageId": AMI, "refreshInstances": bool}.
	res["RollbackStateMachine"] = obj{"Type": "AWS::StepFunctions::StateMachine", "Properties": obj{
		"StateMachineName": named("rollback"),
		"StateMachineType": "STANDARD",
		"DefinitionString": obj{"Fn::Sub": definitionForSub(workflow.RollbackDefinition())},
		"RoleArn":          getAtt("StateMachineRole", "Arn"),
		"LoggingConfiguration": obj{"Level": "ERROR", "IncludeExecutionData": false,
			"Destinations": []obj{{"CloudWatchLogsLogGroup": obj{"LogGroupArn": getAtt("StateMachineLogGroup", "Arn")}}}},
		"TracingConfiguration": obj{"Enabled": false},
	}}
	res["RuleRole"] = obj{"Type": "AWS::IAM::Role", "Properties": obj{
		"Description":              "amiswap EventBridge rule: starts executions of the amiswap state machine",
		"AssumeRolePolicyDocument": assumeRole("events.amazonaws.com"),
		"Policies": []obj{{"PolicyName": "amiswap-start-execution", "PolicyDocument": policyDoc([]Statement{
			{Sid: "StartSwap", Effect: "Allow", Action: []string{"states:StartExecution"}, Resource: []any{ref("StateMachine")}},
		})}},
	}}
	res["BackupCompletedRule"] = obj{"Type": "AWS::Events::Rule", "Properties": obj{
		"Name":         named("backup-completed"),
		"Description":  "amiswap: start a swap when an AWS Backup job of an EC2 instance completes",
		"State":        "ENABLED",
		"EventPattern": RulePattern(),
		"Targets": []obj{{
			"Id": "amiswap-state-machine", "Arn": ref("StateMachine"), "RoleArn": getAtt("RuleRole", "Arn"),
			"InputTransformer": obj{"InputPathsMap": InputPaths(), "InputTemplate": InputTemplate},
			"RetryPolicy":      targetRetry, "DeadLetterConfig": obj{"Arn": getAtt("EventsDeadLetterQueue", "Arn")},
		}},
	}}
	// Events a rule could not deliver (the state machine or the janitor
	// refused them, or the retries ran out) go to this queue rather than
	// being dropped ("Using dead-letter queues to process undelivered
	// events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):
	// EventBridge needs sqs:SendMessage on it, granted to the service for
	// this stack's rules only (aws:SourceArn).
	// The janitor's rule: executions of the swap state machine that ended
	// outside their Catch go to the janitor function (see
	// workflow.Janitor), with the same retries and dead-letter queue.
	res["ExecutionEndedRule"] = obj{"Type": "AWS::Events::Rule", "Properties": obj{
		"Name":         named("execution-ended"),
		"Description":  "amiswap: compensate swap executions that ended TIMED_OUT, ABORTED or FAILED",
		"State":        "ENABLED",
		"EventPattern": JanitorPattern(ref("StateMachine")),
		"Targets": []obj{{
			"Id": "amiswap-janitor", "Arn": getAtt(LogicalID(workflow.JanitorFunction, "Function"), "Arn"),
			"RetryPolicy": targetRetry, "DeadLetterConfig": obj{"Arn": getAtt("EventsDeadLetterQueue", "Arn")},
		}},
	}}
	res["JanitorInvokePermission"] = obj{"Type": "AWS::Lambda::Permission", "Properties": obj{
		"Action": "lambda:InvokeFunction", "FunctionName": ref(LogicalID(workflow.JanitorFunction, "Function")),
		"Principal": "events.amazonaws.com", "SourceArn": getAtt("ExecutionEndedRule", "Arn"),
	}}
	res["EventsDeadLetterQueue"] = obj{"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete", "Properties": obj{
		"QueueName":              named("events-dlq"),
		"MessageRetentionPeriod": 1209600, // 14 days, SQS's maximum
		"SqsManagedSseEnabled":   true,
	}}
	res["EventsDeadLetterQueuePolicy"] = obj{"Type": "AWS::SQS::QueuePolicy", "Properties": obj{
		"Queues": []any{ref("EventsDeadLetterQueue")},
		"PolicyDocument": policyDoc([]obj{{
			"Sid": "UndeliveredAmiswapEvents", "Effect": "Allow", "Principal": obj{"Service": "events.amazonaws.com"},
			"Action": "sqs:SendMessage", "Resource": getAtt("EventsDeadLetterQueue", "Arn"),
			"Condition": obj{"ArnEquals": obj{"aws:SourceArn": deadLetterSources}},
		}}),
	}}
	tmpl := obj{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "amiswap: keep EC2 Auto Scaling groups on a fresh golden AMI built from their AWS Backup recovery points (generated by go generate ./deploy; do not edit)",
		"Parameters":               params,
		"Conditions":               conditions,
		"Resources":                res,
		"Outputs": obj{
			"StateMachineArn":         obj{"Description": "The swap workflow", "Value": ref("StateMachine")},
			"RollbackStateMachineArn": obj{"Description": "The rollback workflow (input: {\"group\": NAME, \"toImageId\": AMI, \"refreshInstances\": true})", "Value": ref("RollbackStateMachine")},
			"TopicArn":                obj{"Description": "Swap notifications", "Value": ref("Topic")},
			"LockTableName":           obj{"Description": "Group locks", "Value": ref("LockTable")},
			"RuleName":                obj{"Description": "The EventBridge rule that starts swaps", "Value": ref("BackupCompletedRule")},
			"JanitorRuleName":         obj{"Description": "The EventBridge rule that sends stopped executions to the janitor", "Value": ref("ExecutionEndedRule")},
			"DeadLetterQueueUrl":      obj{"Description": "Events the rules could not deliver", "Value": ref("EventsDeadLetterQueue")},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tmpl); err != nil {
		return nil, fmt.Errorf("deploy: encode template: %w", err)
	}
	return buf.Bytes(), nil
}
