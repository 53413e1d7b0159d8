package awssim

import (
	"fmt"
	"math"
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
