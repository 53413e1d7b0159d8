package workflow

// This file holds the lock and unlock ops: one swap per Auto Scaling group
// at a time, with a lease in a DynamoDB table.

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// lockTable is the part of the DynamoDB API the lock ops use.
type lockTable interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// UnlockResult says whether unlock released the lock this execution held.
type UnlockResult struct {
	Released bool `json:"released"`
}

// Locker takes and releases group locks. A lock is one item per group,
// key "group#<name>", owned by an execution id and leased until expiresAt
// (epoch seconds): a crashed execution's lock expires by itself.
type Locker struct {
	db    lockTable
	table string
	ttl   time.Duration
}

// lockCondition lets a lock be taken when it is free, expired, or already
// ours (a retried Lock task must succeed).
const lockCondition = "attribute_not_exists(#pk) OR #exp < :now OR #owner = :me"

// LockKey is the item key of a group's lock in the lock table.
func LockKey(group string) string { return "group#" + group }

// Lock takes the lock of the target's group for this execution, or returns
// *amiswap.LockHeldError naming the execution that holds it.
func (l *Locker) Lock(ctx context.Context, p Payload) (*LockResult, error) {
	t := p.State.Target
	if t == nil || t.Group == "" {
		return nil, &amiswap.InvalidInputError{Field: "state.target.group", Reason: "lock needs the resolved group"}
	}
	if p.Context.ExecutionID == "" {
		return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "the lock owner is the execution id; it is empty"}
	}
	now := p.Context.EnteredTime
	if now.IsZero() {
		return nil, &amiswap.InvalidInputError{Field: "context.enteredTime", Reason: "the lock lease is measured from it; it is empty"}
	}
	ttl := l.ttl
	if ttl <= 0 {
		ttl = DefaultLockTTL
	}
	res := &LockResult{Table: l.table, Key: LockKey(t.Group), Owner: p.Context.ExecutionID, ExpiresAt: now.Add(ttl).UTC().Truncate(time.Second)}
	if l.table == "" {
		// Locking disabled (single-user local runs): nothing to take, and
		// an empty Table tells unlock so.
		return res, nil
	}
	_, err := l.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(l.table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":        &ddbtypes.AttributeValueMemberS{Value: res.Key},
			"owner":     &ddbtypes.AttributeValueMemberS{Value: res.Owner},
			"group":     &ddbtypes.AttributeValueMemberS{Value: t.Group},
			"takenAt":   &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			"expiresAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(res.ExpiresAt.Unix(), 10)},
		},
		ConditionExpression:      aws.String(lockCondition),
		ExpressionAttributeNames: map[string]string{"#pk": "pk", "#exp": "expiresAt", "#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":now": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			":me":  &ddbtypes.AttributeValueMemberS{Value: res.Owner},
		},
	})
	if err == nil {
		return res, nil
	}
	if apiCode(err) != "ConditionalCheckFailedException" {
		return nil, classify("dynamodb:PutItem", err)
	}
	// Held by someone else: say by whom.
	out, gerr := l.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: res.Key}},
		ConsistentRead: aws.Bool(true),
	})
	if gerr != nil {
		return nil, classify("dynamodb:GetItem", gerr)
	}
	if len(out.Item) == 0 {
		// Released between the two calls: the retry will take it.
		return nil, &amiswap.TransientError{Op: "dynamodb:PutItem", Err: fmt.Errorf("lock %s was released while being taken", res.Key)}
	}
	held := &amiswap.LockHeldError{Group: t.Group}
	if v, ok := out.Item["owner"].(*ddbtypes.AttributeValueMemberS); ok {
		held.Owner = v.Value
	}
	if v, ok := out.Item["expiresAt"].(*ddbtypes.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			held.Expires = time.Unix(n, 0).UTC()
		}
	}
	return nil, held
}

// Unlock releases the lock that this execution's Lock took. A lock that is
// gone or owned by another execution (ours expired and was taken over) is
// not an error: Released is false.
func (l *Locker) Unlock(ctx context.Context, p Payload) (*UnlockResult, error) {
	lk := p.State.Lock
	if lk == nil || lk.Table == "" || lk.Key == "" {
		return &UnlockResult{}, nil
	}
	_, err := l.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(lk.Table),
		Key:                       map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: lk.Key}},
		ConditionExpression:       aws.String("#owner = :me"),
		ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": &ddbtypes.AttributeValueMemberS{Value: lk.Owner}},
	})
	if err != nil {
		if apiCode(err) == "ConditionalCheckFailedException" {
			return &UnlockResult{Released: false}, nil
		}
		return nil, classify("dynamodb:DeleteItem", err)
	}
	return &UnlockResult{Released: true}, nil
}
