// Package amiswap is the vocabulary of amiswap: the swap request, the
// resolved target, the per-group settings read from tags, and the typed
// errors whose names are the contract with the workflow's Retry and Catch.
// It imports no AWS SDK; the workflow package does the AWS work.
package amiswap

import "time"

// Tag keys that amiswap reads from and writes to Auto Scaling groups,
// builder instances and golden AMIs.
const (
	TagEnabled             = "amiswap:enabled"               // "true" opts a group in
	TagOS                  = "amiswap:os"                    // windows | linux: override the backup AMI's platform
	TagRefresh             = "amiswap:refresh"               // none | rolling: roll instances after the swap
	TagMinHealthy          = "amiswap:refresh-min-healthy"   // instance refresh MinHealthyPercentage (default 90)
	TagWarmup              = "amiswap:refresh-warmup"        // instance refresh InstanceWarmup seconds
	TagKeep                = "amiswap:keep"                  // golden AMIs to keep per group (default 3)
	TagFreezeMaxSize       = "amiswap:freeze-max-size"       // true: hold MaxSize at the current size during the build
	TagDeleteRecoveryPoint = "amiswap:delete-recovery-point" // false keeps the backup recovery point
	TagInstanceType        = "amiswap:builder-instance-type" // builder instance type (default: the group's)
	TagOriginalMaxSize     = "amiswap:original-max-size"     // written by Freeze, removed by Thaw
	TagVerify              = "amiswap:verify"                // true | false: test the golden AMI on a verifier before rollout (default true)
	TagVerifyDocument      = "amiswap:verify-document"       // an SSM Command document run on the verifier; it must succeed
	TagVerifyParameters    = "amiswap:verify-parameters"     // its parameters: a JSON object of string lists
	TagPrepareDocument     = "amiswap:prepare-document"      // an SSM Command document run on the builder before generalizing
	TagPrepareParameters   = "amiswap:prepare-parameters"    // its parameters: a JSON object of string lists
	TagGeneralizeDocument  = "amiswap:generalize-document"   // a Linux Command document that replaces the built-in cleanup script
	TagSSMParameter        = "amiswap:ssm-parameter"         // a Parameter Store name that receives the golden AMI id after rollout
	TagDeprecateAfter      = "amiswap:deprecate-after"       // a duration (12h, 90d, 2w): EnableImageDeprecation on each new golden AMI

	// On builders and golden AMIs.
	TagRole          = "amiswap:role" // "builder", "verifier" or "golden-ami"
	TagGroup         = "amiswap:group"
	TagExecution     = "amiswap:execution"
	TagSourceInst    = "amiswap:source-instance"
	TagBackupJob     = "amiswap:backup-job"
	TagRecoveryPoint = "amiswap:recovery-point"
	TagParentImage   = "amiswap:parent-image"
	TagCreatedAt     = "amiswap:created-at"

	RoleBuilder  = "builder"
	RoleVerifier = "verifier"
	RoleGolden   = "golden-ami"
)

// Request starts a swap. It is what the EventBridge input transformer
// produces from a "Backup Job State Change" event, or what `amiswap run`
// builds from its flags. Exactly one of BackupJobID and InstanceID is the
// starting point; the others come from the event when there is one.
type Request struct {
	BackupJobID      string `json:"backupJobId,omitempty"`
	InstanceID       string `json:"instanceId,omitempty"`
	ResourceArn      string `json:"resourceArn,omitempty"`
	ResourceType     string `json:"resourceType,omitempty"`
	RecoveryPointArn string `json:"recoveryPointArn,omitempty"`
	BackupVaultName  string `json:"backupVaultName,omitempty"`
	State            string `json:"state,omitempty"`
	EventID          string `json:"eventId,omitempty"`
	EventTime        string `json:"eventTime,omitempty"`
}

// RollbackRequest starts a rollback: put Group back on an earlier golden
// AMI. ToImageID picks the AMI (default: the newest registered golden AMI
// of the group older than the one it launches now); Refresh rolls the
// instances with an instance refresh whatever the group's setting says.
type RollbackRequest struct {
	Group     string `json:"group,omitempty"`
	ToImageID string `json:"toImageId,omitempty"`
	Refresh   bool   `json:"refreshInstances,omitempty"`
}

