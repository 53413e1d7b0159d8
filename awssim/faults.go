package awssim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fault makes matching calls fail, or makes the next resource an action
// creates end in its failed state.
//
//	{"service":"ec2","action":"CreateImage","code":"InternalError","status":500,"count":1}
//	{"service":"ec2","action":"CreateImage","outcome":"failed"}
//	{"service":"ec2","action":"InstanceStatus","outcome":"impaired","match":{"tag:amiswap:role":"verifier"}}
//
// The last form is not an API action: it makes the status checks of the
// next matching instance fail (DescribeInstanceStatus shows it impaired,
// its reachability failed), as a kernel panic or a broken network stack
// does on a real instance. It applies at once to matching instances
// already running, and otherwise when a matching instance's checks would
// pass.
type Fault struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	// Code, Status and Message describe the error returned (status
	// defaults to 400, or 500 for InternalError/ServiceUnavailable).
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Outcome "failed" marks the next resource created by the action as
	// failed instead of returning an error. Outcome "lost" serves the call
	// (its effect takes place) and then answers with the error instead of
	// the result, as when a request reaches AWS and its answer is lost
	// (Code defaults to InternalError, status 500).
	// Outcome "impaired" (with action InstanceStatus) fails an instance's
	// status checks.
	Outcome string `json:"outcome,omitempty"`
	// Match limits an outcome fault to the resources it matches: every
	// key must match. For instances the keys are "instance-id",
	// "image-id" and "tag:<key>".
	Match map[string]string `json:"match,omitempty"`
	// Count is how many calls (or resources) the fault applies to; 0 means 1.
	Count int `json:"count,omitempty"`
	// AccessKeyID, when set, limits the fault to one caller.
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

func (f *Fault) matches(service, action, akid string) bool {
	return strings.EqualFold(f.Service, service) && (f.Action == "*" || f.Action == action) &&
		(f.AccessKeyID == "" || f.AccessKeyID == akid)
}

// validate checks a fault given to the control API.
func (f *Fault) validate() error {
	switch {
	case f.Service == "" || f.Action == "":
		return fmt.Errorf("a fault needs \"service\" and \"action\"")
	case f.Outcome == "" && f.Code == "":
		return fmt.Errorf("a fault needs \"code\" (an error to return) or an \"outcome\"")
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("status must be an HTTP error status (400-599), got %d", f.Status)
	case f.Count < 0:
		return fmt.Errorf("count must be positive (0 means 1), got %d", f.Count)
	case f.Action == instanceStatusAction && (f.Outcome != "impaired" || !strings.EqualFold(f.Service, "ec2")):
		return fmt.Errorf("the %s fault is {\"service\":\"ec2\",\"action\":\"%s\",\"outcome\":\"impaired\"}", instanceStatusAction, instanceStatusAction)
	case f.Action != instanceStatusAction && f.Outcome != "" && f.Outcome != "failed" && f.Outcome != "lost":
		return fmt.Errorf("outcome must be \"failed\" or \"lost\" (or \"impaired\" with action %s), got %q", instanceStatusAction, f.Outcome)
	case len(f.Match) > 0 && f.Action != instanceStatusAction:
		return fmt.Errorf("\"match\" is only used by the %s fault", instanceStatusAction)
	}
	for k := range f.Match {
		if k != "instance-id" && k != "image-id" && !strings.HasPrefix(k, "tag:") {
			return fmt.Errorf("match key %q is not instance-id, image-id or tag:<key>", k)
		}
	}
	return nil
}

// instanceStatusAction names the fault that impairs instances.
const instanceStatusAction = "InstanceStatus"

