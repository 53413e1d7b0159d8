package awssim

// This file simulates Amazon SNS (Query protocol, version 2010-03-31):
// topics, email subscriptions and Publish. Every published message is kept
// so that GET /_sim/state shows what the workflow notified.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const snsNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"

// snsMaxMessage is the largest message (body plus attributes) SNS accepts.
const snsMaxMessage = 256 * 1024

// snsStore holds the SNS topics and every message published to them.
type snsStore struct {
	topics   map[string]*snsTopic // by ARN
	messages []snsMessage
}

type snsTopic struct {
	ARN           string             `json:"topicArn"`
	Name          string             `json:"name"`
	Attributes    map[string]string  `json:"attributes,omitempty"`
	Tags          map[string]string  `json:"tags,omitempty"`
	Subscriptions []*snsSubscription `json:"subscriptions,omitempty"`
	Created       time.Time          `json:"created"`
}

type snsSubscription struct {
	ARN      string `json:"subscriptionArn"`
	Protocol string `json:"protocol"`
	Endpoint string `json:"endpoint"`
	// Pending is true until the endpoint confirms (email never does in
	// the simulator; the console shows "pending confirmation").
	Pending bool `json:"pending"`
}

// snsMessage is one accepted Publish call.
type snsMessage struct {
	MessageID  string                  `json:"messageId"`
	TopicArn   string                  `json:"topicArn"`
	Subject    string                  `json:"subject,omitempty"`
	Message    string                  `json:"message"`
	Attributes map[string]snsAttrValue `json:"messageAttributes,omitempty"`
	Time       time.Time               `json:"time"`
}

// PublishedMessage is a message a topic accepted; Attributes holds the
// string value of each message attribute.
type PublishedMessage struct {
	MessageID, TopicArn, Subject, Message string
	Attributes                            map[string]string
	Time                                  time.Time
}

// Published returns the messages the topics accepted, oldest first: what
// a subscriber would have received (SNS has no API to read a topic back).
func (s *Sim) Published() []PublishedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PublishedMessage, 0, len(s.sns.messages))
	for _, m := range s.sns.messages {
		p := PublishedMessage{MessageID: m.MessageID, TopicArn: m.TopicArn, Subject: m.Subject, Message: m.Message, Attributes: map[string]string{}, Time: m.Time}
		for k, v := range m.Attributes {
			p.Attributes[k] = v.StringValue
		}
		out = append(out, p)
	}
	return out
}

type snsAttrValue struct {
	DataType    string `json:"dataType"`
	StringValue string `json:"stringValue,omitempty"`
	BinaryValue []byte `json:"binaryValue,omitempty"`
}

func init() {
	registerStore("sns", func(s *Sim) {
		s.sns = snsStore{topics: map[string]*snsTopic{}}
	}, func(s *Sim) any {
		topics := make([]*snsTopic, 0, len(s.sns.topics))
		for _, k := range slices.Sorted(maps.Keys(s.sns.topics)) {
			topics = append(topics, s.sns.topics[k])
		}
		msgs := s.sns.messages
		if msgs == nil {
			msgs = []snsMessage{}
		}
		return map[string]any{"topics": topics, "messages": msgs}
	})
	registerQuery("sns", "2010-03-31", snsNamespace, false, map[string]queryHandler{
		"CreateTopic":              snsCreateTopic,
		"DeleteTopic":              snsDeleteTopic,
		"ListTopics":               snsListTopics,
		"GetTopicAttributes":       snsGetTopicAttributes,
		"Publish":                  snsPublish,
		"Subscribe":                snsSubscribe,
		"ListSubscriptionsByTopic": snsListSubscriptionsByTopic,
	})
}

// snsInvalid returns SNS's InvalidParameter error.
func snsInvalid(format string, args ...any) *apiError {
	return errorf("InvalidParameter", "Invalid parameter: "+format, args...)
}

