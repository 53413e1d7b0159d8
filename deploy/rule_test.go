package deploy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/amiswap/amiswap"
)

// backupEvent is a Backup Job State Change event as AWS delivers it.
func backupEvent(mut func(ev map[string]any)) []byte {
	ev := map[string]any{
		"version":     "0",
		"id":          "9b7d9a8c-3c41-4a4f-8f0e-2a1f5b6c7d8e",
		"detail-type": "Backup Job State Change",
		"source":      "aws.backup",
		"account":     "123456789012",
		"time":        "2026-01-05T09:25:31Z",
		"region":      "us-east-1",
		"resources":   []any{"arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890"},
		"detail": map[string]any{
			"backupJobId":            "B1A2C3D4-5E6F-7A8B-9C0D-1E2F3A4B5C6D",
			"backupSizeInBytes":      "32212254720",
			"backupVaultArn":         "arn:aws:backup:us-east-1:123456789012:backup-vault:Default",
			"backupVaultName":        "Default",
			"bytesTransferred":       "0",
			"creationDate":           "2026-01-05T09:00:12.416Z",
			"completionDate":         "2026-01-05T09:25:30.112Z",
			"expectedCompletionDate": "Jan 5, 2026 9:25:30 AM",
			"iamRoleArn":             "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole",
			"percentDone":            100.0,
			"resourceArn":            "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
			"resourceType":           "EC2",
			"startBy":                "2026-01-05T17:00:00Z",
			"state":                  "COMPLETED",
			"statusMessage":          "",
			"createdBy": map[string]any{
				"backupPlanArn": "arn:aws:backup:us-east-1:123456789012:backup-plan:8f6f0d23", "backupPlanId": "8f6f0d23",
				"backupPlanVersion": "ZTZmNWQ4", "backupPlanRuleId": "1d3e5a7c",
			},
		},
	}
	if mut != nil {
		mut(ev)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

func detail(ev map[string]any) map[string]any { return ev["detail"].(map[string]any) }

func TestCompletedEC2BackupBecomesTheWorkflowInput(t *testing.T) {
	ev := backupEvent(nil)
	if ok, why := MatchEvent(ev); !ok {
		t.Fatalf("completed EC2 backup does not match: %s", why)
	}
	req, err := Transform(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := amiswap.Request{
		BackupJobID:      "B1A2C3D4-5E6F-7A8B-9C0D-1E2F3A4B5C6D",
		ResourceArn:      "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
		ResourceType:     "EC2",
		RecoveryPointArn: "arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890",
		BackupVaultName:  "Default",
		State:            "COMPLETED",
		EventID:          "9b7d9a8c-3c41-4a4f-8f0e-2a1f5b6c7d8e",
		EventTime:        "2026-01-05T09:25:31Z",
	}
	if req != want {
		t.Errorf("input\n got %+v\nwant %+v", req, want)
	}
	raw, err := TransformInput(ev)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil || len(fields) != 8 {
		t.Errorf("transformed input %s: %v", raw, err)
	}
}

func TestOtherEventsDoNotMatch(t *testing.T) {
	cases := []struct {
		name  string
		event []byte
		why   string
	}{
		{"running", backupEvent(func(ev map[string]any) { detail(ev)["state"] = "RUNNING" }), `detail.state is "RUNNING"`},
		{"failed", backupEvent(func(ev map[string]any) { detail(ev)["state"] = "FAILED" }), `detail.state is "FAILED"`},
		{"ebs", backupEvent(func(ev map[string]any) { detail(ev)["resourceType"] = "EBS" }), `detail.resourceType is "EBS"`},
		{"rds", backupEvent(func(ev map[string]any) { detail(ev)["resourceType"] = "RDS" }), `detail.resourceType is "RDS"`},
		{"other source", backupEvent(func(ev map[string]any) { ev["source"] = "aws.ec2" }), `source is "aws.ec2"`},
		{"other detail-type", backupEvent(func(ev map[string]any) { ev["detail-type"] = "Copy Job State Change" }), `detail-type is "Copy Job State Change"`},
		{"no state", backupEvent(func(ev map[string]any) { delete(detail(ev), "state") }), "no detail.state"},
		{"detail not an object", backupEvent(func(ev map[string]any) { ev["detail"] = "COMPLETED" }), "detail is not an object"},
		{"malformed", []byte(`{"source": "aws.backup", `), "not a JSON event"},
		{"not an object", []byte(`["aws.backup"]`), "not a JSON event"},
	}
	for _, c := range cases {
		ok, why := MatchEvent(c.event)
		if ok || !strings.Contains(why, c.why) {
			t.Errorf("%s: match %v (%s), want no match because %s", c.name, ok, why, c.why)
		}
		_, err := Transform(c.event)
		var ie *amiswap.InvalidInputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: Transform error %v, want *amiswap.InvalidInputError", c.name, err)
		}
	}
}

func TestPatternListsMatchAnyElement(t *testing.T) {
	// EventBridge matches a pattern value against each element of an
	// array in the event.
	ev := backupEvent(func(ev map[string]any) { ev["source"] = []any{"aws.other", "aws.backup"} })
	if ok, why := MatchEvent(ev); !ok {
		t.Errorf("array field with a matching element: %s", why)
	}
}

func TestTransformWithoutRecoveryPoint(t *testing.T) {
	ev := backupEvent(func(ev map[string]any) { ev["resources"] = []any{} })
	raw, err := TransformInput(ev)
	if err != nil {
		t.Fatal(err)
	}
	// EventBridge drops the variable; quoted, it leaves "".
	if !strings.Contains(string(raw), `"recoveryPointArn": ""`) {
		t.Errorf("an absent path should give an empty string: %s", raw)
	}
	req, err := Transform(ev)
	if err != nil || req.RecoveryPointArn != "" || req.BackupJobID == "" {
		t.Errorf("request %+v, %v", req, err)
	}
}

func TestInputTemplateNamesRequestFields(t *testing.T) {
	// Every variable fills a field of amiswap.Request, by its JSON name.
	var req amiswap.Request
	for _, p := range inputPaths {
		b, _ := json.Marshal(map[string]string{p[0]: "x"})
		before := req
		if err := json.Unmarshal(b, &req); err != nil || req == before {
			t.Errorf("variable %s is not a field of amiswap.Request", p[0])
		}
	}
}

// TestEveryPlaceholderIsQuoted: a variable whose path an event lacks is
// dropped by EventBridge, so each placeholder sits inside quotes; an event
// that lacks any one field still transforms to JSON, the field empty.
func TestEveryPlaceholderIsQuoted(t *testing.T) {
	for _, p := range inputPaths {
		if !strings.Contains(InputTemplate, `"<`+p[0]+`>"`) {
			t.Errorf("placeholder <%s> is not quoted in %s", p[0], InputTemplate)
		}
	}
	for _, c := range []struct {
		name  string
		drop  func(ev map[string]any)
		field string
	}{
		{"no backup job id", func(ev map[string]any) { delete(detail(ev), "backupJobId") }, "backupJobId"},
		{"no resource ARN", func(ev map[string]any) { delete(detail(ev), "resourceArn") }, "resourceArn"},
		{"no resources", func(ev map[string]any) { delete(ev, "resources") }, "recoveryPointArn"},
		{"no vault", func(ev map[string]any) { delete(detail(ev), "backupVaultName") }, "backupVaultName"},
		{"no id", func(ev map[string]any) { delete(ev, "id") }, "eventId"},
		{"no time", func(ev map[string]any) { delete(ev, "time") }, "eventTime"},
	} {
		raw, err := TransformInput(backupEvent(c.drop))
		if err != nil || !json.Valid(raw) {
			t.Errorf("%s: %v, %s", c.name, err, raw)
			continue
		}
		var m map[string]any
		json.Unmarshal(raw, &m)
		if m[c.field] != "" {
			t.Errorf("%s: %s is %v, want \"\"", c.name, c.field, m[c.field])
		}
	}
}
