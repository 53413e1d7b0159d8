package awssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// apiError is an AWS error as the wire protocols carry it.
type apiError struct {
	Status  int
	Code    string
	Message string
	// Extra holds additional members of a JSON-protocol error body, such
	// as DynamoDB's Item on ConditionalCheckFailedException.
	Extra map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorf returns an apiError with HTTP status 400.
func errorf(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asAPIError turns any handler error into an apiError; unexpected errors
// become InternalError so that the client always gets a parsable body.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		if ae.Status == 0 {
			ae.Status = http.StatusBadRequest
		}
		return ae
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "InternalError", Message: err.Error()}
}

// Response header names, in the canonical form that net/http writes on the
// wire whatever the spelling: given so, Header.Set need not canonicalize
// (and allocate) them on every response.
const (
	requestIDHeader = "X-Amzn-Requestid" // x-amzn-RequestId
	errorTypeHeader = "X-Amzn-Errortype" // x-amzn-ErrorType
)

// protocol serves one family of wire protocol.
type protocol interface {
	serve(s *Sim, r *request, w http.ResponseWriter)
	// fail writes err in the protocol's error shape. Callers hold s.mu.
	fail(s *Sim, r *request, w http.ResponseWriter, err error)
}

// route picks the protocol for a request: the SigV4 service name first,
// then the X-Amz-Target header, then the path.
func (s *Sim) route(r *request) protocol {
	target := r.httpReq.Header.Get("X-Amz-Target")
	if target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		for name, svc := range jsonServices {
			if svc.targetPrefix == prefix {
				r.service, r.action = name, op
				return svc
			}
		}
	}
	if svc, ok := queryServices[r.service]; ok {
		return svc
	}
	if svc, ok := restServices[r.service]; ok {
		return svc
	}
	if svc, ok := jsonServices[r.service]; ok {
		return svc
	}
	// Unsigned requests (curl, some tests): guess from the body or path.
	if r.service == "" {
		if form, err := url.ParseQuery(string(r.body)); err == nil && form.Get("Action") != "" {
			if v := form.Get("Version"); v != "" {
				for name, svc := range queryServices {
					if svc.version == v {
						r.service = name
						return svc
					}
				}
			}
		}
		for name, svc := range restServices {
			if svc.matches(r.httpReq.URL.Path) {
				r.service = name
				return svc
			}
		}
	}
	return nil
}

// ---- Query protocol (EC2, Auto Scaling, SNS, STS) -------------------------

// queryHandler serves one Query action, writing the inner result elements.
type queryHandler func(s *Sim, r *request, p params, w *xmlWriter) error

type queryService struct {
	namespace string
	version   string
	ec2Style  bool // EC2 envelopes and errors differ from the other Query services
	actions   map[string]queryHandler
}

var queryServices = map[string]*queryService{}

func registerQuery(service, version, namespace string, ec2Style bool, actions map[string]queryHandler) {
	queryServices[service] = &queryService{namespace: namespace, version: version, ec2Style: ec2Style, actions: actions}
}

