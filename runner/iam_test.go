package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/amiswap/amiswap"
	"github.com/amiswap/amiswap/asl"
	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/awssim/iam"
	"github.com/amiswap/amiswap/deploy"
	"github.com/amiswap/amiswap/runner"
	"github.com/amiswap/amiswap/sandbox"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// Least privilege, proven: the whole workflow runs in the simulator with
// each handler under its own role's policy from the CloudFormation
// template, and removing any single allowed action from any role makes
// some scenario fail with an access error.

const stackName = "amiswap"

// iamParams are the template parameters of the simulated stack: builders
// and groups use the demo's instance profile, whose role may be passed.
var iamParams = map[string]string{
	"AWS::StackName":  stackName,
	"ArtifactBucket":  "artifacts",
	"ArtifactKey":     "amiswap-lambda.zip",
	"BuilderRoleArns": "arn:aws:iam::123456789012:role/demo-windows-ssm",
}

// iamSandbox is a sandbox with IAM enforcement from the template.
func iamSandbox(t *testing.T, scenario string) (*sandbox.Sandbox, *iam.Engine) {
	t.Helper()
	sb, err := sandbox.New(context.Background(), awssim.Options{Scenario: scenario})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	// The template names the table and topic after the stack; the
	// sandbox's names are those of a stack called "amiswap".
	if sb.Config.LockTable != stackName+"-locks" || !strings.HasSuffix(sb.Config.TopicArn, ":"+stackName+"-notifications") {
		t.Fatalf("the sandbox's lock table %s and topic %s are not the stack's", sb.Config.LockTable, sb.Config.TopicArn)
	}
	m, err := iam.Enable(sb.Sim, deploy.Template(), withStackKey(t, sb, iamParams))
	if err != nil {
		t.Fatal(err)
	}
	return sb, m
}

// roleOptions gives each function the credentials of its role.
func roleOptions(t *testing.T, sb *sandbox.Sandbox) runner.Options {
	t.Helper()
	opts := runner.Options{AWS: sb.AWS, Config: sb.Config, Clock: sb.Sim, FunctionAWS: map[string]aws.Config{}}
	for _, f := range workflow.Functions {
		cfg, err := sandbox.Config(context.Background(), sb.URL, sb.Sim.Region(), iam.KeyFor(f.Name))
		if err != nil {
			t.Fatal(err)
		}
		opts.FunctionAWS[f.Name] = cfg
	}
	return opts
}

// scenario is one workflow run under IAM; it reports whether it went as
// expected (the error says how not).
type scenario struct {
	name string
	// demo starts from the simulator's demo scenario (an opted-in Windows
	// group whose launch template names an instance profile).
	demo bool
	run  func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error
}

func expect(x *asl.Execution, res asl.Result, status asl.Status, last string) error {
	path := x.Path()
	if res.Status != status || path[len(path)-1] != last {
		return fmt.Errorf("ended %s in %s (%s: %s), want %s in %s", res.Status, path[len(path)-1], res.Error, res.Cause, status, last)
	}
	return nil
}

