// Package awssim is an AWS simulator: one http.Handler that speaks the wire
// protocols of the AWS services amiswap uses (EC2, Auto Scaling, Systems
// Manager, Backup, SNS, STS, DynamoDB, KMS), with asynchronous resource lifecycles
// on a virtual clock, fault injection and an inspection API under /_sim/.
//
// Every aws-sdk-go-v2 client reaches it through AWS_ENDPOINT_URL; nothing in
// the client changes. The simulator keeps all state in memory behind one
// mutex: handlers run one at a time, which keeps lifecycles deterministic.
package awssim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a simulator. The zero value is usable: region us-east-1,
// account 123456789012, a manual clock, default durations, eventual
// consistency and throttling on.
type Options struct {
	Region    string
	AccountID string
	// Speed runs virtual time Speed times faster than the wall clock.
	// Zero means a manual clock that moves only through Advance (or
	// POST /_sim/clock), which is what tests use.
	Speed float64
	// Start is the initial virtual time (default 2026-01-05T09:00:00Z).
	Start time.Time
	// Durations of the simulated lifecycles; zero fields take defaults.
	Durations Durations
	// ConsistencyDelay is how long a new instance or image stays invisible
	// to Describe calls that name it by id (eventual consistency). Zero
	// takes the default of 2s; negative turns it off.
	ConsistencyDelay time.Duration
	// Throttle configures per-action token buckets.
	Throttle Throttle
	// Scenario is "" or "empty" for a bare account (default VPC, subnets,
	// security group, public base images), or "demo" for that plus an
	// opted-in Windows group of two instances.
	Scenario string
	Logger   *slog.Logger
}

// Durations are the virtual-time lengths of simulated lifecycles. The
// defaults sit within the ranges AWS gives as typical (AWS documents no
// exact figures): an instance is pending 30–60 s, its status checks pass
// 2–5 min after it runs (Windows), its SSM agent is online 2–4 min after
// it runs, a Windows AMI is pending 10–30 min, a Windows backup job runs
// 10–30 min (awssim/README.md lists each default).
type Durations struct {
	InstancePending      time.Duration // pending → running (default 40s)
	StatusChecks         time.Duration // running → status ok (default 3m)
	AgentOnline          time.Duration // running → SSM PingStatus Online (default 2m30s)
	InstanceStopping     time.Duration // stopping → stopped (default 45s)
	InstanceShuttingDown time.Duration // shutting-down → terminated (default 30s)
	TerminatedVisible    time.Duration // terminated instances stay listed (default 1h)
	ImageWindows         time.Duration // CreateImage pending → available, Windows (default 15m)
	ImageLinux           time.Duration // CreateImage pending → available, Linux (default 6m)
	Sysprep              time.Duration // AWSEC2-RunSysprep run time (default 6m)
	Script               time.Duration // AWS-RunShellScript / AWS-RunPowerShellScript, a custom document's step (default 20s)
	Patch                time.Duration // AWS-RunPatchBaseline Install before its reboot (default 4m)
	BackupJob            time.Duration // CREATED → COMPLETED (default 15m)
	RefreshWarmup        time.Duration // per instance-refresh batch (default 5m)
	RecoveryPointDelete  time.Duration // DeleteRecoveryPoint: DELETING → gone (default 2m)
}

func (d Durations) withDefaults() Durations {
	def := func(v *time.Duration, x time.Duration) {
		if *v == 0 {
			*v = x
		}
	}
	def(&d.InstancePending, 40*time.Second)
	def(&d.StatusChecks, 3*time.Minute)
	def(&d.AgentOnline, 150*time.Second)
	def(&d.InstanceStopping, 45*time.Second)
	def(&d.InstanceShuttingDown, 30*time.Second)
	def(&d.TerminatedVisible, time.Hour)
	def(&d.ImageWindows, 15*time.Minute)
	def(&d.ImageLinux, 6*time.Minute)
	def(&d.Sysprep, 6*time.Minute)
	def(&d.Script, 20*time.Second)
	def(&d.Patch, 4*time.Minute)
	def(&d.BackupJob, 15*time.Minute)
	def(&d.RefreshWarmup, 5*time.Minute)
	def(&d.RecoveryPointDelete, 2*time.Minute)
	return d
}

// Sim is the simulator. Create it with New; it is an http.Handler.
type Sim struct {
	mu     sync.Mutex
	opts   Options
	dur    Durations
	log    *slog.Logger
	clock  clock
	timers timerHeap
	seq    uint64 // id generator

	faults  []Fault
	buckets map[bucketKey]*bucket
	calls   callLog
	// callObservers see each call served (OnCall).
	callObservers []func(Call)
	events        []Event
	subs          []func(Event)
	authz         Authorizer
	idPrefix      map[string]uint64

	ec2    ec2Store
	net    netStore
	cfn    cfnStore
	asg    asgStore
	ssm    ssmStore
	backup backupStore
	sns    snsStore
	ddb    ddbStore
	sfn    sfnStore
	iam    iamStore
	kms    kmsStore
}