// snsAttrMap reads a Query map such as Attributes.entry.N.key/value.
func snsAttrMap(p params, name, keyTag, valueTag string) map[string]string {
	var out map[string]string
	for _, e := range p.structs(name + ".entry") {
		if out == nil {
			out = map[string]string{}
		}
		out[e.str(keyTag)] = e.str(valueTag)
	}
	return out
}

func snsTags(p params) (map[string]string, error) {
	var out map[string]string
	for _, t := range p.structs("Tags.member") {
		k := t.str("Key")
		if k == "" || len(k) > 128 {
			return nil, snsInvalid("Tags: a tag key must be 1 to 128 characters")
		}
		if len(t.str("Value")) > 256 {
			return nil, snsInvalid("Tags: a tag value must be at most 256 characters")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = t.str("Value")
	}
	if len(out) > 50 {
		return nil, snsInvalid("Tags: at most 50 tags")
	}
	return out, nil
}

func validTopicName(name string) bool {
	base := strings.TrimSuffix(name, ".fifo")
	if base == "" || len(name) > 256 {
		return false
	}
	for _, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func snsCreateTopic(s *Sim, r *request, p params, w *xmlWriter) error {
	name, err := p.required("Name", false)
	if err != nil {
		return err
	}
	if !validTopicName(name) {
		return snsInvalid("Topic Name")
	}
	attrs := snsAttrMap(p, "Attributes", "key", "value")
	fifo := strings.EqualFold(attrs["FifoTopic"], "true")
	if fifo != strings.HasSuffix(name, ".fifo") {
		return snsInvalid("Topic Name: a FIFO topic name must end with .fifo and set FifoTopic=true")
	}
	tags, err := snsTags(p)
	if err != nil {
		return err
	}
	arn := s.arn("sns", name)
	if err := s.authorize(r, Resource{ARN: arn, Tags: tags}); err != nil {
		return err
	}
	if t, ok := s.sns.topics[arn]; ok {
		// CreateTopic is idempotent, but not with different tags.
		if len(tags) > 0 && !maps.Equal(tags, t.Tags) {
			return snsInvalid("Tags: Topic already exists with different tags")
		}
		w.elem("TopicArn", arn)
		return nil
	}
	s.sns.topics[arn] = &snsTopic{ARN: arn, Name: name, Attributes: attrs, Tags: tags, Created: s.clock.now}
	w.elem("TopicArn", arn)
	return nil
}

// topic returns the topic with the ARN, or NotFound.
func (s *Sim) topic(arn string) (*snsTopic, error) {
	t, ok := s.sns.topics[arn]
	if !ok {
		return nil, &apiError{Status: http.StatusNotFound, Code: "NotFound", Message: "Topic does not exist"}
	}
	return t, nil
}

func validTopicARN(arn string) bool {
	parts := strings.Split(arn, ":")
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "sns" && validTopicName(parts[5])
}

func snsDeleteTopic(s *Sim, r *request, p params, w *xmlWriter) error {
	arn, err := p.required("TopicArn", false)
	if err != nil {
		return err
	}
	if !validTopicARN(arn) {
		return snsInvalid("TopicArn")
	}
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return err
	}
	// Deleting a topic that does not exist is not an error.
	delete(s.sns.topics, arn)
	return nil
}

const snsPageSize = 100

func snsListTopics(s *Sim, r *request, p params, w *xmlWriter) error {
	arns := slices.Sorted(maps.Keys(s.sns.topics))
	start := 0
	if tok := p.str("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(arns) {
			return snsInvalid("NextToken")
		}
		start = n
	}
	end := min(start+snsPageSize, len(arns))
	w.open("Topics")
	for _, a := range arns[start:end] {
		w.open("member")
		w.elem("TopicArn", a)
		w.close("member")
	}
	w.close("Topics")
	if end < len(arns) {
		w.elem("NextToken", strconv.Itoa(end))
	}
	return nil
}

