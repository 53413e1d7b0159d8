package awssim

// This file simulates AWS KMS (JSON 1.1, X-Amz-Target TrentService.<Op>,
// SigV4 service "kms"): symmetric keys with their key policies, aliases
// and grants, as far as amiswap and EBS encryption need them. Each
// operation follows its page of the AWS KMS API Reference
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_<Op>.html):
// CreateKey, DescribeKey, CreateAlias, ListAliases, CreateGrant,
// ListGrants, RetireGrant. Who may use a key is decided in kms_policy.go.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

type kmsStore struct {
	keys     map[string]*kmsKey // by key id
	keyOrder []*kmsKey
	aliases  map[string]*kmsAlias // by alias name ("alias/x")
	grants   []*kmsGrant
	// ebsKeyID is the id of the AWS managed key alias/aws/ebs.
	ebsKeyID string
}

type kmsKey struct {
	ID, ARN, Description, KeyUsage, KeySpec string
	KeyManager                              string // "CUSTOMER" or "AWS"
	Created                                 time.Time
	Policy                                  string
	policy                                  []kmsStatement
	Tags                                    []kmsTag
}

type kmsTag struct {
	TagKey, TagValue string
}

type kmsAlias struct {
	Name, ARN, KeyID string
	Created          time.Time
}

type kmsGrant struct {
	ID, Token, KeyID, Name     string
	Grantee, Retiring, Issuing string
	Operations                 []string
	Constraints                json.RawMessage
	Created                    time.Time
	fingerprint                string // for CreateGrant's idempotency
}

// ebsAlias is the alias of the AWS managed key that EBS encrypts with
// when no key is named.
const ebsAlias = "alias/aws/ebs"

func init() {
	registerStore("kms", func(s *Sim) {
		s.kms = kmsStore{keys: map[string]*kmsKey{}, aliases: map[string]*kmsAlias{}}
	}, kmsStateView)
	registerJSON("kms", "TrentService", "application/x-amz-json-1.1", map[string]jsonHandler{
		"CreateKey":   (*Sim).kmsCreateKey,
		"DescribeKey": (*Sim).kmsDescribeKey,
		"CreateAlias": (*Sim).kmsCreateAlias,
		"ListAliases": (*Sim).kmsListAliases,
		"CreateGrant": (*Sim).kmsCreateGrant,
		"ListGrants":  (*Sim).kmsListGrants,
		"RetireGrant": (*Sim).kmsRetireGrant,
	})
}

// seedKMS creates the region's AWS managed key for EBS, alias/aws/ebs,
// with the key policy AWS gives it: every principal of the account may
// use it through EC2, and the account's IAM policies decide on reading
// its metadata (AWS KMS developer guide, "AWS managed keys"; Auto Scaling
// user guide, "Required AWS KMS key policy for use with encrypted
// volumes": no additional authorization is needed for the AWS managed
// key). Callers hold s.mu.
func (s *Sim) seedKMS() {
	if s.kms.ebsKeyID != "" {
		return
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Id":"auto-ebs-2","Statement":[`+
		`{"Sid":"Allow access through EBS for all principals in the account that are authorized to use EBS","Effect":"Allow","Principal":{"AWS":"*"},`+
		`"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],"Resource":"*",`+
		`"Condition":{"StringEquals":{"kms:CallerAccount":"%s","kms:ViaService":"ec2.%s.amazonaws.com"}}},`+
		`{"Sid":"Allow direct access to key metadata to the account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},`+
		`"Action":["kms:Describe*","kms:Get*","kms:List*","kms:RevokeGrant"],"Resource":"*"}]}`,
		s.opts.AccountID, s.opts.Region, s.opts.AccountID)
	// Its id is derived from the account and region, not from the
	// simulator's sequence, so that seeding it changes no other id.
	sum := sha256.Sum256([]byte("aws/ebs/" + s.opts.AccountID + "/" + s.opts.Region))
	h := hex.EncodeToString(sum[:16])
	id := h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
	k := s.addKey(id, "Default key that protects my EBS volumes when no other key is defined", "AWS", policy, nil)
	s.kms.ebsKeyID = k.ID
	s.kms.aliases[ebsAlias] = &kmsAlias{Name: ebsAlias, ARN: s.arn("kms", ebsAlias), KeyID: k.ID, Created: s.clock.now}
}

