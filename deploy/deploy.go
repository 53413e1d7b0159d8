package deploy

// This file is the logic of `amiswap deploy`: upload the Lambda package
// and the template to S3, create or update the stack through a change set,
// stream the stack's events as progress lines until it settles, and report
// its outputs; and `amiswap deploy --delete`.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
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
)

// ObjectStore is what Deploy calls on S3.
type ObjectStore interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Executions is what Delete calls on Step Functions: the stack's state
// machine's running executions.
type Executions interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
}

// Stacks is what Deploy and Delete call on CloudFormation.
type Stacks interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
	DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error)
}

// Clients are the AWS clients of a deployment.
type Clients struct {
	S3             ObjectStore
	CloudFormation Stacks
	StepFunctions  Executions
	// Region builds the template's S3 URL and places a created bucket.
	Region string
}

// NewClients returns the production clients for cfg.
func NewClients(cfg aws.Config) Clients {
	return Clients{S3: s3.NewFromConfig(cfg), CloudFormation: cloudformation.NewFromConfig(cfg), StepFunctions: sfn.NewFromConfig(cfg), Region: cfg.Region}
}

// Options say what to deploy where.
type Options struct {
	StackName      string
	ArtifactBucket string
	// LambdaZip is the path of the Lambda package (dist/amiswap-lambda.zip).
	LambdaZip string
	// Parameters are template parameters (BuilderSubnetId, …); the
	// artifact ones are set by Deploy. Parameters not given keep their
	// previous value on an update and their default on a create.
	Parameters map[string]string
	// Poll is the interval between status checks (default 5s).
	Poll time.Duration
	// CallTimeout bounds each AWS call (default 30s; NoCallTimeout for
	// none).
	CallTimeout time.Duration
	// CreateBucket creates the artifact bucket when it does not exist;
	// otherwise a missing bucket is a BucketMissingError.
	CreateBucket bool
	// Confirm, when set, is asked before the change set is executed (after
	// its changes are printed) and before the stack is deleted; false
	// deletes the change set, or keeps the stack, and the operation
	// returns ErrDeclined. Nil goes ahead (amiswap deploy --yes).
	Confirm func(ctx context.Context, question string) (bool, error)
	// Force deletes the stack even while its state machine has running
	// executions.
	Force bool
}

// ErrDeclined is returned when Confirm answered no: nothing was changed.
var ErrDeclined = errors.New("deploy: declined; nothing was changed")

// BucketMissingError says that the artifact bucket does not exist.
type BucketMissingError struct {
	Bucket, Region string
}

func (e *BucketMissingError) Error() string {
	return fmt.Sprintf("deploy: the artifact bucket %s does not exist in %s: create it (aws s3 mb s3://%s --region %s) or pass --create-bucket",
		e.Bucket, e.Region, e.Bucket, e.Region)
}

// RunningExecutionsError refuses to delete a stack whose state machine
// has running executions: deleting it mid-swap would leave a builder
// instance running and the group's MaxSize frozen.
type RunningExecutionsError struct {
	StateMachine string
	Executions   []string // names
}

func (e *RunningExecutionsError) Error() string {
	return fmt.Sprintf("deploy: %d execution(s) of %s still running (%s): deleting the stack now would leave their builders behind; wait for them, or pass --force",
		len(e.Executions), e.StateMachine, strings.Join(e.Executions, ", "))
}

// NoCallTimeout as Options.CallTimeout leaves AWS calls unbounded but by
// the caller's context.
const NoCallTimeout time.Duration = -1

// stackNameRe is CloudFormation's stack name: "must start with an
// alphabetical character and can't be longer than 128 characters", letters,
// digits and hyphens ("CreateStack",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html).
var stackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// roleArnRe is RoleArnPattern compiled.
var roleArnRe = regexp.MustCompile(RoleArnPattern)