func (q *queryService) serve(s *Sim, r *request, w http.ResponseWriter) {
	form, err := parseForm(string(r.body))
	if err != nil {
		q.fail(s, r, w, errorf("MalformedQueryString", "cannot parse the form body: %v", err))
		return
	}
	if r.httpReq.URL.RawQuery != "" {
		for k, v := range r.httpReq.URL.Query() {
			if _, ok := form[k]; !ok {
				form[k] = v
			}
		}
	}
	r.action = form.Get("Action")
	h, ok := q.actions[r.action]
	if !ok {
		if r.action == "" {
			q.fail(s, r, w, errorf("MissingAction", "the request has no Action parameter"))
			return
		}
		q.fail(s, r, w, errorf("InvalidAction", "the action %s is not valid for this web service", r.action))
		return
	}
	if err := s.admit(r); err != nil {
		q.fail(s, r, w, err)
		return
	}
	xw := newXMLWriter()
	defer xw.free()
	xw.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	// <ActionResponse xmlns="namespace">, written piece by piece: no
	// string is built per request.
	xw.raw("<")
	xw.raw(r.action)
	xw.raw(`Response xmlns="`)
	xw.raw(q.namespace)
	xw.raw(`">`)
	if q.ec2Style {
		xw.elem("requestId", r.requestID)
	} else {
		xw.raw("<")
		xw.raw(r.action)
		xw.raw("Result>")
	}
	if err := h(s, r, params{v: form}, xw); err != nil {
		q.fail(s, r, w, err)
		return
	}
	if err := s.takeLost(r); err != nil {
		q.fail(s, r, w, err)
		return
	}
	if !q.ec2Style {
		xw.raw("</")
		xw.raw(r.action)
		xw.raw("Result><ResponseMetadata><RequestId>")
		xw.raw(r.requestID)
		xw.raw("</RequestId></ResponseMetadata>")
	}
	xw.raw("</")
	xw.raw(r.action)
	xw.raw("Response>")
	s.record(r, http.StatusOK, "")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set(requestIDHeader, r.requestID)
	writeBody(w, http.StatusOK, xw.buf.Bytes())
}

func (q *queryService) fail(s *Sim, r *request, w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	s.record(r, ae.Status, ae.Code)
	xw := newXMLWriter()
	defer xw.free()
	xw.raw(`<?xml version="1.0" encoding="UTF-8"?>`)
	if q.ec2Style {
		xw.raw("<Response><Errors><Error>")
		xw.elem("Code", ae.Code)
		xw.elem("Message", ae.Message)
		xw.raw("</Error></Errors>")
		xw.elem("RequestID", r.requestID)
		xw.raw("</Response>")
	} else {
		xw.raw(`<ErrorResponse xmlns="` + q.namespace + `"><Error>`)
		typ := "Sender"
		if ae.Status >= 500 {
			typ = "Receiver"
		}
		xw.elem("Type", typ)
		xw.elem("Code", ae.Code)
		xw.elem("Message", ae.Message)
		xw.raw("</Error>")
		xw.elem("RequestId", r.requestID)
		xw.raw("</ErrorResponse>")
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set(requestIDHeader, r.requestID)
	writeBody(w, ae.Status, xw.buf.Bytes())
}

// parseForm parses a Query-protocol body as url.ParseQuery does, but with
// a map sized for it and the values of all keys in one array (a request
// carries up to hundreds of parameters, nearly all with one value). Input
// that ParseQuery might refuse (a semicolon, a bad escape, very many
// parameters) goes to ParseQuery itself, for its result and error.
func parseForm(body string) (url.Values, error) {
	n := strings.Count(body, "&") + 1
	if n > 1000 || strings.Contains(body, ";") {
		return url.ParseQuery(body)
	}
	form := make(url.Values, n)
	values := make([]string, n)
	for rest := body; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return url.ParseQuery(body)
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return url.ParseQuery(body)
		}
		if _, ok := form[k]; ok {
			form[k] = append(form[k], v) // a repeated key: a slice of its own
			continue
		}
		values[0] = v
		form[k] = values[:1:1]
		values = values[1:]
	}
	return form, nil
}

// params reads Query-protocol parameters, optionally below a prefix such as
// "Filter.1.". EC2 lists are "Name.N"; other Query services use
// "Name.member.N": pass "Name.member" as the name.
type params struct {
	v      url.Values
	prefix string
}

func (p params) key(name string) string { return p.prefix + name }

// has reports whether the parameter is present.
func (p params) has(name string) bool { _, ok := p.v[p.key(name)]; return ok }

// str returns the parameter or "".
func (p params) str(name string) string { return p.v.Get(p.key(name)) }

