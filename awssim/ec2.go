package awssim

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file serves the EC2 API (Query protocol, version 2016-11-15):
// instances and their status, tags, and the parsing shared by every EC2
// action (filters, tag specifications, pagination). Images and snapshots
// are served in ec2_images.go, launch templates and the network in
// ec2_templates.go. Lifecycles live in ec2model.go.

func init() {
	actions := map[string]queryHandler{
		"RunInstances":                   (*Sim).ec2RunInstances,
		"DescribeInstances":              (*Sim).ec2DescribeInstances,
		"DescribeInstanceStatus":         (*Sim).ec2DescribeInstanceStatus,
		"StopInstances":                  (*Sim).ec2StopInstances,
		"StartInstances":                 (*Sim).ec2StartInstances,
		"TerminateInstances":             (*Sim).ec2TerminateInstances,
		"CreateImage":                    (*Sim).ec2CreateImage,
		"DescribeImages":                 (*Sim).ec2DescribeImages,
		"DeregisterImage":                (*Sim).ec2DeregisterImage,
		"EnableImageDeprecation":         (*Sim).ec2EnableImageDeprecation,
		"DisableImageDeprecation":        (*Sim).ec2DisableImageDeprecation,
		"DescribeSnapshots":              (*Sim).ec2DescribeSnapshots,
		"DescribeVolumes":                (*Sim).ec2DescribeVolumes,
		"DeleteSnapshot":                 (*Sim).ec2DeleteSnapshot,
		"CreateTags":                     (*Sim).ec2CreateTags,
		"DeleteTags":                     (*Sim).ec2DeleteTags,
		"DescribeTags":                   (*Sim).ec2DescribeTags,
		"CreateLaunchTemplate":           (*Sim).ec2CreateLaunchTemplate,
		"CreateLaunchTemplateVersion":    (*Sim).ec2CreateLaunchTemplateVersion,
		"DescribeLaunchTemplates":        (*Sim).ec2DescribeLaunchTemplates,
		"DescribeLaunchTemplateVersions": (*Sim).ec2DescribeLaunchTemplateVersions,
		"ModifyLaunchTemplate":           (*Sim).ec2ModifyLaunchTemplate,
		"DeleteLaunchTemplateVersions":   (*Sim).ec2DeleteLaunchTemplateVersions,
		"DescribeSubnets":                (*Sim).ec2DescribeSubnets,
		"DescribeSecurityGroups":         (*Sim).ec2DescribeSecurityGroups,
		"DescribeVpcs":                   (*Sim).ec2DescribeVpcs,
		"DeleteLaunchTemplate":           (*Sim).ec2DeleteLaunchTemplate,
		"CreateRouteTable":               (*Sim).ec2CreateRouteTable,
		"AssociateRouteTable":            (*Sim).ec2AssociateRouteTable,
		"CreateRoute":                    (*Sim).ec2CreateRoute,
		"DeleteRoute":                    (*Sim).ec2DeleteRoute,
		"DescribeRouteTables":            (*Sim).ec2DescribeRouteTables,
		"CreateInternetGateway":          (*Sim).ec2CreateInternetGateway,
		"AttachInternetGateway":          (*Sim).ec2AttachInternetGateway,
		"DescribeInternetGateways":       (*Sim).ec2DescribeInternetGateways,
		"CreateNatGateway":               (*Sim).ec2CreateNatGateway,
		"DescribeNatGateways":            (*Sim).ec2DescribeNatGateways,
		"CreateVpcEndpoint":              (*Sim).ec2CreateVpcEndpoint,
		"DescribeVpcEndpoints":           (*Sim).ec2DescribeVpcEndpoints,
	}
	for name, h := range actions {
		actions[name] = ec2DryRun(h)
	}
	registerQuery("ec2", "2016-11-15", "http://ec2.amazonaws.com/doc/2016-11-15/", true, actions)
}

// ec2DryRun answers DryRun=true as EC2 does once the caller is allowed the
// action (admit has checked that): DryRunOperation, HTTP 412, nothing done.
func ec2DryRun(h queryHandler) queryHandler {
	return func(s *Sim, r *request, p params, w *xmlWriter) error {
		dry, _, err := p.boolean("DryRun")
		if err != nil {
			return err
		}
		if dry {
			return &apiError{Status: 412, Code: "DryRunOperation", Message: "Request would have succeeded, but DryRun flag is set."}
		}
		return h(s, r, p, w)
	}
}

// ---- shared parsing --------------------------------------------------------

// ec2Filter is one filter of a Describe call: EC2's Filter.N, Auto
// Scaling's Filters.member.N.
type ec2Filter struct {
	name   string
	values []string
}

// parseFilters reads Filter.N.Name / Filter.N.Value.M. Names outside known
// (and, when taggable, tag:KEY, tag-key and tag-value) are refused as AWS
// does.
func parseFilters(p params, taggable bool, known ...string) ([]ec2Filter, error) {
	var out []ec2Filter
	for _, f := range p.structs("Filter") {
		name := f.str("Name")
		if name == "" {
			return nil, errorf("MissingParameter", "The request must contain the parameter %sName", f.prefix)
		}
		ok := taggable && (strings.HasPrefix(name, "tag:") && len(name) > 4 || name == "tag-key" || name == "tag-value")
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			return nil, errorf("InvalidParameterValue", "The filter '%s' is invalid", name)
		}
		out = append(out, ec2Filter{name: name, values: f.list("Value")})
	}
	return out, nil
}

