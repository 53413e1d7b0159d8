package runner_test

// The crash suite: an interruption (a cancelled run that records no end,
// exactly like a killed process) at every state of the definition,
// compensation states included, and after every mutating AWS call has
// reached the simulator but before its answer came back; then a resume from
// the recorded history. The end state is checked through the AWS APIs.

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// memJournal keeps histories in memory: what a crashed process leaves on
// disk, without the disk.
type memJournal struct {
	mu sync.Mutex
	h  map[string]asl.History
}

// Append records ev (asl.Journal).
func (j *memJournal) Append(id string, ev asl.Event, _ bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.h == nil {
		j.h = map[string]asl.History{}
	}
	j.h[id] = append(j.h[id], ev)
	return nil
}

// history returns a copy of an execution's events.
func (j *memJournal) history(id string) asl.History {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.h[id])
}

// dropAnswerTransport drops the answer of a request whose context was
// cancelled while it was served: the process "died" with the call applied
// and its answer unread, whichever of the two the transport saw first.
type dropAnswerTransport struct{ rt http.RoundTripper }

// RoundTrip sends r, and returns the context's error instead of an answer
// that arrived after the context was cancelled.
func (d dropAnswerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.rt.RoundTrip(r)
	if err == nil && r.Context().Err() != nil {
		resp.Body.Close()
		return nil, r.Context().Err()
	}
	return resp, err
}

// crashScenario is one kind of execution the suite interrupts.
type crashScenario struct {
	name  string
	setup func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string)
	// end is the state the (resumed) execution must end in; outcome the
	// notification it sends ("" for none).
	end, outcome string
}

// crashPoint is where a run is interrupted: on entering a state, or once
// an AWS action has been served (its first call). With lost set there is
// no interruption: the first call of the action is served and its answer
// lost (a 500 instead), and the SDK's retry sends it again.
type crashPoint struct {
	state, service, action string
	lost                   bool
}

func (c crashPoint) String() string {
	switch {
	case c.state != "":
		return "state " + c.state
	case c.lost:
		return "answer of " + c.action + " lost"
	}
	return "after " + c.action
}

// mutating reports whether an AWS action changes something.
func mutating(action string) bool {
	for _, p := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(action, p) {
			return false
		}
	}
	return true
}

// seedGolden registers an older golden AMI of the group (from one of its
// instances, with the lineage tags a swap writes on it and its snapshots),
// as an earlier swap would have left it, and waits until it is available.
func seedGolden(t *testing.T, sb *sandbox.Sandbox, group, instance string) string {
	t.Helper()
	ctx := context.Background()
	tags := []ec2types.Tag{
		{Key: aws.String(amiswap.TagRole), Value: aws.String(amiswap.RoleGolden)},
		{Key: aws.String(amiswap.TagGroup), Value: aws.String(group)},
		{Key: aws.String(amiswap.TagExecution), Value: aws.String("arn:aws:states:us-east-1:123456789012:execution:amiswap:earlier")},
		{Key: aws.String(amiswap.TagCreatedAt), Value: aws.String(sb.Sim.Now().Add(-24 * time.Hour).Format(time.RFC3339))},
	}
	out, err := ec2.NewFromConfig(sb.AWS).CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(instance), Name: aws.String("amiswap-" + group + "-earlier"), NoReboot: aws.Bool(true),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeImage, Tags: tags}, {ResourceType: ec2types.ResourceTypeSnapshot, Tags: tags}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sb.Sim.Advance(time.Hour)
	return aws.ToString(out.ImageId)
}

