package awssim

// This file holds Systems Manager: managed nodes (the SSM agent of every
// EC2 instance, online some time after boot) and Run Command (SendCommand,
// GetCommandInvocation, ListCommandInvocations, ListCommands,
// DescribeInstanceInformation) with the documents amiswap uses.

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// commandDelivery is how long the agent takes to pick up a command
	// (Pending → InProgress).
	commandDelivery = 5 * time.Second
	// defaultExecutionTimeout is the agent's execution timeout when the
	// document's executionTimeout parameter is not given.
	defaultExecutionTimeout = 3600
	// defaultDeliveryTimeout is SendCommand's TimeoutSeconds default.
	defaultDeliveryTimeout = 3600
	// maxOutputContent is where GetCommandInvocation truncates output;
	// maxPluginOutput is where ListCommandInvocations(Details) does.
	maxOutputContent = 24000
	maxPluginOutput  = 2500
	ssmAgentVersion  = "3.3.1957.0"
	// agentPingInterval is how often an online agent reports.
	agentPingInterval = 5 * time.Minute
)

type ssmStore struct {
	commands     map[string]*ssmCommand
	commandOrder []*ssmCommand
	// active lists the unfinished invocations on each instance.
	active    map[string][]*ssmInvocation
	nodes     map[string]*managedNode
	nodeOrder []*managedNode
	// Parameter Store: parameters by name, and the puts of each name
	// whose asynchronous validation has not run yet.
	params       map[string]*ssmParameter
	paramPending map[string]int
	// docs are the account's own documents (CreateDocument), by name.
	docs map[string]*ssmDocument
}

// managedNode is an instance whose agent has registered with SSM.
type managedNode struct {
	in          *instance
	registered  time.Time
	onlineSince time.Time
	lastPing    time.Time // when it went offline, while ConnectionLost
	online      bool
}

type ssmCommand struct {
	ID, DocumentName, Comment string
	Parameters                map[string][]string
	InstanceIDs               []string
	Requested, ExpiresAfter   time.Time
	TimeoutSeconds            int
	execTimeout               time.Duration
	fail                      bool // an outcome fault makes every invocation fail
	Invocations               []*ssmInvocation
}

type ssmInvocation struct {
	cmd                   *ssmCommand
	InstanceID            string
	InstanceName          string
	Status, StatusDetails string
	ResponseCode          int
	Started, Ended        time.Time
	Stdout, Stderr        string
	in                    *instance
	gen                   int // bumps when the invocation moves; stale timers check it
	plan                  *runPlan
	phase                 int  // the phase of plan running
	awaitingAgent         bool // rebooted by its command, resumes when the agent is back
}

// ssmDocument is a command document the simulator can run: one of AWS's
// (ssmDocuments) or one of the account's (CreateDocument, ssm_docs.go).
type ssmDocument struct {
	plugin    string
	platforms []string // "Windows", "Linux"
	// params lists the accepted parameters (nil: any); required ones are
	// marked true.
	params map[string]bool
	// allowed lists the accepted values of a parameter, when limited.
	allowed map[string][]string

	// The account's documents.
	name, owner, content, targetType string
	schemaVersion, description       string
	created                          time.Time
	paramDefs                        []docParam
	steps                            []docStep
	tags                             tags
}

// custom reports whether the document is one of the account's.
func (d *ssmDocument) custom() bool { return d.steps != nil }

// stepNames are the names GetCommandInvocation's PluginName accepts.
func (d *ssmDocument) stepNames() []string {
	if d.custom() {
		names := make([]string, 0, len(d.steps))
		for _, st := range d.steps {
			names = append(names, st.Name)
		}
		return names
	}
	if d.plugin == "" {
		return []string{"PatchWindows", "PatchLinux", "PatchMacOS"}
	}
	return []string{d.plugin}
}

var ssmDocuments = map[string]ssmDocument{
	"AWSEC2-RunSysprep":       {plugin: "aws:runPowerShellScript", platforms: []string{"Windows"}},
	"AWS-RunPowerShellScript": {plugin: "aws:runPowerShellScript", platforms: []string{"Windows", "Linux"}, params: map[string]bool{"commands": true, "workingDirectory": false, "executionTimeout": false}},
	"AWS-RunShellScript":      {plugin: "aws:runShellScript", platforms: []string{"Linux"}, params: map[string]bool{"commands": true, "workingDirectory": false, "executionTimeout": false}},
	// AWS-RunPatchBaseline has three steps (PatchWindows, PatchLinux,
	// PatchMacOS), each run on its platform only ("SSM Command document
	// for patching: AWS-RunPatchBaseline",
	// https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager-aws-runpatchbaseline.html).
	"AWS-RunPatchBaseline": {platforms: []string{"Windows", "Linux"},
		params:  map[string]bool{"Operation": false, "RebootOption": false, "SnapshotId": false, "InstallOverrideList": false, "BaselineOverride": false, "AssociationId": false},
		allowed: map[string][]string{"Operation": {"Scan", "Install"}, "RebootOption": {"RebootIfNeeded", "NoReboot"}}},
}

