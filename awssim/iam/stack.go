package iam

// This file gives the simulator the stack of the template whose roles it
// enforces, as CloudFormation would report it after creating it: its
// parameters, its outputs evaluated to the simulator's names and ARNs,
// and its resources with their physical ids.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/amiswap/amiswap/awssim"
)

// StackFromTemplate is the stack CloudFormation creates from template with
// params (as for FromTemplate; AWS::StackName names it, default amiswap):
// every parameter with its value (a CommaDelimitedList comma-joined),
// every output whose Condition holds with its value resolved, and every
// resource whose Condition holds with the physical id CloudFormation
// reports — Ref's value (a name, or an ARN for topics and state
// machines).
func StackFromTemplate(template []byte, params map[string]string) (*awssim.Stack, error) {
	cf, t, err := newResolver(template, params)
	if err != nil {
		return nil, err
	}
	var extra struct {
		Description string
		Outputs     map[string]struct {
			Description string
			Condition   string
			Value       any
		}
	}
	if err := json.Unmarshal(template, &extra); err != nil {
		return nil, fmt.Errorf("iam: parse template: %w", err)
	}
	st := &awssim.Stack{Name: cf.pseudo["AWS::StackName"], Description: extra.Description}
	for _, name := range sortedKeys(t.Parameters) {
		v := cf.params[name]
		var s string
		switch v := v.(type) {
		case []any:
			parts := make([]string, len(v))
			for i, x := range v {
				parts[i] = fmt.Sprint(x)
			}
			s = strings.Join(parts, ",")
		case nil:
		default:
			s = fmt.Sprint(v)
		}
		st.Parameters = append(st.Parameters, awssim.StackParameter{Key: name, Value: s})
	}
	for _, id := range sortedKeys(t.Resources) {
		r := t.Resources[id]
		if ok, err := cf.holds(r.Condition); err != nil || !ok {
			if err != nil {
				return nil, fmt.Errorf("iam: resource %s: %w", id, err)
			}
			continue
		}
		phys, err := cf.ref(id)
		if err != nil {
			return nil, fmt.Errorf("iam: resource %s: %w", id, err)
		}
		st.Resources = append(st.Resources, awssim.StackResource{LogicalID: id, PhysicalID: phys, Type: r.Type})
	}
	for _, key := range sortedKeys(extra.Outputs) {
		o := extra.Outputs[key]
		if ok, err := cf.holds(o.Condition); err != nil || !ok {
			if err != nil {
				return nil, fmt.Errorf("iam: output %s: %w", key, err)
			}
			continue
		}
		v, err := cf.str(o.Value)
		if err != nil {
			return nil, fmt.Errorf("iam: output %s: %w", key, err)
		}
		st.Outputs = append(st.Outputs, awssim.StackOutput{Key: key, Value: v, Description: o.Description})
	}
	return st, nil
}

// holds evaluates a resource's or output's Condition ("" holds).
func (cf *cfnResolver) holds(name string) (bool, error) {
	if name == "" {
		return true, nil
	}
	return cf.condition(name)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
