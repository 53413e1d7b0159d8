package workflow

import (
	"fmt"
	"strings"
	"time"
)

// Config is the deployment-wide configuration of the handlers. In Lambda it
// comes from environment variables (set by the CloudFormation template); the
// CLI fills it from flags and the same variables.
type Config struct {
	// LockTable is the DynamoDB table of group locks (AMISWAP_LOCK_TABLE).
	// Empty disables locking (single-user local runs only).
	LockTable string
	// LockTTL bounds how long a lock outlives a crashed execution.
	LockTTL time.Duration
	// TopicArn is the SNS topic for notifications (AMISWAP_TOPIC_ARN).
	// Empty disables notifications.
	TopicArn string
	// Builder overrides (empty: the group's own).
	BuilderSubnetID         string   // AMISWAP_BUILDER_SUBNET_ID
	BuilderSecurityGroupIDs []string // AMISWAP_BUILDER_SECURITY_GROUP_IDS, comma-separated
	BuilderInstanceProfile  string   // AMISWAP_BUILDER_INSTANCE_PROFILE: a name or an ARN
}

// DefaultLockTTL is the lock lifetime: longer than any swap's deadlines.
const DefaultLockTTL = 27 * time.Hour

// ConfigFromEnv reads the configuration from AMISWAP_* variables through
// getenv (os.Getenv in production; tests pass their own).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		LockTable:              getenv("AMISWAP_LOCK_TABLE"),
		TopicArn:               getenv("AMISWAP_TOPIC_ARN"),
		BuilderSubnetID:        getenv("AMISWAP_BUILDER_SUBNET_ID"),
		BuilderInstanceProfile: getenv("AMISWAP_BUILDER_INSTANCE_PROFILE"),
		LockTTL:                DefaultLockTTL,
	}
	if v := getenv("AMISWAP_BUILDER_SECURITY_GROUP_IDS"); v != "" {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				c.BuilderSecurityGroupIDs = append(c.BuilderSecurityGroupIDs, id)
			}
		}
	}
	if v := getenv("AMISWAP_LOCK_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("AMISWAP_LOCK_TTL=%q: want a positive duration such as 8h", v)
		}
		c.LockTTL = d
	}
	return c, nil
}