func init() {
	registerStore("ssm", func(s *Sim) {
		s.ssm = ssmStore{commands: map[string]*ssmCommand{}, active: map[string][]*ssmInvocation{}, nodes: map[string]*managedNode{},
			params: map[string]*ssmParameter{}, paramPending: map[string]int{}, docs: map[string]*ssmDocument{}}
		s.ec2.instanceHooks = append(s.ec2.instanceHooks, s.ssmInstanceChanged)
	}, ssmStateView)
	registerJSON("ssm", "AmazonSSM", "application/x-amz-json-1.1", map[string]jsonHandler{
		"SendCommand":                 ssmSendCommand,
		"GetCommandInvocation":        ssmGetCommandInvocation,
		"ListCommandInvocations":      ssmListCommandInvocations,
		"ListCommands":                ssmListCommands,
		"DescribeInstanceInformation": ssmDescribeInstanceInformation,
		"PutParameter":                ssmPutParameter,
		"GetParameter":                ssmGetParameter,
		"GetParameterHistory":         ssmGetParameterHistory,
		"DeleteParameter":             ssmDeleteParameter,
		"CreateDocument":              ssmCreateDocument,
		"DescribeDocument":            ssmDescribeDocument,
		"DeleteDocument":              ssmDeleteDocument,
	})
}

func ssmPlatformType(in *instance) string {
	if in.Platform == "windows" {
		return "Windows"
	}
	return "Linux"
}

// ssmInstanceChanged follows the agent of an instance: it registers and
// goes Online when the EC2 model says so, loses its connection when the
// instance stops, and takes its unfinished commands with it.
func (s *Sim) ssmInstanceChanged(in *instance) {
	n := s.ssm.nodes[in.ID]
	switch {
	case in.AgentOnline && (n == nil || !n.online):
		if n == nil {
			n = &managedNode{in: in, registered: s.clock.now}
			s.ssm.nodes[in.ID] = n
			s.ssm.nodeOrder = append(s.ssm.nodeOrder, n)
		}
		n.online, n.onlineSince, n.lastPing = true, s.clock.now, s.clock.now
		for _, inv := range s.ssm.active[in.ID] {
			switch {
			case inv.Status == "Pending":
				s.deliver(inv)
			case inv.Status == "InProgress" && inv.awaitingAgent:
				inv.awaitingAgent = false
				s.runPhase(inv)
			}
		}
	case !in.AgentOnline && n != nil && n.online:
		n.online, n.lastPing = false, s.clock.now
	}
	if in.State == "terminated" && n != nil {
		delete(s.ssm.nodes, in.ID)
		s.ssm.nodeOrder = without(s.ssm.nodeOrder, n)
	}
	if in.State == "running" {
		return
	}
	for _, inv := range append([]*ssmInvocation(nil), s.ssm.active[in.ID]...) {
		switch {
		case inv.Status == "InProgress":
			s.finishInvocation(inv, "Failed", "Failed", -1, inv.Stdout,
				fmt.Sprintf("the instance went %s while the command was running", in.State))
		case inv.Status == "Pending" && (in.State == "shutting-down" || in.State == "terminated"):
			s.finishInvocation(inv, "Failed", "Undeliverable", -1, "", "")
		}
	}
}

// ---- SendCommand -------------------------------------------------------

type ssmTarget struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

