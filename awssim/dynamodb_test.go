package awssim

// Tests for DynamoDB: the expression parser and evaluator as units, and
// tables, items and a lock through the real SDK client over HTTP.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ---- units: values and expressions ----------------------------------------

func TestNormNumber(t *testing.T) {
	good := map[string]string{
		"0": "0", "-0": "0", "007": "7", "1.50": "1.5", "1.5e1": "15", "1e3": "1000", "-2.5E-3": "-0.0025",
		".5": "0.5", "5.": "5", "+12": "12", "123.456": "123.456", "1e-130": "0." + strings.Repeat("0", 129) + "1",
		"12345678901234567890123456789012345678": "12345678901234567890123456789012345678",
	}
	for in, want := range good {
		got, err := normNumber(in)
		if err != nil || got != want {
			t.Errorf("normNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "1..2", "1e", "1e+", "--1", "0x10", "1/2", "Inf", "NaN", "1e999999999",
		"123456789012345678901234567890123456789", "1e126", "1e-131", " ", "1 2"} {
		if got, err := normNumber(in); err == nil {
			t.Errorf("normNumber(%q) = %q, want an error", in, got)
		}
	}
	r := numRat("0.1")
	r.Add(r, numRat("0.2"))
	if s, err := ratNumber(r); err != nil || s != "0.3" {
		t.Errorf("0.1+0.2 = %q, %v", s, err)
	}
	r = numRat("10")
	r.Sub(r, numRat("12.75"))
	if s, err := ratNumber(r); err != nil || s != "-2.75" {
		t.Errorf("10-12.75 = %q, %v", s, err)
	}
}

func mustAV(t *testing.T, js string) *attrValue {
	t.Helper()
	v := &attrValue{}
	if err := json.Unmarshal([]byte(js), v); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return v
}

func TestAttrValueJSON(t *testing.T) {
	in := `{"M":{"s":{"S":"x"},"n":{"N":"1.50"},"b":{"B":"AQI="},"t":{"BOOL":true},"z":{"NULL":true},` +
		`"l":{"L":[{"S":"a"},{"N":"2"}]},"ss":{"SS":["a","b"]},"ns":{"NS":["1","2.0"]},"bs":{"BS":["AQ=="]},"e":{"L":[]},"em":{"M":{}}}}`
	v := mustAV(t, in)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	back := mustAV(t, string(out))
	if !v.equal(back) || v.m["n"].s != "1.5" || v.m["ns"].ss[1] != "2" || string(v.m["b"].b) != "\x01\x02" {
		t.Fatalf("round trip: %s", out)
	}
	if !strings.Contains(string(out), `"e":{"L":[]}`) || !strings.Contains(string(out), `"em":{"M":{}}`) {
		t.Fatalf("empty list or map lost: %s", out)
	}
	for _, bad := range []string{`{}`, `{"S":"a","N":"1"}`, `{"NULL":false}`, `{"SS":[]}`, `{"SS":["a","a"]}`,
		`{"NS":["1","1.0"]}`, `{"N":"x"}`, `{"Q":"x"}`, `{"S":null}`, `{"M":{"a":null}}`, `{"L":[{}]}`} {
		err := json.Unmarshal([]byte(bad), &attrValue{})
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "ValidationException" {
			t.Errorf("%s: err = %v, want ValidationException", bad, err)
		}
	}
	// A wrong JSON type is a serialization problem, not a validation one.
	var req struct{ Item ddbItem }
	if err := ddbDecode([]byte(`{"Item":{"a":{"S":5}}}`), &req); asAPIError(err).Code != "SerializationException" {
		t.Errorf("S:5 gave %v", err)
	}
	deep := strings.Repeat(`{"L":[`, 40) + `{"S":"x"}` + strings.Repeat(`]}`, 40)
	if err := json.Unmarshal([]byte(deep), &attrValue{}); asAPIError(err).Code != "ValidationException" {
		t.Errorf("40 levels of nesting: %v", err)
	}
}

func TestConditionExpressions(t *testing.T) {
	item := ddbItem{
		"pk":        strAV("lock#web"),
		"owner":     strAV("exec-1"),
		"expiresAt": &attrValue{kind: "N", s: "1000"},
		"n9":        &attrValue{kind: "N", s: "9"},
		"tags":      &attrValue{kind: "SS", ss: []string{"a", "b"}},
		"m":         &attrValue{kind: "M", m: map[string]*attrValue{"x": {kind: "L", l: []*attrValue{strAV("first"), strAV("second")}}}},
		"flag":      &attrValue{kind: "BOOL", bl: true},
	}
	names := map[string]string{"#o": "owner", "#e": "expiresAt", "#m": "m"}
	values := map[string]*attrValue{
		":me": strAV("exec-1"), ":other": strAV("exec-2"), ":now": {kind: "N", s: "999.5"},
		":late": {kind: "N", s: "1000.5"}, ":ten": {kind: "N", s: "10"}, ":two": {kind: "N", s: "2"},
		":pre": strAV("lock#"), ":a": strAV("a"), ":t": strAV("SS"), ":yes": {kind: "BOOL", bl: true},
	}
	cases := []struct {
		expr string
		want bool
	}{
		{"attribute_not_exists(pk)", false},
		{"attribute_exists(pk)", true},
		{"attribute_not_exists(nope)", true},
		{"#o = :me", true},
		{"#o <> :me", false},
		{"#o = :other OR #o = :me", true},
		{"attribute_not_exists(pk) OR #e < :now", false},
		{"attribute_not_exists(pk) OR #e < :late", true},
		{"#e > :now AND #e <= :late", true},
		{"#e >= :late", false},
		{"n9 < :ten", true}, // numeric, not lexical ("9" > "10")
		{"NOT #o = :me", false},
		{"not (#o = :other)", true},
		{"#o = :other OR #o = :me AND #e > :late", false}, // AND binds tighter
		{"(#o = :other OR #o = :me) AND #e > :now", true},
		{"#e BETWEEN :now AND :late", true},
		{"#o IN (:other, :me)", true},
		{"#o IN (:other)", false},
		{"begins_with(pk, :pre)", true},
		{"contains(tags, :a)", true},
		{"attribute_type(tags, :t)", true},
		{"size(tags) = :two", true},
		{"size(#m.x) = :two", true},
		{"#m.x[1] = :other", false},
		{"attribute_exists(#m.x[1])", true},
		{"attribute_exists(#m.x[2])", false},
		{"#o < :ten", false}, // different types never compare
		{"flag = :yes", true},
		{"nope = nope", false}, // missing attributes are never equal
		{"nope <> :me", true},  // ... and always unequal
	}
	for _, tc := range cases {
		env := newExprEnv(names, values)
		c, err := parseCondition("ConditionExpression", tc.expr, env)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := c.eval(item); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
	// On a missing item every attribute is absent.
	c, err := parseCondition("ConditionExpression", "attribute_not_exists(pk) OR #e < :now", newExprEnv(names, values))
	if err != nil || !c.eval(nil) {
		t.Errorf("lock condition on a missing item: %v %v", err, err == nil && c.eval(nil))
	}

	bad := map[string]string{
		"":                          "can not be empty",
		"#o = ":                     `token: "<EOF>"`,
		"#o == :me":                 "Syntax error",
		"(#o = :me":                 "Syntax error",
		"#o = :me)":                 "Syntax error",
		"#o = :me AND":              "Syntax error",
		"#x = :me":                  "attribute name used in the document path is not defined",
		"#o = :zz":                  "attribute value used in expression is not defined",
		"owner = :me":               "reserved keyword; reserved keyword: owner",
		"attribute_nope(pk)":        "Invalid function name",
		"#o = :me;":                 "Invalid character",
		"#e BETWEEN :late AND :now": "upper bound",
		"attribute_type(pk, :me)":   "Invalid attribute type",
		"pk":                        "Syntax error",
		"size(pk)":                  "Syntax error",
		"#m.x[ = :me":               "Syntax error",
		"attribute_exists(:me)":     "Syntax error",
		"begins_with(pk :pre)":      "Syntax error",
		"#o IN ()":                  "Syntax error",
	}
	for expr, want := range bad {
		_, err := parseCondition("ConditionExpression", expr, newExprEnv(names, values))
		ae := asAPIError(err)
		if err == nil || ae.Code != "ValidationException" || !strings.Contains(ae.Message, want) {
			t.Errorf("%q: err = %v, want ValidationException containing %q", expr, err, want)
		}
	}
}

func TestUpdateExpressions(t *testing.T) {
	old := ddbItem{
		"pk":    strAV("k"),
		"count": &attrValue{kind: "N", s: "5"},
		"gone":  strAV("x"),
		"l":     &attrValue{kind: "L", l: []*attrValue{strAV("a")}},
		"m":     &attrValue{kind: "M", m: map[string]*attrValue{"inner": strAV("v")}},
		"set":   &attrValue{kind: "SS", ss: []string{"a", "b"}},
	}
	names := map[string]string{"#c": "count", "#s": "set"}
	values := map[string]*attrValue{
		":one": {kind: "N", s: "1"}, ":half": {kind: "N", s: "0.5"}, ":new": strAV("n"),
		":more": {kind: "L", l: []*attrValue{strAV("b")}}, ":c": {kind: "SS", ss: []string{"c"}},
		":a": {kind: "SS", ss: []string{"a"}},
	}
	env := newExprEnv(names, values)
	acts, err := parseUpdate("SET #c = #c + :one, fresh = if_not_exists(fresh, :half), l = list_append(l, :more), m.inner = :new, m.added = :new "+
		"REMOVE gone ADD #s :c, counter :one DELETE other :a", env)
	if err != nil {
		t.Fatal(err)
	}
	next, err := applyUpdate(old, acts)
	if err != nil {
		t.Fatal(err)
	}
	if next["count"].s != "6" || next["fresh"].s != "0.5" || len(next["l"].l) != 2 || next["l"].l[1].s != "b" ||
		next["m"].m["inner"].s != "n" || next["m"].m["added"].s != "n" || next["gone"] != nil ||
		len(next["set"].ss) != 3 || next["counter"].s != "1" {
		out, _ := json.Marshal(next)
		t.Fatalf("after update: %s", out)
	}
	if old["count"].s != "5" || old["gone"] == nil {
		t.Fatal("applyUpdate changed the old item")
	}
	// Right-hand sides see the old item: swapping works.
	acts, err = parseUpdate("SET a = b, b = a", newExprEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	swapped, err := applyUpdate(ddbItem{"a": strAV("1"), "b": strAV("2")}, acts)
	if err != nil || swapped["a"].s != "2" || swapped["b"].s != "1" {
		t.Fatalf("swap: %v %v", swapped, err)
	}
	// DELETE empties and removes a set.
	acts, _ = parseUpdate("DELETE #s :a", newExprEnv(names, values))
	n2, err := applyUpdate(ddbItem{"set": &attrValue{kind: "SS", ss: []string{"a"}}}, acts)
	if err != nil || n2["set"] != nil {
		t.Fatalf("DELETE last element: %v %v", n2, err)
	}

	runtimeBad := map[string]string{
		"SET x = nope":                     "does not exist in the item",
		"SET x = gone + :one":              "incorrect data type",
		"SET nope.deeper = :one":           "document path provided in the update expression is invalid",
		"SET x = list_append(gone, :more)": "list_append",
	}
	for expr, want := range runtimeBad {
		acts, err := parseUpdate(expr, newExprEnv(names, values))
		if err != nil {
			t.Errorf("%q: parse: %v", expr, err)
			continue
		}
		if _, err := applyUpdate(old, acts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", expr, err, want)
		}
	}
	parseBad := map[string]string{
		"SET a = :one SET b = :one":   "can only be used once",
		"SET a = :one, a = :new":      "overlap",
		"SET m = :one REMOVE m.inner": "overlap",
		"SET a :one":                  "Syntax error",
		"UPSERT a = :one":             "Syntax error",
		"ADD a :new":                  "Incorrect operand type",
		"DELETE a :one":               "Incorrect operand type",
		"SET a = nope(b, :one)":       "Invalid function name",
		"SET a = :one +":              "Syntax error",
	}
	for expr, want := range parseBad {
		_, err := parseUpdate(expr, newExprEnv(names, values))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", expr, err, want)
		}
	}
}

func TestProjection(t *testing.T) {
	it := ddbItem{"a": strAV("1"), "b": strAV("2"), "m": {kind: "M", m: map[string]*attrValue{"x": strAV("3"), "y": strAV("4")}},
		"l": {kind: "L", l: []*attrValue{strAV("p"), strAV("q"), strAV("r")}}}
	paths, err := parseProjection("a, m.y, l[2], nope", newExprEnv(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(project(it, paths))
	want := `{"a":{"S":"1"},"l":{"L":[{"S":"r"}]},"m":{"M":{"y":{"S":"4"}}}}`
	if string(got) != want {
		t.Fatalf("projection = %s, want %s", got, want)
	}
}

// ---- behaviour over HTTP ------------------------------------------------------

// newLockSim serves a simulator holding the amiswap-locks table and returns
// it with a client.
func newLockSim(t *testing.T, opts Options) (*testSim, *dynamodb.Client) {
	t.Helper()
	ts := newTestSim(t, opts)
	c := dynamodb.NewFromConfig(ts.Cfg)
	createLockTable(t, c)
	return ts, c
}

func createLockTable(t *testing.T, c *dynamodb.Client) {
	t.Helper()
	_, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String("amiswap-locks"),
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDynamoDBTables(t *testing.T) {
	ts, c := newLockSim(t, Options{})
	ctx := context.Background()

	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:             aws.String("amiswap-locks"),
		KeySchema:             []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions:  []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)},
	})
	var inUse *ddbtypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second CreateTable: %v", err)
	}

	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("amiswap-locks")})
	if err != nil {
		t.Fatal(err)
	}
	tb := d.Table
	if tb.TableStatus != ddbtypes.TableStatusActive || aws.ToString(tb.TableArn) != "arn:aws:dynamodb:us-east-1:123456789012:table/amiswap-locks" ||
		len(tb.KeySchema) != 1 || tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != ddbtypes.BillingModePayPerRequest ||
		!tb.CreationDateTime.Equal(ts.Now()) {
		t.Fatalf("DescribeTable = %+v", tb)
	}

	var nf *ddbtypes.ResourceNotFoundException
	if _, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Fatalf("DescribeTable of a missing table: %v", err)
	}

	// A composite key with a numeric range, provisioned.
	_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("history"),
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("group"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("at"), KeyType: ddbtypes.KeyTypeRange},
		},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("group"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("at"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	if err != nil || len(list.TableNames) != 1 || list.TableNames[0] != "amiswap-locks" || aws.ToString(list.LastEvaluatedTableName) != "amiswap-locks" {
		t.Fatalf("ListTables page 1 = %+v, %v", list, err)
	}
	list, err = c.ListTables(ctx, &dynamodb.ListTablesInput{ExclusiveStartTableName: list.LastEvaluatedTableName})
	if err != nil || len(list.TableNames) != 1 || list.TableNames[0] != "history" || list.LastEvaluatedTableName != nil {
		t.Fatalf("ListTables page 2 = %+v, %v", list, err)
	}

	invalid := []dynamodb.CreateTableInput{
		{TableName: aws.String("no-throughput"), KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}},
		{TableName: aws.String("range-first"), BillingMode: ddbtypes.BillingModePayPerRequest, KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeRange}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}},
		{TableName: aws.String("undefined-key"), BillingMode: ddbtypes.BillingModePayPerRequest, KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("other"), AttributeType: ddbtypes.ScalarAttributeTypeS}}},
		{TableName: aws.String("extra-def"), BillingMode: ddbtypes.BillingModePayPerRequest, KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("x"), AttributeType: ddbtypes.ScalarAttributeTypeS}}},
		{TableName: aws.String("x!"), BillingMode: ddbtypes.BillingModePayPerRequest, KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}},
	}
	for _, in := range invalid {
		if _, err := c.CreateTable(ctx, &in); err == nil || apiCode(t, err) != "ValidationException" {
			t.Errorf("CreateTable %s: %v, want ValidationException", aws.ToString(in.TableName), err)
		}
	}

	del, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("history")})
	if err != nil || del.TableDescription.TableStatus != ddbtypes.TableStatusDeleting {
		t.Fatalf("DeleteTable = %+v, %v", del, err)
	}
	if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("history")}); !errors.As(err, &nf) {
		t.Fatalf("second DeleteTable: %v", err)
	}
}

