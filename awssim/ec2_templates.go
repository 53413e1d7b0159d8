package awssim

import (
	"encoding/base64"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file serves EC2's launch template actions (Create, CreateVersion,
// Describe, DescribeVersions, Modify) and the read-only network actions
// (DescribeSubnets, DescribeSecurityGroups, DescribeVpcs).

var ltNameRe = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// parseLTData reads LaunchTemplateData.* over base: what is given
// replaces, what is not is kept (CreateLaunchTemplateVersion's
// SourceVersion inheritance; base is empty otherwise).
func (s *Sim) parseLTData(p params, base ltData) (ltData, error) {
	d := base
	d.SecurityGroupIDs = append([]string(nil), base.SecurityGroupIDs...)
	d.TagSpecifications = append([]tagSpec(nil), base.TagSpecifications...)
	d.BlockDevices = append([]blockDevice(nil), base.BlockDevices...)
	if p.present("BlockDeviceMapping") {
		bds, err := parseBlockDevices(p)
		if err != nil {
			return d, err
		}
		d.BlockDevices = bds
	}
	if p.has("ImageId") {
		d.ImageID = p.str("ImageId")
		if !strings.HasPrefix(d.ImageID, "resolve:ssm:") && !imageIDRe.MatchString(d.ImageID) {
			return d, errorf("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\" or \"resolve:ssm:...\")", d.ImageID)
		}
	}
	if p.has("InstanceType") {
		d.InstanceType = p.str("InstanceType")
		if err := checkInstanceType(d.InstanceType); err != nil {
			return d, err
		}
	}
	if p.has("KeyName") {
		d.KeyName = p.str("KeyName")
	}
	if p.has("UserData") {
		d.UserData = p.str("UserData")
		if _, err := base64.StdEncoding.DecodeString(d.UserData); err != nil {
			return d, errorf("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
		}
	}
	if ids := p.list("SecurityGroupId"); len(ids) > 0 {
		for _, id := range ids {
			if err := checkSecurityGroupID(id); err != nil {
				return d, err
			}
		}
		d.SecurityGroupIDs = ids
	}
	if names := p.list("SecurityGroup"); len(names) > 0 {
		d.SecurityGroupIDs = nil
		for _, name := range names {
			found := s.securityGroupByName(name)
			if found == nil {
				return d, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", name)
			}
			d.SecurityGroupIDs = append(d.SecurityGroupIDs, found.ID)
		}
	}
	if ip := p.sub("IamInstanceProfile"); ip.has("Arn") || ip.has("Name") {
		d.InstanceProfileArn, d.InstanceProfileName = ip.str("Arn"), ip.str("Name")
		if d.InstanceProfileArn != "" && !instanceProfileArnRe.MatchString(d.InstanceProfileArn) {
			return d, errorf("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid.", d.InstanceProfileArn)
		}
	}
	if p.has("MetadataOptions.HttpTokens") {
		d.HTTPTokens = p.str("MetadataOptions.HttpTokens")
		if err := checkHTTPTokens(d.HTTPTokens); err != nil {
			return d, err
		}
	}
	if p.present("TagSpecification") {
		specs, err := parseTagSpecs(p, "TagSpecification", "instance", "volume", "network-interface", "spot-instances-request")
		if err != nil {
			return d, err
		}
		d.TagSpecifications = nil
		for _, rt := range []string{"instance", "volume", "network-interface", "spot-instances-request"} {
			if t, ok := specs[rt]; ok {
				d.TagSpecifications = append(d.TagSpecifications, tagSpec{ResourceType: rt, Tags: t})
			}
		}
	}
	return d, nil
}

// ltVersionInput reads what CreateLaunchTemplate and
// CreateLaunchTemplateVersion share: LaunchTemplateData (over base) and
// VersionDescription.
func (s *Sim) ltVersionInput(p params, base ltData) (data ltData, desc string, err error) {
	if !p.present("LaunchTemplateData") {
		return data, "", errorf("MissingParameter", "The request must contain the parameter LaunchTemplateData")
	}
	desc = p.str("VersionDescription")
	if len(desc) > 255 {
		return data, "", errorf("InvalidParameterValue", "The version description must be at most 255 characters long")
	}
	data, err = s.parseLTData(p.sub("LaunchTemplateData"), base)
	return data, desc, err
}

// ltRef finds the template named by LaunchTemplateId or LaunchTemplateName.
func (s *Sim) ltRef(p params) (*launchTemplate, error) {
	id, name := p.str("LaunchTemplateId"), p.str("LaunchTemplateName")
	if id == "" && name == "" {
		return nil, errorf("MissingParameter", "The request must include either the launch template ID or the launch template name")
	}
	return s.launchTemplateByRef(id, name)
}

func (s *Sim) ltARN(id string) string { return s.arn("ec2", "launch-template/"+id) }

func (s *Sim) ec2CreateLaunchTemplate(r *request, p params, w *xmlWriter) error {
	name, err := p.required("LaunchTemplateName", true)
	if err != nil {
		return err
	}
	if !ltNameRe.MatchString(name) {
		return errorf("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _ (got %q)", name)
	}
	for _, lt := range s.ec2.ltOrder {
		if lt.Name == name {
			return errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
		}
	}
	data, desc, err := s.ltVersionInput(p, ltData{})
	if err != nil {
		return err
	}
	specs, err := parseTagSpecs(p, "TagSpecification", "launch-template")
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.ltARN("*"), Tags: specs["launch-template"]}); err != nil {
		return err
	}
	lt := s.addLaunchTemplate(name, s.callerARN(r), s.clock.now, ltVersion{Description: desc, Data: data})
	lt.Tags.with(specs["launch-template"])
	writeLaunchTemplate(w, "launchTemplate", lt)
	return nil
}

