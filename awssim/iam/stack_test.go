package iam_test

import (
	"context"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// TestEnableHoldsTheTemplatesStack: with IAM enforced from the template,
// the simulator's CloudFormation holds the stack, named by AWS::StackName,
// with the template's parameters, its outputs evaluated to the simulator's
// names and ARNs, and its roles and functions as resources.
func TestEnableHoldsTheTemplatesStack(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.New(ctx, awssim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := iam.Enable(sb.Sim, deploy.Template(), map[string]string{"AWS::StackName": "swapper", "ArtifactBucket": "b", "ArtifactKey": "k",
		"BuilderRoleArns": "arn:aws:iam::123456789012:role/web"}); err != nil {
		t.Fatal(err)
	}
	c := cloudformation.NewFromConfig(sb.AWS)
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("swapper")})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("DescribeStacks: %v", err)
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if outputs["TopicArn"] != "arn:aws:sns:us-east-1:123456789012:swapper-notifications" || outputs["LockTableName"] != "swapper-locks" ||
		!strings.HasPrefix(outputs["StateMachineArn"], "arn:aws:states:us-east-1:123456789012:stateMachine:") {
		t.Errorf("outputs %v", outputs)
	}
	params := map[string]string{}
	for _, p := range out.Stacks[0].Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	if params["BuilderRoleArns"] != "arn:aws:iam::123456789012:role/web" {
		t.Errorf("parameters %v", params)
	}
	res, err := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("swapper")})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, r := range res.StackResources {
		byID[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.ResourceType) + " " + aws.ToString(r.PhysicalResourceId)
	}
	if byID["ResolveFunction"] != "AWS::Lambda::Function swapper-resolve" || !strings.HasPrefix(byID["BuilderRole"], "AWS::IAM::Role ") ||
		!strings.HasPrefix(byID["LockTable"], "AWS::DynamoDB::Table swapper-locks") {
		t.Errorf("resources %v", byID)
	}
}
