package workflow

import (
	"slices"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"AMISWAP_LOCK_TABLE": "locks", "AMISWAP_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
		"AMISWAP_BUILDER_SUBNET_ID": "subnet-0123456789abcdef0", "AMISWAP_BUILDER_SECURITY_GROUP_IDS": " sg-1, ,sg-2 ",
		"AMISWAP_BUILDER_INSTANCE_PROFILE": "builder", "AMISWAP_LOCK_TTL": "2h",
	}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.LockTable != "locks" || c.TopicArn == "" || c.BuilderSubnetID == "" || c.BuilderInstanceProfile != "builder" ||
		!slices.Equal(c.BuilderSecurityGroupIDs, []string{"sg-1", "sg-2"}) || c.LockTTL != 2*time.Hour {
		t.Errorf("config %+v", c)
	}
	c, err = ConfigFromEnv(func(string) string { return "" })
	if err != nil || c.LockTTL != DefaultLockTTL || c.LockTable != "" {
		t.Errorf("empty environment: %+v %v", c, err)
	}
	if _, err := ConfigFromEnv(func(k string) string { return map[string]string{"AMISWAP_LOCK_TTL": "soon"}[k] }); err == nil {
		t.Error("a malformed AMISWAP_LOCK_TTL was accepted")
	}
}
