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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
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
	{"sts/caller-identity", scenarioCallerIdentity},
	{"sns/topics-and-publish", scenarioSNS},
	{"dynamodb/lock-conditions", scenarioDynamoDBLock},
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
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:" + cfg.Region + ":123456789012:nope"), Message: aws.String("x")})
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
}
