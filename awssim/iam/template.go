package iam

// This file reads the roles of a CloudFormation template: the intrinsic
// functions it resolves, and the physical names and ARNs CloudFormation
// gives the resources the policies name.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/amiswap/amiswap/awssim"
)

var errNoValue = errors.New("AWS::NoValue")

// FromTemplate builds the IAM emulation from a CloudFormation template:
// every AWS::Lambda::Function with an AMISWAP_FUNCTION variable gets the
// access key KeyFor(function) and its role's inline policies. params sets
// the template's parameters (defaults apply to the rest; a
// CommaDelimitedList is comma-separated) and may set the pseudo
// parameters AWS::Region, AWS::AccountId and AWS::StackName (defaults:
// the simulator's us-east-1, 123456789012 and "amiswap"); NamePrefix,
// when the template has it and params do not set it, is the stack name, as
// amiswap deploy sets it. The intrinsic
// functions Ref, Fn::Sub, Fn::GetAtt (Arn), Fn::Join, Fn::If, Fn::Equals,
// Fn::Not, Fn::And, Fn::Or and Condition are resolved; resources get the
// physical names their Name properties give, or STACK-LogicalId.
func FromTemplate(template []byte, params map[string]string) (*Engine, error) {
	cf, t, err := newResolver(template, params)
	if err != nil {
		return nil, err
	}
	m := &Engine{account: cf.pseudo["AWS::AccountId"], region: cf.pseudo["AWS::Region"], partition: cf.pseudo["AWS::Partition"], roles: map[string]*role{}}
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := t.Resources[id]
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		env, _ := dig(r.Properties, "Environment", "Variables").(map[string]any)
		fnv, ok := env["AMISWAP_FUNCTION"]
		if !ok {
			continue
		}
		fn, err := cf.str(fnv)
		if err != nil {
			return nil, fmt.Errorf("iam: %s AMISWAP_FUNCTION: %w", id, err)
		}
		roleID, err := cf.resourceOf(r.Properties["Role"])
		if err != nil {
			return nil, fmt.Errorf("iam: %s Role: %w", id, err)
		}
		role, err := cf.role(roleID)
		if err != nil {
			return nil, err
		}
		role.function = fn
		if _, dup := m.roles[KeyFor(fn)]; dup {
			return nil, fmt.Errorf("iam: two functions named %s", fn)
		}
		m.roles[KeyFor(fn)] = role
	}
	if len(m.roles) == 0 {
		return nil, errors.New("iam: the template defines no function with AMISWAP_FUNCTION")
	}
	return m, nil
}

// cfnTemplate is what the engine reads of a template.
type cfnTemplate struct {
	Parameters map[string]struct {
		Type    string
		Default any
	}
	Conditions map[string]any
	Resources  map[string]struct {
		Type       string
		Condition  string
		Properties map[string]any
	}
}

// newResolver parses a template and sets its parameters (see
// FromTemplate).
func newResolver(template []byte, params map[string]string) (*cfnResolver, *cfnTemplate, error) {
	var t cfnTemplate
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, nil, fmt.Errorf("iam: parse template: %w", err)
	}
	cf := &cfnResolver{
		pseudo: map[string]string{"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "amiswap", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"},
		params: map[string]any{}, conds: map[string]any{}, condVals: map[string]bool{},
		resTypes: map[string]string{}, resProps: map[string]map[string]any{},
	}
	for k, v := range params {
		if strings.HasPrefix(k, "AWS::") {
			cf.pseudo[k] = v
		}
	}
	if _, ok := t.Parameters["NamePrefix"]; ok && params["NamePrefix"] == "" {
		// What amiswap deploy passes for a stack name of up to 40
		// characters (deploy.NamePrefix): the stack name.
		params = maps.Clone(params)
		if params == nil {
			params = map[string]string{}
		}
		params["NamePrefix"] = cf.pseudo["AWS::StackName"]
	}
	for name, p := range t.Parameters {
		v, ok := params[name]
		var val any
		switch {
		case ok && p.Type == "CommaDelimitedList":
			val = splitList(v)
		case ok:
			val = v
		case p.Default == nil:
			continue // an error only if a policy refers to it
		case p.Type == "CommaDelimitedList":
			val = splitList(fmt.Sprint(p.Default))
		default:
			val = fmt.Sprint(p.Default)
		}
		cf.params[name] = val
	}
	for name := range params {
		if _, ok := t.Parameters[name]; !ok && !strings.HasPrefix(name, "AWS::") {
			return nil, nil, fmt.Errorf("iam: the template has no parameter %s", name)
		}
	}
	cf.conds = t.Conditions
	for id, r := range t.Resources {
		cf.resTypes[id] = r.Type
		cf.resProps[id] = r.Properties
	}
	return cf, &t, nil
}

