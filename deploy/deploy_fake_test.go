package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeCFN plays a scripted CloudFormation: the stack as it is, what the
// change set turns out to be, and the events and statuses an execution
// goes through (one step per DescribeStacks).
type fakeCFN struct {
	stack     *cfntypes.Stack
	csStatus  cfntypes.ChangeSetStatus
	csReason  string
	steps     []cfntypes.StackStatus
	events    []cfntypes.StackEvent // newest first, as AWS lists them
	executing bool
	calls     []string
	created   *cloudformation.CreateChangeSetInput
	// changes are the change set's pages of changes.
	changes [][]cfntypes.Change
	// stateMachine is the physical id of the StateMachine resource.
	stateMachine string
}

func (f *fakeCFN) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.calls = append(f.calls, "DescribeStacks")
	if f.stack == nil {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + aws.ToString(in.StackName) + " does not exist"}
	}
	if f.executing && len(f.steps) > 0 {
		f.stack.StackStatus, f.steps = f.steps[0], f.steps[1:]
		f.events = append([]cfntypes.StackEvent{{EventId: aws.String(string(f.stack.StackStatus)), Timestamp: aws.Time(time.Now()),
			LogicalResourceId: aws.String("Stack"), ResourceType: aws.String("AWS::CloudFormation::Stack"),
			ResourceStatus: cfntypes.ResourceStatus(f.stack.StackStatus), ResourceStatusReason: aws.String("step " + string(f.stack.StackStatus))}}, f.events...)
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{*f.stack}}, nil
}

func (f *fakeCFN) DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	f.calls = append(f.calls, "DescribeStackEvents")
	return &cloudformation.DescribeStackEventsOutput{StackEvents: f.events}, nil
}

func (f *fakeCFN) CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	f.calls = append(f.calls, "CreateChangeSet:"+string(in.ChangeSetType))
	f.created = in
	if f.stack == nil {
		f.stack = &cfntypes.Stack{StackName: in.StackName, StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusReviewInProgress}
	}
	return &cloudformation.CreateChangeSetOutput{Id: aws.String("arn:changeset/1")}, nil
}

func (f *fakeCFN) DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	f.calls = append(f.calls, "DescribeChangeSet")
	out := &cloudformation.DescribeChangeSetOutput{Status: f.csStatus, StatusReason: aws.String(f.csReason)}
	page := 0
	if in.NextToken != nil {
		page, _ = strconv.Atoi(aws.ToString(in.NextToken))
	}
	if page < len(f.changes) {
		out.Changes = f.changes[page]
		if page+1 < len(f.changes) {
			out.NextToken = aws.String(strconv.Itoa(page + 1))
		}
	}
	return out, nil
}

func (f *fakeCFN) DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error) {
	f.calls = append(f.calls, "DescribeStackResources")
	out := &cloudformation.DescribeStackResourcesOutput{StackResources: []cfntypes.StackResource{{LogicalResourceId: aws.String("Topic"), PhysicalResourceId: aws.String("arn:sns")}}}
	if f.stateMachine != "" {
		out.StackResources = append(out.StackResources, cfntypes.StackResource{LogicalResourceId: aws.String("StateMachine"), PhysicalResourceId: aws.String(f.stateMachine)})
	}
	return out, nil
}

func (f *fakeCFN) ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.calls = append(f.calls, "ExecuteChangeSet")
	f.executing = true
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func (f *fakeCFN) DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	f.calls = append(f.calls, "DeleteChangeSet")
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

func (f *fakeCFN) DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, _ ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	f.calls = append(f.calls, "DeleteStack")
	f.executing = true
	return &cloudformation.DeleteStackOutput{}, nil
}

// fakeS3 is a bucket (absent when missing) holding the keys put.
type fakeS3 struct {
	puts    []string
	missing bool
	calls   []string
	created *s3.CreateBucketInput
	blocked *s3types.PublicAccessBlockConfiguration
}

// notFound is the error HeadBucket returns for a missing bucket: HTTP 404
// with no body (HEAD responses have none), which the SDK turns into NotFound.
func notFound() error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusNotFound}}, Err: &s3types.NotFound{}}}
}

func (f *fakeS3) HeadBucket(ctx context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	f.calls = append(f.calls, "HeadBucket")
	if f.missing {
		return nil, notFound()
	}
	return &s3.HeadBucketOutput{}, nil
}

func (f *fakeS3) CreateBucket(ctx context.Context, in *s3.CreateBucketInput, _ ...func(*s3.Options)) (*s3.CreateBucketOutput, error) {
	f.calls = append(f.calls, "CreateBucket")
	f.created, f.missing = in, false
	return &s3.CreateBucketOutput{}, nil
}

