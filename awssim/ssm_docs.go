package awssim

// This file holds the account's own Command documents (CreateDocument,
// DescribeDocument, DeleteDocument), AWS-RunPatchBaseline, and how Run
// Command "runs" a document's steps.
//
// The simulator runs no real script. A step's commands go through a small,
// deterministic interpreter, one line at a time:
//
//   - `echo TEXT`, `Write-Output TEXT`, `Write-Host TEXT`: TEXT (without
//     surrounding quotes) is a line of standard output; `echo TEXT >&2` and
//     `Write-Error TEXT` write it to standard error.
//   - `sleep N`, `Start-Sleep [-Seconds] N`: the step runs N seconds longer.
//   - `exit N`: the step ends with exit code N (0 is success, anything else
//     fails the step and the command; later steps do not run). `exit 194`
//     in an aws:runShellScript step and `exit 3010` in an
//     aws:runPowerShellScript step are AWS's "reboot and resume" request
//     ("Handling reboots when running commands",
//     https://docs.aws.amazon.com/systems-manager/latest/userguide/send-commands-reboot.html):
//     the agent reboots the instance (it goes offline and comes back when
//     the instance is up), the invocation stays InProgress, and the step
//     runs again. AWS asks such scripts to be idempotent; the simulator,
//     which keeps no machine state, resumes after the line that asked.
//   - Any other line (blank, a comment, a real command) produces nothing and
//     takes no time.
//
// Every step takes Durations.Script plus its sleeps. A step whose
// precondition ({"StringEquals": ["platformType", "Linux"|"Windows"]})
// does not hold is skipped.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// docStep is one mainSteps entry of a schema 2.x Command document.
type docStep struct {
	Name, Action string
	Platform     string // from the precondition; "" runs everywhere
	RunCommand   []string
}

// docParam is one declared parameter of a document.
type docParam struct {
	Name, Type, Description string
	Default                 any
	AllowedValues           []string
}

// rebootExit is the exit code that asks the agent to reboot, per plugin.
var rebootExit = map[string]int{"aws:runShellScript": 194, "aws:runPowerShellScript": 3010}

var (
	docNameRe  = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	paramRefRe = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)
	echoRe     = regexp.MustCompile(`^(?:echo|Write-Output|Write-Host)\s+(.*?)(\s*>&2)?$`)
	writeErrRe = regexp.MustCompile(`^Write-Error\s+(.*)$`)
	exitLineRe = regexp.MustCompile(`^exit\s+(-?\d+)\s*;?$`)
)

// document finds a document by name: one of AWS's that the simulator
// knows, or one of the account's.
func (s *Sim) document(name string) (*ssmDocument, bool) {
	if d, ok := ssmDocuments[name]; ok {
		return &d, true
	}
	d, ok := s.ssm.docs[name]
	return d, ok
}

// ---- CreateDocument ---------------------------------------------------------