// Authorizer decides whether a caller may perform an action. The IAM
// emulation implements it; nil allows everything.
type Authorizer interface {
	// Authorize returns nil or an error that the simulator turns into the
	// service's access-denied error. res lists the resources the call
	// touches with their tags, when the handler knows them.
	Authorize(accessKeyID, service, action string, res []Resource) error
}

// Resource is what an authorizer sees of a resource a call touches: its
// ARN, its tags (the request's tags when the call creates it: an ARN
// ending in "/*" or ":*"), and the condition keys the request supplies
// for it beyond its tags, such as iam:PassedToService, ec2:CreateAction or
// kms:ViaService (keys as AWS spells them; the authorizer drops those AWS
// does not supply for the action).
type Resource struct {
	ARN     string
	Tags    map[string]string
	Context map[string][]string
}

// SetAuthorizer installs (or, with nil, removes) an authorizer.
func (s *Sim) SetAuthorizer(a Authorizer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authz = a
}

// New returns a simulator seeded with the scenario named in opts.
func New(opts Options) (*Sim, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	}
	if opts.ConsistencyDelay == 0 {
		opts.ConsistencyDelay = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		opts:    opts,
		dur:     opts.Durations.withDefaults(),
		log:     opts.Logger,
		buckets: map[bucketKey]*bucket{},
	}
	s.clock.init(opts.Start, opts.Speed)
	s.opts.Throttle = opts.Throttle.withDefaults()
	for _, st := range stores {
		st.init(s)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seedKMS()
	if err := s.seed(opts.Scenario); err != nil {
		return nil, err
	}
	return s, nil
}

// Region and AccountID report the simulated account.
func (s *Sim) Region() string { return s.opts.Region }

// Durations returns the lifecycle durations in force (defaults filled in).
func (s *Sim) Durations() Durations { return s.dur }
func (s *Sim) AccountID() string    { return s.opts.AccountID }

// storeReg is one service's slice of state: init runs once from New, state
// returns its JSON view for GET /_sim/state. Callers hold s.mu.
type storeReg struct {
	name  string
	init  func(s *Sim)
	state func(s *Sim) any
}

// stores lists each service's state, registered from its file's init.
var stores []storeReg

func registerStore(name string, init func(s *Sim), state func(s *Sim) any) {
	stores = append(stores, storeReg{name: name, init: init, state: state})
}

// A request is one AWS API call being served.
type request struct {
	service     string
	action      string
	accessKeyID string
	httpReq     *http.Request
	body        []byte
	requestID   string
	start       time.Time // wall-clock time the request arrived, for the call log
}

