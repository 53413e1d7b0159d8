package awssim

// The conformance suite: the same scenarios, through real aws-sdk-go-v2
// clients, against the simulator and against moto_server, for the
// operations both implement. A scenario asserts what both must agree on
// (shapes, error codes, semantics); where they legitimately differ it
// branches on on.moto and CONFORMANCE.md says why.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// impl is the implementation a scenario runs against.
type impl struct {
	// name is "sim" or "moto".
	name string
	// moto is true against moto_server: the flag every legitimate
	// difference branches on.
	moto bool
	// advance moves the simulator's virtual clock; a no-op for moto, whose
	// lifecycles complete at once.
	advance func(time.Duration)
}

// scenario is one conformance scenario.
type scenario struct {
	name string
	run  func(t *testing.T, cfg aws.Config, on impl)
}

// conformanceScenarios is the suite, in the order it runs.
var conformanceScenarios = []scenario{
	{"ec2/default-network", scenarioDefaultNetwork},
	{"ec2/instance-lifecycle", scenarioInstances},
	{"ec2/describe-instances-filters-pagination", scenarioDescribeInstances},
	{"ec2/instance-errors", scenarioInstanceErrors},
	{"ec2/images-and-snapshots", scenarioImages},
	{"ec2/tags", scenarioTags},
	{"ec2/windows-platform", scenarioWindows},
	{"ec2/more-errors", scenarioMoreErrors},
	{"ec2/launch-templates", scenarioLaunchTemplates},
	{"autoscaling/groups", scenarioGroups},
	{"autoscaling/mixed-instances-and-errors", scenarioMixedGroup},
	{"autoscaling/tags", scenarioGroupTags},
	{"ssm/commands", scenarioCommands},
	{"ssm/parameters-and-documents", scenarioParametersAndDocuments},
	{"sts/caller-identity", scenarioCallerIdentity},
	{"sns/topics-and-publish", scenarioSNS},
	{"dynamodb/lock-conditions", scenarioDynamoDBLock},
	{"dynamodb/response-checksums", scenarioDynamoDBChecksums},
	{"kms/keys-aliases-grants", scenarioKMS},
	{"ec2/ebs-encryption", scenarioEBSEncryption},
	{"iam/instance-profiles", scenarioInstanceProfiles},
}

// opRecorder notes every operation a scenario calls, per implementation,
// so that the suite can report which operations were compared.
type opRecorder struct {
	mu  sync.Mutex
	ops map[string]map[string]bool // impl → "service:Operation"
}

func (r *opRecorder) middleware(name string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("conformanceOps",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
				r.mu.Lock()
				if r.ops[name] == nil {
					r.ops[name] = map[string]bool{}
				}
				r.ops[name][op] = true
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// both returns the operations called on both implementations, sorted.
func (r *opRecorder) both() []string {
	var out []string
	for op := range r.ops["sim"] {
		if r.ops["moto"][op] {
			out = append(out, op)
		}
	}
	sort.Strings(out)
	return out
}

func TestConformance(t *testing.T) {
	rec := &opRecorder{ops: map[string]map[string]bool{}}
	for _, sc := range conformanceScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Run("sim", func(t *testing.T) {
				ts := newTestSim(t, Options{})
				cfg := ts.Cfg.Copy()
				cfg.APIOptions = append(cfg.APIOptions, rec.middleware("sim"))
				sc.run(t, cfg, impl{name: "sim", advance: ts.Advance})
			})
			t.Run("moto", func(t *testing.T) {
				cfg := newMoto(t, "us-east-1")
				cfg.APIOptions = append(cfg.APIOptions, rec.middleware("moto"))
				sc.run(t, cfg, impl{name: "moto", moto: true, advance: func(time.Duration) {}})
			})
		})
	}
	if ops := rec.both(); len(ops) > 0 {
		t.Logf("%d scenarios compared %d operations: %s", len(conformanceScenarios), len(ops), strings.Join(ops, ", "))
	}
}

// wantCode fails the test unless err is an API error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("error = %v, want API error %s", err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

// must fails the test at once when err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func scenarioCallerIdentity(t *testing.T, cfg aws.Config, on impl) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	must(t, "GetCallerIdentity", err)
	if aws.ToString(out.Account) != "123456789012" {
		t.Errorf("Account = %s", aws.ToString(out.Account))
	}
	if arn := aws.ToString(out.Arn); !strings.HasPrefix(arn, "arn:aws:") || !strings.Contains(arn, ":123456789012:") {
		t.Errorf("Arn = %s", arn)
	}
	if aws.ToString(out.UserId) == "" {
		t.Error("UserId is empty")
	}
}

func scenarioSNS(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := sns.NewFromConfig(cfg)
	a, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("amiswap-conf")})
	must(t, "CreateTopic", err)
	arn := aws.ToString(a.TopicArn)
	if want := "arn:aws:sns:" + cfg.Region + ":123456789012:amiswap-conf"; arn != want {
		t.Errorf("TopicArn = %s, want %s", arn, want)
	}
	// CreateTopic is idempotent: the same name gives the same topic.
	b, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("amiswap-conf")})
	must(t, "CreateTopic again", err)
	if aws.ToString(b.TopicArn) != arn {
		t.Errorf("second CreateTopic = %s, want %s", aws.ToString(b.TopicArn), arn)
	}
	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	must(t, "ListTopics", err)
	var found int
	for _, tp := range list.Topics {
		if aws.ToString(tp.TopicArn) == arn {
			found++
		}
	}
	if found != 1 {
		t.Errorf("ListTopics lists the topic %d times: %+v", found, list.Topics)
	}
	pub, err := c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String("amiswap: web swapped"), Message: aws.String("hello")})
	must(t, "Publish", err)
	if aws.ToString(pub.MessageId) == "" {
		t.Error("Publish returned no MessageId")
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	must(t, "GetTopicAttributes", err)
	if attrs.Attributes["TopicArn"] != arn || attrs.Attributes["Owner"] != "123456789012" {
		t.Errorf("topic attributes = %v", attrs.Attributes)
	}
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:" + cfg.Region + ":123456789012:nope"), Message: aws.String("x")})
	wantCode(t, err, "NotFound")
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:" + cfg.Region + ":123456789012:nope")})
	wantCode(t, err, "NotFound")
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String(strings.Repeat("s", 101)), Message: aws.String("x")})
	wantCode(t, err, "InvalidParameter")
}

func scenarioDynamoDBLock(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := dynamodb.NewFromConfig(cfg)
	table := "amiswap-locks"
	ct, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	must(t, "CreateTable", err)
	if want := "arn:aws:dynamodb:" + cfg.Region + ":123456789012:table/" + table; aws.ToString(ct.TableDescription.TableArn) != want {
		t.Errorf("TableArn = %s, want %s", aws.ToString(ct.TableDescription.TableArn), want)
	}
	on.advance(time.Minute)
	dt, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	must(t, "DescribeTable", err)
	if dt.Table.TableStatus != ddbtypes.TableStatusActive {
		t.Errorf("TableStatus = %s", dt.Table.TableStatus)
	}
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
	wantCode(t, err, "ResourceNotFoundException")

	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "group#web"}}
	acquire := func(owner string, now, expires int64) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]ddbtypes.AttributeValue{
				"pk":        key["pk"],
				"owner":     &ddbtypes.AttributeValueMemberS{Value: owner},
				"expiresAt": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(expires)},
			},
			ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp < :now"),
			ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#exp": "expiresAt"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":now": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(now)}},
		})
		return err
	}
	must(t, "first lock", acquire("exec-1", 1000, 2000))
	wantCode(t, acquire("exec-2", 1500, 2500), "ConditionalCheckFailedException")
	// Past its expiry the lock can be taken over.
	must(t, "take over an expired lock", acquire("exec-2", 2001, 3000))

	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	must(t, "GetItem", err)
	if o, ok := got.Item["owner"].(*ddbtypes.AttributeValueMemberS); !ok || o.Value != "exec-2" {
		t.Errorf("owner = %#v", got.Item["owner"])
	}
	if e, ok := got.Item["expiresAt"].(*ddbtypes.AttributeValueMemberN); !ok || e.Value != "3000" {
		t.Errorf("expiresAt = %#v", got.Item["expiresAt"])
	}

	// Extending needs the lock to exist and be ours.
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key,
		UpdateExpression:          aws.String("SET #exp = :exp"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#exp": "expiresAt", "#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":exp": &ddbtypes.AttributeValueMemberN{Value: "4000"}, ":owner": &ddbtypes.AttributeValueMemberS{Value: "exec-1"}},
	})
	wantCode(t, err, "ConditionalCheckFailedException")
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key,
		UpdateExpression:          aws.String("SET #exp = :exp"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#exp": "expiresAt", "#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":exp": &ddbtypes.AttributeValueMemberN{Value: "4000"}, ":owner": &ddbtypes.AttributeValueMemberS{Value: "exec-2"}},
		ReturnValues:              ddbtypes.ReturnValueAllNew,
	})
	must(t, "extend own lock", err)
	if e, ok := up.Attributes["expiresAt"].(*ddbtypes.AttributeValueMemberN); !ok || e.Value != "4000" {
		t.Errorf("UpdateItem ALL_NEW expiresAt = %#v", up.Attributes["expiresAt"])
	}

	release := func(owner string) error {
		_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(table), Key: key,
			ConditionExpression:       aws.String("#owner = :owner"),
			ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":owner": &ddbtypes.AttributeValueMemberS{Value: owner}},
		})
		return err
	}
	wantCode(t, release("exec-1"), "ConditionalCheckFailedException")
	must(t, "release own lock", release("exec-2"))
	got, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	must(t, "GetItem after release", err)
	if got.Item != nil {
		t.Errorf("item still there after release: %v", got.Item)
	}
	// Releasing a lock that is gone fails the condition too.
	wantCode(t, release("exec-2"), "ConditionalCheckFailedException")
	// The lock is free again.
	must(t, "lock after release", acquire("exec-3", 5000, 6000))

	tables, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	must(t, "ListTables", err)
	if len(tables.TableNames) != 1 || tables.TableNames[0] != table {
		t.Errorf("ListTables = %v", tables.TableNames)
	}
	scan, err := c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	must(t, "Scan", err)
	if scan.Count != 1 || len(scan.Items) != 1 {
		t.Errorf("Scan: count %d, %d items", scan.Count, len(scan.Items))
	}
	_, err = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	must(t, "DeleteTable", err)
	on.advance(time.Minute)
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	wantCode(t, err, "ResourceNotFoundException")
}