func ssmSendCommand(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		InstanceIds     []string            `json:"InstanceIds"`
		Targets         []ssmTarget         `json:"Targets"`
		DocumentName    string              `json:"DocumentName"`
		DocumentVersion string              `json:"DocumentVersion"`
		Parameters      map[string][]string `json:"Parameters"`
		TimeoutSeconds  *int                `json:"TimeoutSeconds"`
		Comment         string              `json:"Comment"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	docName := in.DocumentName
	if i := strings.LastIndex(docName, ":document/"); i >= 0 && strings.HasPrefix(docName, "arn:") {
		docName = docName[i+len(":document/"):]
	}
	doc, ok := s.document(docName)
	if !ok {
		return nil, errorf("InvalidDocument", "Document with name %s does not exist.", in.DocumentName)
	}
	if len(in.Comment) > 100 {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	timeout := defaultDeliveryTimeout
	if in.TimeoutSeconds != nil {
		timeout = *in.TimeoutSeconds
		if timeout < 30 || timeout > 2592000 {
			return nil, errorf("ValidationException", "1 validation error detected: Value '%d' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000", timeout)
		}
	}
	execTimeout, err := checkSSMParameters(doc, in.Parameters)
	if err != nil {
		return nil, err
	}
	ids, err := s.commandTargets(in.InstanceIds, in.Targets)
	if err != nil {
		return nil, err
	}
	var bad []string
	var instances []*instance
	for _, id := range ids {
		n := s.ssm.nodes[id]
		if n == nil || !n.online || n.in.State != "running" {
			bad = append(bad, id)
			continue
		}
		instances = append(instances, n.in)
	}
	if len(bad) > 0 {
		return nil, errorf("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(bad, ", "), s.opts.AccountID)
	}
	res := make([]Resource, 0, len(instances)+1)
	for _, x := range instances {
		res = append(res, Resource{ARN: s.instanceARN(x.ID), Tags: x.Tags})
	}
	// AWS's documents have no account in their ARN; the account's do.
	docARN := "arn:aws:ssm:" + s.opts.Region + "::document/" + docName
	if doc.custom() {
		docARN = s.arn("ssm", "document/"+docName)
	}
	res = append(res, Resource{ARN: docARN})
	if err := s.authorize(r, res...); err != nil {
		return nil, err
	}

	cmd := &ssmCommand{
		ID: s.genUUID(), DocumentName: docName, Comment: in.Comment, Parameters: in.Parameters,
		InstanceIDs: ids, Requested: s.clock.now, TimeoutSeconds: timeout, execTimeout: execTimeout,
		fail: s.takeOutcome("ssm", "SendCommand"),
	}
	if cmd.Parameters == nil {
		cmd.Parameters = map[string][]string{}
	}
	cmd.ExpiresAfter = cmd.Requested.Add(time.Duration(timeout)*time.Second + execTimeout)
	for _, x := range instances {
		inv := &ssmInvocation{cmd: cmd, InstanceID: x.ID, InstanceName: x.Tags["Name"], in: x,
			Status: "Pending", StatusDetails: "Pending", ResponseCode: -1}
		cmd.Invocations = append(cmd.Invocations, inv)
		s.ssm.active[x.ID] = append(s.ssm.active[x.ID], inv)
		gen := inv.gen
		s.after(commandDelivery, func() {
			if inv.gen == gen && inv.Status == "Pending" && inv.in.AgentOnline {
				s.deliver(inv)
			}
		})
	}
	s.ssm.commands[cmd.ID] = cmd
	s.ssm.commandOrder = append(s.ssm.commandOrder, cmd)
	s.after(cmd.ExpiresAfter.Sub(s.clock.now), func() {
		for _, inv := range cmd.Invocations {
			if !inv.done() {
				s.finishInvocation(inv, "TimedOut", "DeliveryTimedOut", -1, inv.Stdout, inv.Stderr)
			}
		}
	})
	return map[string]any{"Command": s.commandView(cmd)}, nil
}

// checkSSMParameters validates a command's parameters against its document
// and returns the execution timeout.
func checkSSMParameters(doc *ssmDocument, params map[string][]string) (time.Duration, error) {
	for name, vals := range params {
		if ok := doc.allowed[name]; ok != nil {
			for _, v := range vals {
				if !contains(ok, v) {
					return 0, errorf("InvalidParameters", "Parameter %q value %q is not one of %v.", name, v, ok)
				}
			}
		}
		for _, p := range doc.paramDefs {
			if p.Name != name {
				continue
			}
			if p.Type == "String" && len(vals) > 1 {
				return 0, errorf("InvalidParameters", "Parameter %q is a String: give one value, not %d.", name, len(vals))
			}
			for _, v := range vals {
				if p.AllowedValues != nil && !contains(p.AllowedValues, v) {
					return 0, errorf("InvalidParameters", "Parameter %q value %q is not one of %v.", name, v, p.AllowedValues)
				}
			}
		}
	}
	if doc.params != nil {
		for name := range params {
			if _, ok := doc.params[name]; !ok {
				return 0, errorf("InvalidParameters", "Parameter %q is not defined in the document.", name)
			}
		}
		for name, req := range doc.params {
			if req && len(params[name]) == 0 {
				return 0, errorf("InvalidParameters", "Parameter %q is required by the document.", name)
			}
		}
	}
	t := defaultExecutionTimeout
	if v := params["executionTimeout"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > 172800 {
			return 0, errorf("InvalidParameters", "Parameter executionTimeout %q must be a number of seconds between 1 and 172800.", v[0])
		}
		t = n
	}
	return time.Duration(t) * time.Second, nil
}

// commandTargets resolves InstanceIds or Targets (InstanceIds, tag:Key,
// tag-key) to instance ids.
func (s *Sim) commandTargets(ids []string, targets []ssmTarget) ([]string, error) {
	if len(ids) > 0 && len(targets) > 0 {
		return nil, errorf("InvalidParameters", "InstanceIds and Targets cannot both be specified.")
	}
	for _, t := range targets {
		switch {
		case t.Key == "InstanceIds":
			ids = append(ids, t.Values...)
		case strings.HasPrefix(t.Key, "tag:") || t.Key == "tag-key":
			for _, n := range s.ssm.nodeOrder {
				if n.in.ssmMatchesTag(t.Key, t.Values) {
					ids = append(ids, n.in.ID)
				}
			}
		default:
			return nil, errorf("InvalidTarget", "Target key %s is not supported by the amiswap simulator (use InstanceIds, tag:<key> or tag-key).", t.Key)
		}
	}
	if len(ids) == 0 {
		if len(targets) > 0 {
			return nil, errorf("InvalidTarget", "Targets match no managed instance.")
		}
		return nil, errorf("ValidationException", "Either InstanceIds or Targets must be specified.")
	}
	if len(ids) > 50 {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !instanceIDRe.MatchString(id) {
			return nil, errorf("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", id, s.opts.AccountID)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func (in *instance) ssmMatchesTag(key string, values []string) bool {
	if key == "tag-key" {
		for _, k := range values {
			if _, ok := in.Tags[k]; ok {
				return true
			}
		}
		return false
	}
	v, ok := in.Tags[strings.TrimPrefix(key, "tag:")]
	if !ok {
		return false
	}
	return len(values) == 0 || contains(values, v)
}

// ---- invocation lifecycle ------------------------------------------------

func (inv *ssmInvocation) done() bool {
	switch inv.Status {
	case "Pending", "InProgress", "Delayed", "Cancelling":
		return false
	}
	return true
}

var (
	exitRe  = regexp.MustCompile(`\bexit\s+(-?\d+)`)
	sleepRe = regexp.MustCompile(`(?i)\b(?:sleep|Start-Sleep(?:\s+-Seconds)?)\s+(\d+)`)
)

// deliver hands an invocation to the agent: it starts, and ends after the
// document's run time, unless its execution timeout comes first. A run
// may reboot the instance on the way (see ssm_docs.go).
func (s *Sim) deliver(inv *ssmInvocation) {
	cmd := inv.cmd
	doc, _ := s.document(cmd.DocumentName)
	inv.gen++
	inv.Started = s.clock.now
	if !contains(doc.platforms, ssmPlatformType(inv.in)) {
		s.finishInvocation(inv, "Failed", "InvalidPlatform", -1, "",
			fmt.Sprintf("document %s does not support platform type %s", cmd.DocumentName, ssmPlatformType(inv.in)))
		return
	}
	inv.Status, inv.StatusDetails = "InProgress", "InProgress"
	inv.plan = s.plan(cmd, doc, inv.in)
	inv.phase = 0
	if run := inv.plan.total(); cmd.execTimeout < run {
		gen := inv.gen
		s.after(cmd.execTimeout, func() {
			if inv.gen == gen && inv.Status == "InProgress" {
				s.finishInvocation(inv, "TimedOut", "ExecutionTimedOut", -1, inv.plan.stdout, "command execution timed out")
			}
		})
		return
	}
	s.runPhase(inv)
}

// runPhase runs the invocation's current phase: at its end the command
// finishes, or the instance reboots and the next phase waits for the
// agent to come back (ssmInstanceChanged resumes it).
func (s *Sim) runPhase(inv *ssmInvocation) {
	gen := inv.gen
	ph := inv.plan.phases[inv.phase]
	s.after(ph.run, func() {
		if inv.gen != gen || inv.Status != "InProgress" {
			return
		}
		if ph.reboot {
			inv.phase++
			inv.awaitingAgent = true
			if inv.plan.patched {
				inv.in.Patched = true
			}
			s.rebootInstance(inv.in)
			return
		}
		s.complete(inv)
	})
}

// complete ends an invocation that ran to its end.
func (s *Sim) complete(inv *ssmInvocation) {
	p := inv.plan
	if p.code != 0 {
		s.finishInvocation(inv, "Failed", "Failed", p.code, p.stdout, p.stderr)
		return
	}
	if p.patched {
		inv.in.Patched = true
	}
	s.finishInvocation(inv, "Success", "Success", 0, p.stdout, p.stderr)
	if inv.cmd.DocumentName == "AWSEC2-RunSysprep" {
		// Sysprep ends with a shutdown; the agent stops reporting.
		s.stopInstance(inv.in, "Client.InstanceInitiatedShutdown")
	}
}

// plan works out how a command will run on an instance: how long, whether
// it reboots, its exit code and output.
func (s *Sim) plan(cmd *ssmCommand, doc *ssmDocument, in *instance) *runPlan {
	switch {
	case doc.custom():
		return s.planSteps(cmd, doc, ssmPlatformType(in))
	case cmd.DocumentName == "AWS-RunPatchBaseline":
		return s.planPatchBaseline(cmd, in)
	}
	run, code, stdout, stderr := s.planScript(cmd)
	return &runPlan{phases: []runPhase{{run: run}}, code: code, stdout: stdout, stderr: stderr}
}

// planScript is how AWSEC2-RunSysprep, AWS-RunShellScript and
// AWS-RunPowerShellScript run: how long, their exit code and output.
func (s *Sim) planScript(cmd *ssmCommand) (run time.Duration, code int, stdout, stderr string) {
	if cmd.DocumentName == "AWSEC2-RunSysprep" {
		run = s.dur.Sysprep
		stdout = "Running Sysprep with the EC2Launch answer file.\nSysprep generalization finished; shutting down.\n"
		if cmd.fail {
			return run, 1, "Running Sysprep with the EC2Launch answer file.\n", "Sysprep failed: a fatal error occurred while trying to sysprep the machine (injected by the simulator)"
		}
		return run, 0, stdout, ""
	}
	run = s.dur.Script
	var out strings.Builder
	for _, c := range cmd.Parameters["commands"] {
		for _, line := range strings.Split(c, "\n") {
			out.WriteString(line)
			out.WriteByte('\n')
			for _, m := range sleepRe.FindAllStringSubmatch(line, -1) {
				n, _ := strconv.Atoi(m[1])
				run += time.Duration(n) * time.Second
			}
			if m := exitRe.FindStringSubmatch(line); m != nil && code == 0 {
				code, _ = strconv.Atoi(m[1])
			}
		}
	}
	stdout = out.String()
	switch {
	case code != 0:
		stderr = fmt.Sprintf("failed to run commands: exit status %d", code)
	case cmd.fail:
		code, stderr = 1, "failed to run commands: exit status 1 (injected by the simulator)"
	}
	return run, code, stdout, stderr
}

func (s *Sim) finishInvocation(inv *ssmInvocation, status, details string, code int, stdout, stderr string) {
	inv.gen++
	inv.Status, inv.StatusDetails, inv.ResponseCode = status, details, code
	inv.Stdout, inv.Stderr = stdout, stderr
	inv.Ended = s.clock.now
	list := without(s.ssm.active[inv.InstanceID], inv)
	if len(list) == 0 {
		delete(s.ssm.active, inv.InstanceID)
	} else {
		s.ssm.active[inv.InstanceID] = list
	}
}

// ---- reads ---------------------------------------------------------------

// status aggregates the invocations' statuses as Run Command does.
func (cmd *ssmCommand) status() (status, details string, completed, errors, deliveryTimedOut int) {
	var pending, inProgress, success, failed, timedOut int
	for _, inv := range cmd.Invocations {
		switch inv.Status {
		case "Pending":
			pending++
		case "InProgress", "Delayed":
			inProgress++
		case "Success":
			success++
		case "TimedOut":
			timedOut++
			if inv.StatusDetails == "DeliveryTimedOut" {
				deliveryTimedOut++
			} else {
				errors++
			}
		default:
			failed++
			errors++
		}
	}
	completed = success + failed + timedOut
	switch {
	case inProgress > 0 || (pending > 0 && completed > 0):
		return "InProgress", "InProgress", completed, errors, deliveryTimedOut
	case pending > 0:
		return "Pending", "Pending", completed, errors, deliveryTimedOut
	case failed > 0:
		return "Failed", "Failed", completed, errors, deliveryTimedOut
	case timedOut > 0 && deliveryTimedOut == timedOut && success == 0:
		return "TimedOut", "DeliveryTimedOut", completed, errors, deliveryTimedOut
	case timedOut > 0:
		return "TimedOut", "TimedOut", completed, errors, deliveryTimedOut
	}
	return "Success", "Success", completed, errors, deliveryTimedOut
}

type cloudWatchOutputConfig struct {
	CloudWatchLogGroupName  string `json:"CloudWatchLogGroupName"`
	CloudWatchOutputEnabled bool   `json:"CloudWatchOutputEnabled"`
}

type ssmCommandView struct {
	CommandId              string                 `json:"CommandId"`
	DocumentName           string                 `json:"DocumentName"`
	DocumentVersion        string                 `json:"DocumentVersion"`
	Comment                string                 `json:"Comment"`
	ExpiresAfter           epochSeconds           `json:"ExpiresAfter"`
	Parameters             map[string][]string    `json:"Parameters"`
	InstanceIds            []string               `json:"InstanceIds"`
	Targets                []ssmTarget            `json:"Targets"`
	RequestedDateTime      epochSeconds           `json:"RequestedDateTime"`
	Status                 string                 `json:"Status"`
	StatusDetails          string                 `json:"StatusDetails"`
	OutputS3Region         string                 `json:"OutputS3Region"`
	OutputS3BucketName     string                 `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string                 `json:"OutputS3KeyPrefix"`
	MaxConcurrency         string                 `json:"MaxConcurrency"`
	MaxErrors              string                 `json:"MaxErrors"`
	TargetCount            int                    `json:"TargetCount"`
	CompletedCount         int                    `json:"CompletedCount"`
	ErrorCount             int                    `json:"ErrorCount"`
	DeliveryTimedOutCount  int                    `json:"DeliveryTimedOutCount"`
	ServiceRole            string                 `json:"ServiceRole"`
	NotificationConfig     map[string]any         `json:"NotificationConfig"`
	CloudWatchOutputConfig cloudWatchOutputConfig `json:"CloudWatchOutputConfig"`
	TimeoutSeconds         int                    `json:"TimeoutSeconds"`
}