// addKey registers a symmetric encryption key with the id. Callers hold s.mu and have
// checked the policy.
func (s *Sim) addKey(id, desc, manager, policy string, tags []kmsTag) *kmsKey {
	k := &kmsKey{ID: id, ARN: s.arn("kms", "key/"+id), Description: desc, KeyUsage: "ENCRYPT_DECRYPT",
		KeySpec: "SYMMETRIC_DEFAULT", KeyManager: manager, Created: s.clock.now, Policy: policy, Tags: tags}
	k.policy, _ = parseKeyPolicy(policy)
	s.kms.keys[id] = k
	s.kms.keyOrder = append(s.kms.keyOrder, k)
	return k
}

// defaultKeyPolicy is the policy CreateKey gives a key when the request
// has none: the account's root, which lets the account's IAM policies
// decide (AWS KMS developer guide, "Default key policy").
func (s *Sim) defaultKeyPolicy() string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::` + s.opts.AccountID + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

// kmsNotFound is KMS's NotFoundException (HTTP 400).
func kmsNotFound(format string, args ...any) *apiError {
	return errorf("NotFoundException", format, args...)
}

var kmsKeyIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// keyByRef finds a key by key id, key ARN, alias name or alias ARN (the
// four forms KeyId takes); aliasOK false refuses the alias forms, as
// CreateAlias's TargetKeyId does.
func (s *Sim) keyByRef(ref string, aliasOK bool) (*kmsKey, error) {
	if ref == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) != 6 || parts[2] != "kms" {
			return nil, kmsNotFound("Invalid arn %s", ref)
		}
		if parts[3] != s.opts.Region || parts[4] != s.opts.AccountID {
			return nil, kmsNotFound("Key '%s' does not exist", ref)
		}
		name = parts[5]
	}
	switch {
	case strings.HasPrefix(name, "alias/"):
		if !aliasOK {
			return nil, errorf("ValidationException", "Aliases are not supported for this operation: %s", ref)
		}
		a, ok := s.kms.aliases[name]
		if !ok {
			return nil, kmsNotFound("Alias %s is not found.", s.arn("kms", name))
		}
		return s.kms.keys[a.KeyID], nil
	case strings.HasPrefix(name, "key/"):
		name = strings.TrimPrefix(name, "key/")
	}
	if !kmsKeyIDRe.MatchString(name) {
		return nil, kmsNotFound("Invalid keyId '%s'", ref)
	}
	k, ok := s.kms.keys[name]
	if !ok {
		return nil, kmsNotFound("Key '%s' does not exist", s.arn("kms", "key/"+name))
	}
	return k, nil
}

// requestAlias is the kms:RequestAlias condition key of a request whose
// KeyId is an alias name or alias ARN (nil otherwise).
func requestAlias(keyID string) map[string][]string {
	name := keyID
	if strings.HasPrefix(keyID, "arn:") {
		if parts := strings.SplitN(keyID, ":", 6); len(parts) == 6 {
			name = parts[5]
		}
	}
	if !strings.HasPrefix(name, "alias/") {
		return nil
	}
	return map[string][]string{"kms:requestalias": {name}}
}

// aliasesOf returns the names of a key's aliases, sorted.
func (s *Sim) aliasesOf(k *kmsKey) []string {
	var out []string
	for name, a := range s.kms.aliases {
		if a.KeyID == k.ID {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// keyMetadata is DescribeKey's and CreateKey's KeyMetadata.
func (s *Sim) keyMetadata(k *kmsKey) map[string]any {
	return map[string]any{
		"AWSAccountId": s.opts.AccountID, "KeyId": k.ID, "Arn": k.ARN, "CreationDate": epochSeconds(k.Created),
		"Enabled": true, "Description": k.Description, "KeyUsage": k.KeyUsage, "KeyState": "Enabled",
		"Origin": "AWS_KMS", "KeyManager": k.KeyManager, "CustomerMasterKeySpec": k.KeySpec, "KeySpec": k.KeySpec,
		"EncryptionAlgorithms": []string{"SYMMETRIC_DEFAULT"}, "MultiRegion": false,
	}
}

func (s *Sim) kmsCreateKey(r *request, body []byte) (any, error) {
	var in struct {
		Policy                         string
		Description                    string
		KeyUsage                       string
		KeySpec                        string
		CustomerMasterKeySpec          string
		Origin                         string
		MultiRegion                    bool
		BypassPolicyLockoutSafetyCheck bool
		Tags                           []kmsTag
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.Description) > 8192 {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192")
	}
	spec := in.KeySpec
	if spec == "" {
		spec = in.CustomerMasterKeySpec
	}
	// EBS supports symmetric keys only; so does the simulator.
	if spec != "" && spec != "SYMMETRIC_DEFAULT" {
		return nil, errorf("UnsupportedOperationException", "the simulator supports SYMMETRIC_DEFAULT keys only, not %s", spec)
	}
	if in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT" {
		return nil, errorf("ValidationException", "KeyUsage %s is not valid for a SYMMETRIC_DEFAULT key; use ENCRYPT_DECRYPT", in.KeyUsage)
	}
	if in.Origin != "" && in.Origin != "AWS_KMS" {
		return nil, errorf("UnsupportedOperationException", "the simulator supports Origin AWS_KMS only, not %s", in.Origin)
	}
	if in.MultiRegion {
		return nil, errorf("UnsupportedOperationException", "the simulator does not support multi-Region keys")
	}
	for _, t := range in.Tags {
		if t.TagKey == "" || len(t.TagKey) > 128 || len(t.TagValue) > 256 || strings.HasPrefix(t.TagKey, "aws:") {
			return nil, errorf("TagException", "invalid tag key %q", t.TagKey)
		}
	}
	if err := s.kmsAuthorizeIAM(r, "CreateKey"); err != nil {
		return nil, err
	}
	policy := in.Policy
	if policy == "" {
		policy = s.defaultKeyPolicy()
	} else {
		stmts, err := parseKeyPolicy(policy)
		if err != nil {
			return nil, errorf("MalformedPolicyDocumentException", "The key policy is malformed: %v", err)
		}
		// The lockout safety check: the policy must let the caller
		// change it later, unless the caller bypasses the check
		// (API_CreateKey, BypassPolicyLockoutSafetyCheck).
		if !in.BypassPolicyLockoutSafetyCheck {
			probe := &kmsKey{ARN: s.arn("kms", "key/*"), policy: stmts}
			if s.keyAccess(r.accessKeyID, s.principalOf(r.accessKeyID), probe, "PutKeyPolicy", nil) != nil {
				return nil, errorf("MalformedPolicyDocumentException", "The new key policy will not allow you to update the key policy in the future.")
			}
		}
	}
	k := s.addKey(s.genUUID(), in.Description, "CUSTOMER", policy, in.Tags)
	return map[string]any{"KeyMetadata": s.keyMetadata(k)}, nil
}

func (s *Sim) kmsDescribeKey(r *request, body []byte) (any, error) {
	var in struct{ KeyId string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	k, err := s.keyByRef(in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorize(r, k, "DescribeKey", requestAlias(in.KeyId)); err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": s.keyMetadata(k)}, nil
}

var aliasNameRe = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

func (s *Sim) kmsCreateAlias(r *request, body []byte) (any, error) {
	var in struct{ AliasName, TargetKeyId string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.AliasName) > 256 || !aliasNameRe.MatchString(in.AliasName) {
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$", in.AliasName)
	}
	if strings.HasPrefix(in.AliasName, "alias/aws/") {
		return nil, errorf("NotAuthorizedException", "The alias prefix alias/aws/ is reserved for AWS managed keys.")
	}
	k, err := s.keyByRef(in.TargetKeyId, false)
	if err != nil {
		return nil, err
	}
	if k.KeyManager == "AWS" {
		return nil, errorf("NotAuthorizedException", "An alias cannot point to the AWS managed key %s.", k.ARN)
	}
	// kms:CreateAlias on both the alias (IAM only) and the key.
	if err := s.kmsAuthorizeIAMOn(r, "CreateAlias", s.arn("kms", in.AliasName)); err != nil {
		return nil, err
	}
	if err := s.kmsAuthorize(r, k, "CreateAlias", nil); err != nil {
		return nil, err
	}
	if _, dup := s.kms.aliases[in.AliasName]; dup {
		return nil, errorf("AlreadyExistsException", "An alias with the name %s already exists", s.arn("kms", in.AliasName))
	}
	s.kms.aliases[in.AliasName] = &kmsAlias{Name: in.AliasName, ARN: s.arn("kms", in.AliasName), KeyID: k.ID, Created: s.clock.now}
	return struct{}{}, nil
}

// kmsPage reads Limit and Marker: Limit 1–100 (default 50), Marker the
// opaque offset the previous page returned.
func kmsPage(limit *int, marker string) (size, offset int, err error) {
	size = 50
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return 0, 0, errorf("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *limit)
		}
		size = *limit
	}
	if marker != "" {
		n, perr := strconv.Atoi(strings.TrimPrefix(marker, "m"))
		if perr != nil || n < 0 || !strings.HasPrefix(marker, "m") {
			return 0, 0, errorf("InvalidMarkerException", "The marker %q is not valid", marker)
		}
		offset = n
	}
	return size, offset, nil
}

// pageOut slices a page and adds Truncated and NextMarker to out.
func pageOut[T any](items []T, size, offset int, out map[string]any, field string) {
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+size, len(items))
	out[field] = items[offset:end]
	out["Truncated"] = end < len(items)
	if end < len(items) {
		out["NextMarker"] = "m" + strconv.Itoa(end)
	}
}

func (s *Sim) kmsListAliases(r *request, body []byte) (any, error) {
	var in struct {
		KeyId  string
		Limit  *int
		Marker string
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	size, offset, err := kmsPage(in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	var only *kmsKey
	if in.KeyId != "" {
		if only, err = s.keyByRef(in.KeyId, false); err != nil {
			return nil, err
		}
	}
	if err := s.kmsAuthorizeIAM(r, "ListAliases"); err != nil {
		return nil, err
	}
	type alias struct {
		AliasName, AliasArn, TargetKeyId string
		CreationDate, LastUpdatedDate    epochSeconds
	}
	names := make([]string, 0, len(s.kms.aliases))
	for name, a := range s.kms.aliases {
		if only == nil || a.KeyID == only.ID {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	list := make([]alias, 0, len(names))
	for _, name := range names {
		a := s.kms.aliases[name]
		list = append(list, alias{AliasName: a.Name, AliasArn: a.ARN, TargetKeyId: a.KeyID, CreationDate: epochSeconds(a.Created), LastUpdatedDate: epochSeconds(a.Created)})
	}
	out := map[string]any{}
	pageOut(list, size, offset, out, "Aliases")
	return out, nil
}

// grantOperations are the operations a grant may allow (API_CreateGrant).
var grantOperations = map[string]bool{
	"Decrypt": true, "Encrypt": true, "GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"ReEncryptFrom": true, "ReEncryptTo": true, "Sign": true, "Verify": true, "GetPublicKey": true,
	"CreateGrant": true, "RetireGrant": true, "DescribeKey": true, "GenerateDataKeyPair": true,
	"GenerateDataKeyPairWithoutPlaintext": true, "GenerateMac": true, "VerifyMac": true, "DeriveSharedSecret": true,
}

// principalRe is what a grant's principals may be: an IAM ARN, an
// account id, or a service principal.
var principalRe = regexp.MustCompile(`^(arn:aws[a-z-]*:(iam|sts)::\d{12}:.+|\d{12}|[a-z0-9.-]+\.amazonaws\.com)$`)

func (s *Sim) kmsCreateGrant(r *request, body []byte) (any, error) {
	var in struct {
		KeyId, GranteePrincipal, RetiringPrincipal, Name string
		Operations                                       []string
		Constraints                                      json.RawMessage
		GrantTokens                                      []string
		DryRun                                           bool
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.GranteePrincipal == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Operations) == 0 {
		return nil, errorf("ValidationException", "1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
	}
	for _, op := range in.Operations {
		if !grantOperations[op] {
			return nil, errorf("ValidationException", "1 validation error detected: Value '[%s]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set]", op)
		}
	}
	for _, p := range []string{in.GranteePrincipal, in.RetiringPrincipal} {
		if p != "" && !principalRe.MatchString(p) {
			return nil, errorf("ValidationException", "Invalid principal: %s", p)
		}
	}
	if len(in.Name) > 256 {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	k, err := s.keyByRef(in.KeyId, false)
	if err != nil {
		return nil, err
	}
	ops := append([]string(nil), in.Operations...)
	sort.Strings(ops)
	ctx := map[string][]string{"kms:granteeprincipal": {in.GranteePrincipal}, "kms:grantoperations": ops}
	if in.RetiringPrincipal != "" {
		ctx["kms:retiringprincipal"] = []string{in.RetiringPrincipal}
	}
	if err := s.kmsAuthorize(r, k, "CreateGrant", ctx); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, errorf("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	}
	fp := strings.Join([]string{k.ID, in.Name, in.GranteePrincipal, in.RetiringPrincipal, strings.Join(ops, ","), string(in.Constraints)}, "\x00")
	// "CreateGrant is idempotent": the same request with the same Name
	// returns the same grant.
	if in.Name != "" {
		for _, g := range s.kms.grants {
			if g.fingerprint == fp {
				return map[string]any{"GrantId": g.ID, "GrantToken": g.Token}, nil
			}
		}
	}
	s.seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("grant/%d/%s", s.seq, fp)))
	g := &kmsGrant{ID: hex.EncodeToString(sum[:]), KeyID: k.ID, Name: in.Name, Grantee: in.GranteePrincipal,
		Retiring: in.RetiringPrincipal, Issuing: "arn:aws:iam::" + s.opts.AccountID + ":root", Operations: ops,
		Constraints: in.Constraints, Created: s.clock.now, fingerprint: fp}
	tok := sha256.Sum256([]byte("token/" + g.ID))
	g.Token = "AQpAM2" + hex.EncodeToString(tok[:])
	s.kms.grants = append(s.kms.grants, g)
	return map[string]any{"GrantId": g.ID, "GrantToken": g.Token}, nil
}

func (s *Sim) kmsListGrants(r *request, body []byte) (any, error) {
	var in struct {
		KeyId, GrantId, GranteePrincipal, Marker string
		Limit                                    *int
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	size, offset, err := kmsPage(in.Limit, in.Marker)
	if err != nil {
		return nil, err
	}
	k, err := s.keyByRef(in.KeyId, true)
	if err != nil {
		return nil, err
	}
	if err := s.kmsAuthorize(r, k, "ListGrants", nil); err != nil {
		return nil, err
	}
	type grant struct {
		KeyId, GrantId, Name, GranteePrincipal, RetiringPrincipal, IssuingAccount string `json:",omitempty"`
		CreationDate                                                              epochSeconds
		Operations                                                                []string
		Constraints                                                               json.RawMessage `json:",omitempty"`
	}
	list := []grant{}
	for _, g := range s.kms.grants {
		if g.KeyID != k.ID || (in.GrantId != "" && g.ID != in.GrantId) || (in.GranteePrincipal != "" && g.Grantee != in.GranteePrincipal) {
			continue
		}
		list = append(list, grant{KeyId: k.ARN, GrantId: g.ID, Name: g.Name, GranteePrincipal: g.Grantee, RetiringPrincipal: g.Retiring,
			IssuingAccount: g.Issuing, CreationDate: epochSeconds(g.Created), Operations: g.Operations, Constraints: g.Constraints})
	}
	out := map[string]any{}
	pageOut(list, size, offset, out, "Grants")
	return out, nil
}

func (s *Sim) kmsRetireGrant(r *request, body []byte) (any, error) {
	var in struct{ GrantToken, KeyId, GrantId string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	var g *kmsGrant
	switch {
	case in.GrantToken != "":
		for _, x := range s.kms.grants {
			if x.Token == in.GrantToken {
				g = x
			}
		}
		if g == nil {
			return nil, errorf("InvalidGrantTokenException", "The grant token is not valid or its grant was retired")
		}
	case in.KeyId != "" && in.GrantId != "":
		// RetireGrant takes the key ARN here, not an id or alias.
		if !strings.HasPrefix(in.KeyId, "arn:") {
			return nil, errorf("ValidationException", "KeyId must be a key ARN when the grant is identified by GrantId")
		}
		k, err := s.keyByRef(in.KeyId, false)
		if err != nil {
			return nil, err
		}
		for _, x := range s.kms.grants {
			if x.KeyID == k.ID && x.ID == in.GrantId {
				g = x
			}
		}
		if g == nil {
			return nil, kmsNotFound("Grant ID %s not found", in.GrantId)
		}
	default:
		return nil, errorf("ValidationException", "Either GrantToken, or both KeyId and GrantId, must be specified")
	}
	// Who may retire a grant (KMS developer guide, "Retiring and
	// revoking grants"): its retiring principal, its grantee when the
	// grant allows RetireGrant, or a principal the key's policy (or the
	// account's IAM policies) allows kms:RetireGrant.
	who := s.principalOf(r.accessKeyID)
	mayRetire := who == g.Retiring || who == g.Grantee && slices.Contains(g.Operations, "RetireGrant")
	if !mayRetire {
		if err := s.kmsAuthorize(r, s.kms.keys[g.KeyID], "RetireGrant", nil); err != nil {
			return nil, err
		}
	}
	for i, x := range s.kms.grants {
		if x == g {
			s.kms.grants = append(s.kms.grants[:i], s.kms.grants[i+1:]...)
			break
		}
	}
	return struct{}{}, nil
}

// kmsStateView is the KMS part of GET /_sim/state.
func kmsStateView(s *Sim) any {
	type key struct {
		ID, ARN, KeyManager, Description string
		Aliases                          []string `json:"aliases"`
		Policy                           json.RawMessage
	}
	type grant struct {
		ID, KeyID, Name, Grantee, Retiring string
		Operations                         []string
	}
	keys := []key{}
	for _, k := range s.kms.keyOrder {
		keys = append(keys, key{ID: k.ID, ARN: k.ARN, KeyManager: k.KeyManager, Description: k.Description, Aliases: s.aliasesOf(k), Policy: json.RawMessage(k.Policy)})
	}
	grants := []grant{}
	for _, g := range s.kms.grants {
		grants = append(grants, grant{ID: g.ID, KeyID: g.KeyID, Name: g.Name, Grantee: g.Grantee, Retiring: g.Retiring, Operations: g.Operations})
	}
	return map[string]any{"keys": keys, "grants": grants}
}

// kmsAccessDenied is KMS's AccessDeniedException; KMS answers it with
// HTTP 400, not 403.
func kmsAccessDenied(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "AccessDeniedException", Message: msg}
}