// matchFilters reports whether a resource passes every filter: tag filters
// look at t, the others at attr(name). Values may use the * and ? wildcards.
func matchFilters(fs []ec2Filter, t tags, attr func(name string) string) bool {
	for _, f := range fs {
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			v, ok := t[f.name[4:]]
			if !ok || !matchAny(f.values, v) {
				return false
			}
		case f.name == "tag-key" || f.name == "tag-value":
			found := false
			for k, v := range t {
				x := k
				if f.name == "tag-value" {
					x = v
				}
				if matchAny(f.values, x) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		default:
			if !matchAny(f.values, attr(f.name)) {
				return false
			}
		}
	}
	return true
}

func matchAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if globMatch(p, v) {
			return true
		}
	}
	return false
}

// globMatch matches s against an EC2 filter value: * is any run of
// characters, ? any one, and a backslash escapes either.
func globMatch(pat, s string) bool {
	if !strings.ContainsAny(pat, `*?\`) {
		return pat == s
	}
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		if p < len(pat) {
			c := pat[p]
			switch {
			case c == '*':
				star, mark = p, i
				p++
				continue
			case c == '?':
				p++
				i++
				continue
			case c == '\\' && p+1 < len(pat):
				if pat[p+1] == s[i] {
					p += 2
					i++
					continue
				}
			case c == s[i]:
				p++
				i++
				continue
			}
		}
		if star < 0 {
			return false
		}
		p = star + 1
		mark++
		i = mark
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// parseTags reads Name.N.Key / Name.N.Value, validating keys and values as
// EC2 does. Keys starting with "aws:" are reserved.
func parseTags(p params, name string) (tags, error) {
	items := p.structs(name)
	if len(items) > 50 {
		return nil, errorf("TagLimitExceeded", "The maximum number of tags per resource is 50")
	}
	t := make(tags, len(items))
	for _, it := range items {
		k, v := it.str("Key"), it.str("Value")
		switch {
		case k == "":
			return nil, errorf("InvalidParameterValue", "Tag key must not be empty (%sKey)", it.prefix)
		case len(k) > 128:
			return nil, errorf("InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
		case len(v) > 256:
			return nil, errorf("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return nil, errorf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
		t[k] = v
	}
	return t, nil
}

// parseTagSpecs reads Name.N.ResourceType and Name.N.Tag.M into tags per
// resource type, refusing resource types the action cannot tag.
func parseTagSpecs(p params, name string, allowed ...string) (map[string]tags, error) {
	out := map[string]tags{}
	for _, spec := range p.structs(name) {
		rt := spec.str("ResourceType")
		if rt == "" {
			return nil, errorf("MissingParameter", "The request must contain the parameter %sResourceType", spec.prefix)
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == rt
		}
		if !ok {
			return nil, errorf("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", rt)
		}
		t, err := parseTags(spec, "Tag")
		if err != nil {
			return nil, err
		}
		if out[rt] == nil {
			out[rt] = tags{} // a specification without tags still counts
		}
		out[rt].with(t)
	}
	return out, nil
}

// appendFound appends to out the resource each key names, in order and
// leaving out what out already holds; the first lookup error is the
// call's. Describe calls use it for their id (or name) lists.
func appendFound[T comparable](out []T, keys []string, find func(string) (T, error)) ([]T, error) {
	// A short list (most calls name one resource) is searched for
	// duplicates directly; a long one through a set.
	const short = 16
	var seen map[T]bool
	if len(out)+len(keys) > short {
		seen = make(map[T]bool, len(out)+len(keys))
		for _, v := range out {
			seen[v] = true
		}
	}
	for _, k := range keys {
		v, err := find(k)
		if err != nil {
			return nil, err
		}
		dup := seen[v]
		if seen == nil {
			dup = slices.Contains(out, v)
		}
		if !dup {
			if seen != nil {
				seen[v] = true
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// maxResults reads MaxResults within [lo, hi]; 0 means no limit.
func maxResults(p params, lo, hi int) (int, error) {
	n, ok, err := p.integer("MaxResults")
	if err != nil || !ok {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, errorf("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Parameter must be between %d and %d.", n, lo, hi)
	}
	return n, nil
}

// ec2TokenPrefix marks EC2's NextToken values (see pageToken).
const ec2TokenPrefix = "awssim:"

// ec2Token reads an EC2 NextToken, with EC2's error for anything else.
func ec2Token(tok string) (uint64, error) {
	if n, ok := parsePageToken(ec2TokenPrefix, tok); ok {
		return n, nil
	}
	return 0, errorf("InvalidParameterValue", "Invalid value '%s' for NextToken", tok)
}

// writePage writes the page of items that NextToken and MaxResults (limit)
// select, each with write, inside the set element, then the nextToken of
// the following page.
func writePage[T any](w *xmlWriter, p params, limit int, set string, items []T, write func(T)) error {
	var off uint64
	if tok := p.str("NextToken"); tok != "" {
		var err error
		if off, err = ec2Token(tok); err != nil {
			return err
		}
	}
	from, to, next := pageBounds(ec2TokenPrefix, len(items), off, limit)
	w.open(set)
	for _, x := range items[from:to] {
		write(x)
	}
	w.close(set)
	w.elemIf("nextToken", next)
	return nil
}

// writeTagSet writes a resource's tags as EC2's tagSet, by key; nothing
// when there are none. One tag (the common case) needs no sorting.
func writeTagSet(w *xmlWriter, t tags) {
	if len(t) == 0 {
		return
	}
	w.open("tagSet")
	if len(t) == 1 {
		for k, v := range t {
			writeTag(w, k, v)
		}
	} else {
		for _, k := range t.sorted() {
			writeTag(w, k, t[k])
		}
	}
	w.close("tagSet")
}

func writeTag(w *xmlWriter, k, v string) {
	w.open("item")
	w.elem("key", k)
	w.elem("value", v)
	w.close("item")
}

// ---- instances ---------------------------------------------------------------

var (
	instanceTypeRe       = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	instanceProfileArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:instance-profile/[\w+=,.@/-]+$`)
	instanceProfileRe    = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
)