func (s *Sim) commandView(cmd *ssmCommand) ssmCommandView {
	st, det, completed, errs, dto := cmd.status()
	return ssmCommandView{
		CommandId: cmd.ID, DocumentName: cmd.DocumentName, DocumentVersion: "$DEFAULT", Comment: cmd.Comment,
		ExpiresAfter: epochSeconds(cmd.ExpiresAfter), Parameters: cmd.Parameters, InstanceIds: cmd.InstanceIDs,
		Targets: []ssmTarget{}, RequestedDateTime: epochSeconds(cmd.Requested), Status: st, StatusDetails: det,
		MaxConcurrency: "50", MaxErrors: "0", TargetCount: len(cmd.Invocations), CompletedCount: completed,
		ErrorCount: errs, DeliveryTimedOutCount: dto,
		NotificationConfig: map[string]any{"NotificationArn": "", "NotificationEvents": []string{}, "NotificationType": ""},
		TimeoutSeconds:     cmd.TimeoutSeconds,
	}
}

// visibleInvocation finds an invocation, hiding it for the consistency
// window after SendCommand as AWS does.
func (s *Sim) visibleInvocation(commandID, instanceID string) (*ssmInvocation, error) {
	cmd := s.ssm.commands[commandID]
	if cmd != nil && s.visible(cmd.Requested) {
		for _, inv := range cmd.Invocations {
			if inv.InstanceID == instanceID {
				return inv, nil
			}
		}
	}
	return nil, errorf("InvocationDoesNotExist", "An invocation of command %s on instance %s does not exist.", commandID, instanceID)
}

var ssmUUIDRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func ssmTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ssmStringTime is how GetCommandInvocation writes its date-times: ISO 8601
// strings, empty when not reached.
func ssmStringTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return isoTime(t)
}

// elapsed is ExecutionElapsedTime, an ISO 8601 duration such as PT20.001S.
func (inv *ssmInvocation) elapsed(now time.Time) string {
	if inv.Started.IsZero() {
		return ""
	}
	end := inv.Ended
	if end.IsZero() {
		end = now
	}
	return "PT" + strconv.FormatFloat(end.Sub(inv.Started).Seconds(), 'f', 3, 64) + "S"
}

func ssmGetCommandInvocation(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		CommandId, InstanceId, PluginName string
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !ssmUUIDRe.MatchString(in.CommandId) {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'commandId' failed to satisfy constraint: Member must have length equal to 36", in.CommandId)
	}
	if !instanceIDRe.MatchString(in.InstanceId) {
		return nil, errorf("InvalidInstanceId", "Instance id %s is not valid.", in.InstanceId)
	}
	inv, err := s.visibleInvocation(in.CommandId, in.InstanceId)
	if err != nil {
		return nil, err
	}
	doc, _ := s.document(inv.cmd.DocumentName)
	names := doc.stepNames()
	// "If the document contains more than one step, you must specify the
	// name of the step" (GetCommandInvocation, PluginName).
	switch {
	case in.PluginName != "" && !contains(names, in.PluginName):
		return nil, errorf("InvalidPluginName", "Plugin %s is not part of document %s.", in.PluginName, inv.cmd.DocumentName)
	case in.PluginName == "" && len(names) > 1:
		return nil, errorf("InvalidPluginName", "Document %s has more than one step (%s): name the step in PluginName.", inv.cmd.DocumentName, strings.Join(names, ", "))
	}
	if in.PluginName != "" && inv.plan != nil && inv.plan.plugins != nil && inv.done() {
		for _, p := range inv.plan.plugins {
			if p.Name == in.PluginName {
				out := p.Output
				return map[string]any{
					"CommandId": inv.cmd.ID, "InstanceId": inv.InstanceID, "Comment": inv.cmd.Comment,
					"DocumentName": inv.cmd.DocumentName, "DocumentVersion": "$DEFAULT", "PluginName": p.Name,
					"ResponseCode": p.Code, "ExecutionStartDateTime": ssmStringTime(inv.Started),
					"ExecutionElapsedTime": inv.elapsed(s.clock.now), "ExecutionEndDateTime": ssmStringTime(inv.Ended),
					"Status": p.Status, "StatusDetails": p.Details,
					"StandardOutputContent": ssmTruncate(out, maxOutputContent), "StandardOutputUrl": "",
					"StandardErrorContent": "", "StandardErrorUrl": "", "CloudWatchOutputConfig": cloudWatchOutputConfig{},
				}, nil
			}
		}
	}
	return map[string]any{
		"CommandId": inv.cmd.ID, "InstanceId": inv.InstanceID, "Comment": inv.cmd.Comment,
		"DocumentName": inv.cmd.DocumentName, "DocumentVersion": "$DEFAULT", "PluginName": names[0],
		"ResponseCode":           inv.ResponseCode,
		"ExecutionStartDateTime": ssmStringTime(inv.Started), "ExecutionElapsedTime": inv.elapsed(s.clock.now),
		"ExecutionEndDateTime": ssmStringTime(inv.Ended),
		"Status":               inv.Status, "StatusDetails": inv.StatusDetails,
		"StandardOutputContent": ssmTruncate(inv.Stdout, maxOutputContent), "StandardOutputUrl": "",
		"StandardErrorContent": ssmTruncate(inv.Stderr, maxOutputContent), "StandardErrorUrl": "",
		"CloudWatchOutputConfig": cloudWatchOutputConfig{},
	}, nil
}