// baseImage returns a public Amazon Linux 2023 image owned by "amazon" to
// launch from. (Both seed such images; the name filter keeps moto, which
// holds over a thousand public images, fast.)
func baseImage(t *testing.T, c *ec2.Client) string {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023*"}}},
	})
	must(t, "DescribeImages Owners=amazon", err)
	for _, im := range out.Images {
		if im.State == ec2types.ImageStateAvailable && aws.ToString(im.OwnerId) != "123456789012" {
			return aws.ToString(im.ImageId)
		}
	}
	t.Fatalf("no available image owned by amazon among %d", len(out.Images))
	return ""
}

// runInstances launches n instances of image tagged Name=name and returns
// their ids.
func runInstances(t *testing.T, c *ec2.Client, image, name string, n int32) []string {
	t.Helper()
	out, err := c.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(n), MaxCount: aws.Int32(n),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(name)}, {Key: aws.String("team"), Value: aws.String("conf")},
		}}},
	})
	must(t, "RunInstances", err)
	if len(out.Instances) != int(n) {
		t.Fatalf("RunInstances started %d instances, want %d", len(out.Instances), n)
	}
	var ids []string
	for _, in := range out.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids
}

// tagsOf turns EC2 tags into a map.
func tagsOf(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// instances describes ids and returns the instances by id.
func instances(t *testing.T, c *ec2.Client, ids ...string) map[string]ec2types.Instance {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	must(t, "DescribeInstances", err)
	m := map[string]ec2types.Instance{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			m[aws.ToString(in.InstanceId)] = in
		}
	}
	return m
}

// wantStateChange checks a Stop/Start/Terminate answer.
func wantStateChange(t *testing.T, what string, got []ec2types.InstanceStateChange, id string, prev, cur ec2types.InstanceStateName) {
	t.Helper()
	if len(got) != 1 || aws.ToString(got[0].InstanceId) != id {
		t.Fatalf("%s: %+v", what, got)
	}
	if got[0].PreviousState.Name != prev || got[0].CurrentState.Name != cur {
		t.Errorf("%s: %s → %s, want %s → %s", what, got[0].PreviousState.Name, got[0].CurrentState.Name, prev, cur)
	}
}

func scenarioInstances(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	image := baseImage(t, c)
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("conf-one")}}},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: []ec2types.Tag{{Key: aws.String("disk"), Value: aws.String("root")}}},
		},
	})
	must(t, "RunInstances", err)
	in := out.Instances[0]
	id := aws.ToString(in.InstanceId)
	if !strings.HasPrefix(id, "i-") || aws.ToString(out.ReservationId) == "" || aws.ToString(out.OwnerId) != "123456789012" {
		t.Errorf("RunInstances: id %s, reservation %s, owner %s", id, aws.ToString(out.ReservationId), aws.ToString(out.OwnerId))
	}
	if in.State == nil || in.State.Name != ec2types.InstanceStateNamePending || aws.ToInt32(in.State.Code) != 0 {
		t.Errorf("RunInstances state = %+v, want pending (0)", in.State)
	}
	if aws.ToString(in.ImageId) != image || in.InstanceType != ec2types.InstanceTypeT3Micro {
		t.Errorf("RunInstances image %s type %s", aws.ToString(in.ImageId), in.InstanceType)
	}
	if tagsOf(in.Tags)["Name"] != "conf-one" {
		t.Errorf("RunInstances tags = %v", tagsOf(in.Tags))
	}

	on.advance(2 * time.Minute)
	got := instances(t, c, id)[id]
	if got.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(got.State.Code) != 16 {
		t.Errorf("state after boot = %+v", got.State)
	}
	if got.Placement == nil || !strings.HasPrefix(aws.ToString(got.Placement.AvailabilityZone), cfg.Region) {
		t.Errorf("placement = %+v", got.Placement)
	}
	if aws.ToString(got.SubnetId) == "" || aws.ToString(got.VpcId) == "" || aws.ToString(got.PrivateIpAddress) == "" {
		t.Errorf("network: subnet %q vpc %q ip %q", aws.ToString(got.SubnetId), aws.ToString(got.VpcId), aws.ToString(got.PrivateIpAddress))
	}
	if len(got.BlockDeviceMappings) == 0 || got.BlockDeviceMappings[0].Ebs == nil || !strings.HasPrefix(aws.ToString(got.BlockDeviceMappings[0].Ebs.VolumeId), "vol-") {
		t.Errorf("block devices = %+v", got.BlockDeviceMappings)
	}

	// Status checks pass some minutes after boot (moto: at once).
	on.advance(5 * time.Minute)
	status := func(all bool) []ec2types.InstanceStatus {
		t.Helper()
		out, err := c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(all)})
		must(t, "DescribeInstanceStatus", err)
		return out.InstanceStatuses
	}
	if st := status(false); len(st) != 1 || st[0].InstanceState.Name != ec2types.InstanceStateNameRunning ||
		st[0].InstanceStatus == nil || st[0].InstanceStatus.Status != ec2types.SummaryStatusOk || st[0].SystemStatus == nil || st[0].SystemStatus.Status != ec2types.SummaryStatusOk {
		t.Errorf("DescribeInstanceStatus of a running instance = %+v", st)
	}

	stop, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	must(t, "StopInstances", err)
	wantStateChange(t, "StopInstances", stop.StoppingInstances, id, ec2types.InstanceStateNameRunning, ec2types.InstanceStateNameStopping)
	on.advance(2 * time.Minute)
	// Only running instances have a status unless IncludeAllInstances.
	if st := status(false); len(st) != 0 {
		t.Errorf("DescribeInstanceStatus of a stopped instance = %+v", st)
	}
	if st := status(true); len(st) != 1 || st[0].InstanceState.Name != ec2types.InstanceStateNameStopped {
		t.Errorf("DescribeInstanceStatus IncludeAllInstances of a stopped instance = %+v", st)
	}
	if st := instances(t, c, id)[id].State; st.Name != ec2types.InstanceStateNameStopped || aws.ToInt32(st.Code) != 80 {
		t.Errorf("state after stop = %+v", st)
	}
	start, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	must(t, "StartInstances", err)
	wantStateChange(t, "StartInstances", start.StartingInstances, id, ec2types.InstanceStateNameStopped, ec2types.InstanceStateNamePending)
	on.advance(2 * time.Minute)
	if st := instances(t, c, id)[id].State; st.Name != ec2types.InstanceStateNameRunning {
		t.Errorf("state after start = %+v", st)
	}

	term, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	must(t, "TerminateInstances", err)
	wantStateChange(t, "TerminateInstances", term.TerminatingInstances, id, ec2types.InstanceStateNameRunning, ec2types.InstanceStateNameShuttingDown)
	on.advance(2 * time.Minute)
	// Terminated instances stay visible for a while.
	if st := instances(t, c, id)[id].State; st == nil || st.Name != ec2types.InstanceStateNameTerminated || aws.ToInt32(st.Code) != 48 {
		t.Errorf("state after terminate = %+v", st)
	}
	// Terminating a terminated instance succeeds. moto answers that it is
	// shutting down again; EC2 (and the simulator) that it is terminated.
	again, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	must(t, "TerminateInstances again", err)
	wantCur := ec2types.InstanceStateNameTerminated
	if on.moto {
		wantCur = ec2types.InstanceStateNameShuttingDown
	}
	wantStateChange(t, "TerminateInstances again", again.TerminatingInstances, id, ec2types.InstanceStateNameTerminated, wantCur)
}

