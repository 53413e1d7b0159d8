package awssim

// This file simulates the part of the IAM API (Query protocol, version
// 2010-05-08) amiswap needs: roles and instance profiles with their roles,
// so that a launch with an instance profile passes the role inside it
// (whatever its name), and SimulatePrincipalPolicy, answered by the
// installed authorizer when it is a PolicySimulator (the IAM engine of
// package awssim/iam). IAM is global: one set per simulator.
//
// IAM API reference: CreateInstanceProfile, AddRoleToInstanceProfile,
// GetInstanceProfile, CreateRole, GetRole, SimulatePrincipalPolicy
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Operations.html).

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

func init() {
	registerQuery("iam", "2010-05-08", iamNamespace, false, map[string]queryHandler{
		"CreateRole":               (*Sim).iamCreateRole,
		"GetRole":                  (*Sim).iamGetRole,
		"CreateInstanceProfile":    (*Sim).iamCreateInstanceProfile,
		"AddRoleToInstanceProfile": (*Sim).iamAddRoleToInstanceProfile,
		"GetInstanceProfile":       (*Sim).iamGetInstanceProfile,
		"SimulatePrincipalPolicy":  (*Sim).iamSimulatePrincipalPolicy,
	})
}

// PolicySimulator is implemented by an Authorizer that can evaluate a
// principal's policies for iam:SimulatePrincipalPolicy.
type PolicySimulator interface {
	// SimulatePrincipalPolicy evaluates every action on every resource
	// for the principal ARN; ok is false when the simulator does not know
	// the principal.
	SimulatePrincipalPolicy(in Simulation) (results []SimulationResult, ok bool)
}

// Simulation is a SimulatePrincipalPolicy request: Resources defaults to
// "*"; Context holds the ContextEntries by key as given.
type Simulation struct {
	PolicySourceArn string
	Actions         []string
	Resources       []string
	Context         map[string][]string
}

// SimulationResult is one EvaluationResult: Decision is "allowed",
// "explicitDeny" or "implicitDeny"; Matched names the statements that
// decided it.
type SimulationResult struct {
	Action, Resource, Decision string
	Matched                    []MatchedStatement
}

// MatchedStatement is a statement of a policy that decided a simulation:
// SourcePolicyID is the policy's name, SourcePolicyType "role" for a
// role's inline policy.
type MatchedStatement struct {
	SourcePolicyID, SourcePolicyType string
}

type iamStore struct {
	roles    map[string]*iamRoleRec // by lower-case name (IAM names are case-insensitive)
	profiles map[string]*iamProfile
}

type iamRoleRec struct {
	Name, Path, ID, ARN, AssumeRolePolicy string
	Created                               time.Time
}

type iamProfile struct {
	Name, Path, ID, ARN string
	Created             time.Time
	roles               []string // lower-case role names
}

var (
	iamNameRe = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	iamPathRe = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
)

func (s *Sim) iamInit() {
	if s.iam.roles == nil {
		s.iam.roles = map[string]*iamRoleRec{}
		s.iam.profiles = map[string]*iamProfile{}
	}
}

// iamID is an IAM unique id: a prefix (AROA for roles, AIPA for instance
// profiles) and 17 characters.
func (s *Sim) iamID(prefix string) string { return UniqueID(prefix, s.newID(prefix)) }

// PutRole adds a role (of path "/") to the simulated IAM unless one of
// that name exists, and returns its ARN. The IAM engine adds the roles of
// its template with it.
func (s *Sim) PutRole(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.iamPutRole(name, "/", "").ARN
}

func (s *Sim) iamPutRole(name, path, doc string) *iamRoleRec {
	s.iamInit()
	if r := s.iam.roles[strings.ToLower(name)]; r != nil {
		return r
	}
	r := &iamRoleRec{Name: name, Path: path, ID: s.iamID("AROA"), AssumeRolePolicy: doc, Created: s.clock.now,
		ARN: "arn:aws:iam::" + s.opts.AccountID + ":role" + path + name}
	s.iam.roles[strings.ToLower(name)] = r
	return r
}

