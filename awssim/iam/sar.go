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
	"regexp"
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
	re         *regexp.Regexp
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
				rt.re = arnPattern(rt.ARN)
			}
		}
	})
	return sarData
}

// arnPattern turns an ARN format into a regular expression: each
// ${Placeholder} is any non-empty text (a resource name may hold "/").
func arnPattern(format string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for {
		i := strings.Index(format, "${")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(format))
			break
		}
		b.WriteString(regexp.QuoteMeta(format[:i]))
		j := strings.IndexByte(format[i:], '}')
		if j < 0 {
			b.WriteString(regexp.QuoteMeta(format[i:]))
			break
		}
		name := format[i+2 : i+j]
		switch name {
		case "Partition":
			b.WriteString(`(aws[a-z-]*|\*)`)
		case "Region":
			b.WriteString(`[a-z0-9*?-]*`)
		case "Account":
			b.WriteString(`[0-9*?]*`)
		default:
			b.WriteString(`.+`)
		}
		format = format[i+j+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
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
func (rt *SARResourceType) matches(arn string) bool { return rt.re.MatchString(arn) }

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
