package workflow

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Clients are the AWS clients behind the handlers. Each handler keeps only
// a small interface of the methods it calls; these are the production
// implementations.
type Clients struct {
	EC2      *ec2.Client
	ASG      *autoscaling.Client
	SSM      *ssm.Client
	Backup   *backup.Client
	SNS      *sns.Client
	DynamoDB *dynamodb.Client
	KMS      *kms.Client
}

// NewClients builds every client from one AWS configuration. The clients
// do not retry throttling themselves (see throttleToTheDefinition).
func NewClients(cfg aws.Config) Clients {
	cfg.Retryer = throttleToTheDefinition(cfg)
	return Clients{
		EC2:      ec2.NewFromConfig(cfg),
		ASG:      autoscaling.NewFromConfig(cfg),
		SSM:      ssm.NewFromConfig(cfg),
		Backup:   backup.NewFromConfig(cfg),
		SNS:      sns.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
		KMS:      kms.NewFromConfig(cfg),
	}
}

// New returns a registry with every op of the definition registered.
func New(c Clients, conf Config, log *slog.Logger) *Registry {
	r := NewRegistry(log)
	registerGroupOps(r, c, conf)
	registerBuilderOps(r, c, conf)
	return r
}

// throttleToTheDefinition returns cfg's retryer, made to leave throttling
// errors to the definition: the SDK still retries 5xx and network errors a
// few times, but a throttled call fails at once, as a
// *amiswap.ThrottledError, and the definition's own retrier waits for it
// (jittered per execution, on the execution's clock, with a budget of its
// own). SDK retries of throttled calls would add calls under the very load
// that throttles them, and spend the SDK's client-wide retry quota, which
// all executions of one process share.
func throttleToTheDefinition(cfg aws.Config) func() aws.Retryer {
	inner := cfg.Retryer
	if inner == nil {
		inner = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				if cfg.RetryMaxAttempts > 0 {
					o.MaxAttempts = cfg.RetryMaxAttempts
				}
			})
		}
	}
	return func() aws.Retryer {
		r := inner()
		if v2, ok := r.(aws.RetryerV2); ok {
			return noThrottleRetries{v2}
		}
		return r
	}
}

// noThrottleRetries is a retryer that does not retry throttling errors.
type noThrottleRetries struct{ aws.RetryerV2 }

// IsErrorRetryable is false for a throttling error, else the inner
// retryer's answer.
func (r noThrottleRetries) IsErrorRetryable(err error) bool {
	return !throttled(err) && r.RetryerV2.IsErrorRetryable(err)
}
