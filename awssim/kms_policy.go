package awssim

// This file decides who may use a KMS key, as AWS KMS does ("Determining
// access to an AWS KMS key", KMS developer guide): the key policy first.
// A statement that allows the account's root principal hands the decision
// to the account's IAM policies (the installed Authorizer); a statement
// that names the caller (or "*") allows it by itself; a grant for the
// caller and the operation allows it too; an explicit Deny in the key
// policy wins. A key policy that neither allows the account nor the
// caller leaves IAM powerless: the call is denied whatever IAM says.
//
// EC2 uses keys on behalf of its callers (EBS encryption): those checks
// carry kms:ViaService = ec2.REGION.amazonaws.com, kms:CallerAccount and,
// for CreateGrant, kms:GrantIsForAWSResource = true.

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// PolicyStrings reads a policy element (Action, Resource, a principal, a
// condition value) that JSON gives as a string or a list of strings. The
// IAM engine reads its policies with it too.
func PolicyStrings(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string or a list of strings", v)
}

// kmsStatement is one statement of a key policy.
type kmsStatement struct {
	deny       bool
	principals []string // "*", an account root, or IAM ARNs
	actions    []string
	conds      []kmsCondition
}

type kmsCondition struct {
	op, key  string // op without IfExists; key lower case
	ifExists bool
	values   []string
}