func scenarioDescribeInstances(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	image := baseImage(t, c)
	web := runInstances(t, c, image, "conf-web", 7)
	db := runInstances(t, c, image, "conf-db", 2)
	on.advance(2 * time.Minute)
	_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{web[0]}})
	must(t, "StopInstances", err)
	on.advance(2 * time.Minute)

	count := func(in *ec2.DescribeInstancesInput) (ids []string, pages int) {
		t.Helper()
		p := ec2.NewDescribeInstancesPaginator(c, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			must(t, "DescribeInstances page", err)
			pages++
			for _, r := range out.Reservations {
				for _, in := range r.Instances {
					ids = append(ids, aws.ToString(in.InstanceId))
				}
			}
		}
		sort.Strings(ids)
		return ids, pages
	}
	byName := func(name string) []ec2types.Filter {
		return []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{name}}}
	}
	if ids, _ := count(&ec2.DescribeInstancesInput{Filters: byName("conf-db")}); !equalSorted(ids, db) {
		t.Errorf("tag:Name=conf-db gives %v, want %v", ids, db)
	}
	running, _ := count(&ec2.DescribeInstancesInput{Filters: append(byName("conf-web"),
		ec2types.Filter{Name: aws.String("instance-state-name"), Values: []string{"running"}})})
	if !equalSorted(running, web[1:]) {
		t.Errorf("running conf-web instances = %v, want %v", running, web[1:])
	}
	if ids, _ := count(&ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{web[2], db[1]}}}}); !equalSorted(ids, []string{web[2], db[1]}) {
		t.Errorf("instance-id filter gives %v", ids)
	}
	// Several values of one filter are ORed; filters are ANDed.
	ids, _ := count(&ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{"conf-web", "conf-db"}},
		{Name: aws.String("instance-state-name"), Values: []string{"stopped"}},
	}})
	if !equalSorted(ids, web[:1]) {
		t.Errorf("stopped conf-web/conf-db = %v, want %v", ids, web[:1])
	}
	if ids, _ := count(&ec2.DescribeInstancesInput{Filters: byName("nobody")}); len(ids) != 0 {
		t.Errorf("tag:Name=nobody gives %v", ids)
	}
	// Pagination: 9 instances, 5 per page.
	all, pages := count(&ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	if want := append(append([]string{}, web...), db...); !equalSorted(all, want) {
		t.Errorf("paginated listing = %v, want %v", all, want)
	}
	// moto ignores MaxResults on DescribeInstances: one page with all.
	wantPages := 2
	if on.moto {
		wantPages = 1
	}
	if pages != wantPages {
		t.Errorf("9 instances at 5 per page came in %d pages, want %d", pages, wantPages)
	}
	first, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	must(t, "DescribeInstances MaxResults=5", err)
	if n := len(first.Reservations); !on.moto && (aws.ToString(first.NextToken) == "" || n > 5) {
		t.Errorf("first page: %d reservations, NextToken %q", n, aws.ToString(first.NextToken))
	}
}

// equalSorted reports whether a and b hold the same strings.
func equalSorted(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, ",") == strings.Join(b, ",")
}

func scenarioInstanceErrors(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-0123456789abcdef0"}})
	wantCode(t, err, "InvalidSnapshot.NotFound")
	// moto does not tell malformed ids from unknown ones, and does not
	// check that the image of RunInstances exists.
	malformedInstance, malformedImage := "InvalidInstanceID.Malformed", "InvalidAMIID.Malformed"
	if on.moto {
		malformedInstance, malformedImage = "InvalidInstanceID.NotFound", "InvalidAMIID.NotFound"
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-123"}})
	wantCode(t, err, malformedInstance)
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-xyz"}})
	wantCode(t, err, malformedImage)
	if !on.moto {
		_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		wantCode(t, err, "InvalidAMIID.NotFound")
	}
}

func scenarioImages(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	id := runInstances(t, c, baseImage(t, c), "conf-builder", 1)[0]
	on.advance(2 * time.Minute)
	_, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	must(t, "StopInstances", err)
	on.advance(2 * time.Minute)

	name := "golden-conf (2026-01-05) v1"
	specs := []ec2types.TagSpecification{
		{ResourceType: ec2types.ResourceTypeImage, Tags: []ec2types.Tag{{Key: aws.String("amiswap:role"), Value: aws.String("golden-ami")}, {Key: aws.String("group"), Value: aws.String("conf")}}},
		{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{{Key: aws.String("amiswap:role"), Value: aws.String("golden-snapshot")}}},
	}
	if on.moto {
		// moto 5.2 raises NotImplementedError (HTTP 500) for snapshot tag
		// specifications on CreateImage: tag the image only.
		specs = specs[:1]
	}
	ci, err := c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(id), Name: aws.String(name), Description: aws.String("conformance"),
		TagSpecifications: specs,
	})
	must(t, "CreateImage", err)
	ami := aws.ToString(ci.ImageId)
	if !strings.HasPrefix(ami, "ami-") {
		t.Fatalf("ImageId = %s", ami)
	}
	on.advance(3 * time.Second) // past the simulator's consistency window
	im, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	must(t, "DescribeImages new image", err)
	if len(im.Images) != 1 {
		t.Fatalf("DescribeImages gives %d images", len(im.Images))
	}
	// moto completes images at once; the simulator, after minutes.
	wantState := ec2types.ImageStatePending
	if on.moto {
		wantState = ec2types.ImageStateAvailable
	}
	if im.Images[0].State != wantState {
		t.Errorf("new image state = %s, want %s", im.Images[0].State, wantState)
	}
	on.advance(30 * time.Minute)

	// AMI names are unique per account and region; moto does not check.
	if !on.moto {
		_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String(name)})
		wantCode(t, err, "InvalidAMIName.Duplicate")
	}

	im, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	must(t, "DescribeImages", err)
	img := im.Images[0]
	if img.State != ec2types.ImageStateAvailable || aws.ToString(img.Name) != name || aws.ToString(img.OwnerId) != "123456789012" {
		t.Errorf("image: state %s name %q owner %s", img.State, aws.ToString(img.Name), aws.ToString(img.OwnerId))
	}
	// CreationDate is ISO 8601 in UTC (cleanup sorts the strings).
	if _, err := time.Parse(time.RFC3339, aws.ToString(img.CreationDate)); err != nil || !strings.HasSuffix(aws.ToString(img.CreationDate), "Z") {
		t.Errorf("CreationDate %q: %v", aws.ToString(img.CreationDate), err)
	}
	// moto reports RootDeviceType "standard" for EBS-backed images.
	if aws.ToString(img.RootDeviceName) == "" || !on.moto && img.RootDeviceType != ec2types.DeviceTypeEbs || img.ImageType != ec2types.ImageTypeValuesMachine {
		t.Errorf("image root %q %s type %s", aws.ToString(img.RootDeviceName), img.RootDeviceType, img.ImageType)
	}
	if tags := tagsOf(img.Tags); tags["amiswap:role"] != "golden-ami" || tags["group"] != "conf" {
		t.Errorf("image tags = %v", tags)
	}
	var snaps []string
	for _, m := range img.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.Ebs.SnapshotId) != "" {
			snaps = append(snaps, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	if len(snaps) == 0 {
		t.Fatalf("image has no EBS snapshots: %+v", img.BlockDeviceMappings)
	}
	ss, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	must(t, "DescribeSnapshots", err)
	if len(ss.Snapshots) != len(snaps) {
		t.Fatalf("DescribeSnapshots gives %d of %d", len(ss.Snapshots), len(snaps))
	}
	for _, s := range ss.Snapshots {
		if !on.moto && tagsOf(s.Tags)["amiswap:role"] != "golden-snapshot" {
			t.Errorf("snapshot %s tags = %v", aws.ToString(s.SnapshotId), tagsOf(s.Tags))
		}
		if s.State != ec2types.SnapshotStateCompleted || aws.ToString(s.OwnerId) != "123456789012" {
			t.Errorf("snapshot %s state %s owner %s", aws.ToString(s.SnapshotId), s.State, aws.ToString(s.OwnerId))
		}
	}

	// Owners, name and tag filters.
	find := func(in *ec2.DescribeImagesInput) []string {
		t.Helper()
		out, err := c.DescribeImages(ctx, in)
		must(t, "DescribeImages", err)
		var ids []string
		for _, im := range out.Images {
			ids = append(ids, aws.ToString(im.ImageId))
		}
		return ids
	}
	if ids := find(&ec2.DescribeImagesInput{Owners: []string{"self"}}); !equalSorted(ids, []string{ami}) {
		t.Errorf("Owners=self gives %v", ids)
	}
	if ids := find(&ec2.DescribeImagesInput{Owners: []string{"123456789012"}}); !equalSorted(ids, []string{ami}) {
		t.Errorf("Owners=<account> gives %v", ids)
	}
	if ids := find(&ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"golden-conf*"}}}}); !equalSorted(ids, []string{ami}) {
		t.Errorf("name=golden-conf* gives %v", ids)
	}
	if ids := find(&ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:amiswap:role"), Values: []string{"golden-ami"}}}}); !equalSorted(ids, []string{ami}) {
		t.Errorf("tag:amiswap:role=golden-ami gives %v", ids)
	}
	if ids := find(&ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("tag:group"), Values: []string{"other"}}}}); len(ids) != 0 {
		t.Errorf("tag:group=other gives %v", ids)
	}
	// Public Windows images: platform "windows" in lower case.
	win, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{{Name: aws.String("platform"), Values: []string{"windows"}}}})
	must(t, "DescribeImages platform=windows", err)
	if len(win.Images) == 0 {
		t.Error("no public Windows image")
	}
	for _, im := range win.Images {
		if im.Platform != "windows" || aws.ToString(im.ImageId) == ami || aws.ToString(im.OwnerId) == "123456789012" {
			t.Errorf("platform=windows gives %s platform %q owner %s", aws.ToString(im.ImageId), im.Platform, aws.ToString(im.OwnerId))
		}
	}

	// A snapshot in use by a registered image cannot be deleted.
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snaps[0])})
	wantCode(t, err, "InvalidSnapshot.InUse")

	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ami)})
	must(t, "DeregisterImage", err)
	if ids := find(&ec2.DescribeImagesInput{Owners: []string{"self"}}); len(ids) != 0 {
		t.Errorf("Owners=self after deregistering gives %v", ids)
	}
	// Deregistering leaves the snapshots.
	ss, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps})
	must(t, "DescribeSnapshots after DeregisterImage", err)
	if len(ss.Snapshots) != len(snaps) {
		t.Errorf("%d of %d snapshots left after DeregisterImage", len(ss.Snapshots), len(snaps))
	}
	for _, s := range snaps {
		_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(s)})
		must(t, "DeleteSnapshot", err)
	}
	_, err = c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: snaps[:1]})
	wantCode(t, err, "InvalidSnapshot.NotFound")
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snaps[0])})
	wantCode(t, err, "InvalidSnapshot.NotFound")
}

