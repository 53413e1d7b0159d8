package awssim

// Tests for the simulator's control API under /_sim/ (faults, state, call
// log, clock, events, throttling) and for the free-running clock.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// control calls the control API and decodes a JSON answer into out (when
// not nil); it returns the status.
func control(t *testing.T, ts *testSim, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func newTopic(t *testing.T, c *sns.Client) *string {
	t.Helper()
	out, err := c.CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	return out.TopicArn
}

func TestControlErrorFaults(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	topic := newTopic(t, c)

	var f Fault
	if st := control(t, ts, "POST", "/_sim/faults", `{"service":"sns","action":"Publish","code":"InternalError","count":2}`, &f); st != http.StatusCreated {
		t.Fatalf("POST /_sim/faults: status %d", st)
	}
	if f.Status != 0 && f.Status != 500 || f.Count != 2 {
		t.Fatalf("echoed fault = %+v", f)
	}
	var listed []Fault
	control(t, ts, "GET", "/_sim/faults", "", &listed)
	if len(listed) != 1 || listed[0].Status != 500 || listed[0].Message == "" {
		t.Fatalf("GET /_sim/faults = %+v", listed)
	}
	publish := func() error {
		_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic, Message: aws.String("m")})
		return err
	}
	for i := range 2 {
		if code := apiCode(t, publish()); code != "InternalError" {
			t.Fatalf("publish %d: code %q", i, code)
		}
	}
	if err := publish(); err != nil {
		t.Fatalf("third publish, fault used up: %v", err)
	}
	control(t, ts, "GET", "/_sim/faults", "", &listed)
	if len(listed) != 0 {
		t.Fatalf("faults left: %+v", listed)
	}

	// A fault for one caller leaves the others alone; a wildcard action
	// matches every action of the service.
	control(t, ts, "POST", "/_sim/faults", `{"service":"dynamodb","action":"*","code":"ProvisionedThroughputExceededException","count":5,"accessKeyId":"AKIDOTHER"}`, nil)
	db := dynamodb.NewFromConfig(ts.Cfg)
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("caller not targeted by the fault: %v", err)
	}
	other := ts.Cfg.Copy()
	other.Credentials = credentials.NewStaticCredentialsProvider("AKIDOTHER", "secret", "")
	_, err := dynamodb.NewFromConfig(other).ListTables(ctx, &dynamodb.ListTablesInput{})
	if code := apiCode(t, err); code != "ProvisionedThroughputExceededException" {
		t.Fatalf("targeted caller: %v", err)
	}

	// DELETE clears every fault.
	if st := control(t, ts, "DELETE", "/_sim/faults", "", nil); st != http.StatusNoContent {
		t.Fatalf("DELETE /_sim/faults: status %d", st)
	}
	if _, err := dynamodb.NewFromConfig(other).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("after DELETE /_sim/faults: %v", err)
	}
}

func TestControlOutcomeFault(t *testing.T) {
	ts := newTestSim(t, Options{})
	if st := control(t, ts, "POST", "/_sim/faults", `{"service":"ec2","action":"CreateImage","outcome":"failed","count":2}`, nil); st != http.StatusCreated {
		t.Fatalf("status %d", st)
	}
	// An outcome fault never fails the call itself ...
	ts.mu.Lock()
	err := ts.admit(&request{service: "ec2", action: "CreateImage"})
	// ... it marks the next resources the action creates, then is used up.
	got := []bool{ts.takeOutcome("ec2", "CreateImage"), ts.takeOutcome("ec2", "RunInstances"), ts.takeOutcome("ec2", "CreateImage"), ts.takeOutcome("ec2", "CreateImage")}
	ts.mu.Unlock()
	if err != nil {
		t.Fatalf("admit with an outcome fault: %v", err)
	}
	if !slices.Equal(got, []bool{true, false, true, false}) {
		t.Fatalf("takeOutcome = %v", got)
	}
}

func TestAddFaultStatus(t *testing.T) {
	ts := newTestSim(t, Options{})
	ts.AddFault(Fault{Service: "sns", Action: "ListTopics", Code: "Odd", Status: 200})
	ts.AddFault(Fault{Service: "sns", Action: "ListTopics", Code: "ServiceUnavailable"})
	ts.mu.Lock()
	got := []int{ts.faults[0].Status, ts.faults[1].Status}
	ts.mu.Unlock()
	if !slices.Equal(got, []int{400, 500}) {
		t.Fatalf("statuses = %v, want a non-error status replaced by 400 and 500 for ServiceUnavailable", got)
	}
}

