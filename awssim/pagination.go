package awssim

// This file holds the pagination shared by every service: opaque NextToken
// values that carry a position, and the cutting of one page from a list.

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// pageToken wraps a position as an opaque NextToken: prefix and n,
// base64-encoded. Each service keeps its own prefix ("awssim:" for EC2,
// "asg:" for Auto Scaling, "o:" for Systems Manager and Backup), so that a
// token from one is refused by the others.
func pageToken(prefix string, n uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatUint(n, 10)))
}

// parsePageToken reads a pageToken back; ok is false for anything else.
func parsePageToken(prefix, tok string) (n uint64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), prefix) {
		return 0, false
	}
	n, err = strconv.ParseUint(string(b[len(prefix):]), 10, 64)
	return n, err == nil
}

// pageBounds cuts the page that starts at position off (clamped to n) from
// n items: at most limit of them, or all that are left when limit <= 0.
// next is the token for the following page, "" on the last one.
func pageBounds(prefix string, n int, off uint64, limit int) (lo, hi int, next string) {
	lo = n
	if off < uint64(n) {
		lo = int(off)
	}
	hi = n
	if limit > 0 && lo+limit < n {
		hi = lo + limit
		next = pageToken(prefix, uint64(hi))
	}
	return lo, hi, next
}

// parseOffsetToken reads the NextToken of a Systems Manager or Backup list
// call (0 when there is none), refusing anything else with code.
func parseOffsetToken(tok, code string) (uint64, error) {
	if tok == "" {
		return 0, nil
	}
	n, ok := parsePageToken("o:", tok)
	if !ok {
		return 0, &apiError{Status: http.StatusBadRequest, Code: code, Message: "The specified token is not valid."}
	}
	return n, nil
}

// listOutput is the output of a Systems Manager or Backup list call: the
// page of items that starts at offset (at most max of them), each as view
// shows it, under key, and NextToken unless it is the last page.
func listOutput[T, V any](key string, items []T, offset uint64, max int, view func(T) V) map[string]any {
	lo, hi, next := pageBounds("o:", len(items), offset, max)
	page := make([]V, 0, hi-lo)
	for _, x := range items[lo:hi] {
		page = append(page, view(x))
	}
	out := map[string]any{key: page}
	if next != "" {
		out["NextToken"] = next
	}
	return out
}
