package deploy

// This file lists, per Lambda function of workflow.Functions, the IAM
// statements of its role: exactly the actions its ops call (read from the
// handlers in package workflow), scoped to amiswap's resources by tags
// where IAM supports it. The template is generated from these values
// (see template.go), and the simulator's IAM emulation evaluates the
// generated template, so what is tested is what is deployed.

// Statement is one IAM policy statement. Resource and condition values
// may hold CloudFormation intrinsic functions (Fn::Sub, Ref, Fn::If).
type Statement struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Action    []string                  `json:"Action"`
	Resource  any                       `json:"Resource"` // a list, or an intrinsic giving one
	Condition map[string]map[string]any `json:"Condition,omitempty"`

	// Implied says that AWS checks the actions on behalf of another call
	// of the function (ec2:CreateTags for RunInstances' tag
	// specifications, ec2:RunInstances and iam:PassRole when Auto Scaling
	// validates the launch template of an UpdateAutoScalingGroup) rather
	// than the handler calling them itself.
	Implied string `json:"-"`
}

// RuntimeActions are what every function's role allows on its own log
// group besides Policies: the Lambda service writes the function's logs
// with them, not the handlers (so the simulator never sees them).
var RuntimeActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

func sub(s string) any { return map[string]any{"Fn::Sub": s} }

// arn returns an ARN pattern of this stack's partition, region and account.
func arn(service, resource string) any {
	return sub("arn:${AWS::Partition}:" + service + ":${AWS::Region}:${AWS::AccountId}:" + resource)
}

var anyResource = []any{"*"}

func allow(sid string, actions []string, resources any, cond map[string]map[string]any) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources, Condition: cond}
}

// Tag conditions shared by several functions.
var (
	onBuilder      = map[string]map[string]any{"StringEquals": {"aws:ResourceTag/amiswap:role": "builder"}}
	onVerifier     = map[string]map[string]any{"StringEquals": {"aws:ResourceTag/amiswap:role": "verifier"}}
	onTemporary    = map[string]map[string]any{"StringEquals": {"aws:ResourceTag/amiswap:role": []string{"builder", "verifier"}}}
	onGolden       = map[string]map[string]any{"StringEquals": {"aws:ResourceTag/amiswap:role": "golden-ami"}}
	onEnabledGroup = map[string]map[string]any{"StringEquals": {"aws:ResourceTag/amiswap:enabled": "true"}}
	passToEC2      = map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
	// onBackupMade: AMIs and snapshots AWS Backup made, which it tags
	// aws:backup:source-resource (tags under aws: only AWS can set).
	onBackupMade    = map[string]map[string]any{"Null": {"aws:ResourceTag/aws:backup:source-resource": "false"}}
	builderRoleArns = map[string]any{"Ref": "BuilderRoleArns"} // a required parameter: never empty
)

// tagGroupLaunch lets a function that gives a group a launch template or
// starts an instance refresh pass Auto Scaling's check of the template's
// TagSpecifications: ec2:CreateTags on what RunInstances would tag, only
// as part of RunInstances ("Amazon EC2 Auto Scaling API permissions",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html).
// A launch template can tag instances, volumes, network interfaces and
// Spot Instance requests.
func tagGroupLaunch(implied string) Statement {
	return Statement{Sid: "TagGroupLaunches", Effect: "Allow", Action: []string{"ec2:CreateTags"},
		Resource:  []any{arn("ec2", "instance/*"), arn("ec2", "volume/*"), arn("ec2", "network-interface/*"), arn("ec2", "spot-instances-request/*")},
		Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": "RunInstances"}},
		Implied:   implied}
}

// commandDocuments are the documents amiswap's functions may run: AWS's
// that it uses or that a group may name (amiswap:prepare-document is
// typically AWS-RunPatchBaseline), and the account's own (a group's
// prepare, generalize and verify documents). Which instances they run on
// is what the instance statements restrict (builders, verifiers).
var commandDocuments = []any{
	sub("arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWSEC2-RunSysprep"),
	sub("arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunShellScript"),
	sub("arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunPowerShellScript"),
	sub("arn:${AWS::Partition}:ssm:${AWS::Region}::document/AWS-RunPatchBaseline"),
	arn("ssm", "document/*"),
}

// parameters are the Parameter Store parameters a group may name in
// amiswap:ssm-parameter.
var parameters = []any{arn("ssm", "parameter/*")}

// passRole lets a function hand the builder roles to EC2 only.
func passRole(implied string) Statement {
	s := allow("PassBuilderRole", []string{"iam:PassRole"}, builderRoleArns, passToEC2)
	s.Implied = implied
	return s
}