func TestControlBadFaults(t *testing.T) {
	ts := newTestSim(t, Options{})
	for _, body := range []string{
		`{"service":"sns"`,
		`not json`,
		`{"action":"Publish","code":"X"}`,
		`{"service":"sns","code":"X"}`,
		`{"service":"sns","action":"Publish"}`,
		`{"service":"sns","action":"Publish","outcome":"slow"}`,
		`{"service":"sns","action":"Publish","code":"X","count":"two"}`,
		`{"service":"sns","action":"Publish","code":"X","count":-1}`,
		`{"service":"sns","action":"Publish","code":"X","status":200}`,
		`{"service":"sns","action":"Publish","code":"X","status":5000}`,
	} {
		var e map[string]string
		if st := control(t, ts, "POST", "/_sim/faults", body, &e); st != http.StatusBadRequest || e["error"] == "" {
			t.Errorf("%s: status %d, body %v", body, st, e)
		}
	}
	var listed []Fault
	control(t, ts, "GET", "/_sim/faults", "", &listed)
	if len(listed) != 0 {
		t.Fatalf("bad faults were installed: %+v", listed)
	}
}

func TestControlState(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	newTopic(t, sns.NewFromConfig(ts.Cfg))
	createLockTable(t, dynamodb.NewFromConfig(ts.Cfg))

	var state map[string]json.RawMessage
	if st := control(t, ts, "GET", "/_sim/state", "", &state); st != 200 {
		t.Fatalf("status %d", st)
	}
	if len(stores) < 6 {
		t.Errorf("only %d stores registered", len(stores))
	}
	for _, st := range stores {
		if _, ok := state[st.name]; !ok {
			t.Errorf("state has no %q", st.name)
		}
	}
	var now time.Time
	if err := json.Unmarshal(state["now"], &now); err != nil || !now.Equal(ts.Now()) {
		t.Errorf("state now = %s (%v)", state["now"], err)
	}
	var snsState struct {
		Topics []struct {
			TopicArn string `json:"topicArn"`
		} `json:"topics"`
		Messages []any `json:"messages"`
	}
	json.Unmarshal(state["sns"], &snsState)
	if len(snsState.Topics) != 1 || !strings.HasSuffix(snsState.Topics[0].TopicArn, ":ops") || snsState.Messages == nil {
		t.Errorf("sns state = %s", state["sns"])
	}
	var ddbState struct {
		Tables []struct {
			Table struct{ TableName, TableStatus string } `json:"table"`
			Items []map[string]map[string]any             `json:"items"`
		} `json:"tables"`
	}
	if _, err := dynamodb.NewFromConfig(ts.Cfg).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("amiswap-locks"),
		Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}}); err != nil {
		t.Fatal(err)
	}
	control(t, ts, "GET", "/_sim/state", "", &state)
	json.Unmarshal(state["dynamodb"], &ddbState)
	if len(ddbState.Tables) != 1 || ddbState.Tables[0].Table.TableName != "amiswap-locks" || len(ddbState.Tables[0].Items) != 1 ||
		ddbState.Tables[0].Items[0]["pk"]["S"] != "k" {
		t.Errorf("dynamodb state = %s", state["dynamodb"])
	}
}

func TestControlCalls(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	topic := newTopic(t, c)
	c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(aws.ToString(topic) + "-missing"), Message: aws.String("m")})
	other := ts.Cfg.Copy()
	other.Credentials = credentials.NewStaticCredentialsProvider("AKIDOTHER", "secret", "")
	dynamodb.NewFromConfig(other).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})

	var calls []Call
	if st := control(t, ts, "GET", "/_sim/calls", "", &calls); st != 200 {
		t.Fatalf("status %d", st)
	}
	type row struct {
		service, action, akid string
		status                int
		code                  string
	}
	want := []row{
		{"sns", "CreateTopic", "AKIDTEST", 200, ""},
		{"sns", "Publish", "AKIDTEST", 404, "NotFound"},
		{"dynamodb", "DescribeTable", "AKIDOTHER", 400, "ResourceNotFoundException"},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v", calls)
	}
	for i, w := range want {
		c := calls[i]
		if (row{c.Service, c.Action, c.AccessKeyID, c.Status, c.ErrorCode}) != w {
			t.Errorf("call %d = %+v, want %+v", i, c, w)
		}
		if !c.Time.Equal(ts.Now()) {
			t.Errorf("call %d time %s", i, c.Time)
		}
	}
}

func TestControlClock(t *testing.T) {
	ts := newTestSim(t, Options{})
	var clk struct {
		Now   time.Time `json:"now"`
		Speed float64   `json:"speed"`
	}
	if st := control(t, ts, "GET", "/_sim/clock", "", &clk); st != 200 || !clk.Now.Equal(ts.Now()) || clk.Speed != 0 {
		t.Fatalf("GET /_sim/clock = %d %+v", st, clk)
	}
	start := clk.Now
	var fired []time.Time
	ts.mu.Lock()
	ts.after(time.Minute, func() { fired = append(fired, ts.clock.now) })
	ts.after(2*time.Minute, func() { fired = append(fired, ts.clock.now) })
	ts.mu.Unlock()

	if st := control(t, ts, "POST", "/_sim/clock", `{"advance":"90s"}`, &clk); st != 200 || !clk.Now.Equal(start.Add(90*time.Second)) {
		t.Fatalf("advance 90s = %d %+v", st, clk)
	}
	ts.mu.Lock()
	got := slices.Clone(fired)
	ts.mu.Unlock()
	if len(got) != 1 || !got[0].Equal(start.Add(time.Minute)) {
		t.Fatalf("timers fired at %v, want only the one at +1m, at its own time", got)
	}
	for _, body := range []string{`{"advance":"-5s"}`, `{"advance":"soon"}`, `{"advance":""}`, `{}`, `{"advance":90}`, `nope`} {
		var e map[string]string
		if st := control(t, ts, "POST", "/_sim/clock", body, &e); st != 400 || e["error"] == "" {
			t.Errorf("%s: status %d, %v", body, st, e)
		}
	}
	if now := ts.Now(); !now.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("bad advances moved the clock to %s", now)
	}
}

