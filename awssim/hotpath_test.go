package awssim

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Tests of the request hot path's hand-written formatting against what
// fmt, time and strings.Split produced before it.

func TestRequestIDMatchesFmt(t *testing.T) {
	for _, n := range []uint64{0, 1, 15, 16, 255, 0xffffffff, 0x100000000, 0xabcdef123456, 0x1000000000000, math.MaxUint64} {
		want := fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(n), n)
		if got := requestID(n); got != want {
			t.Errorf("requestID(%#x) = %q, want %q", n, got, want)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range []struct{ h, service, akid string }{
		{"AWS4-HMAC-SHA256 Credential=AKID/20260105/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0", "ec2", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20260105/us-east-1/sts/aws4_request,SignedHeaders=host", "sts", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20260105/us-east-1/s3", "s3", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=AKID/20260105/us-east-1", "", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=AKID", "", "AKID"},
		{"AWS4-HMAC-SHA256 Credential=", "", ""},
		{"Bearer x", "", ""},
		{"", "", ""},
	} {
		service, akid := parseAuthorization(c.h)
		if service != c.service || akid != c.akid {
			t.Errorf("parseAuthorization(%q) = %q, %q; want %q, %q", c.h, service, akid, c.service, c.akid)
		}
	}
}

func TestXMLWriterNumbersAndTimes(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 7, 123456789, time.FixedZone("X", 3600))
	w := newXMLWriter()
	defer w.free()
	w.int("n", -42)
	w.int("z", 0)
	w.time("t", at)
	want := "<n>-42</n><z>0</z><t>" + at.UTC().Format("2006-01-02T15:04:05.000Z") + "</t>"
	if got := w.buf.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestXMLWriterReuse checks that a writer from the pool starts empty, and
// that an outsized buffer is not kept.
func TestXMLWriterReuse(t *testing.T) {
	w := newXMLWriter()
	w.raw("<a>left over</a>")
	w.free()
	w = newXMLWriter()
	if w.buf.Len() != 0 {
		t.Fatalf("pooled writer holds %q", w.buf.String())
	}
	w.raw(strings.Repeat("x", maxPooledXML+1))
	w.free() // dropped, not pooled
	w = newXMLWriter()
	defer w.free()
	if w.buf.Cap() > maxPooledXML {
		t.Errorf("an outsized buffer (%d bytes) went back to the pool", w.buf.Cap())
	}
}

// TestAppendFoundDedup checks that duplicates are left out, in order, for
// short lists (searched directly) and long ones (through a set).
func TestAppendFoundDedup(t *testing.T) {
	find := func(k string) (string, error) {
		if k == "bad" {
			return "", fmt.Errorf("not found: %s", k)
		}
		return strings.ToUpper(k), nil
	}
	for _, n := range []int{1, 5, 40} {
		var keys, want []string
		for i := range n {
			k := fmt.Sprintf("k%d", i)
			keys = append(keys, k, k) // each twice
			want = append(want, strings.ToUpper(k))
		}
		got, err := appendFound([]string{"K0"}, keys, find)
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("n=%d: got %v, %v; want %v", n, got, err, want)
		}
	}
	if _, err := appendFound(nil, []string{"a", "bad"}, find); err == nil {
		t.Error("a failed lookup is not the call's error")
	}
}

// TestCallLogRoundTrip checks that the compact call log gives back the
// calls it was given, in order and in the clock's location, and that it
// halves itself when full.
func TestCallLogRoundTrip(t *testing.T) {
	var l callLog
	if l.all(time.UTC) != nil {
		t.Error("an empty log is not nil")
	}
	zone := time.FixedZone("X", -5*3600)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 123456789, zone)
	want := []Call{
		{Time: t0, Service: "ec2", Action: "DescribeInstances", AccessKeyID: "AKID", Status: 200},
		{Time: t0.Add(time.Second), Service: "ec2", Action: "CreateImage", Status: 400, ErrorCode: "InvalidAMIName.Duplicate"},
		{Time: t0.Add(2 * time.Second), Service: "sts", Action: "GetCallerIdentity", AccessKeyID: "AKID2", Status: 503, ErrorCode: "RequestLimitExceeded"},
	}
	for _, c := range want {
		l.add(c)
	}
	got := l.all(zone)
	if len(got) != len(want) {
		t.Fatalf("%d calls, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	for i := len(want); i < maxCalls; i++ {
		l.add(Call{Time: t0, Service: "ec2", Action: "DescribeInstances", Status: 200})
	}
	l.add(Call{Time: t0, Service: "ssm", Action: "SendCommand", Status: 200})
	if n := len(l.entries); n != maxCalls/2+1 || l.dropped != maxCalls/2 {
		t.Errorf("full log: %d entries, %d dropped; want %d, %d", n, l.dropped, maxCalls/2+1, maxCalls/2)
	}
	if last := l.all(zone)[len(l.entries)-1]; last.Action != "SendCommand" {
		t.Errorf("last call %+v", last)
	}
}

// TestEC2IDPatternMatchesRegexp checks the hand-written id check against
// the regular expression it stands for.
func TestEC2IDPatternMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	for _, id := range []string{
		"i-0123abcd", "i-0123456789abcdef0", "i-0123ABCD", "i-0123abc", "i-0123abcde", "i-0123456789abcdef", "i-0123456789abcdef01",
		"i-0123abcg", "i-", "i", "", "ami-0123abcd", "i-0123abcd\n", "i-0123abcd ", " i-0123abcd", "I-0123abcd", "i_0123abcd",
		"i-0123456789abcdef0\n", "i-\u00e90123abc",
	} {
		if got, want := instanceIDRe.MatchString(id), re.MatchString(id); got != want {
			t.Errorf("instanceIDRe.MatchString(%q) = %v, want %v", id, got, want)
		}
	}
	if !imageIDRe.MatchString("ami-0123456789abcdef0") || imageIDRe.MatchString("i-0123456789abcdef0") {
		t.Error("imageIDRe tells ami- ids wrong")
	}
}

