package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/amiswap/amiswap/workflow"
)

func TestTemplateUpToDate(t *testing.T) {
	want, err := BuildTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Template(), want) {
		t.Fatal("deploy/template.json is stale: run go generate ./deploy")
	}
}

func TestTemplatePassesCfnLint(t *testing.T) {
	if testing.Short() {
		t.Skip("cfn-lint takes seconds: skipped under -short")
	}
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH; install it with pip install cfn-lint to lint the template")
	}
	dir := t.TempDir()
	path := dir + "/template.json"
	if err := os.WriteFile(path, Template(), 0o644); err != nil {
		t.Fatal(err)
	}
	// --include-checks I: the informational rules too, which cfn-lint
	// leaves out by default.
	out, err := exec.Command(bin, "--format", "parseable", "--include-checks", "I", "--", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}

func parsedTemplate(t *testing.T) map[string]any {
	t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal(Template(), &tmpl); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestTemplateWiresEveryFunction(t *testing.T) {
	tmpl := parsedTemplate(t)
	res := tmpl["Resources"].(map[string]any)
	sm := res["StateMachine"].(map[string]any)["Properties"].(map[string]any)
	def := sm["DefinitionString"].(map[string]any)["Fn::Sub"].(string)
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{(\w+)\.Arn\}`).FindAllStringSubmatch(def, -1) {
		used[m[1]] = true
		def = strings.ReplaceAll(def, m[0], "${"+strings.TrimSuffix(m[1], "Function")+"FunctionArn}")
	}
	def = strings.ReplaceAll(def, "${AWS::Partition}", workflow.PartitionPlaceholder)
	if def != string(workflow.Definition()) {
		t.Error("DefinitionString is not the embedded workflow definition with ${XFunction.Arn} for ${XFunctionArn}")
	}
	if strings.Contains(def, "${") && regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(def, "") != regexp.MustCompile(`\$\{(\w+FunctionArn|Partition)\}`).ReplaceAllString(def, "") {
		t.Error("the definition has ${…} other than function placeholders, which Fn::Sub would resolve")
	}
	for _, f := range workflow.Functions {
		fn, ok := res[LogicalID(f.Name, "Function")].(map[string]any)
		if !ok {
			t.Errorf("no Lambda function for %s", f.Name)
			continue
		}
		p := fn["Properties"].(map[string]any)
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["AMISWAP_FUNCTION"] != f.Name || p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
			t.Errorf("%s: environment %v runtime %v handler %v", f.Name, env["AMISWAP_FUNCTION"], p["Runtime"], p["Handler"])
		}
		if got := p["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0]; got != LogicalID(f.Name, "Role") {
			t.Errorf("%s runs as %v, not its own role", f.Name, got)
		}
		if !used[LogicalID(f.Name, "Function")] {
			t.Errorf("the definition never invokes %s", f.Name)
		}
	}
	rule := res["BackupCompletedRule"].(map[string]any)["Properties"].(map[string]any)
	pattern, _ := json.Marshal(rule["EventPattern"])
	if string(pattern) != `{"detail":{"resourceType":["EC2"],"state":["COMPLETED"]},"detail-type":["Backup Job State Change"],"source":["aws.backup"]}` {
		t.Errorf("rule pattern %s", pattern)
	}
	for _, out := range []string{"StateMachineArn", "TopicArn", "LockTableName", "RuleName"} {
		if _, ok := tmpl["Outputs"].(map[string]any)[out]; !ok {
			t.Errorf("no output %s", out)
		}
	}
}

func TestPoliciesCoverFunctionsOnly(t *testing.T) {
	names := map[string]bool{}
	for _, f := range workflow.Functions {
		names[f.Name] = true
		if len(Policies[f.Name]) == 0 {
			t.Errorf("function %s has no policy", f.Name)
		}
	}
	for name, stmts := range Policies {
		if !names[name] {
			t.Errorf("policy for %s, which is not a function", name)
		}
		for _, s := range stmts {
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s grants a wildcard action %s", name, s.Sid, a)
				}
			}
		}
	}
}

// TestTemplateIsPartitionAware: no ARN of the template names the aws
// partition; each takes the stack's (${AWS::Partition}), so that the stack
// deploys to aws-cn and aws-us-gov too ("Amazon Resource Names (ARNs)",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
func TestTemplateIsPartitionAware(t *testing.T) {
	text := string(Template())
	if i := strings.Index(text, "arn:aws:"); i >= 0 {
		t.Errorf("the template names the aws partition: …%s…", text[max(0, i-80):min(len(text), i+80)])
	}
	def := parsedTemplate(t)["Resources"].(map[string]any)["StateMachine"].(map[string]any)["Properties"].(map[string]any)["DefinitionString"].(map[string]any)["Fn::Sub"].(string)
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov"} {
		got := strings.ReplaceAll(def, "${AWS::Partition}", partition)
		if n, want := strings.Count(got, `"Resource": "`+workflow.LambdaInvokeResource(partition)+`"`), strings.Count(def, `"Resource": `); n != want || n == 0 {
			t.Errorf("%s: %d of %d task resources are %s", partition, n, want, workflow.LambdaInvokeResource(partition))
		}
	}
}

// longStackName is CloudFormation's longest stack name, 128 characters.
var longStackName = "a" + strings.Repeat("mis-wap-", 15) + "xxxxxxx"

func TestNamePrefix(t *testing.T) {
	if len(longStackName) != 128 {
		t.Fatalf("long stack name has %d characters", len(longStackName))
	}
	other := longStackName[:127] + "y"
	pattern := regexp.MustCompile(parsedTemplate(t)["Parameters"].(map[string]any)["NamePrefix"].(map[string]any)["AllowedPattern"].(string))
	for _, stack := range []string{"amiswap", strings.Repeat("s", 40), strings.Repeat("s", 41), longStackName, other, "a-------------------------------------------------b"} {
		p := NamePrefix(stack)
		if len(p) > MaxNamePrefix || !pattern.MatchString(p) || p != NamePrefix(stack) {
			t.Errorf("NamePrefix(%q) = %q: over %d characters, not the parameter's pattern, or not deterministic", stack, p, MaxNamePrefix)
		}
		if len(stack) <= MaxNamePrefix && p != stack {
			t.Errorf("NamePrefix(%q) = %q: a short stack name is the prefix", stack, p)
		}
	}
	if NamePrefix(longStackName) == NamePrefix(other) {
		t.Errorf("two long stack names that differ at the end share the prefix %q", NamePrefix(other))
	}
}

// TestTemplateNamesFitAWSLimits resolves every resource name of the
// template for a 128-character stack name (with the prefix amiswap deploy
// passes) and checks it against AWS's limit for its type; without a
// prefix, CloudFormation names the resources.
func TestTemplateNamesFitAWSLimits(t *testing.T) {
	nameProps := map[string]string{
		"AWS::Lambda::Function": "FunctionName", "AWS::Events::Rule": "Name", "AWS::StepFunctions::StateMachine": "StateMachineName",
		"AWS::Logs::LogGroup": "LogGroupName", "AWS::SNS::Topic": "TopicName", "AWS::DynamoDB::Table": "TableName",
		"AWS::SQS::Queue": "QueueName", "AWS::IAM::Role": "RoleName",
	}
	prefix := NamePrefix(longStackName)
	seen := map[string]string{}
	for id, r := range parsedTemplate(t)["Resources"].(map[string]any) {
		r := r.(map[string]any)
		typ, _ := r["Type"].(string)
		prop, ok := nameProps[typ]
		props, _ := r["Properties"].(map[string]any)
		if !ok && typ != "AWS::Lambda::Permission" && typ != "AWS::Lambda::EventInvokeConfig" { // their FunctionName refers to a function
			for _, k := range []string{"Name", "FunctionName", "TableName", "TopicName", "QueueName", "RoleName"} {
				if _, named := props[k]; named {
					t.Errorf("%s (%s) has a name %s whose limit the test does not know", id, typ, k)
				}
			}
		}
		if !ok {
			continue
		}
		v, named := props[prop]
		if !named {
			continue // CloudFormation names it within the limit
		}
		// Fn::If [HasNamePrefix, {Fn::Sub: pattern}, {Ref: AWS::NoValue}]
		b, _ := json.Marshal(v)
		var f struct {
			If []json.RawMessage `json:"Fn::If"`
		}
		var pattern struct {
			Sub string `json:"Fn::Sub"`
		}
		if json.Unmarshal(b, &f) != nil || len(f.If) != 3 || string(f.If[0]) != `"HasNamePrefix"` || json.Unmarshal(f.If[1], &pattern) != nil ||
			string(f.If[2]) != `{"Ref":"AWS::NoValue"}` {
			t.Errorf("%s.%s is %s, not named from NamePrefix or left to CloudFormation", id, prop, b)
			continue
		}
		name := strings.ReplaceAll(pattern.Sub, "${NamePrefix}", prefix)
		if strings.Contains(name, "${") {
			t.Errorf("%s.%s = %q depends on more than NamePrefix", id, prop, name)
		}
		if limit := NameLimits[typ]; len(name) > limit {
			t.Errorf("%s.%s = %q: %d characters, over the %d a %s name may have", id, prop, name, len(name), limit, typ)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("%s and %s are both named %q", id, other, name)
		}
		seen[name] = id
	}
	if len(seen) < len(workflow.Functions)+4 {
		t.Errorf("only %d named resources", len(seen))
	}
}

// TestBuilderRoleArnsRequired: the template refuses an empty
// BuilderRoleArns: the parameter has no default, and each element must be
// a role ARN.
func TestBuilderRoleArnsRequired(t *testing.T) {
	p := parsedTemplate(t)["Parameters"].(map[string]any)["BuilderRoleArns"].(map[string]any)
	if _, ok := p["Default"]; ok {
		t.Errorf("BuilderRoleArns has a default %v", p["Default"])
	}
	re := regexp.MustCompile(p["AllowedPattern"].(string))
	for _, ok := range []string{"arn:aws:iam::123456789012:role/web", "arn:aws-cn:iam::123456789012:role/path/web", "arn:aws-us-gov:iam::123456789012:role/a.b@c"} {
		if !re.MatchString(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"", "web", "arn:aws:iam::123456789012:instance-profile/web", "arn:aws:iam::12345:role/web"} {
		if re.MatchString(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, c := range []struct{ roles, want string }{
		{"", "--builder-role-arns is required"},
		{" ", "--builder-role-arns is required"},
		{"arn:aws:iam::123456789012:role/a,web", `"web" is not an IAM role ARN`},
	} {
		o := Options{StackName: "amiswap", ArtifactBucket: "b", Parameters: map[string]string{"BuilderRoleArns": c.roles}}
		err := o.Validate()
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("roles %q: %v, want a UsageError saying %q", c.roles, err, c.want)
		}
	}
	o := Options{StackName: longStackName, ArtifactBucket: "b", Parameters: map[string]string{"BuilderRoleArns": "arn:aws:iam::123456789012:role/a"}}
	if err := o.Validate(); err != nil || o.Parameters["NamePrefix"] != NamePrefix(longStackName) {
		t.Errorf("valid options: %v, NamePrefix %q", err, o.Parameters["NamePrefix"])
	}
	o = Options{StackName: longStackName + "x", ArtifactBucket: "b", Parameters: map[string]string{"BuilderRoleArns": "arn:aws:iam::123456789012:role/a"}}
	if err := o.Validate(); err == nil {
		t.Error("a 129-character stack name was accepted")
	}
}

// TestTemplateURLPerPartition: the template's S3 URL takes the endpoint
// of the region's partition ("Amazon S3 endpoints",
// https://docs.aws.amazon.com/general/latest/gr/s3.html; China:
// https://docs.amazonaws.cn/en_us/aws/latest/userguide/endpoints-Beijing.html).
func TestTemplateURLPerPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "https://my-bucket.s3.us-east-1.amazonaws.com/amiswap/t.json",
		"eu-west-3":      "https://my-bucket.s3.eu-west-3.amazonaws.com/amiswap/t.json",
		"cn-north-1":     "https://my-bucket.s3.cn-north-1.amazonaws.com.cn/amiswap/t.json",
		"cn-northwest-1": "https://my-bucket.s3.cn-northwest-1.amazonaws.com.cn/amiswap/t.json",
		"us-gov-west-1":  "https://my-bucket.s3.us-gov-west-1.amazonaws.com/amiswap/t.json",
	} {
		got, err := TemplateURL(context.Background(), region, "my-bucket", "amiswap/t.json")
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", region, got, err, want)
		}
	}
	if _, err := TemplateURL(context.Background(), "", "b", "k"); err == nil {
		t.Error("no region accepted")
	}
}

// TestJanitorRuleAndDeadLetterQueue: the janitor rule watches this stack's
// state machine for the three endings outside its Catch and targets the
// janitor function, which EventBridge may invoke; both rules' targets
// retry and then hand undeliverable events to the queue, which only
// EventBridge may write to, for these rules.
func TestJanitorRuleAndDeadLetterQueue(t *testing.T) {
	res := parsedTemplate(t)["Resources"].(map[string]any)
	props := func(id string) map[string]any { return res[id].(map[string]any)["Properties"].(map[string]any) }
	rule := props("ExecutionEndedRule")
	got, _ := json.Marshal(rule["EventPattern"])
	want, _ := json.Marshal(JanitorPattern(map[string]any{"Ref": "StateMachine"}))
	if string(got) != string(want) || !strings.Contains(string(got), `"status":["FAILED","TIMED_OUT","ABORTED"]`) {
		t.Errorf("janitor pattern %s, want %s", got, want)
	}
	target := rule["Targets"].([]any)[0].(map[string]any)
	if a, _ := json.Marshal(target["Arn"]); string(a) != `{"Fn::GetAtt":["JanitorFunction","Arn"]}` {
		t.Errorf("janitor rule targets %s", a)
	}
	env := props("JanitorFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["AMISWAP_FUNCTION"] != workflow.JanitorFunction || props("JanitorFunction")["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0] != "JanitorRole" {
		t.Errorf("janitor function %v", props("JanitorFunction"))
	}
	if perm := props("JanitorInvokePermission"); perm["Principal"] != "events.amazonaws.com" {
		t.Errorf("janitor permission %v", perm)
	}
	for _, id := range []string{"BackupCompletedRule", "ExecutionEndedRule"} {
		tg := props(id)["Targets"].([]any)[0].(map[string]any)
		dl, _ := json.Marshal(tg["DeadLetterConfig"])
		rp, _ := json.Marshal(tg["RetryPolicy"])
		if string(dl) != `{"Arn":{"Fn::GetAtt":["EventsDeadLetterQueue","Arn"]}}` || string(rp) != `{"MaximumEventAgeInSeconds":86400,"MaximumRetryAttempts":185}` {
			t.Errorf("%s target: dead-letter %s, retry %s", id, dl, rp)
		}
	}
	policy, _ := json.Marshal(props("EventsDeadLetterQueuePolicy")["PolicyDocument"])
	for _, want := range []string{`"Service":"events.amazonaws.com"`, `"sqs:SendMessage"`, `"BackupCompletedRule"`, `"ExecutionEndedRule"`, `"aws:SourceArn"`} {
		if !strings.Contains(string(policy), want) {
			t.Errorf("queue policy %s lacks %s", policy, want)
		}
	}
}