// Validate checks the options before any AWS call: a valid stack name, an
// artifact bucket, and BuilderRoleArns, a required parameter of the
// template, given as one or more role ARNs. It also sets the NamePrefix
// parameter from the stack name (see NamePrefix).
func (o *Options) Validate() error {
	if !stackNameRe.MatchString(o.StackName) {
		return &UsageError{fmt.Sprintf("deploy: stack name %q: letters, digits and hyphens, starting with a letter, at most 128 characters", o.StackName)}
	}
	if o.ArtifactBucket == "" {
		return &UsageError{"deploy: an artifact bucket is required (an existing S3 bucket in the stack's region)"}
	}
	roles := strings.TrimSpace(o.Parameters["BuilderRoleArns"]) // a nil map reads ""
	if roles == "" {
		return &UsageError{"deploy: --builder-role-arns is required: the ARNs of the IAM roles inside the instance profiles of the builders and the groups (the only roles amiswap may pass to EC2), comma-separated"}
	}
	for _, r := range strings.Split(roles, ",") {
		if !roleArnRe.MatchString(strings.TrimSpace(r)) {
			return &UsageError{fmt.Sprintf("deploy: --builder-role-arns: %q is not an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)", r)}
		}
	}
	if o.Parameters == nil {
		o.Parameters = map[string]string{}
	}
	if o.Parameters["NamePrefix"] == "" {
		o.Parameters["NamePrefix"] = NamePrefix(o.StackName)
	}
	return nil
}

// UsageError is a deployment request that is wrong before any AWS call.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// TemplateURL returns the S3 URL of key in bucket as CloudFormation's
// TemplateURL wants it, with the endpoint of the region's partition
// (amazonaws.com, amazonaws.com.cn for aws-cn, …), as the SDK's S3
// endpoint rules resolve it ("Amazon S3 endpoints and quotas",
// https://docs.aws.amazon.com/general/latest/gr/s3.html).
func TemplateURL(ctx context.Context, region, bucket, key string) (string, error) {
	if region == "" {
		return "", &UsageError{"deploy: no AWS region: set AWS_REGION or a profile's region"}
	}
	ep, err := s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, s3.EndpointParameters{Region: aws.String(region), Bucket: aws.String(bucket)})
	if err != nil {
		return "", fmt.Errorf("deploy: the S3 endpoint of bucket %s in %s: %w", bucket, region, err)
	}
	u := ep.URI
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + key
	return u.String(), nil
}

func (o *Options) defaults() {
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = 30 * time.Second
	}
}

// call returns the context of one AWS call: ctx bounded by CallTimeout.
func (o *Options) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.CallTimeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, o.CallTimeout)
}