// instanceARN is the ARN IAM policies name an instance by.
func (s *Sim) instanceARN(id string) string { return s.arn("ec2", "instance/"+id) }

// imageARN is an image's ARN; images carry no account.
func (s *Sim) imageARN(id string) string { return "arn:aws:ec2:" + s.opts.Region + "::image/" + id }

// snapshotARN is a snapshot's ARN; snapshots carry no account.
func (s *Sim) snapshotARN(id string) string {
	return "arn:aws:ec2:" + s.opts.Region + "::snapshot/" + id
}

func (s *Sim) ec2RunInstances(r *request, p params, w *xmlWriter) error {
	minC, okMin, err := p.integer("MinCount")
	if err != nil {
		return err
	}
	maxC, okMax, err := p.integer("MaxCount")
	if err != nil {
		return err
	}
	switch {
	case !okMin:
		return errorf("MissingParameter", "The request must contain the parameter MinCount")
	case !okMax:
		return errorf("MissingParameter", "The request must contain the parameter MaxCount")
	case minC < 1:
		return errorf("InvalidParameterValue", "Value (%d) for parameter minCount is invalid. Expected a positive integer.", minC)
	case maxC < minC:
		return errorf("InvalidParameterValue", "Value (%d) for parameter maxCount is invalid. maxCount must be greater than or equal to minCount (%d).", maxC, minC)
	case minC > 1000:
		return errorf("InstanceLimitExceeded", "Your quota allows for 1000 more running instance(s). You requested at least %d.", minC)
	}
	count := min(maxC, 1000)

	token := p.str("ClientToken")
	if len(token) > 64 {
		return errorf("InvalidParameterValue", "Value for parameter clientToken is invalid: longer than 64 characters")
	}
	var fingerprint string
	if token != "" {
		fingerprint = runFingerprint(p)
		if rec, ok := s.ec2.clientTokens[token]; ok {
			if rec.fingerprint != fingerprint {
				return errorf("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
			}
			var ins []*instance
			for _, id := range rec.instanceIDs {
				if in := s.ec2.instances[id]; in != nil {
					ins = append(ins, in)
				}
			}
			s.writeReservation(w, rec.reservationID, ins)
			return nil
		}
	}

	var sp instanceSpec
	var res []Resource // what IAM sees besides the new instance and volumes
	if p.present("LaunchTemplate") {
		lp := p.sub("LaunchTemplate")
		lt, err := s.launchTemplateByRef(lp.str("LaunchTemplateId"), lp.str("LaunchTemplateName"))
		if err != nil {
			return err
		}
		v, err := lt.version(lp.str("Version"))
		if err != nil {
			return err
		}
		res = append(res, Resource{ARN: s.ltARN(lt.ID), Tags: lt.Tags})
		sp = s.ltInstanceSpec(lt, v)
	}
	if v := p.str("ImageId"); v != "" {
		sp.ImageID = v
	}
	if sp.ImageID == "" {
		return errorf("MissingParameter", "The request must contain the parameter ImageId")
	}
	if strings.HasPrefix(sp.ImageID, "resolve:ssm:") {
		return errorf("InvalidParameterValue", "ImageId %s: resolving SSM parameters is not supported by RunInstances in the simulator", sp.ImageID)
	}
	if v := p.str("InstanceType"); v != "" {
		sp.InstanceType = v
	}
	if sp.InstanceType != "" {
		if err := checkInstanceType(sp.InstanceType); err != nil {
			return err
		}
	}
	if v := p.str("KeyName"); v != "" {
		sp.KeyName = v
	}
	sp.SubnetID = p.str("SubnetId")
	sgs := p.list("SecurityGroupId")
	if nis := p.structs("NetworkInterface"); len(nis) > 0 {
		if sp.SubnetID != "" || len(sgs) > 0 {
			return errorf("InvalidParameterCombination", "Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request")
		}
		sp.SubnetID = nis[0].str("SubnetId")
		sgs = nis[0].list("SecurityGroupId")
	}
	if sp.SubnetID != "" && !strings.HasPrefix(sp.SubnetID, "subnet-") {
		return errorf("InvalidSubnetID.Malformed", "Invalid subnet ID '%s'", sp.SubnetID)
	}
	for _, name := range p.list("SecurityGroup") {
		found := s.securityGroupByName(name)
		if found == nil {
			return errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
		sgs = append(sgs, found.ID)
	}
	if len(sgs) > 0 {
		sp.SecurityGroupIDs = sgs
	}
	for _, id := range sp.SecurityGroupIDs {
		if err := checkSecurityGroupID(id); err != nil {
			return err
		}
	}
	if ip := p.sub("IamInstanceProfile"); ip.has("Arn") || ip.has("Name") {
		arn, name := ip.str("Arn"), ip.str("Name")
		switch {
		case arn != "" && name != "":
			return errorf("InvalidParameterCombination", "The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'")
		case arn != "":
			if !instanceProfileArnRe.MatchString(arn) {
				return errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", arn)
			}
			sp.InstanceProfileArn = arn
		default:
			if !instanceProfileRe.MatchString(name) {
				return errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", name)
			}
			sp.InstanceProfileArn = s.instanceProfileARN(name)
		}
	}
	if v := p.str("MetadataOptions.HttpTokens"); v != "" {
		sp.HTTPTokens = v
	}
	if sp.HTTPTokens != "" {
		if err := checkHTTPTokens(sp.HTTPTokens); err != nil {
			return err
		}
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "instance", "volume", "network-interface")
	if err != nil {
		return err
	}
	sp.Tags = sp.Tags.with(specs["instance"])
	sp.VolumeTags = sp.VolumeTags.with(specs["volume"])
	bds, err := parseBlockDevices(p)
	if err != nil {
		return err
	}
	sp.BlockDevices = mergeBlockDevices(sp.BlockDevices, bds)
	sp.kmsAccessKey, sp.kmsPrincipal = r.accessKeyID, s.principalOf(r.accessKeyID)
	im, err := s.imageByID(sp.ImageID, true)
	if err != nil {
		return err
	}
	res = append(res, s.runInstancesResources(&sp, im)...)
	if err := s.authorize(r, res...); err != nil {
		return err
	}

	sp.ReservationID = s.newID("r")
	sp.ClientToken = token
	ins := make([]*instance, 0, count)
	for i := 0; i < count; i++ {
		sp.LaunchIndex = i
		in, err := s.launchInstance(sp)
		if err != nil {
			if i == 0 {
				return err
			}
			break
		}
		ins = append(ins, in)
	}
	if token != "" {
		rec := &runRecord{fingerprint: fingerprint, reservationID: sp.ReservationID}
		for _, in := range ins {
			rec.instanceIDs = append(rec.instanceIDs, in.ID)
		}
		s.ec2.clientTokens[token] = rec
		// EC2 honours a token for at least a day; forget it after that.
		s.after(24*time.Hour, func() {
			if s.ec2.clientTokens[token] == rec {
				delete(s.ec2.clientTokens, token)
			}
		})
	}
	s.writeReservation(w, sp.ReservationID, ins)
	return nil
}

// runFingerprint is a request's parameters other than the token
// (RunInstances, CreateLaunchTemplateVersion), to tell an idempotent retry
// from a conflicting reuse of the token.
func runFingerprint(p params) string {
	keys := make([]string, 0, len(p.v))
	for k := range p.v {
		if k != "ClientToken" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.Join(p.v[k], ","))
		b.WriteByte('&')
	}
	return b.String()
}

// writeReservation writes RunInstances' result: a reservation's fields at
// the top level.
func (s *Sim) writeReservation(w *xmlWriter, id string, ins []*instance) {
	w.buf.Grow(256 + 2300*len(ins))
	w.elem("reservationId", id)
	w.elem("ownerId", s.opts.AccountID)
	w.raw("<groupSet/>")
	w.open("instancesSet")
	for _, in := range ins {
		s.writeInstance(w, in)
	}
	w.close("instancesSet")
}

var instanceFilters = []string{
	"instance-id", "instance-state-name", "instance-state-code", "image-id", "instance-type",
	"subnet-id", "vpc-id", "availability-zone", "private-ip-address", "key-name", "reservation-id",
	"iam-instance-profile.arn", "platform", "launch-template-id",
}

func instanceAttr(in *instance) func(string) string {
	return func(name string) string {
		switch name {
		case "instance-id":
			return in.ID
		case "instance-state-name":
			return in.State
		case "instance-state-code":
			return strconv.Itoa(in.StateCode())
		case "image-id":
			return in.ImageID
		case "instance-type":
			return in.InstanceType
		case "subnet-id":
			return in.SubnetID
		case "vpc-id":
			return in.VpcID
		case "availability-zone":
			return in.AZ
		case "private-ip-address":
			return in.PrivateIP
		case "key-name":
			return in.KeyName
		case "reservation-id":
			return in.ReservationID
		case "iam-instance-profile.arn":
			return in.InstanceProfileArn
		case "platform":
			return in.Platform
		case "launch-template-id":
			return in.LaunchTemplateID
		}
		return ""
	}
}

// selectInstances returns the instances a Describe call names (by id, in
// the order given) or lists (in launch order, paginated by launch
// sequence), filtered. next is the token for the following page.
func (s *Sim) selectInstances(ids []string, token string, filters []ec2Filter, limit int) (out []*instance, next string, err error) {
	match := func(in *instance) bool {
		return len(filters) == 0 || matchFilters(filters, in.Tags, instanceAttr(in))
	}
	if len(ids) > 0 {
		if limit > 0 {
			return nil, "", errorf("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
		}
		named, err := appendFound(nil, ids, func(id string) (*instance, error) { return s.instanceByID(id, false) })
		if err != nil {
			return nil, "", err
		}
		out = named[:0]
		for _, in := range named {
			if match(in) {
				out = append(out, in)
			}
		}
		return out, "", nil
	}
	order := s.ec2.instanceOrder
	start := 0
	if token != "" {
		seq, err := ec2Token(token)
		if err != nil {
			return nil, "", err
		}
		start = sort.Search(len(order), func(i int) bool { return order[i].seq >= seq })
	}
	for _, in := range order[start:] {
		if !match(in) {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, pageToken(ec2TokenPrefix, in.seq), nil
		}
		out = append(out, in)
	}
	return out, "", nil
}

func (s *Sim) ec2DescribeInstances(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, instanceFilters...)
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 5, 1000)
	if err != nil {
		return err
	}
	ins, next, err := s.selectInstances(p.list("InstanceId"), p.str("NextToken"), filters, limit)
	if err != nil {
		return err
	}
	// About 2 KB per instance: size the buffer once instead of doubling
	// it through a multi-megabyte response.
	w.buf.Grow(256 + 2300*len(ins))
	w.open("reservationSet")
	res := ""
	for _, in := range ins {
		if in.ReservationID != res {
			if res != "" {
				w.raw("</instancesSet></item>")
			}
			res = in.ReservationID
			w.open("item")
			w.elem("reservationId", res)
			w.elem("ownerId", s.opts.AccountID)
			w.raw("<groupSet/><instancesSet>")
		}
		s.writeInstance(w, in)
	}
	if res != "" {
		w.raw("</instancesSet></item>")
	}
	w.close("reservationSet")
	w.elemIf("nextToken", next)
	return nil
}