var iamScenarios = []scenario{
	{"windows $Default, frozen, rolled, retention", true, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		asg := autoscaling.NewFromConfig(sb.AWS)
		_, err := asg.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: tagsOn("demo-windows-web", map[string]string{
			amiswap.TagFreezeMaxSize: "true", amiswap.TagRefresh: "rolling", amiswap.TagKeep: "1", amiswap.TagWarmup: "60",
		})})
		if err != nil {
			return err
		}
		ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
		if err != nil {
			return err
		}
		// Swaps in a row: with keep=1, retention removes golden AMIs that
		// no launch template version in use references any more.
		for i := range 3 {
			req := backupRequest(t, sb, ids[0])
			x, res, err := runner.Run(ctx, opts, "", req)
			if err != nil {
				return err
			}
			if err := expect(x, res, asl.StatusSucceeded, "Swapped"); err != nil {
				return fmt.Errorf("swap %d: %w", i+1, err)
			}
			if ids, err = sb.WaitInService(ctx, "demo-windows-web", 2); err != nil {
				return err
			}
		}
		return nil
	}},
	{"linux pinned, from --instance-id", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "linux", Platform: "linux", Version: "1", Desired: 1})
		if err != nil {
			return err
		}
		backupRequest(t, sb, ids[0])
		x, res, err := runner.Run(ctx, opts, "", amiswap.Request{InstanceID: ids[0]})
		if err != nil {
			return err
		}
		return expect(x, res, asl.StatusSucceeded, "Swapped")
	}},
	{"tagged template, profile's role named otherwise, rolled", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		return swapTaggedGroup(t, sb, opts)
	}},
	{"refresh fails, compensated", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, taggedGroup("roll"))
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[0])
		// The refresh starts; checking on it then fails for good, so
		// compensation must cancel it and revert everything.
		sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "DescribeInstanceRefreshes", Code: "ValidationError", AccessKeyID: iam.KeyFor("UpdateAsg")})
		x, res, err := runner.Run(ctx, opts, "", req)
		if err != nil {
			return err
		}
		if err := expect(x, res, asl.StatusFailed, "Failed"); err != nil {
			return err
		}
		if hasCatch(x, "Compensate", "CompensationError") {
			return fmt.Errorf("compensation was incomplete: %s", compensationCause(x))
		}
		return nil
	}},
	{"launch refused, compensated", true, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		_, err := autoscaling.NewFromConfig(sb.AWS).CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: tagsOn("demo-windows-web", map[string]string{amiswap.TagFreezeMaxSize: "true"})})
		if err != nil {
			return err
		}
		ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[0])
		sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "RunInstances", Code: "InvalidParameterCombination", AccessKeyID: iam.KeyFor("Builder")})
		return compensated(runner.Run(ctx, opts, "", req))
	}},
	{"default version refused, compensated", true, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[0])
		sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "ModifyLaunchTemplate", Code: "InvalidParameterValue", AccessKeyID: iam.KeyFor("UpdateAsg")})
		return compensated(runner.Run(ctx, opts, "", req))
	}},
	{"pinned group with a profile, refresh fails, compensated", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "pinned", Platform: "linux", Version: "1", Desired: 2, InstanceProfile: "demo-windows-ssm",
			Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling"}})
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[0])
		sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "StartInstanceRefresh", Outcome: "failed"})
		return compensated(runner.Run(ctx, opts, "", req))
	}},
	{"pinned group with a profile, thaw fails, compensated", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "pinned", Platform: "linux", Version: "1", Desired: 2, InstanceProfile: "demo-windows-ssm",
			Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagFreezeMaxSize: "true"}})
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[0])
		// The group is pinned to the new version; then Thaw fails, so
		// compensation must put the group back on version 1.
		sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "DeleteTags", Code: "ValidationError", AccessKeyID: iam.KeyFor("UpdateAsg")})
		return compensated(runner.Run(ctx, opts, "", req))
	}},
	{"linux $Default, two swaps, rolled back with a refresh", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "rb", Platform: "linux", Desired: 1})
		if err != nil {
			return err
		}
		for i := range 2 {
			x, res, err := runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0]))
			if err != nil {
				return err
			}
			if err := expect(x, res, asl.StatusSucceeded, "Swapped"); err != nil {
				return fmt.Errorf("swap %d: %w", i+1, err)
			}
		}
		x, res, err := runner.Rollback(ctx, opts, "", amiswap.RollbackRequest{Group: "rb", Refresh: true})
		if err != nil {
			return err
		}
		return expect(x, res, asl.StatusSucceeded, "RolledBack")
	}},
	{"linux: prepare with a reboot, own generalize and verify documents, hand-off, deprecation; a failed check after the next hand-off puts the parameter back", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		createDocument(t, sb, "Amiswap-Cleanup", "echo generalizing", "exit 0")
		createDocument(t, sb, "Web-Smoke", "echo smoke test passed")
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "ops", Platform: "linux", Desired: 1, InstanceProfile: "demo-windows-ssm",
			Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagPrepareDocument: "AWS-RunPatchBaseline",
				amiswap.TagPrepareParameters: `{"Operation":["Install"]}`, amiswap.TagGeneralizeDocument: "Amiswap-Cleanup",
				amiswap.TagVerifyDocument: "Web-Smoke", amiswap.TagSSMParameter: "/golden/ops", amiswap.TagDeprecateAfter: "90d"}})
		if err != nil {
			return err
		}
		x, res, err := runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0]))
		if err != nil {
			return err
		}
		if err := expect(x, res, asl.StatusSucceeded, "Swapped"); err != nil {
			return err
		}
		if ids, err = sb.WaitInService(ctx, "ops", 1); err != nil {
			return err
		}
		failing := opts
		failing.Observer = faultOnEntering(sb.Sim, "CheckHandOff", 2, awssim.Fault{Service: "ssm", Action: "GetParameter", Code: "ValidationException", AccessKeyID: iam.KeyFor("HandOff")})
		return compensated(runner.Run(ctx, failing, "", backupRequest(t, sb, ids[0])))
	}},
	{"first hand-off compensated: the parameter is deleted", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "param", Platform: "linux", Desired: 1,
			Tags: map[string]string{amiswap.TagEnabled: "true", amiswap.TagSSMParameter: "/golden/param"}})
		if err != nil {
			return err
		}
		opts.Observer = faultOnEntering(sb.Sim, "CheckHandOff", 2, awssim.Fault{Service: "ssm", Action: "GetParameter", Code: "ValidationException", AccessKeyID: iam.KeyFor("HandOff")})
		return compensated(runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0])))
	}},
	{"verifier impaired, compensated", false, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "impaired", Platform: "linux", Desired: 1})
		if err != nil {
			return err
		}
		sb.Sim.AddFault(awssim.Fault{Service: "ec2", Action: "InstanceStatus", Outcome: "impaired", Match: map[string]string{"tag:" + amiswap.TagRole: amiswap.RoleVerifier}})
		return compensated(runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0])))
	}},
	{"group locked by another execution", true, func(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
		ctx := context.Background()
		ids, err := sb.WaitInService(ctx, "demo-windows-web", 2)
		if err != nil {
			return err
		}
		req := backupRequest(t, sb, ids[1])
		// Another execution takes the lock and is still running (it
		// stops here, on entering Freeze, and never releases it).
		holding, stop := context.WithCancel(ctx)
		defer stop()
		holderOpts := opts
		holderOpts.Observer = func(x *asl.Execution, ev asl.Event) {
			if ev.Type == asl.TaskStateEntered && ev.State == "Freeze" {
				stop()
			}
		}
		ex, def, err := runner.Executor(holderOpts)
		if err != nil {
			return err
		}
		holder, err := ex.Start(holding, def, "holder", mustJSON(t, req))
		if err != nil {
			return err
		}
		holder.Run(holding)
		x2, res, err := runner.Run(ctx, opts, "", req)
		if err != nil {
			return err
		}
		return expect(x2, res, asl.StatusSucceeded, "AlreadyRunning")
	}},
}