func scenarioTags(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	id := runInstances(t, c, baseImage(t, c), "conf-tags", 1)[0]
	on.advance(time.Minute)
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{
		{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("owner"), Value: aws.String("amiswap")}, {Key: aws.String("empty"), Value: aws.String("")},
	}})
	must(t, "CreateTags", err)
	// CreateTags overwrites a value.
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	must(t, "CreateTags overwrite", err)

	describe := func() map[string]string {
		t.Helper()
		out, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
		must(t, "DescribeTags", err)
		m := map[string]string{}
		for _, d := range out.Tags {
			if aws.ToString(d.ResourceId) != id || d.ResourceType != ec2types.ResourceTypeInstance {
				t.Errorf("tag %+v", d)
			}
			m[aws.ToString(d.Key)] = aws.ToString(d.Value)
		}
		return m
	}
	want := map[string]string{"Name": "conf-tags", "team": "conf", "env": "prod", "owner": "amiswap", "empty": ""}
	if got := describe(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	keyFilter, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{id}}, {Name: aws.String("key"), Values: []string{"owner"}},
	}})
	must(t, "DescribeTags key filter", err)
	if len(keyFilter.Tags) != 1 || aws.ToString(keyFilter.Tags[0].Value) != "amiswap" {
		t.Errorf("key=owner gives %+v", keyFilter.Tags)
	}

	// DeleteTags: a key alone deletes whatever value; key and value delete
	// only on a match.
	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{
		{Key: aws.String("owner")}, {Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("team"), Value: aws.String("conf")},
	}})
	must(t, "DeleteTags", err)
	want = map[string]string{"Name": "conf-tags", "env": "prod", "empty": ""}
	if got := describe(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags after DeleteTags = %v, want %v", got, want)
	}
	if got := tagsOf(instances(t, c, id)[id].Tags); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DescribeInstances tags = %v, want %v", got, want)
	}
}

func scenarioLaunchTemplates(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	image := baseImage(t, c)
	created, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("conf-web"),
		VersionDescription: aws.String("first"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeM5Large,
			TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String("app"), Value: aws.String("web")}}}},
		},
	})
	must(t, "CreateLaunchTemplate", err)
	lt := created.LaunchTemplate
	ltID := aws.ToString(lt.LaunchTemplateId)
	if !strings.HasPrefix(ltID, "lt-") || aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || aws.ToString(lt.LaunchTemplateName) != "conf-web" {
		t.Errorf("CreateLaunchTemplate = %+v", lt)
	}
	_, err = c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("conf-web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)},
	})
	wantCode(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")

	// Version 2 from version 1: only the image changes.
	v2, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("1"), VersionDescription: aws.String("golden"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-0aaaaaaaaaaaaaaa2")},
	})
	must(t, "CreateLaunchTemplateVersion", err)
	if v := v2.LaunchTemplateVersion; aws.ToInt64(v.VersionNumber) != 2 || aws.ToBool(v.DefaultVersion) || aws.ToString(v.LaunchTemplateId) != ltID {
		t.Errorf("new version = number %d default %v lt %s", aws.ToInt64(v.VersionNumber), aws.ToBool(v.DefaultVersion), aws.ToString(v.LaunchTemplateId))
	}
	// moto ignores SourceVersion: a new version holds only the data given.
	inherits := !on.moto
	if d := v2.LaunchTemplateVersion.LaunchTemplateData; d == nil || aws.ToString(d.ImageId) != "ami-0aaaaaaaaaaaaaaa2" || inherits && d.InstanceType != ec2types.InstanceTypeM5Large {
		t.Errorf("version 2 data = %+v, want the new image and the inherited instance type", d)
	}
	// By name, from $Latest, a third version.
	_, err = c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String("conf-web"), SourceVersion: aws.String("$Latest"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{InstanceType: ec2types.InstanceTypeM5Xlarge},
	})
	must(t, "CreateLaunchTemplateVersion by name", err)

	versions := func(vs ...string) map[int64]*ec2types.ResponseLaunchTemplateData {
		t.Helper()
		out, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: vs})
		must(t, "DescribeLaunchTemplateVersions "+strings.Join(vs, ","), err)
		m := map[int64]*ec2types.ResponseLaunchTemplateData{}
		for _, v := range out.LaunchTemplateVersions {
			m[aws.ToInt64(v.VersionNumber)] = v.LaunchTemplateData
		}
		return m
	}
	if got := versions("$Latest"); len(got) != 1 || got[3] == nil || got[3].InstanceType != ec2types.InstanceTypeM5Xlarge || inherits && aws.ToString(got[3].ImageId) != "ami-0aaaaaaaaaaaaaaa2" {
		t.Errorf("$Latest = %v", keysOf(got))
	}
	if got := versions("$Default"); len(got) != 1 || got[1] == nil || aws.ToString(got[1].ImageId) != image {
		t.Errorf("$Default = %v", keysOf(got))
	}
	if got := versions("1", "2"); len(got) != 2 || got[1] == nil || got[2] == nil {
		t.Errorf("versions 1,2 = %v", keysOf(got))
	}
	if got := versions(); len(got) != 3 {
		t.Errorf("all versions = %v", keysOf(got))
	}
	if d := versions("3")[3]; d == nil || inherits && (len(d.TagSpecifications) != 1 || tagsOf(d.TagSpecifications[0].Tags)["app"] != "web") {
		t.Errorf("version 3 did not inherit the tag specifications: %+v", d)
	}

	mod, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(ltID), DefaultVersion: aws.String("2")})
	must(t, "ModifyLaunchTemplate", err)
	if aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber) != 2 {
		t.Errorf("ModifyLaunchTemplate default = %d", aws.ToInt64(mod.LaunchTemplate.DefaultVersionNumber))
	}
	if got := versions("$Default"); len(got) != 1 || got[2] == nil {
		t.Errorf("$Default after modify = %v", keysOf(got))
	}
	all, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID)})
	must(t, "DescribeLaunchTemplateVersions", err)
	for _, v := range all.LaunchTemplateVersions {
		if n := aws.ToInt64(v.VersionNumber); aws.ToBool(v.DefaultVersion) != (n == 2) {
			t.Errorf("version %d DefaultVersion = %v", n, aws.ToBool(v.DefaultVersion))
		}
		if v.CreateTime == nil || aws.ToString(v.LaunchTemplateName) != "conf-web" {
			t.Errorf("version %d: CreateTime %v name %q", aws.ToInt64(v.VersionNumber), v.CreateTime, aws.ToString(v.LaunchTemplateName))
		}
	}
	desc, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"conf-web"}})
	must(t, "DescribeLaunchTemplates", err)
	if len(desc.LaunchTemplates) != 1 || aws.ToInt64(desc.LaunchTemplates[0].DefaultVersionNumber) != 2 || aws.ToInt64(desc.LaunchTemplates[0].LatestVersionNumber) != 3 {
		t.Errorf("DescribeLaunchTemplates = %+v", desc.LaunchTemplates)
	}
	byID, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{ltID}})
	must(t, "DescribeLaunchTemplates by id", err)
	if len(byID.LaunchTemplates) != 1 || aws.ToString(byID.LaunchTemplates[0].LaunchTemplateName) != "conf-web" {
		t.Errorf("DescribeLaunchTemplates by id = %+v", byID.LaunchTemplates)
	}

	// Errors: unknown template by name and id, unknown version.
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"nope"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	_, err = c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0")})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	_, err = c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: []string{"9"}})
	wantCode(t, err, "InvalidLaunchTemplateId.VersionNotFound")
}

// keysOf lists a version map's numbers, for messages.
func keysOf(m map[int64]*ec2types.ResponseLaunchTemplateData) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// subnets returns two default subnets as a VPCZoneIdentifier.
func subnets(t *testing.T, c *ec2.Client) string {
	t.Helper()
	out, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{})
	must(t, "DescribeSubnets", err)
	if len(out.Subnets) < 2 {
		t.Fatalf("%d subnets", len(out.Subnets))
	}
	return aws.ToString(out.Subnets[0].SubnetId) + "," + aws.ToString(out.Subnets[1].SubnetId)
}