// stateReason maps the model's free-text reason to EC2's StateReason.
func stateReason(in *instance) (code, message string) {
	r := in.StateReason
	if r == "" {
		return "", ""
	}
	if strings.HasPrefix(r, "Client.") || strings.HasPrefix(r, "Server.") {
		code, _, _ = strings.Cut(r, ":")
		switch code {
		case "Client.InstanceInitiatedShutdown":
			return code, "Client.InstanceInitiatedShutdown: Instance initiated shutdown"
		}
		return code, r
	}
	return "Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"
}

// writeInstance writes one instance item as DescribeInstances and
// RunInstances return it.
func (s *Sim) writeInstance(w *xmlWriter, in *instance) {
	w.open("item")
	w.elem("instanceId", in.ID)
	w.elem("imageId", in.ImageID)
	w.raw("<instanceState><code>")
	w.raw(strconv.Itoa(in.StateCode()))
	w.raw("</code><name>")
	w.raw(in.State)
	w.raw("</name></instanceState>")
	gone := in.State == "terminated"
	if !gone {
		w.raw("<privateDnsName>")
		w.buf.Write(s.appendPrivateDNSName(w.buf.AvailableBuffer(), in))
		w.raw("</privateDnsName>")
	}
	if code, _ := stateReason(in); code != "" && (in.State == "stopped" || in.State == "stopping" || in.State == "terminated" || in.State == "shutting-down") {
		who := "User initiated"
		switch {
		case code == "Client.InstanceInitiatedShutdown":
			who = "Instance initiated"
		case strings.HasPrefix(code, "Server."):
			who = "Server initiated"
		}
		w.elem("reason", who+" ("+in.stateTime.UTC().Format("2006-01-02 15:04:05")+" GMT)")
	}
	w.elemIf("keyName", in.KeyName)
	w.int("amiLaunchIndex", in.LaunchIndex)
	w.elem("instanceType", in.InstanceType)
	w.time("launchTime", in.LaunchTime)
	w.raw("<placement><availabilityZone>")
	w.raw(in.AZ)
	w.raw("</availabilityZone><tenancy>default</tenancy></placement>")
	if in.Platform == "windows" {
		w.raw("<platform>windows</platform>")
	}
	w.raw("<monitoring><state>disabled</state></monitoring>")
	if !gone {
		w.elem("subnetId", in.SubnetID)
		w.elem("vpcId", in.VpcID)
		w.elem("privateIpAddress", in.PrivateIP)
	}
	w.raw("<sourceDestCheck>true</sourceDestCheck>")
	w.open("groupSet")
	if !gone {
		for _, id := range in.SecurityGroupIDs {
			w.open("item")
			w.elem("groupId", id)
			if g := s.securityGroupByID(id); g != nil {
				w.elem("groupName", g.Name)
			}
			w.close("item")
		}
	}
	w.close("groupSet")
	if code, msg := stateReason(in); code != "" {
		w.raw("<stateReason>")
		w.elem("code", code)
		w.elem("message", msg)
		w.raw("</stateReason>")
	}
	w.raw("<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType>")
	if len(in.Volumes) > 0 {
		w.elem("rootDeviceName", in.Volumes[0].Device)
	}
	w.open("blockDeviceMapping")
	if !gone {
		for _, v := range in.Volumes {
			w.raw("<item><deviceName>")
			w.raw(v.Device)
			w.raw("</deviceName><ebs><volumeId>")
			w.raw(v.ID)
			w.raw("</volumeId><status>attached</status>")
			w.time("attachTime", in.LaunchTime)
			w.raw("<deleteOnTermination>true</deleteOnTermination></ebs></item>")
		}
	}
	w.close("blockDeviceMapping")
	w.raw("<virtualizationType>hvm</virtualizationType>")
	w.elemIf("clientToken", in.ClientToken)
	writeTagSet(w, in.Tags)
	w.raw("<hypervisor>xen</hypervisor>")
	if in.InstanceProfileArn != "" {
		w.raw("<iamInstanceProfile>")
		w.elem("arn", in.InstanceProfileArn)
		w.elem("id", "AIPA"+strings.ToUpper(strings.TrimPrefix(in.ID, "i-")))
		w.raw("</iamInstanceProfile>")
	}
	w.raw("<ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport><metadataOptions><state>applied</state><httpTokens>")
	w.raw(in.HTTPTokens)
	w.raw("</httpTokens><httpPutResponseHopLimit>2</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>")
	details, usage := platformDetails(in.Platform)
	w.elem("platformDetails", details)
	w.elem("usageOperation", usage)
	w.close("item")
}