type ssmCommandFilter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// matchCommandFilters applies ListCommands/ListCommandInvocations filters.
func matchCommandFilters(fs []ssmCommandFilter, cmd *ssmCommand, status string) (bool, error) {
	for _, f := range fs {
		switch f.Key {
		case "Status":
			if !strings.EqualFold(f.Value, status) {
				return false, nil
			}
		case "DocumentName":
			if f.Value != cmd.DocumentName {
				return false, nil
			}
		case "InvokedAfter", "InvokedBefore":
			t, err := time.Parse(time.RFC3339, f.Value)
			if err != nil {
				return false, errorf("InvalidFilterValue", "Filter %s value %q is not an ISO 8601 date-time.", f.Key, f.Value)
			}
			if (f.Key == "InvokedAfter" && cmd.Requested.Before(t)) || (f.Key == "InvokedBefore" && cmd.Requested.After(t)) {
				return false, nil
			}
		default:
			return false, errorf("InvalidFilterKey", "Filter key %s is not supported by the amiswap simulator.", f.Key)
		}
	}
	return true, nil
}

func ssmMaxResults(v *int, lo, hi, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, errorf("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between %d and %d", *v, lo, hi)
	}
	return *v, nil
}

// ssmListInput checks what ListCommands and ListCommandInvocations share:
// MaxResults, NextToken and CommandId.
func ssmListInput(maxResults *int, token, commandID string) (max int, offset uint64, err error) {
	if max, err = ssmMaxResults(maxResults, 1, 50, 50); err != nil {
		return 0, 0, err
	}
	if offset, err = parseOffsetToken(token, "InvalidNextToken"); err != nil {
		return 0, 0, err
	}
	if commandID != "" && !ssmUUIDRe.MatchString(commandID) {
		return 0, 0, errorf("InvalidCommandId", "Command id %s is not valid.", commandID)
	}
	return max, offset, nil
}