// taggedGroup is a rolling, frozen group whose launch template has
// TagSpecifications and an instance profile ("NAME-profile") holding the
// role the stack may pass, under another name: Auto Scaling checks
// ec2:CreateTags and iam:PassRole of that role when the group is updated
// or refreshed.
func taggedGroup(name string) sandbox.GroupSpec {
	return sandbox.GroupSpec{Name: name, Platform: "linux", Desired: 2,
		InstanceProfile: name + "-profile", InstanceProfileRole: "demo-windows-ssm",
		LaunchTemplateTags: map[string]string{"team": "web", "cost-center": "42"},
		Tags:               map[string]string{amiswap.TagEnabled: "true", amiswap.TagRefresh: "rolling", amiswap.TagFreezeMaxSize: "true"}}
}

// swapTaggedGroup swaps a taggedGroup with a rolling refresh and checks
// it succeeded.
func swapTaggedGroup(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) error {
	x, res, err := runTaggedGroup(t, sb, opts)
	if err != nil {
		return err
	}
	if err := expect(x, res, asl.StatusSucceeded, "Swapped"); err != nil {
		return err
	}
	if !slices.Contains(x.Path(), "StartRefresh") || !slices.Contains(x.Path(), "CheckRefresh") {
		return fmt.Errorf("the swap did not roll out with a refresh: %v", x.Path())
	}
	return nil
}

