package amiswap

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Settings are a group's amiswap settings, read from its tags.
type Settings struct {
	// OS overrides the platform of the backup AMI: "windows" or "linux".
	OS string `json:"os,omitempty"`
	// Refresh is "none" or "rolling" (an instance refresh after the swap).
	Refresh string `json:"refresh"`
	// MinHealthyPercentage and InstanceWarmup tune the instance refresh.
	MinHealthyPercentage int32 `json:"minHealthyPercentage"`
	InstanceWarmup       int32 `json:"instanceWarmup,omitempty"`
	// Keep is how many golden AMIs to keep for the group (at least 1).
	Keep int `json:"keep"`
	// FreezeMaxSize holds MaxSize at the current size during the build.
	FreezeMaxSize bool `json:"freezeMaxSize"`
	// DeleteRecoveryPoint disposes of the backup once the swap is done.
	DeleteRecoveryPoint bool `json:"deleteRecoveryPoint"`
	// InstanceType overrides the builder's instance type.
	InstanceType string `json:"instanceType,omitempty"`
	// Verify launches a verifier from the golden AMI before rollout.
	Verify bool `json:"verify"`
	// VerifyDocument (with VerifyParameters) runs on the verifier and must succeed.
	VerifyDocument   string              `json:"verifyDocument,omitempty"`
	VerifyParameters map[string][]string `json:"verifyParameters,omitempty"`
	// PrepareDocument (with PrepareParameters) runs on the builder before
	// it is generalized.
	PrepareDocument   string              `json:"prepareDocument,omitempty"`
	PrepareParameters map[string][]string `json:"prepareParameters,omitempty"`
	// GeneralizeDocument replaces the built-in Linux cleanup script.
	GeneralizeDocument string `json:"generalizeDocument,omitempty"`
	// SSMParameter receives the golden AMI id after rollout.
	SSMParameter string `json:"ssmParameter,omitempty"`
	// DeprecateAfterSeconds schedules each new golden AMI's deprecation
	// that long after its creation (0: none).
	DeprecateAfterSeconds int64 `json:"deprecateAfterSeconds,omitempty"`
}

// DeprecateAfter is DeprecateAfterSeconds as a duration.
func (s Settings) DeprecateAfter() time.Duration {
	return time.Duration(s.DeprecateAfterSeconds) * time.Second
}

// DefaultSettings are the settings of a group that sets no tag but
// amiswap:enabled.
func DefaultSettings() Settings {
	return Settings{Refresh: "none", MinHealthyPercentage: 90, Keep: 3, DeleteRecoveryPoint: true, Verify: true}
}

// Enabled reports whether a group's tags opt it in, and if not, why.
func Enabled(tags map[string]string) (bool, string) {
	v, ok := tags[TagEnabled]
	if !ok {
		return false, fmt.Sprintf("the group is not tagged %s=true", TagEnabled)
	}
	if !strings.EqualFold(strings.TrimSpace(v), "true") {
		return false, fmt.Sprintf("the group's tag %s is %q, not \"true\"", TagEnabled, v)
	}
	return true, ""
}

