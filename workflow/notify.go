package workflow

// This file holds the notify op: one SNS message per swap, readable by a
// person (a text body) and by a program (a JSON block with the same facts).

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amiswap/amiswap"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNS limits.
const (
	maxSubject = 100        // ASCII characters
	maxMessage = 256 * 1024 // bytes
	// maxCause bounds each error cause in a message that would be too long.
	maxCause = 8 * 1024
)

// publisher is what notify calls.
type publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// markerTable is what notify calls on the lock table to keep its markers.
type markerTable interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// DedupAttribute is the SNS message attribute that carries a
// notification's deduplication id: the same for every message about one
// outcome of one execution, so that a subscriber can drop a repeat.
const DedupAttribute = "amiswap-dedup-id"

// markerTTL is how long a notification marker stays in the lock table (its
// expiresAt, which the table's TTL honours): longer than any execution that
// could still resume or retry its Notify.
const markerTTL = 400 * 24 * time.Hour

// Notify tells the operators how a swap ended, once per outcome of an
// execution. With a lock table (Table) it writes a marker before it
// publishes and completes it with the MessageId after: a retried or
// resumed Notify that finds the marker completed does not publish again;
// one that finds it started but not completed publishes again, with the
// same deduplication id (DedupAttribute). Without a table every attempt
// publishes, each with that id.
type Notify struct {
	SNS publisher
	// TopicArn is the topic; empty disables notifications.
	TopicArn string
	// DB and Table hold the markers; an empty Table keeps none.
	DB    markerTable
	Table string
}

// DedupID is the deduplication id of the notification of an execution's
// outcome ("swapped" or "failed").
func DedupID(executionID, outcome string) string {
	return executionID + "#" + outcome
}

// notifyMarkerKey is the lock-table key of a notification marker.
func notifyMarkerKey(dedupID string) string { return "notify#" + dedupID }

// SwapReport is the JSON block of a notification: the facts of one swap.
type SwapReport struct {
	Outcome string `json:"outcome"` // "swapped", "rolled back" or "failed"
	// Kind is "swap", or "rollback" for the rollback state machine.
	Kind                  string              `json:"kind"`
	Execution             string              `json:"execution"`
	Group                 string              `json:"group"`
	OldImage              string              `json:"oldImage"`
	NewImage              string              `json:"newImage"`
	LaunchTemplateID      string              `json:"launchTemplateId"`
	NewVersion            string              `json:"newVersion"`
	GroupVersion          string              `json:"groupVersion"`
	DefaultVersionChanged bool                `json:"defaultVersionChanged"`
	Refresh               string              `json:"refresh"`
	BackupJob             string              `json:"backupJob"`
	RecoveryPoint         string              `json:"recoveryPoint"`
	RecoveryPointDisposal string              `json:"recoveryPointDisposal"`
	Builder               string              `json:"builder"`
	Cleanup               *CleanupResult      `json:"cleanup,omitempty"`
	Error                 *ErrorInfo          `json:"error,omitempty"`
	Compensation          *CompensationResult `json:"compensation,omitempty"`
	CompensationError     *ErrorInfo          `json:"compensationError,omitempty"`
}

