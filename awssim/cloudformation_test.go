package awssim

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// TestCloudFormationDescribesItsStack: the stack installed with SetStack is
// found by name, its outputs, parameters and resources read as the SDK
// reads AWS's (API reference: DescribeStacks, DescribeStackResources); an
// unknown stack is a ValidationError, as in AWS, and so is an action the
// simulator does not serve.
func TestCloudFormationDescribesItsStack(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := cloudformation.NewFromConfig(ts.Cfg)
	if out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{}); err != nil || len(out.Stacks) != 0 {
		t.Fatalf("no stack yet: %v %+v", err, out)
	}
	ts.SetStack(&Stack{Name: "amiswap", Parameters: []StackParameter{{"BuilderRoleArns", "arn:aws:iam::123456789012:role/web"}},
		Outputs: []StackOutput{{Key: "TopicArn", Value: "arn:aws:sns:us-east-1:123456789012:amiswap-notifications", Description: "notifications"}},
		Resources: []StackResource{
			{LogicalID: "ResolveRole", PhysicalID: "amiswap-ResolveRole", Type: "AWS::IAM::Role"},
			{LogicalID: "ResolveFunction", PhysicalID: "amiswap-resolve", Type: "AWS::Lambda::Function"},
		}})
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("amiswap")})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("DescribeStacks: %v %+v", err, out)
	}
	st := out.Stacks[0]
	if st.StackStatus != cfntypes.StackStatusCreateComplete || !strings.HasPrefix(aws.ToString(st.StackId), "arn:aws:cloudformation:us-east-1:123456789012:stack/amiswap/") ||
		len(st.Outputs) != 1 || aws.ToString(st.Outputs[0].OutputKey) != "TopicArn" || len(st.Parameters) != 1 || st.CreationTime == nil {
		t.Errorf("stack %+v", st)
	}
	if byID, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: st.StackId}); err != nil || len(byID.Stacks) != 1 {
		t.Errorf("by stack id: %v", err)
	}
	res, err := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("amiswap")})
	if err != nil || len(res.StackResources) != 2 || aws.ToString(res.StackResources[1].PhysicalResourceId) != "amiswap-resolve" ||
		res.StackResources[1].ResourceStatus != cfntypes.ResourceStatusCreateComplete {
		t.Fatalf("DescribeStackResources: %v %+v", err, res)
	}
	one, err := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{PhysicalResourceId: aws.String("amiswap-ResolveRole")})
	if err != nil || len(one.StackResources) != 2 {
		t.Errorf("by physical id: %v %+v", err, one)
	}
	if _, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("other")}); errCode(err) != "ValidationError" {
		t.Errorf("unknown stack: %v", err)
	}
	if _, err := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{}); errCode(err) != "ValidationError" {
		t.Errorf("no stack named: %v", err)
	}
	if _, err := c.ListStacks(ctx, &cloudformation.ListStacksInput{}); errCode(err) != "InvalidAction" {
		t.Errorf("an action the simulator does not serve: %v", err)
	}
}
