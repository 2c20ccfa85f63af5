package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// snsAPI is the one SNS call the engine makes; *sns.Client satisfies it.
type snsAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNS publishes chain links to a workflow's SNS topic, which invokes the
// workflow's Lambda with each link. The link is the message, as JSON; its
// workflow and run are also message attributes, for subscription filters.
type SNS struct {
	client snsAPI
	topic  string
}

// NewSNS returns a Publisher for the topic with the given ARN.
func NewSNS(client snsAPI, topicARN string) *SNS {
	return &SNS{client: client, topic: topicARN}
}

// Publish sends link to the topic.
func (p *SNS) Publish(ctx context.Context, link Link) error {
	body, err := json.Marshal(link)
	if err != nil {
		return fmt.Errorf("encoding link: %w", err)
	}
	_, err = p.client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(p.topic),
		Message:  aws.String(string(body)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"workflow": {DataType: aws.String("String"), StringValue: aws.String(link.Workflow)},
			"run":      {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(link.Run, 10))},
		},
	})
	if err != nil {
		return fmt.Errorf("publishing link to sns: %w", err)
	}
	return nil
}

// DecodeLink reads a link from an SNS message body.
func DecodeLink(message string) (Link, error) {
	var l Link
	if err := json.Unmarshal([]byte(message), &l); err != nil {
		return Link{}, fmt.Errorf("decoding link: %w", err)
	}
	if l.Workflow == "" || l.Run == 0 {
		return Link{}, errors.New("decoding link: workflow or run missing")
	}
	return l, nil
}

// SNSAlerter announces dead items on the alert topic, one message per batch
// of dead items, for the operators' e-mail or pager subscription.
type SNSAlerter struct {
	client snsAPI
	topic  string
}

// NewSNSAlerter returns an Alerter for the topic with the given ARN.
func NewSNSAlerter(client snsAPI, topicARN string) *SNSAlerter {
	return &SNSAlerter{client: client, topic: topicARN}
}

// Alert publishes the dead items as a JSON array.
func (a *SNSAlerter) Alert(ctx context.Context, dead []DeadItem) error {
	if len(dead) == 0 {
		return nil
	}
	body, err := json.Marshal(dead)
	if err != nil {
		return fmt.Errorf("encoding dead items: %w", err)
	}
	subject := fmt.Sprintf("citylink %s: %d item(s) dead in run %d", dead[0].Workflow, len(dead), dead[0].Run)
	_, err = a.client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(a.topic),
		Subject:  aws.String(subject),
		Message:  aws.String(string(body)),
	})
	if err != nil {
		return fmt.Errorf("publishing alert to sns: %w", err)
	}
	return nil
}