func TestDynamoDBItems(t *testing.T) {
	_, c := newLockSim(t, Options{})
	ctx := context.Background()
	table := aws.String("amiswap-locks")
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}}

	item := map[string]ddbtypes.AttributeValue{
		"pk":   &ddbtypes.AttributeValueMemberS{Value: "k1"},
		"n":    &ddbtypes.AttributeValueMemberN{Value: "1.50"},
		"b":    &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 2}},
		"ok":   &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"none": &ddbtypes.AttributeValueMemberNULL{Value: true},
		"m":    &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"inner": &ddbtypes.AttributeValueMemberS{Value: "v"}}},
		"l":    &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{&ddbtypes.AttributeValueMemberN{Value: "1"}}},
		"ss":   &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"bs":   &ddbtypes.AttributeValueMemberBS{Value: [][]byte{{9}}},
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Item) != len(item) || got.Item["n"].(*ddbtypes.AttributeValueMemberN).Value != "1.5" ||
		string(got.Item["b"].(*ddbtypes.AttributeValueMemberB).Value) != "\x00\x01\x02" ||
		got.Item["m"].(*ddbtypes.AttributeValueMemberM).Value["inner"].(*ddbtypes.AttributeValueMemberS).Value != "v" ||
		len(got.Item["bs"].(*ddbtypes.AttributeValueMemberBS).Value) != 1 {
		t.Fatalf("GetItem = %#v", got.Item)
	}
	proj, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#n, m.inner"), ExpressionAttributeNames: map[string]string{"#n": "n"}})
	if err != nil || len(proj.Item) != 2 {
		t.Fatalf("projected GetItem = %#v, %v", proj, err)
	}
	missing, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "none"}}})
	if err != nil || missing.Item != nil {
		t.Fatalf("GetItem of a missing item = %#v, %v", missing, err)
	}

	badKeys := []map[string]ddbtypes.AttributeValue{
		{"pk": &ddbtypes.AttributeValueMemberN{Value: "1"}},
		{"other": &ddbtypes.AttributeValueMemberS{Value: "k1"}},
		{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}, "extra": &ddbtypes.AttributeValueMemberS{Value: "x"}},
		{"pk": &ddbtypes.AttributeValueMemberS{Value: ""}},
	}
	for _, k := range badKeys {
		if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: k}); err == nil || apiCode(t, err) != "ValidationException" {
			t.Errorf("GetItem with key %v: %v", k, err)
		}
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]ddbtypes.AttributeValue{"x": &ddbtypes.AttributeValueMemberS{Value: "k"}}}); err == nil || apiCode(t, err) != "ValidationException" {
		t.Errorf("PutItem without the key: %v", err)
	}
	big := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "big"}, "data": &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("x", 401*1024)}}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: big}); err == nil || apiCode(t, err) != "ValidationException" {
		t.Errorf("PutItem of 401 KB: %v", err)
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("nope"), Item: item}); apiCode(t, err) != "ResourceNotFoundException" {
		t.Errorf("PutItem to a missing table: %v", err)
	}
	// Unused names and values are refused, as DynamoDB does.
	_, err = c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":unused": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "unused in expressions") {
		t.Errorf("unused value: %v", err)
	}

	// UpdateItem: counters, ALL_NEW / UPDATED_OLD, upsert, key protection.
	up, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
		UpdateExpression:          aws.String("SET n = n + :inc, #s = :s REMOVE none"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":inc": &ddbtypes.AttributeValueMemberN{Value: "0.25"}, ":s": &ddbtypes.AttributeValueMemberS{Value: "held"}},
		ReturnValues:              ddbtypes.ReturnValueAllNew})
	if err != nil {
		t.Fatal(err)
	}
	if up.Attributes["n"].(*ddbtypes.AttributeValueMemberN).Value != "1.75" || up.Attributes["status"].(*ddbtypes.AttributeValueMemberS).Value != "held" || up.Attributes["none"] != nil {
		t.Fatalf("ALL_NEW = %#v", up.Attributes)
	}
	up, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
		UpdateExpression: aws.String("SET n = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: "7"}},
		ReturnValues: ddbtypes.ReturnValueUpdatedOld})
	if err != nil || len(up.Attributes) != 1 || up.Attributes["n"].(*ddbtypes.AttributeValueMemberN).Value != "1.75" {
		t.Fatalf("UPDATED_OLD = %#v, %v", up, err)
	}
	newKey := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "fresh"}}
	up, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: newKey,
		UpdateExpression: aws.String("ADD hits :one"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": &ddbtypes.AttributeValueMemberN{Value: "1"}},
		ReturnValues: ddbtypes.ReturnValueAllNew})
	if err != nil || len(up.Attributes) != 2 || up.Attributes["hits"].(*ddbtypes.AttributeValueMemberN).Value != "1" {
		t.Fatalf("upsert = %#v, %v", up, err)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
		UpdateExpression: aws.String("SET pk = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "part of the key") {
		t.Errorf("updating the key: %v", err)
	}
	_, err = c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key, UpdateExpression: aws.String("SET status = :v"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "x"}}})
	if err == nil || apiCode(t, err) != "ValidationException" || !strings.Contains(err.Error(), "reserved keyword") {
		t.Errorf("reserved word: %v", err)
	}

	del, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key, ReturnValues: ddbtypes.ReturnValueAllOld})
	if err != nil || del.Attributes["pk"] == nil {
		t.Fatalf("DeleteItem ALL_OLD = %#v, %v", del, err)
	}
	if got, _ := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)}); got.Item != nil {
		t.Fatal("item still there after DeleteItem")
	}
}

