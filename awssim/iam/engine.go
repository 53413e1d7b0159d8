// Package iam emulates AWS Identity and Access Management for the
// simulator (package awssim): each Lambda function of a CloudFormation
// template (deploy/template.json) gets an access key whose calls are
// evaluated against its role's policies, as AWS evaluates identity-based
// policies ("Policy evaluation logic",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny wins, then an Allow whose action, resource and
// conditions match, else an implicit deny. Access keys the template does
// not define (the CLI's own credentials) are allowed everything.
//
// Keys are "AKIA" + the function name in capitals: the Resolve function's
// key is AKIARESOLVE, UpdateAsg's AKIAUPDATEASG (see KeyFor).
//
// The engine knows what AWS's Service Authorization Reference says of
// each action (sar.go): an action without resource-level permissions is
// granted only by "Resource": "*", and a condition key AWS does not supply
// for an action (nor for the resource type its resource matches) is
// absent from the request context.
//
// What the engine sees of a request is what the simulator's handler passes
// (awssim.Resource): the resources with their tags and the condition keys
// the request supplies. A resource whose ARN ends in "/*" (or ":*") is one
// the call creates: its tags are the request's (aws:RequestTag/…,
// aws:TagKeys); any other resource's tags are aws:ResourceTag/… (and the
// service's own alias, such as autoscaling:ResourceTag/…). Before a
// handler runs, the action alone is checked (does any Allow name it, no
// unconditional Deny forbid it); handlers that know the resources check
// them fully. The checks AWS makes on behalf of a call (iam:PassRole of
// the role inside an instance profile, ec2:CreateTags with
// ec2:CreateAction, Auto Scaling's checks of a launch template) are the
// simulator's: it asks the engine for each (see awssim.Sim.authorizeAs).
//
// Install it with Enable, which also answers iam:SimulatePrincipalPolicy
// through the simulator's IAM endpoint and makes the template's roles
// known to its IAM API.
package iam

import (
	"fmt"
	"sort"
	"strings"

	"github.com/amiswap/amiswap/awssim"
)

// Engine is the IAM emulation built from a template by FromTemplate. It
// implements awssim.Authorizer, awssim.CallerIdentifier and
// awssim.PolicySimulator.
type Engine struct {
	account, region, partition string
	roles                      map[string]*role // by access key id
}

type role struct {
	function string
	name     string // the role's name
	arn      string
	stmts    []statement
}

type statement struct {
	policy    string // the inline policy's name
	sid       string
	deny      bool
	actions   []string
	resources []string
	conds     []condition
}

type condition struct {
	op        string // StringEquals, StringLike, …
	qualifier string // "", ForAllValues, ForAnyValue
	ifExists  bool
	key       string
	values    []string
}

// KeyFor returns the access key id of a function's role.
func KeyFor(function string) string { return "AKIA" + strings.ToUpper(function) }

// Enable builds the engine from template (resolved in sim's account and
// region; params as for FromTemplate) and installs it in sim: as its
// authorizer, and with the template's roles in its IAM API (GetRole,
// AddRoleToInstanceProfile, SimulatePrincipalPolicy's PolicySourceArn);
// and the template's stack in its CloudFormation (StackFromTemplate), so
// that clients find the roles and outputs as they would in AWS.
func Enable(sim *awssim.Sim, template []byte, params map[string]string) (*Engine, error) {
	p := map[string]string{"AWS::Region": sim.Region(), "AWS::AccountId": sim.AccountID()}
	for k, v := range params {
		p[k] = v
	}
	m, err := FromTemplate(template, p)
	if err != nil {
		return nil, err
	}
	st, err := StackFromTemplate(template, p)
	if err != nil {
		return nil, err
	}
	m.Install(sim)
	sim.SetStack(st)
	return m, nil
}

// Install makes m sim's authorizer and adds m's roles to sim's IAM.
func (m *Engine) Install(sim *awssim.Sim) {
	for _, r := range m.roles {
		sim.PutRole(r.name)
	}
	sim.SetAuthorizer(m)
}

// Functions returns the functions the template defines, sorted.
func (m *Engine) Functions() []string {
	var out []string
	for _, r := range m.roles {
		out = append(out, r.function)
	}
	sort.Strings(out)
	return out
}

// RoleArn returns the ARN of a function's role, or "" when the template
// has no such function.
func (m *Engine) RoleArn(function string) string {
	if r := m.roles[KeyFor(function)]; r != nil {
		return r.arn
	}
	return ""
}

