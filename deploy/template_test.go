package deploy

import (
	"bytes"
	"encoding/json"
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
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH; install it with pip install cfn-lint to lint the template")
	}
	dir := t.TempDir()
	path := dir + "/template.json"
	if err := os.WriteFile(path, Template(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--format", "parseable", path).CombinedOutput()
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
	if def != string(workflow.Definition()) {
		t.Error("DefinitionString is not the embedded workflow definition with ${XFunction.Arn} for ${XFunctionArn}")
	}
	if strings.Contains(def, "${") && regexp.MustCompile(`\$\{[^}]*\}`).ReplaceAllString(def, "") != regexp.MustCompile(`\$\{\w+FunctionArn\}`).ReplaceAllString(def, "") {
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