// platformDetails is the PlatformDetails and UsageOperation that EC2
// reports for instances and images of a platform ("windows" or "").
func platformDetails(platform string) (details, usageOperation string) {
	if platform == "windows" {
		return "Windows", "RunInstances:0002"
	}
	return "Linux/UNIX", "RunInstances"
}

var instanceStatusFilters = []string{
	"instance-id", "instance-state-name", "instance-state-code", "availability-zone",
	"instance-status.status", "system-status.status", "instance-status.reachability", "system-status.reachability",
}

// instanceCheck is an instance's InstanceStatus/SystemStatus: status and
// the reachability detail.
func instanceCheck(in *instance) (status, detail string) {
	switch {
	case in.State != "running":
		return "not-applicable", "not-applicable"
	case in.Impaired:
		return "impaired", "failed"
	case in.StatusOK:
		return "ok", "passed"
	}
	return "initializing", "initializing"
}

func (s *Sim) ec2DescribeInstanceStatus(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, false, instanceStatusFilters...)
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 5, 1000)
	if err != nil {
		return err
	}
	all, _, err := p.boolean("IncludeAllInstances")
	if err != nil {
		return err
	}
	ids := p.list("InstanceId")
	if len(ids) > 0 && limit > 0 {
		return errorf("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	// Select first, then page over what the state rules and filters keep.
	ins, _, err := s.selectInstances(ids, "", nil, 0)
	if err != nil {
		return err
	}
	kept := ins[:0:0]
	for _, in := range ins {
		if !all && in.State != "running" {
			continue
		}
		st, det := instanceCheck(in)
		attr := instanceAttr(in)
		ok := matchFilters(filters, nil, func(name string) string {
			switch name {
			case "instance-status.status", "system-status.status":
				return st
			case "instance-status.reachability", "system-status.reachability":
				return det
			}
			return attr(name)
		})
		if ok {
			kept = append(kept, in)
		}
	}
	return writePage(w, p, limit, "instanceStatusSet", kept, func(in *instance) {
		st, det := instanceCheck(in)
		w.open("item")
		w.elem("instanceId", in.ID)
		w.elem("availabilityZone", in.AZ)
		writeInstanceState(w, "instanceState", in.State)
		for _, tag := range []string{"instanceStatus", "systemStatus"} {
			w.open(tag)
			w.elem("status", st)
			w.raw("<details><item><name>reachability</name>")
			w.elem("status", det)
			w.raw("</item></details>")
			w.close(tag)
		}
		w.close("item")
	})
}

func writeInstanceState(w *xmlWriter, tag, state string) {
	w.open(tag)
	w.int("code", instanceStateCode[state])
	w.elem("name", state)
	w.close(tag)
}

// instancesForChange looks up every instance a Stop/Start/Terminate call
// names and checks it against the authorizer, before anything changes.
func (s *Sim) instancesForChange(r *request, p params) ([]*instance, error) {
	ids := p.list("InstanceId")
	if len(ids) == 0 {
		return nil, errorf("MissingParameter", "The request must contain the parameter InstanceId")
	}
	ins := make([]*instance, 0, len(ids))
	res := make([]Resource, 0, len(ids))
	for _, id := range ids {
		in, err := s.instanceByID(id, false)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
		res = append(res, Resource{ARN: s.instanceARN(in.ID), Tags: in.Tags})
	}
	if err := s.authorize(r, res...); err != nil {
		return nil, err
	}
	return ins, nil
}

// writeStateChanges writes instancesSet items of previous/current state.
func writeStateChanges(w *xmlWriter, ins []*instance, prev []string) {
	w.open("instancesSet")
	for i, in := range ins {
		w.open("item")
		w.elem("instanceId", in.ID)
		writeInstanceState(w, "currentState", in.State)
		writeInstanceState(w, "previousState", prev[i])
		w.close("item")
	}
	w.close("instancesSet")
}

func (s *Sim) ec2StopInstances(r *request, p params, w *xmlWriter) error {
	ins, err := s.instancesForChange(r, p)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.State == "shutting-down" || in.State == "terminated" {
			return errorf("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", in.ID)
		}
	}
	prev := make([]string, len(ins))
	for i, in := range ins {
		prev[i] = in.State
		s.stopInstance(in, "User initiated")
	}
	writeStateChanges(w, ins, prev)
	return nil
}

