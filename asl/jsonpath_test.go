package asl

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPathEval(t *testing.T) {
	doc := `{"a":{"b":"x","list":[{"id":1,"tags":["p"]},{"id":2}],"odd key":true},
	         "arr":[10,20,30],"n":null}`
	cases := []struct {
		path, want string
	}{
		{"$", doc},
		{"$.a.b", `"x"`},
		{"$['a']['b']", `"x"`},
		{`$["a"].b`, `"x"`},
		{"$.a['odd key']", `true`},
		{"$.arr[1]", `20`},
		{"$.a.list[0].id", `1`},
		{"$.a.list[0].tags[0]", `"p"`},
		{"$.a.list[*].id", `[1,2]`},
		{"$.arr[*]", `[10,20,30]`},
		{"$.a.list[*].missing", `[]`},
		{"$.n", `null`},
	}
	data := decode(t, doc)
	for _, c := range cases {
		p, err := parsePath(c.path, false, false)
		if err != nil {
			t.Errorf("%s: parse: %v", c.path, err)
			continue
		}
		got, err := p.eval(data)
		if err != nil {
			t.Errorf("%s: eval: %v", c.path, err)
			continue
		}
		raw, _ := json.Marshal(got)
		if !sameJSON(t, raw, c.want) {
			t.Errorf("%s = %s, want %s", c.path, raw, c.want)
		}
	}
}

func TestPathNotFound(t *testing.T) {
	data := decode(t, `{"a":{"b":[1]}}`)
	for _, s := range []string{"$.x", "$.a.c", "$.a.b[3]", "$.a.b.c", "$.a[0]"} {
		p, err := parsePath(s, false, false)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		_, err = p.eval(data)
		if err == nil || !strings.Contains(err.Error(), "could not be found") {
			t.Errorf("%s: err = %v", s, err)
		}
	}
}

func TestPathRefused(t *testing.T) {
	cases := []struct {
		path      string
		context   bool
		reference bool
		want      string
	}{
		{"a.b", false, false, `must start with "$"`},
		{"$..b", false, false, "deep scan (..) is not supported"},
		{"$.a[?(@.x)]", false, false, "filters, slices, unions and negative indexes are not"},
		{"$.a[0:2]", false, false, "only a single non-negative index"},
		{"$.a[-1]", false, false, "negative indexes are not"},
		{"$.a[*]", false, true, "wildcards are not allowed in a reference path"},
		{"$.*", false, true, "wildcards are not allowed in a reference path"},
		{"$$.Execution.Id", false, false, "the context object ($$) cannot be used here"},
		{"$.", false, false, "empty field name"},
		{"$.a['b", false, false, "unterminated quoted field name"},
	}
	for _, c := range cases {
		_, err := parsePath(c.path, c.context, c.reference)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.path, err, c.want)
		}
	}
}

func TestPathSetCopies(t *testing.T) {
	cases := []struct {
		in, path, val, want string
	}{
		{`{"a":1}`, "$.b", `2`, `{"a":1,"b":2}`},
		{`{"a":1}`, "$.x.y.z", `true`, `{"a":1,"x":{"y":{"z":true}}}`},
		{`{"a":{"keep":1,"b":0}}`, "$.a.b", `"v"`, `{"a":{"keep":1,"b":"v"}}`},
		{`{"l":[1,{"k":0}]}`, "$.l[1].k", `9`, `{"l":[1,{"k":9}]}`},
		{`{"a":1}`, "$['with space']", `1`, `{"a":1,"with space":1}`},
	}
	for _, c := range cases {
		p, err := parsePath(c.path, false, true)
		if err != nil {
			t.Fatal(err)
		}
		in := decode(t, c.in)
		before, _ := json.Marshal(in)
		out, err := p.set(in, decode(t, c.val))
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		raw, _ := json.Marshal(out)
		if !sameJSON(t, raw, c.want) {
			t.Errorf("set %s on %s = %s, want %s", c.path, c.in, raw, c.want)
		}
		after, _ := json.Marshal(in)
		if string(before) != string(after) {
			t.Errorf("set %s modified its input: %s", c.path, after)
		}
	}
	for _, c := range []struct{ in, path string }{{`{"a":"str"}`, "$.a.b"}, {`{"l":[1]}`, "$.l[4]"}, {`[1]`, "$.a"}} {
		p, _ := parsePath(c.path, false, true)
		if _, err := p.set(decode(t, c.in), true); err == nil || !strings.Contains(err.Error(), "unable to apply ResultPath") {
			t.Errorf("set %s on %s: err = %v", c.path, c.in, err)
		}
	}
}
