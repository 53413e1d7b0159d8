package iam

// This file holds AWS's Service Authorization Reference ("Actions,
// resources, and condition keys for AWS services",
// https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)
// for the services amiswap touches, as JSON (sar.json): per service, its
// actions with the resource types each one authorizes (and the condition
// keys per resource type), the condition keys of the action itself, the
// dependent actions; its resource types with their ARN formats; its
// condition keys with their types. The engine uses it as AWS does: an
// action that lists no resource type supports no resource-level
// permissions, so only "Resource": "*" grants it; a condition key that is
// neither global nor listed for the action or its matched resource type is
// not in the request context.

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed sar.json
var sarJSON []byte

// SARAction is an action of the Service Authorization Reference.
type SARAction struct {
	Access     string           `json:"access"`
	Resources  []SARResourceUse `json:"resources"`
	Conditions []string         `json:"conditions"`
	Dependent  []string         `json:"dependent"`
}

// SARResourceUse is a resource type an action authorizes, with the
// condition keys the action supports on it; Required is the reference's
// asterisk.
type SARResourceUse struct {
	Type       string   `json:"type"`
	Required   bool     `json:"required"`
	Conditions []string `json:"conditions"`
}

// SARResourceType is a resource type: its ARN format (with ${Partition},
// ${Region}, ${Account} and the resource's own placeholders) and keys.
type SARResourceType struct {
	ARN        string   `json:"arn"`
	Conditions []string `json:"conditions"`
	tokens     []arnToken
}

// SARService is one service prefix of the reference.
type SARService struct {
	Actions    map[string]*SARAction       `json:"actions"`
	Resources  map[string]*SARResourceType `json:"resources"`
	Conditions map[string]string           `json:"conditions"`
}

var (
	sarOnce sync.Once
	sarData map[string]*SARService
	sarLow  map[string]*SARAction // "service:action" in lower case
)

func sar() map[string]*SARService {
	sarOnce.Do(func() {
		if err := json.Unmarshal(sarJSON, &sarData); err != nil {
			panic("iam: the embedded Service Authorization Reference does not parse: " + err.Error())
		}
		sarLow = map[string]*SARAction{}
		for svc, s := range sarData {
			for name, a := range s.Actions {
				sarLow[strings.ToLower(svc+":"+name)] = a
			}
			for _, rt := range s.Resources {
				rt.tokens = tokenizeFormat(rt.ARN)
			}
		}
	})
	return sarData
}

// ARN formats and patterns are compared as token sequences: a literal
// character, "?" (any one character), "*" (any run: in an IAM pattern it
// spans colons), and a placeholder of the reference's format (any run
// without a colon: ${Partition}, ${Region}, ${Account}, a resource's id or
// name). A literal "*" in a format (backup's recovery points have one for
// the account) is a placeholder too.
type arnToken struct {
	c    byte
	kind byte // 'l' literal, '?' one character, '*' any run, '#' a placeholder
}

func tokenizePattern(p string) []arnToken {
	out := make([]arnToken, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			out = append(out, arnToken{kind: '*'})
		case '?':
			out = append(out, arnToken{kind: '?'})
		default:
			out = append(out, arnToken{c: p[i], kind: 'l'})
		}
	}
	return out
}

func tokenizeFormat(f string) []arnToken {
	var out []arnToken
	for len(f) > 0 {
		if strings.HasPrefix(f, "${") {
			if j := strings.IndexByte(f, '}'); j > 0 {
				out = append(out, arnToken{kind: '#'})
				f = f[j+1:]
				continue
			}
		}
		if f[0] == '*' {
			out = append(out, arnToken{kind: '#'})
		} else {
			out = append(out, arnToken{c: f[0], kind: 'l'})
		}
		f = f[1:]
	}
	return out
}