// newLaunchTemplate creates a launch template of the base image and returns
// its id.
func newLaunchTemplate(t *testing.T, c *ec2.Client, name string) string {
	t.Helper()
	out, err := c.CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(baseImage(t, c)), InstanceType: ec2types.InstanceTypeT3Micro},
	})
	must(t, "CreateLaunchTemplate", err)
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

// group describes one group, failing the test when it is not there.
func group(t *testing.T, c *autoscaling.Client, name string) asgtypes.AutoScalingGroup {
	t.Helper()
	out, err := c.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	must(t, "DescribeAutoScalingGroups", err)
	if len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups %s gives %d groups", name, len(out.AutoScalingGroups))
	}
	return out.AutoScalingGroups[0]
}

// liveInstances counts a group's instances that are not leaving it.
func liveInstances(g asgtypes.AutoScalingGroup) []asgtypes.Instance {
	var out []asgtypes.Instance
	for _, in := range g.Instances {
		switch in.LifecycleState {
		case asgtypes.LifecycleStateTerminating, asgtypes.LifecycleStateTerminatingWait, asgtypes.LifecycleStateTerminatingProceed, asgtypes.LifecycleStateTerminated:
		default:
			out = append(out, in)
		}
	}
	return out
}

func scenarioGroups(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	e, c := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	ltID := newLaunchTemplate(t, e, "conf-asg-lt")
	_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("conf-asg"),
		LaunchTemplate:       &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltID), Version: aws.String("$Default")},
		MinSize:              aws.Int32(1), MaxSize: aws.Int32(3), DesiredCapacity: aws.Int32(2),
		VPCZoneIdentifier: aws.String(subnets(t, e)),
		Tags: []asgtypes.Tag{
			{Key: aws.String("amiswap:enabled"), Value: aws.String("true"), PropagateAtLaunch: aws.Bool(true)},
			{Key: aws.String("cost-center"), Value: aws.String("42"), PropagateAtLaunch: aws.Bool(false)},
		},
	})
	must(t, "CreateAutoScalingGroup", err)
	on.advance(5 * time.Minute)

	g := group(t, c, "conf-asg")
	if aws.ToInt32(g.MinSize) != 1 || aws.ToInt32(g.MaxSize) != 3 || aws.ToInt32(g.DesiredCapacity) != 2 {
		t.Errorf("sizes %d/%d/%d", aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity))
	}
	if !strings.HasPrefix(aws.ToString(g.AutoScalingGroupARN), "arn:aws:autoscaling:"+cfg.Region+":123456789012:autoScalingGroup:") {
		t.Errorf("ARN = %s", aws.ToString(g.AutoScalingGroupARN))
	}
	if lt := g.LaunchTemplate; lt == nil || aws.ToString(lt.LaunchTemplateId) != ltID || aws.ToString(lt.LaunchTemplateName) != "conf-asg-lt" || aws.ToString(lt.Version) != "$Default" {
		t.Errorf("LaunchTemplate = %+v", g.LaunchTemplate)
	}
	if g.MixedInstancesPolicy != nil || len(g.AvailabilityZones) == 0 {
		t.Errorf("MixedInstancesPolicy %+v, zones %v", g.MixedInstancesPolicy, g.AvailabilityZones)
	}
	ins := liveInstances(g)
	if len(ins) != 2 {
		t.Fatalf("group has %d instances, want 2", len(ins))
	}
	var ids []string
	for _, in := range ins {
		ids = append(ids, aws.ToString(in.InstanceId))
		if in.LifecycleState != asgtypes.LifecycleStateInService || aws.ToString(in.HealthStatus) != "Healthy" {
			t.Errorf("instance %s: %s %s", aws.ToString(in.InstanceId), in.LifecycleState, aws.ToString(in.HealthStatus))
		}
		if in.LaunchTemplate == nil || aws.ToString(in.LaunchTemplate.LaunchTemplateId) != ltID || aws.ToString(in.LaunchTemplate.Version) != "1" {
			t.Errorf("instance %s launch template %+v, want version 1", aws.ToString(in.InstanceId), in.LaunchTemplate)
		}
	}
	// Group instances carry aws:autoscaling:groupName and the propagated
	// tags, not the others.
	byGroup, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"conf-asg"}}}})
	must(t, "DescribeInstances by group tag", err)
	var tagged []string
	for _, r := range byGroup.Reservations {
		for _, in := range r.Instances {
			tagged = append(tagged, aws.ToString(in.InstanceId))
			tags := tagsOf(in.Tags)
			if tags["amiswap:enabled"] != "true" || tags["cost-center"] != "" {
				t.Errorf("instance %s tags = %v", aws.ToString(in.InstanceId), tags)
			}
			if aws.ToString(in.ImageId) == "" || in.InstanceType != ec2types.InstanceTypeT3Micro {
				t.Errorf("instance %s image %s type %s", aws.ToString(in.InstanceId), aws.ToString(in.ImageId), in.InstanceType)
			}
		}
	}
	if !equalSorted(tagged, ids) {
		t.Errorf("instances tagged with the group = %v, group lists %v", tagged, ids)
	}
	ai, err := c.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
	must(t, "DescribeAutoScalingInstances", err)
	if len(ai.AutoScalingInstances) != 2 {
		t.Errorf("DescribeAutoScalingInstances gives %d", len(ai.AutoScalingInstances))
	}
	for _, in := range ai.AutoScalingInstances {
		if aws.ToString(in.AutoScalingGroupName) != "conf-asg" || aws.ToString(in.LifecycleState) != "InService" {
			t.Errorf("autoscaling instance %+v", in)
		}
	}

	// A new launch template version, named by number.
	_, err = e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("1"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(baseImage(t, e)), InstanceType: ec2types.InstanceTypeT3Small},
	})
	must(t, "CreateLaunchTemplateVersion", err)
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("conf-asg"),
		LaunchTemplate:       &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltID), Version: aws.String("2")},
	})
	must(t, "UpdateAutoScalingGroup launch template", err)
	if lt := group(t, c, "conf-asg").LaunchTemplate; lt == nil || aws.ToString(lt.Version) != "2" {
		t.Errorf("LaunchTemplate after update = %+v", lt)
	}

	// MaxSize below the current size without DesiredCapacity: the desired
	// capacity follows it down and the group scales in.
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"), MaxSize: aws.Int32(1)})
	must(t, "UpdateAutoScalingGroup MaxSize", err)
	on.advance(5 * time.Minute)
	g = group(t, c, "conf-asg")
	if aws.ToInt32(g.MaxSize) != 1 || aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Errorf("after MaxSize=1: max %d desired %d", aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity))
	}
	if n := len(liveInstances(g)); n != 1 {
		t.Errorf("after MaxSize=1 the group has %d instances", n)
	}
	// DesiredCapacity above MaxSize is refused (moto accepts it).
	if !on.moto {
		_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"), DesiredCapacity: aws.Int32(3)})
		wantCode(t, err, "ValidationError")
	}

	_, err = c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-asg"), ForceDelete: aws.Bool(true)})
	must(t, "DeleteAutoScalingGroup", err)
	on.advance(10 * time.Minute)
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"conf-asg"}})
	must(t, "DescribeAutoScalingGroups after delete", err)
	if len(out.AutoScalingGroups) != 0 {
		t.Errorf("deleted group still listed: %+v", out.AutoScalingGroups[0].Status)
	}
}

func scenarioMixedGroup(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	e, c := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	newLaunchTemplate(t, e, "conf-mixed-lt")
	zones := subnets(t, e)
	policy := &asgtypes.MixedInstancesPolicy{
		LaunchTemplate: &asgtypes.LaunchTemplate{
			LaunchTemplateSpecification: &asgtypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("conf-mixed-lt"), Version: aws.String("$Latest")},
			Overrides:                   []asgtypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.micro")}, {InstanceType: aws.String("t3.small")}},
		},
	}
	_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("conf-mixed"), MixedInstancesPolicy: policy,
		MinSize: aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(1), VPCZoneIdentifier: aws.String(zones),
	})
	must(t, "CreateAutoScalingGroup mixed", err)
	on.advance(5 * time.Minute)
	g := group(t, c, "conf-mixed")
	if g.LaunchTemplate != nil {
		t.Errorf("mixed group has LaunchTemplate %+v", g.LaunchTemplate)
	}
	mp := g.MixedInstancesPolicy
	if mp == nil || mp.LaunchTemplate == nil || mp.LaunchTemplate.LaunchTemplateSpecification == nil {
		t.Fatalf("MixedInstancesPolicy = %+v", mp)
	}
	if spec := mp.LaunchTemplate.LaunchTemplateSpecification; aws.ToString(spec.LaunchTemplateName) != "conf-mixed-lt" || aws.ToString(spec.Version) != "$Latest" || !strings.HasPrefix(aws.ToString(spec.LaunchTemplateId), "lt-") {
		t.Errorf("policy launch template = %+v", spec)
	}
	if len(mp.LaunchTemplate.Overrides) != 2 || aws.ToString(mp.LaunchTemplate.Overrides[1].InstanceType) != "t3.small" {
		t.Errorf("overrides = %+v", mp.LaunchTemplate.Overrides)
	}
	if n := len(liveInstances(g)); n != 1 {
		t.Errorf("mixed group has %d instances, want 1", n)
	}
	// The policy's version is updated the same way.
	policy.LaunchTemplate.LaunchTemplateSpecification.Version = aws.String("1")
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("conf-mixed"), MixedInstancesPolicy: policy})
	must(t, "UpdateAutoScalingGroup mixed", err)
	if mp := group(t, c, "conf-mixed").MixedInstancesPolicy; mp == nil || aws.ToString(mp.LaunchTemplate.LaunchTemplateSpecification.Version) != "1" {
		t.Errorf("policy after update = %+v", mp)
	}

	// Errors. moto lets a second CreateAutoScalingGroup replace a group of
	// the same name.
	if !on.moto {
		_, err = c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("conf-mixed"), MixedInstancesPolicy: policy,
			MinSize: aws.Int32(0), MaxSize: aws.Int32(2), VPCZoneIdentifier: aws.String(zones),
		})
		wantCode(t, err, "AlreadyExists")
	}
	_, err = c.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope"), MaxSize: aws.Int32(1)})
	wantCode(t, err, "ValidationError")
	out, err := c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"nope"}})
	must(t, "DescribeAutoScalingGroups unknown", err)
	if len(out.AutoScalingGroups) != 0 {
		t.Errorf("unknown group described: %+v", out.AutoScalingGroups)
	}
	_, err = c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("conf-none"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), VPCZoneIdentifier: aws.String(zones),
	})
	wantCode(t, err, "ValidationError")
}