func (s *Sim) ec2StartInstances(r *request, p params, w *xmlWriter) error {
	ins, err := s.instancesForChange(r, p)
	if err != nil {
		return err
	}
	for _, in := range ins {
		switch in.State {
		case "stopping", "shutting-down", "terminated":
			return errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", in.ID)
		}
	}
	prev := make([]string, len(ins))
	for i, in := range ins {
		prev[i] = in.State
		s.startInstance(in)
	}
	writeStateChanges(w, ins, prev)
	return nil
}

func (s *Sim) ec2TerminateInstances(r *request, p params, w *xmlWriter) error {
	ins, err := s.instancesForChange(r, p)
	if err != nil {
		return err
	}
	prev := make([]string, len(ins))
	for i, in := range ins {
		prev[i] = in.State
		s.terminateInstance(in, "User initiated")
	}
	writeStateChanges(w, ins, prev)
	return nil
}

// ---- tags ------------------------------------------------------------------------

// tagTarget is a taggable resource found by id.
type tagTarget struct {
	id, typ, arn string
	tags         *tags
}

// tagTargetByID finds any taggable resource by its id, with the error the
// id's resource type gives when it does not exist.
func (s *Sim) tagTargetByID(id string) (tagTarget, error) {
	prefix, _, _ := strings.Cut(id, "-")
	switch prefix {
	case "i":
		in, err := s.instanceByID(id, false)
		if err != nil {
			return tagTarget{}, err
		}
		return tagTarget{id, "instance", s.instanceARN(id), &in.Tags}, nil
	case "ami":
		im, err := s.imageByID(id, false)
		if err != nil {
			return tagTarget{}, err
		}
		if im.OwnerID != s.opts.AccountID {
			return tagTarget{}, errorf("UnauthorizedOperation", "You are not authorized to tag image %s, which you do not own", id)
		}
		return tagTarget{id, "image", s.imageARN(id), &im.Tags}, nil
	case "snap":
		sn, err := s.snapshotByID(id)
		if err != nil {
			return tagTarget{}, err
		}
		return tagTarget{id, "snapshot", s.snapshotARN(id), &sn.Tags}, nil
	case "lt":
		lt, err := s.launchTemplateByRef(id, "")
		if err != nil {
			return tagTarget{}, err
		}
		return tagTarget{id, "launch-template", s.arn("ec2", "launch-template/"+id), &lt.Tags}, nil
	case "vol":
		for _, in := range s.ec2.instanceOrder {
			for i := range in.Volumes {
				if v := &in.Volumes[i]; v.ID == id && in.State != "terminated" {
					return tagTarget{id, "volume", s.arn("ec2", "volume/"+id), &v.Tags}, nil
				}
			}
		}
		return tagTarget{}, errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
	}
	return tagTarget{}, errorf("InvalidID", "The ID '%s' is not valid", id)
}