// Call is one API call as recorded for GET /_sim/calls.
type Call struct {
	Time        time.Time `json:"time"`
	Service     string    `json:"service"`
	Action      string    `json:"action"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	Status      int       `json:"status"`
	ErrorCode   string    `json:"errorCode,omitempty"`
}

const maxCalls = 200_000

// maxBody is the largest request body the simulator reads (AWS's own
// limits are lower: 256 KB for SNS, 16 MB for a DynamoDB batch).
const maxBody = 16 << 20

// ServeHTTP routes a request to the control API or to a service.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("awssim: panic serving the control API", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				controlError(w, http.StatusInternalServerError, "internal error: %v", v)
			}
		}()
		s.serveControl(w, r)
		return
	}
	start := time.Now()
	body, readErr := readBody(r)
	req := &request{httpReq: r, body: body, start: start}
	req.service, req.accessKeyID = parseAuthorization(r.Header.Get("Authorization"))
	proto := s.route(req)
	if readErr != nil || len(body) > maxBody {
		// A truncated or oversized body still gets an error the client's
		// SDK can parse.
		ae := &apiError{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge", Message: fmt.Sprintf("the request body is larger than %d bytes", maxBody)}
		if readErr != nil {
			ae = &apiError{Status: http.StatusBadRequest, Code: "IncompleteBody", Message: "cannot read the request body: " + readErr.Error()}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if proto == nil {
			s.record(req, ae.Status, ae.Code)
			writeJSONError(w, ae)
			return
		}
		s.seq++
		req.requestID = requestID(s.seq)
		proto.fail(s, req, w, ae)
		return
	}
	if proto == nil {
		s.mu.Lock()
		s.record(req, http.StatusBadRequest, "UnknownService")
		s.mu.Unlock()
		writeJSONError(w, &apiError{Status: 400, Code: "UnknownService", Message: fmt.Sprintf("amiswap simulator: cannot tell which AWS service %s %s is for (service %q)", r.Method, r.URL.Path, req.service)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.recoverPanic(proto, req, w)
	s.clock.sync(s)
	s.seq++
	req.requestID = requestID(s.seq)
	proto.serve(s, req, w)
}

// requestID formats the request id of the n-th sequence number, a UUID:
// fmt's "%08x-0000-4000-8000-%012x" of uint32(n) and n, without fmt, as
// every request needs one.
func requestID(n uint64) string {
	b := make([]byte, 0, 36)
	b = appendHex(b, uint64(uint32(n)), 8)
	b = append(b, "-0000-4000-8000-"...)
	b = appendHex(b, n, 12)
	return string(b)
}

// appendHex appends v in lower-case hex, zero-padded to width digits.
func appendHex(b []byte, v uint64, width int) []byte {
	var digits [16]byte
	hex := strconv.AppendUint(digits[:0], v, 16)
	for i := len(hex); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, hex...)
}

// readBody reads the request body, up to maxBody+1 bytes: in one
// allocation of the right size when the client declared its length.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength >= 0 && r.ContentLength <= maxBody {
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody+1))
}

// recoverPanic turns a panic in a handler or timer into an InternalError
// (HTTP 500) in the protocol's error shape, so that the SDK gets a body it
// can parse, and logs it with the stack. A panic is a simulator bug: fix
// it at its cause. Callers hold s.mu; it must be deferred directly.
func (s *Sim) recoverPanic(proto protocol, r *request, w http.ResponseWriter) {
	v := recover()
	if v == nil {
		return
	}
	s.log.Error("awssim: panic serving a request", "service", r.service, "action", r.action, "panic", v, "stack", string(debug.Stack()))
	proto.fail(s, r, w, &apiError{Status: http.StatusInternalServerError, Code: "InternalError",
		Message: fmt.Sprintf("amiswap simulator: internal error in %s %s: %v", r.service, r.action, v)})
}

// record appends a call to the log and, when the logger is at the debug
// level (amiswap sim -v), logs it with the wall-clock time it took so far.
// Callers hold s.mu.
func (s *Sim) record(r *request, status int, code string) {
	c := Call{Time: s.clock.now, Service: r.service, Action: r.action, AccessKeyID: r.accessKeyID, Status: status, ErrorCode: code}
	s.calls.add(c)
	for _, fn := range s.callObservers {
		fn(c)
	}
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	var took time.Duration
	if !r.start.IsZero() {
		took = time.Since(r.start)
	}
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "call",
		slog.String("service", r.service), slog.String("action", r.action), slog.String("accessKey", r.accessKeyID),
		slog.Int("status", status), slog.String("errorCode", code), slog.Duration("duration", took))
}

// OnCall registers fn to see every call as it is served, after its effect
// and before its answer is written: a test can stop a client there, as if
// the process died with the request applied and its answer unread. fn runs
// with the simulator locked and must not call it.
func (s *Sim) OnCall(fn func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callObservers = append(s.callObservers, fn)
}

// parseAuthorization extracts the service and access key id from a SigV4
// Authorization header: "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...".
func parseAuthorization(h string) (service, accessKeyID string) {
	i := strings.Index(h, "Credential=")
	if i < 0 {
		return "", ""
	}
	cred := h[i+len("Credential="):]
	if j := strings.IndexAny(cred, ", "); j >= 0 {
		cred = cred[:j]
	}
	// AKID/DATE/REGION/SERVICE/aws4_request
	accessKeyID, rest, _ := strings.Cut(cred, "/")
	_, rest, _ = strings.Cut(rest, "/")   // date
	_, rest, ok := strings.Cut(rest, "/") // region
	if !ok {
		return "", accessKeyID
	}
	service, _, _ = strings.Cut(rest, "/")
	return service, accessKeyID
}

// Event is an EventBridge event as AWS delivers it.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// emit publishes an event. Callers hold s.mu; subscribers run in their own
// goroutine so that they may call back into the simulator.
func (s *Sim) emit(source, detailType string, resources []string, detail any) {
	raw, err := json.Marshal(detail)
	if err != nil {
		panic(fmt.Sprintf("awssim: marshal event detail: %v", err))
	}
	if resources == nil {
		resources = []string{}
	}
	s.seq++
	ev := Event{
		Version: "0", ID: fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(s.seq*2654435761), s.seq&0xffff, s.seq&0xfff, (s.seq>>12)&0xfff, s.seq),
		DetailType: detailType, Source: source, Account: s.opts.AccountID,
		Time: s.clock.now.UTC().Format(time.RFC3339), Region: s.opts.Region,
		Resources: resources, Detail: raw,
	}
	s.events = append(s.events, ev)
	for _, f := range s.subs {
		go f(ev)
	}
}

// Subscribe calls f, in a new goroutine, for every event emitted from now on.
func (s *Sim) Subscribe(f func(Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, f)
}

// Events returns every event emitted so far, in order.
func (s *Sim) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Calls returns every API call received so far, in order.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls.all(s.clock.now.Location())
}

// newID returns a fresh AWS-style id such as "i-0a1b2c3d4e5f60718".
func (s *Sim) newID(prefix string) string {
	s.seq++
	x := s.seq*0x9E3779B97F4A7C15 ^ 0x5bd1e995
	return fmt.Sprintf("%s-0%016x", prefix, x)[:len(prefix)+18]
}

// arn builds an ARN in the simulated account and region.
func (s *Sim) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + s.opts.Region + ":" + s.opts.AccountID + ":" + resource
}
