package awstest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// LinkTopic is a workflow's chain-link topic on a goaws stand-in, with an
// HTTP subscription that queues what goaws delivers for the test to hand
// on: goaws delivers inside Publish, while the function that published is
// still in its invocation, so the test, not the subscription, invokes the
// function with each link.
type LinkTopic struct {
	// ARN is the topic (the function's LINK_TOPIC_ARN); Endpoint is goaws
	// (its AWS_ENDPOINT_URL).
	ARN, Endpoint string

	mu       sync.Mutex
	messages []string
}

// StartLinkTopic starts goaws with the topic name subscribed, for the
// length of the test.
func StartLinkTopic(tb testing.TB, name string) *LinkTopic {
	tb.Helper()
	ctx := context.Background()
	goaws := StartSNS()
	tb.Cleanup(goaws.Close)
	client := SNSClient(goaws.Endpoint)
	l := &LinkTopic{Endpoint: goaws.Endpoint}
	endpoint := httptest.NewServer(l)
	tb.Cleanup(endpoint.Close)
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		tb.Fatal(err)
	}
	l.ARN = aws.ToString(topic.TopicArn)
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(endpoint.URL)}); err != nil {
		tb.Fatal(err)
	}
	return l
}

func (l *LinkTopic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d struct{ Type, Message string }
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if d.Type == "Notification" {
		l.mu.Lock()
		l.messages = append(l.messages, d.Message)
		l.mu.Unlock()
	}
}

// Take returns the messages delivered since the last Take.
func (l *LinkTopic) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.messages
	l.messages = nil
	return m
}