// tagTargets resolves and authorizes every ResourceId.N of a tag call;
// ctx is the request's tags as condition keys (see tagContext).
func (s *Sim) tagTargets(r *request, p params, ctx map[string][]string) ([]tagTarget, error) {
	ids := p.list("ResourceId")
	if len(ids) == 0 {
		return nil, errorf("MissingParameter", "The request must contain the parameter ResourceId")
	}
	out := make([]tagTarget, 0, len(ids))
	res := make([]Resource, 0, len(ids))
	for _, id := range ids {
		t, err := s.tagTargetByID(id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		res = append(res, Resource{ARN: t.arn, Tags: *t.tags, Context: ctx})
	}
	if err := s.authorize(r, res...); err != nil {
		return nil, err
	}
	return out, nil
}

// tagContext is what a tag call puts in the request context: each tag
// as aws:RequestTag/KEY and the keys as aws:TagKeys (tags to add), or
// only the keys (tags to remove). "Control access to AWS resources using
// tags" (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-requests):
// aws:RequestTag and aws:TagKeys are the tags passed in the request.
func tagContext(add map[string]string, removeKeys []string) map[string][]string {
	ctx := map[string][]string{}
	keys := append([]string(nil), removeKeys...)
	for k, v := range add {
		ctx["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		ctx["aws:TagKeys"] = keys
	}
	return ctx
}

func (s *Sim) ec2CreateTags(r *request, p params, w *xmlWriter) error {
	add, err := parseTags(p, "Tag")
	if err != nil {
		return err
	}
	if len(add) == 0 {
		return errorf("MissingParameter", "The request must contain the parameter Tag")
	}
	targets, err := s.tagTargets(r, p, tagContext(add, nil))
	if err != nil {
		return err
	}
	for _, t := range targets {
		n := len(*t.tags)
		for k := range add {
			if _, ok := (*t.tags)[k]; !ok {
				n++
			}
		}
		if n > 50 {
			return errorf("TagLimitExceeded", "The maximum number of tags per resource is 50 (%s)", t.id)
		}
	}
	for _, t := range targets {
		*t.tags = t.tags.with(add)
	}
	w.elem("return", "true")
	return nil
}

func (s *Sim) ec2DeleteTags(r *request, p params, w *xmlWriter) error {
	type del struct {
		key, value string
		hasValue   bool
	}
	var dels []del
	for _, it := range p.structs("Tag") {
		k := it.str("Key")
		if k == "" {
			return errorf("InvalidParameterValue", "Tag key must not be empty (%sKey)", it.prefix)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errorf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
		dels = append(dels, del{k, it.str("Value"), it.has("Value")})
	}
	keys := make([]string, 0, len(dels))
	for _, d := range dels {
		keys = append(keys, d.key)
	}
	targets, err := s.tagTargets(r, p, tagContext(nil, keys))
	if err != nil {
		return err
	}
	for _, t := range targets {
		m := *t.tags
		if len(dels) == 0 {
			// No Tag: every user tag goes.
			for k := range m {
				if !strings.HasPrefix(k, "aws:") {
					delete(m, k)
				}
			}
		}
		for _, d := range dels {
			if v, ok := m[d.key]; ok && (!d.hasValue || v == d.value) {
				delete(m, d.key)
			}
		}
	}
	w.elem("return", "true")
	return nil
}

func (s *Sim) ec2DescribeTags(r *request, p params, w *xmlWriter) error {
	parsed, err := parseFilters(p, true, "resource-id", "resource-type", "key", "value")
	if err != nil {
		return err
	}
	// Here a tag is the resource: tag filters become key/value filters.
	filters := parsed[:0:0]
	for _, f := range parsed {
		switch {
		case strings.HasPrefix(f.name, "tag:"):
			filters = append(filters, ec2Filter{name: "key", values: []string{f.name[4:]}}, ec2Filter{name: "value", values: f.values})
		case f.name == "tag-key":
			filters = append(filters, ec2Filter{name: "key", values: f.values})
		case f.name == "tag-value":
			filters = append(filters, ec2Filter{name: "value", values: f.values})
		default:
			filters = append(filters, f)
		}
	}
	limit, err := maxResults(p, 5, 1000)
	if err != nil {
		return err
	}
	type entry struct{ id, typ, key, value string }
	var out []entry
	add := func(id, typ string, t tags) {
		for _, k := range t.sorted() {
			e := entry{id, typ, k, t[k]}
			ok := matchFilters(filters, nil, func(name string) string {
				switch name {
				case "resource-id":
					return e.id
				case "resource-type":
					return e.typ
				case "key":
					return e.key
				}
				return e.value
			})
			if ok {
				out = append(out, e)
			}
		}
	}
	for _, in := range s.ec2.instanceOrder {
		add(in.ID, "instance", in.Tags)
		for _, v := range in.Volumes {
			if in.State != "terminated" {
				add(v.ID, "volume", v.Tags)
			}
		}
	}
	for _, im := range s.ec2.imageOrder {
		if im.OwnerID == s.opts.AccountID {
			add(im.ID, "image", im.Tags)
		}
	}
	for _, sn := range s.sortedSnapshots() {
		add(sn.ID, "snapshot", sn.Tags)
	}
	for _, lt := range s.ec2.ltOrder {
		add(lt.ID, "launch-template", lt.Tags)
	}
	return writePage(w, p, limit, "tagSet", out, func(e entry) {
		w.open("item")
		w.elem("resourceId", e.id)
		w.elem("resourceType", e.typ)
		w.elem("key", e.key)
		w.elem("value", e.value)
		w.close("item")
	})
}

// runInstancesResources lists what RunInstances of sp authorizes, as in
// IAM for EC2 ("Example policies to control access to the Amazon EC2 API:
// Launch instances (RunInstances)",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html#iam-example-runinstances):
// the new instance and volumes (with the tags requested, for
// aws:RequestTag), the network interface, the image (im, when known), the
// subnet, the security groups, and the instance profile (whose role the
// caller passes). Callers hold s.mu.
func (s *Sim) runInstancesResources(sp *instanceSpec, im *image) []Resource {
	var res []Resource
	res = append(res,
		Resource{ARN: s.instanceARN("*"), Tags: sp.Tags},
		Resource{ARN: s.arn("ec2", "volume/*"), Tags: sp.VolumeTags},
		Resource{ARN: s.arn("ec2", "network-interface/*")},
	)
	if im != nil {
		res = append(res, Resource{ARN: s.imageARN(im.ID), Tags: im.Tags})
	}
	subnetID := sp.SubnetID
	if subnetID == "" && len(s.ec2.subnets) > 0 {
		subnetID = s.ec2.subnets[0].ID
	}
	res = append(res, Resource{ARN: s.arn("ec2", "subnet/"+subnetID)})
	groups := sp.SecurityGroupIDs
	if sn := s.subnetByID(subnetID); len(groups) == 0 && sn != nil {
		groups = []string{s.defaultSecurityGroup(sn.VpcID).ID}
	}
	for _, id := range groups {
		res = append(res, Resource{ARN: s.arn("ec2", "security-group/"+id)})
	}
	if sp.InstanceProfileArn != "" {
		res = append(res, Resource{ARN: sp.InstanceProfileArn}) // iam:PassRole of its role
	}
	if sp.LaunchTemplateID != "" {
		res = append(res, Resource{ARN: s.arn("ec2", "launch-template/"+sp.LaunchTemplateID)})
	}
	return res
}
