package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap/internal/motoserver"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// startMoto runs moto_server on a free loopback port until the test ends,
// or skips the test when it is not installed.
func startMoto(t *testing.T) *motoserver.Server {
	t.Helper()
	if testing.Short() {
		t.Skip(motoserver.ErrShort.Error())
	}
	srv, err := motoserver.Start(context.Background())
	if errors.Is(err, motoserver.ErrNotFound) {
		t.Skip("moto_server is not on PATH (pip install 'moto[server]'); skipping the deployment test")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// motoConfig is an SDK configuration for srv with no time limit on a
// call: under load, moto can take long to create a stack's resources, and
// the test must not fail for it (go test's -timeout still bounds a hang).
func motoConfig(srv *motoserver.Server, region string) aws.Config {
	cfg := srv.Config(region)
	if hc, ok := cfg.HTTPClient.(*http.Client); ok {
		unbounded := *hc
		unbounded.Timeout = 0
		cfg.HTTPClient = &unbounded
	}
	return cfg
}

func TestDeployAgainstMoto(t *testing.T) {
	// No deadline: this test once failed under load with one, and passed
	// alone.
	ctx := context.Background()
	cfg := motoConfig(startMoto(t), "us-east-1")
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("amiswap-artifacts")}); err != nil {
		t.Fatal(err)
	}
	zipData, err := LambdaZip([]byte("#!/bin/sh\necho not a real bootstrap\n"))
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(t.TempDir(), "amiswap-lambda.zip")
	if err := os.WriteFile(zipPath, zipData, 0o644); err != nil {
		t.Fatal(err)
	}
	clients := Clients{S3: s3c, CloudFormation: cloudformation.NewFromConfig(cfg), StepFunctions: sfn.NewFromConfig(cfg), Region: "us-east-1"}
	opts := Options{
		// CloudFormation's longest stack name: every resource name still
		// fits AWS's limits (see NamePrefix).
		StackName: longStackName, ArtifactBucket: "amiswap-artifacts", LambdaZip: zipPath,
		Parameters: map[string]string{"BuilderSubnetId": "subnet-0123456789abcdef0", "BuilderSecurityGroupIds": "sg-01,sg-02", "NotificationEmail": "ops@example.com",
			"BuilderRoleArns": "arn:aws:iam::123456789012:role/builder",
			// Given, so that the redeploy below sends it as a value: moto
			// 5.2 takes a UsePreviousValue parameter that a Condition reads
			// (HasKmsKeys) for a changed one, modifies the resources behind
			// it, and fails the update with "Fn::GetAtt references
			// undefined resource". CloudFormation keeps the previous value;
			// changeSetParameters' UsePreviousValue is tested with fakes.
			"KmsKeyArns": ""},
		Poll: 200 * time.Millisecond, CallTimeout: NoCallTimeout,
	}
	var progress bytes.Buffer
	outputs, err := Deploy(ctx, clients, opts, &progress)
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	res, err := clients.CloudFormation.(*cloudformation.Client).DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(opts.StackName)})
	if err != nil {
		t.Fatal(err)
	}
	physical := map[string]string{}
	for _, r := range res.StackResources {
		physical[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
	}
	if len(outputs) == 0 {
		// moto applies a change set to the resources but keeps the
		// outputs it computed for the empty stack (FakeChangeSet.apply
		// does not rebuild output_map); AWS fills them in.
		t.Log("moto reports no outputs after a change set; reading the resources instead")
		outputs = map[string]string{"StateMachineArn": physical["StateMachine"], "TopicArn": physical["Topic"],
			"LockTableName": physical["LockTable"], "RuleName": physical["BackupCompletedRule"]}
	}
	for _, k := range []string{"StateMachineArn", "TopicArn", "LockTableName", "RuleName"} {
		if outputs[k] == "" {
			t.Errorf("no output %s: %v (resources %v)", k, outputs, physical)
		}
	}
	if outputs["LockTableName"] != NamePrefix(opts.StackName)+"-locks" {
		t.Errorf("lock table %q", outputs["LockTableName"])
	}
	if !strings.Contains(progress.String(), "uploaded s3://amiswap-artifacts/"+ArtifactKey(zipData)) ||
		!strings.Contains(progress.String(), "CREATE_COMPLETE") {
		t.Errorf("progress does not show the upload and the creation")
	}

	// The state machine: the embedded definition with every placeholder
	// replaced by its function's ARN.
	sm, err := sfn.NewFromConfig(cfg).DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(outputs["StateMachineArn"])})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(string(workflow.Definition()), workflow.PartitionPlaceholder, "aws")
	for _, f := range workflow.Functions {
		want = strings.ReplaceAll(want, workflow.Placeholder(f.Name), "arn:aws:lambda:us-east-1:123456789012:function:"+FunctionName(NamePrefix(opts.StackName), f.Name))
	}
	if !jsonEqual(t, aws.ToString(sm.Definition), want) {
		t.Errorf("state machine definition is not the definition with the function ARNs substituted: %s", firstDifference(aws.ToString(sm.Definition), want))
	}

	// The rule: pattern and transformer.
	eb := eventbridge.NewFromConfig(cfg)
	rule, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(outputs["RuleName"])})
	if err != nil {
		t.Fatal(err)
	}
	pattern, _ := json.Marshal(RulePattern())
	if !jsonEqual(t, aws.ToString(rule.EventPattern), string(pattern)) {
		t.Errorf("rule pattern %s, want %s", aws.ToString(rule.EventPattern), pattern)
	}
	targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(outputs["RuleName"])})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Targets) != 1 {
		t.Fatalf("rule targets %+v", targets.Targets)
	}
	tg := targets.Targets[0]
	if aws.ToString(tg.Arn) != outputs["StateMachineArn"] || tg.InputTransformer == nil ||
		!reflect.DeepEqual(tg.InputTransformer.InputPathsMap, InputPaths()) || aws.ToString(tg.InputTransformer.InputTemplate) != InputTemplate {
		t.Errorf("rule target %s transformer %+v", aws.ToString(tg.Arn), tg.InputTransformer)
	}

	// The roles: each function's inline policy holds exactly its actions.
	iamc := iam.NewFromConfig(cfg)
	for _, f := range workflow.Functions {
		roleName := physical[LogicalID(f.Name, "Role")]
		if roleName == "" {
			t.Errorf("no role for %s", f.Name)
			continue
		}
		names, err := iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
		if err != nil || len(names.PolicyNames) != 1 {
			t.Errorf("%s role policies %v: %v", f.Name, names, err)
			continue
		}
		pol, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(names.PolicyNames[0])})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
		if err != nil {
			doc = aws.ToString(pol.PolicyDocument)
		}
		if strings.HasPrefix(doc, "{'") {
			// moto returns the inline policies of roles it created from
			// a template as a Python dict; ours hold no quotes.
			doc = strings.ReplaceAll(doc, "'", `"`)
		}
		if got, want := policyActions(t, doc), expectedActions(f.Name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s role allows %v, want %v", f.Name, got, want)
		}
	}

	// A second deploy of the same package and template changes nothing
	// that matters and keeps the outputs.
	progress.Reset()
	again, err := Deploy(ctx, clients, opts, &progress)
	if err != nil {
		t.Fatalf("redeploy: %v\n%s", err, progress.String())
	}
	if (len(again) > 0 && again["StateMachineArn"] != outputs["StateMachineArn"]) || !strings.Contains(progress.String(), "already uploaded") {
		t.Errorf("redeploy outputs %v, progress:\n%s", again, progress.String())
	}

	progress.Reset()
	if err := Delete(ctx, clients, opts, &progress); err != nil {
		t.Fatalf("delete: %v\n%s", err, progress.String())
	}
	if st, err := describeStack(ctx, clients, opts); err != nil || st != nil {
		t.Errorf("after delete: stack %v, %v", st, err)
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Errorf("not JSON: %v: %.200s", err, a)
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Errorf("not JSON: %v: %.200s", err, b)
		return false
	}
	return reflect.DeepEqual(x, y)
}

