package workflow

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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
}

// NewClients builds every client from one AWS configuration.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		EC2:      ec2.NewFromConfig(cfg),
		ASG:      autoscaling.NewFromConfig(cfg),
		SSM:      ssm.NewFromConfig(cfg),
		Backup:   backup.NewFromConfig(cfg),
		SNS:      sns.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
	}
}

// New returns a registry with every op of the definition registered.
func New(c Clients, conf Config, log *slog.Logger) *Registry {
	r := NewRegistry(log)
	registerGroupOps(r, c, conf)
	registerBuilderOps(r, c, conf)
	return r
}