// crashScenarios reach every state of the definition between them.
var crashScenarios = []crashScenario{
	{
		// A Linux group on a rolling refresh, frozen, keeping one golden
		// AMI, with an earlier one to retire, patched before generalizing
		// (a reboot), verified with a document, handed off to an SSM
		// parameter: every step of a swap.
		name: "swap", end: "Swapped", outcome: "swapped",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			createDocument(t, sb, "Web-Smoke", "echo smoke test passed")
			ids, err := sb.CreateGroup(context.Background(), sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
				amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true", amiswap.TagRefresh: "rolling", amiswap.TagKeep: "1",
				amiswap.TagMinHealthy: "50", amiswap.TagWarmup: "60",
				amiswap.TagPrepareDocument: "AWS-RunPatchBaseline", amiswap.TagPrepareParameters: `{"Operation":["Install"]}`,
				amiswap.TagVerifyDocument: "Web-Smoke", amiswap.TagSSMParameter: "/golden/web"}})
			if err != nil {
				t.Fatal(err)
			}
			seedGolden(t, sb, "web", ids[1])
			return backupRequest(t, sb, ids[0]), "web"
		},
	},
	{
		// The golden AMI fails: compensation removes it and its snapshots
		// (the first leak of issue 8).
		name: "image-failed", end: "Failed", outcome: "failed",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
				amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
			sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "CreateImage", Outcome: "failed"})
			return req, "web"
		},
	},
	{
		// The instance refresh fails after the swap: compensation reverts
		// the default version and the group, deletes the new version,
		// removes the AMI.
		name: "refresh-failed", end: "Failed", outcome: "failed",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "windows", Tags: map[string]string{
				amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true", amiswap.TagRefresh: "rolling",
				amiswap.TagMinHealthy: "50", amiswap.TagWarmup: "60"}})
			sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"})
			return req, "web"
		},
	},
	{
		name: "not-opted-in", end: "Skipped",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			return groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{"team": "a"}}), "web"
		},
	},
	{
		name: "lock-held", end: "AlreadyRunning",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
			_, err := dynamodb.NewFromConfig(sb.AWS).PutItem(context.Background(), &dynamodb.PutItemInput{
				TableName: aws.String(sb.Config.LockTable),
				Item: map[string]ddbtypes.AttributeValue{
					"pk":        &ddbtypes.AttributeValueMemberS{Value: "group#web"},
					"owner":     &ddbtypes.AttributeValueMemberS{Value: "another-execution"},
					"expiresAt": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(sb.Sim.Now().Add(8 * time.Hour).Unix())},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			return req, "web"
		},
	},
	{
		name: "invalid-input", end: "InvalidInput",
		setup: func(t *testing.T, sb *sandbox.Sandbox) (amiswap.Request, string) {
			groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux"})
			return amiswap.Request{BackupJobID: "not-a-backup-job"}, "web"
		},
	},
}

// crashRun is the outcome of one interrupted and resumed execution.
type crashRun struct {
	crashed bool   // the interruption happened
	id      string // the execution's id
	res     asl.Result
	path    []string
	calls   []string // the mutating calls served ("service action"), in order (first run and resume)
}

