package awssim

// This file parses and evaluates DynamoDB expressions: condition (and
// filter) expressions, update expressions and projection expressions, with
// expression attribute names (#n) and values (:v). A tokenizer feeds a
// recursive-descent parser whose precedence, low to high, is OR, AND, NOT,
// then comparisons, BETWEEN and IN, then functions and parentheses.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ---- tokens ----------------------------------------------------------------

type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // attribute name, keyword or function name
	tName           // #name
	tValue          // :value
	tNumber         // list index
	tPunct          // ( ) [ ] , . = <> < <= > >= + -
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func tokenize(src, what string) ([]token, error) {
	var out []token
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && isWord(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, exprSyntax(what, src, token{kind: tPunct, text: string(c), pos: i})
			}
			k := tName
			if c == ':' {
				k = tValue
			}
			out = append(out, token{k, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			out = append(out, token{tNumber, src[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(src) && isWord(src[j]) {
				j++
			}
			out = append(out, token{tIdent, src[i:j], i})
			i = j
		case c == '<' || c == '>':
			j := i + 1
			if j < len(src) && (src[j] == '=' || c == '<' && src[j] == '>') {
				j++
			}
			out = append(out, token{tPunct, src[i:j], i})
			i = j
		case strings.IndexByte("()[],.=+-", c) >= 0:
			out = append(out, token{tPunct, string(c), i})
			i++
		default:
			r, n := utf8.DecodeRuneInString(src[i:])
			return nil, ddbValidation("Invalid %s: Invalid character encountered; character: %q, position: %d", what, r, i+n-1)
		}
	}
	return append(out, token{kind: tEOF, pos: len(src)}), nil
}

func exprSyntax(what, src string, t token) error {
	text := t.text
	if t.kind == tEOF {
		text = "<EOF>"
	}
	from, to := max(0, t.pos-12), min(len(src), t.pos+len(t.text)+12)
	return ddbValidation("Invalid %s: Syntax error; token: %q, near: %q", what, text, src[from:to])
}

// ---- document paths --------------------------------------------------------

// pathElem is one step of a document path: an attribute or map key, or a
// list index.
type pathElem struct {
	name  string
	index int
	isIdx bool
}

type docPath []pathElem

func (p docPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.isIdx {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// get returns the value at the path, or nil.
func (p docPath) get(it ddbItem) *attrValue {
	v := it[p[0].name]
	for _, e := range p[1:] {
		if v == nil {
			return nil
		}
		switch {
		case e.isIdx && v.kind == "L" && e.index < len(v.l):
			v = v.l[e.index]
		case !e.isIdx && v.kind == "M":
			v = v.m[e.name]
		default:
			return nil
		}
	}
	return v
}

var errBadUpdatePath = ddbValidation("The document path provided in the update expression is invalid for update")

// set stores val at the path; the parent must exist.
func (p docPath) set(it ddbItem, val *attrValue) error {
	if len(p) == 1 {
		it[p[0].name] = val
		return nil
	}
	parent := p[:len(p)-1].get(it)
	last := p[len(p)-1]
	switch {
	case parent == nil:
		return errBadUpdatePath
	case last.isIdx && parent.kind == "L":
		if last.index >= len(parent.l) {
			parent.l = append(parent.l, val)
		} else {
			parent.l[last.index] = val
		}
	case !last.isIdx && parent.kind == "M":
		if parent.m == nil {
			parent.m = map[string]*attrValue{}
		}
		parent.m[last.name] = val
	default:
		return errBadUpdatePath
	}
	return nil
}

// remove deletes the value at the path, if there is one.
func (p docPath) remove(it ddbItem) {
	if len(p) == 1 {
		delete(it, p[0].name)
		return
	}
	parent := p[:len(p)-1].get(it)
	last := p[len(p)-1]
	switch {
	case parent == nil:
	case last.isIdx && parent.kind == "L" && last.index < len(parent.l):
		parent.l = slices.Delete(parent.l, last.index, last.index+1)
	case !last.isIdx && parent.kind == "M":
		delete(parent.m, last.name)
	}
}

// overlaps reports whether one path is a prefix of the other.
func (p docPath) overlaps(o docPath) bool {
	n := min(len(p), len(o))
	for i := range n {
		if p[i] != o[i] {
			return false
		}
	}
	return true
}

// checkOverlaps refuses two paths of one expression where one is a prefix of
// the other.
func checkOverlaps(what string, paths []docPath) error {
	for i := range paths {
		for j := range i {
			if paths[i].overlaps(paths[j]) {
				return ddbValidation("Invalid %s: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", what, paths[j], paths[i])
			}
		}
	}
	return nil
}

// ---- expression context -----------------------------------------------------

// exprEnv resolves #names and :values for all the expressions of one
// request and remembers which were used.
type exprEnv struct {
	names     map[string]string
	values    map[string]*attrValue
	usedNames map[string]bool
	usedVals  map[string]bool
}

func newExprEnv(names map[string]string, values map[string]*attrValue) *exprEnv {
	return &exprEnv{names: names, values: values, usedNames: map[string]bool{}, usedVals: map[string]bool{}}
}

// checkUnused returns the error DynamoDB gives for names or values that no
// expression used.
func (e *exprEnv) checkUnused() error {
	var unusedN, unusedV []string
	for k := range e.names {
		if !e.usedNames[k] {
			unusedN = append(unusedN, k)
		}
	}
	for k := range e.values {
		if !e.usedVals[k] {
			unusedV = append(unusedV, k)
		}
	}
	if len(unusedN) > 0 {
		slices.Sort(unusedN)
		return ddbValidation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", strings.Join(unusedN, ", "))
	}
	if len(unusedV) > 0 {
		slices.Sort(unusedV)
		return ddbValidation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", strings.Join(unusedV, ", "))
	}
	return nil
}

// ddbReserved holds reserved words that attribute names commonly collide
// with (a subset of DynamoDB's list); a bare name from it is an error,
// as in DynamoDB, and must be written through #name.
var ddbReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`ABORT ACTION ADD ALL AND ANY AS ASC ATTRIBUTE BACKUP BETWEEN BY CHECK COMMENT
		CONDITION COUNT CREATE DATA DATE DATETIME DAY DEFAULT DELETE DESC DURATION ERROR EXISTS EXPRESSION FILTER
		FROM GROUP HASH IN INDEX ITEM ITEMS KEY KEYS LEVEL LIMIT LIST LOCK MAP NAME NOT NULL NUMBER OR ORDER OWNER
		PATH RANGE SELECT SET SIZE SOURCE STATE STATUS STRING TABLE TIME TIMESTAMP TTL TYPE UPDATE USER
		VALUE VALUES WHERE`) {
		m[w] = true
	}
	return m
}()

// ---- parser ------------------------------------------------------------------

type parser struct {
	what string // "ConditionExpression", "UpdateExpression", …
	src  string
	toks []token
	i    int
	env  *exprEnv
}

func newParser(what, src string, env *exprEnv) (*parser, error) {
	toks, err := tokenize(src, what)
	if err != nil {
		return nil, err
	}
	return &parser{what: what, src: src, toks: toks, env: env}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}
func (p *parser) isPunct(s string) bool { t := p.peek(); return t.kind == tPunct && t.text == s }
func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}
func (p *parser) syntax() error { return exprSyntax(p.what, p.src, p.peek()) }
func (p *parser) expect(s string) error {
	if !p.isPunct(s) {
		return p.syntax()
	}
	p.next()
	return nil
}

// path parses name ( '.' name | '[' n ']' )*.
func (p *parser) path() (docPath, error) {
	elem := func() (string, error) {
		t := p.peek()
		switch t.kind {
		case tName:
			p.next()
			v, ok := p.env.names[t.text]
			if !ok {
				return "", ddbValidation("Invalid %s: An expression attribute name used in the document path is not defined; attribute name: %s", p.what, t.text)
			}
			p.env.usedNames[t.text] = true
			return v, nil
		case tIdent:
			p.next()
			if ddbReserved[strings.ToUpper(t.text)] {
				return "", ddbValidation("Invalid %s: Attribute name is a reserved keyword; reserved keyword: %s", p.what, t.text)
			}
			return t.text, nil
		}
		return "", p.syntax()
	}
	first, err := elem()
	if err != nil {
		return nil, err
	}
	path := docPath{{name: first}}
	for {
		switch {
		case p.isPunct("."):
			p.next()
			n, err := elem()
			if err != nil {
				return nil, err
			}
			path = append(path, pathElem{name: n})
		case p.isPunct("["):
			p.next()
			t := p.next()
			if t.kind != tNumber {
				return nil, exprSyntax(p.what, p.src, t)
			}
			n, err := strconv.Atoi(t.text)
			if err != nil || n > 1<<20 {
				return nil, ddbValidation("Invalid %s: list index %s is out of range", p.what, t.text)
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			path = append(path, pathElem{index: n, isIdx: true})
		default:
			return path, nil
		}
	}
}

// operand is a value in an expression: a path, a :value, or a function
// (size, if_not_exists, list_append) or arithmetic over operands.
type operand struct {
	path  docPath
	value *attrValue
	fn    string // "size", "if_not_exists", "list_append", "+", "-"
	args  []*operand
}

// pathOperand parses a document path as an operand.
func (p *parser) pathOperand() (*operand, error) {
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	return &operand{path: path}, nil
}

func (p *parser) valueRef() (*operand, error) {
	t := p.next()
	v, ok := p.env.values[t.text]
	if !ok {
		return nil, ddbValidation("Invalid %s: An expression attribute value used in expression is not defined; attribute value: %s", p.what, t.text)
	}
	p.env.usedVals[t.text] = true
	return &operand{value: v}, nil
}

// condOperand parses a path, a :value or size(path).
func (p *parser) condOperand() (*operand, error) {
	t := p.peek()
	switch {
	case t.kind == tValue:
		return p.valueRef()
	case t.kind == tIdent && t.text == "size" && p.toks[p.i+1].text == "(":
		p.next()
		p.next()
		arg, err := p.pathOperand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return &operand{fn: "size", args: []*operand{arg}}, nil
	case t.kind == tIdent || t.kind == tName:
		if t.kind == tIdent && p.toks[p.i+1].text == "(" {
			return nil, ddbValidation("Invalid %s: The function is not allowed to be used this way in an expression; function: %s", p.what, t.text)
		}
		return p.pathOperand()
	}
	return nil, p.syntax()
}

// cond is a node of a condition expression.
type cond struct {
	op   string // "OR", "AND", "NOT", "=", "<>", "<", "<=", ">", ">=", "BETWEEN", "IN", or a function name
	kids []*cond
	args []*operand
}

// parseCondition parses a complete condition (or filter) expression.
func parseCondition(what, src string, env *exprEnv) (*cond, error) {
	p, err := newParser(what, src, env)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, ddbValidation("Invalid %s: The expression can not be empty;", what)
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.syntax()
	}
	return c, nil
}

func (p *parser) or() (*cond, error)  { return p.joined("OR", p.and) }
func (p *parser) and() (*cond, error) { return p.joined("AND", p.not) }

// joined parses one or more conditions of the next higher precedence
// (parsed by sub) joined by the keyword op, grouping from the left.
func (p *parser) joined(op string, sub func() (*cond, error)) (*cond, error) {
	l, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isWord(op) {
		p.next()
		r, err := sub()
		if err != nil {
			return nil, err
		}
		l = &cond{op: op, kids: []*cond{l, r}}
	}
	return l, nil
}

func (p *parser) not() (*cond, error) {
	if p.isWord("NOT") {
		p.next()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{op: "NOT", kids: []*cond{c}}, nil
	}
	return p.primary()
}

// condFuncs are the boolean functions and their argument counts.
var condFuncs = map[string]int{
	"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2,
}

func (p *parser) primary() (*cond, error) {
	if p.isPunct("(") {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	t := p.peek()
	if t.kind == tIdent && p.toks[p.i+1].text == "(" && t.text != "size" {
		n, ok := condFuncs[t.text]
		if !ok {
			return nil, ddbValidation("Invalid %s: Invalid function name; function: %s", p.what, t.text)
		}
		p.next()
		p.next()
		c := &cond{op: t.text}
		for i := range n {
			if i > 0 {
				if err := p.expect(","); err != nil {
					return nil, err
				}
			}
			var a *operand
			var err error
			if i == 0 {
				// The first argument of every boolean function is a path.
				a, err = p.pathOperand()
			} else {
				a, err = p.condOperand()
			}
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if c.op == "attribute_type" {
			v := c.args[1].value
			if v == nil || v.kind != "S" || !slices.Contains([]string{"S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"}, v.s) {
				return nil, ddbValidation("Invalid %s: Invalid attribute type name found; type: %v, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}", p.what, c.args[1].value)
			}
		}
		return c, nil
	}
	l, err := p.condOperand()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.kind == tPunct && slices.Contains([]string{"=", "<>", "<", "<=", ">", ">="}, t.text):
		p.next()
		r, err := p.condOperand()
		if err != nil {
			return nil, err
		}
		return &cond{op: t.text, args: []*operand{l, r}}, nil
	case p.isWord("BETWEEN"):
		p.next()
		lo, err := p.condOperand()
		if err != nil {
			return nil, err
		}
		if !p.isWord("AND") {
			return nil, p.syntax()
		}
		p.next()
		hi, err := p.condOperand()
		if err != nil {
			return nil, err
		}
		if lo.value != nil && hi.value != nil {
			if c, ok := lo.value.compare(hi.value); ok && c > 0 {
				return nil, ddbValidation("Invalid %s: The BETWEEN operator requires upper bound to be greater than or equal to lower bound", p.what)
			}
		}
		return &cond{op: "BETWEEN", args: []*operand{l, lo, hi}}, nil
	case p.isWord("IN"):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		c := &cond{op: "IN", args: []*operand{l}}
		for {
			a, err := p.condOperand()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			if p.isPunct(")") {
				p.next()
				break
			}
			if err := p.expect(","); err != nil {
				return nil, err
			}
		}
		if len(c.args) > 101 {
			return nil, ddbValidation("Invalid %s: The IN operator accepts at most 100 operands", p.what)
		}
		return c, nil
	}
	return nil, p.syntax()
}

// ---- evaluation ----------------------------------------------------------------

// eval returns an operand's value against an item, or nil when a path is
// missing (or a function has no value for it).
func (o *operand) eval(it ddbItem) *attrValue {
	switch {
	case o.value != nil:
		return o.value
	case o.path != nil:
		return o.path.get(it)
	case o.fn == "size":
		v := o.args[0].eval(it)
		if v == nil {
			return nil
		}
		var n int
		switch v.kind {
		case "S":
			n = len(v.s)
		case "B":
			n = len(v.b)
		case "M":
			n = len(v.m)
		case "L":
			n = len(v.l)
		case "SS", "NS":
			n = len(v.ss)
		case "BS":
			n = len(v.bs)
		default:
			return nil
		}
		return &attrValue{kind: "N", s: strconv.Itoa(n)}
	}
	return nil
}

// eval reports whether the condition holds for the item (nil: no item).
func (c *cond) eval(it ddbItem) bool {
	switch c.op {
	case "OR":
		return c.kids[0].eval(it) || c.kids[1].eval(it)
	case "AND":
		return c.kids[0].eval(it) && c.kids[1].eval(it)
	case "NOT":
		return !c.kids[0].eval(it)
	case "attribute_exists":
		return c.args[0].eval(it) != nil
	case "attribute_not_exists":
		return c.args[0].eval(it) == nil
	case "attribute_type":
		v := c.args[0].eval(it)
		return v != nil && v.kind == c.args[1].eval(it).s
	case "begins_with":
		v, pre := c.args[0].eval(it), c.args[1].eval(it)
		if v == nil || pre == nil || v.kind != pre.kind {
			return false
		}
		switch v.kind {
		case "S":
			return strings.HasPrefix(v.s, pre.s)
		case "B":
			return strings.HasPrefix(string(v.b), string(pre.b))
		}
		return false
	case "contains":
		v, x := c.args[0].eval(it), c.args[1].eval(it)
		if v == nil || x == nil {
			return false
		}
		switch v.kind {
		case "S":
			return x.kind == "S" && strings.Contains(v.s, x.s)
		case "B":
			return x.kind == "B" && strings.Contains(string(v.b), string(x.b))
		case "SS":
			return x.kind == "S" && slices.Contains(v.ss, x.s)
		case "NS":
			return x.kind == "N" && slices.ContainsFunc(v.ss, func(n string) bool { return numRat(n).Cmp(numRat(x.s)) == 0 })
		case "BS":
			return x.kind == "B" && slices.ContainsFunc(v.bs, func(b []byte) bool { return string(b) == string(x.b) })
		case "L":
			return slices.ContainsFunc(v.l, x.equal)
		}
		return false
	case "=":
		return c.args[0].eval(it).equal(c.args[1].eval(it))
	case "<>":
		// As in DynamoDB, a missing attribute is "not equal" to anything.
		return !c.args[0].eval(it).equal(c.args[1].eval(it))
	case "<", "<=", ">", ">=":
		n, ok := c.args[0].eval(it).compare(c.args[1].eval(it))
		if !ok {
			return false
		}
		switch c.op {
		case "<":
			return n < 0
		case "<=":
			return n <= 0
		case ">":
			return n > 0
		}
		return n >= 0
	case "BETWEEN":
		v := c.args[0].eval(it)
		lo, ok1 := v.compare(c.args[1].eval(it))
		hi, ok2 := v.compare(c.args[2].eval(it))
		return ok1 && ok2 && lo >= 0 && hi <= 0
	case "IN":
		v := c.args[0].eval(it)
		for _, a := range c.args[1:] {
			if v.equal(a.eval(it)) {
				return true
			}
		}
		return false
	}
	return false
}

// ---- update expressions ----------------------------------------------------------

// updateAction is one SET, REMOVE, ADD or DELETE action.
type updateAction struct {
	verb  string // "SET", "REMOVE", "ADD", "DELETE"
	path  docPath
	value *operand
}

// parseUpdate parses an update expression: one or more of SET, REMOVE, ADD
// and DELETE clauses, each used at most once.
func parseUpdate(src string, env *exprEnv) ([]updateAction, error) {
	const what = "UpdateExpression"
	p, err := newParser(what, src, env)
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tEOF {
		return nil, ddbValidation("Invalid %s: The expression can not be empty;", what)
	}
	seen := map[string]bool{}
	var out []updateAction
	for p.peek().kind != tEOF {
		t := p.next()
		verb := strings.ToUpper(t.text)
		if t.kind != tIdent || !slices.Contains([]string{"SET", "REMOVE", "ADD", "DELETE"}, verb) {
			return nil, exprSyntax(what, src, t)
		}
		if seen[verb] {
			return nil, ddbValidation("Invalid %s: The %q section can only be used once in an update expression;", what, verb)
		}
		seen[verb] = true
		for {
			path, err := p.path()
			if err != nil {
				return nil, err
			}
			a := updateAction{verb: verb, path: path}
			switch verb {
			case "SET":
				if err := p.expect("="); err != nil {
					return nil, err
				}
				if a.value, err = p.setValue(); err != nil {
					return nil, err
				}
			case "ADD", "DELETE":
				if p.peek().kind != tValue {
					return nil, p.syntax()
				}
				if a.value, err = p.valueRef(); err != nil {
					return nil, err
				}
				v := a.value.value
				if verb == "ADD" && !slices.Contains([]string{"N", "SS", "NS", "BS"}, v.kind) ||
					verb == "DELETE" && !slices.Contains([]string{"SS", "NS", "BS"}, v.kind) {
					return nil, ddbValidation("Invalid %s: Incorrect operand type for operator or function; operator: %s, operand type: %s", what, verb, v.kind)
				}
			}
			out = append(out, a)
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
	}
	paths := make([]docPath, len(out))
	for i, a := range out {
		paths[i] = a.path
	}
	if err := checkOverlaps(what, paths); err != nil {
		return nil, err
	}
	return out, nil
}

// setValue parses operand [ ('+'|'-') operand ].
func (p *parser) setValue() (*operand, error) {
	l, err := p.setOperand()
	if err != nil {
		return nil, err
	}
	if p.isPunct("+") || p.isPunct("-") {
		op := p.next().text
		r, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		return &operand{fn: op, args: []*operand{l, r}}, nil
	}
	return l, nil
}

// setOperand parses a path, a :value, if_not_exists(path, value) or
// list_append(value, value).
func (p *parser) setOperand() (*operand, error) {
	t := p.peek()
	if t.kind == tIdent && p.toks[p.i+1].text == "(" {
		if t.text != "if_not_exists" && t.text != "list_append" {
			return nil, ddbValidation("Invalid %s: Invalid function name; function: %s", p.what, t.text)
		}
		p.next()
		p.next()
		// if_not_exists starts with a path, list_append with any operand.
		first := p.setOperand
		if t.text == "if_not_exists" {
			first = p.pathOperand
		}
		a, err := first()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.setOperand()
		if err != nil {
			return nil, err
		}
		return &operand{fn: t.text, args: []*operand{a, b}}, p.expect(")")
	}
	switch t.kind {
	case tValue:
		return p.valueRef()
	case tIdent, tName:
		return p.pathOperand()
	}
	return nil, p.syntax()
}

var errMissingOperand = ddbValidation("The provided expression refers to an attribute that does not exist in the item")

// setEval computes a SET right-hand side against the item before the update.
func (o *operand) setEval(it ddbItem) (*attrValue, error) {
	switch o.fn {
	case "":
		v := o.eval(it)
		if v == nil {
			return nil, errMissingOperand
		}
		return v.clone(), nil
	case "if_not_exists":
		if v := o.args[0].eval(it); v != nil {
			return v.clone(), nil
		}
		return o.args[1].setEval(it)
	case "list_append":
		a, b, err := o.setEvalArgs(it)
		if err != nil {
			return nil, err
		}
		if a.kind != "L" || b.kind != "L" {
			return nil, ddbValidation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: %s", map[bool]string{true: b.kind, false: a.kind}[a.kind == "L"])
		}
		return &attrValue{kind: "L", l: append(a.l, b.l...)}, nil
	case "+", "-":
		a, b, err := o.setEvalArgs(it)
		if err != nil {
			return nil, err
		}
		if a.kind != "N" || b.kind != "N" {
			return nil, ddbValidation("An operand in the update expression has an incorrect data type")
		}
		r := numRat(a.s)
		if o.fn == "+" {
			r.Add(r, numRat(b.s))
		} else {
			r.Sub(r, numRat(b.s))
		}
		n, err := ratNumber(r)
		if err != nil {
			return nil, err
		}
		return &attrValue{kind: "N", s: n}, nil
	}
	return nil, fmt.Errorf("unknown update function %q", o.fn)
}

// setEvalArgs computes the two arguments of list_append, + or -.
func (o *operand) setEvalArgs(it ddbItem) (a, b *attrValue, err error) {
	if a, err = o.args[0].setEval(it); err != nil {
		return nil, nil, err
	}
	if b, err = o.args[1].setEval(it); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// applyUpdate applies actions to a copy of old (nil: a new item holding
// only key) and returns the new item.
func applyUpdate(old ddbItem, actions []updateAction) (ddbItem, error) {
	next := old.clone()
	// Every right-hand side sees the item as it was before the update.
	vals := make([]*attrValue, len(actions))
	for i, a := range actions {
		if a.verb == "SET" {
			v, err := a.value.setEval(old)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
	}
	for i, a := range actions {
		switch a.verb {
		case "SET":
			if err := a.path.set(next, vals[i]); err != nil {
				return nil, err
			}
		case "REMOVE":
			a.path.remove(next)
		case "ADD":
			arg := a.value.value
			cur := a.path.get(next)
			if cur == nil {
				if err := a.path.set(next, arg.clone()); err != nil {
					return nil, err
				}
				continue
			}
			if cur.kind != arg.kind {
				return nil, ddbValidation("An operand in the update expression has an incorrect data type")
			}
			switch cur.kind {
			case "N":
				r := numRat(cur.s)
				r.Add(r, numRat(arg.s))
				n, err := ratNumber(r)
				if err != nil {
					return nil, err
				}
				cur.s = n
			case "SS", "NS":
				for _, x := range arg.ss {
					if !slices.Contains(cur.ss, x) {
						cur.ss = append(cur.ss, x)
					}
				}
			case "BS":
				for _, x := range arg.bs {
					if !slices.ContainsFunc(cur.bs, func(b []byte) bool { return string(b) == string(x) }) {
						cur.bs = append(cur.bs, x)
					}
				}
			}
		case "DELETE":
			arg := a.value.value
			cur := a.path.get(next)
			if cur == nil {
				continue
			}
			if cur.kind != arg.kind {
				return nil, ddbValidation("An operand in the update expression has an incorrect data type")
			}
			if cur.kind == "BS" {
				cur.bs = slices.DeleteFunc(cur.bs, func(b []byte) bool {
					return slices.ContainsFunc(arg.bs, func(x []byte) bool { return string(b) == string(x) })
				})
				if len(cur.bs) == 0 {
					a.path.remove(next)
				}
				continue
			}
			cur.ss = slices.DeleteFunc(cur.ss, func(s string) bool { return slices.Contains(arg.ss, s) })
			if len(cur.ss) == 0 {
				a.path.remove(next)
			}
		}
	}
	return next, nil
}

// ---- projection expressions ------------------------------------------------------

// parseProjection parses "a, #b.c, d[0]".
func parseProjection(src string, env *exprEnv) ([]docPath, error) {
	p, err := newParser("ProjectionExpression", src, env)
	if err != nil {
		return nil, err
	}
	var out []docPath
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, path)
		if p.peek().kind == tEOF {
			break
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
	}
	if err := checkOverlaps("ProjectionExpression", out); err != nil {
		return nil, err
	}
	return out, nil
}

// project returns the parts of it that the paths name. Selected list
// elements come back compacted, in index order, as DynamoDB does.
func project(it ddbItem, paths []docPath) ddbItem {
	out := ddbItem{}
	for _, p := range paths {
		v := p.get(it)
		if v == nil {
			continue
		}
		// Build the containers down to the value.
		cur := out
		var parent *attrValue
		for i, e := range p[:len(p)-1] {
			var next *attrValue
			if parent == nil {
				next = cur[e.name]
			} else if parent.kind == "M" {
				next = parent.m[e.name]
			}
			if next == nil {
				if p[i+1].isIdx {
					next = &attrValue{kind: "L"}
				} else {
					next = &attrValue{kind: "M", m: map[string]*attrValue{}}
				}
				switch {
				case parent == nil:
					cur[e.name] = next
				case parent.kind == "M":
					parent.m[e.name] = next
				case parent.kind == "L":
					parent.l = append(parent.l, next)
				}
			}
			parent = next
		}
		last := p[len(p)-1]
		switch {
		case parent == nil:
			out[last.name] = v.clone()
		case parent.kind == "M":
			parent.m[last.name] = v.clone()
		case parent.kind == "L":
			parent.l = append(parent.l, v.clone())
		}
	}
	return out
}

// topNames lists the top-level attribute names that actions touch.
func topNames(actions []updateAction) []string {
	set := map[string]bool{}
	for _, a := range actions {
		set[a.path[0].name] = true
	}
	return slices.Sorted(maps.Keys(set))
}
