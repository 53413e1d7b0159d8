package workflow

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// lockDB fakes the three DynamoDB calls of the lock ops.
type lockDB struct {
	calls     []string
	putIn     *dynamodb.PutItemInput
	getIn     *dynamodb.GetItemInput
	deleteIn  *dynamodb.DeleteItemInput
	putErr    error
	deleteErr error
	item      map[string]ddbtypes.AttributeValue
}

func (f *lockDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.calls = append(f.calls, "PutItem")
	f.putIn = in
	return &dynamodb.PutItemOutput{}, f.putErr
}

func (f *lockDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.calls = append(f.calls, "GetItem")
	f.getIn = in
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func (f *lockDB) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.calls = append(f.calls, "DeleteItem")
	f.deleteIn = in
	return &dynamodb.DeleteItemOutput{}, f.deleteErr
}

func ddbS(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func ddbN(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }

func TestLock(t *testing.T) {
	now := grpNow.Unix()
	exp := grpNow.Add(2 * time.Hour).Unix()     // with a 2h TTL
	other := grpNow.Add(30 * time.Minute).UTC() // the holder's expiry
	cases := []struct {
		name     string
		table    string
		putErr   error
		item     map[string]ddbtypes.AttributeValue
		want     *LockResult
		wantErr  string
		calls    []string
		heldBy   string
		heldTill time.Time
	}{
		{name: "disabled", table: "", want: &LockResult{Table: "", Key: "group#web", Owner: grpExec, ExpiresAt: grpNow.Add(2 * time.Hour)}},
		{name: "taken", table: "locks", want: &LockResult{Table: "locks", Key: "group#web", Owner: grpExec, ExpiresAt: grpNow.Add(2 * time.Hour)}, calls: []string{"PutItem"}},
		{
			name: "held", table: "locks", putErr: apiErr("ConditionalCheckFailedException"),
			item:    map[string]ddbtypes.AttributeValue{"pk": ddbS("group#web"), "owner": ddbS("arn:other"), "expiresAt": ddbN(itoa(other.Unix()))},
			wantErr: "LockHeldError", calls: []string{"PutItem", "GetItem"}, heldBy: "arn:other", heldTill: other,
		},
		{name: "released meanwhile", table: "locks", putErr: apiErr("ConditionalCheckFailedException"), wantErr: "TransientError", calls: []string{"PutItem", "GetItem"}},
		{name: "throttled", table: "locks", putErr: apiErr("ProvisionedThroughputExceededException"), wantErr: "ThrottledError", calls: []string{"PutItem"}},
		{name: "no table", table: "locks", putErr: apiErr("ResourceNotFoundException"), wantErr: "AWSError", calls: []string{"PutItem"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &lockDB{putErr: tc.putErr, item: tc.item}
			got, err := (&Locker{db: db, table: tc.table, ttl: 2 * time.Hour}).Lock(t.Context(), grpPayload(State{Target: grpTarget("4", false)}))
			if errType(err) != nonEmpty(tc.wantErr) {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			if !reflect.DeepEqual(db.calls, tc.calls) {
				t.Errorf("calls %v, want %v", db.calls, tc.calls)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lock %+v, want %+v", got, tc.want)
			}
			if held, ok := errorsAs[*amiswap.LockHeldError](err); ok {
				if held.Group != grpName || held.Owner != tc.heldBy || !held.Expires.Equal(tc.heldTill) {
					t.Errorf("held %+v, want by %s until %s", held, tc.heldBy, tc.heldTill)
				}
				wantGet := &dynamodb.GetItemInput{TableName: aws.String("locks"), Key: map[string]ddbtypes.AttributeValue{"pk": ddbS("group#web")}, ConsistentRead: aws.Bool(true)}
				if !reflect.DeepEqual(db.getIn, wantGet) {
					t.Errorf("get sent %+v", db.getIn)
				}
			}
			if db.putIn != nil {
				want := &dynamodb.PutItemInput{
					TableName: aws.String("locks"),
					Item: map[string]ddbtypes.AttributeValue{
						"pk": ddbS("group#web"), "owner": ddbS(grpExec), "group": ddbS("web"),
						"takenAt": ddbN(itoa(now)), "expiresAt": ddbN(itoa(exp)),
					},
					ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now OR #owner = :me"),
					ExpressionAttributeNames: map[string]string{"#pk": "pk", "#exp": "expiresAt", "#owner": "owner"},
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
						":now": ddbN(itoa(now)), ":me": ddbS(grpExec),
					},
				}
				if !reflect.DeepEqual(db.putIn, want) {
					t.Errorf("put sent %+v\nwant %+v", db.putIn, want)
				}
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestLockInvalid(t *testing.T) {
	cases := map[string]Payload{
		"no target":    {State: State{}, Context: Context{ExecutionID: grpExec, EnteredTime: grpNow}},
		"no execution": {State: State{Target: grpTarget("4", false)}, Context: Context{EnteredTime: grpNow}},
		"no time":      {State: State{Target: grpTarget("4", false)}, Context: Context{ExecutionID: grpExec}},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			db := &lockDB{}
			_, err := (&Locker{db: db, table: "locks"}).Lock(t.Context(), p)
			if errType(err) != "InvalidInputError" || len(db.calls) != 0 {
				t.Errorf("error %v, calls %v: want InvalidInputError before any call", err, db.calls)
			}
		})
	}
}

func TestUnlock(t *testing.T) {
	held := &LockResult{Table: "locks", Key: "group#web", Owner: grpExec, ExpiresAt: grpNow.Add(time.Hour)}
	cases := []struct {
		name    string
		lock    *LockResult
		delErr  error
		want    bool
		wantErr string
		calls   []string
	}{
		{name: "no lock taken", lock: nil},
		{name: "locking disabled", lock: &LockResult{Table: "", Key: "group#web", Owner: grpExec}},
		{name: "released", lock: held, want: true, calls: []string{"DeleteItem"}},
		{name: "not ours any more", lock: held, delErr: apiErr("ConditionalCheckFailedException"), want: false, calls: []string{"DeleteItem"}},
		{name: "throttled", lock: held, delErr: apiErr("ThrottlingException"), wantErr: "ThrottledError", calls: []string{"DeleteItem"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &lockDB{deleteErr: tc.delErr}
			got, err := (&Locker{db: db, table: "locks"}).Unlock(t.Context(), grpPayload(State{Target: grpTarget("4", false), Lock: tc.lock}))
			if errType(err) != nonEmpty(tc.wantErr) {
				t.Fatalf("error %v, want %s", err, tc.wantErr)
			}
			if !reflect.DeepEqual(db.calls, tc.calls) {
				t.Errorf("calls %v, want %v", db.calls, tc.calls)
			}
			if err == nil && got.Released != tc.want {
				t.Errorf("released %v, want %v", got.Released, tc.want)
			}
			if db.deleteIn != nil {
				want := &dynamodb.DeleteItemInput{
					TableName:                 aws.String("locks"),
					Key:                       map[string]ddbtypes.AttributeValue{"pk": ddbS("group#web")},
					ConditionExpression:       aws.String("#owner = :me"),
					ExpressionAttributeNames:  map[string]string{"#owner": "owner"},
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": ddbS(grpExec)},
				}
				if !reflect.DeepEqual(db.deleteIn, want) {
					t.Errorf("delete sent %+v", db.deleteIn)
				}
			}
		})
	}
}