func TestControlEvents(t *testing.T) {
	ts := newTestSim(t, Options{})
	var evs []Event
	if st := control(t, ts, "GET", "/_sim/events", "", &evs); st != 200 {
		t.Fatalf("status %d", st)
	}
	before := len(evs)
	heard := make(chan Event, 1)
	ts.Subscribe(func(e Event) { heard <- e })
	ts.mu.Lock()
	ts.emit("aws.backup", "Backup Job State Change", []string{"arn:aws:backup:us-east-1:123456789012:backup-job:1"}, map[string]string{"state": "COMPLETED"})
	ts.mu.Unlock()
	control(t, ts, "GET", "/_sim/events", "", &evs)
	if len(evs) != before+1 {
		t.Fatalf("%d events, want %d", len(evs), before+1)
	}
	e := evs[len(evs)-1]
	if e.Source != "aws.backup" || e.DetailType != "Backup Job State Change" || e.Account != "123456789012" || !jsonEqual(e.Detail, `{"state":"COMPLETED"}`) || e.ID == "" {
		t.Fatalf("event = %+v", e)
	}
	select {
	case got := <-heard:
		if got.ID != e.ID {
			t.Fatalf("subscriber heard %s, want %s", got.ID, e.ID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscriber heard nothing")
	}
}

func TestControlThrottle(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	topic := newTopic(t, c)
	if st := control(t, ts, "POST", "/_sim/throttle", `{"writeBurst":2,"writeRate":0.0001,"readBurst":1,"readRate":0.0001}`, nil); st != 200 {
		t.Fatalf("status %d", st)
	}
	publish := func() error {
		_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic, Message: aws.String("m")})
		return err
	}
	for i := range 2 {
		if err := publish(); err != nil {
			t.Fatalf("publish %d within the burst: %v", i, err)
		}
	}
	if code := apiCode(t, publish()); code != "Throttling" {
		t.Fatalf("publish beyond the burst: %q", code)
	}
	db := dynamodb.NewFromConfig(ts.Cfg)
	db.ListTables(ctx, &dynamodb.ListTablesInput{})
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); apiCode(t, err) != "ThrottlingException" {
		t.Fatalf("second read with a burst of 1: %v", err)
	}
	var e map[string]string
	for _, body := range []string{`{"writeBurst":"lots"}`, `{"readRate":-1}`, `[`} {
		if st := control(t, ts, "POST", "/_sim/throttle", body, &e); st != 400 || e["error"] == "" {
			t.Fatalf("bad throttle body %s: %d %v", body, st, e)
		}
	}
	control(t, ts, "POST", "/_sim/throttle", `{"disabled":true}`, nil)
	for range 5 {
		if err := publish(); err != nil {
			t.Fatalf("with throttling off: %v", err)
		}
	}
}

func TestControlUnknownPath(t *testing.T) {
	ts := newTestSim(t, Options{})
	var e map[string]string
	if st := control(t, ts, "GET", "/_sim/nope", "", &e); st != 404 || !strings.Contains(e["error"], "/_sim/state") {
		t.Fatalf("status %d, %v", st, e)
	}
	if st := control(t, ts, "PUT", "/_sim/clock", "{}", &e); st != 404 {
		t.Fatalf("PUT /_sim/clock: status %d", st)
	}
}

func TestFreeRunningClock(t *testing.T) {
	s, err := New(Options{Speed: 1000, Throttle: Throttle{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := s.Now()
	time.Sleep(20 * time.Millisecond)
	// 20ms of wall time at 1000× is at least 20s of virtual time.
	if d := s.Now().Sub(t0); d < 20*time.Second {
		t.Fatalf("virtual time moved %s in 20ms of wall time at speed 1000", d)
	}

	// Timers fire on their own while Run runs, with no request arriving.
	var fired atomic.Bool
	s.mu.Lock()
	s.after(30*time.Second, func() { fired.Store(true) })
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.After(10 * time.Second)
	for !fired.Load() {
		select {
		case <-deadline:
			t.Fatal("the timer did not fire")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	<-done

	// Advance on a free-running clock jumps ahead too.
	before := s.Now()
	s.Advance(time.Hour)
	if d := s.Now().Sub(before); d < time.Hour {
		t.Fatalf("Advance(1h) moved the free-running clock %s", d)
	}
}

func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