// ssmCreateDocument registers a Command document of the account. As
// "CreateDocument" (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html)
// says, names are 3-128 letters, digits, _ - and ., and may not start with
// the prefixes AWS reserves (aws, amazon, amzn, AWSEC2,
// AWSConfigRemediation, AWSSupport); an existing name is
// DocumentAlreadyExists. The simulator reads JSON content of schema 2.2
// (or 2.0) with aws:runShellScript and aws:runPowerShellScript steps;
// anything else is refused with InvalidDocumentContent or a
// ValidationException that says it is not simulated. AWS creates a
// document in status Creating and makes it Active within seconds; the
// simulator makes it Active at once.
func ssmCreateDocument(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Content, Name, DocumentType, DocumentFormat, TargetType, VersionName string
		Tags                                                                 []struct{ Key, Value string }
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !docNameRe.MatchString(in.Name) {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$", in.Name)
	}
	lower := strings.ToLower(in.Name)
	for _, p := range []string{"aws", "amazon", "amzn"} {
		if strings.HasPrefix(lower, p) {
			return nil, errorf("ValidationException", "Document name %s is not valid: the prefix %q is reserved by AWS.", in.Name, in.Name[:len(p)])
		}
	}
	if in.DocumentType != "" && in.DocumentType != "Command" {
		return nil, errorf("ValidationException", "Document type %s is not simulated by amiswap's simulator (Command only).", in.DocumentType)
	}
	if in.DocumentFormat != "" && in.DocumentFormat != "JSON" {
		return nil, errorf("ValidationException", "Document format %s is not simulated by amiswap's simulator (JSON only).", in.DocumentFormat)
	}
	if in.Content == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'content' failed to satisfy constraint: Member must not be null")
	}
	doc, err := parseCommandDocument(in.Content)
	if err != nil {
		return nil, err
	}
	arn := s.arn("ssm", "document/"+in.Name)
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return nil, err
	}
	if _, ok := s.document(in.Name); ok {
		return nil, errorf("DocumentAlreadyExists", "Document with same name %s already exists", in.Name)
	}
	doc.name, doc.owner, doc.created = in.Name, s.opts.AccountID, s.clock.now
	doc.content, doc.targetType = in.Content, in.TargetType
	doc.tags = tags{}
	for _, t := range in.Tags {
		doc.tags[t.Key] = t.Value
	}
	s.ssm.docs[in.Name] = doc
	return map[string]any{"DocumentDescription": s.documentView(doc)}, nil
}

// parseCommandDocument reads and checks a document's JSON content.
func parseCommandDocument(content string) (*ssmDocument, error) {
	var raw struct {
		SchemaVersion string `json:"schemaVersion"`
		Description   string `json:"description"`
		Parameters    map[string]struct {
			Type          string   `json:"type"`
			Description   string   `json:"description"`
			Default       any      `json:"default"`
			AllowedValues []string `json:"allowedValues"`
		} `json:"parameters"`
		MainSteps []struct {
			Action       string              `json:"action"`
			Name         string              `json:"name"`
			Precondition map[string][]string `json:"precondition"`
			Inputs       struct {
				RunCommand json.RawMessage `json:"runCommand"`
			} `json:"inputs"`
		} `json:"mainSteps"`
	}
	if err := json.Unmarshal([]byte(content), &raw); err != nil {
		return nil, errorf("InvalidDocumentContent", "The content of the document is not valid JSON: %v", err)
	}
	switch raw.SchemaVersion {
	case "2.2", "2.0":
	case "":
		return nil, errorf("InvalidDocumentContent", "schemaVersion is required")
	default:
		return nil, errorf("InvalidDocumentContent", "schemaVersion %s is not simulated by amiswap's simulator (2.2 and 2.0 only)", raw.SchemaVersion)
	}
	if len(raw.MainSteps) == 0 {
		return nil, errorf("InvalidDocumentContent", "mainSteps must list at least one step")
	}
	doc := &ssmDocument{schemaVersion: raw.SchemaVersion, description: raw.Description, params: map[string]bool{}}
	for name, p := range raw.Parameters {
		switch p.Type {
		case "String", "StringList":
		default:
			return nil, errorf("InvalidDocumentContent", "parameter %s: type %q is not simulated (String and StringList)", name, p.Type)
		}
		doc.params[name] = p.Default == nil
		doc.paramDefs = append(doc.paramDefs, docParam{Name: name, Type: p.Type, Description: p.Description, Default: p.Default, AllowedValues: p.AllowedValues})
	}
	slices.SortFunc(doc.paramDefs, func(a, b docParam) int { return strings.Compare(a.Name, b.Name) })
	seen := map[string]bool{}
	for i, st := range raw.MainSteps {
		if _, ok := rebootExit[st.Action]; !ok {
			return nil, errorf("InvalidDocumentContent", "step %d: action %q is not simulated (aws:runShellScript, aws:runPowerShellScript)", i+1, st.Action)
		}
		if st.Name == "" || seen[st.Name] {
			return nil, errorf("InvalidDocumentContent", "step %d: every step needs a unique name", i+1)
		}
		seen[st.Name] = true
		step := docStep{Name: st.Name, Action: st.Action}
		if c := st.Precondition["StringEquals"]; len(c) == 2 && c[0] == "platformType" {
			step.Platform = c[1]
		} else if len(st.Precondition) > 0 {
			return nil, errorf("InvalidDocumentContent", "step %s: only the precondition {\"StringEquals\": [\"platformType\", …]} is simulated", st.Name)
		}
		var list []string
		if err := json.Unmarshal(st.Inputs.RunCommand, &list); err != nil {
			var one string
			if err := json.Unmarshal(st.Inputs.RunCommand, &one); err != nil {
				return nil, errorf("InvalidDocumentContent", "step %s: inputs.runCommand must be a list of strings", st.Name)
			}
			list = []string{one}
		}
		for _, line := range list {
			for _, m := range paramRefRe.FindAllStringSubmatch(line, -1) {
				if _, ok := doc.params[m[1]]; !ok {
					return nil, errorf("InvalidDocumentContent", "step %s uses the undeclared parameter %s", st.Name, m[1])
				}
			}
		}
		step.RunCommand = list
		doc.steps = append(doc.steps, step)
		doc.platforms = appendPlatforms(doc.platforms, st.Action, step.Platform)
	}
	return doc, nil
}