func TestDynamoDBEventualConsistency(t *testing.T) {
	// A free-running clock so slow that virtual time barely moves during
	// the test; Advance moves it on purpose.
	ts, c := newLockSim(t, Options{Speed: 1e-6})
	ctx := context.Background()
	table := aws.String("amiswap-locks")
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}
	put := func(v string) {
		item := map[string]ddbtypes.AttributeValue{"pk": key["pk"], "v": &ddbtypes.AttributeValueMemberS{Value: v}}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(consistent bool) string {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(consistent)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Item == nil {
			return "<none>"
		}
		return out.Item["v"].(*ddbtypes.AttributeValueMemberS).Value
	}
	put("one")
	if g := get(false); g != "<none>" {
		t.Errorf("eventually consistent read right after the first write = %q, want the item not yet visible", g)
	}
	if g := get(true); g != "one" {
		t.Errorf("consistent read = %q", g)
	}
	ts.Advance(time.Second)
	put("two")
	if g := get(false); g != "one" {
		t.Errorf("eventually consistent read after overwrite = %q, want the previous version", g)
	}
	ts.Advance(time.Second)
	if g := get(false); g != "two" {
		t.Errorf("eventually consistent read a second later = %q", g)
	}

	// On a manual clock reads are always consistent.
	_, c = newLockSim(t, Options{})
	put("three")
	if g := get(false); g != "three" {
		t.Errorf("eventually consistent read on a manual clock = %q", g)
	}
}