func scenarioGroupTags(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	e, c := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg)
	ltID := newLaunchTemplate(t, e, "conf-tags-lt")
	_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("conf-tagged"),
		LaunchTemplate:       &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltID)},
		MinSize:              aws.Int32(0), MaxSize: aws.Int32(2), DesiredCapacity: aws.Int32(0), VPCZoneIdentifier: aws.String(subnets(t, e)),
		Tags: []asgtypes.Tag{{Key: aws.String("amiswap:enabled"), Value: aws.String("true")}},
	})
	must(t, "CreateAutoScalingGroup", err)
	tag := func(k, v string) asgtypes.Tag {
		return asgtypes.Tag{ResourceId: aws.String("conf-tagged"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String(k), Value: aws.String(v), PropagateAtLaunch: aws.Bool(false)}
	}
	_, err = c.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: []asgtypes.Tag{tag("amiswap:original-max-size", "2"), tag("amiswap:enabled", "false")}})
	must(t, "CreateOrUpdateTags", err)
	describe := func() map[string]string {
		t.Helper()
		out, err := c.DescribeTags(ctx, &autoscaling.DescribeTagsInput{Filters: []asgtypes.Filter{{Name: aws.String("auto-scaling-group"), Values: []string{"conf-tagged"}}}})
		must(t, "DescribeTags", err)
		m := map[string]string{}
		for _, tg := range out.Tags {
			if aws.ToString(tg.ResourceId) != "conf-tagged" || aws.ToString(tg.ResourceType) != "auto-scaling-group" {
				t.Errorf("tag %+v", tg)
			}
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if got, want := describe(), map[string]string{"amiswap:enabled": "false", "amiswap:original-max-size": "2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags = %v, want %v", got, want)
	}
	gtags := map[string]string{}
	for _, tg := range group(t, c, "conf-tagged").Tags {
		gtags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if gtags["amiswap:original-max-size"] != "2" || gtags["amiswap:enabled"] != "false" {
		t.Errorf("group tags = %v", gtags)
	}
	_, err = c.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: []asgtypes.Tag{{ResourceId: aws.String("conf-tagged"), ResourceType: aws.String("auto-scaling-group"), Key: aws.String("amiswap:original-max-size")}}})
	must(t, "DeleteTags", err)
	if got, want := describe(), map[string]string{"amiswap:enabled": "false"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tags after DeleteTags = %v, want %v", got, want)
	}
}

func scenarioCommands(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	e, c := ec2.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	id := runInstances(t, e, baseImage(t, e), "conf-ssm", 1)[0]
	// Before its agent is online an instance is not a valid target; moto
	// has no agents and takes any instance at once.
	early, err := c.SendCommand(ctx, &ssm.SendCommandInput{InstanceIds: []string{id}, DocumentName: aws.String("AWS-RunShellScript"), Parameters: map[string][]string{"commands": {"true"}}})
	if on.moto {
		must(t, "SendCommand to a booting instance", err)
		cid := aws.ToString(early.Command.CommandId)
		got, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cid), InstanceId: aws.String(id)})
		must(t, "GetCommandInvocation just after SendCommand", err)
		if got.Status != ssmtypes.CommandInvocationStatusSuccess {
			t.Errorf("moto invocation just after SendCommand = %s", got.Status)
		}
	} else {
		wantCode(t, err, "InvalidInstanceId")
	}
	on.advance(5 * time.Minute) // the simulator's agent comes online after boot
	sent, err := c.SendCommand(ctx, &ssm.SendCommandInput{
		InstanceIds: []string{id}, DocumentName: aws.String("AWS-RunShellScript"),
		Parameters: map[string][]string{"commands": {"cloud-init clean", "truncate -s 0 /etc/machine-id"}},
		Comment:    aws.String("amiswap generalize"), TimeoutSeconds: aws.Int32(600),
	})
	must(t, "SendCommand", err)
	cmd := sent.Command
	cid := aws.ToString(cmd.CommandId)
	if cid == "" || aws.ToString(cmd.DocumentName) != "AWS-RunShellScript" || aws.ToString(cmd.Comment) != "amiswap generalize" || len(cmd.InstanceIds) != 1 || cmd.InstanceIds[0] != id {
		t.Errorf("SendCommand = %+v", cmd)
	}
	if p := cmd.Parameters["commands"]; len(p) != 2 || p[0] != "cloud-init clean" {
		t.Errorf("command parameters = %v", cmd.Parameters)
	}
	// moto finishes commands at once; the simulator runs the script for a
	// while, and may first answer InvocationDoesNotExist.
	if !on.moto {
		inv, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cid), InstanceId: aws.String(id)})
		if err != nil {
			wantCode(t, err, "InvocationDoesNotExist")
		} else if s := inv.Status; s != ssmtypes.CommandInvocationStatusPending && s != ssmtypes.CommandInvocationStatusInProgress {
			t.Errorf("simulator invocation just after SendCommand = %s", s)
		}
	}
	on.advance(2 * time.Minute)
	inv, err := c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cid), InstanceId: aws.String(id)})
	must(t, "GetCommandInvocation", err)
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(inv.CommandId) != cid || aws.ToString(inv.InstanceId) != id || aws.ToString(inv.DocumentName) != "AWS-RunShellScript" {
		t.Errorf("invocation: status %s command %s instance %s document %s", inv.Status, aws.ToString(inv.CommandId), aws.ToString(inv.InstanceId), aws.ToString(inv.DocumentName))
	}
	if inv.ResponseCode != 0 {
		t.Errorf("ResponseCode = %d", inv.ResponseCode)
	}
	cmds, err := c.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(cid)})
	must(t, "ListCommands", err)
	if len(cmds.Commands) != 1 || cmds.Commands[0].Status != ssmtypes.CommandStatusSuccess || aws.ToString(cmds.Commands[0].DocumentName) != "AWS-RunShellScript" {
		t.Errorf("ListCommands = %+v", cmds.Commands)
	}
	// A command that was not sent to that instance has no invocation.
	_, err = c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(cid), InstanceId: aws.String("i-0123456789abcdef0")})
	wantCode(t, err, "InvocationDoesNotExist")
	// An unknown command: the simulator answers InvocationDoesNotExist,
	// moto InvalidCommandId (both are documented for GetCommandInvocation).
	unknown := "InvocationDoesNotExist"
	if on.moto {
		unknown = "InvalidCommandId"
	}
	_, err = c.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String("11111111-2222-3333-4444-555555555555"), InstanceId: aws.String(id)})
	wantCode(t, err, unknown)
	if on.moto {
		// moto 5.2 does not implement ListCommandInvocations (HTTP 500).
		return
	}
	list, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(cid), Details: true})
	must(t, "ListCommandInvocations", err)
	if len(list.CommandInvocations) != 1 {
		t.Fatalf("ListCommandInvocations gives %d", len(list.CommandInvocations))
	}
	if ci := list.CommandInvocations[0]; aws.ToString(ci.InstanceId) != id || ci.Status != ssmtypes.CommandInvocationStatusSuccess || aws.ToString(ci.DocumentName) != "AWS-RunShellScript" {
		t.Errorf("listed invocation = %+v", ci)
	}
	byInstance, err := c.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{InstanceId: aws.String(id)})
	must(t, "ListCommandInvocations by instance", err)
	if len(byInstance.CommandInvocations) != 1 || aws.ToString(byInstance.CommandInvocations[0].CommandId) != cid {
		t.Errorf("invocations on %s = %+v", id, byInstance.CommandInvocations)
	}
}

// crcRecorder notes DynamoDB responses that come without the X-Amz-Crc32
// header, which AWS puts on every DynamoDB response, errors included.
type crcRecorder struct {
	next    aws.HTTPClient
	missing []string
}

func (c *crcRecorder) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	if err == nil && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.") && resp.Header.Get("X-Amz-Crc32") == "" {
		c.missing = append(c.missing, fmt.Sprintf("%s (HTTP %d)", strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810."), resp.StatusCode))
	}
	return resp, err
}

