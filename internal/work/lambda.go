package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// lambdaEvent is the part of a Lambda event that tells its kind: SNS
// notifications carry Records, EventBridge (Scheduler) events a source.
type lambdaEvent struct {
	Records []events.SNSEventRecord `json:"Records"`
	Source  string                  `json:"source"`
}

// Handle is a workflow Lambda's handler, for lambda.Start(engine.Handle): the
// same binary serves both phases. An SNS event carries chain links, each of
// which is worked; any other event (the EventBridge schedule) is a tick that
// rescues and plans.
func (e *Engine) Handle(ctx context.Context, raw json.RawMessage) error {
	var ev lambdaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decoding lambda event: %w", err)
	}
	if len(ev.Records) == 0 {
		_, _, err := e.Tick(ctx)
		return err
	}
	var errs []error
	for _, rec := range ev.Records {
		if rec.EventSource != "aws:sns" {
			errs = append(errs, fmt.Errorf("record from %q: not an SNS notification", rec.EventSource))
			continue
		}
		link, err := DecodeLink(rec.SNS.Message)
		if err != nil {
			errs = append(errs, fmt.Errorf("message %s: %w", rec.SNS.MessageID, err))
			continue
		}
		if err := e.Work(ctx, link); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
