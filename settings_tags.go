package amiswap

import "strconv"

// SettingTags lists the group tags that hold settings, in the order the
// README's table gives them.
func SettingTags() []string {
	return []string{TagRefresh, TagMinHealthy, TagWarmup, TagKeep, TagFreezeMaxSize, TagDeleteRecoveryPoint, TagOS, TagInstanceType}
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
	out := make(map[string]SettingSource, len(SettingTags()))
	for _, tag := range SettingTags() {
		raw, ok := tags[tag]
		if !ok {
			out[tag] = SettingSource{Value: def.value(tag), Source: "default", Default: emptyDefault[tag]}
			continue
		}
		s, err := ParseSettings(map[string]string{tag: raw})
		if err != nil {
			out[tag] = SettingSource{Value: raw, Source: "tag", Error: err.Error()}
			continue
		}
		out[tag] = SettingSource{Value: s.value(tag), Source: "tag"}
	}
	return out
}

// emptyDefault says what an empty default value means.
var emptyDefault = map[string]string{
	TagWarmup:       "the group's",
	TagOS:           "from the backup AMI",
	TagInstanceType: "the group's",
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
	}
	return ""
}
