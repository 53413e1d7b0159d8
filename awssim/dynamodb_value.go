package awssim

// This file holds DynamoDB attribute values: their JSON wire form (S, N, B,
// BOOL, NULL, M, L, SS, NS, BS), validation, numeric normalisation, equality,
// ordering and size.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// attrValue is one DynamoDB AttributeValue. Exactly the field that kind
// names is meaningful.
type attrValue struct {
	kind string // "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"
	s    string // S, and N in normalised decimal form
	b    []byte // B
	bl   bool   // BOOL
	m    map[string]*attrValue
	l    []*attrValue
	ss   []string // SS, and NS in normalised form
	bs   [][]byte // BS
}

// ddbItem is an item: attribute name → value.
type ddbItem map[string]*attrValue

const ddbMaxDepth = 32

// ddbValidation returns DynamoDB's ValidationException.
func ddbValidation(format string, args ...any) *apiError {
	return errorf("ValidationException", format, args...)
}

// strAV returns an S value.
func strAV(s string) *attrValue { return &attrValue{kind: "S", s: s} }

func (v *attrValue) MarshalJSON() ([]byte, error) {
	var out any
	switch v.kind {
	case "S", "N":
		out = v.s
	case "B":
		out = v.b
	case "BOOL":
		out = v.bl
	case "NULL":
		out = true
	case "M":
		m := v.m
		if m == nil {
			m = map[string]*attrValue{}
		}
		out = m
	case "L":
		l := v.l
		if l == nil {
			l = []*attrValue{}
		}
		out = l
	case "SS", "NS":
		out = v.ss
	case "BS":
		out = v.bs
	default:
		return nil, fmt.Errorf("attribute value of unknown kind %q", v.kind)
	}
	return json.Marshal(map[string]any{v.kind: out})
}

func (v *attrValue) UnmarshalJSON(data []byte) error { return v.decode(data, 0) }

