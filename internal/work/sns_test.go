package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/citylink/citylink/internal/awstest"
)

// snsDelivery is the JSON body SNS posts to an HTTP subscription.
type snsDelivery struct {
	Type              string
	MessageId         string
	TopicArn          string
	Subject           string
	Message           string
	Timestamp         time.Time
	MessageAttributes map[string]any
}

// inbox is an HTTP subscription endpoint that queues what SNS delivers and
// returns at once: goaws delivers inside Publish, so an endpoint that worked
// links itself would nest every link of a chain inside the first Publish.
type inbox struct {
	mu       sync.Mutex
	messages []snsDelivery
	confirms int
}

func (b *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d snsDelivery
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("x-amz-sns-message-type") != d.Type {
		http.Error(w, "message type header and body differ", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch d.Type {
	case "SubscriptionConfirmation":
		b.confirms++
	case "Notification":
		b.messages = append(b.messages, d)
	}
}

// take removes and returns the queued notifications of a topic.
func (b *inbox) take(topicARN string) []snsDelivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	var got, rest []snsDelivery
	for _, m := range b.messages {
		if m.TopicArn == topicARN {
			got = append(got, m)
		} else {
			rest = append(rest, m)
		}
	}
	b.messages = rest
	return got
}

// lambdaSNSEvent wraps a delivery the way SNS hands it to a Lambda function.
func lambdaSNSEvent(t *testing.T, d snsDelivery) json.RawMessage {
	t.Helper()
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion: "1.0", EventSource: "aws:sns", EventSubscriptionArn: d.TopicArn + ":sub",
		SNS: events.SNSEntity{
			Type: d.Type, MessageID: d.MessageId, TopicArn: d.TopicArn, Subject: d.Subject,
			Message: d.Message, Timestamp: d.Timestamp, MessageAttributes: d.MessageAttributes,
		},
	}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func subscribe(t *testing.T, ctx context.Context, client *sns.Client, name, endpoint string) string {
	t.Helper()
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("creating topic %s on goaws: %v", name, err)
	}
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(endpoint),
	}); err != nil {
		t.Fatalf("subscribing to %s: %v", name, err)
	}
	return aws.ToString(topic.TopicArn)
}

// TestSNSChainsThroughLambdaHandler runs a whole workflow over SNS: the
// scheduled event plans, the links travel through goaws to an HTTP endpoint,
// and each is handed to the Lambda handler as an SNS event, which works it
// and publishes the next; a dead item is announced on the alert topic.
func TestSNSChainsThroughLambdaHandler(t *testing.T) {
	ctx := context.Background()
	goaws := awstest.StartSNS()
	defer goaws.Close()
	client := awstest.SNSClient(goaws.Endpoint)
	box := &inbox{}
	endpoint := httptest.NewServer(box)
	defer endpoint.Close()
	links := subscribe(t, ctx, client, "citylink-work-links", endpoint.URL)
	alerts := subscribe(t, ctx, client, "citylink-work-alerts", endpoint.URL)
	box.mu.Lock()
	confirms := box.confirms
	box.mu.Unlock()
	if confirms != 2 {
		t.Fatalf("endpoint saw %d subscription confirmations, want 2", confirms)
	}

	items := makeItems("pole", 250)
	h := newHarness(t, &pageSource{items: items, pageSize: 100}, func(c *Config) {
		c.Publisher = NewSNS(client, links)
		c.Alerter = NewSNSAlerter(client, alerts)
		c.Chains = 3
		c.BatchSize = 10
	})
	h.sink.decide = func(_ context.Context, key string, _ int) *Outcome {
		if key == "pole-17" {
			o := Permanent(errors.New("422 unknown pole type"))
			return &o
		}
		return nil
	}

	scheduled := scheduleInput(t, "testdata/scheduler-plan.json", h.engine.Workflow())
	// The handler runs as lambda.Start would run it.
	handler := lambda.NewHandler(h.engine.Handle)
	if _, err := handler.Invoke(ctx, scheduled); err != nil {
		t.Fatalf("handling the scheduled event: %v", err)
	}
	// goaws delivers inside Publish, so the plan's links are queued already.
	queue := box.take(links)
	if len(queue) != 3 {
		t.Fatalf("%d links delivered after the plan, want 3", len(queue))
	}
	first, err := DecodeLink(queue[0].Message)
	if err != nil {
		t.Fatal(err)
	}
	if first.Workflow != h.engine.Workflow() || first.Seq != 0 || first.Run == 0 {
		t.Fatalf("first link %+v", first)
	}
	attr, _ := queue[0].MessageAttributes["workflow"].(map[string]any)
	if attr["Value"] != h.engine.Workflow() {
		t.Fatalf("workflow message attribute = %v, want %s", queue[0].MessageAttributes, h.engine.Workflow())
	}

	handled := 0
	for len(queue) > 0 {
		d := queue[0]
		queue = append(queue[1:], box.take(links)...)
		if _, err := handler.Invoke(ctx, lambdaSNSEvent(t, d)); err != nil {
			t.Fatalf("handling link %s: %v", d.Message, err)
		}
		handled++
	}
	if handled < 25 {
		t.Fatalf("handled %d links for 25 batches", handled)
	}
	if s := runState(t, h.pool, first.Run); s != "partial" {
		t.Fatalf("run is %s, want partial (one dead item)", s)
	}
	for _, it := range items {
		if _, effects := h.sink.counts(it.Key); effects != 1 && it.Key != "pole-17" {
			t.Fatalf("%s had %d effects, want 1", it.Key, effects)
		}
	}

	got := box.take(alerts)
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1", len(got))
	}
	var dead []DeadItem
	if err := json.Unmarshal([]byte(got[0].Message), &dead); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Key != "pole-17" || dead[0].Error != "422 unknown pole type" || dead[0].Run != first.Run {
		t.Fatalf("alert %+v", dead)
	}
	if !strings.Contains(got[0].Subject, "1 item(s) dead") {
		t.Fatalf("alert subject %q", got[0].Subject)
	}
}

func TestHandleRejectsForeignRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &pageSource{}, nil)
	err := h.engine.Handle(context.Background(), json.RawMessage(`{"Records":[{"EventSource":"aws:sqs","body":"{}"}]}`))
	if err == nil || !strings.Contains(err.Error(), "not an SNS notification") {
		t.Fatalf("SQS record: %v, want an error", err)
	}
	d := snsDelivery{Type: "Notification", MessageId: "m1", TopicArn: "arn:aws:sns:us-east-1:1:x", Message: `{"workflow":"other","run":1}`}
	if err := h.engine.Handle(context.Background(), lambdaSNSEvent(t, d)); err == nil || !strings.Contains(err.Error(), `link for workflow "other"`) {
		t.Fatalf("link of another workflow: %v, want an error", err)
	}
}

// TestSNSAlerterSplitsLargeAlerts sends more dead items than fit in one SNS
// message and checks they arrive whole, in several messages, each under the
// limit.
func TestSNSAlerterSplitsLargeAlerts(t *testing.T) {
	ctx := context.Background()
	goaws := awstest.StartSNS()
	defer goaws.Close()
	client := awstest.SNSClient(goaws.Endpoint)
	box := &inbox{}
	endpoint := httptest.NewServer(box)
	defer endpoint.Close()
	topic := subscribe(t, ctx, client, "citylink-work-big-alerts", endpoint.URL)

	dead := make([]DeadItem, 300)
	for i := range dead {
		dead[i] = DeadItem{Workflow: "gis-push", Run: 7, ItemID: int64(i + 1), Key: fmt.Sprintf("pole-%d", i),
			Attempts: 3, Error: strings.Repeat("applyEdits failed: 500 ", 100)}
	}
	dead[0].Error = strings.Repeat("x", 10_000)
	if err := NewSNSAlerter(client, topic).Alert(ctx, dead); err != nil {
		t.Fatal(err)
	}
	got := box.take(topic)
	if len(got) < 2 {
		t.Fatalf("%d messages for %d KB of alerts, want them split", len(got), 300*2300/1024)
	}
	var all []DeadItem
	for _, m := range got {
		if len(m.Message) > maxAlertBytes {
			t.Fatalf("message of %d bytes", len(m.Message))
		}
		var part []DeadItem
		if err := json.Unmarshal([]byte(m.Message), &part); err != nil {
			t.Fatal(err)
		}
		all = append(all, part...)
	}
	if len(all) != len(dead) {
		t.Fatalf("%d dead items arrived, want %d", len(all), len(dead))
	}
	for i, d := range all {
		if d.ItemID != int64(i+1) {
			t.Fatalf("item %d arrived as %+v", i, d)
		}
	}
	if len(all[0].Error) > maxAlertError+len("…") {
		t.Fatalf("a 10,000-byte error arrived with %d bytes", len(all[0].Error))
	}
}

// TestSNSAlerterAnnouncesAFailingPlan publishes a plan alert to the alert
// topic through an SNS stand-in: one message naming the workflow, run,
// failures and error, with its long error cut.
func TestSNSAlerterAnnouncesAFailingPlan(t *testing.T) {
	ctx := context.Background()
	goaws := awstest.StartSNS()
	defer goaws.Close()
	client := awstest.SNSClient(goaws.Endpoint)
	box := &inbox{}
	endpoint := httptest.NewServer(box)
	defer endpoint.Close()
	topic := subscribe(t, ctx, client, "citylink-work-plan-alerts", endpoint.URL)

	var pa PlanAlerter = NewSNSAlerter(client, topic)
	f := PlanFailure{Workflow: "gis-pull", Run: 12, Failures: 3, Error: "401 " + strings.Repeat("x", 10_000)}
	if err := pa.AlertPlan(ctx, f); err != nil {
		t.Fatal(err)
	}
	got := box.take(topic)
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	if !strings.Contains(got[0].Subject, "gis-pull: plan of run 12 failed 3 times") {
		t.Fatalf("subject %q", got[0].Subject)
	}
	var back PlanFailure
	if err := json.Unmarshal([]byte(got[0].Message), &back); err != nil {
		t.Fatal(err)
	}
	if back.Workflow != "gis-pull" || back.Run != 12 || back.Failures != 3 || !strings.HasPrefix(back.Error, "401 ") ||
		len(back.Error) > maxAlertError+len("…") {
		t.Fatalf("plan alert arrived as %+v (error of %d bytes)", back, len(back.Error))
	}
}