// appendPlatforms adds the platforms a step runs on.
func appendPlatforms(ps []string, action, platform string) []string {
	add := []string{platform}
	if platform == "" {
		add = []string{"Linux", "Windows"}
		if action == "aws:runShellScript" {
			add = []string{"Linux"}
		}
	}
	for _, p := range add {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// documentView is a DocumentDescription.
func (s *Sim) documentView(d *ssmDocument) map[string]any {
	sum := sha256.Sum256([]byte(d.content))
	params := []map[string]any{}
	for _, p := range d.paramDefs {
		v := map[string]any{"Name": p.Name, "Type": p.Type, "Description": p.Description}
		if p.Default != nil {
			v["DefaultValue"] = fmt.Sprint(p.Default)
		}
		params = append(params, v)
	}
	platforms := append([]string(nil), d.platforms...)
	if slices.Contains(platforms, "Linux") {
		platforms = append(platforms, "MacOS")
	}
	tagList := []map[string]string{}
	for _, k := range d.tags.sorted() {
		tagList = append(tagList, map[string]string{"Key": k, "Value": d.tags[k]})
	}
	return map[string]any{
		"Name": d.name, "Owner": d.owner, "DocumentType": "Command", "DocumentFormat": "JSON",
		"SchemaVersion": d.schemaVersion, "Description": d.description, "Status": "Active",
		"Hash": hex.EncodeToString(sum[:]), "HashType": "Sha256", "CreatedDate": epochSeconds(d.created),
		"DocumentVersion": "1", "LatestVersion": "1", "DefaultVersion": "1", "PlatformTypes": platforms,
		"Parameters": params, "TargetType": d.targetType, "Tags": tagList,
	}
}

func ssmDescribeDocument(s *Sim, r *request, body []byte) (any, error) {
	var in struct{ Name, DocumentVersion, VersionName string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, ok := s.ssm.docs[in.Name]
	if !ok {
		return nil, errorf("InvalidDocument", "Document with name %s does not exist.", in.Name)
	}
	if in.DocumentVersion != "" && in.DocumentVersion != "1" && in.DocumentVersion != "$LATEST" && in.DocumentVersion != "$DEFAULT" {
		return nil, errorf("InvalidDocumentVersion", "Document %s has no version %s.", in.Name, in.DocumentVersion)
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ssm", "document/"+in.Name)}); err != nil {
		return nil, err
	}
	return map[string]any{"Document": s.documentView(d)}, nil
}

func ssmDeleteDocument(s *Sim, r *request, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, ok := s.ssm.docs[in.Name]; !ok {
		return nil, errorf("InvalidDocument", "Document with name %s does not exist.", in.Name)
	}
	if err := s.authorize(r, Resource{ARN: s.arn("ssm", "document/"+in.Name)}); err != nil {
		return nil, err
	}
	delete(s.ssm.docs, in.Name)
	return map[string]any{}, nil
}

// ---- running documents --------------------------------------------------------

// runPhase is a stretch of a command's run: it lasts run, then either the
// command ends or (reboot) the agent reboots the instance and the next
// phase starts once the agent is back online.
type runPhase struct {
	run    time.Duration
	reboot bool
}

// runPlan is how an invocation will run and end.
type runPlan struct {
	phases         []runPhase
	code           int
	stdout, stderr string
	plugins        []pluginResult // per step, for multi-step documents
	patched        bool           // AWS-RunPatchBaseline installed patches
}

// pluginResult is one step's outcome, as ListCommandInvocations' Details
// shows it.
type pluginResult struct {
	Name, Status, Details string
	Code                  int
	Output                string
}

func (p *runPlan) total() time.Duration {
	var d time.Duration
	for _, ph := range p.phases {
		d += ph.run
	}
	return d
}

// paramValues substitutes {{ name }} references with the command's
// parameters (or the declared defaults). A line that is only a reference
// to a StringList parameter becomes one line per value.
func (d *ssmDocument) expand(line string, params map[string][]string) []string {
	value := func(name string) []string {
		if v, ok := params[name]; ok {
			return v
		}
		for _, p := range d.paramDefs {
			if p.Name == name && p.Default != nil {
				if list, ok := p.Default.([]any); ok {
					out := make([]string, 0, len(list))
					for _, x := range list {
						out = append(out, fmt.Sprint(x))
					}
					return out
				}
				return []string{fmt.Sprint(p.Default)}
			}
		}
		return nil
	}
	if m := paramRefRe.FindStringSubmatch(strings.TrimSpace(line)); m != nil && m[0] == strings.TrimSpace(line) {
		return value(m[1])
	}
	return []string{paramRefRe.ReplaceAllStringFunc(line, func(ref string) string {
		return strings.Join(value(paramRefRe.FindStringSubmatch(ref)[1]), ",")
	})}
}

// planSteps interprets a custom document's steps on an instance of the
// given platform (see the file comment).
func (s *Sim) planSteps(cmd *ssmCommand, d *ssmDocument, platform string) *runPlan {
	plan := &runPlan{}
	cur := runPhase{}
	var out, errOut strings.Builder
	failed := false
	for _, st := range d.steps {
		if failed {
			break
		}
		if st.Platform != "" && st.Platform != platform {
			plan.plugins = append(plan.plugins, pluginResult{Name: st.Name, Status: "Success", Details: "Success",
				Output: fmt.Sprintf("Step execution skipped due to unsatisfied preconditions: '\"StringEquals\": [platformType, %s]'. Step name: %s", st.Platform, st.Name)})
			continue
		}
		var stepOut, stepErr strings.Builder
		cur.run += s.dur.Script
		code := 0
		var lines []string
		for _, c := range st.RunCommand {
			for _, l := range d.expand(c, cmd.Parameters) {
				lines = append(lines, strings.Split(l, "\n")...)
			}
		}
		for _, raw := range lines {
			line := strings.TrimSpace(raw)
			if m := sleepRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				cur.run += time.Duration(n) * time.Second
			}
			switch m := echoRe.FindStringSubmatch(line); {
			case m != nil && m[2] != "":
				stepErr.WriteString(unquote(m[1]) + "\n")
				continue
			case m != nil:
				stepOut.WriteString(unquote(m[1]) + "\n")
				continue
			}
			if m := writeErrRe.FindStringSubmatch(line); m != nil {
				stepErr.WriteString(unquote(m[1]) + "\n")
				continue
			}
			if m := exitLineRe.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n == rebootExit[st.Action] {
					// Reboot and resume after this line.
					cur.reboot = true
					plan.phases = append(plan.phases, cur)
					cur = runPhase{run: s.dur.Script}
					continue
				}
				code = n
				break
			}
		}
		if code == 0 && cmd.fail {
			code = 1
			stepErr.WriteString("failed to run commands: exit status 1 (injected by the simulator)\n")
		}
		status := "Success"
		if code != 0 {
			status, failed = "Failed", true
			if stepErr.Len() == 0 {
				fmt.Fprintf(&stepErr, "failed to run commands: exit status %d\n", code)
			}
			plan.code = code
		}
		out.WriteString(stepOut.String())
		errOut.WriteString(stepErr.String())
		plan.plugins = append(plan.plugins, pluginResult{Name: st.Name, Status: status, Details: status, Code: code,
			Output: stepOut.String() + stepErr.String()})
	}
	plan.phases = append(plan.phases, cur)
	plan.stdout, plan.stderr = out.String(), errOut.String()
	return plan
}

// unquote strips one pair of matching quotes.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// planPatchBaseline is AWS-RunPatchBaseline on an instance: Scan reports,
// Install installs what is missing. With RebootOption RebootIfNeeded (the
// default) an Install that installed patches reboots the instance ("reboot
// option" of InstancePatchState: Patch Manager reboots "if it installed any
// patches"), and the command goes on after the reboot, InProgress all the
// while. An instance is missing patches until an Install has run on it or
// on the instance its AMI was made from.
func (s *Sim) planPatchBaseline(cmd *ssmCommand, in *instance) *runPlan {
	op := first(cmd.Parameters["Operation"], "Scan")
	reboot := first(cmd.Parameters["RebootOption"], "RebootIfNeeded") == "RebootIfNeeded"
	step := "PatchLinux"
	if in.Platform == "windows" {
		step = "PatchWindows"
	}
	plan := &runPlan{}
	var out strings.Builder
	fmt.Fprintf(&out, "Patch operation %s on %s with the default patch baseline.\n", op, in.ID)
	switch {
	case op == "Scan" && in.Patched:
		out.WriteString("Scan: 0 missing patches.\n")
		plan.phases = []runPhase{{run: s.dur.Script}}
	case op == "Scan":
		out.WriteString("Scan: 7 missing patches.\n")
		plan.phases = []runPhase{{run: s.dur.Script}}
	case in.Patched:
		out.WriteString("Install: no missing patches, nothing installed.\n")
		plan.phases = []runPhase{{run: s.dur.Script}}
	default:
		out.WriteString("Install: 7 patches installed.\n")
		plan.patched = true
		if reboot {
			out.WriteString("Rebooting to finish the installation (RebootIfNeeded).\nResumed after the reboot: patch state reported.\n")
			plan.phases = []runPhase{{run: s.dur.Patch, reboot: true}, {run: s.dur.Script}}
		} else {
			out.WriteString("NoReboot: installed patches are InstalledPendingReboot.\n")
			plan.phases = []runPhase{{run: s.dur.Patch}}
		}
	}
	plan.stdout = out.String()
	if cmd.fail {
		plan.code, plan.stderr = 1, "Patch installation failed (injected by the simulator)\n"
		plan.patched = false
		plan.phases = plan.phases[:1]
		plan.phases[0].reboot = false
	}
	for _, name := range []string{"PatchWindows", "PatchLinux", "PatchMacOS"} {
		if name != step {
			plan.plugins = append(plan.plugins, pluginResult{Name: name, Status: "Success", Details: "Success",
				Output: "Step execution skipped due to unsatisfied preconditions. Step name: " + name})
			continue
		}
		st := "Success"
		if plan.code != 0 {
			st = "Failed"
		}
		plan.plugins = append(plan.plugins, pluginResult{Name: name, Status: st, Details: st, Code: plan.code, Output: plan.stdout + plan.stderr})
	}
	return plan
}

func first(v []string, def string) string {
	if len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return def
}