// Actions returns the actions that a function's role allows, sorted.
func (m *Engine) Actions(function string) []string {
	r := m.roles[KeyFor(function)]
	if r == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range r.stmts {
		for _, a := range s.actions {
			if !s.deny && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// WithoutAction returns a copy of m in which the function's role no longer
// allows action (statements left without actions disappear). It is how a
// test proves that every allowed action is needed.
func (m *Engine) WithoutAction(function, action string) *Engine {
	c := &Engine{account: m.account, region: m.region, partition: m.partition, roles: map[string]*role{}}
	for k, r := range m.roles {
		if r.function != function {
			c.roles[k] = r
			continue
		}
		nr := &role{function: r.function, name: r.name, arn: r.arn}
		for _, s := range r.stmts {
			if !s.deny {
				var keep []string
				for _, a := range s.actions {
					if !strings.EqualFold(a, action) {
						keep = append(keep, a)
					}
				}
				if len(keep) == 0 {
					continue
				}
				s.actions = keep
			}
			nr.stmts = append(nr.stmts, s)
		}
		c.roles[k] = nr
	}
	return c
}

// CallerIdentity reports a function's key as its assumed role.
func (m *Engine) CallerIdentity(accessKeyID string) (arn, userID string, ok bool) {
	r := m.roles[accessKeyID]
	if r == nil {
		return "", "", false
	}
	return m.sessionArn(r), awssim.UniqueID("AROA", r.name) + ":" + r.function, true
}

func (m *Engine) sessionArn(r *role) string {
	return "arn:" + m.partition + ":sts::" + m.account + ":assumed-role/" + r.name + "/" + r.function
}

// Authorize evaluates a call by accessKeyID; see the package comment.
func (m *Engine) Authorize(accessKeyID, service, action string, res []awssim.Resource) error {
	r := m.roles[accessKeyID]
	if r == nil {
		return nil
	}
	full := iamService(service) + ":" + action
	if full == "sts:GetCallerIdentity" {
		return nil // needs no permission
	}
	if res == nil {
		return r.allowedAction(m, full)
	}
	for _, x := range res {
		ctx := requestContext(iamService(service), x)
		if d, _ := m.decide(r, full, x.ARN, ctx, true); d != allowed {
			resource := x.ARN
			if noResourceLevel(full) {
				resource = ""
			}
			return r.denied(m, full, resource, d == explicitDeny)
		}
	}
	return nil
}

// iamService maps a SigV4 signing name to its IAM action prefix.
func iamService(signing string) string {
	switch signing {
	case "monitoring":
		return "cloudwatch"
	case "email":
		return "ses"
	}
	return signing
}

func creating(arn string) bool { return strings.HasSuffix(arn, "/*") || strings.HasSuffix(arn, ":*") }

// requestContext returns the condition keys (lower case) of a resource:
// its tags as request or resource tags, and the keys the request
// supplies.
func requestContext(service string, x awssim.Resource) map[string][]string {
	ctx := map[string][]string{}
	if creating(x.ARN) {
		keys := make([]string, 0, len(x.Tags))
		for k, v := range x.Tags {
			ctx["aws:requesttag/"+strings.ToLower(k)] = []string{v}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			ctx["aws:tagkeys"] = keys
		}
	} else {
		for k, v := range x.Tags {
			lk := strings.ToLower(k)
			ctx["aws:resourcetag/"+lk] = []string{v}
			ctx[service+":resourcetag/"+lk] = []string{v}
		}
	}
	for k, v := range x.Context {
		ctx[strings.ToLower(k)] = v
	}
	return ctx
}

// Decisions, as SimulatePrincipalPolicy names them.
const (
	allowed      = "allowed"
	explicitDeny = "explicitDeny"
	implicitDeny = "implicitDeny"
)

// noResourceLevel reports whether the reference says action supports no
// resource-level permissions.
func noResourceLevel(action string) bool {
	a := LookupAction(action)
	return a != nil && len(a.Resources) == 0
}

// decide evaluates action on resource with the context ctx (lower-case
// keys) and returns the decision and the statements that made it. With
// filter, the keys AWS does not supply for the action and the resource's
// type are dropped from ctx first.
func (m *Engine) decide(r *role, action, resource string, ctx map[string][]string, filter bool) (string, []statement) {
	if a := LookupAction(action); a != nil {
		if len(a.Resources) == 0 {
			resource = "*"
		}
		if filter {
			listed := append([]string(nil), a.Conditions...)
			uses := a.Resources
			if resource != "*" {
				uses = MatchResourceTypes(action, resource)
			}
			for _, u := range uses {
				listed = append(listed, u.Conditions...)
			}
			kept := make(map[string][]string, len(ctx))
			for k, v := range ctx {
				if globalKey(k) || keyListed(k, listed) {
					kept[k] = v
				}
			}
			ctx = kept
		}
	}
	onlyStar := noResourceLevel(action)
	var allows []statement
	for _, s := range r.stmts {
		if !s.matchesAction(action) || !s.matchesConditions(ctx) {
			continue
		}
		if onlyStar {
			if !containsStr(s.resources, "*") {
				continue
			}
		} else if !s.matchesResource(resource) {
			continue
		}
		if s.deny {
			return explicitDeny, []statement{s}
		}
		allows = append(allows, s)
	}
	if len(allows) > 0 {
		return allowed, allows
	}
	return implicitDeny, nil
}

// denied is the message AWS gives for an implicit or explicit deny.
func (r *role) denied(m *Engine, action, resource string, explicit bool) error {
	on := ""
	if resource != "" {
		on = " on resource: " + resource
	}
	if explicit {
		return fmt.Errorf("User: %s is not authorized to perform: %s%s with an explicit deny in an identity-based policy", m.sessionArn(r), action, on)
	}
	return fmt.Errorf("User: %s is not authorized to perform: %s%s because no identity-based policy allows the %s action", m.sessionArn(r), action, on, action)
}

// allowedAction is the check made before the handler knows the
// resources: some Allow names the action (with "Resource": "*" when the
// action supports no resource-level permissions), and no Deny that applies
// to every resource without conditions forbids it.
func (r *role) allowedAction(m *Engine, action string) error {
	onlyStar := noResourceLevel(action)
	ok := false
	for _, s := range r.stmts {
		if !s.matchesAction(action) {
			continue
		}
		if s.deny && len(s.conds) == 0 && containsStr(s.resources, "*") {
			return r.denied(m, action, "", true)
		}
		if !s.deny && (!onlyStar || containsStr(s.resources, "*")) {
			ok = true
		}
	}
	if !ok {
		return r.denied(m, action, "", false)
	}
	return nil
}

// SimulatePrincipalPolicy evaluates in's actions on its resources for the
// role of in.PolicySourceArn with the context entries as given, as
// iam:SimulatePrincipalPolicy does
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
// one result per action and resource. Only the template's roles are known.
func (m *Engine) SimulatePrincipalPolicy(in awssim.Simulation) ([]awssim.SimulationResult, bool) {
	var r *role
	for _, x := range m.roles {
		if x.arn == in.PolicySourceArn {
			r = x
		}
	}
	if r == nil {
		return nil, false
	}
	ctx := make(map[string][]string, len(in.Context))
	for k, v := range in.Context {
		ctx[strings.ToLower(k)] = v
	}
	var out []awssim.SimulationResult
	for _, a := range in.Actions {
		for _, res := range in.Resources {
			d, stmts := m.decide(r, a, res, ctx, false)
			x := awssim.SimulationResult{Action: a, Resource: res, Decision: d}
			seen := map[string]bool{}
			for _, s := range stmts {
				if !seen[s.policy] {
					seen[s.policy] = true
					x.Matched = append(x.Matched, awssim.MatchedStatement{SourcePolicyID: s.policy, SourcePolicyType: "role"})
				}
			}
			out = append(out, x)
		}
	}
	return out, true
}

func (s statement) matchesAction(action string) bool {
	for _, a := range s.actions {
		if wildcardMatch(strings.ToLower(a), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (s statement) matchesResource(resource string) bool {
	for _, p := range s.resources {
		if wildcardMatch(p, resource) {
			return true
		}
	}
	return false
}

func (s statement) matchesConditions(ctx map[string][]string) bool {
	for _, c := range s.conds {
		if !c.matches(ctx) {
			return false
		}
	}
	return true
}

func (c condition) matches(ctx map[string][]string) bool {
	got, present := ctx[strings.ToLower(c.key)]
	if c.op == "Null" {
		want := len(c.values) > 0 && strings.EqualFold(c.values[0], "true")
		return want == !present
	}
	negated := strings.Contains(c.op, "Not")
	switch c.qualifier {
	case "ForAllValues":
		for _, g := range got {
			if !c.matchOne(g) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, g := range got {
			if c.matchOne(g) {
				return true
			}
		}
		return false
	}
	if !present {
		return c.ifExists || negated
	}
	for _, g := range got {
		if c.matchOne(g) {
			return true
		}
	}
	return false
}

// matchOne applies the operator to one context value against the
// condition's values (any of them).
func (c condition) matchOne(got string) bool {
	op := strings.Replace(c.op, "Not", "", 1)
	match := false
	for _, v := range c.values {
		switch op {
		case "StringEquals", "ArnEquals":
			match = got == v
		case "StringEqualsIgnoreCase":
			match = strings.EqualFold(got, v)
		case "StringLike", "ArnLike":
			match = wildcardMatch(v, got)
		case "Bool":
			match = strings.EqualFold(got, v)
		}
		if match {
			break
		}
	}
	if c.op != op {
		return !match
	}
	return match
}

// wildcardMatch matches IAM patterns: * is any run of characters, ? any
// one character.
func wildcardMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if wildcardMatch(pattern, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