// Deploy uploads the Lambda package and the template to the artifact
// bucket and creates or updates the stack through a change set, writing
// progress lines. It returns the stack's outputs.
func Deploy(ctx context.Context, c Clients, o Options, progress io.Writer) (map[string]string, error) {
	o.defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tmplURLBase, err := TemplateURL(ctx, c.Region, o.ArtifactBucket, "")
	if err != nil {
		return nil, err
	}
	zipData, err := os.ReadFile(o.LambdaZip)
	if err != nil {
		return nil, fmt.Errorf("deploy: read the Lambda package (build it with make lambda): %w", err)
	}
	zipKey := ArtifactKey(zipData)
	if err := ensureBucket(ctx, c, o, progress); err != nil {
		return nil, err
	}
	if err := upload(ctx, c, o, zipKey, zipData, "application/zip", progress); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, Template()); err != nil {
		return nil, fmt.Errorf("deploy: compact the template: %w", err)
	}
	sum := sha256.Sum256(compact.Bytes())
	tmplKey := "amiswap/template-" + hex.EncodeToString(sum[:8]) + ".json"
	if err := upload(ctx, c, o, tmplKey, compact.Bytes(), "application/json", progress); err != nil {
		return nil, err
	}

	stack, err := describeStack(ctx, c, o)
	if err != nil {
		return nil, err
	}
	kind := cfntypes.ChangeSetTypeUpdate
	switch {
	case stack == nil || stack.StackStatus == cfntypes.StackStatusReviewInProgress:
		kind = cfntypes.ChangeSetTypeCreate
	case stack.StackStatus == cfntypes.StackStatusRollbackComplete:
		return nil, fmt.Errorf("deploy: stack %s failed to create (ROLLBACK_COMPLETE); remove it with amiswap deploy --delete, then deploy again", o.StackName)
	case strings.HasSuffix(string(stack.StackStatus), "_IN_PROGRESS"):
		return nil, fmt.Errorf("deploy: stack %s is %s; wait for it to settle", o.StackName, stack.StackStatus)
	}
	params := changeSetParameters(o.Parameters, zipKey, o.ArtifactBucket, kind == cfntypes.ChangeSetTypeUpdate, stack)
	name := fmt.Sprintf("amiswap-%d", time.Now().Unix())
	fmt.Fprintf(progress, "creating change set %s (%s) for stack %s\n", name, kind, o.StackName)
	cctx, cancel := o.call(ctx)
	cs, err := c.CloudFormation.CreateChangeSet(cctx, &cloudformation.CreateChangeSetInput{
		StackName:     aws.String(o.StackName),
		ChangeSetName: aws.String(name),
		ChangeSetType: kind,
		TemplateURL:   aws.String(tmplURLBase + tmplKey),
		Parameters:    params,
		Capabilities:  []cfntypes.Capability{cfntypes.CapabilityCapabilityIam},
		Description:   aws.String("amiswap deploy"),
		Tags:          []cfntypes.Tag{{Key: aws.String("amiswap:stack"), Value: aws.String(o.StackName)}},
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("deploy: create change set: %w", err)
	}
	changes, err := waitChangeSet(ctx, c, o, aws.ToString(cs.Id), progress)
	if err != nil {
		return nil, err
	}
	if changes == nil {
		fmt.Fprintln(progress, "the stack is up to date: nothing to change")
		return stackOutputs(ctx, c, o, progress)
	}
	PrintChanges(progress, changes)
	if o.Confirm != nil {
		ok, err := o.Confirm(ctx, fmt.Sprintf("Execute change set %s on stack %s?", name, o.StackName))
		if err == nil && !ok {
			err = ErrDeclined
		}
		if err != nil {
			deleteChangeSet(ctx, c, o, aws.ToString(cs.Id), progress)
			return nil, err
		}
	}
	seen, err := eventIDs(ctx, c, o)
	if err != nil {
		return nil, err
	}
	cctx, cancel = o.call(ctx)
	_, err = c.CloudFormation.ExecuteChangeSet(cctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id, StackName: aws.String(o.StackName)})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("deploy: execute change set: %w", err)
	}
	status, err := follow(ctx, c, o, seen, progress)
	if err != nil {
		return nil, err
	}
	if status != cfntypes.StackStatusCreateComplete && status != cfntypes.StackStatusUpdateComplete {
		return nil, fmt.Errorf("deploy: stack %s ended %s; its events above say why", o.StackName, status)
	}
	return stackOutputs(ctx, c, o, progress)
}