// Target is what Resolve found: the group to swap, its launch template,
// the backup AMI to build from, and the settings that apply. When Skip is
// true, SkipReason says why and the rest may be partly empty.
type Target struct {
	Skip       bool   `json:"skip"`
	SkipReason string `json:"skipReason"`

	Group          string            `json:"group"`
	Source         Source            `json:"source"`
	LaunchTemplate LaunchTemplateRef `json:"launchTemplate"`
	Capacity       Capacity          `json:"capacity"`
	Builder        BuilderSpec       `json:"builder"`
	// Verifier is how the verifier is launched: the group's own launch
	// template settings (no builder overrides), with its metadata options.
	Verifier BuilderSpec `json:"verifier"`
	Settings Settings    `json:"settings"`
}

// Source is the backup a swap builds from.
type Source struct {
	InstanceID       string `json:"instanceId"`
	BackupJobID      string `json:"backupJobId"`
	RecoveryPointArn string `json:"recoveryPointArn"`
	BackupVaultName  string `json:"backupVaultName"`
	ImageID          string `json:"imageId"`  // the recovery point's AMI
	Platform         string `json:"platform"` // windows | linux
	// KmsKeyArns are the customer managed KMS keys that encrypt the
	// recovery point's snapshots (none for unencrypted snapshots or the
	// AWS managed key): the builder is launched, and the golden AMI
	// encrypted, with them.
	KmsKeyArns []string `json:"kmsKeyArns,omitempty"`
}

// Capacity is the group's size when the swap started.
type Capacity struct {
	Min     int32 `json:"min"`
	Max     int32 `json:"max"`
	Desired int32 `json:"desired"`
}

// LaunchTemplateRef is how a group refers to its launch template.
type LaunchTemplateRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Version as the group names it: "$Default", "$Latest" or a number.
	Version string `json:"version"`
	// SourceVersion is the number that Version resolved to.
	SourceVersion string `json:"sourceVersion"`
	// ImageID is the AMI of SourceVersion (the AMI being replaced).
	ImageID string `json:"imageId"`
	// Mixed is true when the group uses a MixedInstancesPolicy.
	Mixed bool `json:"mixed"`
}

// BuilderSpec is how the temporary builder instance is launched.
type BuilderSpec struct {
	InstanceType       string   `json:"instanceType"`
	SubnetID           string   `json:"subnetId"`
	SecurityGroupIDs   []string `json:"securityGroupIds"`
	InstanceProfileArn string   `json:"instanceProfileArn,omitempty"`
	InstanceProfile    string   `json:"instanceProfileName,omitempty"`
	// Metadata options of the group's launch template, as the verifier
	// launches with them.
	HTTPTokens   string `json:"httpTokens,omitempty"`
	HTTPHopLimit int32  `json:"httpPutResponseHopLimit,omitempty"`
	HTTPEndpoint string `json:"httpEndpoint,omitempty"`
	// MetadataOptions are the builder's instance metadata options: the
	// group's launch template's, with IMDSv2 required and the endpoint
	// enabled where the template says nothing.
	MetadataOptions *MetadataOptions `json:"metadataOptions,omitempty"`
}

// MetadataOptions are an instance's metadata service options, with EC2's
// values: HttpTokens "required" or "optional", HttpEndpoint and
// InstanceMetadataTags "enabled" or "disabled", HttpPutResponseHopLimit
// 1–64 (0: EC2's default).
type MetadataOptions struct {
	HttpTokens              string `json:"httpTokens"`
	HttpEndpoint            string `json:"httpEndpoint"`
	HttpPutResponseHopLimit int32  `json:"httpPutResponseHopLimit,omitempty"`
	InstanceMetadataTags    string `json:"instanceMetadataTags,omitempty"`
}

// Lineage is what a golden AMI records about where it came from.
type Lineage struct {
	Group, SourceInstance, BackupJob, RecoveryPoint, ParentImage, Execution string
	CreatedAt                                                               time.Time
}

// Tags returns the lineage as AMI and snapshot tags.
func (l Lineage) Tags() map[string]string {
	return map[string]string{
		TagRole:          RoleGolden,
		TagGroup:         l.Group,
		TagSourceInst:    l.SourceInstance,
		TagBackupJob:     l.BackupJob,
		TagRecoveryPoint: l.RecoveryPoint,
		TagParentImage:   l.ParentImage,
		TagExecution:     l.Execution,
		TagCreatedAt:     l.CreatedAt.UTC().Format(time.RFC3339),
	}
}
