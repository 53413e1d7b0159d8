package deploy_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
)

// outsideReference are the ARN formats of the resource types the
// deployer's cloudformation, s3 and sqs actions authorize, which the
// embedded reference (package awssim/iam) does not hold: from the Service
// Authorization Reference pages "Actions, resources, and condition keys
// for AWS CloudFormation"
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html),
// "… for Amazon S3" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html)
// and "… for Amazon SQS" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html).
var outsideReference = func() map[string][]string {
	const (
		stack  = "arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}"
		bucket = "arn:${Partition}:s3:::${BucketName}"
		object = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
		queue  = "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}"
	)
	m := map[string][]string{
		"s3:CreateBucket": {bucket}, "s3:ListBucket": {bucket}, "s3:PutBucketPublicAccessBlock": {bucket},
		"s3:GetObject": {object}, "s3:PutObject": {object},
	}
	for _, a := range []string{"CreateChangeSet", "DeleteChangeSet", "DeleteStack", "DescribeChangeSet", "DescribeStackEvents",
		"DescribeStackResources", "DescribeStacks", "ExecuteChangeSet", "ListChangeSets"} {
		m["cloudformation:"+a] = []string{stack}
	}
	for _, a := range []string{"CreateQueue", "DeleteQueue", "GetQueueAttributes", "GetQueueUrl", "ListQueueTags", "SetQueueAttributes", "TagQueue", "UntagQueue"} {
		m["sqs:"+a] = []string{queue}
	}
	return m
}()

// arnFormatMatches reports whether an ARN pattern of a policy (with *)
// names resources of an ARN format (with ${…} placeholders).
func arnFormatMatches(format, pattern string) bool {
	re := regexp.QuoteMeta(format)
	re = regexp.MustCompile(`\\\$\\\{[A-Za-z]+\\\}`).ReplaceAllString(re, `[^:]*`)
	// The policy's * stands for any text, a placeholder for one field
	// (an object name or id may hold slashes).
	re = strings.ReplaceAll(re, `[^:]*`, `.*`)
	return regexp.MustCompile("^" + re + "$").MatchString(strings.ReplaceAll(pattern, "*", "x"))
}

// TestDeployerPolicyAgainstTheReference checks each statement of the
// deployer policy against the Service Authorization Reference: every
// action exists, and every resource matches a resource type the action
// authorizes (or is "*" for an action without resource-level
// permissions); condition keys apply.
func TestDeployerPolicyAgainstTheReference(t *testing.T) {
	doc, err := deploy.DeployerPolicy(deploy.DeployerScope{StackName: "amiswap", ArtifactBucket: "my-artifacts"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" || len(st.Action) == 0 || len(st.Resource) == 0 {
			t.Errorf("statement %s: %+v", st.Sid, st)
		}
		var inRef []string
		for _, a := range st.Action {
			formats, outside := outsideReference[a]
			if !outside {
				inRef = append(inRef, a)
				continue
			}
			for _, r := range st.Resource {
				ok := false
				for _, f := range formats {
					ok = ok || arnFormatMatches(f, r)
				}
				if !ok {
					t.Errorf("statement %s: %s on %s matches none of %v", st.Sid, a, r, formats)
				}
			}
		}
		if len(inRef) == 0 {
			continue
		}
		s := iam.Statement{Sid: st.Sid, Actions: inRef, Resources: st.Resource}
		for op, keys := range st.Condition {
			for k, v := range keys {
				s.Conditions = append(s.Conditions, iam.Condition{Operator: op, Key: k, Values: v})
			}
		}
		for _, p := range iam.CheckStatement(s) {
			t.Errorf("statement %s: %s", st.Sid, p)
		}
	}
}

// TestDeployerPolicyCoversTheTemplate: every resource type of the template
// is one the deployer policy lets CloudFormation manage, and the policy
// is scoped: no action on "*" but those IAM cannot scope.
func TestDeployerPolicyCoversTheTemplate(t *testing.T) {
	var tmpl struct {
		Resources map[string]struct{ Type string }
	}
	if err := json.Unmarshal(deploy.Template(), &tmpl); err != nil {
		t.Fatal(err)
	}
	doc, err := deploy.DeployerPolicy(deploy.DeployerScope{StackName: "amiswap", ArtifactBucket: "my-artifacts"})
	if err != nil {
		t.Fatal(err)
	}
	sids := map[string]deploy.PolicyStatement{}
	for _, st := range doc.Statement {
		sids[st.Sid] = st
	}
	types := map[string]bool{}
	for _, r := range tmpl.Resources {
		types[r.Type] = true
	}
	for typ := range types {
		needs := deploy.DeployerStatementsFor(typ)
		if len(needs) == 0 {
			t.Errorf("the deployer policy does not cover %s, a resource type of the template", typ)
		}
		for _, sid := range needs {
			if _, ok := sids[sid]; !ok {
				t.Errorf("%s needs statement %s, which the policy lacks", typ, sid)
			}
		}
	}
	var unscoped []string
	for _, st := range doc.Statement {
		for _, r := range st.Resource {
			if r == "*" {
				unscoped = append(unscoped, st.Action...)
			}
		}
	}
	sort.Strings(unscoped)
	for _, a := range unscoped {
		if info := iam.LookupAction(a); info == nil || len(info.Resources) > 0 {
			t.Errorf("%s is granted on \"*\" although IAM can scope it", a)
		}
	}
	for _, st := range doc.Statement {
		for _, r := range st.Resource {
			if strings.Contains(r, ":s3:::") && !strings.Contains(r, "my-artifacts") {
				t.Errorf("statement %s names %s, not the artifact bucket", st.Sid, r)
			}
		}
	}
}