// runCrashed runs sc, interrupting it at cp (none when cp is zero), then
// resumes it from its history with a new executor, and checks the end state
// through the APIs.
func runCrashed(t *testing.T, sc crashScenario, cp crashPoint) crashRun {
	t.Helper()
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	req, group := sc.setup(t, sb)
	before, err := sandbox.Snapshot(ctx, sb.AWS, group)
	if err != nil {
		t.Fatal(err)
	}
	if req.RecoveryPointArn != "" {
		if err := before.WithRecoveryPoint(ctx, sb.AWS, req.RecoveryPointArn); err != nil {
			t.Fatal(err)
		}
	}
	versionsBefore := templateVersions(t, sb, before.LaunchTemplateID)

	var run crashRun
	runCtx, die := context.WithCancel(ctx)
	defer die()
	var armed, fired atomic.Bool
	var mu sync.Mutex
	sb.Sim.OnCall(func(c awssim.Call) {
		if c.Status != http.StatusOK || !mutating(c.Action) {
			return
		}
		mu.Lock()
		run.calls = append(run.calls, c.Service+" "+c.Action)
		mu.Unlock()
		if armed.Load() && cp.action == c.Action && fired.CompareAndSwap(false, true) {
			die()
		}
	})
	crashCfg := sb.AWS.Copy()
	crashCfg.HTTPClient = &http.Client{Transport: dropAnswerTransport{http.DefaultTransport.(*http.Transport).Clone()}}
	journal := &memJournal{}
	ex, def, err := runner.Executor(runner.Options{AWS: crashCfg, Config: sb.Config, Clock: sb.Sim, Journal: journal,
		Observer: func(x *asl.Execution, ev asl.Event) {
			if cp.state != "" && ev.Type.IsStateEntered() && ev.State == cp.state && fired.CompareAndSwap(false, true) {
				die()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(req)
	if cp.lost {
		sb.Sim.AddFault(awssim.Fault{Service: cp.service, Action: cp.action, Outcome: "lost"})
		fired.Store(true)
	}
	armed.Store(!cp.lost)
	x, err := ex.Start(runCtx, def, "crash", input)
	if err != nil {
		t.Fatal(err)
	}
	run.id = x.ID()
	res, err := x.Run(runCtx)
	armed.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	run.crashed = fired.Load()
	if cp != (crashPoint{}) && !run.crashed {
		t.Fatalf("%s was never reached in scenario %s (path %v)", cp, sc.name, x.Path())
	}
	run.res, run.path = res, x.Path()
	if res.Status == asl.StatusAborted {
		// A new process resumes it from the history it left.
		ex2, def2, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, Journal: journal})
		if err != nil {
			t.Fatal(err)
		}
		x2, err := ex2.Resume(def2, journal.history(run.id))
		if err != nil {
			t.Fatal(err)
		}
		if run.res, err = x2.Run(ctx); err != nil {
			t.Fatal(err)
		}
		run.path = x2.Path()
	}
	if last := run.path[len(run.path)-1]; last != sc.end {
		t.Fatalf("ended %s in %s (%s: %s), want %s; path %v", run.res.Status, last, run.res.Error, run.res.Cause, sc.end, run.path)
	}
	verifyEnd(t, sb, sc, cp, run, before, versionsBefore)
	return run
}

// templateVersions counts the versions of a launch template.
func templateVersions(t *testing.T, sb *sandbox.Sandbox, id string) int {
	t.Helper()
	n := 0
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(ec2.NewFromConfig(sb.AWS), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.LaunchTemplateVersions)
	}
	return n
}

// verifyEnd checks, through the APIs, that the run left nothing behind: no
// builder, no golden AMI but the one the swap stands on, no golden snapshot
// without its image, no launch template version but the swap's, the group's
// sizes and tags as before, the lock released, and one notification per
// outcome (two with the same deduplication id when the run died with the
// message published and the marker not completed).
func verifyEnd(t *testing.T, sb *sandbox.Sandbox, sc crashScenario, cp crashPoint, run crashRun, before sandbox.GroupSnapshot, versionsBefore int) {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(sb.AWS)
	after, err := sandbox.Snapshot(ctx, sb.AWS, before.Name)
	if err != nil {
		t.Fatal(err)
	}
	if after.Min != before.Min || after.Max != before.Max || after.Desired != before.Desired {
		t.Errorf("group sizes min/max/desired %d/%d/%d, want %d/%d/%d as before", after.Min, after.Max, after.Desired, before.Min, before.Max, before.Desired)
	}
	if !maps.Equal(after.Tags, before.Tags) {
		t.Errorf("group tags %v, want %v as before", after.Tags, before.Tags)
	}

	insts, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleBuilder}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range insts.Reservations {
		for _, i := range r.Instances {
			t.Errorf("builder %s left %s", aws.ToString(i.InstanceId), i.State.Name)
		}
	}

	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	var golden []string
	for _, im := range imgs.Images {
		golden = append(golden, aws.ToString(im.ImageId))
		for _, m := range im.BlockDeviceMappings {
			if m.Ebs != nil {
				used[aws.ToString(m.Ebs.SnapshotId)] = true
			}
		}
	}
	switch sc.end {
	case "Swapped":
		if len(golden) != 1 || golden[0] != after.ImageID {
			t.Errorf("golden AMIs %v, want only %s, the one the group launches (keep=1)", golden, after.ImageID)
		}
		if versions := templateVersions(t, sb, before.LaunchTemplateID); versions != versionsBefore+1 {
			t.Errorf("%d launch template versions, want %d", versions, versionsBefore+1)
		}
		if out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{before.RecoveryPointImage}}); err == nil && len(out.Images) > 0 {
			t.Errorf("recovery point AMI %s left", before.RecoveryPointImage)
		}
	default:
		for _, im := range imgs.Images {
			for _, tg := range im.Tags {
				if aws.ToString(tg.Key) == amiswap.TagExecution && aws.ToString(tg.Value) == run.id {
					t.Errorf("golden AMI %s of the execution left", aws.ToString(im.ImageId))
				}
			}
		}
		if after.ImageID != before.ImageID || after.GroupVersion != before.GroupVersion || after.DefaultVersion != before.DefaultVersion {
			t.Errorf("group on %s (version %s, default %d), want %s (version %s, default %d) as before",
				after.ImageID, after.GroupVersion, after.DefaultVersion, before.ImageID, before.GroupVersion, before.DefaultVersion)
		}
		if versions := templateVersions(t, sb, before.LaunchTemplateID); versions != versionsBefore {
			t.Errorf("%d launch template versions, want %d as before", versions, versionsBefore)
		}
	}
	snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps.Snapshots {
		if !used[aws.ToString(s.SnapshotId)] {
			t.Errorf("golden snapshot %s left without its image", aws.ToString(s.SnapshotId))
		}
	}

	item, err := dynamodb.NewFromConfig(sb.AWS).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(sb.Config.LockTable),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "group#" + before.Name}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	owner := ""
	if v, ok := item.Item["owner"].(*ddbtypes.AttributeValueMemberS); ok {
		owner = v.Value
	}
	if wantOwner := map[bool]string{true: "another-execution", false: ""}[sc.end == "AlreadyRunning"]; owner != wantOwner {
		t.Errorf("lock of %s owned by %q, want %q", before.Name, owner, wantOwner)
	}

	msgs := sb.Sim.Published()
	want := 0
	if sc.outcome != "" {
		want = 1
		if cp.action == "Publish" {
			want = 2 // published, then died before the marker was completed
		}
	}
	dedup := workflow.DedupID(run.id, sc.outcome)
	n := 0
	for _, m := range msgs {
		switch m.Attributes[workflow.DedupAttribute] {
		case dedup:
			n++
		case "":
			t.Errorf("message %q has no %s", m.Subject, workflow.DedupAttribute)
		}
	}
	if n != want || len(msgs) != want {
		t.Errorf("%d messages (%d with deduplication id %s), want %d", len(msgs), n, dedup, want)
	}
}