// Send publishes the notification of the swap: success when the state
// records no error, failure otherwise. Without a topic it publishes
// nothing, and the Subject says so. An unknown topic is a *amiswap.AWSError.
// See Notify for the marker that keeps it to one message per outcome.
func (h *Notify) Send(ctx context.Context, p Payload) (*NotifyResult, error) {
	r := NewSwapReport(p)
	subject := NotificationSubject(r)
	if h.TopicArn == "" {
		return &NotifyResult{MessageID: "", Subject: asciiSubject("not sent, no topic configured: " + subject)}, nil
	}
	dedup := DedupID(p.Context.ExecutionID, r.Outcome)
	key := notifyMarkerKey(dedup)
	if h.Table != "" {
		if p.Context.ExecutionID == "" {
			return nil, &amiswap.InvalidInputError{Field: "context.executionId", Reason: "the notification marker is keyed by it; it is empty"}
		}
		id, err := h.startMarker(ctx, key, dedup, p.Context.EnteredTime)
		if err != nil {
			return nil, err
		}
		if id != "" {
			// Published and recorded by an earlier attempt.
			return &NotifyResult{MessageID: id, Subject: subject}, nil
		}
	}
	out, err := h.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(h.TopicArn),
		Subject:  aws.String(subject),
		Message:  aws.String(NotificationMessage(r)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			DedupAttribute: {DataType: aws.String("String"), StringValue: aws.String(dedup)},
		},
	})
	if err != nil {
		return nil, classify("sns:Publish", err)
	}
	id := aws.ToString(out.MessageId)
	if h.Table != "" {
		_, err := h.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(h.Table),
			Key:                       map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: key}},
			UpdateExpression:          aws.String("SET #mid = :mid"),
			ExpressionAttributeNames:  map[string]string{"#mid": "messageId"},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":mid": &ddbtypes.AttributeValueMemberS{Value: id}},
		})
		if err != nil {
			// Published, not recorded: a retry publishes again with the
			// same deduplication id (the window no standard topic closes).
			return nil, classify("dynamodb:UpdateItem", err)
		}
	}
	return &NotifyResult{MessageID: id, Subject: subject}, nil
}

// startMarker reads the notification marker, writing it when there is none.
// It returns the MessageId of a completed marker, or "" when the message is
// to be published (no marker yet, or one started and never completed).
func (h *Notify) startMarker(ctx context.Context, key, dedup string, now time.Time) (string, error) {
	get := func() (string, bool, error) {
		out, err := h.DB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(h.Table),
			Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: key}},
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return "", false, classify("dynamodb:GetItem", err)
		}
		if len(out.Item) == 0 {
			return "", false, nil
		}
		id := ""
		if v, ok := out.Item["messageId"].(*ddbtypes.AttributeValueMemberS); ok {
			id = v.Value
		}
		return id, true, nil
	}
	id, found, err := get()
	if err != nil || found {
		return id, err
	}
	_, err = h.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(h.Table),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":        &ddbtypes.AttributeValueMemberS{Value: key},
			"dedupId":   &ddbtypes.AttributeValueMemberS{Value: dedup},
			"startedAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
			"expiresAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(markerTTL).Unix(), 10)},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": "pk"},
	})
	switch {
	case err == nil:
		return "", nil
	case apiCode(err) == "ConditionalCheckFailedException":
		// Another attempt wrote it meanwhile: go by what it says.
		id, _, err := get()
		return id, err
	default:
		return "", classify("dynamodb:PutItem", err)
	}
}