// AddFault installs a fault.
func (s *Sim) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Outcome == "lost" && f.Code == "" {
		f.Code = "InternalError"
	}
	if f.Action == instanceStatusAction {
		s.faults = append(s.faults, f)
		// Instances already running are impaired at once.
		for _, in := range s.ec2.instanceOrder {
			if in.State == "running" && !in.Impaired && s.takeOutcomeMatching("ec2", instanceStatusAction, in.faultMatches) {
				s.impair(in)
			}
		}
		return
	}
	if f.Outcome != "failed" && (f.Status < 400 || f.Status > 599) {
		// An error fault must look like an error to the client.
		f.Status = http.StatusBadRequest
		switch f.Code {
		case "InternalError", "InternalFailure", "ServiceUnavailable", "InternalServerError":
			f.Status = http.StatusInternalServerError
		}
	}
	if f.Message == "" {
		f.Message = "injected by the amiswap simulator"
	}
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeOutcome reports whether a resource being created by service/action
// must end failed, consuming one use of the matching fault. Callers hold s.mu.
func (s *Sim) takeOutcome(service, action string) bool {
	return s.takeOutcomeMatching(service, action, nil)
}

// takeOutcomeMatching is takeOutcome for a resource that matches (a fault
// with a Match needs a matcher that accepts it). Callers hold s.mu.
func (s *Sim) takeOutcomeMatching(service, action string, matches func(map[string]string) bool) bool {
	for i := range s.faults {
		f := &s.faults[i]
		if len(f.Match) > 0 && (matches == nil || !matches(f.Match)) {
			continue
		}
		if (f.Outcome == "failed" || f.Outcome == "impaired") && f.matches(service, action, "") {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return true
		}
	}
	return false
}

// takeLost returns the error that replaces the answer of a call just served
// when a "lost" fault matches it, consuming one use; nil otherwise. Callers
// hold s.mu.
func (s *Sim) takeLost(r *request) error { return s.takeError(r, "lost") }

// takeError returns the error of the first fault with outcome that matches
// the call, consuming one use of it; nil when none matches. Callers hold s.mu.
func (s *Sim) takeError(r *request, outcome string) error {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Outcome == outcome && f.matches(r.service, r.action, r.accessKeyID) {
			f.Count--
			e := &apiError{Status: f.Status, Code: f.Code, Message: f.Message}
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return e
		}
	}
	return nil
}

// admit applies error faults and throttling to a call about to be served.
// Callers hold s.mu.
func (s *Sim) admit(r *request) error {
	if err := s.takeError(r, ""); err != nil {
		return err
	}
	if err := s.throttle(r); err != nil {
		return err
	}
	if s.authz != nil && r.service != "kms" {
		// Action-level check (KMS decides in its handlers, key policy
		// first: a key policy may allow a caller that IAM does not); handlers that know the resources call
		// s.authorize again with them.
		if err := s.authz.Authorize(r.accessKeyID, r.service, r.action, nil); err != nil {
			return s.accessDenied(r, err)
		}
	}
	return nil
}

// authorize checks a call against the installed authorizer with the
// resources it touches. Callers hold s.mu.
//
// The checks AWS makes on behalf of the call are made too: iam:PassRole
// (iam:PassedToService ec2.amazonaws.com) of the role inside each
// instance profile among res (see passRoleChecks), and, for an EC2 call
// that creates resources with tags, ec2:CreateTags with ec2:CreateAction
// set to the call ("Grant permission to tag Amazon EC2 resources during
// creation", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
func (s *Sim) authorize(r *request, res ...Resource) error {
	return s.authorizeAs(r, r.service, r.action, res...)
}