// TestHeaderNamesCanonical checks that the response header constants are
// what net/http would make of AWS's spelling, so that Set sends them as
// before.
func TestHeaderNamesCanonical(t *testing.T) {
	for spelled, name := range map[string]string{"x-amzn-RequestId": requestIDHeader, "x-amzn-ErrorType": errorTypeHeader} {
		if c := http.CanonicalHeaderKey(spelled); c != name {
			t.Errorf("CanonicalHeaderKey(%q) = %q, the constant is %q", spelled, c, name)
		}
	}
}

// TestReadBody covers bodies of declared and of unknown length.
func TestReadBody(t *testing.T) {
	req := func(body string, length int64) *http.Request {
		r, _ := http.NewRequest("POST", "http://127.0.0.1/", io.NopCloser(strings.NewReader(body)))
		r.ContentLength = length
		return r
	}
	if b, err := readBody(req("Action=X", 8)); err != nil || string(b) != "Action=X" {
		t.Errorf("declared length: %q, %v", b, err)
	}
	if b, err := readBody(req("Action=X", -1)); err != nil || string(b) != "Action=X" {
		t.Errorf("unknown length: %q, %v", b, err)
	}
	if b, err := readBody(req("", 0)); err != nil || len(b) != 0 {
		t.Errorf("empty body: %q, %v", b, err)
	}
	if _, err := readBody(req("Action", 8)); err == nil {
		t.Error("a body shorter than its declared length is not an error")
	}
	if b, err := readBody(req(strings.Repeat("x", maxBody+10), -1)); err != nil || len(b) != maxBody+1 {
		t.Errorf("oversized body of unknown length: %d bytes, %v; want %d", len(b), err, maxBody+1)
	}
}

// TestXMLPlain checks which strings xmlEscape copies as they are: exactly
// those without markup characters, carriage returns, other control
// characters than tab and newline, and non-ASCII bytes; and that the others
// still come out escaped.
func TestXMLPlain(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)}) + "z"
		want := c >= 0x20 && c < 0x80 && !strings.ContainsRune(`<>&"'`, rune(c)) || c == '\t' || c == '\n'
		if got := xmlPlain(s); got != want {
			t.Errorf("xmlPlain(%q) = %v, want %v", s, got, want)
		}
	}
	for in, want := range map[string]string{
		"i-0123abcd": "i-0123abcd", "a<b>&'\"": "a&lt;b&gt;&amp;&apos;&quot;", "x\ry": "x&#xD;y",
		"caf\u00e9": "caf\u00e9", "bad\xffutf8": "bad\uFFFDutf8", "nul\x00": "nul\uFFFD", "tab\tnl\n": "tab\tnl\n",
	} {
		var b bytes.Buffer
		xmlEscape(&b, in)
		if b.String() != want {
			t.Errorf("xmlEscape(%q) = %q, want %q", in, b.String(), want)
		}
	}
}

// TestParseFormMatchesParseQuery checks parseForm against url.ParseQuery
// on chosen bodies and on random ones over the characters that matter.
func TestParseFormMatchesParseQuery(t *testing.T) {
	bodies := []string{
		"", "&", "&&", "=", "a", "a=", "=b", "a=1&b=2", "a=1&a=2&a=3", "a=1&b=2&a=3", "a=%41%42+c", "a=%4", "a=%zz&b=1",
		"a=1;b=2", "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
		"Filter.1.Name=tag%3AName&Filter.1.Value.1=web*&Filter.1.Value.2=a%26b", "k%ZZ=1", "a=1&&b=2&",
		strings.Repeat("x=1&", 1200), strings.Repeat("k=v&", 999) + "k=w",
	}
	rnd := uint64(1)
	for range 5000 {
		var b strings.Builder
		for range 12 {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			b.WriteByte("ab=&%+;2F."[rnd>>60%10])
		}
		bodies = append(bodies, b.String())
	}
	for _, body := range bodies {
		got, gotErr := parseForm(body)
		want, wantErr := url.ParseQuery(body)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("parseForm(%q) = %v, %v; ParseQuery gives %v, %v", body, got, gotErr, want, wantErr)
		}
	}
}

// TestCallLogNamesBounded checks that names of calls dropped from a full
// log are dropped too, and that the calls kept still read back right.
func TestCallLogNamesBounded(t *testing.T) {
	var l callLog
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := range maxCalls + maxCalls/2 + 1 {
		l.add(Call{Time: t0, Service: "ec2", Action: fmt.Sprintf("Bogus%d", i), Status: 400, ErrorCode: "InvalidAction"})
	}
	if len(l.names) > maxCalls {
		t.Errorf("%d names kept for %d calls", len(l.names), len(l.entries))
	}
	calls := l.all(time.UTC)
	if first, last := calls[0].Action, calls[len(calls)-1].Action; first != fmt.Sprintf("Bogus%d", l.dropped) || last != fmt.Sprintf("Bogus%d", maxCalls+maxCalls/2) {
		t.Errorf("calls run from %s to %s after %d dropped", first, last, l.dropped)
	}
	if c := calls[1]; c.Service != "ec2" || c.ErrorCode != "InvalidAction" || c.Status != 400 {
		t.Errorf("call %+v", c)
	}
}