// addLaunchTemplate registers a new launch template whose first (and
// default) version is v.
func (s *Sim) addLaunchTemplate(name, createdBy string, created time.Time, v ltVersion) *launchTemplate {
	lt := &launchTemplate{
		ID: s.newID("lt"), Name: name, CreateTime: created, CreatedBy: createdBy,
		DefaultVersion: 1, LatestVersion: 1, Tags: tags{},
	}
	v.Number, v.CreateTime = 1, created
	lt.Versions = []*ltVersion{&v}
	s.ec2.launchTemplates[lt.ID] = lt
	s.ec2.ltOrder = append(s.ec2.ltOrder, lt)
	return lt
}

// rootARN is the account's root user.
func (s *Sim) rootARN() string { return "arn:aws:iam::" + s.opts.AccountID + ":root" }

// callerARN is the identity recorded as a launch template's creator.
func (s *Sim) callerARN(r *request) string {
	if r.accessKeyID == "" {
		return s.rootARN()
	}
	return "arn:aws:iam::" + s.opts.AccountID + ":user/" + r.accessKeyID
}

func writeLaunchTemplate(w *xmlWriter, tag string, lt *launchTemplate) {
	w.open(tag)
	w.time("createTime", lt.CreateTime)
	w.elem("createdBy", lt.CreatedBy)
	w.int("defaultVersionNumber", lt.DefaultVersion)
	w.int("latestVersionNumber", lt.LatestVersion)
	w.elem("launchTemplateId", lt.ID)
	w.elem("launchTemplateName", lt.Name)
	writeTagSet(w, lt.Tags)
	w.close(tag)
}

func writeLTVersion(w *xmlWriter, tag string, lt *launchTemplate, v *ltVersion) {
	w.open(tag)
	w.time("createTime", v.CreateTime)
	w.elem("createdBy", lt.CreatedBy)
	w.bool("defaultVersion", v.Number == lt.DefaultVersion)
	d := v.Data
	w.open("launchTemplateData")
	w.elemIf("imageId", d.ImageID)
	w.elemIf("instanceType", d.InstanceType)
	w.elemIf("keyName", d.KeyName)
	writeLTBlockDevices(w, d.BlockDevices)
	if len(d.SecurityGroupIDs) > 0 {
		w.open("securityGroupIdSet")
		for _, id := range d.SecurityGroupIDs {
			w.elem("item", id)
		}
		w.close("securityGroupIdSet")
	}
	if d.InstanceProfileArn != "" || d.InstanceProfileName != "" {
		w.open("iamInstanceProfile")
		w.elemIf("arn", d.InstanceProfileArn)
		w.elemIf("name", d.InstanceProfileName)
		w.close("iamInstanceProfile")
	}
	if d.HTTPTokens != "" {
		w.open("metadataOptions")
		w.elem("httpTokens", d.HTTPTokens)
		w.close("metadataOptions")
	}
	if len(d.TagSpecifications) > 0 {
		w.open("tagSpecificationSet")
		for _, ts := range d.TagSpecifications {
			w.open("item")
			w.elem("resourceType", ts.ResourceType)
			writeTagSet(w, ts.Tags)
			w.close("item")
		}
		w.close("tagSpecificationSet")
	}
	w.elemIf("userData", d.UserData)
	w.close("launchTemplateData")
	w.elem("launchTemplateId", lt.ID)
	w.elem("launchTemplateName", lt.Name)
	w.elemIf("versionDescription", v.Description)
	w.int("versionNumber", v.Number)
	w.close(tag)
}