// Delete removes the stack and waits until it is gone.
func Delete(ctx context.Context, c Clients, o Options, progress io.Writer) error {
	o.defaults()
	stack, err := describeStack(ctx, c, o)
	if err != nil {
		return err
	}
	if stack == nil {
		fmt.Fprintf(progress, "stack %s does not exist: nothing to delete\n", o.StackName)
		return nil
	}
	if err := checkRunning(ctx, c, o, stack, progress); err != nil {
		return err
	}
	if o.Confirm != nil {
		fmt.Fprintf(progress, "stack %s (%s) and every resource it created will be deleted; the artifact bucket is kept\n", o.StackName, stack.StackStatus)
		ok, err := o.Confirm(ctx, fmt.Sprintf("Delete stack %s?", o.StackName))
		if err == nil && !ok {
			err = ErrDeclined
		}
		if err != nil {
			return err
		}
	}
	seen, err := eventIDs(ctx, c, o)
	if err != nil {
		return err
	}
	cctx, cancel := o.call(ctx)
	_, err = c.CloudFormation.DeleteStack(cctx, &cloudformation.DeleteStackInput{StackName: stack.StackId})
	cancel()
	if err != nil {
		return fmt.Errorf("deploy: delete stack: %w", err)
	}
	fmt.Fprintf(progress, "deleting stack %s\n", o.StackName)
	o.StackName = aws.ToString(stack.StackId) // a deleted stack is found by id only
	status, err := follow(ctx, c, o, seen, progress)
	if err != nil {
		return err
	}
	if status != cfntypes.StackStatusDeleteComplete {
		return fmt.Errorf("deploy: stack deletion ended %s; its events above say why", status)
	}
	fmt.Fprintln(progress, "stack deleted (the artifact bucket and its objects are kept)")
	return nil
}

// upload puts an object unless one is already there under its
// content-addressed key.
func upload(ctx context.Context, c Clients, o Options, key string, data []byte, contentType string, progress io.Writer) error {
	cctx, cancel := o.call(ctx)
	defer cancel()
	if _, err := c.S3.HeadObject(cctx, &s3.HeadObjectInput{Bucket: aws.String(o.ArtifactBucket), Key: aws.String(key)}); err == nil {
		fmt.Fprintf(progress, "s3://%s/%s is already uploaded\n", o.ArtifactBucket, key)
		return nil
	}
	_, err := c.S3.PutObject(cctx, &s3.PutObjectInput{
		Bucket: aws.String(o.ArtifactBucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("deploy: upload s3://%s/%s: %w", o.ArtifactBucket, key, err)
	}
	fmt.Fprintf(progress, "uploaded s3://%s/%s (%d bytes)\n", o.ArtifactBucket, key, len(data))
	return nil
}

// describeStack returns the stack, or nil when it does not exist.
func describeStack(ctx context.Context, c Clients, o Options) (*cfntypes.Stack, error) {
	cctx, cancel := o.call(ctx)
	defer cancel()
	out, err := c.CloudFormation.DescribeStacks(cctx, &cloudformation.DescribeStacksInput{StackName: aws.String(o.StackName)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deploy: describe stack %s: %w", o.StackName, err)
	}
	if len(out.Stacks) == 0 || out.Stacks[0].StackStatus == cfntypes.StackStatusDeleteComplete {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// changeSetParameters sets the artifact parameters and the caller's; on
// an update, the template parameters the caller did not give keep their
// previous values.
func changeSetParameters(given map[string]string, zipKey, bucket string, update bool, stack *cfntypes.Stack) []cfntypes.Parameter {
	values := map[string]string{}
	for k, v := range given {
		values[k] = v
	}
	values["ArtifactBucket"], values["ArtifactKey"] = bucket, zipKey
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []cfntypes.Parameter
	for _, k := range names {
		out = append(out, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(values[k])})
	}
	if update && stack != nil {
		for _, p := range stack.Parameters {
			if _, ok := values[aws.ToString(p.ParameterKey)]; !ok {
				out = append(out, cfntypes.Parameter{ParameterKey: p.ParameterKey, UsePreviousValue: aws.Bool(true)})
			}
		}
	}
	return out
}

// waitChangeSet waits for the change set to be ready and returns its
// changes, every page of them. It returns nil (and deletes the change
// set) when there is nothing to change.
func waitChangeSet(ctx context.Context, c Clients, o Options, id string, progress io.Writer) ([]Change, error) {
	for {
		cctx, cancel := o.call(ctx)
		out, err := c.CloudFormation.DescribeChangeSet(cctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), StackName: aws.String(o.StackName)})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("deploy: describe change set: %w", err)
		}
		switch out.Status {
		case cfntypes.ChangeSetStatusCreateComplete:
			changes := changesOf(out.Changes)
			for token := out.NextToken; token != nil; {
				cctx, cancel := o.call(ctx)
				page, err := c.CloudFormation.DescribeChangeSet(cctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: aws.String(id), StackName: aws.String(o.StackName), NextToken: token})
				cancel()
				if err != nil {
					return nil, fmt.Errorf("deploy: describe change set: %w", err)
				}
				changes = append(changes, changesOf(page.Changes)...)
				token = page.NextToken
			}
			fmt.Fprintf(progress, "change set ready: %d changes\n", len(changes))
			if changes == nil {
				changes = []Change{}
			}
			return changes, nil
		case cfntypes.ChangeSetStatusFailed:
			reason := aws.ToString(out.StatusReason)
			if strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") {
				deleteChangeSet(ctx, c, o, id, nil)
				return nil, nil
			}
			return nil, fmt.Errorf("deploy: change set failed: %s", reason)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return nil, err
		}
	}
}