func snsGetTopicAttributes(s *Sim, r *request, p params, w *xmlWriter) error {
	arn, err := p.required("TopicArn", false)
	if err != nil {
		return err
	}
	if !validTopicARN(arn) {
		return snsInvalid("TopicArn")
	}
	t, err := s.topic(arn)
	if err != nil {
		return err
	}
	attrs := map[string]string{
		"TopicArn":                t.ARN,
		"Owner":                   s.opts.AccountID,
		"DisplayName":             "",
		"SubscriptionsConfirmed":  "0",
		"SubscriptionsPending":    "0",
		"SubscriptionsDeleted":    "0",
		"EffectiveDeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3}}}`,
	}
	confirmed, pending := 0, 0
	for _, sub := range t.Subscriptions {
		if sub.Pending {
			pending++
		} else {
			confirmed++
		}
	}
	attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"] = strconv.Itoa(confirmed), strconv.Itoa(pending)
	maps.Copy(attrs, t.Attributes)
	w.open("Attributes")
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		w.open("entry")
		w.elem("key", k)
		w.elem("value", attrs[k])
		w.close("entry")
	}
	w.close("Attributes")
	return nil
}

// validSubject reports whether a Publish subject is acceptable: ASCII
// printable text that does not start with whitespace, without line breaks,
// at most 100 characters.
func validSubject(subj string) bool {
	if subj == "" || len(subj) > 100 || subj[0] == ' ' {
		return false
	}
	for i := 0; i < len(subj); i++ {
		if subj[i] < 0x20 || subj[i] > 0x7e {
			return false
		}
	}
	return true
}