// intersects reports whether some ARN matches both the IAM pattern p and
// the reference's format f.
func intersects(p, f []arnToken) bool {
	memo := map[[2]int]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		memo[k] = false // cycles cannot help
		var r bool
		switch {
		case i == len(p) && j == len(f):
			r = true
		case j < len(f) && f[j].kind == '#':
			// The placeholder ends, or takes the pattern's next
			// character (not a colon), or the pattern's * ends.
			r = rec(i, j+1) ||
				(i < len(p) && p[i].kind == 'l' && p[i].c != ':' && rec(i+1, j)) ||
				(i < len(p) && p[i].kind == '?' && rec(i+1, j)) ||
				(i < len(p) && p[i].kind == '*' && rec(i+1, j))
		case i < len(p) && p[i].kind == '*':
			r = rec(i+1, j) || (j < len(f) && rec(i, j+1))
		case i == len(p) || j == len(f):
			r = false
		default: // f[j] is a literal
			r = (p[i].kind == '?' || p[i].c == f[j].c) && rec(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return rec(0, 0)
}

// LookupAction returns the reference's entry for "service:Action" (case
// does not matter), or nil when the reference has none.
func LookupAction(action string) *SARAction {
	sar()
	return sarLow[strings.ToLower(action)]
}

// Services returns the reference's services by prefix.
func Services() map[string]*SARService { return sar() }

// MatchResourceTypes returns the resource types of action whose ARN
// format arn (or an ARN pattern with * and ?) can name.
func MatchResourceTypes(action, arn string) []SARResourceUse {
	a := LookupAction(action)
	if a == nil {
		return nil
	}
	svc := sar()[strings.ToLower(action[:strings.IndexByte(action, ':')])]
	var out []SARResourceUse
	for _, use := range a.Resources {
		rt := findResourceType(svc, use.Type)
		if rt != nil && rt.matches(arn) {
			out = append(out, use)
		}
	}
	return out
}

// findResourceType finds a resource type; an action may list a type of
// another service (ec2:RunInstances lists none, but iam:PassRole's role
// is iam's), so every service is searched after the action's own.
func findResourceType(svc *SARService, name string) *SARResourceType {
	if svc != nil {
		if rt := svc.Resources[name]; rt != nil {
			return rt
		}
	}
	for _, s := range sar() {
		if rt := s.Resources[name]; rt != nil {
			return rt
		}
	}
	return nil
}

// matches reports whether arn, or an ARN pattern (whose * and ? stand for
// the placeholders), is of this type.
func (rt *SARResourceType) matches(arn string) bool {
	return intersects(tokenizePattern(arn), rt.tokens)
}

// globalKey reports whether a condition key is one AWS supplies whatever
// the action (the aws: keys other than the tag keys, which an action or
// resource type lists where it supports them: "AWS global condition
// context keys",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
func globalKey(key string) bool {
	k := strings.ToLower(key)
	if !strings.HasPrefix(k, "aws:") {
		return false
	}
	return !strings.HasPrefix(k, "aws:requesttag/") && !strings.HasPrefix(k, "aws:resourcetag/") && k != "aws:tagkeys"
}

// keyListed reports whether a context key (lower case) is among the
// reference's keys, whose ${TagKey}-style placeholders stand for any text.
func keyListed(key string, listed []string) bool {
	for _, l := range listed {
		l = strings.ToLower(l)
		if i := strings.Index(l, "${"); i >= 0 {
			if strings.HasPrefix(key, l[:i]) && len(key) > i {
				return true
			}
			continue
		}
		if key == l {
			return true
		}
	}
	return false
}

// CheckStatement reports what the reference says is wrong with an Allow
// or Deny statement: an action that does not exist, a resource that
// matches no resource type of an action (or is not "*" for an action
// without resource-level permissions: it grants nothing), and a condition
// key that is neither global nor listed for an action or the resource
// types its resources match (AWS never supplies it: the condition can
// never be true, or is always vacuous).
func CheckStatement(st Statement) []string {
	var problems []string
	for _, pattern := range st.Actions {
		actions := expandAction(pattern)
		if len(actions) == 0 {
			problems = append(problems, fmt.Sprintf("action %s does not exist", pattern))
			continue
		}
		for _, action := range actions {
			a := LookupAction(action)
			listed := append([]string(nil), a.Conditions...)
			for _, res := range st.Resources {
				switch {
				case res == "*":
					for _, u := range a.Resources {
						listed = append(listed, u.Conditions...)
					}
				case len(a.Resources) == 0:
					problems = append(problems, fmt.Sprintf("%s supports no resource-level permissions, so only \"*\" grants it, not %s", action, res))
				default:
					uses := MatchResourceTypes(action, res)
					if len(uses) == 0 {
						problems = append(problems, fmt.Sprintf("%s: %s matches none of its resource types (%s)", action, res, resourceTypeList(a)))
					}
					for _, u := range uses {
						listed = append(listed, u.Conditions...)
					}
				}
			}
			for _, c := range st.Conditions {
				if k := strings.ToLower(c.Key); !globalKey(k) && !keyListed(k, listed) {
					problems = append(problems, fmt.Sprintf("%s: condition key %s is not supplied for it nor for its resources %v", action, c.Key, st.Resources))
				}
			}
		}
	}
	return problems
}

// expandAction returns the reference's actions an action pattern (with *
// and ?) names.
func expandAction(pattern string) []string {
	if !strings.ContainsAny(pattern, "*?") {
		if a := LookupAction(pattern); a != nil {
			return []string{pattern}
		}
		return nil
	}
	var out []string
	for svc, s := range sar() {
		for name := range s.Actions {
			if wildcardMatch(strings.ToLower(pattern), strings.ToLower(svc+":"+name)) {
				out = append(out, svc+":"+name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func resourceTypeList(a *SARAction) string {
	var names []string
	for _, u := range a.Resources {
		names = append(names, u.Type)
	}
	return strings.Join(names, ", ")
}

// MissingDependents returns, for each of actions (patterns allowed), the
// dependent actions the reference lists for it that actions does not
// grant.
func MissingDependents(actions []string) map[string][]string {
	granted := func(action string) bool {
		for _, p := range actions {
			if wildcardMatch(strings.ToLower(p), strings.ToLower(action)) {
				return true
			}
		}
		return false
	}
	out := map[string][]string{}
	for _, p := range actions {
		for _, action := range expandAction(p) {
			for _, dep := range LookupAction(action).Dependent {
				if !granted(dep) {
					out[action] = append(out[action], dep)
				}
			}
		}
	}
	return out
}