func TestDynamoDBScan(t *testing.T) {
	_, c := newLockSim(t, Options{})
	ctx := context.Background()
	table := aws.String("amiswap-locks")
	for i := range 7 {
		item := map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("k%d", i)},
			"n":  &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(i)},
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	pages := 0
	for p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: table, Limit: aws.Int32(3),
		FilterExpression:          aws.String("n >= :min"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":min": &ddbtypes.AttributeValueMemberN{Value: "2"}}}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range out.Items {
			seen = append(seen, it["pk"].(*ddbtypes.AttributeValueMemberS).Value)
		}
	}
	if strings.Join(seen, ",") != "k2,k3,k4,k5,k6" || pages < 3 {
		t.Fatalf("scan saw %v in %d pages", seen, pages)
	}
}

func TestDynamoDBQuery(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	c := dynamodb.NewFromConfig(ts.Cfg)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("history"),
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("group"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("at"), KeyType: ddbtypes.KeyTypeRange},
		},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("group"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("at"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"web", "db"} {
		for i := 1; i <= 12; i++ {
			item := map[string]ddbtypes.AttributeValue{
				"group": &ddbtypes.AttributeValueMemberS{Value: g},
				"at":    &ddbtypes.AttributeValueMemberN{Value: strconv.Itoa(i)},
				"ok":    &ddbtypes.AttributeValueMemberBOOL{Value: i%3 != 0},
			}
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("history"), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := map[string]string{"#g": "group"}
	values := map[string]ddbtypes.AttributeValue{
		":g": &ddbtypes.AttributeValueMemberS{Value: "web"}, ":lo": &ddbtypes.AttributeValueMemberN{Value: "2"},
		":hi": &ddbtypes.AttributeValueMemberN{Value: "10"}, ":t": &ddbtypes.AttributeValueMemberBOOL{Value: true},
	}
	var got []string
	pages := 0
	for p := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
		TableName: aws.String("history"), KeyConditionExpression: aws.String("#g = :g AND at BETWEEN :lo AND :hi"),
		FilterExpression: aws.String("ok = :t"), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(4),
	}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range out.Items {
			got = append(got, it["at"].(*ddbtypes.AttributeValueMemberN).Value)
		}
	}
	// 10..2 descending (numerically, not "9" > "10"), without multiples of 3.
	if strings.Join(got, ",") != "10,8,7,5,4,2" || pages != 3 {
		t.Fatalf("query = %v in %d pages", got, pages)
	}

	bad := map[string]string{
		"at = :lo":                          "missed key schema element: group",
		"#g = :g OR at = :lo":               "Invalid operator used in KeyConditionExpression: OR",
		"#g > :g":                           "not supported",
		"#g = :g AND at = :lo AND at = :hi": "only contain one condition per key",
		"#g = :lo":                          "type does not match",
		"#g = :g AND ok = :t":               "missed key schema element",
	}
	for expr, want := range bad {
		vals := map[string]ddbtypes.AttributeValue{}
		for k, v := range values {
			if strings.Contains(expr, k+" ") || strings.HasSuffix(expr, k) {
				vals[k] = v
			}
		}
		in := &dynamodb.QueryInput{TableName: aws.String("history"), KeyConditionExpression: aws.String(expr), ExpressionAttributeValues: vals}
		if strings.Contains(expr, "#g") {
			in.ExpressionAttributeNames = names
		}
		if _, err := c.Query(ctx, in); err == nil || apiCode(t, err) != "ValidationException" || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want ValidationException with %q", expr, err, want)
		}
	}
}