func snsPublish(s *Sim, r *request, p params, w *xmlWriter) error {
	arn := p.str("TopicArn")
	if arn == "" {
		arn = p.str("TargetArn")
	}
	if arn == "" {
		if p.str("PhoneNumber") != "" {
			return snsInvalid("PhoneNumber: SMS delivery is not simulated")
		}
		return snsInvalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	if !p.has("Message") {
		return errorf("ValidationError", "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null")
	}
	msg := p.str("Message")
	if msg == "" {
		return snsInvalid("Empty message")
	}
	if !validTopicARN(arn) {
		return snsInvalid("TopicArn")
	}
	if p.has("Subject") && !validSubject(p.str("Subject")) {
		return snsInvalid("Subject")
	}
	if p.str("MessageStructure") != "" {
		if p.str("MessageStructure") != "json" {
			return snsInvalid("MessageStructure")
		}
		var m map[string]any
		if json.Unmarshal([]byte(msg), &m) != nil {
			return snsInvalid("Message Structure - JSON message body failed to parse")
		}
		if _, ok := m["default"].(string); !ok {
			return snsInvalid("Message Structure - No default entry in JSON message body")
		}
	}
	size := len(msg)
	var attrs map[string]snsAttrValue
	for _, e := range p.structs("MessageAttributes.entry") {
		name := e.str("Name")
		v := e.sub("Value")
		if name == "" || len(name) > 256 {
			return snsInvalid("MessageAttributes: the attribute name must be 1 to 256 characters")
		}
		a := snsAttrValue{DataType: v.str("DataType"), StringValue: v.str("StringValue")}
		base, _, _ := strings.Cut(a.DataType, ".")
		switch base {
		case "String", "Number":
			if !v.has("StringValue") {
				return snsInvalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
					return snsInvalid("Could not cast message attribute '%s' value to number.", name)
				}
			}
		case "Binary":
			b, err := base64.StdEncoding.DecodeString(v.str("BinaryValue"))
			if err != nil || len(b) == 0 {
				return snsInvalid("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, a.DataType)
			}
			a.BinaryValue = b
		default:
			return snsInvalid("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
		if attrs == nil {
			attrs = map[string]snsAttrValue{}
		}
		attrs[name] = a
		size += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	if len(attrs) > 10 {
		return snsInvalid("MessageAttributes: at most 10 message attributes")
	}
	if size > snsMaxMessage {
		return snsInvalid("Message too long")
	}
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return err
	}
	t, err := s.topic(arn)
	if err != nil {
		return err
	}
	if strings.HasSuffix(t.Name, ".fifo") {
		if p.str("MessageGroupId") == "" {
			return snsInvalid("The MessageGroupId parameter is required for FIFO topics")
		}
		if p.str("MessageDeduplicationId") == "" && !strings.EqualFold(t.Attributes["ContentBasedDeduplication"], "true") {
			return snsInvalid("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
	} else if p.str("MessageGroupId") != "" && p.str("MessageDeduplicationId") != "" {
		return snsInvalid("MessageDeduplicationId: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}
	s.seq++
	id := fmt.Sprintf("%08x-%04x-5%03x-9%03x-%012x", uint32(s.seq*2246822519), s.seq&0xffff, s.seq&0xfff, (s.seq>>12)&0xfff, s.seq)
	s.sns.messages = append(s.sns.messages, snsMessage{
		MessageID: id, TopicArn: t.ARN, Subject: p.str("Subject"), Message: msg, Attributes: attrs, Time: s.clock.now,
	})
	w.elem("MessageId", id)
	return nil
}

func snsSubscribe(s *Sim, r *request, p params, w *xmlWriter) error {
	arn, err := p.required("TopicArn", false)
	if err != nil {
		return err
	}
	proto, err := p.required("Protocol", false)
	if err != nil {
		return err
	}
	endpoint := p.str("Endpoint")
	if _, _, err := p.boolean("ReturnSubscriptionArn"); err != nil {
		return snsInvalid("ReturnSubscriptionArn")
	}
	if !validTopicARN(arn) {
		return snsInvalid("TopicArn")
	}
	switch proto {
	case "email", "email-json":
		if at := strings.IndexByte(endpoint, '@'); at <= 0 || at == len(endpoint)-1 {
			return snsInvalid("Email address")
		}
	case "http", "https", "sqs", "lambda", "sms", "application", "firehose":
		if endpoint == "" {
			return snsInvalid("Endpoint")
		}
	default:
		return snsInvalid("Invalid protocol type: %s", proto)
	}
	if err := s.authorize(r, Resource{ARN: arn}); err != nil {
		return err
	}
	t, err := s.topic(arn)
	if err != nil {
		return err
	}
	for _, sub := range t.Subscriptions {
		if sub.Protocol == proto && sub.Endpoint == endpoint {
			w.elem("SubscriptionArn", subscriptionARNOut(sub, p))
			return nil
		}
	}
	// Only email needs a human to confirm; the simulator confirms the
	// machine endpoints at once.
	sub := &snsSubscription{
		ARN:      arn + ":" + strings.TrimPrefix(s.newID("sub"), "sub-"),
		Protocol: proto, Endpoint: endpoint,
		Pending: proto == "email" || proto == "email-json",
	}
	t.Subscriptions = append(t.Subscriptions, sub)
	w.elem("SubscriptionArn", subscriptionARNOut(sub, p))
	return nil
}

func subscriptionARNOut(sub *snsSubscription, p params) string {
	if sub.Pending {
		if b, _, _ := p.boolean("ReturnSubscriptionArn"); !b {
			return "pending confirmation"
		}
	}
	return sub.ARN
}

func snsListSubscriptionsByTopic(s *Sim, r *request, p params, w *xmlWriter) error {
	arn, err := p.required("TopicArn", false)
	if err != nil {
		return err
	}
	t, err := s.topic(arn)
	if err != nil {
		return err
	}
	w.open("Subscriptions")
	for _, sub := range t.Subscriptions {
		w.open("member")
		subARN := sub.ARN
		if sub.Pending {
			subARN = "PendingConfirmation"
		}
		w.elem("SubscriptionArn", subARN)
		w.elem("Owner", s.opts.AccountID)
		w.elem("Protocol", sub.Protocol)
		w.elem("Endpoint", sub.Endpoint)
		w.elem("TopicArn", t.ARN)
		w.close("member")
	}
	w.close("Subscriptions")
	return nil
}