// runTaggedGroup runs a swap of a new taggedGroup.
func runTaggedGroup(t *testing.T, sb *sandbox.Sandbox, opts runner.Options) (*asl.Execution, asl.Result, error) {
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, taggedGroup("tagged"))
	if err != nil {
		return nil, asl.Result{}, err
	}
	return runner.Run(ctx, opts, "", backupRequest(t, sb, ids[0]))
}

// compensated checks that a run failed and was compensated completely.
func compensated(x *asl.Execution, res asl.Result, err error) error {
	if err != nil {
		return err
	}
	if err := expect(x, res, asl.StatusFailed, "Failed"); err != nil {
		return err
	}
	if !slices.Contains(x.Path(), "Compensate") {
		return fmt.Errorf("the run did not go through Compensate: %v", x.Path())
	}
	if hasCatch(x, "Compensate", "CompensationError") {
		return fmt.Errorf("compensation was incomplete: %s", compensationCause(x))
	}
	return nil
}

func hasCatch(x *asl.Execution, state, errName string) bool {
	for _, ev := range x.History() {
		if ev.Type == asl.CatchMatched && ev.State == state && ev.Error == errName {
			return true
		}
	}
	return false
}

// compensationCause is the cause of Compensate's last failure (the one
// its Catch took; earlier ones were retried).
func compensationCause(x *asl.Execution) string {
	cause := ""
	for _, ev := range x.History() {
		if ev.Type == asl.TaskFailed && ev.State == "Compensate" {
			cause = ev.Cause
		}
	}
	return cause
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tagsOn(group string, tags map[string]string) []asgtypes.Tag {
	var out []asgtypes.Tag
	for k, v := range tags {
		out = append(out, asgtypes.Tag{ResourceId: aws.String(group), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(false)})
	}
	return out
}

// runScenarios runs the scenarios named in only (every one when only is
// nil), each in a fresh IAM sandbox whose authorizer is authz (nil: the
// template's own), and returns the failures and, per scenario, the
// "function action" pairs (lower case) that IAM evaluated for a
// function's key, implicit checks (PassRole, CreateTags, KMS) included.
func runScenarios(t *testing.T, authz func(*iam.Engine) *iam.Engine, only map[string]bool) (failed map[string]error, evaluated map[string]map[string]bool) {
	failed, evaluated = map[string]error{}, map[string]map[string]bool{}
	for _, sc := range iamScenarios {
		if only != nil && !only[sc.name] {
			continue
		}
		scenarioName := "empty"
		if sc.demo {
			scenarioName = "demo"
		}
		sb, m := iamSandbox(t, scenarioName)
		if authz != nil {
			m = authz(m)
		}
		rec := &recordingEngine{Engine: m, functions: map[string]string{}, seen: map[string]bool{}}
		for _, f := range m.Functions() {
			rec.functions[iam.KeyFor(f)] = f
		}
		sb.Sim.SetAuthorizer(rec)
		if err := sc.run(t, sb, roleOptions(t, sb)); err != nil {
			// The denials behind a failure: some surface only in the
			// call log (KMS calls EC2 made on a role's behalf).
			if d := deniedCalls(sb); d != nil {
				err = fmt.Errorf("%w (%v)", err, d)
			}
			failed[sc.name] = err
		} else if err := deniedCalls(sb); err != nil {
			// A denial that the workflow absorbed (a notification or a
			// recovery point reported, not failed) still counts.
			failed[sc.name] = err
		}
		evaluated[sc.name] = rec.evaluated()
	}
	return failed, evaluated
}

// recordingEngine is the IAM engine, recording which actions it evaluated
// for which function's key.
type recordingEngine struct {
	*iam.Engine
	functions map[string]string // access key → function
	mu        sync.Mutex
	seen      map[string]bool
}

func (r *recordingEngine) Authorize(accessKeyID, service, action string, res []awssim.Resource) error {
	if f, ok := r.functions[accessKeyID]; ok {
		r.mu.Lock()
		r.seen[strings.ToLower(f+" "+service+":"+action)] = true
		r.mu.Unlock()
	}
	return r.Engine.Authorize(accessKeyID, service, action, res)
}

func (r *recordingEngine) evaluated() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.seen)
}