func scenarioDynamoDBChecksums(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	rec := &crcRecorder{next: cfg.HTTPClient}
	if rec.next == nil {
		rec.next = http.DefaultClient
	}
	cfg.HTTPClient = rec
	c := dynamodb.NewFromConfig(cfg)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("amiswap-crc"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	must(t, "CreateTable", err)
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")})
	wantCode(t, err, "ResourceNotFoundException")
	item := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("amiswap-crc"), Item: item})
	must(t, "PutItem", err)
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("amiswap-crc"), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	wantCode(t, err, "ConditionalCheckFailedException")
	// Without the header the SDK's validator fails on close ("response did
	// not match expected checksum, 0, …") and drops the connection.
	if len(rec.missing) > 0 {
		t.Errorf("responses without X-Amz-Crc32: %s", strings.Join(rec.missing, ", "))
	}
}

func scenarioDefaultNetwork(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	must(t, "DescribeVpcs", err)
	if len(vpcs.Vpcs) != 1 || !aws.ToBool(vpcs.Vpcs[0].IsDefault) || !strings.HasPrefix(aws.ToString(vpcs.Vpcs[0].VpcId), "vpc-") {
		t.Fatalf("default VPCs = %+v", vpcs.Vpcs)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	must(t, "DescribeSubnets", err)
	zones := map[string]bool{}
	for _, sn := range subnets.Subnets {
		if aws.ToString(sn.VpcId) != vpc || !aws.ToBool(sn.DefaultForAz) || !strings.HasPrefix(aws.ToString(sn.AvailabilityZone), cfg.Region) {
			t.Errorf("subnet %s: vpc %s default-for-az %v zone %s", aws.ToString(sn.SubnetId), aws.ToString(sn.VpcId), aws.ToBool(sn.DefaultForAz), aws.ToString(sn.AvailabilityZone))
		}
		zones[aws.ToString(sn.AvailabilityZone)] = true
	}
	if len(zones) < 3 {
		t.Errorf("default subnets in %d zones, want at least 3", len(zones))
	}
	byID, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(subnets.Subnets[0].SubnetId)}})
	must(t, "DescribeSubnets by id", err)
	if len(byID.Subnets) != 1 {
		t.Errorf("DescribeSubnets by id gives %d", len(byID.Subnets))
	}
	sgs, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{"default"}},
	}})
	must(t, "DescribeSecurityGroups", err)
	if len(sgs.SecurityGroups) != 1 || !strings.HasPrefix(aws.ToString(sgs.SecurityGroups[0].GroupId), "sg-") || aws.ToString(sgs.SecurityGroups[0].VpcId) != vpc {
		t.Errorf("default security group = %+v", sgs.SecurityGroups)
	}
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
	wantCode(t, err, "InvalidSubnetID.NotFound")
}

func scenarioWindows(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	win, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{
		{Name: aws.String("platform"), Values: []string{"windows"}}, {Name: aws.String("name"), Values: []string{"Windows_Server-*"}},
	}})
	must(t, "DescribeImages platform=windows", err)
	if len(win.Images) == 0 {
		t.Fatal("no public Windows Server image")
	}
	base := aws.ToString(win.Images[0].ImageId)
	id := runInstances(t, c, base, "conf-win", 1)[0]
	on.advance(2 * time.Minute)
	in := instances(t, c, id)[id]
	// EC2 writes the platform in lower case, unlike the SDK's enum.
	if in.Platform != "windows" {
		t.Errorf("instance Platform = %q, want windows", in.Platform)
	}
	ci, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("conf-win-image")})
	must(t, "CreateImage", err)
	on.advance(30 * time.Minute)
	im, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(ci.ImageId)}})
	must(t, "DescribeImages", err)
	if len(im.Images) != 1 || im.Images[0].Platform != "windows" {
		t.Errorf("image of a Windows instance: %+v", im.Images)
	}
}

func scenarioMoreErrors(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := ec2.NewFromConfig(cfg)
	image := baseImage(t, c)
	lt, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("conf-errors"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image)},
	})
	must(t, "CreateLaunchTemplate", err)
	ltID := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	// Versions by the template's name.
	byName, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("conf-errors"), Versions: []string{"$Latest"}})
	must(t, "DescribeLaunchTemplateVersions by name", err)
	if len(byName.LaunchTemplateVersions) != 1 || aws.ToString(byName.LaunchTemplateVersions[0].LaunchTemplateId) != ltID || aws.ToString(byName.LaunchTemplateVersions[0].LaunchTemplateName) != "conf-errors" {
		t.Errorf("versions by name = %+v", byName.LaunchTemplateVersions)
	}
	_, err = c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("nope"), Versions: []string{"$Latest"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")

	// Deregistered images are gone from DescribeImages by id.
	id := runInstances(t, c, image, "conf-errors", 1)[0]
	on.advance(2 * time.Minute)
	ci, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("conf-errors-image")})
	must(t, "CreateImage", err)
	ami := aws.ToString(ci.ImageId)
	on.advance(30 * time.Minute)
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ami)})
	must(t, "DeregisterImage", err)
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil {
		wantCode(t, err, "InvalidAMIID.NotFound")
	} else if len(out.Images) != 0 {
		t.Errorf("DescribeImages of a deregistered image = %s", out.Images[0].State)
	}
	// Deregistering it again fails: the simulator answers NotFound, moto
	// InvalidAMIID.Unavailable (EC2 documents both for a deregistered
	// image; cleanup accepts both).
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(ami)})
	if on.moto {
		wantCode(t, err, "InvalidAMIID.Unavailable")
	} else {
		wantCode(t, err, "InvalidAMIID.NotFound")
	}

	// CreateImage of an unknown instance; tags on an unknown instance.
	_, err = c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String("i-0123456789abcdef0"), Name: aws.String("conf-nothing")})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	// moto tags ids that do not exist.
	if !on.moto {
		_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		wantCode(t, err, "InvalidInstanceID.NotFound")
	}
	_, err = c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String("snap-0123456789abcdef0")})
	wantCode(t, err, "InvalidSnapshot.NotFound")
	// An unknown template id: moto answers with the by-name code.
	_, err = c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0"), DefaultVersion: aws.String("1")})
	if on.moto {
		wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	} else {
		wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
	}
}

// scenarioParametersAndDocuments compares Parameter Store (text and
// aws:ec2:image parameters, versions, history, errors) and Command
// documents (CreateDocument, DescribeDocument, DeleteDocument).
func scenarioParametersAndDocuments(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	e, c := ec2.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	put := func(name, value, dataType string, overwrite bool) (*ssm.PutParameterOutput, error) {
		return c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeString, DataType: aws.String(dataType), Overwrite: aws.Bool(overwrite)})
	}
	out, err := put("/conf/plain", "one", "text", false)
	must(t, "PutParameter", err)
	if out.Version != 1 {
		t.Errorf("first version = %d", out.Version)
	}
	_, err = put("/conf/plain", "two", "text", false)
	wantCode(t, err, "ParameterAlreadyExists")
	out, err = put("/conf/plain", "two", "text", true)
	must(t, "PutParameter Overwrite", err)
	if out.Version != 2 {
		t.Errorf("overwritten version = %d", out.Version)
	}
	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/conf/plain")})
	must(t, "GetParameter", err)
	if p := got.Parameter; aws.ToString(p.Value) != "two" || p.Version != 2 || p.Type != ssmtypes.ParameterTypeString || aws.ToString(p.DataType) != "text" || !strings.HasSuffix(aws.ToString(p.ARN), ":parameter/conf/plain") {
		t.Errorf("GetParameter = %+v", p)
	}
	h, err := c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/conf/plain")})
	must(t, "GetParameterHistory", err)
	if len(h.Parameters) != 2 || aws.ToString(h.Parameters[0].Value) != "one" || h.Parameters[1].Version != 2 {
		t.Errorf("history = %+v", h.Parameters)
	}
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/conf/missing")})
	wantCode(t, err, "ParameterNotFound")
	_, err = c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/conf/missing")})
	wantCode(t, err, "ParameterNotFound")

	// aws:ec2:image: AWS validates asynchronously; moto stores at once.
	image := baseImage(t, e)
	_, err = put("/conf/golden", image, "aws:ec2:image", false)
	must(t, "PutParameter aws:ec2:image", err)
	if !on.moto {
		_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/conf/golden")})
		wantCode(t, err, "ParameterNotFound")
	}
	on.advance(10 * time.Second)
	got, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/conf/golden")})
	must(t, "GetParameter aws:ec2:image", err)
	if aws.ToString(got.Parameter.Value) != image || aws.ToString(got.Parameter.DataType) != "aws:ec2:image" {
		t.Errorf("aws:ec2:image parameter = %+v", got.Parameter)
	}
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/conf/plain")})
	must(t, "DeleteParameter", err)
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/conf/plain")})
	wantCode(t, err, "ParameterNotFound")

	content := `{"schemaVersion":"2.2","description":"conformance","parameters":{"Message":{"type":"String","default":"hi"}},` +
		`"mainSteps":[{"action":"aws:runShellScript","name":"say","inputs":{"runCommand":["echo {{ Message }}"]}}]}`
	doc, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Conf-Smoke"), Content: aws.String(content),
		DocumentType: ssmtypes.DocumentTypeCommand, DocumentFormat: ssmtypes.DocumentFormatJson})
	must(t, "CreateDocument", err)
	if d := doc.DocumentDescription; aws.ToString(d.Name) != "Conf-Smoke" || d.DocumentType != ssmtypes.DocumentTypeCommand || aws.ToString(d.SchemaVersion) != "2.2" || len(d.Parameters) != 1 {
		t.Errorf("CreateDocument = %+v", d)
	}
	_, err = c.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Conf-Smoke"), Content: aws.String(content),
		DocumentType: ssmtypes.DocumentTypeCommand, DocumentFormat: ssmtypes.DocumentFormatJson})
	wantCode(t, err, "DocumentAlreadyExists")
	desc, err := c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("Conf-Smoke")})
	must(t, "DescribeDocument", err)
	if d := desc.Document; d.Status != ssmtypes.DocumentStatusActive || d.HashType != ssmtypes.DocumentHashTypeSha256 || aws.ToString(d.DocumentVersion) != "1" {
		t.Errorf("DescribeDocument = %+v", d)
	}
	_, err = c.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String("Conf-Smoke")})
	must(t, "DeleteDocument", err)
	_, err = c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("Conf-Smoke")})
	wantCode(t, err, "InvalidDocument")
}

