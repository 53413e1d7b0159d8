package workflow

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
)

type aslState struct {
	Type           string
	Resource       string
	Parameters     map[string]any
	ResultSelector map[string]string
	Retry          []struct{ ErrorEquals []string }
	Catch          []struct{ ErrorEquals []string }
}

// loadStates returns the states of both definitions (the swap's and the
// rollback's), keyed "file/state".
func loadStates(t *testing.T) map[string]aslState {
	t.Helper()
	all := map[string]aslState{}
	for file, raw := range map[string][]byte{"definition.asl.json": Definition(), "rollback.asl.json": RollbackDefinition()} {
		var def struct{ States map[string]aslState }
		if err := json.Unmarshal(raw, &def); err != nil {
			t.Fatalf("%s is not JSON: %v", file, err)
		}
		for name, st := range def.States {
			all[file+"/"+name] = st
		}
	}
	return all
}

// TestErrorNamesInDefinition keeps the definition's Retry/Catch and the Go
// error types in step: every name the definition matches is either a
// States.* or Lambda.* name or the type name of an amiswap error.
func TestErrorNamesInDefinition(t *testing.T) {
	known := map[string]bool{}
	for _, e := range amiswap.ErrorTypes {
		known[amiswap.ErrorName(e)] = true
	}
	used := map[string]bool{}
	for name, st := range loadStates(t) {
		var lists [][]string
		for _, r := range st.Retry {
			lists = append(lists, r.ErrorEquals)
		}
		for _, c := range st.Catch {
			lists = append(lists, c.ErrorEquals)
		}
		for _, l := range lists {
			for _, e := range l {
				switch {
				case strings.HasPrefix(e, "States."), strings.HasPrefix(e, "Lambda."):
				case known[e]:
					used[e] = true
				default:
					t.Errorf("state %s matches error %q, which no amiswap error type is named", name, e)
				}
			}
		}
	}
	for _, e := range []string{"TransientError", "InvalidInputError", "LockHeldError"} {
		if !used[e] {
			t.Errorf("the definition never matches %s", e)
		}
	}
}

// TestDefinitionOpsAndFunctions checks that every task names a function of
// Functions through its placeholder and an op that function serves, and
// that every op and function is used.
func TestDefinitionOpsAndFunctions(t *testing.T) {
	placeholder := regexp.MustCompile(`^\$\{([A-Za-z]+)FunctionArn\}$`)
	usedOps := map[string]bool{}
	usedFns := map[string]bool{}
	for name, st := range loadStates(t) {
		if st.Type != "Task" {
			continue
		}
		fn, _ := st.Parameters["FunctionName"].(string)
		m := placeholder.FindStringSubmatch(fn)
		if m == nil {
			t.Errorf("state %s: FunctionName %q is not a ${XFunctionArn} placeholder", name, fn)
			continue
		}
		payload, _ := st.Parameters["Payload"].(map[string]any)
		op, _ := payload["op"].(string)
		f, ok := FunctionFor(op)
		if !ok {
			t.Errorf("state %s: op %q is served by no function", name, op)
			continue
		}
		if f.Name != m[1] {
			t.Errorf("state %s: op %q is sent to %s but served by %s", name, op, m[1], f.Name)
		}
		if payload["state.$"] != "$" {
			t.Errorf("state %s: payload must carry the whole state", name)
		}
		usedOps[op], usedFns[f.Name] = true, true
	}
	for _, op := range Ops() {
		if !usedOps[op] {
			t.Errorf("op %s is never used by the definition", op)
		}
	}
	for _, f := range Functions {
		if !usedFns[f.Name] {
			t.Errorf("function %s is never used by the definition", f.Name)
		}
	}
}

// TestResultSelectorsMatchResultTypes checks that each field a task's
// ResultSelector picks exists, by JSON name, in the Go type of its result:
// a missing field is a runtime error in Step Functions.
func TestResultSelectorsMatchResultTypes(t *testing.T) {
	fieldsOf := func(v any) []string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	results := map[string]any{
		"resolve": amiswap.Target{}, "lock": LockResult{}, "freeze": FreezeResult{},
		"launch-builder": BuilderResult{}, "check-builder-ready": PollResult{}, "generalize": GeneralizeResult{},
		"check-generalized": PollResult{}, "stop-builder": StopResult{}, "check-builder-stopped": PollResult{},
		"create-image": ImageResult{}, "check-image": PollResult{}, "update-launch-template": SwapResult{},
		"thaw": ThawResult{}, "start-refresh": RefreshResult{}, "check-refresh": PollResult{},
		"terminate-builder": TerminateResult{}, "cleanup": CleanupResult{}, "notify": NotifyResult{}, "unlock": map[string]bool{"released": false},
		"compensate": CompensationResult{}, "resolve-rollback": RollbackResult{},
		"prepare": GeneralizeResult{}, "check-prepared": PollResult{},
		"launch-verifier": BuilderResult{}, "check-verifier-ready": PollResult{}, "verify": GeneralizeResult{},
		"check-verification": PollResult{}, "terminate-verifier": VerifierResult{}, "record-parameter": HandOffResult{}, "hand-off": HandOffPut{},
		"check-hand-off": PollResult{},
	}
	for name, st := range loadStates(t) {
		if st.Type != "Task" {
			continue
		}
		op := st.Parameters["Payload"].(map[string]any)["op"].(string)
		res, ok := results[op]
		if !ok {
			t.Errorf("state %s: no result type known for op %s", name, op)
			continue
		}
		have := fieldsOf(res)
		for key, path := range st.ResultSelector {
			field := strings.TrimPrefix(path, "$.Payload.")
			if !strings.HasSuffix(key, ".$") || strings.TrimSuffix(key, ".$") != field {
				t.Errorf("state %s: ResultSelector %q: %q should be %q: \"$.Payload.%s\"", name, key, path, field+".$", field)
			}
			if !slices.Contains(have, field) {
				t.Errorf("state %s: ResultSelector picks %q, which the %s result (%T) does not always carry (has %v)", name, field, op, res, have)
			}
		}
	}
}

// TestTaskResourcesNameThePartition: every task of both definitions calls
// the Lambda integration through arn:${Partition}:…, which the deployment
// substitutes with the stack's partition (aws-cn, aws-us-gov: "Amazon
// Resource Names (ARNs)", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)
// and the local executor with aws.
func TestTaskResourcesNameThePartition(t *testing.T) {
	want := LambdaInvokeResource(PartitionPlaceholder)
	tasks := 0
	for name, st := range loadStates(t) {
		if st.Type != "Task" {
			continue
		}
		tasks++
		if st.Resource != want {
			t.Errorf("%s: Resource %q, want %q", name, st.Resource, want)
		}
	}
	if tasks == 0 {
		t.Fatal("no tasks")
	}
	for _, local := range [][]byte{LocalDefinition(), LocalRollbackDefinition()} {
		if strings.Contains(string(local), PartitionPlaceholder) || !strings.Contains(string(local), `"`+LambdaInvokeResource("aws")+`"`) {
			t.Error("a local definition keeps the partition placeholder")
		}
	}
}