func (s *Sim) ec2CreateLaunchTemplateVersion(r *request, p params, w *xmlWriter) error {
	lt, err := s.ltRef(p)
	if err != nil {
		return err
	}
	var base ltData
	if sv := p.str("SourceVersion"); sv != "" {
		src, err := lt.version(sv)
		if err != nil {
			return err
		}
		base = src.Data
	}
	data, desc, err := s.ltVersionInput(p, base)
	if err != nil {
		return err
	}
	if lt.LatestVersion >= 10000 {
		return errorf("LaunchTemplateVersionLimitExceeded", "Launch template %s has reached the limit of 10000 versions", lt.ID)
	}
	if err := s.authorize(r, Resource{ARN: s.ltARN(lt.ID), Tags: lt.Tags}); err != nil {
		return err
	}
	// ClientToken: "Unique, case-sensitive identifier you provide to ensure
	// the idempotency of the request ... Constraint: Maximum 128 ASCII
	// characters" (EC2 API Reference, CreateLaunchTemplateVersion,
	// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplateVersion.html).
	// A retry with the same token and parameters gets the version the first
	// call created; other parameters are IdempotentParameterMismatch
	// ("Ensuring idempotency in Amazon EC2 API requests",
	// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
	// AWS is silent on a token whose version was deleted since: the
	// simulator then creates a new version.
	token := p.str("ClientToken")
	if len(token) > 128 {
		return errorf("InvalidParameterValue", "Value for parameter clientToken is invalid: longer than 128 characters")
	}
	var fingerprint string
	if token != "" {
		fingerprint = runFingerprint(p)
		if rec, ok := lt.tokens[token]; ok {
			if rec.fingerprint != fingerprint {
				return errorf("IdempotentParameterMismatch", "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
			}
			if v, err := lt.version(strconv.Itoa(rec.version)); err == nil {
				writeLTVersion(w, "launchTemplateVersion", lt, v)
				return nil
			}
		}
	}
	v := &ltVersion{Number: len(lt.Versions) + 1, Description: desc, CreateTime: s.clock.now, Data: data}
	lt.Versions = append(lt.Versions, v)
	lt.LatestVersion = v.Number
	if token != "" {
		if lt.tokens == nil {
			lt.tokens = map[string]ltToken{}
		}
		lt.tokens[token] = ltToken{fingerprint: fingerprint, version: v.Number}
	}
	writeLTVersion(w, "launchTemplateVersion", lt, v)
	return nil
}

func (s *Sim) ec2DescribeLaunchTemplates(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, true, "launch-template-name", "launch-template-id")
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 1, 200)
	if err != nil {
		return err
	}
	var cands []*launchTemplate
	ids, names := p.list("LaunchTemplateId"), p.list("LaunchTemplateName")
	if len(ids) > 0 || len(names) > 0 {
		byID := func(id string) (*launchTemplate, error) { return s.launchTemplateByRef(id, "") }
		byName := func(name string) (*launchTemplate, error) { return s.launchTemplateByRef("", name) }
		if cands, err = appendFound(nil, ids, byID); err != nil {
			return err
		}
		if cands, err = appendFound(cands, names, byName); err != nil {
			return err
		}
	} else {
		cands = s.ec2.ltOrder
	}
	var out []*launchTemplate
	for _, lt := range cands {
		ok := matchFilters(filters, lt.Tags, func(name string) string {
			if name == "launch-template-id" {
				return lt.ID
			}
			return lt.Name
		})
		if ok {
			out = append(out, lt)
		}
	}
	return writePage(w, p, limit, "launchTemplates", out, func(lt *launchTemplate) {
		writeLaunchTemplate(w, "item", lt)
	})
}