// TestCrashAnywhereThenResume interrupts an execution at every state of
// the definition and after every mutating AWS call of each scenario (the
// call served, its answer lost with the process), resumes it, and checks
// that nothing leaked. Each scenario first runs uninterrupted: its path
// and its mutating calls are the crash points, and together the paths must
// cover every state.
func TestCrashAnywhereThenResume(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash suite runs about a hundred executions")
	}
	defJSON := struct {
		States map[string]json.RawMessage `json:"States"`
	}{}
	if err := json.Unmarshal(workflow.LocalDefinition(), &defJSON); err != nil {
		t.Fatal(err)
	}
	type crashCase struct {
		sc crashScenario
		cp crashPoint
	}
	var cases []crashCase
	covered := map[string]bool{}
	for _, sc := range crashScenarios {
		var ref crashRun
		t.Run(sc.name+"/uninterrupted", func(t *testing.T) { ref = runCrashed(t, sc, crashPoint{}) })
		for _, s := range ref.path {
			if !covered[s] {
				covered[s] = true
				cases = append(cases, crashCase{sc, crashPoint{state: s}})
			}
		}
		seen := map[string]bool{}
		for _, c := range ref.calls {
			if !seen[c] {
				seen[c] = true
				service, action, _ := strings.Cut(c, " ")
				cases = append(cases, crashCase{sc, crashPoint{service: service, action: action}}, crashCase{sc, crashPoint{service: service, action: action, lost: true}})
			}
		}
	}
	var missing []string
	for s := range defJSON.States {
		if !covered[s] {
			missing = append(missing, s)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no scenario reaches the states %v", missing)
	}
	states, calls := 0, 0
	for _, c := range cases {
		switch {
		case c.cp.state != "":
			states++
		case !c.cp.lost:
			calls++
		}
		t.Run(c.sc.name+"/"+strings.ReplaceAll(c.cp.String(), " ", "-"), func(t *testing.T) {
			t.Parallel()
			runCrashed(t, c.sc, c.cp)
		})
	}
	t.Logf("%d cases: crashes at %d states (of %d in the definition) and after %d (scenario, mutating call) pairs; as many lost answers", len(cases), states, len(defJSON.States), calls)
}