// Statement is a policy statement of a role with its intrinsic functions
// resolved.
type Statement struct {
	Policy, Sid        string
	Deny               bool
	Actions, Resources []string
	Conditions         []Condition
}

// Condition is one key of a statement's condition block: Operator is as
// written ("StringEquals", "ForAllValues:StringLike", …).
type Condition struct {
	Operator, Key string
	Values        []string
}

// TemplateRoles returns the statements of every AWS::IAM::Role of a
// template by logical id, resolved with params as FromTemplate resolves
// them.
func TemplateRoles(template []byte, params map[string]string) (map[string][]Statement, error) {
	cf, t, err := newResolver(template, params)
	if err != nil {
		return nil, err
	}
	out := map[string][]Statement{}
	for id, r := range t.Resources {
		if r.Type != "AWS::IAM::Role" {
			continue
		}
		rl, err := cf.role(id)
		if err != nil {
			return nil, err
		}
		for _, st := range rl.stmts {
			x := Statement{Policy: st.policy, Sid: st.sid, Deny: st.deny, Actions: st.actions, Resources: st.resources}
			for _, c := range st.conds {
				op := c.op
				if c.ifExists {
					op += "IfExists"
				}
				if c.qualifier != "" {
					op = c.qualifier + ":" + op
				}
				x.Conditions = append(x.Conditions, Condition{Operator: op, Key: c.key, Values: c.values})
			}
			out[id] = append(out[id], x)
		}
	}
	return out, nil
}

func splitList(v string) []any {
	if v == "" {
		return []any{""}
	}
	var out []any
	for _, s := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// cfnResolver evaluates a template's intrinsic functions.
type cfnResolver struct {
	pseudo   map[string]string
	params   map[string]any
	conds    map[string]any
	condVals map[string]bool
	resTypes map[string]string
	resProps map[string]map[string]any
}

// role reads an AWS::IAM::Role's inline policies.
func (cf *cfnResolver) role(id string) (*role, error) {
	if cf.resTypes[id] != "AWS::IAM::Role" {
		return nil, fmt.Errorf("iam: %s is a %s, not an AWS::IAM::Role", id, cf.resTypes[id])
	}
	name, err := cf.physicalName(id)
	if err != nil {
		return nil, err
	}
	rl := &role{name: name, arn: "arn:" + cf.pseudo["AWS::Partition"] + ":iam::" + cf.pseudo["AWS::AccountId"] + ":role/" + name}
	policies, _ := cf.resProps[id]["Policies"].([]any)
	for _, p := range policies {
		policyName, err := cf.str(dig(p, "PolicyName"))
		if err != nil {
			return nil, fmt.Errorf("iam: role %s PolicyName: %w", id, err)
		}
		doc := dig(p, "PolicyDocument")
		stmts, err := cf.eval(dig(doc, "Statement"))
		if err != nil {
			return nil, fmt.Errorf("iam: role %s: %w", id, err)
		}
		list, ok := stmts.([]any)
		if !ok {
			list = []any{stmts}
		}
		for i, sv := range list {
			st, err := parseStatement(sv)
			if err != nil {
				return nil, fmt.Errorf("iam: role %s statement %d: %w", id, i, err)
			}
			st.policy = policyName
			rl.stmts = append(rl.stmts, st)
		}
	}
	return rl, nil
}

func parseStatement(v any) (statement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return statement{}, fmt.Errorf("not an object")
	}
	for _, k := range []string{"NotAction", "NotResource", "Principal", "NotPrincipal"} {
		if _, ok := m[k]; ok {
			return statement{}, fmt.Errorf("%s is not supported by the simulator's IAM", k)
		}
	}
	var st statement
	st.sid, _ = m["Sid"].(string)
	switch m["Effect"] {
	case "Allow":
	case "Deny":
		st.deny = true
	default:
		return st, fmt.Errorf("effect %v", m["Effect"])
	}
	var err error
	if st.actions, err = awssim.PolicyStrings(m["Action"]); err != nil {
		return st, fmt.Errorf("action: %w", err)
	}
	if st.resources, err = awssim.PolicyStrings(m["Resource"]); err != nil {
		return st, fmt.Errorf("resource: %w", err)
	}
	conds, _ := m["Condition"].(map[string]any)
	ops := make([]string, 0, len(conds))
	for op := range conds {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		c := condition{op: op}
		if q, rest, ok := strings.Cut(op, ":"); ok {
			if q != "ForAllValues" && q != "ForAnyValue" {
				return st, fmt.Errorf("condition qualifier %s", q)
			}
			c.qualifier, c.op = q, rest
		}
		if base, ok := strings.CutSuffix(c.op, "IfExists"); ok {
			c.op, c.ifExists = base, true
		}
		switch c.op {
		case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
			"StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike", "Bool", "Null":
		default:
			return st, fmt.Errorf("condition operator %s is not supported by the simulator's IAM", op)
		}
		keys, _ := conds[op].(map[string]any)
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			vals, err := awssim.PolicyStrings(keys[k])
			if err != nil {
				return st, fmt.Errorf("condition %s %s: %w", op, k, err)
			}
			cc := c
			cc.key, cc.values = k, vals
			st.conds = append(st.conds, cc)
		}
	}
	return st, nil
}