// ec2DescribeLaunchTemplateVersions describes versions of one launch
// template (by id or name), or — with neither — the $Latest and/or
// $Default versions of every launch template in the account, as the API
// reference says: "To describe all launch templates in your account that
// are defined as the latest version, the valid value is $Latest. To
// describe all launch templates in your account that are defined as the
// default version, the valid value is $Default. [...] You cannot specify
// numbers." (EC2 API Reference, DescribeLaunchTemplateVersions, Versions:
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html)
func (s *Sim) ec2DescribeLaunchTemplateVersions(r *request, p params, w *xmlWriter) error {
	type ltv struct {
		lt *launchTemplate
		v  *ltVersion
	}
	vs := p.list("LaunchTemplateVersion")
	var cands []ltv
	if p.str("LaunchTemplateId") == "" && p.str("LaunchTemplateName") == "" {
		// Every template's aliases. AWS is silent on what an empty
		// Versions means here; the simulator asks for one, as it cannot
		// mean "every version of every template".
		if len(vs) == 0 {
			return errorf("MissingParameter", "The request must include either the launch template ID or the launch template name, or the versions $Latest or $Default")
		}
		for _, v := range vs {
			if v != "$Latest" && v != "$Default" {
				return errorf("InvalidParameterValue", "To describe the versions of all launch templates, the only valid versions are $Latest and $Default (got %q)", v)
			}
		}
		for _, lt := range s.ec2.ltOrder {
			seen := map[int]bool{}
			for _, v := range vs {
				ver, err := lt.version(v)
				if err != nil || seen[ver.Number] {
					continue
				}
				seen[ver.Number] = true
				cands = append(cands, ltv{lt, ver})
			}
		}
	} else {
		lt, err := s.ltRef(p)
		if err != nil {
			return err
		}
		minV, hasMin, err := p.integer("MinVersion")
		if err != nil {
			return err
		}
		maxV, hasMax, err := p.integer("MaxVersion")
		if err != nil {
			return err
		}
		if len(vs) > 0 {
			found, err := appendFound(nil, vs, lt.version)
			if err != nil {
				return err
			}
			for _, v := range found {
				cands = append(cands, ltv{lt, v})
			}
		} else {
			for _, v := range lt.Versions {
				if v != nil && (!hasMin || v.Number >= minV) && (!hasMax || v.Number <= maxV) {
					cands = append(cands, ltv{lt, v})
				}
			}
		}
	}
	filters, err := parseFilters(p, false, "is-default-version", "image-id", "instance-type", "key-name")
	if err != nil {
		return err
	}
	limit, err := maxResults(p, 1, 200)
	if err != nil {
		return err
	}
	var out []ltv
	for _, c := range cands {
		ok := matchFilters(filters, nil, func(name string) string {
			switch name {
			case "is-default-version":
				return strconv.FormatBool(c.v.Number == c.lt.DefaultVersion)
			case "image-id":
				return c.v.Data.ImageID
			case "instance-type":
				return c.v.Data.InstanceType
			}
			return c.v.Data.KeyName
		})
		if ok {
			out = append(out, c)
		}
	}
	return writePage(w, p, limit, "launchTemplateVersionSet", out, func(c ltv) {
		writeLTVersion(w, "item", c.lt, c.v)
	})
}

func (s *Sim) ec2ModifyLaunchTemplate(r *request, p params, w *xmlWriter) error {
	lt, err := s.ltRef(p)
	if err != nil {
		return err
	}
	var v *ltVersion
	if p.has("SetDefaultVersion") {
		if v, err = lt.version(p.str("SetDefaultVersion")); err != nil {
			return err
		}
	}
	if err := s.authorize(r, Resource{ARN: s.ltARN(lt.ID), Tags: lt.Tags}); err != nil {
		return err
	}
	if v != nil {
		lt.DefaultVersion = v.Number
	}
	writeLaunchTemplate(w, "launchTemplate", lt)
	return nil
}

// ---- network (read-only) ---------------------------------------------------------

// azID is the zone id AWS pairs with a zone name ("us-east-1a" → "use1-az1").
func azID(region, az string) string {
	parts := strings.Split(region, "-")
	short := parts[0]
	for _, x := range parts[1:] {
		if x != "" && (x[0] < '0' || x[0] > '9') {
			short += x[:1]
		} else {
			short += x
		}
	}
	if az == "" {
		return ""
	}
	return short + "-az" + strconv.Itoa(int(az[len(az)-1]-'a')+1)
}