func ssmListCommandInvocations(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		CommandId, InstanceId, NextToken string
		MaxResults                       *int
		Filters                          []ssmCommandFilter
		Details                          bool
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	max, offset, err := ssmListInput(in.MaxResults, in.NextToken, in.CommandId)
	if err != nil {
		return nil, err
	}
	var all []*ssmInvocation
	for i := len(s.ssm.commandOrder) - 1; i >= 0; i-- {
		cmd := s.ssm.commandOrder[i]
		if (in.CommandId != "" && cmd.ID != in.CommandId) || !s.visible(cmd.Requested) {
			continue
		}
		for _, inv := range cmd.Invocations {
			if in.InstanceId != "" && inv.InstanceID != in.InstanceId {
				continue
			}
			ok, err := matchCommandFilters(in.Filters, cmd, inv.Status)
			if err != nil {
				return nil, err
			}
			if ok {
				all = append(all, inv)
			}
		}
	}
	return listOutput("CommandInvocations", all, offset, max, func(inv *ssmInvocation) map[string]any {
		doc, _ := s.document(inv.cmd.DocumentName)
		v := map[string]any{
			"CommandId": inv.cmd.ID, "InstanceId": inv.InstanceID, "InstanceName": inv.InstanceName,
			"Comment": inv.cmd.Comment, "DocumentName": inv.cmd.DocumentName, "DocumentVersion": "$DEFAULT",
			"RequestedDateTime": epochSeconds(inv.cmd.Requested), "Status": inv.Status,
			"StatusDetails": inv.StatusDetails, "TraceOutput": "", "StandardOutputUrl": "", "StandardErrorUrl": "",
			"CommandPlugins": []any{}, "ServiceRole": "", "CloudWatchOutputConfig": cloudWatchOutputConfig{},
		}
		if in.Details {
			p := map[string]any{
				"Name": doc.stepNames()[0], "Status": inv.Status, "StatusDetails": inv.StatusDetails,
				"ResponseCode": inv.ResponseCode, "Output": ssmTruncate(inv.Stdout+inv.Stderr, maxPluginOutput),
				"StandardOutputUrl": "", "StandardErrorUrl": "", "OutputS3Region": s.opts.Region,
				"OutputS3BucketName": "", "OutputS3KeyPrefix": "",
			}
			if !inv.Started.IsZero() {
				p["ResponseStartDateTime"] = epochSeconds(inv.Started)
			}
			if !inv.Ended.IsZero() {
				p["ResponseFinishDateTime"] = epochSeconds(inv.Ended)
			}
			v["CommandPlugins"] = []any{p}
			if inv.plan != nil && inv.plan.plugins != nil && inv.done() {
				v["CommandPlugins"] = s.pluginViews(inv)
			}
		}
		return v
	}), nil
}

func ssmListCommands(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		CommandId, InstanceId, NextToken string
		MaxResults                       *int
		Filters                          []ssmCommandFilter
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	max, offset, err := ssmListInput(in.MaxResults, in.NextToken, in.CommandId)
	if err != nil {
		return nil, err
	}
	var all []*ssmCommand
	for i := len(s.ssm.commandOrder) - 1; i >= 0; i-- {
		cmd := s.ssm.commandOrder[i]
		if in.CommandId != "" && cmd.ID != in.CommandId {
			continue
		}
		if in.InstanceId != "" && !contains(cmd.InstanceIDs, in.InstanceId) {
			continue
		}
		st, _, _, _, _ := cmd.status()
		ok, err := matchCommandFilters(in.Filters, cmd, st)
		if err != nil {
			return nil, err
		}
		if ok {
			all = append(all, cmd)
		}
	}
	if in.CommandId != "" && len(all) == 0 {
		return nil, errorf("InvalidCommandId", "Command %s does not exist.", in.CommandId)
	}
	return listOutput("Commands", all, offset, max, s.commandView), nil
}

// ---- DescribeInstanceInformation ------------------------------------------

type ssmNodeFilter struct {
	key    string
	values []string
}

func ssmDescribeInstanceInformation(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		InstanceInformationFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		}
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults *int
		NextToken  string
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.InstanceInformationFilterList) > 0 && len(in.Filters) > 0 {
		return nil, errorf("InvalidFilter", "InstanceInformationFilterList and Filters cannot be used together.")
	}
	var fs []ssmNodeFilter
	for _, f := range in.InstanceInformationFilterList {
		fs = append(fs, ssmNodeFilter{f.Key, f.ValueSet})
	}
	for _, f := range in.Filters {
		fs = append(fs, ssmNodeFilter{f.Key, f.Values})
	}
	for _, f := range fs {
		if len(f.values) == 0 {
			return nil, errorf("InvalidInstanceInformationFilterValue", "Filter %s needs at least one value.", f.key)
		}
		switch f.key {
		case "InstanceIds", "PingStatus", "PlatformTypes", "ResourceType", "AgentVersion", "tag-key":
		default:
			if !strings.HasPrefix(f.key, "tag:") {
				return nil, errorf("InvalidFilterKey", "Filter key %s is not supported by the amiswap simulator (InstanceIds, PingStatus, PlatformTypes, ResourceType, AgentVersion, tag:<key>, tag-key).", f.key)
			}
		}
	}
	max, err := ssmMaxResults(in.MaxResults, 5, 50, 50)
	if err != nil {
		return nil, err
	}
	offset, err := parseOffsetToken(in.NextToken, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	var all []*managedNode
	for _, n := range s.ssm.nodeOrder {
		if n.matches(fs) {
			all = append(all, n)
		}
	}
	return listOutput("InstanceInformationList", all, offset, max, s.nodeView), nil
}

