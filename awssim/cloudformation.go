package awssim

// This file is a minimal CloudFormation (Query protocol, version
// 2010-05-15): the simulator holds at most one stack, installed with
// SetStack — the stack of the template whose IAM the simulator enforces
// (cmd/amiswap sim --iam-template) — and answers DescribeStacks and
// DescribeStackResources for it, so that a client finds the stack's
// roles, functions and outputs the same way against the simulator as
// against AWS. Every other action is an InvalidAction error in
// CloudFormation's shape.

import "time"

// Stack is a CloudFormation stack as DescribeStacks and
// DescribeStackResources report it, in CREATE_COMPLETE.
type Stack struct {
	Name        string
	Description string
	Created     time.Time
	Parameters  []StackParameter
	Outputs     []StackOutput
	Resources   []StackResource
}

// StackParameter is a parameter's key and value.
type StackParameter struct{ Key, Value string }

// StackOutput is an output with its evaluated value.
type StackOutput struct{ Key, Value, Description string }

// StackResource is a resource of the stack.
type StackResource struct{ LogicalID, PhysicalID, Type string }

type cfnStore struct {
	stack *Stack
	id    string
}

func init() {
	registerStore("cloudformation", func(s *Sim) {}, func(s *Sim) any {
		if s.cfn.stack == nil {
			return nil
		}
		return map[string]any{"stackName": s.cfn.stack.Name, "stackId": s.cfn.id, "resources": len(s.cfn.stack.Resources)}
	})
	registerQuery("cloudformation", "2010-05-15", "http://cloudformation.amazonaws.com/doc/2010-05-15/", false, map[string]queryHandler{
		"DescribeStacks":         cfnDescribeStacks,
		"DescribeStackResources": cfnDescribeStackResources,
	})
}

// SetStack installs the stack the simulator holds (nil removes it). Its
// creation time defaults to the simulator's start time.
func (s *Sim) SetStack(st *Stack) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfn.stack, s.cfn.id = st, ""
	if st == nil {
		return
	}
	if st.Created.IsZero() {
		st.Created = s.opts.Start
	}
	s.cfn.id = s.arn("cloudformation", "stack/"+st.Name+"/"+s.genUUID())
}

// cfnStack finds the stack by name or id; "" is every stack (here: the
// one, if any).
func (s *Sim) cfnStack(nameOrID string) (*Stack, error) {
	st := s.cfn.stack
	if st != nil && (nameOrID == "" || nameOrID == st.Name || nameOrID == s.cfn.id) {
		return st, nil
	}
	if nameOrID == "" {
		return nil, nil
	}
	return nil, errorf("ValidationError", "Stack with id %s does not exist", nameOrID)
}

func cfnDescribeStacks(s *Sim, r *request, p params, w *xmlWriter) error {
	st, err := s.cfnStack(p.str("StackName"))
	if err != nil {
		return err
	}
	w.open("Stacks")
	if st != nil {
		if err := s.authorize(r, Resource{ARN: s.cfn.id}); err != nil {
			return err
		}
		w.open("member")
		w.elem("StackId", s.cfn.id)
		w.elem("StackName", st.Name)
		w.elemIf("Description", st.Description)
		w.open("Parameters")
		for _, x := range st.Parameters {
			w.open("member")
			w.elem("ParameterKey", x.Key)
			w.elem("ParameterValue", x.Value)
			w.close("member")
		}
		w.close("Parameters")
		w.time("CreationTime", st.Created)
		w.elem("StackStatus", "CREATE_COMPLETE")
		w.bool("DisableRollback", false)
		w.open("Capabilities")
		w.elem("member", "CAPABILITY_NAMED_IAM")
		w.close("Capabilities")
		w.open("Outputs")
		for _, o := range st.Outputs {
			w.open("member")
			w.elem("OutputKey", o.Key)
			w.elem("OutputValue", o.Value)
			w.elemIf("Description", o.Description)
			w.close("member")
		}
		w.close("Outputs")
		w.close("member")
	}
	w.close("Stacks")
	return nil
}

// cfnDescribeStackResources lists the stack's resources: by StackName, or
// the stack of PhysicalResourceId; LogicalResourceId narrows to one.
// Without either, CloudFormation refuses the call (ValidationError).
func cfnDescribeStackResources(s *Sim, r *request, p params, w *xmlWriter) error {
	name, physical := p.str("StackName"), p.str("PhysicalResourceId")
	if name == "" && physical == "" {
		return errorf("ValidationError", "Either StackName or PhysicalResourceId must be specified.")
	}
	st, err := s.cfnStack(name)
	if err != nil {
		return err
	}
	if name == "" {
		st = nil
		if s.cfn.stack != nil {
			for _, x := range s.cfn.stack.Resources {
				if x.PhysicalID == physical {
					st = s.cfn.stack
				}
			}
		}
		if st == nil {
			return errorf("ValidationError", "Stack for %s does not exist", physical)
		}
	}
	if err := s.authorize(r, Resource{ARN: s.cfn.id}); err != nil {
		return err
	}
	logical := p.str("LogicalResourceId")
	w.open("StackResources")
	for _, x := range st.Resources {
		if logical != "" && x.LogicalID != logical {
			continue
		}
		w.open("member")
		w.elem("StackName", st.Name)
		w.elem("StackId", s.cfn.id)
		w.elem("LogicalResourceId", x.LogicalID)
		w.elem("PhysicalResourceId", x.PhysicalID)
		w.elem("ResourceType", x.Type)
		w.time("Timestamp", st.Created)
		w.elem("ResourceStatus", "CREATE_COMPLETE")
		w.close("member")
	}
	w.close("StackResources")
	return nil
}