// deleteChangeSet deletes a change set that will not be executed, saying
// so on progress (when not nil).
func deleteChangeSet(ctx context.Context, c Clients, o Options, id string, progress io.Writer) {
	cctx, cancel := o.call(context.WithoutCancel(ctx))
	defer cancel()
	_, err := c.CloudFormation.DeleteChangeSet(cctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: aws.String(id), StackName: aws.String(o.StackName)})
	switch {
	case progress == nil:
	case err != nil:
		fmt.Fprintf(progress, "could not delete change set %s (delete it in the console): %v\n", id, err)
	default:
		fmt.Fprintf(progress, "change set deleted: nothing was changed\n")
	}
}

// Change is one resource change of a change set.
//
// Per the ResourceChange reference (AWS CloudFormation API Reference,
// "ResourceChange", https://docs.aws.amazon.com/goto/WebAPI/cloudformation-2010-05-15/ResourceChange),
// Action is Add, Modify, Remove, Import or Dynamic, and Replacement (True,
// False or Conditional) is given for Modify only.
type Change struct {
	Action            string
	LogicalResourceID string
	ResourceType      string
	Replacement       string
}

func changesOf(cs []cfntypes.Change) []Change {
	var out []Change
	for _, ch := range cs {
		rc := ch.ResourceChange
		if rc == nil {
			continue
		}
		out = append(out, Change{Action: string(rc.Action), LogicalResourceID: aws.ToString(rc.LogicalResourceId),
			ResourceType: aws.ToString(rc.ResourceType), Replacement: string(rc.Replacement)})
	}
	return out
}

// PrintChanges writes the changes as a table (Action, LogicalResourceId,
// ResourceType, Replacement), then a count of each kind.
func PrintChanges(w io.Writer, changes []Change) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  Action\tLogicalResourceId\tResourceType\tReplacement")
	count := map[string]int{}
	replaced := 0
	for _, ch := range changes {
		repl := ch.Replacement
		if repl == "" {
			repl = "-"
		}
		if ch.Replacement == string(cfntypes.ReplacementTrue) || ch.Replacement == string(cfntypes.ReplacementConditional) {
			replaced++
		}
		count[ch.Action]++
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ch.Action, ch.LogicalResourceID, ch.ResourceType, repl)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d to add, %d to modify (%d replaced or possibly replaced), %d to remove\n",
		count[string(cfntypes.ChangeActionAdd)], count[string(cfntypes.ChangeActionModify)], replaced, count[string(cfntypes.ChangeActionRemove)])
}

// eventIDs returns the ids of the stack's events so far (none for a new
// stack), so that follow shows only this operation's.
func eventIDs(ctx context.Context, c Clients, o Options) (map[string]bool, error) {
	seen := map[string]bool{}
	evs, err := stackEvents(ctx, c, o)
	for _, e := range evs {
		seen[aws.ToString(e.EventId)] = true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" {
		return seen, nil
	}
	return seen, err
}

