package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestCheckVerifierReady: the verifier's boot is the builder's readiness
// look, but whatever will never be ready, and the deadline, is a
// VerificationFailedError naming the check that failed.
func TestCheckVerifierReady(t *testing.T) {
	cases := []struct {
		name   string
		after  time.Duration
		state  ec2types.InstanceStateName
		inst   ec2types.SummaryStatus
		ping   ssmtypes.PingStatus
		ready  bool
		check  string // "" when not failed
		reason string
	}{
		{name: "booting", after: 2 * time.Minute, state: "running", inst: "initializing"},
		{name: "ready", after: 5 * time.Minute, state: "running", inst: "ok", ping: "Online", ready: true},
		{name: "impaired", after: 4 * time.Minute, state: "running", inst: "impaired", check: checkStatusChecks, reason: "impaired"},
		{name: "terminated", after: 3 * time.Minute, state: "terminated", check: checkInstanceState, reason: "terminated"},
		{name: "agent never online", after: 30 * time.Minute, state: "running", inst: "ok", ping: "ConnectionLost", check: checkSSMAgent, reason: "at the deadline"},
		{name: "status checks never ok", after: 31 * time.Minute, state: "running", inst: "initializing", check: checkStatusChecks, reason: "initializing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &fakeBuilderEC2{describeFn: btInstanceOut(c.state, ""), statusFn: btStatus(c.inst, "ok")}
			s := &fakeBuilderSSM{infoFn: btPing(c.ping)}
			p := btPayload(btNow.Add(c.after), func(st *State) {
				st.Verifier = &BuilderResult{InstanceID: btInstance, LaunchedAt: btNow}
				st.Image = &ImageResult{ImageID: "ami-0123456789abcdef0"}
			})
			res, err := (&CheckVerifierReady{EC2: e, SSM: s}).Check(context.Background(), p)
			if c.check == "" {
				if err != nil || res.Ready != c.ready {
					t.Fatalf("got %+v, %v; want ready=%v", res, err, c.ready)
				}
				return
			}
			v := wantTyped[*amiswap.VerificationFailedError](t, err)
			if v.Check != c.check || !strings.Contains(v.Reason, c.reason) || v.ImageID != "ami-0123456789abcdef0" || v.InstanceID != btInstance {
				t.Errorf("error %+v: want check %q, reason with %q", v, c.check, c.reason)
			}
		})
	}
}

// TestPurposeComments: prepare's and verify's comments differ from
// generalize's, so that the idempotency lookups never confuse them, and
// stay within SSM's 100 characters.
func TestPurposeComments(t *testing.T) {
	exec := "arn:aws:states:us-east-1:123456789012:execution:amiswap:" + strings.Repeat("x", 90)
	g, p, v := commandComment(exec), purposeComment("prepare", exec), purposeComment("verify", exec)
	if g == p || g == v || p == v || len(p) > 100 || len(v) > 100 || !strings.HasPrefix(p, "amiswap prepare ") {
		t.Errorf("comments %q %q %q", g, p, v)
	}
}
