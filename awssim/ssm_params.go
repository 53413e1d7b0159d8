package awssim

// This file holds Systems Manager Parameter Store: PutParameter,
// GetParameter, GetParameterHistory and DeleteParameter for String
// parameters of data type text and aws:ec2:image.

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

const (
	// paramValidation is how long Parameter Store takes to validate an
	// aws:ec2:image value after PutParameter answered. AWS gives no
	// figure; a few seconds is what a caller sees in practice.
	paramValidation = 3 * time.Second
	// maxParamValue is the Standard tier's value limit (4 KB).
	maxParamValue = 4096
	// maxParamVersions is how many versions a parameter keeps.
	maxParamVersions = 100
)

type ssmParameter struct {
	Name     string
	Type     string
	DataType string
	Versions []*paramVersion // oldest first
}

type paramVersion struct {
	Version     int64
	Value       string
	Description string
	Modified    time.Time
	User        string
}

func (p *ssmParameter) latest() *paramVersion { return p.Versions[len(p.Versions)-1] }

// paramNameRe is what Parameter Store accepts in a name: letters, digits
// and . - _ /, optionally in a path that starts with / ("Creating
// Parameter Store parameters in Systems Manager",
// https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html).
var paramNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// checkParamName validates a parameter name as Parameter Store does.
func checkParamName(name string) error {
	if name == "" {
		return errorf("ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must not be null")
	}
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	switch {
	case len(name) > 2048 || !paramNameRe.MatchString(name):
		return errorf("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.")
	case strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm"):
		return errorf("ValidationException", "No access to reserved parameter name: %s.", name)
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return errorf("ValidationException", "Parameter name must be a fully qualified name.")
	case strings.Count(name, "/") > 15:
		return errorf("HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels.")
	}
	return nil
}

// paramARN is a parameter's ARN: a name in a path keeps its leading slash
// out of the ARN ("parameter/golden/web").
func (s *Sim) paramARN(name string) string {
	return s.arn("ssm", "parameter/"+strings.TrimPrefix(name, "/"))
}