// scenarioKMS: keys, aliases and grants (AWS KMS API Reference: CreateKey,
// DescribeKey, CreateAlias, ListAliases, CreateGrant, ListGrants,
// RetireGrant).
func scenarioKMS(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	k := kms.NewFromConfig(cfg)
	out, err := k.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("conformance")})
	must(t, "CreateKey", err)
	md := out.KeyMetadata
	// moto leaves KeyUsage out; AWS (and the simulator) report ENCRYPT_DECRYPT.
	if md.KeyManager != kmstypes.KeyManagerTypeCustomer || md.KeyState != kmstypes.KeyStateEnabled || (!on.moto && md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt) ||
		aws.ToString(md.Arn) != "arn:aws:kms:"+cfg.Region+":123456789012:key/"+aws.ToString(md.KeyId) {
		t.Errorf("KeyMetadata = %+v", md)
	}
	must(t, "CreateAlias", func() error {
		_, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/conformance"), TargetKeyId: md.KeyId})
		return err
	}())
	for _, ref := range []string{aws.ToString(md.KeyId), aws.ToString(md.Arn), "alias/conformance"} {
		d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		must(t, "DescribeKey "+ref, err)
		if aws.ToString(d.KeyMetadata.KeyId) != aws.ToString(md.KeyId) {
			t.Errorf("DescribeKey %s = %s", ref, aws.ToString(d.KeyMetadata.KeyId))
		}
	}
	_, err = k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/conformance-missing")})
	wantCode(t, err, "NotFoundException")
	_, err = k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/conformance"), TargetKeyId: md.KeyId})
	wantCode(t, err, "AlreadyExistsException")
	al, err := k.ListAliases(ctx, &kms.ListAliasesInput{KeyId: md.KeyId})
	must(t, "ListAliases", err)
	if len(al.Aliases) != 1 || aws.ToString(al.Aliases[0].AliasName) != "alias/conformance" || aws.ToString(al.Aliases[0].TargetKeyId) != aws.ToString(md.KeyId) {
		t.Errorf("ListAliases of the key = %+v", al.Aliases)
	}
	grantee := "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
	g, err := k.CreateGrant(ctx, &kms.CreateGrantInput{KeyId: md.Arn, GranteePrincipal: aws.String(grantee), Name: aws.String("conformance"),
		Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKeyWithoutPlaintext}})
	must(t, "CreateGrant", err)
	if aws.ToString(g.GrantId) == "" || aws.ToString(g.GrantToken) == "" {
		t.Errorf("CreateGrant = %+v", g)
	}
	lg, err := k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: md.KeyId})
	must(t, "ListGrants", err)
	if len(lg.Grants) != 1 || aws.ToString(lg.Grants[0].GrantId) != aws.ToString(g.GrantId) || aws.ToString(lg.Grants[0].GranteePrincipal) != grantee ||
		len(lg.Grants[0].Operations) != 2 || aws.ToString(lg.Grants[0].Name) != "conformance" {
		t.Errorf("ListGrants = %+v", lg.Grants)
	}
	must(t, "RetireGrant", func() error {
		_, err := k.RetireGrant(ctx, &kms.RetireGrantInput{GrantToken: g.GrantToken})
		return err
	}())
	lg, err = k.ListGrants(ctx, &kms.ListGrantsInput{KeyId: md.KeyId})
	must(t, "ListGrants after RetireGrant", err)
	if len(lg.Grants) != 0 {
		t.Errorf("grants after RetireGrant = %+v", lg.Grants)
	}
}

// scenarioEBSEncryption: a volume encrypted with a customer managed key
// at launch, its CreateImage snapshot encrypted with the same key.
func scenarioEBSEncryption(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	k := kms.NewFromConfig(cfg)
	e := ec2.NewFromConfig(cfg)
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{})
	must(t, "CreateKey", err)
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023*"}}}})
	must(t, "DescribeImages", err)
	var base ec2types.Image
	for _, im := range imgs.Images {
		if im.Platform == "" && aws.ToString(im.RootDeviceName) != "" {
			base = im
			break
		}
	}
	if base.ImageId == nil {
		t.Fatal("no public Linux image")
	}
	run, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: base.ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Micro,
		BlockDeviceMappings: []ec2types.BlockDeviceMapping{{DeviceName: base.RootDeviceName, Ebs: &ec2types.EbsBlockDevice{Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyARN), VolumeSize: aws.Int32(30)}}}})
	must(t, "RunInstances", err)
	id := aws.ToString(run.Instances[0].InstanceId)
	on.advance(5 * time.Minute)
	vols, err := e.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}})
	must(t, "DescribeVolumes", err)
	var enc *ec2types.Volume
	for i, v := range vols.Volumes {
		if aws.ToBool(v.Encrypted) {
			enc = &vols.Volumes[i]
		}
	}
	if enc == nil || aws.ToString(enc.KmsKeyId) != keyARN {
		t.Fatalf("volumes of the instance = %+v, want one encrypted with %s", vols.Volumes, keyARN)
	}
	img, err := e.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("conformance-encrypted"), NoReboot: aws.Bool(true)})
	must(t, "CreateImage", err)
	on.advance(20 * time.Minute)
	snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: []string{aws.ToString(enc.VolumeId)}}}})
	must(t, "DescribeSnapshots", err)
	if on.moto {
		return // moto's CreateImage does not snapshot the instance's volumes (see CONFORMANCE.md)
	}
	if len(snaps.Snapshots) != 1 || !aws.ToBool(snaps.Snapshots[0].Encrypted) || aws.ToString(snaps.Snapshots[0].KmsKeyId) != keyARN {
		t.Errorf("snapshots of image %s = %+v, want one encrypted with %s", aws.ToString(img.ImageId), snaps.Snapshots, keyARN)
	}
}

// scenarioInstanceProfiles: roles and instance profiles with their role,
// whose name need not be the profile's (IAM API reference:
// CreateInstanceProfile, AddRoleToInstanceProfile — "an instance profile
// can contain only one IAM role" —, GetInstanceProfile, CreateRole,
// GetRole).
func scenarioInstanceProfiles(t *testing.T, cfg aws.Config, on impl) {
	ctx := context.Background()
	c := iam.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for _, name := range []string{"app-role", "second-role"} {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
		must(t, "CreateRole", err)
	}
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	must(t, "GetRole", err)
	doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if aws.ToString(role.Role.Arn) != "arn:aws:iam::123456789012:role/app-role" || !strings.HasPrefix(aws.ToString(role.Role.RoleId), "AROA") ||
		aws.ToString(role.Role.Path) != "/" || !strings.Contains(doc, "ec2.amazonaws.com") {
		t.Errorf("GetRole: %+v", role.Role)
	}
	created, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	must(t, "CreateInstanceProfile", err)
	// Unique ids of instance profiles start with AIPA ("IAM identifiers",
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes);
	// moto's are random.
	if p := created.InstanceProfile; aws.ToString(p.Arn) != "arn:aws:iam::123456789012:instance-profile/app-profile" ||
		(!on.moto && !strings.HasPrefix(aws.ToString(p.InstanceProfileId), "AIPA")) || len(p.Roles) != 0 {
		t.Errorf("CreateInstanceProfile: arn %s id %s roles %d", aws.ToString(p.Arn), aws.ToString(p.InstanceProfileId), len(p.Roles))
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")})
	must(t, "AddRoleToInstanceProfile", err)
	got, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	must(t, "GetInstanceProfile", err)
	if p := got.InstanceProfile; aws.ToString(p.InstanceProfileName) != "app-profile" || len(p.Roles) != 1 ||
		aws.ToString(p.Roles[0].RoleName) != "app-role" || aws.ToString(p.Roles[0].Arn) != "arn:aws:iam::123456789012:role/app-role" {
		t.Errorf("GetInstanceProfile: %+v", p)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("second-role")})
	wantCode(t, err, "LimitExceeded")
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	wantCode(t, err, "EntityAlreadyExists")
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("no-such-profile")})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("no-such-role")})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("no-such-role")})
	wantCode(t, err, "NoSuchEntity")
}