// authorizeAs checks the caller of r for another action than r's own, as
// AWS does when a service checks the caller's right to what it will do on
// the caller's behalf (Auto Scaling checks ec2:RunInstances on a launch
// template); a denial is r's service's access error. Callers hold s.mu.
func (s *Sim) authorizeAs(r *request, service, action string, res ...Resource) error {
	if s.authz == nil {
		return nil
	}
	var own []Resource
	var passed []Resource
	for _, x := range res {
		if strings.Contains(x.ARN, ":instance-profile/") && strings.HasPrefix(x.ARN, "arn:") {
			passed = append(passed, s.passRoleChecks(x.ARN)...)
			continue
		}
		own = append(own, x)
	}
	if len(own) > 0 || len(passed) == 0 {
		if err := s.authz.Authorize(r.accessKeyID, service, action, own); err != nil {
			return s.accessDenied(r, err)
		}
	}
	if service == "ec2" && (action == "RunInstances" || strings.HasPrefix(action, "Create")) && action != "CreateTags" {
		for _, x := range own {
			if !creating(x.ARN) || len(x.Tags) == 0 {
				continue
			}
			t := Resource{ARN: x.ARN, Tags: x.Tags, Context: map[string][]string{"ec2:CreateAction": {action}}}
			if err := s.authz.Authorize(r.accessKeyID, "ec2", "CreateTags", []Resource{t}); err != nil {
				return s.accessDenied(r, err)
			}
		}
	}
	if len(passed) > 0 {
		if err := s.authz.Authorize(r.accessKeyID, "iam", "PassRole", passed); err != nil {
			return s.accessDenied(r, err)
		}
	}
	return nil
}

// creating reports whether an ARN names a resource the call creates.
func creating(arn string) bool { return strings.HasSuffix(arn, "/*") || strings.HasSuffix(arn, ":*") }

func (s *Sim) accessDenied(r *request, err error) error {
	code := "AccessDenied"
	switch r.service {
	case "ec2":
		code = "UnauthorizedOperation"
	case "ssm", "dynamodb", "backup", "kms":
		code = "AccessDeniedException"
	case "sns":
		code = "AuthorizationError"
	}
	return &apiError{Status: http.StatusForbidden, Code: code, Message: err.Error()}
}

// Throttle configures per-action token buckets. Buckets refill on the
// simulator's own clock, like every other duration it simulates: at
// --speed N they refill N times faster in wall time, so a run at any speed
// sees the throttling AWS would apply to the same calls spread over the
// same (simulated) time. On a manual clock they refill as the clock is
// advanced.
type Throttle struct {
	Disabled bool `json:"disabled"`
	// Non-mutating actions (Describe*, List*, Get*): burst and refill per second.
	ReadBurst float64 `json:"readBurst,omitempty"`
	ReadRate  float64 `json:"readRate,omitempty"`
	// Mutating actions.
	WriteBurst float64 `json:"writeBurst,omitempty"`
	WriteRate  float64 `json:"writeRate,omitempty"`
}

func (t Throttle) withDefaults() Throttle {
	if t.ReadBurst == 0 {
		t.ReadBurst = 100
	}
	if t.ReadRate == 0 {
		t.ReadRate = 20
	}
	if t.WriteBurst == 0 {
		t.WriteBurst = 50
	}
	if t.WriteRate == 0 {
		t.WriteRate = 5
	}
	return t
}

// SetThrottle replaces the throttling configuration and refills every bucket.
func (s *Sim) SetThrottle(t Throttle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Throttle = t.withDefaults()
	s.buckets = map[bucketKey]*bucket{}
}

// bucketKey names a token bucket: one per service and action.
type bucketKey struct{ service, action string }

type bucket struct {
	tokens float64
	last   time.Time
}

func isReadAction(action string) bool {
	for _, p := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

func (s *Sim) throttle(r *request) error {
	t := s.opts.Throttle
	if t.Disabled {
		return nil
	}
	burst, rate := t.WriteBurst, t.WriteRate
	if isReadAction(r.action) {
		burst, rate = t.ReadBurst, t.ReadRate
	}
	key := bucketKey{r.service, r.action}
	b := s.buckets[key]
	now := s.clock.now
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return throttlingError(r.service)
	}
	b.tokens--
	return nil
}

func throttlingError(service string) *apiError {
	switch service {
	case "ec2":
		return &apiError{Status: http.StatusServiceUnavailable, Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	case "ssm", "dynamodb", "backup", "kms":
		return &apiError{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"}
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"}
	}
}
