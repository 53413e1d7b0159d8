package awssim

// Behaviour tests for SNS and STS through the real SDK clients over HTTP.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestSNSTopicsAndPublish(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)

	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{
		Name: aws.String("amiswap-events"),
		Tags: []snstypes.Tag{{Key: aws.String("app"), Value: aws.String("amiswap")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:sns:us-east-1:123456789012:amiswap-events"
	if aws.ToString(out.TopicArn) != want {
		t.Fatalf("TopicArn = %q, want %q", aws.ToString(out.TopicArn), want)
	}
	// Idempotent by name.
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("amiswap-events")})
	if err != nil || aws.ToString(again.TopicArn) != want {
		t.Fatalf("second CreateTopic = %v, %v", again.TopicArn, err)
	}
	// ... but not with different tags.
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{
		Name: aws.String("amiswap-events"),
		Tags: []snstypes.Tag{{Key: aws.String("app"), Value: aws.String("other")}},
	})
	if code := apiCode(t, err); code != "InvalidParameter" {
		t.Fatalf("CreateTopic with other tags: code %q", code)
	}
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name!")}); apiCode(t, err) != "InvalidParameter" {
		t.Fatalf("bad topic name: %v", err)
	}

	list, err := c.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Topics) != 1 || aws.ToString(list.Topics[0].TopicArn) != want {
		t.Fatalf("ListTopics = %+v", list.Topics)
	}

	pub, err := c.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(want),
		Subject:  aws.String("amiswap: swap failed for web-asg"),
		Message:  aws.String(`{"group":"web-asg","cause":"image failed"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("error")},
			"attempt":  {DataType: aws.String("Number"), StringValue: aws.String("2")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(pub.MessageId) == "" {
		t.Fatal("Publish returned no MessageId")
	}

	ts.mu.Lock()
	msgs := append([]snsMessage(nil), ts.sns.messages...)
	ts.mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("%d messages kept, want 1", len(msgs))
	}
	m := msgs[0]
	if m.MessageID != aws.ToString(pub.MessageId) || m.TopicArn != want || m.Subject != "amiswap: swap failed for web-asg" ||
		!strings.Contains(m.Message, "image failed") || m.Attributes["severity"].StringValue != "error" ||
		m.Attributes["attempt"].DataType != "Number" || !m.Time.Equal(ts.Now()) {
		t.Fatalf("kept message = %+v", m)
	}

	// The state view lists topics and messages.
	st := ts.State()["sns"].(map[string]any)
	if len(st["messages"].([]snsMessage)) != 1 || len(st["topics"].([]*snsTopic)) != 1 {
		t.Fatalf("state = %+v", st)
	}
}

func TestSNSPublishValidation(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   sns.PublishInput
		code string
	}{
		{"unknown topic", sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:nope"), Message: aws.String("x")}, "NotFound"},
		{"malformed arn", sns.PublishInput{TopicArn: aws.String("not-an-arn"), Message: aws.String("x")}, "InvalidParameter"},
		{"subject too long", sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String(strings.Repeat("s", 101)), Message: aws.String("x")}, "InvalidParameter"},
		{"subject newline", sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("line\nbreak"), Message: aws.String("x")}, "InvalidParameter"},
		{"subject non-ascii", sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String("café"), Message: aws.String("x")}, "InvalidParameter"},
		{"empty message", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("")}, "InvalidParameter"},
		{"message too long", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(strings.Repeat("m", 256*1024+1))}, "InvalidParameter"},
		{"bad attribute type", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"a": {DataType: aws.String("Date"), StringValue: aws.String("x")}}}, "InvalidParameter"},
		{"non-number attribute", sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"a": {DataType: aws.String("Number"), StringValue: aws.String("many")}}}, "InvalidParameter"},
		{"json structure without default", sns.PublishInput{TopicArn: topic.TopicArn, MessageStructure: aws.String("json"), Message: aws.String(`{"email":"x"}`)}, "InvalidParameter"},
	}
	for _, tc := range cases {
		_, err := c.Publish(ctx, &tc.in)
		if err == nil {
			t.Errorf("%s: Publish succeeded", tc.name)
			continue
		}
		if code := apiCode(t, err); code != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, code, tc.code, err)
		}
	}
	var nf *snstypes.NotFoundException
	if _, err := c.Publish(ctx, &cases[0].in); !errors.As(err, &nf) {
		t.Errorf("unknown topic: want *NotFoundException, got %T", err)
	}
	// Boundaries that are allowed.
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Subject: aws.String(strings.Repeat("s", 100)), Message: aws.String(strings.Repeat("m", 256*1024))}); err != nil {
		t.Errorf("100-char subject, 256 KB message: %v", err)
	}
	ts.mu.Lock()
	n := len(ts.sns.messages)
	ts.mu.Unlock()
	if n != 1 {
		t.Errorf("%d messages kept, want only the valid one", n)
	}
}

func TestSNSSubscribeAndDelete(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sub.SubscriptionArn) != "pending confirmation" {
		t.Fatalf("SubscriptionArn = %q", aws.ToString(sub.SubscriptionArn))
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("nobody")}); apiCode(t, err) != "InvalidParameter" {
		t.Fatalf("bad email: %v", err)
	}
	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: topic.TopicArn})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Attributes["SubscriptionsPending"] != "1" || attrs.Attributes["TopicArn"] != aws.ToString(topic.TopicArn) {
		t.Fatalf("attributes = %v", attrs.Attributes)
	}
	subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
	if err != nil || len(subs.Subscriptions) != 1 || aws.ToString(subs.Subscriptions[0].Endpoint) != "ops@example.com" {
		t.Fatalf("ListSubscriptionsByTopic = %+v, %v", subs, err)
	}

	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: topic.TopicArn}); err != nil {
		t.Fatal(err)
	}
	// Deleting again is not an error; publishing to it is.
	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: topic.TopicArn}); err != nil {
		t.Fatalf("second DeleteTopic: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("x")}); apiCode(t, err) != "NotFound" {
		t.Fatalf("Publish to deleted topic: %v", err)
	}
}

func TestSNSFIFO(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events.fifo")}); apiCode(t, err) != "InvalidParameter" {
		t.Fatalf(".fifo name without FifoTopic: %v", err)
	}
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events.fifo"), Attributes: map[string]string{"FifoTopic": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m")}); apiCode(t, err) != "InvalidParameter" {
		t.Fatalf("FIFO publish without a group: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m"), MessageGroupId: aws.String("g")}); apiCode(t, err) != "InvalidParameter" {
		t.Fatalf("FIFO publish without deduplication: %v", err)
	}
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")}); err != nil {
		t.Fatalf("FIFO publish: %v", err)
	}
}

func TestSNSListTopicsPages(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := sns.NewFromConfig(ts.Cfg)
	for i := range 130 {
		if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("topic-" + string(rune('a'+i/26)) + string(rune('a'+i%26)))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	pages := 0
	for p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tp := range out.Topics {
			seen[aws.ToString(tp.TopicArn)] = true
		}
	}
	if pages != 2 || len(seen) != 130 {
		t.Fatalf("%d pages, %d distinct topics; want 2 and 130", pages, len(seen))
	}
}

// roleIdentities maps access keys to assumed roles, as the IAM emulation does.
type roleIdentities map[string]string

func (m roleIdentities) Authorize(string, string, string, []Resource) error { return nil }
func (m roleIdentities) CallerIdentity(akid string) (string, string, bool) {
	role, ok := m[akid]
	if !ok {
		return "", "", false
	}
	return "arn:aws:sts::123456789012:assumed-role/" + role + "/amiswap", "AROAEXAMPLE:amiswap", true
}

func TestSTSGetCallerIdentity(t *testing.T) {
	ts := newTestSim(t, Options{AccountID: "210987654321"})
	ctx := context.Background()
	c := sts.NewFromConfig(ts.Cfg)
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "210987654321" || aws.ToString(out.Arn) != "arn:aws:iam::210987654321:user/AKIDTEST" ||
		!strings.HasPrefix(aws.ToString(out.UserId), "AIDA") || len(aws.ToString(out.UserId)) != 21 {
		t.Fatalf("identity = %s %s %s", aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId))
	}

	ts.SetAuthorizer(roleIdentities{"AKIDTEST": "amiswap-resolve"})
	out, err = c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != "arn:aws:sts::123456789012:assumed-role/amiswap-resolve/amiswap" || aws.ToString(out.UserId) != "AROAEXAMPLE:amiswap" {
		t.Fatalf("assumed-role identity = %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
}