// required returns the parameter or a MissingParameter/ValidationError.
func (p params) required(name string, ec2Style bool) (string, error) {
	v := p.str(name)
	if v == "" {
		if ec2Style {
			return "", errorf("MissingParameter", "The request must contain the parameter %s", p.key(name))
		}
		return "", errorf("ValidationError", "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(p.key(name)))
	}
	return v, nil
}

// integer returns the parameter as an int; ok is false when absent.
func (p params) integer(name string) (v int, ok bool, err error) {
	s := p.str(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false, errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected an integer.", s, p.key(name))
	}
	return n, true, nil
}

// boolean returns the parameter as a bool; ok is false when absent.
func (p params) boolean(name string) (v, ok bool, err error) {
	s := p.str(name)
	if s == "" {
		return false, false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, false, errorf("InvalidParameterValue", "Value (%s) for parameter %s is invalid. Expected a boolean.", s, p.key(name))
	}
	return b, true, nil
}

// list returns Name.1, Name.2, … in order.
func (p params) list(name string) []string {
	var out []string
	key := []byte(p.key(name) + ".")
	base := len(key)
	for i := 1; ; i++ {
		key = strconv.AppendInt(key[:base], int64(i), 10)
		v, ok := p.v[string(key)] // a lookup by string(key) does not copy key
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// structs returns the sub-parameters Name.1., Name.2., … in order.
func (p params) structs(name string) []params {
	base := p.key(name) + "."
	idx := map[int]bool{}
	for k := range p.v {
		if !strings.HasPrefix(k, base) {
			continue
		}
		rest := k[len(base):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		if n, err := strconv.Atoi(rest); err == nil {
			idx[n] = true
		}
	}
	ns := make([]int, 0, len(idx))
	for n := range idx {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]params, len(ns))
	for i, n := range ns {
		out[i] = params{v: p.v, prefix: base + strconv.Itoa(n) + "."}
	}
	return out
}

// sub returns the parameters below Name. (a nested structure).
func (p params) sub(name string) params { return params{v: p.v, prefix: p.key(name) + "."} }

// present reports whether any parameter starts with Name (a structure or list).
func (p params) present(name string) bool {
	k := p.key(name)
	for key := range p.v {
		if key == k || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// xmlWriter builds XML by hand: the simulator's hot paths write thousands
// of elements per response, and encoding/xml's reflection is the cost.
type xmlWriter struct{ buf bytes.Buffer }

// xmlWriters recycles response buffers, so that a response does not grow
// a fresh buffer from nothing.
var xmlWriters = sync.Pool{New: func() any { return new(xmlWriter) }}

// maxPooledXML bounds the buffers kept for reuse: one large enough for a
// 1,000-instance DescribeInstances is kept, an outsized one is dropped.
const maxPooledXML = 4 << 20

// newXMLWriter returns an empty writer; give it back with free once its
// bytes are written out.
func newXMLWriter() *xmlWriter { return xmlWriters.Get().(*xmlWriter) }

// free returns x to the pool. x must not be used afterwards.
func (x *xmlWriter) free() {
	if x.buf.Cap() > maxPooledXML {
		return
	}
	x.buf.Reset()
	xmlWriters.Put(x)
}

func (x *xmlWriter) raw(s string) { x.buf.WriteString(s) }
func (x *xmlWriter) open(tag string) {
	x.buf.WriteByte('<')
	x.buf.WriteString(tag)
	x.buf.WriteByte('>')
}
func (x *xmlWriter) close(tag string) {
	x.buf.WriteString("</")
	x.buf.WriteString(tag)
	x.buf.WriteByte('>')
}

// elem writes <tag>escaped value</tag>.
func (x *xmlWriter) elem(tag, value string) {
	x.open(tag)
	xmlEscape(&x.buf, value)
	x.close(tag)
}

// elemIf writes the element only when value is not empty.
func (x *xmlWriter) elemIf(tag, value string) {
	if value != "" {
		x.elem(tag, value)
	}
}

// int writes <tag>v</tag>; digits need no escaping.
func (x *xmlWriter) int(tag string, v int) {
	x.open(tag)
	x.buf.Write(strconv.AppendInt(x.buf.AvailableBuffer(), int64(v), 10))
	x.close(tag)
}

func (x *xmlWriter) bool(tag string, v bool) { x.elem(tag, strconv.FormatBool(v)) }

// time writes an ISO 8601 timestamp with milliseconds, as AWS does.
func (x *xmlWriter) time(tag string, t time.Time) {
	x.open(tag)
	x.buf.Write(t.UTC().AppendFormat(x.buf.AvailableBuffer(), isoLayout))
	x.close(tag)
}

// isoLayout is AWS's timestamp: ISO 8601, UTC, milliseconds.
const isoLayout = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) string { return t.UTC().Format(isoLayout) }

func xmlEscape(b *bytes.Buffer, s string) {
	if xmlPlain(s) {
		b.WriteString(s)
		return
	}
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		if c := s[i]; c >= utf8.RuneSelf || c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			// Invalid UTF-8 and the control characters XML 1.0 cannot
			// carry (echoed from client input) become U+FFFD, so that
			// the body stays parsable.
			r, n := utf8.DecodeRuneInString(s[i:])
			if c >= utf8.RuneSelf && r != utf8.RuneError && r != 0xFFFE && r != 0xFFFF {
				i += n - 1
				continue
			}
			b.WriteString(s[last:i])
			b.WriteString("\uFFFD")
			i += n - 1
			last = i + 1
			continue
		}
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		case '\'':
			esc = "&apos;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// xmlPlainBytes marks the ASCII bytes that xmlEscape copies as they are.
var xmlPlainBytes = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 || c == '\t' || c == '\n'
	}
	for _, c := range "<>&\"'" {
		t[c] = false
	}
	return t
}()

// xmlPlain reports whether s needs no escaping (most values: ids, names,
// states), so that xmlEscape can copy it at once.
func xmlPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !xmlPlainBytes[c] {
			return false
		}
	}
	return true
}

