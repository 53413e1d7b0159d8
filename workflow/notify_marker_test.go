package workflow

import (
	"context"
	"testing"

	"github.com/amiswap/amiswap/awssim"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// TestNotifyOncePerOutcome: the marker in the lock table keeps a retried or
// resumed Notify to one message per outcome; only when the marker could not
// be completed after publishing is the message sent again, and then with
// the same deduplication id. Every message carries it.
func TestNotifyOncePerOutcome(t *testing.T) {
	ctx := context.Background()
	s, c := serveSim(t, awssim.Options{Throttle: awssim.Throttle{Disabled: true}})
	if _, err := c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("locks"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	topic, err := c.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("amiswap")})
	if err != nil {
		t.Fatal(err)
	}
	n := &Notify{SNS: c.SNS, TopicArn: aws.ToString(topic.TopicArn), DB: c.DynamoDB, Table: "locks"}
	count := func(dedup string) int {
		k := 0
		for _, m := range s.Published() {
			if m.Attributes[DedupAttribute] == dedup {
				k++
			}
		}
		return k
	}

	// Published and recorded: a second Send (a retry, a resume) sends nothing.
	ok := btPayload(btNow, btSucceeded)
	first, err := n.Send(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	again, err := n.Send(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	okID := DedupID(btExec, "swapped")
	if got := count(okID); got != 1 || again.MessageID != first.MessageID || first.MessageID == "" {
		t.Errorf("swapped: %d messages with %s, results %+v then %+v; want 1, the same MessageId", got, okID, first, again)
	}

	// Published, but the marker was not completed (UpdateItem failed): the
	// retry publishes again, with the same deduplication id, once.
	failed := btPayload(btNow, btFailed)
	s.AddFault(awssim.Fault{Service: "dynamodb", Action: "UpdateItem", Code: "InternalServerError", Status: 500})
	if _, err := n.Send(ctx, failed); errType(err) != "TransientError" {
		t.Fatalf("send with the marker update failing: %v, want a TransientError for the Retry", err)
	}
	if _, err := n.Send(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, failed); err != nil {
		t.Fatal(err)
	}
	failID := DedupID(btExec, "failed")
	if got := count(failID); got != 2 {
		t.Errorf("failed: %d messages with %s, want 2 (the one window), then none", got, failID)
	}

	// The answer of Publish is lost after SNS accepted the message: the
	// retry publishes again with the same id.
	other := btPayload(btNow, btSucceeded)
	other.Context.ExecutionID = btExec + "-2"
	s.AddFault(awssim.Fault{Service: "sns", Action: "Publish", Outcome: "lost"})
	if _, err := n.Send(ctx, other); errType(err) != "TransientError" {
		t.Fatalf("send with the answer lost: %v, want a TransientError", err)
	}
	if _, err := n.Send(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := count(DedupID(btExec+"-2", "swapped")); got != 2 {
		t.Errorf("lost answer: %d messages, want 2 with the same id", got)
	}

	// Without a lock table there is no marker: each attempt publishes,
	// each with the id.
	bare := &Notify{SNS: c.SNS, TopicArn: n.TopicArn}
	third := btPayload(btNow, btSucceeded)
	third.Context.ExecutionID = btExec + "-3"
	for range 2 {
		if _, err := bare.Send(ctx, third); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(DedupID(btExec+"-3", "swapped")); got != 2 {
		t.Errorf("no table: %d messages, want 2", got)
	}
	for _, m := range s.Published() {
		if m.Attributes[DedupAttribute] == "" {
			t.Errorf("message %s (%s) has no %s attribute", m.MessageID, m.Subject, DedupAttribute)
		}
	}
}