// ParseSettings reads the settings from a group's tags. A malformed value is
// an *InvalidInputError naming the tag: a typo must not silently fall back
// to a default.
func ParseSettings(tags map[string]string) (Settings, error) {
	s := DefaultSettings()
	bad := func(key, v, want string) error {
		return &InvalidInputError{Field: "tag " + key, Reason: fmt.Sprintf("value %q is not %s", v, want)}
	}
	for key, raw := range tags {
		v := strings.TrimSpace(raw)
		switch key {
		case TagOS:
			v = strings.ToLower(v)
			if v != "windows" && v != "linux" {
				return s, bad(key, raw, "windows or linux")
			}
			s.OS = v
		case TagRefresh:
			v = strings.ToLower(v)
			if v != "none" && v != "rolling" {
				return s, bad(key, raw, "none or rolling")
			}
			s.Refresh = v
		case TagMinHealthy:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return s, bad(key, raw, "a percentage from 0 to 100")
			}
			s.MinHealthyPercentage = int32(n)
		case TagWarmup:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, bad(key, raw, "a number of seconds")
			}
			s.InstanceWarmup = int32(n)
		case TagKeep:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return s, bad(key, raw, "a number from 1 to 100")
			}
			s.Keep = n
		case TagFreezeMaxSize, TagDeleteRecoveryPoint, TagVerify:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, bad(key, raw, "true or false")
			}
			switch key {
			case TagFreezeMaxSize:
				s.FreezeMaxSize = b
			case TagDeleteRecoveryPoint:
				s.DeleteRecoveryPoint = b
			default:
				s.Verify = b
			}
		case TagVerifyDocument, TagPrepareDocument, TagGeneralizeDocument:
			if !documentRe.MatchString(v) {
				return s, bad(key, raw, "an SSM document name (3-128 letters, digits, _ - .) or ARN")
			}
			switch key {
			case TagVerifyDocument:
				s.VerifyDocument = v
			case TagPrepareDocument:
				s.PrepareDocument = v
			default:
				s.GeneralizeDocument = v
			}
		case TagVerifyParameters, TagPrepareParameters:
			m, err := parseDocumentParameters(v)
			if err != nil {
				return s, bad(key, raw, "a JSON object of string lists such as {\"Operation\":[\"Install\"]}")
			}
			if key == TagVerifyParameters {
				s.VerifyParameters = m
			} else {
				s.PrepareParameters = m
			}
		case TagSSMParameter:
			if err := CheckParameterName(v); err != nil {
				return s, bad(key, raw, "a Parameter Store name such as /golden/web ("+err.Error()+")")
			}
			s.SSMParameter = v
		case TagDeprecateAfter:
			d, err := ParseAge(v)
			if err != nil {
				return s, bad(key, raw, "a duration such as 12h, 90d or 2w (at most 10 years)")
			}
			s.DeprecateAfterSeconds = int64(d / time.Second)
		case TagInstanceType:
			if !strings.Contains(v, ".") {
				return s, bad(key, raw, "an instance type such as m5.large")
			}
			s.InstanceType = v
		}
	}
	// Parameters need their document.
	if s.VerifyParameters != nil && s.VerifyDocument == "" {
		return s, &InvalidInputError{Field: "tag " + TagVerifyParameters, Reason: "set " + TagVerifyDocument + " too: the parameters are for that document"}
	}
	if s.PrepareParameters != nil && s.PrepareDocument == "" {
		return s, &InvalidInputError{Field: "tag " + TagPrepareParameters, Reason: "set " + TagPrepareDocument + " too: the parameters are for that document"}
	}
	return s, nil
}

// documentRe is an SSM document name or ARN ("CreateDocument": names are
// 3-128 letters, digits, _ - and .).
var documentRe = regexp.MustCompile(`^(arn:aws[a-z-]*:ssm:[a-z0-9-]*:\d*:document/)?[a-zA-Z0-9_\-.]{3,128}$`)

// parseDocumentParameters reads a document's parameters from a tag: a JSON
// object whose values are lists of strings (a single string is taken as a
// list of one, as the console does).
func parseDocumentParameters(v string) (map[string][]string, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(v), &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := make(map[string][]string, len(raw))
	for k, x := range raw {
		switch x := x.(type) {
		case string:
			out[k] = []string{x}
		case []any:
			list := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("parameter %s: %v is not a string", k, e)
				}
				list = append(list, s)
			}
			out[k] = list
		default:
			return nil, fmt.Errorf("parameter %s is not a list of strings", k)
		}
	}
	return out, nil
}

// paramNameRe is what Parameter Store accepts in a parameter name.
var paramNameRe = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// CheckParameterName checks a Parameter Store name as Parameter Store does
// ("Creating Parameter Store parameters in Systems Manager"): letters,
// digits and . - _ /, no "aws" or "ssm" prefix, a path starts with / and
// has at most 15 levels, at most 1011 characters.
func CheckParameterName(name string) error {
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	switch {
	case name == "" || len(name) > 1011 || !paramNameRe.MatchString(name):
		return fmt.Errorf("1-1011 letters, digits and . - _ /")
	case strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm"):
		return fmt.Errorf("the prefixes aws and ssm are reserved")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return fmt.Errorf("a path must start with /")
	case strings.HasSuffix(name, "/") || strings.Contains(name, "//"):
		return fmt.Errorf("empty path level")
	case strings.Count(name, "/") > 15:
		return fmt.Errorf("at most 15 levels")
	}
	return nil
}

// ParseAge reads a duration given in hours, days or weeks ("12h", "90d",
// "2w"), from 1 hour to 10 years.
func ParseAge(v string) (time.Duration, error) {
	if len(v) < 2 {
		return 0, fmt.Errorf("%q is not a duration", v)
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a duration", v)
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[len(v)-1]]
	if unit == 0 || n > 10*366*24 || time.Duration(n)*unit > 10*365*24*time.Hour {
		return 0, fmt.Errorf("%q is not a duration from 1h to 10 years", v)
	}
	return time.Duration(n) * unit, nil
}