// TestRegressionLeaks are issue 8's three snapshot leaks, on real swaps.
func TestRegressionLeaks(t *testing.T) {
	t.Run("failed golden AMI, crash after DeregisterImage", func(t *testing.T) {
		sc := crashScenarios[1]
		run := runCrashed(t, sc, crashPoint{action: "DeregisterImage"})
		if !run.crashed {
			t.Fatal("no crash")
		}
	})
	// keep=1: two swaps, then a third whose Cleanup deregisters the
	// first golden AMI.
	threeSwaps := func(t *testing.T, third func(sb *sandbox.Sandbox, req amiswap.Request) swapRun) {
		sb := newSandbox(t, awssim.Options{})
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagKeep: "1"}})
		if err != nil {
			t.Fatal(err)
		}
		first := ""
		for i := range 2 {
			r := runSwap(t, sb, "web", backupRequest(t, sb, ids[0]))
			if r.res.Status != asl.StatusSucceeded {
				t.Fatalf("swap %d: %s %s %s", i+1, r.res.Status, r.res.Error, r.res.Cause)
			}
			if i == 0 {
				first = r.st.Image.ImageID
			}
		}
		// The group's instances still run the first golden AMI (no
		// refresh): replace one so that retention may retire it.
		for range 2 {
			if _, err := sb.ReplaceOne(ctx, "web"); err != nil {
				t.Fatal(err)
			}
		}
		inst, err := sb.WaitInService(ctx, "web", 2)
		if err != nil {
			t.Fatal(err)
		}
		r := third(sb, backupRequest(t, sb, inst[0]))
		if r.res.Status != asl.StatusSucceeded {
			t.Fatalf("third swap: %s %s %s", r.res.Status, r.res.Error, r.res.Cause)
		}
		e := ec2.NewFromConfig(sb.AWS)
		if out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{first}}); err == nil && len(out.Images) > 0 {
			t.Fatalf("the first golden AMI %s is still %s: retention did not retire it, the test shows nothing", first, out.Images[0].State)
		}
		imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, im := range imgs.Images {
			for _, m := range im.BlockDeviceMappings {
				if m.Ebs != nil {
					used[aws.ToString(m.Ebs.SnapshotId)] = true
				}
			}
		}
		snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:" + amiswap.TagRole), Values: []string{amiswap.RoleGolden}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range snaps.Snapshots {
			if !used[aws.ToString(s.SnapshotId)] {
				t.Errorf("golden snapshot %s leaked: its image is gone", aws.ToString(s.SnapshotId))
			}
		}
		if len(imgs.Images) > 2 {
			t.Errorf("%d golden AMIs left, want retention to have retired the first", len(imgs.Images))
		}
	}
	t.Run("retention, crash after DeregisterImage", func(t *testing.T) {
		threeSwaps(t, func(sb *sandbox.Sandbox, req amiswap.Request) swapRun {
			return resumeAfterCallCrash(t, sb, req, "DeregisterImage")
		})
	})
	t.Run("retention, four 500s on DeleteSnapshot", func(t *testing.T) {
		threeSwaps(t, func(sb *sandbox.Sandbox, req amiswap.Request) swapRun {
			sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "DeleteSnapshot", Code: "InternalError", Count: 4})
			r := runSwap(t, sb, "web", req)
			retried := 0
			for _, ev := range r.x.History() {
				if ev.Type == asl.RetryScheduled && ev.State == "Cleanup" {
					retried++
				}
			}
			if retried == 0 {
				t.Errorf("Cleanup was not retried: the SDK absorbed the four 500s, so the test shows nothing")
			}
			return r
		})
	})
}