// parseKeyPolicy reads a key policy document.
func parseKeyPolicy(doc string) ([]kmsStatement, error) {
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(p.Statement, &raw); err != nil {
		var one map[string]any
		if err := json.Unmarshal(p.Statement, &one); err != nil || one == nil {
			return nil, fmt.Errorf("Statement must be an object or a list of objects")
		}
		raw = []map[string]any{one}
	}
	var out []kmsStatement
	for i, m := range raw {
		var st kmsStatement
		switch m["Effect"] {
		case "Allow":
		case "Deny":
			st.deny = true
		default:
			return nil, fmt.Errorf("statement %d: Effect must be Allow or Deny", i)
		}
		switch pr := m["Principal"].(type) {
		case string:
			if pr != "*" {
				return nil, fmt.Errorf("statement %d: a Principal string must be \"*\"", i)
			}
			st.principals = []string{"*"}
		case map[string]any:
			for _, k := range []string{"AWS", "Service"} {
				if v, ok := pr[k]; ok {
					list, err := PolicyStrings(v)
					if err != nil {
						return nil, fmt.Errorf("statement %d: Principal %s: %v", i, k, err)
					}
					st.principals = append(st.principals, list...)
				}
			}
		default:
			return nil, fmt.Errorf("statement %d: a key policy statement needs a Principal", i)
		}
		acts, err := PolicyStrings(m["Action"])
		if err != nil {
			return nil, fmt.Errorf("statement %d: Action: %v", i, err)
		}
		st.actions = acts
		conds, _ := m["Condition"].(map[string]any)
		for op, kv := range conds {
			c := kmsCondition{op: op}
			if q, rest, ok := strings.Cut(op, ":"); ok {
				if q != "ForAnyValue" {
					return nil, fmt.Errorf("statement %d: condition qualifier %s is not supported by the simulator", i, q)
				}
				c.op = rest
			}
			if base, ok := strings.CutSuffix(c.op, "IfExists"); ok {
				c.op, c.ifExists = base, true
			}
			switch c.op {
			case "StringEquals", "StringLike", "ArnEquals", "ArnLike", "Bool", "StringNotEquals":
			default:
				return nil, fmt.Errorf("statement %d: condition operator %s is not supported by the simulator", i, op)
			}
			keys, _ := kv.(map[string]any)
			for k, v := range keys {
				vals, err := PolicyStrings(v)
				if err != nil {
					if b, ok := v.(bool); ok {
						vals, err = []string{fmt.Sprint(b)}, nil
					}
				}
				if err != nil {
					return nil, fmt.Errorf("statement %d: condition %s: %v", i, k, err)
				}
				cc := c
				cc.key, cc.values = strings.ToLower(k), vals
				st.conds = append(st.conds, cc)
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func (st kmsStatement) matchesAction(action string) bool {
	for _, a := range st.actions {
		if a == "*" || globMatch(strings.ToLower(a), "kms:"+strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (c kmsCondition) matches(ctx map[string][]string) bool {
	got, ok := ctx[c.key]
	if !ok {
		return c.ifExists || c.op == "StringNotEquals"
	}
	// A context key with several values (kms:ResourceAliases,
	// kms:GrantOperations) matches when any of them does.
	hit := false
	for _, g := range got {
		for _, v := range c.values {
			switch c.op {
			case "StringEquals", "ArnEquals", "StringNotEquals":
				hit = hit || g == v
			case "StringLike", "ArnLike":
				hit = hit || globMatch(v, g)
			case "Bool":
				hit = hit || strings.EqualFold(g, v)
			}
		}
	}
	if c.op == "StringNotEquals" {
		return !hit
	}
	return hit
}

// keyPolicyVerdict is what a key policy says about a caller and action.
type keyPolicyVerdict int

const (
	policySilent keyPolicyVerdict = iota // neither the caller nor the account
	policyToIAM                          // allows the account: IAM decides
	policyAllows                         // allows the caller itself
	policyDenies                         // an explicit Deny
)

// verdict evaluates a key policy for principal (an IAM role or user ARN,
// or a service principal) and action.
func (s *Sim) verdict(k *kmsKey, principal, action string, ctx map[string][]string) keyPolicyVerdict {
	root := "arn:aws:iam::" + s.opts.AccountID + ":root"
	v := policySilent
	for _, st := range k.policy {
		if !st.matchesAction(action) {
			continue
		}
		match := true
		for _, c := range st.conds {
			match = match && c.matches(ctx)
		}
		if !match {
			continue
		}
		for _, p := range st.principals {
			switch {
			case p == "*" || p == principal:
				if st.deny {
					return policyDenies
				}
				v = policyAllows
			case p == root || p == s.opts.AccountID:
				if st.deny {
					return policyDenies
				}
				if v == policySilent {
					v = policyToIAM
				}
			}
		}
	}
	return v
}

// principalOf is the IAM principal behind an access key: the role of an
// IAM emulation key (its assumed-role ARN turned into the role's ARN), or
// an IAM user named after the key (what GetCallerIdentity reports).
func (s *Sim) principalOf(akid string) string {
	if ci, ok := s.authz.(CallerIdentifier); ok {
		if arn, _, ok := ci.CallerIdentity(akid); ok {
			if rest, ok := strings.CutPrefix(arn, "arn:aws:sts::"+s.opts.AccountID+":assumed-role/"); ok {
				role, _, _ := strings.Cut(rest, "/")
				return "arn:aws:iam::" + s.opts.AccountID + ":role/" + role
			}
			return arn
		}
	}
	return "arn:aws:iam::" + s.opts.AccountID + ":user/" + akid
}

// keyAccess decides whether the caller (akid, principal) may perform
// kms:action on key k with the request context ctx (lower-case keys; the
// key's aliases and the caller account are added). Callers hold s.mu.
func (s *Sim) keyAccess(akid, principal string, k *kmsKey, action string, ctx map[string][]string) error {
	full := map[string][]string{"kms:calleraccount": {s.opts.AccountID}}
	for key, v := range ctx {
		full[key] = v
	}
	if aliases := s.aliasesOf(k); len(aliases) > 0 {
		full["kms:resourcealiases"] = aliases
	}
	denied := func(why string) error {
		return fmt.Errorf("User: %s is not authorized to perform: kms:%s on resource: %s %s", principal, action, k.ARN, why)
	}
	v := s.verdict(k, principal, action, full)
	switch v {
	case policyDenies:
		return denied("with an explicit deny in a resource-based policy")
	case policyAllows:
		return nil
	}
	for _, g := range s.kms.grants {
		if g.KeyID == k.ID && g.Grantee == principal && slices.Contains(g.Operations, action) {
			return nil
		}
	}
	if v == policySilent {
		return denied("because no resource-based policy allows the kms:" + action + " action")
	}
	if s.authz == nil || akid == "" {
		if akid == "" { // a service principal has no IAM policies of its own here
			return denied("because no identity-based policy allows the kms:" + action + " action")
		}
		return nil
	}
	return s.authz.Authorize(akid, "kms", action, []Resource{{ARN: k.ARN, Tags: kmsTags(k), Context: full}})
}

func kmsTags(k *kmsKey) map[string]string {
	if len(k.Tags) == 0 {
		return nil
	}
	t := map[string]string{}
	for _, x := range k.Tags {
		t[x.TagKey] = x.TagValue
	}
	return t
}

// kmsAuthorize checks a KMS call on a key by its caller.
func (s *Sim) kmsAuthorize(r *request, k *kmsKey, action string, ctx map[string][]string) error {
	if err := s.keyAccess(r.accessKeyID, s.principalOf(r.accessKeyID), k, action, ctx); err != nil {
		return kmsAccessDenied(err.Error())
	}
	return nil
}

// kmsAuthorizeIAM checks an action that names no key (CreateKey,
// ListAliases): IAM alone decides, with Resource "*".
func (s *Sim) kmsAuthorizeIAM(r *request, action string) error {
	if s.authz == nil {
		return nil
	}
	if err := s.authz.Authorize(r.accessKeyID, "kms", action, nil); err != nil {
		return kmsAccessDenied(err.Error())
	}
	return nil
}

// kmsAuthorizeIAMOn checks an action on a resource that has no policy of
// its own (an alias): IAM alone decides.
func (s *Sim) kmsAuthorizeIAMOn(r *request, action, arn string) error {
	if s.authz == nil {
		return nil
	}
	if err := s.authz.Authorize(r.accessKeyID, "kms", action, []Resource{{ARN: arn}}); err != nil {
		return kmsAccessDenied(err.Error())
	}
	return nil
}

// ebsKMSActions are what a principal needs on a key to use it for EBS
// encryption (EBS user guide, "Requirements for Amazon EBS encryption",
// https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html:
// kms:CreateGrant, kms:Decrypt, kms:DescribeKey,
// kms:GenerateDataKeyWithoutPlaintext, kms:ReEncrypt*). The page does not
// say which of them each EC2 call exercises, so the simulator checks all
// of them for every launch or image that uses a key.
var ebsKMSActions = []string{"CreateGrant", "Decrypt", "DescribeKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"}

// ebsKeyUse checks that a caller may have EC2 use a key for EBS volumes or
// snapshots: each action of ebsKMSActions, via EC2. A denial is recorded
// in the call log as the KMS call EC2 made on the caller's behalf (AWS
// CloudTrail shows it so) and returned. Callers hold s.mu.
func (s *Sim) ebsKeyUse(akid, principal, keyARN string) error {
	k, err := s.keyByRef(keyARN, true)
	if err != nil {
		return err
	}
	ctx := map[string][]string{"kms:viaservice": {"ec2." + s.opts.Region + ".amazonaws.com"}}
	for _, action := range ebsKMSActions {
		c := ctx
		if action == "CreateGrant" {
			c = map[string][]string{"kms:viaservice": ctx["kms:viaservice"], "kms:grantisforawsresource": {"true"}}
		}
		if err := s.keyAccess(akid, principal, k, action, c); err != nil {
			s.calls.add(Call{Time: s.clock.now, Service: "kms", Action: action, AccessKeyID: akid, Status: 400, ErrorCode: "AccessDeniedException"})
			return err
		}
	}
	return nil
}

// asgServiceLinkedRole is the principal Auto Scaling launches instances
// as. Its permission policy covers AWS managed keys but no customer
// managed key: those need a key policy statement or a grant for it
// (Auto Scaling user guide, "Required AWS KMS key policy for use with
// encrypted volumes",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html).
func (s *Sim) asgServiceLinkedRole() string {
	return "arn:aws:iam::" + s.opts.AccountID + ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
}

// sortedKeys returns a set's members sorted.
func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