// ssmPutParameter creates or updates a parameter. As "PutParameter"
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html)
// and "Native parameter support for Amazon Machine Image IDs"
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html)
// say, a value of data type aws:ec2:image is validated asynchronously:
// the call answers 200 with the version, and the parameter is created or
// updated only when the validation passes (the value is an AMI id of the
// required format, available in the account). When it fails, nothing
// changes. Parameter Store then emits its "Parameter Store Change" event
// only for a change that happened; AWS documents no event for a failed
// validation, so the simulator emits none.
func ssmPutParameter(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Name, Value, Type, DataType, Description, Tier, KeyId, AllowedPattern string
		Overwrite                                                             *bool
		Tags                                                                  []struct{ Key, Value string }
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := checkParamName(in.Name); err != nil {
		return nil, err
	}
	if in.Value == "" {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(in.Value) > maxParamValue {
		return nil, errorf("ValidationException", "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to %d", maxParamValue)
	}
	switch in.Type {
	case "", "String", "StringList":
	case "SecureString":
		return nil, errorf("ValidationException", "SecureString parameters are not simulated by amiswap's simulator (no KMS).")
	default:
		return nil, errorf("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	switch in.Tier {
	case "", "Standard", "Intelligent-Tiering":
	default:
		return nil, errorf("ValidationException", "The amiswap simulator keeps Standard parameters only, not tier %q.", in.Tier)
	}
	switch in.DataType {
	case "", "text", "aws:ec2:image":
	default:
		return nil, errorf("ValidationException", "The following data type is not supported: %s (supported data types are text and aws:ec2:image)", in.DataType)
	}
	if err := s.authorize(r, Resource{ARN: s.paramARN(in.Name)}); err != nil {
		return nil, err
	}
	if in.DataType == "aws:ec2:image" {
		// Parameter Store reads the AMI with the caller's
		// ec2:DescribeImages ("Native parameter support for Amazon
		// Machine Image IDs" lists the permission; when AWS checks it is
		// not said: the simulator checks it with the call).
		if err := s.authorizeAs(r, "ec2", "DescribeImages"); err != nil {
			return nil, err
		}
	}
	p := s.ssm.params[in.Name]
	overwrite := in.Overwrite != nil && *in.Overwrite
	if p != nil {
		if !overwrite {
			return nil, errorf("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		if in.Type != "" && in.Type != p.Type {
			return nil, errorf("HierarchyTypeMismatchException", "The parameter type %s does not match the existing type %s.", in.Type, p.Type)
		}
		dt := in.DataType
		if dt == "" {
			dt = p.DataType
		}
		// "You can't change a parameter to or from" aws:ec2:image
		// (Parameter data types in Parameter Store).
		if dt != p.DataType && (dt == "aws:ec2:image" || p.DataType == "aws:ec2:image") {
			return nil, errorf("ValidationException", "You can't change the data type of parameter %s from %s to %s.", in.Name, p.DataType, dt)
		}
		in.DataType, in.Type = dt, p.Type
	} else if in.Type == "" {
		return nil, errorf("ValidationException", "A parameter type is required when you create a parameter.")
	}
	if in.DataType == "" {
		in.DataType = "text"
	}
	if in.DataType == "aws:ec2:image" && in.Type != "String" {
		return nil, errorf("ValidationException", "The aws:ec2:image data type is supported for String parameters only.")
	}
	if p != nil && len(p.Versions) > 0 && p.latest().Version >= maxParamVersions && len(p.Versions) >= maxParamVersions {
		// Parameter Store deletes the oldest version to make room
		// unless it has a label; labels are not simulated.
		p.Versions = p.Versions[1:]
	}
	v := &paramVersion{Value: in.Value, Description: in.Description, Modified: s.clock.now, User: s.callerARN(r)}
	if in.DataType != "aws:ec2:image" {
		v.Version = s.storeParam(in.Name, in.Type, in.DataType, v)
		return map[string]any{"Version": v.Version, "Tier": "Standard"}, nil
	}
	// The version the put will have when its validation passes.
	next := int64(1) + int64(s.ssm.paramPending[in.Name])
	if p != nil {
		next += p.latest().Version
	}
	s.ssm.paramPending[in.Name]++
	name, typ := in.Name, in.Type
	s.after(paramValidation, func() {
		if s.ssm.paramPending[name]--; s.ssm.paramPending[name] == 0 {
			delete(s.ssm.paramPending, name)
		}
		if !s.validImageParam(v.Value) {
			s.log.Debug("aws:ec2:image validation failed; parameter not changed", "name", name, "value", v.Value)
			return
		}
		v.Modified = s.clock.now
		s.storeParam(name, typ, "aws:ec2:image", v)
	})
	return map[string]any{"Version": next, "Tier": "Standard"}, nil
}

// validImageParam is Parameter Store's aws:ec2:image validation: an AMI id
// of the required format, available to the account.
func (s *Sim) validImageParam(v string) bool {
	im, err := s.imageByID(v, true)
	return err == nil && im.State == "available"
}

// storeParam adds a version (creating the parameter) and emits the
// "Parameter Store Change" event; it returns the version number.
func (s *Sim) storeParam(name, typ, dataType string, v *paramVersion) int64 {
	p := s.ssm.params[name]
	op := "Update"
	if p == nil {
		op = "Create"
		p = &ssmParameter{Name: name, Type: typ, DataType: dataType}
		s.ssm.params[name] = p
	}
	v.Version = 1
	if len(p.Versions) > 0 {
		v.Version = p.latest().Version + 1
	}
	p.Versions = append(p.Versions, v)
	s.emit("aws.ssm", "Parameter Store Change", []string{s.paramARN(name)},
		map[string]any{"name": name, "type": typ, "operation": op})
	return v.Version
}

// paramBySelector finds a parameter by "name" or "name:version".
func (s *Sim) paramBySelector(r *request, sel string) (*ssmParameter, *paramVersion, error) {
	name, version, hasVersion := strings.Cut(sel, ":")
	if err := checkParamName(name); err != nil {
		return nil, nil, err
	}
	if err := s.authorize(r, Resource{ARN: s.paramARN(name)}); err != nil {
		return nil, nil, err
	}
	p := s.ssm.params[name]
	if p == nil {
		return nil, nil, errorf("ParameterNotFound", "Parameter %s not found.", name)
	}
	if !hasVersion {
		return p, p.latest(), nil
	}
	n, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return nil, nil, errorf("ParameterVersionLabelNotFound", "Parameter label %s is not simulated by amiswap's simulator (versions only).", version)
	}
	for _, v := range p.Versions {
		if v.Version == n {
			return p, v, nil
		}
	}
	return nil, nil, errorf("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", n, name)
}

func ssmGetParameter(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	p, v, err := s.paramBySelector(r, in.Name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"Name": p.Name, "Type": p.Type, "Value": v.Value, "Version": v.Version,
		"LastModifiedDate": epochSeconds(v.Modified), "ARN": s.paramARN(p.Name), "DataType": p.DataType,
	}
	if strings.Contains(in.Name, ":") {
		out["Selector"] = in.Name[strings.Index(in.Name, ":"):]
	}
	return map[string]any{"Parameter": out}, nil
}

// ssmGetParameterHistory lists a parameter's versions, oldest first.
func ssmGetParameterHistory(s *Sim, r *request, body []byte) (any, error) {
	var in struct {
		Name, NextToken string
		MaxResults      *int
		WithDecryption  bool
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	max, err := ssmMaxResults(in.MaxResults, 1, 50, 50)
	if err != nil {
		return nil, err
	}
	offset, err := parseOffsetToken(in.NextToken, "InvalidNextToken")
	if err != nil {
		return nil, err
	}
	if strings.Contains(in.Name, ":") {
		return nil, errorf("ValidationException", "Parameter name %s must not include a version or label.", in.Name)
	}
	p, _, err := s.paramBySelector(r, in.Name)
	if err != nil {
		return nil, err
	}
	return listOutput("Parameters", p.Versions, offset, max, func(v *paramVersion) map[string]any {
		return map[string]any{
			"Name": p.Name, "Type": p.Type, "Value": v.Value, "Version": v.Version, "DataType": p.DataType,
			"LastModifiedDate": epochSeconds(v.Modified), "LastModifiedUser": v.User,
			"Description": v.Description, "Labels": []string{}, "Policies": []any{}, "Tier": "Standard",
		}
	}), nil
}

func ssmDeleteParameter(s *Sim, r *request, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	p, _, err := s.paramBySelector(r, in.Name)
	if err != nil {
		return nil, err
	}
	delete(s.ssm.params, p.Name)
	s.emit("aws.ssm", "Parameter Store Change", []string{s.paramARN(p.Name)},
		map[string]any{"name": p.Name, "type": p.Type, "operation": "Delete"})
	return map[string]any{}, nil
}