// resumeAfterCallCrash runs a swap that dies once action has been served
// (its answer lost), and resumes it.
func resumeAfterCallCrash(t *testing.T, sb *sandbox.Sandbox, req amiswap.Request, action string) swapRun {
	t.Helper()
	journal := &memJournal{}
	id := crashAfterCall(t, sb, req, action, journal)
	ex, def, err := runner.Executor(runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	x, err := ex.Resume(def, journal.history(id))
	if err != nil {
		t.Fatal(err)
	}
	r := swapRun{x: x, req: req}
	if r.res, err = x.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.res.Status == asl.StatusSucceeded {
		json.Unmarshal(r.res.Output, &r.st)
	}
	return r
}

// TestCompensateFromTheInputAlone: a run dies right after its update of the
// launch template's default version; the janitor then calls Compensate
// with nothing but the execution's input and id. Compensate finds the
// builder, the golden AMI and its snapshots by their tags, the launch
// template version by its description (which names the version it was made
// from), and MaxSize in the group's tag, and puts everything back.
func TestCompensateFromTheInputAlone(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "windows", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
	before, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	versionsBefore := templateVersions(t, sb, before.LaunchTemplateID)
	r := crashAfterCall(t, sb, req, "ModifyLaunchTemplate", nil)
	mid, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if mid.DefaultVersion == before.DefaultVersion || mid.Max == before.Max {
		t.Fatalf("the crashed run changed nothing to undo (default %d, max %d)", mid.DefaultVersion, mid.Max)
	}

	handlers := workflow.New(workflow.NewClients(sb.AWS), sb.Config, nil)
	payload, _ := json.Marshal(map[string]any{"op": "compensate", "state": req,
		"context": map[string]any{"executionId": r, "enteredTime": sb.Sim.Now()}})
	out, err := handlers.Invoke(ctx, "", payload)
	if err != nil {
		t.Fatalf("compensate from the input alone: %v", err)
	}
	// The janitor releases the lock the dead run held, as ReleaseLock would.
	unlock, _ := json.Marshal(map[string]any{"op": "unlock", "state": map[string]any{"lock": map[string]any{
		"table": sb.Config.LockTable, "key": "group#web", "owner": r}}, "context": map[string]any{"executionId": r, "enteredTime": sb.Sim.Now()}})
	if _, err := handlers.Invoke(ctx, "", unlock); err != nil {
		t.Fatal(err)
	}
	var res workflow.CompensationResult
	json.Unmarshal(out, &res)
	t.Logf("actions: %q", res.Actions)
	if len(res.Problems) > 0 {
		t.Errorf("problems: %q", res.Problems)
	}
	verifyEnd(t, sb, crashScenario{name: "janitor", end: "Failed"}, crashPoint{}, crashRun{id: r}, before, versionsBefore)
}

// crashAfterCall runs a swap that dies once action has been served (its
// answer lost with the process), recording its history in journal, and
// returns the execution's id.
func crashAfterCall(t *testing.T, sb *sandbox.Sandbox, req amiswap.Request, action string, journal asl.Journal) string {
	t.Helper()
	runCtx, die := context.WithCancel(context.Background())
	defer die()
	var fired atomic.Bool
	sb.Sim.OnCall(func(c awssim.Call) {
		if c.Action == action && c.Status == http.StatusOK && fired.CompareAndSwap(false, true) {
			die()
		}
	})
	cfg := sb.AWS.Copy()
	cfg.HTTPClient = &http.Client{Transport: dropAnswerTransport{http.DefaultTransport.(*http.Transport).Clone()}}
	ex, def, err := runner.Executor(runner.Options{AWS: cfg, Config: sb.Config, Clock: sb.Sim, Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(req)
	x, err := ex.Start(runCtx, def, "crash", input)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	if !fired.Load() {
		t.Fatalf("%s was never called; path %v", action, x.Path())
	}
	return x.ID()
}

// TestCompensateFromTheInputAloneKeepsASwapThatStands: a run dies in
// Cleanup, after the swap stands (the group launches the golden AMI and is
// thawed). Compensate from the input alone must find that out from AWS and
// keep the swap: only the builder and MaxSize are its business then.
func TestCompensateFromTheInputAloneKeepsASwapThatStands(t *testing.T) {
	sb := newSandbox(t, awssim.Options{})
	ctx := context.Background()
	// The run dies on Cleanup's DeleteRecoveryPoint (the TerminateInstances
	// calls of TerminateBuilder and of the verifier come before the
	// rollout).
	req := groupRequest(t, sb, sandbox.GroupSpec{Name: "web", Platform: "linux", Tags: map[string]string{
		amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true", amiswap.TagVerify: "false"}})
	before, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	id := crashAfterCall(t, sb, req, "DeleteRecoveryPoint", nil)
	swapped, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if swapped.ImageID == before.ImageID {
		t.Fatal("the crashed run had not swapped yet")
	}
	payload, _ := json.Marshal(map[string]any{"op": "compensate", "state": req,
		"context": map[string]any{"executionId": id, "enteredTime": sb.Sim.Now()}})
	out, err := workflow.New(workflow.NewClients(sb.AWS), sb.Config, nil).Invoke(ctx, "", payload)
	if err != nil {
		t.Fatalf("compensate: %v", err)
	}
	after, err := sandbox.Snapshot(ctx, sb.AWS, "web")
	if err != nil {
		t.Fatal(err)
	}
	if after.ImageID != swapped.ImageID || after.DefaultVersion != swapped.DefaultVersion || after.Max != before.Max {
		t.Errorf("compensate undid a swap that stood: group on %s (default %d, max %d), want %s (default %d, max %d); %s",
			after.ImageID, after.DefaultVersion, after.Max, swapped.ImageID, swapped.DefaultVersion, before.Max, out)
	}
	imgs, err := ec2.NewFromConfig(sb.AWS).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{swapped.ImageID}})
	if err != nil || len(imgs.Images) != 1 || imgs.Images[0].State != ec2types.ImageStateAvailable {
		t.Errorf("the golden AMI in use: %+v, %v", imgs, err)
	}
}