func (f *fakeS3) PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, _ ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error) {
	f.calls = append(f.calls, "PutPublicAccessBlock")
	f.blocked = in.PublicAccessBlockConfiguration
	return &s3.PutPublicAccessBlockOutput{}, nil
}

func (f *fakeS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	for _, k := range f.puts {
		if k == aws.ToString(in.Key) {
			return &s3.HeadObjectOutput{}, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "NotFound"}
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	f.calls = append(f.calls, "PutObject")
	f.puts = append(f.puts, aws.ToString(in.Key))
	return &s3.PutObjectOutput{}, nil
}

// fakeSFN lists the running executions of one state machine.
type fakeSFN struct {
	arn     string
	running []string
	asked   []string
}

func (f *fakeSFN) ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.StateMachineArn)+" "+string(in.StatusFilter))
	if aws.ToString(in.StateMachineArn) != f.arn {
		return nil, &sfntypes.StateMachineDoesNotExist{Message: aws.String("State Machine Does Not Exist: " + aws.ToString(in.StateMachineArn))}
	}
	out := &sfn.ListExecutionsOutput{}
	if in.StatusFilter == sfntypes.ExecutionStatusRunning {
		for _, n := range f.running {
			out.Executions = append(out.Executions, sfntypes.ExecutionListItem{Name: aws.String(n), Status: sfntypes.ExecutionStatusRunning})
		}
	}
	return out, nil
}

func fakeOptions(t *testing.T) Options {
	t.Helper()
	zip := filepath.Join(t.TempDir(), "a.zip")
	if err := os.WriteFile(zip, []byte("zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	return Options{StackName: "amiswap", ArtifactBucket: "bucket", LambdaZip: zip, Poll: time.Millisecond,
		Parameters: map[string]string{"NotificationEmail": "ops@example.com", "BuilderRoleArns": "arn:aws:iam::123456789012:role/builder"}}
}

func TestDeployUpdateWithoutChanges(t *testing.T) {
	cfn := &fakeCFN{
		stack: &cfntypes.Stack{StackName: aws.String("amiswap"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusUpdateComplete,
			Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("BuilderSubnetId"), ParameterValue: aws.String("subnet-1")}, {ParameterKey: aws.String("NotificationEmail")}},
			Outputs:    []cfntypes.Output{{OutputKey: aws.String("StateMachineArn"), OutputValue: aws.String("arn:sm")}}},
		csStatus: cfntypes.ChangeSetStatusFailed,
		csReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
	}
	var progress bytes.Buffer
	out, err := Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "eu-west-1"}, fakeOptions(t), &progress)
	if err != nil {
		t.Fatal(err)
	}
	if out["StateMachineArn"] != "arn:sm" || !strings.Contains(progress.String(), "nothing to change") {
		t.Errorf("outputs %v progress %s", out, progress.String())
	}
	got := strings.Join(cfn.calls, " ")
	if !strings.Contains(got, "CreateChangeSet:UPDATE") || !strings.Contains(got, "DeleteChangeSet") || strings.Contains(got, "ExecuteChangeSet") {
		t.Errorf("calls %s", got)
	}
	params := map[string]string{}
	for _, p := range cfn.created.Parameters {
		v := aws.ToString(p.ParameterValue)
		if aws.ToBool(p.UsePreviousValue) {
			v = "(previous)"
		}
		params[aws.ToString(p.ParameterKey)] = v
	}
	if params["BuilderSubnetId"] != "(previous)" || params["NotificationEmail"] != "ops@example.com" || params["ArtifactKey"] != ArtifactKey([]byte("zip")) || params["ArtifactBucket"] != "bucket" {
		t.Errorf("change set parameters %v", params)
	}
	if u := aws.ToString(cfn.created.TemplateURL); !strings.HasPrefix(u, "https://bucket.s3.eu-west-1.amazonaws.com/amiswap/template-") {
		t.Errorf("template URL %s", u)
	}
}

func TestDeployCreateThatRollsBack(t *testing.T) {
	cfn := &fakeCFN{csStatus: cfntypes.ChangeSetStatusCreateComplete,
		steps: []cfntypes.StackStatus{cfntypes.StackStatusCreateInProgress, cfntypes.StackStatusRollbackInProgress, cfntypes.StackStatusRollbackComplete}}
	var progress bytes.Buffer
	_, err := Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "us-east-1"}, fakeOptions(t), &progress)
	if err == nil || !strings.Contains(err.Error(), "ROLLBACK_COMPLETE") {
		t.Fatalf("error %v, want the stack's end status", err)
	}
	p := progress.String()
	i, j := strings.Index(p, "step CREATE_IN_PROGRESS"), strings.Index(p, "step ROLLBACK_COMPLETE")
	if i < 0 || j < i || !strings.Contains(p, "CreateChangeSet") && !strings.Contains(strings.Join(cfn.calls, " "), "CreateChangeSet:CREATE") {
		t.Errorf("events not streamed in order:\n%s\ncalls %v", p, cfn.calls)
	}

	// Deploying onto the rolled-back stack is refused with the way out.
	_, err = Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "us-east-1"}, fakeOptions(t), &progress)
	if err == nil || !strings.Contains(err.Error(), "--delete") {
		t.Errorf("deploy onto ROLLBACK_COMPLETE: %v", err)
	}
}