// lockClient is one owner of the lock, as amiswap's Lock/Unlock steps use it.
type lockClient struct {
	c     *dynamodb.Client
	owner string
}

var lockTable = aws.String("amiswap-locks")

func (l lockClient) acquire(ctx context.Context, now time.Time, ttl time.Duration) error {
	_, err := l.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: lockTable,
		Item: map[string]ddbtypes.AttributeValue{
			"pk":        &ddbtypes.AttributeValueMemberS{Value: "group#web-asg"},
			"owner":     &ddbtypes.AttributeValueMemberS{Value: l.owner},
			"expiresAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(ttl).Unix(), 10)},
		},
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt < :now"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":now": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
	})
	return err
}

func (l lockClient) release(ctx context.Context) (*dynamodb.DeleteItemOutput, error) {
	return l.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           lockTable,
		Key:                                 map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "group#web-asg"}},
		ConditionExpression:                 aws.String("#owner = :me"),
		ExpressionAttributeNames:            map[string]string{"#owner": "owner"},
		ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":me": &ddbtypes.AttributeValueMemberS{Value: l.owner}},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
}

func TestDynamoDBLock(t *testing.T) {
	ts, c := newLockSim(t, Options{})
	ctx := context.Background()

	// Many owners race for the lock: exactly one wins, the rest see
	// ConditionalCheckFailedException.
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	now := ts.Now()
	for i := range racers {
		wg.Go(func() { errs[i] = lockClient{c, fmt.Sprintf("exec-%d", i)}.acquire(ctx, now, time.Hour) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var ccf *ddbtypes.ConditionalCheckFailedException
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("both exec-%d and exec-%d hold the lock", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &ccf):
			t.Fatalf("exec-%d: %v, want ConditionalCheckFailedException", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody got the lock")
	}
	holder := lockClient{c, fmt.Sprintf("exec-%d", winner)}
	other := lockClient{c, fmt.Sprintf("exec-%d", (winner+1)%racers)}

	// A non-owner cannot release it, and learns who holds it.
	_, err := other.release(ctx)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("release by a non-owner: %v", err)
	}
	if o, ok := ccf.Item["owner"].(*ddbtypes.AttributeValueMemberS); !ok || o.Value != holder.owner {
		t.Fatalf("ConditionalCheckFailedException.Item = %#v, want the holder", ccf.Item)
	}
	// The owner can, and then the other can take it.
	if _, err := holder.release(ctx); err != nil {
		t.Fatalf("release by the owner: %v", err)
	}
	if err := other.acquire(ctx, ts.Now(), 10*time.Minute); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}

	// Expiry: while the lease runs the holder keeps it; after it, another
	// owner takes over and the late holder can no longer release.
	if err := holder.acquire(ctx, ts.Now(), time.Hour); !errors.As(err, &ccf) {
		t.Fatalf("acquire of a held lock: %v", err)
	}
	ts.Advance(10*time.Minute + time.Second)
	if err := holder.acquire(ctx, ts.Now(), time.Hour); err != nil {
		t.Fatalf("takeover of an expired lock: %v", err)
	}
	if _, err := other.release(ctx); !errors.As(err, &ccf) {
		t.Fatalf("release by the expired owner: %v", err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: lockTable, ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "group#web-asg"}}})
	if err != nil || got.Item["owner"].(*ddbtypes.AttributeValueMemberS).Value != holder.owner {
		t.Fatalf("lock item = %#v, %v", got, err)
	}

	// Every attempt is in the call log with its outcome.
	failed := 0
	for _, call := range ts.Calls() {
		if call.Service == "dynamodb" && call.ErrorCode == "ConditionalCheckFailedException" {
			failed++
		}
	}
	if want := racers - 1 + 3; failed != want {
		t.Errorf("%d ConditionalCheckFailedException calls logged, want %d", failed, want)
	}
}

