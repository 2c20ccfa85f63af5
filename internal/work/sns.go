package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// SNSAlerter announces dead items on the alert topic, for the operators'
// e-mail or pager subscription. Each message is a JSON array of dead items,
// split so that no message nears SNS's 256 KB limit.
type SNSAlerter struct {
	client snsAPI
	topic  string
}

// NewSNSAlerter returns an Alerter for the topic with the given ARN.
func NewSNSAlerter(client snsAPI, topicARN string) *SNSAlerter {
	return &SNSAlerter{client: client, topic: topicARN}
}

const (
	maxAlertBytes = 200 << 10 // per message, well under SNS's 256 KB
	maxAlertError = 4 << 10   // per item's error text
)

// AlertPlan announces a plan that keeps failing.
func (a *SNSAlerter) AlertPlan(ctx context.Context, f PlanFailure) error {
	if len(f.Error) > maxAlertError {
		f.Error = strings.ToValidUTF8(f.Error[:maxAlertError], "") + "…"
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encoding plan failure: %w", err)
	}
	_, err = a.client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(a.topic),
		Subject:  aws.String(fmt.Sprintf("citylink %s: plan of run %d failed %d times", f.Workflow, f.Run, f.Failures)),
		Message:  aws.String(string(b)),
	})
	if err != nil {
		return fmt.Errorf("publishing plan alert to sns: %w", err)
	}
	return nil
}

// Alert publishes the dead items, in as many messages as their size needs.
func (a *SNSAlerter) Alert(ctx context.Context, dead []DeadItem) error {
	var (
		msg   []byte
		n     int
		first DeadItem
		errs  []error
	)
	flush := func() {
		if n == 0 {
			return
		}
		msg = append(msg, ']')
		subject := fmt.Sprintf("citylink %s: %d item(s) dead in run %d", first.Workflow, n, first.Run)
		_, err := a.client.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(a.topic),
			Subject:  aws.String(subject),
			Message:  aws.String(string(msg)),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("publishing alert to sns: %w", err))
		}
		msg, n = nil, 0
	}
	for _, d := range dead {
		if len(d.Error) > maxAlertError {
			d.Error = strings.ToValidUTF8(d.Error[:maxAlertError], "") + "…"
		}
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding dead item: %w", err)
		}
		if n > 0 && len(msg)+len(b)+2 > maxAlertBytes {
			flush()
		}
		if n == 0 {
			msg, first = append(msg, '['), d
		} else {
			msg = append(msg, ',')
		}
		msg = append(msg, b...)
		n++
	}
	flush()
	return errors.Join(errs...)
}