func (s *Sim) ec2DescribeSubnets(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, false, "subnet-id", "vpc-id", "availability-zone", "default-for-az", "cidr-block", "state", "owner-id")
	if err != nil {
		return err
	}
	var cands []*subnet
	if ids := p.list("SubnetId"); len(ids) > 0 {
		for _, id := range ids {
			sn := s.subnetByID(id)
			if sn == nil {
				return errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
			}
			cands = append(cands, sn)
		}
	} else {
		cands = s.ec2.subnets
	}
	w.open("subnetSet")
	for _, sn := range cands {
		ok := matchFilters(filters, nil, func(name string) string {
			switch name {
			case "subnet-id":
				return sn.ID
			case "vpc-id":
				return sn.VpcID
			case "availability-zone":
				return sn.AZ
			case "default-for-az":
				return strconv.FormatBool(sn.DefaultForAz)
			case "cidr-block":
				return sn.CIDR
			case "owner-id":
				return s.opts.AccountID
			}
			return "available"
		})
		if !ok {
			continue
		}
		w.open("item")
		w.elem("subnetId", sn.ID)
		w.elem("subnetArn", s.arn("ec2", "subnet/"+sn.ID))
		w.elem("state", "available")
		w.elem("ownerId", s.opts.AccountID)
		w.elem("vpcId", sn.VpcID)
		w.elem("cidrBlock", sn.CIDR)
		w.int("availableIpAddressCount", 4091-sn.next)
		w.elem("availabilityZone", sn.AZ)
		w.elem("availabilityZoneId", azID(s.opts.Region, sn.AZ))
		w.bool("defaultForAz", sn.DefaultForAz)
		w.bool("mapPublicIpOnLaunch", sn.DefaultForAz)
		w.bool("assignIpv6AddressOnCreation", false)
		w.close("item")
	}
	w.close("subnetSet")
	return nil
}

func (s *Sim) ec2DescribeSecurityGroups(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, false, "group-id", "group-name", "vpc-id", "description", "owner-id")
	if err != nil {
		return err
	}
	var cands []*securityGroup
	ids, names := p.list("GroupId"), p.list("GroupName")
	for _, id := range ids {
		g := s.securityGroupByID(id)
		if g == nil {
			if err := checkSecurityGroupID(id); err != nil {
				return err
			}
			return errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		cands = append(cands, g)
	}
	for _, name := range names {
		found := s.securityGroupByName(name)
		if found == nil {
			return errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC", name)
		}
		cands = append(cands, found)
	}
	if len(ids) == 0 && len(names) == 0 {
		cands = s.ec2.securityGroups
	}
	w.open("securityGroupInfo")
	for _, g := range cands {
		ok := matchFilters(filters, nil, func(name string) string {
			switch name {
			case "group-id":
				return g.ID
			case "group-name":
				return g.Name
			case "vpc-id":
				return g.VpcID
			case "description":
				return g.Description
			}
			return s.opts.AccountID
		})
		if !ok {
			continue
		}
		w.open("item")
		w.elem("ownerId", s.opts.AccountID)
		w.elem("groupId", g.ID)
		w.elem("groupName", g.Name)
		w.elem("groupDescription", g.Description)
		w.elem("vpcId", g.VpcID)
		w.elem("securityGroupArn", s.arn("ec2", "security-group/"+g.ID))
		w.raw("<ipPermissions/><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges></item></ipPermissionsEgress>")
		w.close("item")
	}
	w.close("securityGroupInfo")
	return nil
}

