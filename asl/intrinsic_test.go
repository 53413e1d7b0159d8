package asl

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func evalIntrinsic(t *testing.T, expr string, data any, x *Execution) (any, error) {
	t.Helper()
	c, err := parseIntrinsic(expr)
	if err != nil {
		t.Fatalf("%s: parse: %v", expr, err)
	}
	return c.eval(&resolver{data: data, x: x})
}

func TestIntrinsics(t *testing.T) {
	data := decode(t, `{"name":"web","n":3,"list":[1,"two",{"k":3}],"json":"{\"a\":[1,2]}","obj":{"a":1,"b":[true,null]},
	  "arn":"arn:aws:imagebuilder:us-east-1:123:image/recipe/1.0.2","sep":".+,=","words":"This.is+a,test=string"}`)
	cases := []struct{ expr, want string }{
		{`States.Format('Hello, {}!', $.name)`, `"Hello, web!"`},
		{`States.Format('{} has {} items, ok={} none={}', $.name, $.n, true, null)`, `"web has 3 items, ok=true none=null"`},
		{`States.Format('literal \{\} and it\'s {}', 'x')`, `"literal {} and it's x"`},
		{`States.Format('back\\slash {}', 1.5)`, `"back\\slash 1.5"`},
		{`States.Format('\\{}', 'v')`, `"\\v"`},
		{`States.StringToJson($.json)`, `{"a":[1,2]}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1,\"b\":[true,null]}"`},
		{`States.Array('a', 1, $.n, States.Array())`, `["a",1,3,[]]`},
		{`States.Array()`, `[]`},
		{`States.ArrayLength($.list)`, `3`},
		{`States.ArrayGetItem($.list, 1)`, `"two"`},
		{`States.ArrayGetItem($.list, $.n)`, ``},
		{`States.ArrayContains($.list, 'two')`, `true`},
		{`States.ArrayContains($.list, $.obj)`, `false`},
		{`States.ArrayContains(States.Array($.obj), $.obj)`, `true`},
		{`States.MathAdd($.n, -5)`, `-2`},
		{`States.MathAdd(2147483647, 0)`, `2147483647`},
		{`States.StringSplit('1,2,3', ',')`, `["1","2","3"]`},
		{`States.StringSplit($.words, $.sep)`, `["This","is","a","test","string"]`},
		{`States.StringSplit('a,,b', ',')`, `["a","b"]`},
		{`States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.arn, '/'), 2), '.'), 0)`, `"1"`},
	}
	for _, c := range cases {
		got, err := evalIntrinsic(t, c.expr, data, nil)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: want an error, got %v", c.expr, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		raw, _ := json.Marshal(got)
		if !sameJSON(t, raw, c.want) {
			t.Errorf("%s = %s, want %s", c.expr, raw, c.want)
		}
	}
}

func TestIntrinsicUUIDAndContext(t *testing.T) {
	got, err := evalIntrinsic(t, `States.UUID()`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got.(string)) {
		t.Fatalf("UUID = %v", got)
	}
	x := &Execution{ex: &Executor{UUID: func() string { return "fixed" }}, info: ExecutionInfo{ID: "exec-id", Name: "n1"}, cur: "S"}
	got, err = evalIntrinsic(t, `States.Format('{}/{}/{}', $$.Execution.Name, $$.State.Name, States.UUID())`, nil, x)
	if err != nil || got != "n1/S/fixed" {
		t.Fatalf("format with context = %v, %v", got, err)
	}
}

func TestIntrinsicRunTimeFailures(t *testing.T) {
	data := decode(t, `{"s":"x","n":1.5,"big":3000000000,"list":[1],"obj":{}}`)
	for _, expr := range []string{
		`States.StringToJson($.n)`,
		`States.StringToJson($.s)`,
		`States.ArrayLength($.s)`,
		`States.ArrayGetItem($.list, 5)`,
		`States.ArrayGetItem($.list, -1)`,
		`States.MathAdd($.n, 1)`,
		`States.MathAdd($.big, 1)`,
		`States.StringSplit($.n, ',')`,
		`States.Format('{}', $.obj)`,
		`States.Format($.s, 1)`,
		`States.Format('{}', $.missing)`,
	} {
		_, err := evalIntrinsic(t, expr, data, nil)
		te, ok := err.(*TaskError)
		if !ok || te.Name != ErrIntrinsicFailure {
			t.Errorf("%s: err = %v, want States.IntrinsicFailure", expr, err)
		}
	}
}

func TestIntrinsicParseErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`States.Hash($.a, 'SHA-1')`, `intrinsic function "States.Hash" is not supported`},
		{`States.ArrayLength()`, `States.ArrayLength takes 1 argument(s), got 0`},
		{`States.UUID(1)`, `States.UUID takes 0 argument(s), got 1`},
		{`States.Format()`, `at least 1`},
		{`States.Format('{} {}', 1)`, `2 placeholder(s) but 1 value(s)`},
		{`States.Format('x'`, `missing ')'`},
		{`States.Array('unterminated)`, `unterminated string`},
		{`States.Array(foo)`, `argument "foo" is not a string, number, boolean, null, path or intrinsic`},
		{`States.Array($..x)`, `deep scan`},
		{`States.Array(1) extra`, `unexpected`},
		{`States.Array('\q')`, `unknown escape`},
		{strings.Repeat("States.Array(", 11) + strings.Repeat(")", 11), `nest deeper than 10`},
	}
	for _, c := range cases {
		_, err := parseIntrinsic(c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.expr, err, c.want)
		}
	}
}