func stackEvents(ctx context.Context, c Clients, o Options) ([]cfntypes.StackEvent, error) {
	var all []cfntypes.StackEvent
	var token *string
	for page := 0; page < 50; page++ {
		cctx, cancel := o.call(ctx)
		out, err := c.CloudFormation.DescribeStackEvents(cctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(o.StackName), NextToken: token})
		cancel()
		if err != nil {
			return all, err
		}
		all = append(all, out.StackEvents...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	return all, nil
}

// follow prints the stack's new events, oldest first, until the stack
// reaches a terminal status, and returns that status. The status is read
// before the events, so that the events that led to it are all printed.
func follow(ctx context.Context, c Clients, o Options, seen map[string]bool, progress io.Writer) (cfntypes.StackStatus, error) {
	for {
		var status cfntypes.StackStatus
		cctx, cancel := o.call(ctx)
		out, err := c.CloudFormation.DescribeStacks(cctx, &cloudformation.DescribeStacksInput{StackName: aws.String(o.StackName)})
		cancel()
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "does not exist"):
			return cfntypes.StackStatusDeleteComplete, nil
		case err != nil:
			return "", fmt.Errorf("deploy: describe stack: %w", err)
		case len(out.Stacks) > 0:
			status = out.Stacks[0].StackStatus
		}
		evs, err := stackEvents(ctx, c, o)
		if err != nil {
			return "", fmt.Errorf("deploy: stack events: %w", err)
		}
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if seen[aws.ToString(e.EventId)] {
				continue
			}
			seen[aws.ToString(e.EventId)] = true
			line := fmt.Sprintf("%s  %-28s %-36s %s", aws.ToTime(e.Timestamp).UTC().Format("15:04:05"),
				aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), e.ResourceStatus)
			if r := aws.ToString(e.ResourceStatusReason); r != "" {
				line += "  " + r
			}
			fmt.Fprintln(progress, line)
		}
		if status != "" && terminal(status) {
			return status, nil
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return "", err
		}
	}
}

func terminal(st cfntypes.StackStatus) bool {
	s := string(st)
	return !strings.HasSuffix(s, "_IN_PROGRESS")
}

// stackOutputs prints and returns the stack's outputs.
func stackOutputs(ctx context.Context, c Clients, o Options, progress io.Writer) (map[string]string, error) {
	stack, err := describeStack(ctx, c, o)
	if err != nil {
		return nil, err
	}
	if stack == nil {
		return nil, fmt.Errorf("deploy: stack %s is gone", o.StackName)
	}
	out := map[string]string{}
	for _, op := range stack.Outputs {
		out[aws.ToString(op.OutputKey)] = aws.ToString(op.OutputValue)
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(progress, "stack %s: %s\n", o.StackName, stack.StackStatus)
	for _, k := range keys {
		fmt.Fprintf(progress, "  %-16s %s\n", k, out[k])
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ensureBucket checks that the artifact bucket exists and, when it does
// not and Options.CreateBucket says so, creates it in the clients' region
// with every public access blocked.
func ensureBucket(ctx context.Context, c Clients, o Options, progress io.Writer) error {
	cctx, cancel := o.call(ctx)
	_, err := c.S3.HeadBucket(cctx, &s3.HeadBucketInput{Bucket: aws.String(o.ArtifactBucket)})
	cancel()
	switch status := httpStatus(err); {
	case err == nil:
		return nil
	case status == http.StatusForbidden:
		return fmt.Errorf("deploy: the artifact bucket %s exists but this identity may not use it (403): bucket names are global, so it may be another account's; choose another --artifact-bucket: %w", o.ArtifactBucket, err)
	case status == http.StatusMovedPermanently:
		return fmt.Errorf("deploy: the artifact bucket %s is in another region than %s: use a bucket in the stack's region: %w", o.ArtifactBucket, c.Region, err)
	case status != http.StatusNotFound:
		return fmt.Errorf("deploy: check the artifact bucket %s: %w", o.ArtifactBucket, err)
	case !o.CreateBucket:
		return &BucketMissingError{Bucket: o.ArtifactBucket, Region: c.Region}
	}
	// A bucket outside us-east-1 needs its region as LocationConstraint;
	// in us-east-1 none is given ("CreateBucketConfiguration", Amazon S3
	// API Reference: "If you are creating a bucket on the US East (N.
	// Virginia) Region (us-east-1), you do not need to specify the
	// location", https://docs.aws.amazon.com/sdk-for-sap-abap/v1/api/latest/s3c/model/_AWS1_CL_S3CCREATEBUCKETCONF.html;
	// S3 refuses us-east-1 as a constraint, and moto refuses a missing one
	// elsewhere with IllegalLocationConstraintException).
	in := &s3.CreateBucketInput{Bucket: aws.String(o.ArtifactBucket)}
	if c.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.Region)}
	}
	cctx, cancel = o.call(ctx)
	_, err = c.S3.CreateBucket(cctx, in)
	cancel()
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("deploy: create the artifact bucket %s in %s: %w", o.ArtifactBucket, c.Region, err)
	}
	// The four settings of "PublicAccessBlockConfiguration" (Amazon S3 API
	// Reference, https://docs.aws.amazon.com/goto/WebAPI/s3-2006-03-01/PublicAccessBlockConfiguration):
	// the artifacts are read by CloudFormation and Lambda through the
	// deployer's credentials, never publicly.
	cctx, cancel = o.call(ctx)
	_, err = c.S3.PutPublicAccessBlock(cctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(o.ArtifactBucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	})
	cancel()
	if err != nil {
		return fmt.Errorf("deploy: block public access to the artifact bucket %s: %w", o.ArtifactBucket, err)
	}
	fmt.Fprintf(progress, "created the artifact bucket s3://%s in %s, with all public access blocked\n", o.ArtifactBucket, c.Region)
	return nil
}

