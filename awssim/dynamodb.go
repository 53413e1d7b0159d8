package awssim

// This file simulates Amazon DynamoDB (JSON 1.0, DynamoDB_20120810): tables
// with a HASH or HASH+RANGE key; the item calls a lock needs — PutItem,
// GetItem, DeleteItem and UpdateItem with condition and update expressions
// (dynamodb_expr.go); and Scan and Query. On a free-running clock an
// eventually consistent GetItem may return the previous version of an item
// for up to a second of virtual time after a write, as DynamoDB's replicas
// may; ConsistentRead always sees the latest.

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// ddbMaxItemSize is DynamoDB's item size limit.
const ddbMaxItemSize = 400 * 1024

// ddbStore holds the DynamoDB tables.
type ddbStore struct {
	tables map[string]*ddbTable // by name
}

type ddbKeyElem struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type ddbAttrDef struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type ddbTable struct {
	name        string
	arn         string
	id          string
	keySchema   []ddbKeyElem
	attrDefs    []ddbAttrDef
	billingMode string
	rcu, wcu    int64
	protected   bool
	tags        map[string]string
	created     time.Time
	items       map[string]ddbItem
	// stale holds, per key, the version an eventually consistent read may
	// still return and until when.
	stale map[string]ddbStaleRead
}

type ddbStaleRead struct {
	item  ddbItem // nil: the item did not exist
	until time.Time
}

func init() {
	registerStore("dynamodb", func(s *Sim) {
		s.ddb = ddbStore{tables: map[string]*ddbTable{}}
	}, func(s *Sim) any {
		out := []map[string]any{}
		for _, name := range slices.Sorted(maps.Keys(s.ddb.tables)) {
			t := s.ddb.tables[name]
			items := []ddbItem{}
			for _, k := range slices.Sorted(maps.Keys(t.items)) {
				items = append(items, t.items[k])
			}
			out = append(out, map[string]any{"table": t.describe("ACTIVE"), "items": items})
		}
		return map[string]any{"tables": out}
	})
	registerJSON("dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0", map[string]jsonHandler{
		"CreateTable":   ddbCreateTable,
		"DescribeTable": ddbDescribeTable,
		"DeleteTable":   ddbDeleteTable,
		"ListTables":    ddbListTables,
		"PutItem":       ddbPutItem,
		"GetItem":       ddbGetItem,
		"DeleteItem":    ddbDeleteItem,
		"UpdateItem":    ddbUpdateItem,
		"Scan":          ddbScan,
		"Query":         ddbQuery,
	})
}

// ---- tables ------------------------------------------------------------------

type ddbThroughput struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

type ddbBillingSummary struct {
	BillingMode string `json:"BillingMode"`
}

type ddbTableDesc struct {
	TableName                 string             `json:"TableName"`
	TableArn                  string             `json:"TableArn"`
	TableId                   string             `json:"TableId"`
	TableStatus               string             `json:"TableStatus"`
	KeySchema                 []ddbKeyElem       `json:"KeySchema"`
	AttributeDefinitions      []ddbAttrDef       `json:"AttributeDefinitions"`
	CreationDateTime          epochSeconds       `json:"CreationDateTime"`
	ItemCount                 int64              `json:"ItemCount"`
	TableSizeBytes            int64              `json:"TableSizeBytes"`
	ProvisionedThroughput     ddbThroughput      `json:"ProvisionedThroughput"`
	BillingModeSummary        *ddbBillingSummary `json:"BillingModeSummary,omitempty"`
	DeletionProtectionEnabled bool               `json:"DeletionProtectionEnabled"`
}

func (t *ddbTable) describe(status string) ddbTableDesc {
	d := ddbTableDesc{
		TableName: t.name, TableArn: t.arn, TableId: t.id, TableStatus: status,
		KeySchema: t.keySchema, AttributeDefinitions: t.attrDefs, CreationDateTime: epochSeconds(t.created),
		ItemCount:                 int64(len(t.items)),
		ProvisionedThroughput:     ddbThroughput{ReadCapacityUnits: t.rcu, WriteCapacityUnits: t.wcu},
		DeletionProtectionEnabled: t.protected,
	}
	for _, it := range t.items {
		d.TableSizeBytes += int64(it.size())
	}
	if t.billingMode == "PAY_PER_REQUEST" {
		d.BillingModeSummary = &ddbBillingSummary{BillingMode: t.billingMode}
	}
	return d
}

func validTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// tableName validates a TableName member, which may also be a table ARN.
func tableName(name string) (string, error) {
	if name == "" {
		return "", ddbValidation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	if strings.HasPrefix(name, "arn:") {
		if _, after, ok := strings.Cut(name, ":table/"); ok {
			name = after
		}
	}
	if !validTableName(name) {
		return "", ddbValidation("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255", name)
	}
	return name, nil
}

// table finds a table and checks the caller may use it.
func (s *Sim) table(r *request, name string) (*ddbTable, error) {
	name, err := tableName(name)
	if err != nil {
		return nil, err
	}
	t, ok := s.ddb.tables[name]
	if !ok {
		return nil, errorf("ResourceNotFoundException", "Requested resource not found: Table: %s not found", name)
	}
	if err := s.authorize(r, Resource{ARN: t.arn, Tags: t.tags}); err != nil {
		return nil, err
	}
	return t, nil
}

func ddbCreateTable(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		TableName                 string
		KeySchema                 []ddbKeyElem
		AttributeDefinitions      []ddbAttrDef
		BillingMode               string
		ProvisionedThroughput     *struct{ ReadCapacityUnits, WriteCapacityUnits int64 }
		Tags                      []struct{ Key, Value string }
		DeletionProtectionEnabled bool
		GlobalSecondaryIndexes    json.RawMessage
		LocalSecondaryIndexes     json.RawMessage
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	name, err := tableName(in.TableName)
	if err != nil {
		return nil, err
	}
	if len(in.GlobalSecondaryIndexes) > 0 || len(in.LocalSecondaryIndexes) > 0 {
		return nil, ddbValidation("secondary indexes are not simulated by the amiswap simulator")
	}
	if err := checkKeySchema(in.KeySchema, in.AttributeDefinitions); err != nil {
		return nil, err
	}
	t := &ddbTable{
		name: name, arn: s.arn("dynamodb", "table/"+name), keySchema: in.KeySchema, attrDefs: in.AttributeDefinitions,
		billingMode: in.BillingMode, protected: in.DeletionProtectionEnabled, created: s.clock.now,
		items: map[string]ddbItem{}, stale: map[string]ddbStaleRead{},
	}
	switch in.BillingMode {
	case "", "PROVISIONED":
		t.billingMode = "PROVISIONED"
		pt := in.ProvisionedThroughput
		if pt == nil || pt.ReadCapacityUnits == 0 || pt.WriteCapacityUnits == 0 {
			return nil, ddbValidation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if pt.ReadCapacityUnits < 1 || pt.WriteCapacityUnits < 1 {
			return nil, ddbValidation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must be at least 1")
		}
		t.rcu, t.wcu = pt.ReadCapacityUnits, pt.WriteCapacityUnits
	case "PAY_PER_REQUEST":
		if pt := in.ProvisionedThroughput; pt != nil && (pt.ReadCapacityUnits != 0 || pt.WriteCapacityUnits != 0) {
			return nil, ddbValidation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", in.BillingMode)
	}
	for _, tag := range in.Tags {
		if tag.Key == "" {
			return nil, ddbValidation("One or more parameter values were invalid: a tag key must not be empty")
		}
		if t.tags == nil {
			t.tags = map[string]string{}
		}
		t.tags[tag.Key] = tag.Value
	}
	if err := s.authorize(r, Resource{ARN: t.arn, Tags: t.tags}); err != nil {
		return nil, err
	}
	if _, ok := s.ddb.tables[name]; ok {
		return nil, errorf("ResourceInUseException", "Table already exists: %s", name)
	}
	t.id = strings.TrimPrefix(s.newID("tbl"), "tbl-")
	s.ddb.tables[name] = t
	return map[string]any{"TableDescription": t.describe("ACTIVE")}, nil
}

func checkKeySchema(ks []ddbKeyElem, defs []ddbAttrDef) error {
	if len(ks) == 0 {
		return ddbValidation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null")
	}
	if len(ks) > 2 {
		return ddbValidation("1 validation error detected: Value '%v' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", ks)
	}
	for i, k := range ks {
		if k.AttributeName == "" {
			return ddbValidation("1 validation error detected: Value null at 'keySchema.%d.member.attributeName' failed to satisfy constraint: Member must not be null", i+1)
		}
		want := "HASH"
		if i == 1 {
			want = "RANGE"
		}
		if k.KeyType != "HASH" && k.KeyType != "RANGE" {
			return ddbValidation("1 validation error detected: Value '%s' at 'keySchema.%d.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", k.KeyType, i+1)
		}
		if k.KeyType != want {
			if i == 0 {
				return ddbValidation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
			}
			return ddbValidation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
		}
	}
	if len(ks) == 2 && ks[0].AttributeName == ks[1].AttributeName {
		return ddbValidation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	defined := map[string]string{}
	for _, d := range defs {
		if d.AttributeType != "S" && d.AttributeType != "N" && d.AttributeType != "B" {
			return ddbValidation("1 validation error detected: Value '%s' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
		if _, dup := defined[d.AttributeName]; dup {
			return ddbValidation("Cannot have two attributes with the same name: %s", d.AttributeName)
		}
		defined[d.AttributeName] = d.AttributeType
	}
	var keys []string
	for _, k := range ks {
		keys = append(keys, k.AttributeName)
		if _, ok := defined[k.AttributeName]; !ok {
			return ddbValidation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: %v, AttributeDefinitions: %v", keys, slices.Sorted(maps.Keys(defined)))
		}
	}
	if len(defined) != len(ks) {
		return ddbValidation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	return nil
}

func ddbDescribeTable(s *Sim, r *request, body []byte) (any, error) {
	var in struct{ TableName string }
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(r, in.TableName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t.describe("ACTIVE")}, nil
}

func ddbDeleteTable(s *Sim, r *request, body []byte) (any, error) {
	var in struct{ TableName string }
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	t, err := s.table(r, in.TableName)
	if err != nil {
		return nil, err
	}
	if t.protected {
		return nil, ddbValidation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	}
	delete(s.ddb.tables, t.name)
	return map[string]any{"TableDescription": t.describe("DELETING")}, nil
}

func ddbListTables(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		ExclusiveStartTableName string
		Limit                   *int
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, ddbValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *in.Limit)
		}
		limit = *in.Limit
	}
	names := []string{}
	for _, n := range slices.Sorted(maps.Keys(s.ddb.tables)) {
		if n > in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	out["TableNames"] = names
	return out, nil
}

// ---- keys ----------------------------------------------------------------------

func (t *ddbTable) keyType(name string) string {
	for _, d := range t.attrDefs {
		if d.AttributeName == name {
			return d.AttributeType
		}
	}
	return ""
}

// itemKey returns the storage key of an item (fromItem) or of a Key
// member, which must hold exactly the key attributes.
func (t *ddbTable) itemKey(it ddbItem, fromItem bool) (string, error) {
	if !fromItem && len(it) != len(t.keySchema) {
		return "", ddbValidation("The provided key element does not match the schema")
	}
	var parts []string
	for _, k := range t.keySchema {
		v, ok := it[k.AttributeName]
		want := t.keyType(k.AttributeName)
		switch {
		case !ok && fromItem:
			return "", ddbValidation("One or more parameter values were invalid: Missing the key %s in the item", k.AttributeName)
		case !ok:
			return "", ddbValidation("The provided key element does not match the schema")
		case v.kind != want && fromItem:
			return "", ddbValidation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", k.AttributeName, want, v.kind)
		case v.kind != want:
			return "", ddbValidation("The provided key element does not match the schema")
		case v.kind == "S" && v.s == "" || v.kind == "B" && len(v.b) == 0:
			return "", ddbValidation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s",
				map[string]string{"S": "string", "B": "binary"}[v.kind], k.AttributeName)
		}
		parts = append(parts, v.keyString())
	}
	return strings.Join(parts, "\x00"), nil
}

// keyOnly returns the key attributes of an item.
func (t *ddbTable) keyOnly(it ddbItem) ddbItem {
	out := ddbItem{}
	for _, k := range t.keySchema {
		out[k.AttributeName] = it[k.AttributeName].clone()
	}
	return out
}

// staleWindow is how long an eventually consistent read may lag a write:
// up to a second of virtual time, on a free-running clock only. On a manual
// clock time stands still between calls, so a window would never close and
// reads are always consistent there.
func (s *Sim) staleWindow() time.Duration {
	if s.opts.ConsistencyDelay < 0 || s.clock.speed <= 0 {
		return 0
	}
	return min(s.opts.ConsistencyDelay, time.Second)
}

// ddbWrite stores (or, with nil, deletes) an item, remembering the previous
// version for eventually consistent readers.
func (s *Sim) ddbWrite(t *ddbTable, key string, old, next ddbItem) {
	if w := s.staleWindow(); w > 0 {
		t.stale[key] = ddbStaleRead{item: old, until: s.clock.now.Add(w)}
	}
	if next == nil {
		delete(t.items, key)
	} else {
		t.items[key] = next
	}
}

// ---- expressions in requests ------------------------------------------------------

// ddbExprMembers are the expression members the item calls share.
type ddbExprMembers struct {
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]*attrValue
	ConditionExpression       *string
	// Legacy conditional parameters, which the simulator refuses.
	Expected            json.RawMessage
	ConditionalOperator string
}

// env validates the names and values maps; used reports whether the
// request has any expression at all.
func (m *ddbExprMembers) env(used bool) (*exprEnv, error) {
	if len(m.Expected) > 0 || m.ConditionalOperator != "" {
		return nil, ddbValidation("the legacy Expected and ConditionalOperator parameters are not simulated; use ConditionExpression")
	}
	if m.ExpressionAttributeNames != nil {
		if !used {
			return nil, ddbValidation("ExpressionAttributeNames can only be specified when using expressions")
		}
		if len(m.ExpressionAttributeNames) == 0 {
			return nil, ddbValidation("ExpressionAttributeNames must not be empty")
		}
		for k, v := range m.ExpressionAttributeNames {
			if len(k) < 2 || k[0] != '#' {
				return nil, ddbValidation("ExpressionAttributeNames contains invalid key: Syntax error; key: %q", k)
			}
			if v == "" {
				return nil, ddbValidation("ExpressionAttributeNames contains invalid value: Empty attribute name for key %s", k)
			}
		}
	}
	if m.ExpressionAttributeValues != nil {
		if !used {
			return nil, ddbValidation("ExpressionAttributeValues can only be specified when using expressions")
		}
		if len(m.ExpressionAttributeValues) == 0 {
			return nil, ddbValidation("ExpressionAttributeValues must not be empty")
		}
		for k, v := range m.ExpressionAttributeValues {
			if len(k) < 2 || k[0] != ':' {
				return nil, ddbValidation("ExpressionAttributeValues contains invalid key: Syntax error; key: %q", k)
			}
			if v == nil {
				return nil, ddbValidation("ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key %s", k)
			}
		}
	}
	return newExprEnv(m.ExpressionAttributeNames, m.ExpressionAttributeValues), nil
}

// condition parses ConditionExpression, if any.
func (m *ddbExprMembers) condition(env *exprEnv) (*cond, error) {
	if m.ConditionExpression == nil {
		return nil, nil
	}
	return parseCondition("ConditionExpression", *m.ConditionExpression, env)
}

// checkCondition fails with ConditionalCheckFailedException when c does not
// hold for old, carrying the item when the caller asked for ALL_OLD.
func checkCondition(c *cond, old ddbItem, onFailure string) error {
	if c == nil || c.eval(old) {
		return nil
	}
	ae := errorf("ConditionalCheckFailedException", "The conditional request failed")
	if onFailure == "ALL_OLD" && old != nil {
		ae.Extra = map[string]any{"Item": old}
	}
	return ae
}

func checkReturnValues(rv string, allowed ...string) error {
	if rv == "" || rv == "NONE" || slices.Contains(allowed, rv) {
		return nil
	}
	return ddbValidation("ReturnValues can only be %s or NONE, got %s", strings.Join(allowed, ", "), rv)
}

func checkOnFailure(v string) error {
	if v != "" && v != "NONE" && v != "ALL_OLD" {
		return ddbValidation("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", v)
	}
	return nil
}

// requireItem checks a required Item or Key member: present, and well formed.
func requireItem(it ddbItem, member string) error {
	if it == nil {
		return ddbValidation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", strings.ToLower(member[:1])+member[1:])
	}
	return checkItem(it, member)
}

// ddbWriteMembers are the request members PutItem, UpdateItem and DeleteItem
// share: the table, what to return, and the condition on the current item.
// Its methods are the steps those calls share, in the order they take them.
type ddbWriteMembers struct {
	TableName                           string
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	ddbExprMembers
}

// checkReturns checks ReturnValues (NONE or one of allowed) and
// ReturnValuesOnConditionCheckFailure.
func (w *ddbWriteMembers) checkReturns(allowed ...string) error {
	if err := checkReturnValues(w.ReturnValues, allowed...); err != nil {
		return err
	}
	return checkOnFailure(w.ReturnValuesOnConditionCheckFailure)
}

// expressions validates the names and values maps, lets parse (nil when the
// call has none) read the call's own expression, parses ConditionExpression
// and checks that every name and value was used. other tells whether the call
// has an expression besides the condition.
func (w *ddbWriteMembers) expressions(other bool, parse func(*exprEnv) error) (*cond, error) {
	env, err := w.env(other || w.ConditionExpression != nil)
	if err != nil {
		return nil, err
	}
	if parse != nil {
		if err := parse(env); err != nil {
			return nil, err
		}
	}
	c, err := w.condition(env)
	if err != nil {
		return nil, err
	}
	if err := env.checkUnused(); err != nil {
		return nil, err
	}
	return c, nil
}

// target finds the table and the key of it: a whole item when fromItem, or
// a Key.
func (w *ddbWriteMembers) target(s *Sim, r *request, it ddbItem, fromItem bool) (*ddbTable, string, error) {
	t, err := s.table(r, w.TableName)
	if err != nil {
		return nil, "", err
	}
	key, err := t.itemKey(it, fromItem)
	if err != nil {
		return nil, "", err
	}
	return t, key, nil
}

// current returns the item stored under key, or ConditionalCheckFailedException
// when c does not hold for it.
func (w *ddbWriteMembers) current(t *ddbTable, key string, c *cond) (ddbItem, error) {
	old := t.items[key]
	if err := checkCondition(c, old, w.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	return old, nil
}

// ---- items -------------------------------------------------------------------------

func ddbPutItem(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Item ddbItem
		ddbWriteMembers
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := requireItem(in.Item, "Item"); err != nil {
		return nil, err
	}
	if err := in.checkReturns("ALL_OLD"); err != nil {
		return nil, err
	}
	c, err := in.expressions(false, nil)
	if err != nil {
		return nil, err
	}
	t, key, err := in.target(s, r, in.Item, true)
	if err != nil {
		return nil, err
	}
	if in.Item.size() > ddbMaxItemSize {
		return nil, ddbValidation("Item size has exceeded the maximum allowed size")
	}
	old, err := in.current(t, key, c)
	if err != nil {
		return nil, err
	}
	s.ddbWrite(t, key, old, in.Item.clone())
	out := map[string]any{}
	if in.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	return out, nil
}

func ddbGetItem(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		TableName                string
		Key                      ddbItem
		ConsistentRead           bool
		ProjectionExpression     *string
		ExpressionAttributeNames map[string]string
		AttributesToGet          []string
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := requireItem(in.Key, "Key"); err != nil {
		return nil, err
	}
	m := ddbExprMembers{ExpressionAttributeNames: in.ExpressionAttributeNames}
	env, err := m.env(in.ProjectionExpression != nil)
	if err != nil {
		return nil, err
	}
	var paths []docPath
	if in.ProjectionExpression != nil {
		if len(in.AttributesToGet) > 0 {
			return nil, ddbValidation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
		}
		if paths, err = parseProjection(*in.ProjectionExpression, env); err != nil {
			return nil, err
		}
	}
	for _, a := range in.AttributesToGet {
		paths = append(paths, docPath{{name: a}})
	}
	if err := env.checkUnused(); err != nil {
		return nil, err
	}
	t, err := s.table(r, in.TableName)
	if err != nil {
		return nil, err
	}
	key, err := t.itemKey(in.Key, false)
	if err != nil {
		return nil, err
	}
	it := t.items[key]
	if st, ok := t.stale[key]; ok {
		if !s.clock.now.Before(st.until) {
			delete(t.stale, key)
		} else if !in.ConsistentRead {
			it = st.item
		}
	}
	out := map[string]any{}
	if it != nil {
		if paths != nil {
			it = project(it, paths)
		}
		out["Item"] = it
	}
	return out, nil
}

func ddbDeleteItem(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Key ddbItem
		ddbWriteMembers
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := requireItem(in.Key, "Key"); err != nil {
		return nil, err
	}
	if err := in.checkReturns("ALL_OLD"); err != nil {
		return nil, err
	}
	c, err := in.expressions(false, nil)
	if err != nil {
		return nil, err
	}
	t, key, err := in.target(s, r, in.Key, false)
	if err != nil {
		return nil, err
	}
	old, err := in.current(t, key, c)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if old != nil {
		s.ddbWrite(t, key, old, nil)
		if in.ReturnValues == "ALL_OLD" {
			out["Attributes"] = old
		}
	}
	return out, nil
}

func ddbUpdateItem(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Key              ddbItem
		UpdateExpression *string
		AttributeUpdates json.RawMessage
		ddbWriteMembers
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if err := requireItem(in.Key, "Key"); err != nil {
		return nil, err
	}
	if len(in.AttributeUpdates) > 0 {
		return nil, ddbValidation("the legacy AttributeUpdates parameter is not simulated; use UpdateExpression")
	}
	if err := in.checkReturns("ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"); err != nil {
		return nil, err
	}
	var actions []updateAction
	c, err := in.expressions(in.UpdateExpression != nil, func(env *exprEnv) (err error) {
		if in.UpdateExpression != nil {
			actions, err = parseUpdate(*in.UpdateExpression, env)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	t, key, err := in.target(s, r, in.Key, false)
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		for _, k := range t.keySchema {
			if a.path[0].name == k.AttributeName {
				return nil, ddbValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", k.AttributeName)
			}
		}
	}
	old, err := in.current(t, key, c)
	if err != nil {
		return nil, err
	}
	base := old
	if base == nil {
		base = t.keyOnly(in.Key)
	}
	next, err := applyUpdate(base, actions)
	if err != nil {
		return nil, err
	}
	if next.size() > ddbMaxItemSize {
		return nil, ddbValidation("Item size to update has exceeded the maximum allowed size")
	}
	s.ddbWrite(t, key, old, next)
	out := map[string]any{}
	var attrs ddbItem
	switch in.ReturnValues {
	case "ALL_OLD":
		attrs = old
	case "ALL_NEW":
		attrs = next
	case "UPDATED_OLD", "UPDATED_NEW":
		src := next
		if in.ReturnValues == "UPDATED_OLD" {
			src = old
		}
		attrs = ddbItem{}
		for _, n := range topNames(actions) {
			if v, ok := src[n]; ok {
				attrs[n] = v
			}
		}
	}
	if len(attrs) > 0 {
		out["Attributes"] = attrs.clone()
	}
	return out, nil
}

// ddbReadMembers are the request members Scan and Query share.
type ddbReadMembers struct {
	TableName            string
	FilterExpression     *string
	ProjectionExpression *string
	Limit                *int
	ExclusiveStartKey    ddbItem
	ConsistentRead       bool
	Select               string
	ddbExprMembers
}

// ddbRead is a checked Scan or Query: its table, and the filter, projection
// and limit (-1 for none) that shape its page.
type ddbRead struct {
	t         *ddbTable
	filter    *cond
	paths     []docPath
	limit     int
	countOnly bool
}

// check takes the steps Scan and Query share, in order: it refuses a
// ConditionExpression, validates the names and values maps, lets parse (nil
// for Scan) read the call's own expression, parses FilterExpression and
// ProjectionExpression, checks that every name and value was used, checks
// Select and Limit, and finds the table. op names the call in messages.
func (m *ddbReadMembers) check(s *Sim, r *request, op string, parse func(*exprEnv) error) (*ddbRead, error) {
	if m.ConditionExpression != nil {
		return nil, ddbValidation("ConditionExpression is not valid for %s; use FilterExpression", op)
	}
	env, err := m.env(parse != nil || m.FilterExpression != nil || m.ProjectionExpression != nil)
	if err != nil {
		return nil, err
	}
	if parse != nil {
		if err := parse(env); err != nil {
			return nil, err
		}
	}
	q := &ddbRead{limit: -1, countOnly: m.Select == "COUNT"}
	if m.FilterExpression != nil {
		if q.filter, err = parseCondition("FilterExpression", *m.FilterExpression, env); err != nil {
			return nil, err
		}
	}
	if m.ProjectionExpression != nil {
		if q.paths, err = parseProjection(*m.ProjectionExpression, env); err != nil {
			return nil, err
		}
	}
	if err := env.checkUnused(); err != nil {
		return nil, err
	}
	if m.Select != "" && m.Select != "ALL_ATTRIBUTES" && m.Select != "COUNT" && m.Select != "SPECIFIC_ATTRIBUTES" {
		return nil, ddbValidation("1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES]", m.Select)
	}
	if m.Limit != nil {
		if *m.Limit < 1 {
			return nil, ddbValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *m.Limit)
		}
		q.limit = *m.Limit
	}
	if q.t, err = s.table(r, m.TableName); err != nil {
		return nil, err
	}
	return q, nil
}

// page reads items in order up to the limit and keeps, projected, those that
// pass the filter; last is the last item read.
func (q *ddbRead) page(items []ddbItem) (kept []ddbItem, scanned int, last ddbItem) {
	kept = []ddbItem{}
	for _, it := range items {
		if scanned == q.limit {
			break
		}
		scanned++
		last = it
		if q.filter != nil && !q.filter.eval(it) {
			continue
		}
		if q.paths != nil {
			it = project(it, q.paths)
		}
		kept = append(kept, it)
	}
	return kept, scanned, last
}

// output is the response for a page; more tells whether the page ends with a
// LastEvaluatedKey, the key of last.
func (q *ddbRead) output(kept []ddbItem, scanned int, last ddbItem, more bool) map[string]any {
	out := map[string]any{"Count": len(kept), "ScannedCount": scanned}
	if !q.countOnly {
		out["Items"] = kept
	}
	if more {
		out["LastEvaluatedKey"] = q.t.keyOnly(last)
	}
	return out
}

func ddbScan(s *Sim, r *request, body []byte) (any, error) {
	var in ddbReadMembers
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	q, err := in.check(s, r, "Scan", nil)
	if err != nil {
		return nil, err
	}
	start := ""
	if in.ExclusiveStartKey != nil {
		if err := checkItem(in.ExclusiveStartKey, "ExclusiveStartKey"); err != nil {
			return nil, err
		}
		if start, err = q.t.itemKey(in.ExclusiveStartKey, false); err != nil {
			return nil, ddbValidation("The provided starting key is invalid: %s", strings.TrimPrefix(asAPIError(err).Message, "One or more parameter values were invalid: "))
		}
	}
	var after []ddbItem
	for _, k := range slices.Sorted(maps.Keys(q.t.items)) {
		if start == "" || k > start {
			after = append(after, q.t.items[k])
		}
	}
	kept, scanned, last := q.page(after)
	return q.output(kept, scanned, last, q.limit > 0 && scanned == q.limit && last != nil), nil
}

// checkKeyCondition accepts what DynamoDB accepts as a KeyConditionExpression:
// the hash key compared with = to a value, optionally AND one condition on
// the range key (=, <, <=, >, >=, BETWEEN, begins_with).
func (t *ddbTable) checkKeyCondition(c *cond) error {
	var parts []*cond
	var flatten func(c *cond) error
	flatten = func(c *cond) error {
		switch c.op {
		case "AND":
			if err := flatten(c.kids[0]); err != nil {
				return err
			}
			return flatten(c.kids[1])
		case "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with":
			parts = append(parts, c)
			return nil
		}
		return ddbValidation("Invalid operator used in KeyConditionExpression: %s", c.op)
	}
	if err := flatten(c); err != nil {
		return err
	}
	hash := t.keySchema[0].AttributeName
	rng := ""
	if len(t.keySchema) == 2 {
		rng = t.keySchema[1].AttributeName
	}
	seen := map[string]bool{}
	for _, p := range parts {
		a := p.args[0]
		if len(a.path) != 1 || a.path[0].isIdx || slices.ContainsFunc(p.args[1:], func(o *operand) bool { return o.value == nil }) {
			return ddbValidation("Invalid KeyConditionExpression: a condition must compare a key attribute with expression attribute values")
		}
		name := a.path[0].name
		switch {
		case name != hash && name != rng:
			return ddbValidation("Query condition missed key schema element: %s", hash)
		case seen[name]:
			return ddbValidation("KeyConditionExpressions must only contain one condition per key")
		case name == hash && p.op != "=":
			return ddbValidation("Query key condition not supported")
		}
		for _, v := range p.args[1:] {
			if v.value.kind != t.keyType(name) {
				return ddbValidation("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
		}
		seen[name] = true
	}
	if !seen[hash] {
		return ddbValidation("Query condition missed key schema element: %s", hash)
	}
	return nil
}

func ddbQuery(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		IndexName              string
		KeyConditionExpression *string
		ScanIndexForward       *bool
		KeyConditions          json.RawMessage
		ddbReadMembers
	}
	if err := ddbDecode(body, &in); err != nil {
		return nil, err
	}
	if in.IndexName != "" {
		return nil, ddbValidation("secondary indexes are not simulated by the amiswap simulator")
	}
	if len(in.KeyConditions) > 0 {
		return nil, ddbValidation("the legacy KeyConditions parameter is not simulated; use KeyConditionExpression")
	}
	if in.KeyConditionExpression == nil {
		return nil, ddbValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	var keyCond *cond
	q, err := in.check(s, r, "Query", func(env *exprEnv) (err error) {
		keyCond, err = parseCondition("KeyConditionExpression", *in.KeyConditionExpression, env)
		return err
	})
	if err != nil {
		return nil, err
	}
	t := q.t
	if err := t.checkKeyCondition(keyCond); err != nil {
		return nil, err
	}
	var matched []ddbItem
	for _, it := range t.items {
		if keyCond.eval(it) {
			matched = append(matched, it)
		}
	}
	// Items of one partition come back in range-key order.
	var rng string
	if len(t.keySchema) == 2 {
		rng = t.keySchema[1].AttributeName
		slices.SortFunc(matched, func(a, b ddbItem) int { c, _ := a[rng].compare(b[rng]); return c })
	}
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		slices.Reverse(matched)
	}
	if in.ExclusiveStartKey != nil {
		if err := checkItem(in.ExclusiveStartKey, "ExclusiveStartKey"); err != nil {
			return nil, err
		}
		start, err := t.itemKey(in.ExclusiveStartKey, false)
		if err != nil {
			return nil, ddbValidation("The provided starting key is invalid: %s", asAPIError(err).Message)
		}
		for i, it := range matched {
			if k, _ := t.itemKey(it, true); k == start {
				matched = matched[i+1:]
				break
			}
		}
	}
	kept, scanned, last := q.page(matched)
	return q.output(kept, scanned, last, q.limit > 0 && scanned == q.limit && scanned < len(matched)), nil
}