// physicalName is the name CloudFormation gives a resource.
func (cf *cfnResolver) physicalName(id string) (string, error) {
	props := cf.resProps[id]
	for _, k := range []string{"FunctionName", "TableName", "TopicName", "LogGroupName", "StateMachineName", "RoleName", "Name", "BucketName", "QueueName"} {
		if v, ok := props[k]; ok {
			name, err := cf.str(v)
			if errors.Is(err, errNoValue) {
				break // unnamed: CloudFormation names it
			}
			return name, err
		}
	}
	return cf.pseudo["AWS::StackName"] + "-" + id, nil
}

// ref is what Ref returns for a resource.
func (cf *cfnResolver) ref(id string) (string, error) {
	name, err := cf.physicalName(id)
	if err != nil {
		return "", err
	}
	switch cf.resTypes[id] {
	case "AWS::SNS::Topic":
		return cf.arn("sns", name), nil
	case "AWS::StepFunctions::StateMachine":
		return cf.arn("states", "stateMachine:"+name), nil
	}
	return name, nil
}

// getAtt is what Fn::GetAtt [id, Arn] returns.
func (cf *cfnResolver) getAtt(id, attr string) (string, error) {
	name, err := cf.physicalName(id)
	if err != nil {
		return "", err
	}
	switch {
	case attr == "Name" && cf.resTypes[id] == "AWS::StepFunctions::StateMachine":
		return name, nil // the state machine's name
	case attr != "Arn":
		return "", fmt.Errorf("Fn::GetAtt %s.%s: only Arn (and a state machine's Name) is supported", id, attr)
	}
	switch cf.resTypes[id] {
	case "AWS::DynamoDB::Table":
		return cf.arn("dynamodb", "table/"+name), nil
	case "AWS::Lambda::Function":
		return cf.arn("lambda", "function:"+name), nil
	case "AWS::IAM::Role":
		return "arn:aws:iam::" + cf.pseudo["AWS::AccountId"] + ":role/" + name, nil
	case "AWS::Logs::LogGroup":
		return cf.arn("logs", "log-group:"+name+":*"), nil
	case "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine":
		return cf.ref(id)
	case "AWS::SQS::Queue":
		return cf.arn("sqs", name), nil
	case "AWS::Events::Rule":
		return cf.arn("events", "rule/"+name), nil
	}
	return "", fmt.Errorf("Fn::GetAtt %s.Arn: resource type %q is not supported", id, cf.resTypes[id])
}

func (cf *cfnResolver) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + cf.pseudo["AWS::Region"] + ":" + cf.pseudo["AWS::AccountId"] + ":" + resource
}