func TestDeleteWaitsForTheStack(t *testing.T) {
	cfn := &fakeCFN{stack: &cfntypes.Stack{StackName: aws.String("amiswap"), StackId: aws.String("arn:stack/x"), StackStatus: cfntypes.StackStatusCreateComplete},
		steps: []cfntypes.StackStatus{cfntypes.StackStatusDeleteInProgress, cfntypes.StackStatusDeleteComplete}}
	var progress bytes.Buffer
	if err := Delete(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, StepFunctions: &fakeSFN{}}, fakeOptions(t), &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "stack deleted") || !strings.Contains(progress.String(), "step DELETE_COMPLETE") {
		t.Errorf("progress:\n%s", progress.String())
	}
	cfn = &fakeCFN{}
	if err := Delete(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, StepFunctions: &fakeSFN{}}, fakeOptions(t), &progress); err != nil || strings.Contains(strings.Join(cfn.calls, " "), "DeleteStack") {
		t.Errorf("deleting an absent stack: %v, calls %v", err, cfn.calls)
	}
}

func TestUploadsAreContentAddressed(t *testing.T) {
	s := &fakeS3{}
	cfn := &fakeCFN{csStatus: cfntypes.ChangeSetStatusCreateComplete, steps: []cfntypes.StackStatus{cfntypes.StackStatusCreateComplete}}
	var progress bytes.Buffer
	o := fakeOptions(t)
	if _, err := Deploy(context.Background(), Clients{S3: s, CloudFormation: cfn, Region: "us-east-1"}, o, &progress); err != nil {
		t.Fatal(err)
	}
	if len(s.puts) != 2 || s.puts[0] != ArtifactKey([]byte("zip")) {
		t.Fatalf("uploads %v", s.puts)
	}
	cfn.csStatus, cfn.csReason = cfntypes.ChangeSetStatusFailed, "No updates are to be performed."
	if _, err := Deploy(context.Background(), Clients{S3: s, CloudFormation: cfn, Region: "us-east-1"}, o, &progress); err != nil {
		t.Fatal(err)
	}
	if len(s.puts) != 2 {
		t.Errorf("unchanged artifacts uploaded again: %v", s.puts)
	}
}

// TestDeployRefusesWithoutBuilderRoles: an empty BuilderRoleArns is
// refused before any AWS call, nothing uploaded or created.
func TestDeployRefusesWithoutBuilderRoles(t *testing.T) {
	cfn := &fakeCFN{}
	s3f := &fakeS3{}
	o := fakeOptions(t)
	delete(o.Parameters, "BuilderRoleArns")
	_, err := Deploy(context.Background(), Clients{S3: s3f, CloudFormation: cfn, Region: "eu-west-1"}, o, io.Discard)
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--builder-role-arns is required") {
		t.Errorf("error %v, want a UsageError asking for --builder-role-arns", err)
	}
	if len(cfn.calls) > 0 || len(s3f.puts) > 0 {
		t.Errorf("AWS was called: %v %v", cfn.calls, s3f.puts)
	}
}

// TestDeployToChina: the change set's template URL is the aws-cn
// partition's S3 endpoint, and the deployment names resources from the
// stack's NamePrefix.
func TestDeployToChina(t *testing.T) {
	cfn := &fakeCFN{csStatus: cfntypes.ChangeSetStatusFailed, csReason: "The submitted information didn't contain changes."}
	o := fakeOptions(t)
	o.StackName = longStackName
	if _, err := Deploy(context.Background(), Clients{S3: &fakeS3{}, CloudFormation: cfn, Region: "cn-north-1"}, o, io.Discard); err != nil && cfn.created == nil {
		t.Fatal(err)
	}
	if u := aws.ToString(cfn.created.TemplateURL); !strings.HasPrefix(u, "https://bucket.s3.cn-north-1.amazonaws.com.cn/amiswap/template-") {
		t.Errorf("template URL %s", u)
	}
	found := false
	for _, p := range cfn.created.Parameters {
		if aws.ToString(p.ParameterKey) == "NamePrefix" {
			found = aws.ToString(p.ParameterValue) == NamePrefix(longStackName)
		}
	}
	if !found {
		t.Errorf("parameters %+v lack NamePrefix=%s", cfn.created.Parameters, NamePrefix(longStackName))
	}
}
