// Package sandbox runs the AWS simulator in process, served over HTTP on a
// loopback port, with the resources a swap needs (lock table, notification
// topic): the demo and the end-to-end tests both start from here.
package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/amiswap/amiswap/awssim"
	"github.com/amiswap/amiswap/workflow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// Names of the resources a sandbox creates, as a deployment would.
const (
	LockTable = "amiswap-locks"
	TopicName = "amiswap-notifications"
	Vault     = "Default"
)

// Sandbox is a running in-process simulator and an AWS configuration that
// reaches it through the real wire protocols.
type Sandbox struct {
	Sim    *awssim.Sim
	URL    string
	AWS    aws.Config
	Config workflow.Config
	srv    *http.Server
}

// New starts a simulator with opts on 127.0.0.1 (an ephemeral port) and
// creates the lock table and the topic through the API.
func New(ctx context.Context, opts awssim.Options) (*Sandbox, error) {
	sim, err := awssim.New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	sb := &Sandbox{Sim: sim, URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}}
	go sb.srv.Serve(ln)
	sb.AWS, err = Config(ctx, sb.URL, sim.Region(), "AKIAAMISWAPLOCAL")
	if err != nil {
		sb.Close()
		return nil, err
	}
	sb.Config = workflow.Config{LockTTL: workflow.DefaultLockTTL}
	if err := sb.Provision(ctx, LockTable, TopicName); err != nil {
		sb.Close()
		return nil, err
	}
	return sb, nil
}

// Config returns an AWS configuration for endpoint with static credentials
// whose access key id is accessKeyID (the simulator maps keys to roles).
func Config(ctx context.Context, endpoint, region, accessKeyID string) (aws.Config, error) {
	return config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(accessKeyID, "sandbox-secret", "")),
		config.WithBaseEndpoint(endpoint),
	)
}

// Provision creates a lock table and a notification topic with the given
// names, as a deployment would, and points the sandbox's Config at them.
func (sb *Sandbox) Provision(ctx context.Context, lockTable, topicName string) error {
	db := dynamodb.NewFromConfig(sb.AWS)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(lockTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create lock table: %w", err)
	}
	topic, err := sns.NewFromConfig(sb.AWS).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(topicName)})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	sb.Config.LockTable = lockTable
	sb.Config.TopicArn = aws.ToString(topic.TopicArn)
	return nil
}

// Close stops the HTTP server.
func (sb *Sandbox) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sb.srv.Shutdown(ctx)
}

// BackupEvent starts an AWS Backup job of the instance and advances the
// simulator's clock until the job ends, returning the job id and the raw
// EventBridge "Backup Job State Change" event of its last state, exactly
// as EventBridge would deliver it.
func (sb *Sandbox) BackupEvent(ctx context.Context, instanceID string) (jobID string, event []byte, err error) {
	bk := backup.NewFromConfig(sb.AWS)
	out, err := bk.StartBackupJob(ctx, &backup.StartBackupJobInput{
		BackupVaultName: aws.String(Vault),
		ResourceArn:     aws.String(fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", sb.Sim.Region(), sb.Sim.AccountID(), instanceID)),
		IamRoleArn:      aws.String(fmt.Sprintf("arn:aws:iam::%s:role/service-role/AWSBackupDefaultServiceRole", sb.Sim.AccountID())),
	})
	if err != nil {
		return "", nil, fmt.Errorf("start backup job: %w", err)
	}
	jobID = aws.ToString(out.BackupJobId)
	for range 24 * 60 {
		if err := ctx.Err(); err != nil {
			return jobID, nil, err
		}
		if ev, ok := sb.lastJobEvent(jobID); ok {
			return jobID, ev, nil
		}
		sb.Sim.Advance(time.Minute)
	}
	return jobID, nil, errors.New("the backup job did not end within a simulated day")
}

// lastJobEvent returns the job's terminal state-change event, if any.
func (sb *Sandbox) lastJobEvent(jobID string) ([]byte, bool) {
	for _, ev := range sb.Sim.Events() {
		if ev.DetailType != "Backup Job State Change" {
			continue
		}
		var d struct {
			BackupJobID string `json:"backupJobId"`
			State       string `json:"state"`
		}
		if json.Unmarshal(ev.Detail, &d) != nil || d.BackupJobID != jobID {
			continue
		}
		switch d.State {
		case "COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL":
			b, err := json.Marshal(ev)
			return b, err == nil
		}
	}
	return nil, false
}
