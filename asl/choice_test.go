package asl

import (
	"strings"
	"testing"
)

func evalRule(t *testing.T, rule string, data any) (bool, error) {
	t.Helper()
	v, err := decodeOrdered([]byte(rule))
	if err != nil {
		t.Fatalf("rule %s: %v", rule, err)
	}
	r, err := parseChoiceRule(v, "Choices[0]", false)
	if err != nil {
		t.Fatalf("rule %s: %v", rule, err)
	}
	return r.eval(&resolver{data: data})
}

func TestChoiceOperators(t *testing.T) {
	data := decodeValueT(t, `{
	  "s": "beta", "n": 10, "f": 2.5, "b": true, "nul": null,
	  "ts": "2026-03-01T12:00:00Z", "tsOffset": "2026-03-01T13:00:00+01:00", "badts": "2026-03-01t12:00:00z",
	  "other": {"s": "beta", "n": 10, "b": true, "ts": "2026-03-01T12:00:00Z", "lo": "alpha", "hi": "gamma", "nlo": 5, "nhi": 20,
	            "tlo": "2026-01-01T00:00:00Z", "thi": "2027-01-01T00:00:00Z"},
	  "star": "a*b", "file": "report-2026.csv"
	}`)
	cases := []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.s","StringEquals":"beta"}`, true},
		{`{"Variable":"$.s","StringEquals":"Beta"}`, false},
		{`{"Variable":"$.n","StringEquals":"10"}`, false}, // type mismatch
		{`{"Variable":"$.s","StringEqualsPath":"$.other.s"}`, true},
		{`{"Variable":"$.s","StringEqualsPath":"$.other.n"}`, false},
		{`{"Variable":"$.s","StringLessThan":"gamma"}`, true},
		{`{"Variable":"$.s","StringLessThan":"alpha"}`, false},
		{`{"Variable":"$.s","StringLessThanPath":"$.other.hi"}`, true},
		{`{"Variable":"$.s","StringLessThanEquals":"beta"}`, true},
		{`{"Variable":"$.s","StringLessThanEqualsPath":"$.other.lo"}`, false},
		{`{"Variable":"$.s","StringGreaterThan":"alpha"}`, true},
		{`{"Variable":"$.s","StringGreaterThanPath":"$.other.hi"}`, false},
		{`{"Variable":"$.s","StringGreaterThanEquals":"beta"}`, true},
		{`{"Variable":"$.s","StringGreaterThanEqualsPath":"$.other.lo"}`, true},
		{`{"Variable":"$.file","StringMatches":"report-*.csv"}`, true},
		{`{"Variable":"$.file","StringMatches":"*.csv"}`, true},
		{`{"Variable":"$.file","StringMatches":"report*"}`, true},
		{`{"Variable":"$.file","StringMatches":"*2026*"}`, true},
		{`{"Variable":"$.file","StringMatches":"*.txt"}`, false},
		{`{"Variable":"$.file","StringMatches":"report-2026.csv"}`, true},
		{`{"Variable":"$.star","StringMatches":"a\\*b"}`, true},
		{`{"Variable":"$.file","StringMatches":"report\\*"}`, false},
		{`{"Variable":"$.n","NumericEquals":10}`, true},
		{`{"Variable":"$.n","NumericEquals":10.0}`, true},
		{`{"Variable":"$.s","NumericEquals":10}`, false},
		{`{"Variable":"$.n","NumericEqualsPath":"$.other.n"}`, true},
		{`{"Variable":"$.f","NumericLessThan":3}`, true},
		{`{"Variable":"$.n","NumericLessThanPath":"$.other.nlo"}`, false},
		{`{"Variable":"$.n","NumericLessThanEquals":10}`, true},
		{`{"Variable":"$.n","NumericLessThanEqualsPath":"$.other.nhi"}`, true},
		{`{"Variable":"$.n","NumericGreaterThan":9.5}`, true},
		{`{"Variable":"$.n","NumericGreaterThanPath":"$.other.nhi"}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEquals":11}`, false},
		{`{"Variable":"$.n","NumericGreaterThanEqualsPath":"$.other.nlo"}`, true},
		{`{"Variable":"$.b","BooleanEquals":true}`, true},
		{`{"Variable":"$.b","BooleanEquals":false}`, false},
		{`{"Variable":"$.s","BooleanEquals":true}`, false},
		{`{"Variable":"$.b","BooleanEqualsPath":"$.other.b"}`, true},
		{`{"Variable":"$.ts","TimestampEquals":"2026-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.tsOffset","TimestampEquals":"2026-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.badts","TimestampEquals":"2026-03-01T12:00:00Z"}`, false},
		{`{"Variable":"$.ts","TimestampEqualsPath":"$.other.ts"}`, true},
		{`{"Variable":"$.ts","TimestampLessThan":"2026-03-01T12:00:01Z"}`, true},
		{`{"Variable":"$.ts","TimestampLessThanPath":"$.other.tlo"}`, false},
		{`{"Variable":"$.ts","TimestampLessThanEquals":"2026-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.ts","TimestampLessThanEqualsPath":"$.other.thi"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThan":"2026-03-01T11:59:59.999Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThanPath":"$.other.thi"}`, false},
		{`{"Variable":"$.ts","TimestampGreaterThanEquals":"2026-03-01T12:00:00Z"}`, true},
		{`{"Variable":"$.ts","TimestampGreaterThanEqualsPath":"$.other.tlo"}`, true},
		{`{"Variable":"$.nul","IsNull":true}`, true},
		{`{"Variable":"$.s","IsNull":true}`, false},
		{`{"Variable":"$.s","IsNull":false}`, true},
		{`{"Variable":"$.s","IsPresent":true}`, true},
		{`{"Variable":"$.missing","IsPresent":true}`, false},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.nul","IsPresent":true}`, true},
		{`{"Variable":"$.n","IsNumeric":true}`, true},
		{`{"Variable":"$.s","IsNumeric":true}`, false},
		{`{"Variable":"$.s","IsString":true}`, true},
		{`{"Variable":"$.n","IsString":false}`, true},
		{`{"Variable":"$.b","IsBoolean":true}`, true},
		{`{"Variable":"$.nul","IsBoolean":true}`, false},
		{`{"Variable":"$.ts","IsTimestamp":true}`, true},
		{`{"Variable":"$.badts","IsTimestamp":true}`, false},
		{`{"Variable":"$.s","IsTimestamp":false}`, true},
		{`{"And":[{"Variable":"$.s","StringEquals":"beta"},{"Variable":"$.n","NumericGreaterThan":5}]}`, true},
		{`{"And":[{"Variable":"$.s","StringEquals":"beta"},{"Variable":"$.n","NumericGreaterThan":50}]}`, false},
		{`{"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":10}]}`, true},
		{`{"Or":[{"Variable":"$.s","StringEquals":"x"},{"Variable":"$.n","NumericEquals":11}]}`, false},
		{`{"Not":{"Variable":"$.s","StringEquals":"x"}}`, true},
		{`{"Not":{"And":[{"Variable":"$.b","BooleanEquals":true},{"Not":{"Variable":"$.missing","IsPresent":true}}]}}`, false},
		// A missing variable stops And/Or short-circuit only when reached.
		{`{"Or":[{"Variable":"$.b","BooleanEquals":true},{"Variable":"$.missing","StringEquals":"x"}]}`, true},
	}
	for _, c := range cases {
		got, err := evalRule(t, c.rule, data)
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.rule, got, c.want)
		}
	}
	// Every operator the specification lists appears above.
	for name := range operators {
		found := false
		for _, c := range cases {
			if strings.Contains(c.rule, `"`+name+`"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("operator %s is not tested", name)
		}
	}
}

func decodeValueT(t *testing.T, s string) any { return decode(t, s) }

func TestChoiceMissingVariableIsRuntimeError(t *testing.T) {
	data := decode(t, `{"a":1}`)
	for _, rule := range []string{
		`{"Variable":"$.missing","StringEquals":"x"}`,
		`{"Variable":"$.missing","IsNull":true}`,
		`{"Variable":"$.a","NumericEqualsPath":"$.missing"}`,
	} {
		_, err := evalRule(t, rule, data)
		te, ok := err.(*TaskError)
		if !ok || te.Name != ErrRuntime {
			t.Errorf("%s: err = %v, want States.Runtime", rule, err)
		}
	}
}

func TestChoiceRuleRefused(t *testing.T) {
	cases := []struct{ rule, want string }{
		{`{"Variable":"$.a","StringEquals":1}`, `field "Choices[0].StringEquals" must be a string`},
		{`{"Variable":"$.a","NumericEquals":"1"}`, `field "Choices[0].NumericEquals" must be a number`},
		{`{"Variable":"$.a","BooleanEquals":"true"}`, `field "Choices[0].BooleanEquals" must be true or false`},
		{`{"Variable":"$.a","IsNull":1}`, `field "Choices[0].IsNull" must be true or false`},
		{`{"Variable":"$.a","TimestampEquals":"2026-01-01 00:00:00"}`, `field "Choices[0].TimestampEquals" must be an RFC 3339 timestamp`},
		{`{"Variable":"$.a","StringEqualsPath":"a"}`, `field "Choices[0].StringEqualsPath" is not a valid path`},
		{`{"Variable":"$.a","StringContains":"x"}`, `field "Choices[0].StringContains" is not supported`},
		{`{"StringEquals":"x"}`, `field "Choices[0].Variable" is required with StringEquals`},
		{`{"Variable":"$.a"}`, `field "Choices[0]" must have one comparison operator, And, Or or Not`},
		{`{"Variable":"$.a","StringEquals":"x","IsNull":true}`, `must have exactly one`},
		{`{"And":[]}`, `field "Choices[0].And" must be a non-empty array`},
		{`{"And":[{"Variable":"$.a","IsNull":true,"Next":"X"}]}`, `field "Choices[0].And[0].Next" is only allowed in a top-level choice rule`},
		{`{"Not":{"Variable":"$[a]","IsNull":true}}`, `field "Choices[0].Not.Variable" is not a valid path`},
	}
	for _, c := range cases {
		v, _ := decodeOrdered([]byte(c.rule))
		_, err := parseChoiceRule(v, "Choices[0]", false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.rule, err, c.want)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"log-*-*.txt", "log-1-2.txt", true},
		{"log-*-*.txt", "log-1.txt", false},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{`a\\*`, `a\xyz`, true},
		{"", "", true},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := wildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