// resourceOf returns the logical id a Ref or Fn::GetAtt names.
func (cf *cfnResolver) resourceOf(v any) (string, error) {
	m, _ := v.(map[string]any)
	if r, ok := m["Ref"].(string); ok {
		return r, nil
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) == 2 {
		if id, ok := g[0].(string); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("%v names no resource", v)
}

func (cf *cfnResolver) str(v any) (string, error) {
	r, err := cf.eval(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", r)
	}
	return s, nil
}

// condition evaluates a named condition.
func (cf *cfnResolver) condition(name string) (bool, error) {
	if v, ok := cf.condVals[name]; ok {
		return v, nil
	}
	def, ok := cf.conds[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	r, err := cf.eval(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean", name)
	}
	cf.condVals[name] = b
	return b, nil
}

// eval resolves the intrinsic functions in v.
func (cf *cfnResolver) eval(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			r, err := cf.eval(e)
			if errors.Is(err, errNoValue) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return cf.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			r, err := cf.eval(e)
			if errors.Is(err, errNoValue) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (cf *cfnResolver) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return nil, errNoValue
		}
		if v, ok := cf.pseudo[name]; ok {
			return v, nil
		}
		if v, ok := cf.params[name]; ok {
			return v, nil
		}
		if _, ok := cf.resTypes[name]; ok {
			return cf.ref(name)
		}
		return nil, fmt.Errorf("Ref %s: no such resource, or a parameter with no value", name)
	case "Condition":
		name, _ := arg.(string)
		return cf.condition(name)
	case "Fn::GetAtt":
		id, err := cf.resourceOf(map[string]any{"Fn::GetAtt": arg})
		if err != nil {
			return nil, err
		}
		attr, _ := arg.([]any)[1].(string)
		return cf.getAtt(id, attr)
	case "Fn::Sub":
		return cf.sub(arg)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join wants [separator, list]")
		}
		sep, _ := a[0].(string)
		list, err := cf.eval(a[1])
		if err != nil {
			return nil, err
		}
		parts, err := awssim.PolicyStrings(list)
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(parts, sep), nil
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return nil, fmt.Errorf("Fn::If wants [condition, then, else]")
		}
		name, _ := a[0].(string)
		b, err := cf.condition(name)
		if err != nil {
			return nil, err
		}
		if b {
			return cf.eval(a[1])
		}
		return cf.eval(a[2])
	case "Fn::Equals":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Equals wants two values")
		}
		x, err := cf.eval(a[0])
		if err != nil {
			return nil, err
		}
		y, err := cf.eval(a[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(x) == fmt.Sprint(y), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		a, ok := arg.([]any)
		if !ok || len(a) == 0 {
			return nil, fmt.Errorf("%s wants a list of conditions", fn)
		}
		vals := make([]bool, len(a))
		for i, e := range a {
			r, err := cf.eval(e)
			if err != nil {
				return nil, err
			}
			b, ok := r.(bool)
			if !ok {
				return nil, fmt.Errorf("%s: %v is not a condition", fn, r)
			}
			vals[i] = b
		}
		switch fn {
		case "Fn::Not":
			return !vals[0], nil
		case "Fn::And":
			for _, b := range vals {
				if !b {
					return false, nil
				}
			}
			return true, nil
		default:
			for _, b := range vals {
				if b {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return nil, fmt.Errorf("intrinsic function %s is not supported by the simulator's IAM", fn)
}

// sub resolves Fn::Sub: "text ${Name} ${Res.Arn}" or [text, {vars}].
func (cf *cfnResolver) sub(arg any) (any, error) {
	text, vars := "", map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub wants a string or [string, variables]")
		}
		text, _ = a[0].(string)
		vars, _ = a[1].(map[string]any)
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub %q: unclosed ${", text)
		}
		name := text[i+2 : i+j]
		text = text[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v any
		var err error
		switch {
		case vars[name] != nil:
			v, err = cf.eval(vars[name])
		case strings.Contains(name, "."):
			id, attr, _ := strings.Cut(name, ".")
			v, err = cf.getAtt(id, attr)
		default:
			v, err = cf.intrinsic("Ref", name)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub ${%s} is not a string", name)
		}
		b.WriteString(s)
	}
}