func (n *managedNode) pingStatus() string {
	if n.online {
		return "Online"
	}
	return "ConnectionLost"
}

func (n *managedNode) matches(fs []ssmNodeFilter) bool {
	for _, f := range fs {
		var ok bool
		switch f.key {
		case "InstanceIds":
			ok = contains(f.values, n.in.ID)
		case "PingStatus":
			ok = contains(f.values, n.pingStatus())
		case "PlatformTypes":
			ok = contains(f.values, ssmPlatformType(n.in))
		case "ResourceType":
			ok = contains(f.values, "EC2Instance")
		case "AgentVersion":
			ok = contains(f.values, ssmAgentVersion)
		default:
			ok = n.in.ssmMatchesTag(f.key, f.values)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Sim) nodeView(n *managedNode) map[string]any {
	in := n.in
	last := n.lastPing
	if n.online {
		// An online agent reports every few minutes.
		since := s.clock.now.Sub(n.onlineSince)
		last = s.clock.now.Add(-(since % agentPingInterval))
	}
	name, version, computer := "Amazon Linux", "2023", s.privateDNSName(in)
	if in.Platform == "windows" {
		name, version, computer = "Microsoft Windows Server 2022 Datacenter", "10.0.20348", in.ComputerName
	}
	v := map[string]any{
		"InstanceId": in.ID, "PingStatus": n.pingStatus(), "LastPingDateTime": epochSeconds(last),
		"AgentVersion": ssmAgentVersion, "IsLatestVersion": true, "PlatformType": ssmPlatformType(in),
		"PlatformName": name, "PlatformVersion": version, "ResourceType": "EC2Instance",
		"IPAddress": in.PrivateIP, "ComputerName": computer, "RegistrationDate": epochSeconds(n.registered),
		"SourceId": in.ID, "SourceType": "AWS::EC2::Instance",
	}
	if in.InstanceProfileArn != "" {
		v["IamRole"] = in.InstanceProfileArn[strings.LastIndex(in.InstanceProfileArn, "/")+1:]
	}
	return v
}

// genUUID returns a fresh random-looking (but deterministic) UUID.
func (s *Sim) genUUID() string {
	s.seq++
	x := s.seq*0x9E3779B97F4A7C15 ^ 0x2545F4914F6CDD1D
	y := (s.seq + 0x632BE59BD9B4E019) * 0xBF58476D1CE4E5B9
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(x>>32), uint16(x>>16), uint16(x)&0xfff, uint16(y>>48)&0x3fff|0x8000, y&0xffffffffffff)
}

// ssmStateView is the Systems Manager part of GET /_sim/state.
func ssmStateView(s *Sim) any {
	type node struct {
		InstanceID string `json:"instanceId"`
		PingStatus string `json:"pingStatus"`
	}
	type invocation struct {
		InstanceID    string `json:"instanceId"`
		Status        string `json:"status"`
		StatusDetails string `json:"statusDetails"`
		ResponseCode  int    `json:"responseCode"`
	}
	type command struct {
		CommandID    string       `json:"commandId"`
		DocumentName string       `json:"documentName"`
		Requested    time.Time    `json:"requested"`
		Status       string       `json:"status"`
		Invocations  []invocation `json:"invocations"`
	}
	nodes := []node{}
	for _, n := range s.ssm.nodeOrder {
		nodes = append(nodes, node{n.in.ID, n.pingStatus()})
	}
	cmds := []command{}
	for _, c := range s.ssm.commandOrder {
		st, _, _, _, _ := c.status()
		v := command{CommandID: c.ID, DocumentName: c.DocumentName, Requested: c.Requested, Status: st}
		for _, inv := range c.Invocations {
			v.Invocations = append(v.Invocations, invocation{inv.InstanceID, inv.Status, inv.StatusDetails, inv.ResponseCode})
		}
		cmds = append(cmds, v)
	}
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].Requested.Before(cmds[j].Requested) })
	return map[string]any{"managedInstances": nodes, "commands": cmds}
}

// pluginViews are the CommandPlugins of a finished invocation of a
// multi-step document: one per step.
func (s *Sim) pluginViews(inv *ssmInvocation) []any {
	out := make([]any, 0, len(inv.plan.plugins))
	for _, p := range inv.plan.plugins {
		out = append(out, map[string]any{
			"Name": p.Name, "Status": p.Status, "StatusDetails": p.Details, "ResponseCode": p.Code,
			"Output": ssmTruncate(p.Output, maxPluginOutput), "StandardOutputUrl": "", "StandardErrorUrl": "",
			"OutputS3Region": s.opts.Region, "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
			"ResponseStartDateTime": epochSeconds(inv.Started), "ResponseFinishDateTime": epochSeconds(inv.Ended),
		})
	}
	return out
}
