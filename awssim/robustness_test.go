package awssim

// Robustness: whatever a client sends, the simulator answers with the error
// shape of the protocol the request is for — never a panic, never a 500
// without a body. Raw HTTP checks the status and body shape; real SDK
// clients check that the SDK parses the error code; fuzz tests feed
// arbitrary bodies to the handler.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// sigv4 returns an Authorization header naming service, as SigV4 does.
func sigv4(service string) string {
	return "AWS4-HMAC-SHA256 Credential=AKIDRAW/20260105/us-east-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
}

// errorShape is the error family of a wire protocol.
type errorShape int

const (
	shapeEC2   errorShape = iota // <Response><Errors><Error><Code>
	shapeQuery                   // <ErrorResponse><Error><Type/><Code>
	shapeJSON                    // {"__type": …, "message": …}
)

func shapeOf(service string) errorShape {
	switch {
	case service == "ec2":
		return shapeEC2
	case queryServices[service] != nil:
		return shapeQuery
	}
	return shapeJSON
}

// errorCode parses an error body of the given shape and returns its code,
// or an error when the body is not that shape.
func errorCode(shape errorShape, body []byte) (string, error) {
	switch shape {
	case shapeEC2:
		var b struct {
			XMLName xml.Name `xml:"Response"`
			Errors  []struct {
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Errors>Error"`
			RequestID string `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &b); err != nil {
			return "", fmt.Errorf("not an EC2 error body: %w: %.200s", err, body)
		}
		if len(b.Errors) != 1 || b.Errors[0].Code == "" || b.RequestID == "" {
			return "", fmt.Errorf("EC2 error body without code or request id: %.200s", body)
		}
		return b.Errors[0].Code, nil
	case shapeQuery:
		var b struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct {
				Type    string `xml:"Type"`
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
			RequestID string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(body, &b); err != nil {
			return "", fmt.Errorf("not a Query error body: %w: %.200s", err, body)
		}
		if b.Error.Code == "" || b.RequestID == "" || (b.Error.Type != "Sender" && b.Error.Type != "Receiver") {
			return "", fmt.Errorf("Query error body without code, type or request id: %.200s", body)
		}
		return b.Error.Code, nil
	default:
		var b struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return "", fmt.Errorf("not a JSON error body: %w: %.200s", err, body)
		}
		if b.Type == "" {
			return "", fmt.Errorf("JSON error body without __type: %.200s", body)
		}
		return b.Type, nil
	}
}

func TestRobustnessRawHTTP(t *testing.T) {
	ts := newTestSim(t, Options{})
	form := "application/x-www-form-urlencoded; charset=utf-8"
	cases := []struct {
		name    string
		service string // SigV4 service; "" sends no Authorization
		target  string // X-Amz-Target
		method  string
		path    string
		ctype   string
		body    string
		status  int
		code    string // "" accepts any code of the right shape
		shape   errorShape
	}{
		{"ec2 unknown action", "ec2", "", "POST", "/", form, "Action=FlyToTheMoon&Version=2016-11-15", 400, "InvalidAction", shapeEC2},
		{"ec2 no action", "ec2", "", "POST", "/", form, "Version=2016-11-15", 400, "MissingAction", shapeEC2},
		{"ec2 malformed form", "ec2", "", "POST", "/", form, "Action=DescribeInstances&InstanceId.1=%zz", 400, "MalformedQueryString", shapeEC2},
		{"ec2 truncated form", "ec2", "", "POST", "/", form, "Action=DescribeInst", 400, "InvalidAction", shapeEC2},
		{"ec2 string for a number", "ec2", "", "POST", "/", form, "Action=DescribeInstances&Version=2016-11-15&MaxResults=many", 400, "", shapeEC2},
		{"ec2 missing parameter", "ec2", "", "POST", "/", form, "Action=CreateImage&Version=2016-11-15", 400, "", shapeEC2},
		{"ec2 binary garbage", "ec2", "", "POST", "/", form, "\x00\xff\xfe=\x01&&==", 400, "", shapeEC2},
		{"autoscaling unknown action", "autoscaling", "", "POST", "/", form, "Action=Nope&Version=2011-01-01", 400, "InvalidAction", shapeQuery},
		{"autoscaling missing parameter", "autoscaling", "", "POST", "/", form, "Action=CreateAutoScalingGroup&Version=2011-01-01", 400, "", shapeQuery},
		{"autoscaling string for a number", "autoscaling", "", "POST", "/", form, "Action=DescribeAutoScalingGroups&Version=2011-01-01&MaxRecords=lots", 400, "", shapeQuery},
		{"sns unknown action", "sns", "", "POST", "/", form, "Action=Nope&Version=2010-03-31", 400, "InvalidAction", shapeQuery},
		{"sns missing topic", "sns", "", "POST", "/", form, "Action=Publish&Version=2010-03-31&Message=hi", 400, "InvalidParameter", shapeQuery},
		{"sns missing name", "sns", "", "POST", "/", form, "Action=CreateTopic&Version=2010-03-31", 400, "ValidationError", shapeQuery},
		{"sns string for a boolean", "sns", "", "POST", "/", form, "Action=Subscribe&Version=2010-03-31&TopicArn=arn:aws:sns:us-east-1:123456789012:t&Protocol=email&Endpoint=a@b.c&ReturnSubscriptionArn=perhaps", 400, "InvalidParameter", shapeQuery},
		{"sns malformed form", "sns", "", "POST", "/", form, "Action=Publish&Message=%", 400, "MalformedQueryString", shapeQuery},
		{"sns unsigned, by version", "", "", "POST", "/", form, "Action=Nope&Version=2010-03-31", 400, "InvalidAction", shapeQuery},
		{"sts unsigned", "", "", "POST", "/", form, "Action=GetCallerIdentity&Version=2011-06-15", 403, "MissingAuthenticationToken", shapeQuery},
		{"sts unknown action", "sts", "", "POST", "/", form, "Action=AssumeRole&Version=2011-06-15", 400, "InvalidAction", shapeQuery},
		{"dynamodb unknown operation", "dynamodb", "DynamoDB_20120810.FlyToTheMoon", "POST", "/", "application/x-amz-json-1.0", "{}", 400, "UnknownOperationException", shapeJSON},
		{"dynamodb malformed json", "dynamodb", "DynamoDB_20120810.DescribeTable", "POST", "/", "application/x-amz-json-1.0", `{"TableName":`, 400, "SerializationException", shapeJSON},
		{"dynamodb truncated json", "dynamodb", "DynamoDB_20120810.PutItem", "POST", "/", "application/x-amz-json-1.0", `{"TableName":"t","Item":{"pk":{"S":"x"}`, 400, "SerializationException", shapeJSON},
		{"dynamodb string for a number", "dynamodb", "DynamoDB_20120810.ListTables", "POST", "/", "application/x-amz-json-1.0", `{"Limit":"ten"}`, 400, "SerializationException", shapeJSON},
		{"dynamodb number for a string", "dynamodb", "DynamoDB_20120810.DescribeTable", "POST", "/", "application/x-amz-json-1.0", `{"TableName":5}`, 400, "SerializationException", shapeJSON},
		{"dynamodb array body", "dynamodb", "DynamoDB_20120810.DescribeTable", "POST", "/", "application/x-amz-json-1.0", `[1,2]`, 400, "SerializationException", shapeJSON},
		{"dynamodb missing table", "dynamodb", "DynamoDB_20120810.DescribeTable", "POST", "/", "application/x-amz-json-1.0", `{}`, 400, "ValidationException", shapeJSON},
		{"dynamodb null item value", "dynamodb", "DynamoDB_20120810.GetItem", "POST", "/", "application/x-amz-json-1.0", `{"TableName":"tbl","Key":{"pk":null}}`, 400, "ValidationException", shapeJSON},
		{"dynamodb bad number", "dynamodb", "DynamoDB_20120810.GetItem", "POST", "/", "application/x-amz-json-1.0", `{"TableName":"tbl","Key":{"pk":{"N":"1e999999999"}}}`, 400, "ValidationException", shapeJSON},
		{"dynamodb null body", "dynamodb", "DynamoDB_20120810.DescribeTable", "POST", "/", "application/x-amz-json-1.0", `null`, 400, "ValidationException", shapeJSON},
		{"dynamodb unsigned, by target", "", "DynamoDB_20120810.Nope", "POST", "/", "application/x-amz-json-1.0", `{}`, 400, "UnknownOperationException", shapeJSON},
		{"ssm unknown operation", "ssm", "AmazonSSM.FlyToTheMoon", "POST", "/", "application/x-amz-json-1.1", "{}", 400, "UnknownOperationException", shapeJSON},
		{"ssm malformed json", "ssm", "AmazonSSM.SendCommand", "POST", "/", "application/x-amz-json-1.1", `{"DocumentName":"AWS-RunShellScript",`, 400, "SerializationException", shapeJSON},
		{"ssm missing parameter", "ssm", "AmazonSSM.GetCommandInvocation", "POST", "/", "application/x-amz-json-1.1", `{}`, 400, "", shapeJSON},
		{"ssm string for a number", "ssm", "AmazonSSM.ListCommands", "POST", "/", "application/x-amz-json-1.1", `{"MaxResults":"many"}`, 400, "SerializationException", shapeJSON},
		{"backup unknown path", "backup", "", "GET", "/no/such/path", "", "", 404, "UnknownOperationException", shapeJSON},
		{"backup wrong method", "backup", "", "PATCH", "/backup-jobs", "application/json", "{}", 404, "UnknownOperationException", shapeJSON},
		{"backup malformed json", "backup", "", "PUT", "/backup-jobs", "application/json", `{"BackupVaultName":`, 400, "", shapeJSON},
		{"backup string for a number", "backup", "", "PUT", "/backup-jobs", "application/json", `{"BackupVaultName":"Default","ResourceArn":"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0","IamRoleArn":"arn:aws:iam::123456789012:role/r","StartWindowMinutes":"soon"}`, 400, "", shapeJSON},
		{"unknown service", "lambda", "", "POST", "/2015-03-31/functions", "application/json", "{}", 400, "UnknownService", shapeJSON},
		{"unsigned garbage", "", "", "POST", "/", "text/plain", "hello", 400, "UnknownService", shapeJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.service != "" {
				req.Header.Set("Authorization", sigv4(tc.service))
			}
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			code, err := errorCode(tc.shape, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.code != "" && code != tc.code {
				t.Errorf("code %q, want %q: %s", code, tc.code, body)
			}
			if resp.Header.Get("Content-Type") == "" {
				t.Error("no Content-Type")
			}
		})
	}
}

// TestRobustnessTruncatedBody sends fewer bytes than Content-Length says,
// which the Go client refuses to do, over a raw connection.
func TestRobustnessTruncatedBody(t *testing.T) {
	ts := newTestSim(t, Options{})
	for _, tc := range []struct {
		service, target, body string
		shape                 errorShape
	}{
		{"sns", "", "Action=ListTopics&Version=2010-03-31", shapeQuery},
		{"ec2", "", "Action=DescribeInstances&Version=2016-11-15", shapeEC2},
		{"dynamodb", "DynamoDB_20120810.ListTables", `{"Limit":10}`, shapeJSON},
	} {
		t.Run(tc.service, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: sim\r\nAuthorization: %s\r\nContent-Length: %d\r\n", sigv4(tc.service), len(tc.body)+100)
			if tc.target != "" {
				fmt.Fprintf(conn, "X-Amz-Target: %s\r\n", tc.target)
			}
			fmt.Fprintf(conn, "\r\n%s", tc.body)
			conn.(*net.TCPConn).CloseWrite()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400: %s", resp.StatusCode, body)
			}
			code, err := errorCode(tc.shape, body)
			if err != nil {
				t.Fatal(err)
			}
			if code != "IncompleteBody" {
				t.Errorf("code %q, want IncompleteBody", code)
			}
		})
	}
}

func TestRobustnessOversizedBody(t *testing.T) {
	ts := newTestSim(t, Options{})
	body := "Action=Publish&Version=2010-03-31&Message=" + strings.Repeat("m", maxBody)
	req, _ := http.NewRequest("POST", ts.URL+"/", strings.NewReader(body))
	req.Header.Set("Authorization", sigv4("sns"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	if code, err := errorCode(shapeQuery, data); err != nil || code != "RequestEntityTooLarge" {
		t.Errorf("code %q, %v", code, err)
	}
}

// TestRobustnessSDK checks that every SDK client parses the simulator's
// errors into the right smithy.APIError code, including for operations the
// simulator does not implement.
func TestRobustnessSDK(t *testing.T) {
	ts := newTestSim(t, Options{})
	ctx := context.Background()
	checks := []struct {
		name string
		call func() error
		code string
	}{
		{"ec2 unimplemented", func() error {
			_, err := ec2.NewFromConfig(ts.Cfg).DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{})
			return err
		}, "InvalidAction"},
		{"ec2 malformed id", func() error {
			_, err := ec2.NewFromConfig(ts.Cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"not-an-id"}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"autoscaling unimplemented", func() error {
			_, err := autoscaling.NewFromConfig(ts.Cfg).DescribeTrafficSources(ctx, &autoscaling.DescribeTrafficSourcesInput{AutoScalingGroupName: aws.String("g")})
			return err
		}, "InvalidAction"},
		{"sns unimplemented", func() error {
			_, err := sns.NewFromConfig(ts.Cfg).ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
			return err
		}, "InvalidAction"},
		{"sns bad arn", func() error {
			_, err := sns.NewFromConfig(ts.Cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:nope"), Message: aws.String("m")})
			return err
		}, "InvalidParameter"},
		{"sts unimplemented", func() error {
			_, err := sts.NewFromConfig(ts.Cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s")})
			return err
		}, "InvalidAction"},
		{"dynamodb unimplemented", func() error {
			_, err := dynamodb.NewFromConfig(ts.Cfg).DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("tbl")})
			return err
		}, "UnknownOperationException"},
		{"dynamodb bad table name", func() error {
			_, err := dynamodb.NewFromConfig(ts.Cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("a b")})
			return err
		}, "ValidationException"},
		{"dynamodb missing table", func() error {
			_, err := dynamodb.NewFromConfig(ts.Cfg).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException"},
		{"ssm unimplemented", func() error {
			_, err := ssm.NewFromConfig(ts.Cfg).ListDocuments(ctx, &ssm.ListDocumentsInput{})
			return err
		}, "UnknownOperationException"},
		{"backup unimplemented", func() error {
			_, err := backup.NewFromConfig(ts.Cfg).ListBackupPlanTemplates(ctx, &backup.ListBackupPlanTemplatesInput{})
			return err
		}, "UnknownOperationException"},
	}
	for _, c := range checks {
		err := c.call()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if code := apiCode(t, err); code != c.code {
			t.Errorf("%s: code %q, want %q (%v)", c.name, code, c.code, err)
		}
	}
}

// TestRobustnessPanicRecovery installs a handler that panics and checks
// that the client gets an InternalError in its protocol's shape, that the
// panic is logged and that the simulator keeps serving.
func TestRobustnessPanicRecovery(t *testing.T) {
	var logged bytes.Buffer
	var mu sync.Mutex
	ts := newTestSim(t, Options{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))})
	queryServices["sns"].actions["SimulatorTestPanic"] = func(*Sim, *request, params, *xmlWriter) error { panic("boom") }
	jsonServices["dynamodb"].actions["SimulatorTestPanic"] = func(*Sim, *request, []byte) (any, error) { panic("boom") }
	t.Cleanup(func() {
		delete(queryServices["sns"].actions, "SimulatorTestPanic")
		delete(jsonServices["dynamodb"].actions, "SimulatorTestPanic")
	})
	for _, tc := range []struct {
		service, target, body string
		shape                 errorShape
	}{
		{"sns", "", "Action=SimulatorTestPanic&Version=2010-03-31", shapeQuery},
		{"dynamodb", "DynamoDB_20120810.SimulatorTestPanic", "{}", shapeJSON},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/", strings.NewReader(tc.body))
		req.Header.Set("Authorization", sigv4(tc.service))
		if tc.target != "" {
			req.Header.Set("X-Amz-Target", tc.target)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("%s: status %d, want 500", tc.service, resp.StatusCode)
		}
		if code, err := errorCode(tc.shape, body); err != nil || code != "InternalError" {
			t.Errorf("%s: code %q, %v", tc.service, code, err)
		}
	}
	mu.Lock()
	log := logged.String()
	mu.Unlock()
	if strings.Count(log, "panic serving a request") != 2 || !strings.Contains(log, "boom") {
		t.Errorf("log = %s", log)
	}
	// The mutex was released: the simulator still serves.
	if _, err := sns.NewFromConfig(ts.Cfg).ListTopics(context.Background(), &sns.ListTopicsInput{}); err != nil {
		t.Fatalf("after a panic: %v", err)
	}
	calls := ts.Calls()
	if n := len(calls); n < 3 || calls[0].ErrorCode != "InternalError" || calls[0].Status != 500 {
		t.Errorf("calls = %+v", calls)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ---- fuzzing --------------------------------------------------------------

// fuzzSim is a simulator for fuzzing: throttling off, panics logged to
// the test through a flag.
func fuzzSim(f *testing.F) *Sim {
	s, err := New(Options{Throttle: Throttle{Disabled: true}})
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// checkResponse asserts that a response is a success with a well-formed
// body or an error of the protocol's shape, and never a 500.
func checkResponse(t *testing.T, shape errorShape, rec *httptest.ResponseRecorder, in string) {
	t.Helper()
	body := rec.Body.Bytes()
	switch {
	case rec.Code >= 500:
		t.Fatalf("status %d for %q: %s", rec.Code, in, body)
	case rec.Code < 300:
		if shape == shapeJSON {
			if len(body) > 0 && !json.Valid(body) {
				t.Fatalf("success with invalid JSON for %q: %s", in, body)
			}
			return
		}
		var v struct {
			XMLName xml.Name
		}
		if err := xml.Unmarshal(body, &v); err != nil || !strings.HasSuffix(v.XMLName.Local, "Response") {
			t.Fatalf("success with a bad XML body for %q (%v): %.300s", in, err, body)
		}
	default:
		if _, err := errorCode(shape, body); err != nil {
			t.Fatalf("status %d for %q: %v", rec.Code, in, err)
		}
	}
}

func FuzzQuery(f *testing.F) {
	s := fuzzSim(f)
	names := slices.Sorted(maps.Keys(queryServices))
	for i, name := range names {
		q := queryServices[name]
		for _, action := range slices.Sorted(maps.Keys(q.actions)) {
			f.Add(uint8(i), "Action="+action+"&Version="+q.version)
			f.Add(uint8(i), "Action="+action+"&Version="+q.version+"&MaxResults=x&MaxRecords=-1&NextToken=%00&InstanceId.1=i-&Filter.1.Name=&Filter.1.Value.1=")
		}
		f.Add(uint8(i), "Action=Nope")
		f.Add(uint8(i), "Action=\xb4\x01\uffff")
		f.Add(uint8(i), "%%%")
		f.Add(uint8(i), "")
	}
	f.Fuzz(func(t *testing.T, svc uint8, body string) {
		name := names[int(svc)%len(names)]
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Authorization", sigv4(name))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkResponse(t, shapeOf(name), rec, name+": "+body)
	})
}

func FuzzJSON(f *testing.F) {
	s := fuzzSim(f)
	names := slices.Sorted(maps.Keys(jsonServices))
	for i, name := range names {
		for _, action := range slices.Sorted(maps.Keys(jsonServices[name].actions)) {
			for _, body := range []string{"{}", "null", `{"TableName":"t","Key":{"pk":{"S":"x"}}}`, `{"InstanceIds":["i-0"],"CommandId":"c"}`,
				`{"TableName":"t","ConditionExpression":"a = :v AND (","ExpressionAttributeValues":{":v":{"N":"1"}}}`} {
				f.Add(uint8(i), action, []byte(body))
			}
		}
		f.Add(uint8(i), "Nope", []byte("{"))
	}
	f.Fuzz(func(t *testing.T, svc uint8, action string, body []byte) {
		name := names[int(svc)%len(names)]
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Authorization", sigv4(name))
		req.Header.Set("X-Amz-Target", jsonServices[name].targetPrefix+"."+action)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkResponse(t, shapeJSON, rec, name+"."+action+": "+string(body))
	})
}

// FuzzDynamoDBExpressions feeds arbitrary condition and update expressions
// through PutItem and UpdateItem on a real table.
func FuzzDynamoDBExpressions(f *testing.F) {
	s := fuzzSim(f)
	serve := func(action, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Authorization", sigv4("dynamodb"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+action)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve("CreateTable", `{"TableName":"tbl","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}`); rec.Code != 200 {
		f.Fatalf("CreateTable: %s", rec.Body)
	}
	for _, seed := range [][2]string{
		{"attribute_not_exists(pk) OR #e < :n", "SET #e = :n, l = list_append(if_not_exists(l, :l), :l)"},
		{"NOT (a BETWEEN :n AND :n) AND size(l) > :n", "REMOVE a, l[0] ADD c :n"},
		{"#e IN (:n, :s) OR begins_with(s, :s) OR contains(l, :n)", "SET c = c - :n DELETE ss :ss"},
		{"m.x[1].y <> :s", "SET m.x[1].y = :s"},
		{"((((", "SET = :n"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, condition, update string) {
		values := `{":n":{"N":"1"},":s":{"S":"x"},":l":{"L":[{"N":"2"}]},":ss":{"SS":["a"]}}`
		ce, _ := json.Marshal(condition)
		ue, _ := json.Marshal(update)
		put := `{"TableName":"tbl","Item":{"pk":{"S":"k"},"a":{"N":"3"},"l":{"L":[]},"m":{"M":{"x":{"L":[{"M":{}},{"M":{"y":{"S":"z"}}}]}}}},` +
			`"ConditionExpression":` + string(ce) + `,"ExpressionAttributeNames":{"#e":"expiresAt"},"ExpressionAttributeValues":` + values + `}`
		checkResponse(t, shapeJSON, serve("PutItem", put), "PutItem "+condition)
		upd := `{"TableName":"tbl","Key":{"pk":{"S":"k"}},"UpdateExpression":` + string(ue) + `,"ConditionExpression":` + string(ce) +
			`,"ExpressionAttributeNames":{"#e":"expiresAt"},"ExpressionAttributeValues":` + values + `,"ReturnValues":"ALL_NEW"}`
		checkResponse(t, shapeJSON, serve("UpdateItem", upd), "UpdateItem "+update+" IF "+condition)
	})
}

func FuzzREST(f *testing.F) {
	s := fuzzSim(f)
	methods := []string{"GET", "PUT", "POST", "DELETE"}
	for _, rs := range restServices {
		for _, rt := range rs.routes {
			path := "/" + strings.Join(rt.pattern, "/")
			path = strings.NewReplacer("{", "", "}", "").Replace(path)
			f.Add(uint8(slices.Index(methods, rt.method)), path, "{}")
			f.Add(uint8(slices.Index(methods, rt.method)), path, `{"BackupVaultName":5}`)
		}
	}
	f.Add(uint8(0), "/backup-jobs/%zz", "")
	f.Fuzz(func(t *testing.T, method uint8, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "/_sim") {
			path = "/backup-" + path
		}
		u, err := url.Parse(path)
		if err != nil {
			u = &url.URL{Path: path}
		}
		req := &http.Request{Method: methods[int(method)%len(methods)], URL: u, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		req.Header.Set("Authorization", sigv4("backup"))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		checkResponse(t, shapeJSON, rec, req.Method+" "+path+" "+body)
	})
}
