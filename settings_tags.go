package amiswap

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SettingTags lists the group tags that hold settings, in the order the
// README's table gives them.
func SettingTags() []string {
	return []string{TagRefresh, TagMinHealthy, TagWarmup, TagKeep, TagFreezeMaxSize, TagDeleteRecoveryPoint, TagOS, TagInstanceType,
		TagVerify, TagVerifyDocument, TagVerifyParameters, TagPrepareDocument, TagPrepareParameters, TagGeneralizeDocument,
		TagSSMParameter, TagDeprecateAfter}
}

// SettingSource is where a setting's value came from.
type SettingSource struct {
	// Value is the setting as amiswap reads it; empty where the default is
	// "whatever the group or the backup AMI says" (Default then says so).
	Value string `json:"value"`
	// Source is "tag" or "default".
	Source string `json:"source"`
	// Default describes an empty default ("the group's", …).
	Default string `json:"default,omitempty"`
	// Error says why a tag's value is malformed (Resolve would refuse it).
	Error string `json:"error,omitempty"`
}

// SettingSources reads each setting of a group's tags with where it came
// from: the tag, or the default. A malformed tag is reported with its
// error rather than failing the whole read, so that a status view can show
// every group.
func SettingSources(tags map[string]string) map[string]SettingSource {
	def := DefaultSettings()
	set, err := ParseSettings(tags)
	bad := ""
	var invalid *InvalidInputError
	if errors.As(err, &invalid) {
		// The tag the error names; the others are read without it.
		bad = strings.TrimPrefix(invalid.Field, "tag ")
		rest := make(map[string]string, len(tags))
		for k, v := range tags {
			if k != bad {
				rest[k] = v
			}
		}
		set, _ = ParseSettings(rest)
	}
	out := make(map[string]SettingSource, len(SettingTags()))
	for _, tag := range SettingTags() {
		raw, ok := tags[tag]
		switch {
		case !ok:
			out[tag] = SettingSource{Value: def.value(tag), Source: "default", Default: emptyDefault[tag]}
		case tag == bad:
			out[tag] = SettingSource{Value: raw, Source: "tag", Error: err.Error()}
		default:
			out[tag] = SettingSource{Value: set.value(tag), Source: "tag"}
		}
	}
	return out
}

// emptyDefault says what an empty default value means.
var emptyDefault = map[string]string{
	TagWarmup:             "the group's",
	TagOS:                 "from the backup AMI",
	TagInstanceType:       "the group's",
	TagVerifyDocument:     "none: the verifier must boot, pass its status checks and reach SSM",
	TagPrepareDocument:    "none",
	TagGeneralizeDocument: "the built-in Linux cleanup script",
	TagSSMParameter:       "none",
	TagDeprecateAfter:     "never",
}

// value is the setting that tag controls, as a tag value would spell it.
func (s Settings) value(tag string) string {
	switch tag {
	case TagRefresh:
		return s.Refresh
	case TagMinHealthy:
		return strconv.Itoa(int(s.MinHealthyPercentage))
	case TagWarmup:
		if s.InstanceWarmup == 0 {
			return ""
		}
		return strconv.Itoa(int(s.InstanceWarmup))
	case TagKeep:
		return strconv.Itoa(s.Keep)
	case TagFreezeMaxSize:
		return strconv.FormatBool(s.FreezeMaxSize)
	case TagDeleteRecoveryPoint:
		return strconv.FormatBool(s.DeleteRecoveryPoint)
	case TagOS:
		return s.OS
	case TagInstanceType:
		return s.InstanceType
	case TagVerify:
		return strconv.FormatBool(s.Verify)
	case TagVerifyDocument:
		return s.VerifyDocument
	case TagVerifyParameters:
		return jsonOrEmpty(s.VerifyParameters)
	case TagPrepareDocument:
		return s.PrepareDocument
	case TagPrepareParameters:
		return jsonOrEmpty(s.PrepareParameters)
	case TagGeneralizeDocument:
		return s.GeneralizeDocument
	case TagSSMParameter:
		return s.SSMParameter
	case TagDeprecateAfter:
		if s.DeprecateAfterSeconds == 0 {
			return ""
		}
		d := s.DeprecateAfter()
		if d%(24*time.Hour) == 0 {
			return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d" // as the tag spells it
		}
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return ""
}

// jsonOrEmpty is a document's parameters as JSON, or "" when there are none.
func jsonOrEmpty(m map[string][]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}