func (v *attrValue) decode(data []byte, depth int) error {
	if depth > ddbMaxDepth {
		return ddbValidation("Nesting Levels have exceeded supported limits")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw) == 0 {
		return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if len(raw) > 1 {
		return ddbValidation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for kind, body := range raw {
		*v = attrValue{kind: kind}
		if string(body) == "null" {
			return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
		switch kind {
		case "S":
			return json.Unmarshal(body, &v.s)
		case "N":
			if err := json.Unmarshal(body, &v.s); err != nil {
				return err
			}
			n, err := normNumber(v.s)
			v.s = n
			return err
		case "B":
			return json.Unmarshal(body, &v.b)
		case "BOOL":
			return json.Unmarshal(body, &v.bl)
		case "NULL":
			var b bool
			if err := json.Unmarshal(body, &b); err != nil {
				return err
			}
			if !b {
				return ddbValidation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case "M":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return err
			}
			v.m = make(map[string]*attrValue, len(m))
			for k, e := range m {
				ev := &attrValue{}
				if err := ev.decode(e, depth+1); err != nil {
					return err
				}
				v.m[k] = ev
			}
		case "L":
			var l []json.RawMessage
			if err := json.Unmarshal(body, &l); err != nil {
				return err
			}
			v.l = make([]*attrValue, len(l))
			for i, e := range l {
				ev := &attrValue{}
				if err := ev.decode(e, depth+1); err != nil {
					return err
				}
				v.l[i] = ev
			}
		case "SS", "NS":
			if err := json.Unmarshal(body, &v.ss); err != nil {
				return err
			}
			if len(v.ss) == 0 {
				return ddbValidation("One or more parameter values were invalid: An %s set  may not be empty", map[string]string{"SS": "string", "NS": "number"}[kind])
			}
			if kind == "NS" {
				for i, n := range v.ss {
					norm, err := normNumber(n)
					if err != nil {
						return err
					}
					v.ss[i] = norm
				}
			}
			if hasDup(v.ss) {
				return ddbValidation("One or more parameter values were invalid: Input collection %v contains duplicates.", v.ss)
			}
		case "BS":
			if err := json.Unmarshal(body, &v.bs); err != nil {
				return err
			}
			if len(v.bs) == 0 {
				return ddbValidation("One or more parameter values were invalid: An binary set  may not be empty")
			}
			keys := make([]string, len(v.bs))
			for i, b := range v.bs {
				keys[i] = string(b)
			}
			if hasDup(keys) {
				return ddbValidation("One or more parameter values were invalid: Input collection contains duplicates.")
			}
		default:
			return ddbValidation("Supplied AttributeValue has an unsupported datatype %q, must contain exactly one of the supported datatypes", kind)
		}
	}
	return nil
}

func hasDup(xs []string) bool {
	seen := make(map[string]bool, len(xs))
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}

// normNumber validates a DynamoDB number (up to 38 significant digits,
// magnitude between 1e-130 and 1e126) and returns its normalised decimal
// form: no exponent, no leading or trailing zeros ("1.50e1" → "15").
func normNumber(s string) (string, error) {
	bad := ddbValidation("The parameter cannot be converted to a numeric value: %s", s)
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	mant, exp := t, ""
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		mant, exp = t[:i], t[i+1:]
		if exp == "" {
			return "", bad
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) || strings.Count(mant, ".") > 1 {
		return "", bad
	}
	e := 0
	if exp != "" {
		sign := 1
		if exp[0] == '+' || exp[0] == '-' {
			if exp[0] == '-' {
				sign = -1
			}
			exp = exp[1:]
		}
		if exp == "" || !allDigits(exp) || len(exp) > 6 {
			return "", bad
		}
		for _, c := range exp {
			e = e*10 + int(c-'0')
		}
		e *= sign
	}
	// digits × 10^(e - len(frac)), digits without leading zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := e - len(frac)
	if digits == "" {
		return "0", nil
	}
	trimmed := strings.TrimRight(digits, "0")
	scale += len(digits) - len(trimmed)
	digits = trimmed
	if len(digits) > 38 {
		return "", ddbValidation("Attempting to store more than 38 significant digits in a Number")
	}
	// Magnitude: the leading digit sits at 10^(scale+len(digits)-1).
	if mag := scale + len(digits) - 1; mag > 125 {
		return "", ddbValidation("Number overflow. Attempting to store a number with magnitude larger than supported range")
	} else if mag < -130 {
		return "", ddbValidation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case scale >= 0:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", scale))
	case -scale < len(digits):
		b.WriteString(digits[:len(digits)+scale])
		b.WriteByte('.')
		b.WriteString(digits[len(digits)+scale:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -scale-len(digits)))
		b.WriteString(digits)
	}
	return b.String(), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// numRat parses a normalised number.
func numRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}

// ratNumber formats a sum or difference of normalised numbers (always a
// finite decimal) back into normalised form.
func ratNumber(r *big.Rat) (string, error) {
	if r.IsInt() {
		return normNumber(r.Num().String())
	}
	// The denominator is 2^a·5^b; 10^max(a,b) makes it an integer.
	den := new(big.Int).Set(r.Denom())
	scale := 0
	ten := big.NewInt(10)
	for den.Cmp(big.NewInt(1)) != 0 && scale < 400 {
		den.Quo(den, new(big.Int).GCD(nil, nil, den, ten))
		scale++
	}
	n := new(big.Int).Mul(r.Num(), new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil))
	n.Quo(n, r.Denom())
	return normNumber(n.String() + "e-" + fmt.Sprint(scale))
}

// clone returns a deep copy.
func (v *attrValue) clone() *attrValue {
	if v == nil {
		return nil
	}
	c := *v
	if v.b != nil {
		c.b = slices.Clone(v.b)
	}
	if v.m != nil {
		c.m = make(map[string]*attrValue, len(v.m))
		for k, e := range v.m {
			c.m[k] = e.clone()
		}
	}
	if v.l != nil {
		c.l = make([]*attrValue, len(v.l))
		for i, e := range v.l {
			c.l[i] = e.clone()
		}
	}
	c.ss = slices.Clone(v.ss)
	if v.bs != nil {
		c.bs = make([][]byte, len(v.bs))
		for i, b := range v.bs {
			c.bs[i] = slices.Clone(b)
		}
	}
	return &c
}

func (it ddbItem) clone() ddbItem {
	if it == nil {
		return nil
	}
	c := make(ddbItem, len(it))
	for k, v := range it {
		c[k] = v.clone()
	}
	return c
}

// equal reports deep equality; sets compare without order.
func (v *attrValue) equal(o *attrValue) bool {
	if v == nil || o == nil || v.kind != o.kind {
		return false
	}
	switch v.kind {
	case "S":
		return v.s == o.s
	case "N":
		return numRat(v.s).Cmp(numRat(o.s)) == 0
	case "B":
		return bytes.Equal(v.b, o.b)
	case "BOOL":
		return v.bl == o.bl
	case "NULL":
		return true
	case "M":
		if len(v.m) != len(o.m) {
			return false
		}
		for k, e := range v.m {
			if !e.equal(o.m[k]) {
				return false
			}
		}
		return true
	case "L":
		if len(v.l) != len(o.l) {
			return false
		}
		for i := range v.l {
			if !v.l[i].equal(o.l[i]) {
				return false
			}
		}
		return true
	case "SS", "NS":
		a, b := slices.Clone(v.ss), slices.Clone(o.ss)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	case "BS":
		a, b := slices.Clone(v.bs), slices.Clone(o.bs)
		slices.SortFunc(a, bytes.Compare)
		slices.SortFunc(b, bytes.Compare)
		return slices.EqualFunc(a, b, bytes.Equal)
	}
	return false
}

// compare orders two scalars of the same type (S by UTF-8 bytes, N
// numerically, B by bytes); ok is false when they are not comparable.
func (v *attrValue) compare(o *attrValue) (c int, ok bool) {
	if v == nil || o == nil || v.kind != o.kind {
		return 0, false
	}
	switch v.kind {
	case "S":
		return strings.Compare(v.s, o.s), true
	case "N":
		return numRat(v.s).Cmp(numRat(o.s)), true
	case "B":
		return bytes.Compare(v.b, o.b), true
	}
	return 0, false
}

// size approximates DynamoDB's item-size accounting: names plus values,
// numbers about one byte per two digits.
func (v *attrValue) size() int {
	switch v.kind {
	case "S":
		return len(v.s)
	case "N":
		return (len(v.s)+1)/2 + 1
	case "B":
		return len(v.b)
	case "BOOL", "NULL":
		return 1
	case "M":
		n := 3
		for k, e := range v.m {
			n += len(k) + e.size() + 1
		}
		return n
	case "L":
		n := 3
		for _, e := range v.l {
			n += e.size() + 1
		}
		return n
	case "SS", "NS":
		n := 0
		for _, x := range v.ss {
			n += len(x)
		}
		return n
	case "BS":
		n := 0
		for _, x := range v.bs {
			n += len(x)
		}
		return n
	}
	return 0
}

func (it ddbItem) size() int {
	n := 0
	for k, v := range it {
		n += len(k) + v.size()
	}
	return n
}

// keyString renders a key attribute for use in a map key.
func (v *attrValue) keyString() string {
	if v.kind == "B" {
		return "B:" + base64.StdEncoding.EncodeToString(v.b)
	}
	return v.kind + ":" + v.s
}

// checkItem rejects null entries, which the JSON decoder lets through as
// nil pointers.
func checkItem(it ddbItem, what string) error {
	for k, v := range it {
		if v == nil {
			return ddbValidation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes (%s attribute %q)", what, k)
		}
		if k == "" {
			return ddbValidation("One or more parameter values were invalid: An AttributeName may not be empty")
		}
	}
	return nil
}

// ddbDecode unmarshals a DynamoDB request, keeping the ValidationException
// that attribute-value decoding returns and turning JSON type errors into
// SerializationException.
func ddbDecode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return errorf("SerializationException", "cannot read the request: %v", err)
	}
	return nil
}