// Policies maps each function of workflow.Functions to its role's
// statements (besides writing its own log group, which every role gets).
var Policies = map[string][]Statement{
	"Resolve": {
		allow("ReadBackupJobs", []string{"backup:DescribeBackupJob", "backup:ListBackupJobs"}, anyResource, nil),
		allow("ReadGroupsAndInstances", []string{"autoscaling:DescribeAutoScalingGroups", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions"}, anyResource, nil),
		allow("ReadRecoveryPointSnapshots", []string{"ec2:DescribeSnapshots"}, anyResource, nil),
		awsManagedEBSKey,
	},
	"Lock": {
		allow("LockTable", []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"}, []any{map[string]any{"Fn::GetAtt": []string{"LockTable", "Arn"}}}, nil),
	},
	"Builder": {
		allow("LaunchTaggedBuilder", []string{"ec2:RunInstances"}, []any{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
			map[string]map[string]any{"StringEquals": {"aws:RequestTag/amiswap:role": "builder"}}),
		allow("LaunchFromImagesIntoNetwork", []string{"ec2:RunInstances"}, []any{
			sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"),
			arn("ec2", "subnet/*"), arn("ec2", "security-group/*"), arn("ec2", "network-interface/*"),
		}, nil),
		{Sid: "TagBuilderAtLaunch", Effect: "Allow", Action: []string{"ec2:CreateTags"},
			Resource:  []any{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
			Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": "RunInstances"}},
			Implied:   "RunInstances with TagSpecifications"},
		passRole("RunInstances with an IamInstanceProfile"),
		allow("StopBuilder", []string{"ec2:StopInstances"}, []any{arn("ec2", "instance/*")}, onBuilder),
		allow("ReadInstances", []string{"ec2:DescribeInstances"}, anyResource, nil),
	},
	"CheckInstance": {
		allow("ReadInstances", []string{"ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ssm:DescribeInstanceInformation"}, anyResource, nil),
	},
	"Generalize": {
		allow("RunOnBuilder", []string{"ssm:SendCommand"}, []any{arn("ec2", "instance/*")}, onBuilder),
		allow("RunPrepareAndGeneralizeDocuments", []string{"ssm:SendCommand"}, commandDocuments, nil),
		allow("ReadCommands", []string{"ec2:DescribeInstances", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"}, anyResource, nil),
	},
	"Image": {
		allow("ImageBuilder", []string{"ec2:CreateImage"}, []any{arn("ec2", "instance/*")}, onBuilder),
		allow("CreateGoldenImage", []string{"ec2:CreateImage"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"), sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")},
			map[string]map[string]any{"StringEquals": {"aws:RequestTag/amiswap:role": "golden-ami"}}),
		{Sid: "TagGoldenImage", Effect: "Allow", Action: []string{"ec2:CreateTags"},
			Resource:  []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"), sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")},
			Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": "CreateImage"}},
			Implied:   "CreateImage with TagSpecifications"},
		allow("ReadImages", []string{"ec2:DescribeImages"}, anyResource, nil),
	},
	"CheckImage": {
		allow("ReadImages", []string{"ec2:DescribeImages"}, anyResource, nil),
		allow("DeprecateGoldenImages", []string{"ec2:EnableImageDeprecation"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*")}, onGolden),
	},
	"Verify": {
		allow("LaunchTaggedVerifier", []string{"ec2:RunInstances"}, []any{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
			map[string]map[string]any{"StringEquals": {"aws:RequestTag/amiswap:role": "verifier"}}),
		allow("LaunchFromImagesIntoNetwork", []string{"ec2:RunInstances"}, []any{
			sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*"),
			arn("ec2", "subnet/*"), arn("ec2", "security-group/*"), arn("ec2", "network-interface/*"),
		}, nil),
		{Sid: "TagVerifierAtLaunch", Effect: "Allow", Action: []string{"ec2:CreateTags"},
			Resource:  []any{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
			Condition: map[string]map[string]any{"StringEquals": {"ec2:CreateAction": "RunInstances"}},
			Implied:   "RunInstances with TagSpecifications"},
		passRole("RunInstances with the group's IamInstanceProfile"),
		allow("RunOnVerifier", []string{"ssm:SendCommand"}, []any{arn("ec2", "instance/*")}, onVerifier),
		allow("RunVerifyDocuments", []string{"ssm:SendCommand"}, commandDocuments, nil),
		allow("TerminateVerifier", []string{"ec2:TerminateInstances"}, []any{arn("ec2", "instance/*")}, onVerifier),
		allow("ReadInstancesAndCommands", []string{"ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ssm:DescribeInstanceInformation",
			"ssm:ListCommandInvocations", "ssm:ListCommands"}, anyResource, nil),
	},
	"HandOff": {
		allow("ReadAndPutParameters", []string{"ssm:GetParameter", "ssm:PutParameter"}, parameters, nil),
		{Sid: "ValidateImageParameters", Effect: "Allow", Action: []string{"ec2:DescribeImages"}, Resource: anyResource,
			Implied: "Parameter Store validates an aws:ec2:image value with the caller's ec2:DescribeImages (Native parameter support for Amazon Machine Image IDs)"},
	},
	"UpdateAsg": {
		allow("ChangeEnabledGroups", []string{"autoscaling:StartInstanceRefresh", "autoscaling:UpdateAutoScalingGroup"},
			[]any{arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")}, onEnabledGroup),
		allow("TagEnabledGroups", []string{"autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"},
			[]any{arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")},
			map[string]map[string]any{
				"StringEquals":              {"aws:ResourceTag/amiswap:enabled": "true"},
				"ForAllValues:StringEquals": {"aws:TagKeys": []string{"amiswap:original-max-size"}},
			}),
		allow("NewTemplateVersions", []string{"ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"}, []any{arn("ec2", "launch-template/*")}, nil),
		allow("ReadGroupsAndTemplates", []string{"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates"}, anyResource, nil),
		{Sid: "UseLaunchTemplates", Effect: "Allow", Action: []string{"ec2:RunInstances"}, Resource: anyResource,
			Implied: "Auto Scaling validates the caller's right to launch from the group's launch template on UpdateAutoScalingGroup and StartInstanceRefresh"},
		passRole("UpdateAutoScalingGroup and StartInstanceRefresh with a launch template that has an instance profile"),
		tagGroupLaunch("UpdateAutoScalingGroup and StartInstanceRefresh with a launch template that has TagSpecifications"),
	},
	"Cleanup": {
		allow("TerminateBuilderAndVerifier", []string{"ec2:TerminateInstances"}, []any{arn("ec2", "instance/*")}, onTemporary),
		allow("RemoveOldGoldenImages", []string{"ec2:DeregisterImage"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*")}, onGolden),
		allow("RemoveOldGoldenSnapshots", []string{"ec2:DeleteSnapshot"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")}, onGolden),
		allow("DeleteRecoveryPoints", []string{"backup:DeleteRecoveryPoint", "backup:DescribeRecoveryPoint"}, []any{arn("backup", "recovery-point:*"), sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*")}, nil),
		{Sid: "DeleteBackupImages", Effect: "Allow", Action: []string{"ec2:DeregisterImage"}, Resource: []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*")}, Condition: onBackupMade,
			Implied: "AWS Backup deregisters an EC2 recovery point's AMI with the caller's permissions on DeleteRecoveryPoint; without them the recovery point goes EXPIRED"},
		{Sid: "DeleteBackupSnapshots", Effect: "Allow", Action: []string{"ec2:DeleteSnapshot"}, Resource: []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")}, Condition: onBackupMade,
			Implied: "AWS Backup deletes an EC2 recovery point's snapshots with the caller's permissions on DeleteRecoveryPoint; without them the recovery point goes EXPIRED"},
		allow("ReadImagesAndTemplates", []string{"autoscaling:DescribeAutoScalingGroups", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeSnapshots"}, anyResource, nil),
	},
	"Notify": {
		allow("PublishToTopic", []string{"sns:Publish"}, []any{map[string]any{"Ref": "Topic"}}, nil),
		allow("NotificationMarkers", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, []any{map[string]any{"Fn::GetAtt": []string{"LockTable", "Arn"}}}, nil),
	},
	"Compensate": {
		allow("RestoreEnabledGroups", []string{"autoscaling:CancelInstanceRefresh", "autoscaling:DeleteTags", "autoscaling:UpdateAutoScalingGroup"},
			[]any{arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")}, onEnabledGroup),
		allow("RevertTemplateVersions", []string{"ec2:DeleteLaunchTemplateVersions", "ec2:ModifyLaunchTemplate"}, []any{arn("ec2", "launch-template/*")}, nil),
		allow("TerminateBuilderAndVerifier", []string{"ec2:TerminateInstances"}, []any{arn("ec2", "instance/*")}, onTemporary),
		allow("PutParametersBack", []string{"ssm:DeleteParameter", "ssm:GetParameter", "ssm:PutParameter"}, parameters, nil),
		allow("RemoveGoldenImage", []string{"ec2:DeregisterImage"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::image/*")}, onGolden),
		allow("RemoveGoldenSnapshots", []string{"ec2:DeleteSnapshot"}, []any{sub("arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*")}, onGolden),
		allow("ReadState", []string{"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeSnapshots"}, anyResource, nil),
		{Sid: "UseLaunchTemplates", Effect: "Allow", Action: []string{"ec2:RunInstances"}, Resource: anyResource,
			Implied: "Auto Scaling validates the caller's right to launch from the group's launch template when UpdateAutoScalingGroup sets its version back"},
		passRole("UpdateAutoScalingGroup with a launch template that has an instance profile"),
		tagGroupLaunch("UpdateAutoScalingGroup with a launch template that has TagSpecifications, when it sets the version back"),
	},
}

// JanitorPolicies are the janitor's statements: Compensate's (it runs the
// same handler), releasing the lock the stopped execution held, and
// reading the history of this state machine's executions (optional to it:
// without it the janitor works from the execution's input and AWS).
func JanitorPolicies() []Statement {
	out := append([]Statement(nil), Policies["Compensate"]...)
	return append(out,
		allow("ReleaseStoppedExecutionsLock", []string{"dynamodb:DeleteItem"}, []any{map[string]any{"Fn::GetAtt": []string{"LockTable", "Arn"}}}, nil),
		allow("ReadStoppedExecutionsHistory", []string{"states:GetExecutionHistory"},
			[]any{sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${StateMachine.Name}:*")}, nil),
	)
}