// NewSwapReport gathers the facts of a swap from the execution state.
func NewSwapReport(p Payload) SwapReport {
	s := p.State
	r := SwapReport{
		Outcome:               "swapped",
		Execution:             p.Context.ExecutionID,
		BackupJob:             s.BackupJobID,
		RecoveryPoint:         s.RecoveryPointArn,
		RecoveryPointDisposal: "not reached",
		Refresh:               "none",
		Cleanup:               s.Cleanup,
		Error:                 s.Error,
		Compensation:          s.Compensation,
		CompensationError:     s.CompensationError,
	}
	r.Kind = "swap"
	if s.Rollback != nil {
		r.Kind, r.Outcome, r.NewImage = "rollback", "rolled back", s.Rollback.ImageID
		r.RecoveryPointDisposal = "not touched by a rollback"
	}
	if s.Error != nil {
		r.Outcome = "failed"
	}
	if t := s.Target; t != nil {
		r.Group = t.Group
		r.OldImage = t.LaunchTemplate.ImageID
		r.LaunchTemplateID = t.LaunchTemplate.ID
		r.GroupVersion = t.LaunchTemplate.Version
		if t.Source.BackupJobID != "" {
			r.BackupJob = t.Source.BackupJobID
		}
		if t.Source.RecoveryPointArn != "" {
			r.RecoveryPoint = t.Source.RecoveryPointArn
		}
		if !t.Settings.DeleteRecoveryPoint {
			r.RecoveryPointDisposal = "kept (" + amiswap.TagDeleteRecoveryPoint + "=false)"
		}
	}
	if r.Group == "" {
		switch {
		case s.InstanceID != "":
			r.Group = "(group of instance " + s.InstanceID + ")"
		case s.BackupJobID != "":
			r.Group = "(group of backup job " + s.BackupJobID + ")"
		default:
			r.Group = "(unknown group)"
		}
	}
	if s.Image != nil {
		r.NewImage = s.Image.ImageID
	}
	if s.Builder != nil {
		r.Builder = s.Builder.InstanceID
	}
	if w := s.Swap; w != nil {
		r.LaunchTemplateID = cmp.Or(w.LaunchTemplateID, r.LaunchTemplateID)
		r.NewVersion = w.NewVersion
		r.GroupVersion = cmp.Or(w.GroupVersion, r.GroupVersion)
		r.DefaultVersionChanged = w.DefaultVersionChanged
	}
	if s.Refresh != nil && s.Refresh.RefreshID != "" {
		r.Refresh = "instance refresh " + s.Refresh.RefreshID
		if s.RolledOut {
			r.Refresh += " (successful)"
		}
	}
	if c := s.Cleanup; c != nil && c.RecoveryPoint != nil && (s.Target == nil || s.Target.Settings.DeleteRecoveryPoint) {
		switch rp := c.RecoveryPoint; rp.Status {
		case RecoveryPointDeleted:
			r.RecoveryPointDisposal = "deleted"
		case RecoveryPointDeleting:
			r.RecoveryPointDisposal = "deleting: " + rp.Reason
		case RecoveryPointExpired:
			r.RecoveryPointDisposal = "NOT deleted, EXPIRED: " + rp.Reason
		default:
			r.RecoveryPointDisposal = "NOT deleted, " + rp.Status + ": " + rp.Reason
		}
	}
	return r
}

// NotificationSubject is the subject of a report: at most 100 printable
// ASCII characters, as SNS requires.
func NotificationSubject(r SwapReport) string {
	if r.Outcome == "failed" {
		name := "unknown error"
		if r.Error != nil && r.Error.Error != "" {
			name = r.Error.Error
		}
		// Keep the error name whole: shorten the group instead.
		tail := " FAILED (" + name + ")"
		head := "amiswap: " + r.kind() + " of "
		room := maxSubject - len(head) - len(asciiSubject(tail))
		return asciiSubject(head + clip(asciiSubject(r.Group), max(room, 8)) + tail)
	}
	tail := " swapped to " + r.NewImage
	if r.Kind == "rollback" {
		tail = " rolled back to " + r.NewImage
	}
	room := maxSubject - len("amiswap: ") - len(tail)
	return asciiSubject("amiswap: " + clip(asciiSubject(r.Group), max(room, 8)) + tail)
}

// asciiSubject replaces what SNS refuses in a subject (non-ASCII, control
// characters, line breaks) and cuts it to 100 characters.
func asciiSubject(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return clip(b.String(), maxSubject)
}

// clip cuts s to n bytes (ASCII input: characters), marking the cut with "...".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 3 {
		return s[:n]
	}
	return s[:n-3] + "..."
}