func policyActions(t *testing.T, doc string) []string {
	t.Helper()
	var d struct {
		Statement []struct {
			Action any
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("policy document: %v: %s", err, doc)
	}
	set := map[string]bool{}
	for _, s := range d.Statement {
		switch a := s.Action.(type) {
		case string:
			set[a] = true
		case []any:
			for _, x := range a {
				set[x.(string)] = true
			}
		}
	}
	return sortedKeys(set)
}

func expectedActions(function string) []string {
	set := map[string]bool{"logs:CreateLogStream": true, "logs:PutLogEvents": true}
	for _, s := range Policies[function] {
		for _, a := range s.Action {
			set[a] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// firstDifference shows where two texts part.
func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("at byte %d:\n got …%s…\nwant …%s…", i, got[lo:min(len(got), i+80)], want[lo:min(len(want), i+80)])
}

// TestArtifactBucketAgainstMoto: over the S3 wire protocol, a missing
// bucket is a BucketMissingError (HeadBucket answers 404 with no body),
// and --create-bucket creates it in the region (LocationConstraint
// outside us-east-1: moto, as S3, refuses a bucket without one there)
// with every public access blocked.
func TestArtifactBucketAgainstMoto(t *testing.T) {
	srv := startMoto(t)
	ctx := context.Background()
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		s3c := s3.NewFromConfig(motoConfig(srv, region), func(o *s3.Options) { o.UsePathStyle = true })
		c := Clients{S3: s3c, Region: region}
		o := Options{ArtifactBucket: "amiswap-artifacts-" + region}
		o.defaults()
		var progress bytes.Buffer
		err := ensureBucket(ctx, c, o, &progress)
		var missing *BucketMissingError
		if !errors.As(err, &missing) {
			t.Fatalf("%s: missing bucket: %v, want a BucketMissingError", region, err)
		}
		o.CreateBucket = true
		if err := ensureBucket(ctx, c, o, &progress); err != nil {
			t.Fatalf("%s: create: %v", region, err)
		}
		loc, err := s3c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(o.ArtifactBucket)})
		if err != nil {
			t.Fatal(err)
		}
		// GetBucketLocation answers an empty constraint for us-east-1.
		if want := strings.TrimPrefix(region, "us-east-1"); string(loc.LocationConstraint) != want {
			t.Errorf("%s: bucket location %q", region, loc.LocationConstraint)
		}
		pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(o.ArtifactBucket)})
		if err != nil {
			t.Fatal(err)
		}
		if b := pab.PublicAccessBlockConfiguration; !aws.ToBool(b.BlockPublicAcls) || !aws.ToBool(b.IgnorePublicAcls) || !aws.ToBool(b.BlockPublicPolicy) || !aws.ToBool(b.RestrictPublicBuckets) {
			t.Errorf("%s: public access block %+v", region, b)
		}
		// Existing now: nothing more to do.
		progress.Reset()
		if err := ensureBucket(ctx, c, o, &progress); err != nil || progress.Len() > 0 {
			t.Errorf("%s: existing bucket: %v %q", region, err, progress.String())
		}
	}
}