func (s *Sim) ec2DescribeVpcs(r *request, p params, w *xmlWriter) error {
	filters, err := parseFilters(p, false, "vpc-id", "is-default", "cidr", "cidr-block", "state", "owner-id")
	if err != nil {
		return err
	}
	var cands []*vpc
	if ids := p.list("VpcId"); len(ids) > 0 {
		for _, id := range ids {
			v := s.ec2.vpcs[id]
			if v == nil {
				return errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
			}
			cands = append(cands, v)
		}
	} else {
		for _, v := range s.ec2.vpcs {
			cands = append(cands, v)
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	}
	w.open("vpcSet")
	for _, v := range cands {
		ok := matchFilters(filters, nil, func(name string) string {
			switch name {
			case "vpc-id":
				return v.ID
			case "is-default":
				return strconv.FormatBool(v.IsDefault)
			case "cidr", "cidr-block":
				return v.CIDR
			case "owner-id":
				return s.opts.AccountID
			}
			return "available"
		})
		if !ok {
			continue
		}
		w.open("item")
		w.elem("vpcId", v.ID)
		w.elem("ownerId", s.opts.AccountID)
		w.elem("state", "available")
		w.elem("cidrBlock", v.CIDR)
		w.raw("<cidrBlockAssociationSet><item>")
		w.elem("associationId", "vpc-cidr-assoc-"+strings.TrimPrefix(v.ID, "vpc-"))
		w.elem("cidrBlock", v.CIDR)
		w.raw("<cidrBlockState><state>associated</state></cidrBlockState></item></cidrBlockAssociationSet>")
		w.elem("dhcpOptionsId", "dopt-"+strings.TrimPrefix(v.ID, "vpc-"))
		w.elem("instanceTenancy", "default")
		w.bool("isDefault", v.IsDefault)
		w.close("item")
	}
	w.close("vpcSet")
	return nil
}

// ec2DeleteLaunchTemplateVersions deletes versions of a launch template. A
// version that cannot go (the default one, or one that does not exist) is
// reported in the unsuccessful set, as EC2 does, without failing the call.
// Version numbers are never reused.
// ec2DeleteLaunchTemplate deletes a launch template and all its versions.
// As in AWS, a template an Auto Scaling group still uses can be deleted:
// the group then fails to launch (its launches are retried and fail).
func (s *Sim) ec2DeleteLaunchTemplate(r *request, p params, w *xmlWriter) error {
	lt, err := s.ltRef(p)
	if err != nil {
		return err
	}
	if err := s.authorize(r, Resource{ARN: s.ltARN(lt.ID), Tags: lt.Tags}); err != nil {
		return err
	}
	delete(s.ec2.launchTemplates, lt.ID)
	s.ec2.ltOrder = without(s.ec2.ltOrder, lt)
	writeLaunchTemplate(w, "launchTemplate", lt)
	return nil
}

func (s *Sim) ec2DeleteLaunchTemplateVersions(r *request, p params, w *xmlWriter) error {
	lt, err := s.ltRef(p)
	if err != nil {
		return err
	}
	vs := p.list("LaunchTemplateVersion")
	if len(vs) == 0 {
		return errorf("MissingParameter", "The request must contain the parameter LaunchTemplateVersion")
	}
	if err := s.authorize(r, Resource{ARN: s.ltARN(lt.ID), Tags: lt.Tags}); err != nil {
		return err
	}
	type failure struct{ version, code, msg string }
	var done []int
	var failed []failure
	for _, x := range vs {
		n, err := strconv.Atoi(x)
		switch {
		case err != nil || n < 1:
			failed = append(failed, failure{x, "launchTemplateVersionDoesNotExist", "The launch template version " + x + " is not a version number"})
		case n > len(lt.Versions) || lt.Versions[n-1] == nil:
			failed = append(failed, failure{x, "launchTemplateVersionDoesNotExist", "The specified launch template version does not exist."})
		case n == lt.DefaultVersion:
			failed = append(failed, failure{x, "unexpectedError", "Cannot delete the default version of a launch template; set another default version first."})
		default:
			lt.Versions[n-1] = nil
			done = append(done, n)
		}
	}
	lt.LatestVersion = 0
	for _, v := range lt.Versions {
		if v != nil {
			lt.LatestVersion = v.Number
		}
	}
	w.open("successfullyDeletedLaunchTemplateVersionSet")
	for _, n := range done {
		w.open("item")
		w.elem("launchTemplateId", lt.ID)
		w.elem("launchTemplateName", lt.Name)
		w.int("versionNumber", n)
		w.close("item")
	}
	w.close("successfullyDeletedLaunchTemplateVersionSet")
	w.open("unsuccessfullyDeletedLaunchTemplateVersionSet")
	for _, f := range failed {
		w.open("item")
		w.elem("launchTemplateId", lt.ID)
		w.elem("launchTemplateName", lt.Name)
		w.elem("versionNumber", f.version)
		w.open("responseError")
		w.elem("code", f.code)
		w.elem("message", f.msg)
		w.close("responseError")
		w.close("item")
	}
	w.close("unsuccessfullyDeletedLaunchTemplateVersionSet")
	return nil
}
