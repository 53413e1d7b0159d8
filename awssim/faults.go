package awssim

import (
	"net/http"
	"strings"
	"time"
)

// Fault makes matching calls fail, or makes the next resource an action
// creates end in its failed state.
//
//	{"service":"ec2","action":"CreateImage","code":"InternalError","status":500,"count":1}
//	{"service":"ec2","action":"CreateImage","outcome":"failed"}
type Fault struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	// Code, Status and Message describe the error returned (status
	// defaults to 400, or 500 for InternalError/ServiceUnavailable).
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Outcome "failed" marks the next resource created by the action as
	// failed instead of returning an error.
	Outcome string `json:"outcome,omitempty"`
	// Count is how many calls (or resources) the fault applies to; 0 means 1.
	Count int `json:"count,omitempty"`
	// AccessKeyID, when set, limits the fault to one caller.
	AccessKeyID string `json:"accessKeyId,omitempty"`
}

func (f *Fault) matches(service, action, akid string) bool {
	return strings.EqualFold(f.Service, service) && (f.Action == "*" || f.Action == action) &&
		(f.AccessKeyID == "" || f.AccessKeyID == akid)
}

// AddFault installs a fault.
func (s *Sim) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Outcome == "" && (f.Status < 400 || f.Status > 599) {
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
	for i := range s.faults {
		f := &s.faults[i]
		if f.Outcome != "" && f.matches(service, action, "") {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return true
		}
	}
	return false
}

// admit applies error faults and throttling to a call about to be served.
// Callers hold s.mu.
func (s *Sim) admit(r *request) error {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Outcome == "" && f.matches(r.service, r.action, r.accessKeyID) {
			f.Count--
			e := &apiError{Status: f.Status, Code: f.Code, Message: f.Message}
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return e
		}
	}
	if err := s.throttle(r); err != nil {
		return err
	}
	if s.authz != nil {
		// Action-level check; handlers that know the resources call
		// s.authorize again with them.
		if err := s.authz.Authorize(r.accessKeyID, r.service, r.action, nil); err != nil {
			return s.accessDenied(r, err)
		}
	}
	return nil
}

// authorize checks a call against the installed authorizer with the
// resources it touches. Callers hold s.mu.
func (s *Sim) authorize(r *request, res ...Resource) error {
	if s.authz == nil {
		return nil
	}
	if err := s.authz.Authorize(r.accessKeyID, r.service, r.action, res); err != nil {
		return s.accessDenied(r, err)
	}
	return nil
}

func (s *Sim) accessDenied(r *request, err error) error {
	code := "AccessDenied"
	switch r.service {
	case "ec2":
		code = "UnauthorizedOperation"
	case "ssm", "dynamodb", "backup":
		code = "AccessDeniedException"
	case "sns":
		code = "AuthorizationError"
	}
	return &apiError{Status: http.StatusForbidden, Code: code, Message: err.Error()}
}

// Throttle configures per-action token buckets. Buckets refill on the wall
// clock, as AWS's do, whatever the virtual clock does.
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
	now := time.Now()
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
	case "ssm", "dynamodb", "backup":
		return &apiError{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"}
	default:
		return &apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"}
	}
}