// ---- JSON protocols (SSM: JSON 1.1, DynamoDB: JSON 1.0) -------------------

// jsonHandler serves one JSON-protocol operation: body is the raw request,
// the result is marshalled as the response.
type jsonHandler func(s *Sim, r *request, body []byte) (any, error)

type jsonService struct {
	targetPrefix string
	contentType  string
	actions      map[string]jsonHandler
}

var jsonServices = map[string]*jsonService{}

func registerJSON(service, targetPrefix, contentType string, actions map[string]jsonHandler) {
	jsonServices[service] = &jsonService{targetPrefix: targetPrefix, contentType: contentType, actions: actions}
}

func (j *jsonService) serve(s *Sim, r *request, w http.ResponseWriter) {
	if r.action == "" {
		_, r.action, _ = strings.Cut(r.httpReq.Header.Get("X-Amz-Target"), ".")
	}
	h, ok := j.actions[r.action]
	if !ok {
		j.fail(s, r, w, errorf("UnknownOperationException", "unknown operation %q", r.action))
		return
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		r.body = []byte("{}")
	}
	if !json.Valid(r.body) {
		j.fail(s, r, w, errorf("SerializationException", "the request body is not valid JSON"))
		return
	}
	if err := s.admit(r); err != nil {
		j.fail(s, r, w, err)
		return
	}
	out, err := h(s, r, r.body)
	if err == nil {
		err = s.takeLost(r)
	}
	if err != nil {
		j.fail(s, r, w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		j.fail(s, r, w, err)
		return
	}
	s.record(r, http.StatusOK, "")
	w.Header().Set("Content-Type", j.contentType)
	w.Header().Set(requestIDHeader, r.requestID)
	j.checksum(w, b)
	writeBody(w, http.StatusOK, b)
}

// checksum sets the CRC32 header with which DynamoDB signs every response
// body, success or error; its SDK checks it.
func (j *jsonService) checksum(w http.ResponseWriter, body []byte) {
	if j.targetPrefix == "DynamoDB_20120810" {
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	}
}

func (j *jsonService) fail(s *Sim, r *request, w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	s.record(r, ae.Status, ae.Code)
	w.Header().Set("Content-Type", j.contentType)
	w.Header().Set(requestIDHeader, r.requestID)
	j.checksum(w, jsonErrorBody(ae))
	writeJSONError(w, ae)
}

func writeJSONError(w http.ResponseWriter, ae *apiError) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set(errorTypeHeader, ae.Code)
	writeBody(w, ae.Status, jsonErrorBody(ae))
}