// usedBy names the scenarios in which IAM evaluated action (a pattern as
// the policy writes it, such as kms:ReEncrypt*) for function.
func usedBy(evaluated map[string]map[string]bool, function, action string) map[string]bool {
	pattern := strings.ToLower(function + " " + action)
	out := map[string]bool{}
	for sc, seen := range evaluated {
		for pair := range seen {
			if ok, _ := path.Match(pattern, pair); ok {
				out[sc] = true
			}
		}
	}
	return out
}

// TestTaggedTemplateNeedsCreateTagsAndPassRole: a group whose launch
// template has TagSpecifications and an instance profile whose role has
// another name swaps, rolls out and compensates under the roles (the
// scenarios above); without ec2:CreateTags or iam:PassRole, the role that
// updates or refreshes the group is refused by Auto Scaling ("Amazon EC2
// Auto Scaling API permissions",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-api-permissions.html),
// and so is the role that compensates.
func TestTaggedTemplateNeedsCreateTagsAndPassRole(t *testing.T) {
	for _, action := range []string{"ec2:CreateTags", "iam:PassRole"} {
		t.Run("UpdateAsg without "+action, func(t *testing.T) {
			sb, m := iamSandbox(t, "empty")
			sb.Sim.SetAuthorizer(m.WithoutAction("UpdateAsg", action))
			// The swap fails and is compensated by the intact Compensate
			// role.
			if err := compensated(runTaggedGroup(t, sb, roleOptions(t, sb))); err != nil {
				t.Fatal(err)
			}
			requireLTDenied(t, sb, "UpdateAsg")
		})
		t.Run("Compensate without "+action, func(t *testing.T) {
			sb, m := iamSandbox(t, "empty")
			sb.Sim.SetAuthorizer(m.WithoutAction("Compensate", action))
			ctx := context.Background()
			ids, err := sb.CreateGroup(ctx, taggedGroup("roll"))
			if err != nil {
				t.Fatal(err)
			}
			req := backupRequest(t, sb, ids[0])
			sb.Sim.AddFault(awssim.Fault{Service: "autoscaling", Action: "DescribeInstanceRefreshes", Code: "ValidationError", AccessKeyID: iam.KeyFor("UpdateAsg")})
			x, res, err := runner.Run(ctx, roleOptions(t, sb), "", req)
			if err != nil {
				t.Fatal(err)
			}
			if err := expect(x, res, asl.StatusFailed, "Failed"); err != nil {
				t.Fatal(err)
			}
			if !hasCatch(x, "Compensate", "CompensationError") {
				t.Errorf("compensation completed without %s: %v", action, x.Path())
			}
			requireLTDenied(t, sb, "Compensate")
		})
	}
}

// requireLTDenied checks that Auto Scaling refused function's key the
// group's launch template.
func requireLTDenied(t *testing.T, sb *sandbox.Sandbox, function string) {
	t.Helper()
	for _, c := range sb.Sim.Calls() {
		if c.AccessKeyID == iam.KeyFor(function) && c.Service == "autoscaling" && c.Status == 403 && c.ErrorCode == "AccessDenied" {
			return
		}
	}
	t.Errorf("Auto Scaling did not refuse %s: %v", function, deniedCalls(sb))
}

func TestWorkflowUnderLeastPrivilege(t *testing.T) {
	failed, _ := runScenarios(t, nil, nil)
	for name, err := range failed {
		t.Errorf("%s: %v", name, err)
	}
}