// recordingAuthorizer denies one action and records the resources it saw.
type recordingAuthorizer struct {
	mu   sync.Mutex
	deny string
	seen []string
}

func (a *recordingAuthorizer) Authorize(akid, service, action string, res []Resource) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range res {
		a.seen = append(a.seen, action+" "+r.ARN)
	}
	if action == a.deny && len(res) > 0 {
		return fmt.Errorf("%s is not authorized to perform dynamodb:%s on %s", akid, action, res[0].ARN)
	}
	return nil
}

func TestDynamoDBAuthorize(t *testing.T) {
	ts, c := newLockSim(t, Options{})
	ctx := context.Background()
	az := &recordingAuthorizer{deny: "PutItem"}
	ts.SetAuthorizer(az)
	err := lockClient{c, "me"}.acquire(ctx, ts.Now(), time.Minute)
	if code := apiCode(t, err); code != "AccessDeniedException" {
		t.Fatalf("denied PutItem: %v", err)
	}
	if _, err := (lockClient{c, "me"}).release(ctx); apiCode(t, err) != "ConditionalCheckFailedException" {
		t.Fatalf("allowed DeleteItem: %v", err)
	}
	az.mu.Lock()
	defer az.mu.Unlock()
	arn := "arn:aws:dynamodb:us-east-1:123456789012:table/amiswap-locks"
	if strings.Join(az.seen, "|") != "PutItem "+arn+"|DeleteItem "+arn {
		t.Fatalf("authorizer saw %v", az.seen)
	}
	ts.mu.Lock()
	n := len(ts.ddb.tables["amiswap-locks"].items)
	ts.mu.Unlock()
	if n != 0 {
		t.Fatalf("denied PutItem stored an item")
	}
}

