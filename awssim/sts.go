package awssim

// This file simulates AWS STS GetCallerIdentity (Query protocol, version
// 2011-06-15): who the caller's access key belongs to.

import (
	"hash/fnv"
	"net/http"
	"strings"
)

// CallerIdentifier is implemented by an Authorizer that maps access keys to
// IAM principals (the IAM emulation). When the installed authorizer
// implements it, GetCallerIdentity reports the principal it returns, such as
// "arn:aws:sts::123456789012:assumed-role/amiswap-resolve/session" with
// user id "AROA…:session"; ok false falls back to an IAM user named after
// the access key.
type CallerIdentifier interface {
	CallerIdentity(accessKeyID string) (arn, userID string, ok bool)
}

func init() {
	registerQuery("sts", "2011-06-15", "https://sts.amazonaws.com/doc/2011-06-15/", false, map[string]queryHandler{
		"GetCallerIdentity": stsGetCallerIdentity,
	})
}

func stsGetCallerIdentity(s *Sim, r *request, p params, w *xmlWriter) error {
	if r.accessKeyID == "" {
		return &apiError{Status: http.StatusForbidden, Code: "MissingAuthenticationToken", Message: "Request is missing Authentication Token"}
	}
	arn, userID := "arn:aws:iam::"+s.opts.AccountID+":user/"+r.accessKeyID, pseudoUserID(r.accessKeyID)
	if ci, ok := s.authz.(CallerIdentifier); ok {
		if a, u, ok := ci.CallerIdentity(r.accessKeyID); ok {
			arn, userID = a, u
		}
	}
	w.elem("Arn", arn)
	w.elem("UserId", userID)
	w.elem("Account", s.opts.AccountID)
	return nil
}

// pseudoUserID derives a stable IAM-user-style unique id ("AIDA…", 21
// characters) from an access key id.
func pseudoUserID(akid string) string { return UniqueID("AIDA", akid) }

// UniqueID derives a stable IAM unique id from seed: prefix (AIDA for a
// user, AROA for a role, AIPA for an instance profile) and 17 characters
// of IAM's alphabet.
func UniqueID(prefix, seed string) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	x := h.Sum64()
	var b strings.Builder
	b.WriteString(prefix)
	for range 17 {
		b.WriteByte(alphabet[x%32])
		x = x/32 ^ x*31
	}
	return b.String()
}