// httpStatus is the HTTP status of an AWS error, or 0.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// checkRunning refuses, unless Options.Force, to delete a stack whose
// state machine has running executions ("ListExecutions", AWS Step
// Functions API Reference: statusFilter RUNNING lists the executions
// still running, most recent first, and is eventually consistent,
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html).
func checkRunning(ctx context.Context, c Clients, o Options, stack *cfntypes.Stack, progress io.Writer) error {
	arn := ""
	for _, op := range stack.Outputs {
		if aws.ToString(op.OutputKey) == "StateMachineArn" {
			arn = aws.ToString(op.OutputValue)
		}
	}
	if arn == "" {
		// All of the stack's resources (it has fewer than the 100 that
		// DescribeStackResources returns), not a LogicalResourceId filter,
		// which moto 5.2 answers with HTTP 500.
		cctx, cancel := o.call(ctx)
		res, err := c.CloudFormation.DescribeStackResources(cctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(o.StackName)})
		cancel()
		if err != nil {
			return fmt.Errorf("deploy: find the stack's state machine (or pass --force): %w", err)
		}
		for _, r := range res.StackResources {
			if aws.ToString(r.LogicalResourceId) == "StateMachine" {
				arn = aws.ToString(r.PhysicalResourceId)
			}
		}
	}
	if arn == "" {
		return nil
	}
	var running []string
	var token *string
	for page := 0; page < 10; page++ {
		cctx, cancel := o.call(ctx)
		out, err := c.StepFunctions.ListExecutions(cctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(arn), StatusFilter: sfntypes.ExecutionStatusRunning, NextToken: token})
		cancel()
		var missing *sfntypes.StateMachineDoesNotExist
		if errors.As(err, &missing) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("deploy: list the running executions of %s (or pass --force): %w", arn, err)
		}
		for _, e := range out.Executions {
			running = append(running, aws.ToString(e.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if len(running) == 0 {
		return nil
	}
	if !o.Force {
		return &RunningExecutionsError{StateMachine: arn, Executions: running}
	}
	fmt.Fprintf(progress, "warning: deleting the stack under %d running execution(s) (--force): %s; their builders may be left behind\n", len(running), strings.Join(running, ", "))
	return nil
}