func iamNameAndPath(p params, nameParam string) (name, path string, err error) {
	name = p.str(nameParam)
	if name == "" {
		return "", "", errorf("ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(nameParam))
	}
	if !iamNameRe.MatchString(name) {
		return "", "", errorf("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name, lowerFirst(nameParam))
	}
	path = p.str("Path")
	if path == "" {
		path = "/"
	}
	if !iamPathRe.MatchString(path) || len(path) > 512 {
		return "", "", errorf("ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return name, path, nil
}

func noSuchEntity(format string, args ...any) error {
	e := errorf("NoSuchEntity", format, args...)
	e.Status = http.StatusNotFound
	return e
}

func entityExists(format string, args ...any) error {
	e := errorf("EntityAlreadyExists", format, args...)
	e.Status = http.StatusConflict
	return e
}

func (s *Sim) iamCreateRole(r *request, p params, w *xmlWriter) error {
	name, path, err := iamNameAndPath(p, "RoleName")
	if err != nil {
		return err
	}
	doc := p.str("AssumeRolePolicyDocument")
	if doc == "" {
		return errorf("ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	s.iamInit()
	if s.iam.roles[strings.ToLower(name)] != nil {
		return entityExists("Role with name %s already exists.", name)
	}
	if err := s.authorize(r, Resource{ARN: "arn:aws:iam::" + s.opts.AccountID + ":role" + path + name}); err != nil {
		return err
	}
	w.open("Role")
	s.iamWriteRole(w, s.iamPutRole(name, path, doc))
	w.close("Role")
	return nil
}

// iamRoleParam returns the role the RoleName parameter names.
func (s *Sim) iamRoleParam(p params) (*iamRoleRec, error) {
	name, _, err := iamNameAndPath(p, "RoleName")
	if err != nil {
		return nil, err
	}
	s.iamInit()
	role := s.iam.roles[strings.ToLower(name)]
	if role == nil {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return role, nil
}

// iamProfileParam returns the instance profile the InstanceProfileName
// parameter names.
func (s *Sim) iamProfileParam(p params) (*iamProfile, error) {
	name, _, err := iamNameAndPath(p, "InstanceProfileName")
	if err != nil {
		return nil, err
	}
	s.iamInit()
	pr := s.iam.profiles[strings.ToLower(name)]
	if pr == nil {
		return nil, noSuchEntity("Instance Profile %s cannot be found.", name)
	}
	return pr, nil
}

func (s *Sim) iamGetRole(r *request, p params, w *xmlWriter) error {
	role, err := s.iamRoleParam(p)
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: role.ARN}); err != nil {
		return err
	}
	w.open("Role")
	s.iamWriteRole(w, role)
	w.close("Role")
	return nil
}

func (s *Sim) iamWriteRole(w *xmlWriter, r *iamRoleRec) {
	w.elem("Path", r.Path)
	w.elem("RoleName", r.Name)
	w.elem("RoleId", r.ID)
	w.elem("Arn", r.ARN)
	w.time("CreateDate", r.Created)
	if r.AssumeRolePolicy != "" {
		// IAM returns the document URL-encoded.
		w.elem("AssumeRolePolicyDocument", url.QueryEscape(r.AssumeRolePolicy))
	}
	w.int("MaxSessionDuration", 3600)
}

func (s *Sim) iamCreateInstanceProfile(r *request, p params, w *xmlWriter) error {
	name, path, err := iamNameAndPath(p, "InstanceProfileName")
	if err != nil {
		return err
	}
	s.iamInit()
	if s.iam.profiles[strings.ToLower(name)] != nil {
		return entityExists("Instance Profile %s already exists.", name)
	}
	arn := "arn:aws:iam::" + s.opts.AccountID + ":instance-profile" + path + name
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return err
	}
	pr := &iamProfile{Name: name, Path: path, ID: s.iamID("AIPA"), ARN: arn, Created: s.clock.now}
	s.iam.profiles[strings.ToLower(name)] = pr
	s.iamWriteProfile(w, pr)
	return nil
}

func (s *Sim) iamAddRoleToInstanceProfile(r *request, p params, w *xmlWriter) error {
	pr, err := s.iamProfileParam(p)
	if err != nil {
		return err
	}
	role, err := s.iamRoleParam(p)
	if err != nil {
		return err
	}
	if len(pr.roles) > 0 {
		// An instance profile holds one role ("IAM and AWS STS quotas":
		// roles in an instance profile, 1, not adjustable).
		e := errorf("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
		e.Status = http.StatusConflict
		return e
	}
	// AddRoleToInstanceProfile needs iam:PassRole on the role as well
	// (Service Authorization Reference, dependent actions).
	if err := s.authorize(r, Resource{ARN: pr.ARN}); err != nil {
		return err
	}
	if err := s.authorizeAs(r, "iam", "PassRole", Resource{ARN: role.ARN}); err != nil {
		return err
	}
	pr.roles = append(pr.roles, strings.ToLower(role.Name))
	return nil
}

func (s *Sim) iamGetInstanceProfile(r *request, p params, w *xmlWriter) error {
	pr, err := s.iamProfileParam(p)
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: pr.ARN}); err != nil {
		return err
	}
	s.iamWriteProfile(w, pr)
	return nil
}

func (s *Sim) iamWriteProfile(w *xmlWriter, pr *iamProfile) {
	w.open("InstanceProfile")
	s.iamWriteProfileFields(w, pr)
	w.close("InstanceProfile")
}

func (s *Sim) iamWriteProfileFields(w *xmlWriter, pr *iamProfile) {
	w.elem("Path", pr.Path)
	w.elem("InstanceProfileName", pr.Name)
	w.elem("InstanceProfileId", pr.ID)
	w.elem("Arn", pr.ARN)
	w.time("CreateDate", pr.Created)
	w.open("Roles")
	for _, rn := range pr.roles {
		if role := s.iam.roles[rn]; role != nil {
			w.open("member")
			s.iamWriteRole(w, role)
			w.close("member")
		}
	}
	w.close("Roles")
}

// passRoleChecks returns the iam:PassRole checks of launching with an
// instance profile: one per role inside it, with iam:PassedToService
// ec2.amazonaws.com ("Use an IAM role to grant permissions to
// applications running on Amazon EC2 instances",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html:
// the user needs iam:PassRole on the role, not on the profile). A profile
// the simulated IAM does not hold is taken to hold a role of its own name
// (what CloudFormation and the console create); a profile without a role
// passes none.
func (s *Sim) passRoleChecks(profileARN string) []Resource {
	name := profileARN[strings.LastIndexByte(profileARN, '/')+1:]
	acct := s.opts.AccountID
	if f := strings.Split(profileARN, ":"); len(f) > 4 {
		acct = f[4]
	}
	ctx := map[string][]string{"iam:PassedToService": {"ec2.amazonaws.com"}}
	s.iamInit()
	pr := s.iam.profiles[strings.ToLower(name)]
	if pr == nil || pr.ARN != profileARN {
		return []Resource{{ARN: "arn:aws:iam::" + acct + ":role/" + name, Context: ctx}}
	}
	out := make([]Resource, 0, len(pr.roles))
	for _, rn := range pr.roles {
		if role := s.iam.roles[rn]; role != nil {
			out = append(out, Resource{ARN: role.ARN, Context: ctx})
		}
	}
	return out
}

func (s *Sim) iamSimulatePrincipalPolicy(r *request, p params, w *xmlWriter) error {
	src := p.str("PolicySourceArn")
	if src == "" {
		return errorf("ValidationError", "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null")
	}
	in := Simulation{PolicySourceArn: src, Actions: p.list("ActionNames.member"), Resources: p.list("ResourceArns.member"), Context: map[string][]string{}}
	if len(in.Actions) == 0 {
		return errorf("ValidationError", "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	for _, a := range in.Actions {
		if !strings.Contains(a, ":") {
			return errorf("InvalidInput", "Invalid action name: %s", a)
		}
	}
	if len(in.Resources) == 0 {
		in.Resources = []string{"*"}
	}
	for _, e := range p.structs("ContextEntries.member") {
		k := e.str("ContextKeyName")
		if k == "" {
			return errorf("InvalidInput", "A context entry has no ContextKeyName")
		}
		in.Context[k] = append(in.Context[k], e.list("ContextKeyValues.member")...)
	}
	if err := s.authorize(r, Resource{ARN: src}); err != nil {
		return err
	}
	var results []SimulationResult
	ok := false
	if ps, is := s.authz.(PolicySimulator); is {
		results, ok = ps.SimulatePrincipalPolicy(in)
	}
	if !ok {
		// A principal without policies the simulator knows of: a role of
		// the simulated IAM denies everything implicitly.
		name := src[strings.LastIndexByte(src, '/')+1:]
		s.iamInit()
		role := s.iam.roles[strings.ToLower(name)]
		if !strings.Contains(src, ":role/") || role == nil || role.ARN != src {
			return noSuchEntity("The principal %s cannot be found.", src)
		}
		results = nil
		for _, a := range in.Actions {
			for _, res := range in.Resources {
				results = append(results, SimulationResult{Action: a, Resource: res, Decision: "implicitDeny"})
			}
		}
	}
	w.open("EvaluationResults")
	for _, x := range results {
		w.open("member")
		w.elem("EvalActionName", x.Action)
		w.elem("EvalResourceName", x.Resource)
		w.elem("EvalDecision", x.Decision)
		writeMatched(w, x.Matched)
		if x.Resource != "*" {
			w.raw("<EvalDecisionDetails/>")
			w.open("ResourceSpecificResults")
			w.open("member")
			w.elem("EvalResourceName", x.Resource)
			w.elem("EvalResourceDecision", x.Decision)
			writeMatched(w, x.Matched)
			w.close("member")
			w.close("ResourceSpecificResults")
		}
		w.close("member")
	}
	w.close("EvaluationResults")
	w.bool("IsTruncated", false)
	return nil
}

// writeMatched writes the MatchedStatements of a result (and its empty
// MissingContextValues: the engine is given every key it uses or none).
func writeMatched(w *xmlWriter, matched []MatchedStatement) {
	w.open("MatchedStatements")
	for _, m := range matched {
		w.open("member")
		w.elem("SourcePolicyId", m.SourcePolicyID)
		w.elem("SourcePolicyType", m.SourcePolicyType)
		w.close("member")
	}
	w.close("MatchedStatements")
	w.raw("<MissingContextValues/>")
}