// writeBody sends a whole response with its Content-Length, as AWS does
// (rather than chunked, which net/http uses for bodies it cannot size).
func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// jsonErrorBody is the body of a JSON-protocol error.
func jsonErrorBody(ae *apiError) []byte {
	body := map[string]any{"__type": ae.Code, "message": ae.Message}
	for k, v := range ae.Extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return b
}

// decodeJSON unmarshals a request body, turning type errors into the
// SerializationException the SDK expects.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errorf("SerializationException", "cannot read the request: %v", err)
	}
	return nil
}

// epochSeconds is how the JSON protocols carry timestamps.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	return []byte(strconv.FormatFloat(float64(tt.UnixMilli())/1000, 'f', -1, 64)), nil
}

// ---- REST-JSON (Backup) ----------------------------------------------------

// restRoute is one REST operation: a method, a path pattern in the form
// "/backup-jobs/{id}" and a handler that gets the path variables.
type restRoute struct {
	method  string
	pattern []string
	action  string
	h       func(s *Sim, r *request, vars map[string]string) (status int, out any, err error)
}

type restService struct {
	prefixes []string
	routes   []restRoute
}

var restServices = map[string]*restService{}

// registerREST adds routes to a REST service; a service's routes may be
// registered from several files.
func registerREST(service string, routes []restRoute) {
	rs := restServices[service]
	if rs == nil {
		rs = &restService{}
	}
	rs.routes = append(rs.routes, routes...)
	for _, rt := range routes {
		if len(rt.pattern) > 0 {
			rs.prefixes = append(rs.prefixes, "/"+rt.pattern[0])
		}
	}
	restServices[service] = rs
}

// restRoutef builds a route from "GET /backup-jobs/{backupJobId}".
func restRoutef(spec, action string, h func(s *Sim, r *request, vars map[string]string) (int, any, error)) restRoute {
	method, path, _ := strings.Cut(spec, " ")
	return restRoute{method: method, pattern: strings.Split(strings.Trim(path, "/"), "/"), action: action, h: h}
}

func (rs *restService) matches(path string) bool {
	for _, p := range rs.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (rs *restService) serve(s *Sim, r *request, w http.ResponseWriter) {
	segs := strings.Split(strings.Trim(r.httpReq.URL.EscapedPath(), "/"), "/")
	for _, rt := range rs.routes {
		if rt.method != r.httpReq.Method || len(rt.pattern) != len(segs) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, p := range rt.pattern {
			if strings.HasPrefix(p, "{") {
				v, err := url.PathUnescape(segs[i])
				if err != nil {
					ok = false
					break
				}
				vars[strings.Trim(p, "{}")] = v
			} else if p != segs[i] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		r.action = rt.action
		if err := s.admit(r); err != nil {
			rs.fail(s, r, w, err)
			return
		}
		status, out, err := rt.h(s, r, vars)
		if err == nil {
			err = s.takeLost(r)
		}
		if err != nil {
			rs.fail(s, r, w, err)
			return
		}
		s.record(r, status, "")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(requestIDHeader, r.requestID)
		var b []byte
		if out != nil {
			b, _ = json.Marshal(out)
		}
		writeBody(w, status, b)
		return
	}
	r.action = r.httpReq.Method + " " + r.httpReq.URL.Path
	rs.fail(s, r, w, &apiError{Status: http.StatusNotFound, Code: "UnknownOperationException", Message: "no operation matches " + r.action})
}

func (rs *restService) fail(s *Sim, r *request, w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	s.record(r, ae.Status, ae.Code)
	w.Header().Set(requestIDHeader, r.requestID)
	writeJSONError(w, ae)
}