// NotificationMessage is the body of a report: a text for people, then
// the same facts as JSON. It stays within SNS's 256 KB: long error causes
// are shortened first.
func NotificationMessage(r SwapReport) string {
	msg := renderMessage(r)
	if len(msg) <= maxMessage {
		return msg
	}
	short := r
	if r.Error != nil {
		short.Error = &ErrorInfo{Error: r.Error.Error, Cause: truncateUTF8(r.Error.Cause, maxCause)}
	}
	if r.CompensationError != nil {
		short.CompensationError = &ErrorInfo{Error: r.CompensationError.Error, Cause: truncateUTF8(r.CompensationError.Cause, maxCause)}
	}
	if msg = renderMessage(short); len(msg) <= maxMessage {
		return msg
	}
	return truncateUTF8(msg, maxMessage)
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary, marking the cut.
func truncateUTF8(s string, n int) string {
	const mark = " …[truncated]"
	if len(s) <= n {
		return s
	}
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// renderMessage writes a report as NotificationMessage describes it, at
// any length.
func renderMessage(r SwapReport) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch {
	case r.Outcome == "failed" && r.Kind == "rollback":
		line("amiswap could not roll the Auto Scaling group %s back to golden AMI %s.", r.Group, orNone(r.NewImage))
	case r.Outcome == "failed":
		line("amiswap could not swap the Auto Scaling group %s to a new golden AMI.", r.Group)
	case r.Kind == "rollback":
		line("amiswap rolled the Auto Scaling group %s back to an earlier golden AMI.", r.Group)
	default:
		line("amiswap swapped the Auto Scaling group %s to a new golden AMI.", r.Group)
	}
	if r.Outcome == "failed" {
		line("")
		if r.Error != nil {
			line("Error:           %s", r.Error.Error)
			line("Cause:           %s", r.Error.Cause)
		}
		line("")
		line("Backup job:      %s", orNone(r.BackupJob))
		line("Builder:         %s", orNone(r.Builder))
		line("Golden AMI:      %s", orNone(r.NewImage))
		line("")
		if r.Compensation != nil {
			line("Compensation:")
			for _, a := range r.Compensation.Actions {
				line("  - %s", a)
			}
			if len(r.Compensation.Actions) == 0 {
				line("  (nothing to undo)")
			}
			if len(r.Compensation.Problems) > 0 {
				line("Compensation problems (finish these by hand):")
				for _, pr := range r.Compensation.Problems {
					line("  ! %s", pr)
				}
			}
		} else {
			line("Compensation:    not recorded")
		}
		if r.CompensationError != nil {
			line("Compensation failed: %s: %s", r.CompensationError.Error, r.CompensationError.Cause)
		}
		line("")
	} else {
		line("")
		line("AMI:             %s -> %s", orNone(r.OldImage), orNone(r.NewImage))
		version := r.NewVersion
		if r.DefaultVersionChanged {
			version += " (now the default version)"
		}
		line("Launch template: %s version %s", orNone(r.LaunchTemplateID), orNone(version))
		line("Group uses:      version %s", orNone(r.GroupVersion))
		line("Rollout:         %s", r.Refresh)
		line("Backup job:      %s", orNone(r.BackupJob))
		line("Recovery point:  %s (%s)", orNone(r.RecoveryPoint), r.RecoveryPointDisposal)
		if c := r.Cleanup; c != nil {
			builder := "terminated"
			if !c.BuilderTerminated {
				builder = "not terminated"
			}
			line("Cleanup:         builder %s %s; %d old golden AMI(s) deregistered %v, %d snapshot(s) deleted",
				orNone(r.Builder), builder, len(c.DeregisteredImages), c.DeregisteredImages, len(c.DeletedSnapshots))
		} else {
			line("Cleanup:         not recorded")
		}
	}
	line("Execution:       %s", orNone(r.Execution))
	line("")
	line("Details (JSON):")
	js, _ := json.MarshalIndent(r, "", "  ")
	b.Write(js)
	b.WriteByte('\n')
	return b.String()
}

// kind is what the report is of, for the subject: "swap" or "rollback".
func (r SwapReport) kind() string {
	if r.Kind == "rollback" {
		return "rollback"
	}
	return "swap"
}

// orNone is s, or "(none)" when it is blank.
func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}