// BenchmarkParseCondition measures parsing the lock's condition.
func BenchmarkParseCondition(b *testing.B) {
	names := map[string]string{"#pk": "pk", "#exp": "expiresAt", "#owner": "owner"}
	values := map[string]*attrValue{":now": {kind: "N", s: "1000"}, ":me": strAV("exec-1")}
	for b.Loop() {
		if _, err := parseCondition("ConditionExpression", "attribute_not_exists(#pk) OR #exp < :now OR #owner = :me", newExprEnv(names, values)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDynamoDBLockCycle measures a conditional PutItem and a
// conditional DeleteItem through the SDK over loopback HTTP.
func BenchmarkDynamoDBLockCycle(b *testing.B) {
	ts := newTestSim(b, Options{})
	ctx := context.Background()
	c := dynamodb.NewFromConfig(ts.Cfg)
	if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            lockTable,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		b.Fatal(err)
	}
	l := lockClient{c, "bench"}
	now := ts.Now()
	for b.Loop() {
		if err := l.acquire(ctx, now, time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, err := l.release(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// ddbRaw posts a DynamoDB request body as it stands, unsigned, and returns
// the HTTP status and the decoded JSON response.
func ddbRaw(t *testing.T, ts *testSim, op, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestDynamoDBWriteValidationOrder pins which error PutItem, UpdateItem and
// DeleteItem give when a request has several faults: the checks run in the
// order DynamoDB's do, and the three calls share them.
func TestDynamoDBWriteValidationOrder(t *testing.T) {
	ts, _ := newLockSim(t, Options{})
	call := func(t *testing.T, op, body string) (int, map[string]any) { return ddbRaw(t, ts, op, body) }
	if st, _ := call(t, "PutItem", `{"TableName":"amiswap-locks","Item":{"pk":{"S":"a"},"who":{"S":"me"}}}`); st != 200 {
		t.Fatalf("seed PutItem: HTTP %d", st)
	}
	const tbl, key = `"TableName":"amiswap-locks"`, `"Key":{"pk":{"S":"a"}}`
	cases := []struct {
		name, op, body, code, msg string
	}{
		{"put null item", "PutItem", `{` + tbl + `,"ReturnValues":"ALL_NEW"}`, "ValidationException",
			"1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"},
		{"put return values before on-failure", "PutItem", `{` + tbl + `,"Item":{"pk":{"S":"a"}},"ReturnValues":"ALL_NEW","ReturnValuesOnConditionCheckFailure":"X"}`, "ValidationException",
			"ReturnValues can only be ALL_OLD or NONE, got ALL_NEW"},
		{"put on-failure", "PutItem", `{` + tbl + `,"Item":{"pk":{"S":"a"}},"ReturnValuesOnConditionCheckFailure":"X"}`, "ValidationException",
			"1 validation error detected: Value 'X' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"},
		{"put values without expression", "PutItem", `{` + tbl + `,"Item":{"pk":{"S":"a"}},"ExpressionAttributeValues":{":v":{"S":"x"}}}`, "ValidationException",
			"ExpressionAttributeValues can only be specified when using expressions"},
		{"put unused name", "PutItem", `{` + tbl + `,"Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_not_exists(pk)","ExpressionAttributeNames":{"#o":"who"}}`, "ValidationException",
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#o}"},
		{"put condition before table", "PutItem", `{"TableName":"nope","Item":{"pk":{"S":"a"}},"ConditionExpression":"pk ="}`, "ValidationException", ""},
		{"put no table", "PutItem", `{"TableName":"nope","Item":{"pk":{"S":"a"}}}`, "ResourceNotFoundException",
			"Requested resource not found: Table: nope not found"},
		{"put condition fails", "PutItem", `{` + tbl + `,"Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`, "ConditionalCheckFailedException",
			"The conditional request failed"},
		{"update null key", "UpdateItem", `{` + tbl + `}`, "ValidationException",
			"1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"},
		{"update legacy before return values", "UpdateItem", `{` + tbl + `,` + key + `,"AttributeUpdates":{},"ReturnValues":"X"}`, "ValidationException",
			"the legacy AttributeUpdates parameter is not simulated; use UpdateExpression"},
		{"update return values", "UpdateItem", `{` + tbl + `,` + key + `,"ReturnValues":"X"}`, "ValidationException",
			"ReturnValues can only be ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW or NONE, got X"},
		{"update values with update expression only", "UpdateItem", `{` + tbl + `,` + key + `,"UpdateExpression":"SET who = :v","ExpressionAttributeValues":{":v":{"S":"x"},":w":{"S":"y"}}}`, "ValidationException",
			"Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"},
		{"update key attribute", "UpdateItem", `{` + tbl + `,` + key + `,"UpdateExpression":"SET pk = :v","ExpressionAttributeValues":{":v":{"S":"x"}}}`, "ValidationException",
			"One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"},
		{"update condition fails", "UpdateItem", `{` + tbl + `,` + key + `,"UpdateExpression":"SET who = :v","ConditionExpression":"who = :w","ExpressionAttributeValues":{":v":{"S":"x"},":w":{"S":"y"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`, "ConditionalCheckFailedException",
			"The conditional request failed"},
		{"delete return values", "DeleteItem", `{` + tbl + `,` + key + `,"ReturnValues":"ALL_NEW"}`, "ValidationException",
			"ReturnValues can only be ALL_OLD or NONE, got ALL_NEW"},
		{"delete condition fails", "DeleteItem", `{` + tbl + `,` + key + `,"ConditionExpression":"attribute_not_exists(pk)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`, "ConditionalCheckFailedException",
			"The conditional request failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := call(t, tc.op, tc.body)
			code, _ := out["__type"].(string)
			if st != 400 || !strings.HasSuffix(code, tc.code) {
				t.Fatalf("HTTP %d %v, want 400 %s", st, out, tc.code)
			}
			if msg, _ := out["message"].(string); tc.msg != "" && msg != tc.msg {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			if tc.code == "ConditionalCheckFailedException" {
				item, _ := out["Item"].(map[string]any)
				if who, _ := item["who"].(map[string]any); who["S"] != "me" {
					t.Errorf("no ALL_OLD item in %v", out)
				}
			}
		})
	}
}

// TestDynamoDBReadRequests pins what Scan and Query share: the order of their
// checks, and the shape of a page (Count, ScannedCount, Items unless Select is
// COUNT, LastEvaluatedKey).
func TestDynamoDBReadRequests(t *testing.T) {
	ts, _ := newLockSim(t, Options{})
	for _, k := range []string{"a", "b", "c"} {
		if st, out := ddbRaw(t, ts, "PutItem", `{"TableName":"amiswap-locks","Item":{"pk":{"S":"`+k+`"},"who":{"S":"me"}}}`); st != 200 {
			t.Fatalf("PutItem %s: HTTP %d %v", k, st, out)
		}
	}
	const tbl = `"TableName":"amiswap-locks"`
	const kc = `"KeyConditionExpression":"pk = :k","ExpressionAttributeValues":{":k":{"S":"b"}}`
	errs := []struct {
		name, op, body, code, msg string
	}{
		{"scan condition", "Scan", `{` + tbl + `,"ConditionExpression":"x","Select":"X"}`, "ValidationException",
			"ConditionExpression is not valid for Scan; use FilterExpression"},
		{"query condition", "Query", `{` + tbl + `,` + kc + `,"ConditionExpression":"x"}`, "ValidationException",
			"ConditionExpression is not valid for Query; use FilterExpression"},
		{"query no key condition before condition", "Query", `{` + tbl + `,"ConditionExpression":"x"}`, "ValidationException",
			"Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."},
		{"scan names without expression", "Scan", `{` + tbl + `,"ExpressionAttributeNames":{"#w":"who"}}`, "ValidationException",
			"ExpressionAttributeNames can only be specified when using expressions"},
		{"scan unused before select", "Scan", `{` + tbl + `,"ProjectionExpression":"pk","ExpressionAttributeNames":{"#w":"who"},"Select":"X"}`, "ValidationException",
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#w}"},
		{"query select before limit", "Query", `{` + tbl + `,` + kc + `,"Select":"X","Limit":0}`, "ValidationException",
			"1 validation error detected: Value 'X' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES]"},
		{"scan limit before table", "Scan", `{"TableName":"nope","Limit":0}`, "ValidationException",
			"1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"query no table", "Query", `{"TableName":"nope",` + kc + `}`, "ResourceNotFoundException",
			"Requested resource not found: Table: nope not found"},
		{"scan bad start key", "Scan", `{` + tbl + `,"ExclusiveStartKey":{"pk":{"N":"1"}}}`, "ValidationException",
			"The provided starting key is invalid: The provided key element does not match the schema"},
		{"query empty start key", "Query", `{` + tbl + `,` + kc + `,"ExclusiveStartKey":{"pk":{"S":""}}}`, "ValidationException",
			"The provided starting key is invalid: One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			st, out := ddbRaw(t, ts, tc.op, tc.body)
			if code, _ := out["__type"].(string); st != 400 || !strings.HasSuffix(code, tc.code) || out["message"] != tc.msg {
				t.Errorf("HTTP %d %v, want 400 %s %q", st, out, tc.code, tc.msg)
			}
		})
	}
	pages := []struct {
		name, op, body, want string
	}{
		{"scan all", "Scan", `{` + tbl + `,"ProjectionExpression":"pk"}`,
			`{"Count":3,"Items":[{"pk":{"S":"a"}},{"pk":{"S":"b"}},{"pk":{"S":"c"}}],"ScannedCount":3}`},
		{"scan ending on its limit says there may be more", "Scan", `{` + tbl + `,"ExclusiveStartKey":{"pk":{"S":"a"}},"Limit":2,"Select":"COUNT"}`,
			`{"Count":2,"LastEvaluatedKey":{"pk":{"S":"c"}},"ScannedCount":2}`},
		{"scan filtered", "Scan", `{` + tbl + `,"FilterExpression":"pk <> :a","ExpressionAttributeValues":{":a":{"S":"a"}},"Limit":2}`,
			`{"Count":1,"Items":[{"pk":{"S":"b"},"who":{"S":"me"}}],"LastEvaluatedKey":{"pk":{"S":"b"}},"ScannedCount":2}`},
		{"query ending on its limit says no more", "Query", `{` + tbl + `,` + kc + `,"Limit":1}`,
			`{"Count":1,"Items":[{"pk":{"S":"b"},"who":{"S":"me"}}],"ScannedCount":1}`},
		{"query count", "Query", `{` + tbl + `,` + kc + `,"Select":"COUNT","FilterExpression":"who = :k"}`,
			`{"Count":0,"ScannedCount":1}`},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			st, out := ddbRaw(t, ts, tc.op, tc.body)
			got, _ := json.Marshal(out)
			if st != 200 || string(got) != tc.want {
				t.Errorf("HTTP %d %s, want %s", st, got, tc.want)
			}
		})
	}
}