// TestEveryAllowedActionIsUsed removes each action from each role in turn
// and checks that some scenario then fails with an access error. Only the
// scenarios in which IAM evaluated the action for that role run again
// (the others never ask for it, so they cannot fail without it); an
// action no scenario asks for is reported as not needed.
func TestEveryAllowedActionIsUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scenarios once per allowed action")
	}
	sb, m := iamSandbox(t, "empty")
	sb.Close()
	_, evaluated := runScenarios(t, nil, nil)
	for _, f := range m.Functions() {
		if f == workflow.JanitorFunction {
			// The scenarios run the workflow, never the janitor. Its role is
			// Compensate's statements (each covered here through Compensate)
			// plus the lock release, which TestJanitorUnderItsRole
			// exercises, and states:GetExecutionHistory, which the janitor
			// uses when it may and does without otherwise.
			continue
		}
		for _, action := range m.Actions(f) {
			if strings.HasPrefix(action, "logs:") {
				continue // CloudWatch Logs is written by the Lambda runtime, not by amiswap's code
			}
			t.Run(f+"/"+action, func(t *testing.T) {
				users := usedBy(evaluated, f, action)
				if len(users) == 0 {
					t.Errorf("no scenario asks IAM for %s as %s: the permission is not needed (or no scenario covers it)", action, f)
					return
				}
				failed, _ := runScenarios(t, func(m *iam.Engine) *iam.Engine { return m.WithoutAction(f, action) }, users)
				if len(failed) == 0 {
					t.Errorf("every scenario still succeeds without %s for %s: the permission is not needed (another statement allows it)", action, f)
					return
				}
				denied := false
				for name, err := range failed {
					if accessError(err) {
						denied = true
					} else {
						t.Logf("%s failed without %s, not with an access error: %v", name, action, err)
					}
				}
				if !denied {
					t.Errorf("without %s for %s, scenarios fail but none with an access error", action, f)
				}
			})
		}
	}
}

// deniedCalls reports the calls the simulator denied to a role's key.
func deniedCalls(sb *sandbox.Sandbox) error {
	var denied []string
	for _, c := range sb.Sim.Calls() {
		// KMS answers AccessDeniedException with HTTP 400.
		if (c.Status == 403 || c.ErrorCode == "AccessDeniedException") && strings.HasPrefix(c.AccessKeyID, "AKIA") {
			denied = append(denied, fmt.Sprintf("%s %s:%s %s", c.AccessKeyID, c.Service, c.Action, c.ErrorCode))
		}
	}
	if len(denied) > 0 {
		return fmt.Errorf("access denied: %s", strings.Join(denied, "; "))
	}
	return nil
}

func accessError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "AccessDenied") || strings.Contains(s, "UnauthorizedOperation") || strings.Contains(s, "AuthorizationError")
}

// TestRolesCannotTouchOthersResources: a handler's role cannot change a group
// that is not opted in, nor stop or terminate an instance that is not a
// builder.
func TestRolesCannotTouchOthersResources(t *testing.T) {
	sb, _ := iamSandbox(t, "empty")
	ctx := context.Background()
	ids, err := sb.CreateGroup(ctx, sandbox.GroupSpec{Name: "not-opted-in", Platform: "linux", Desired: 1, Tags: map[string]string{"team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	opts := roleOptions(t, sb)
	asg := autoscaling.NewFromConfig(opts.FunctionAWS["UpdateAsg"])
	_, err = asg.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("not-opted-in"), MaxSize: aws.Int32(1)})
	requireDenied(t, "UpdateAsg: UpdateAutoScalingGroup on a group not opted in", err)
	for _, fn := range []string{"Builder", "Cleanup", "Compensate"} {
		e := ec2.NewFromConfig(opts.FunctionAWS[fn])
		_, err := e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		requireDenied(t, fn+": TerminateInstances of a group's instance", err)
		_, err = e.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
		requireDenied(t, fn+": StopInstances of a group's instance", err)
	}
	// The same calls by the CLI's own credentials (not a role) go through.
	if _, err := ec2.NewFromConfig(sb.AWS).StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
		t.Errorf("the unrestricted caller could not stop the instance: %v", err)
	}
}

func requireDenied(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if err == nil {
		t.Errorf("%s: allowed, want access denied", what)
		return
	}
	if !errors.As(err, &ae) || (ae.ErrorCode() != "AccessDenied" && ae.ErrorCode() != "UnauthorizedOperation") {
		t.Errorf("%s: %v, want AccessDenied or UnauthorizedOperation", what, err)
	}
}
