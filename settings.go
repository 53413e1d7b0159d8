package amiswap

import (
	"fmt"
	"strconv"
	"strings"
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
}

// DefaultSettings are the settings of a group that sets no tag but
// amiswap:enabled.
func DefaultSettings() Settings {
	return Settings{Refresh: "none", MinHealthyPercentage: 90, Keep: 3, DeleteRecoveryPoint: true}
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
		case TagFreezeMaxSize, TagDeleteRecoveryPoint:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, bad(key, raw, "true or false")
			}
			if key == TagFreezeMaxSize {
				s.FreezeMaxSize = b
			} else {
				s.DeleteRecoveryPoint = b
			}
		case TagInstanceType:
			if !strings.Contains(v, ".") {
				return s, bad(key, raw, "an instance type such as m5.large")
			}
			s.InstanceType = v
		}
	}
	return s, nil
}
