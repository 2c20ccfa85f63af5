package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// Action is what a scheduled invocation asks a workflow's Lambda to do. The
// EventBridge Scheduler schedules of a workflow pass it as their target's
// input, verbatim: {"action":"plan"} on the workflow's own schedule (8 h,
// 24 h, ...) and {"action":"rescue"} on the rescue schedule, every few
// minutes, so that a lost chain or an interrupted plan waits minutes, not
// until the next plan.
type Action string

// The actions a schedule may ask for.
const (
	// ActionPlan rescues, then plans a run or continues the planning one
	// (Engine.Tick). A plan that stops before the invocation's deadline
	// succeeds; the next tick continues it.
	ActionPlan Action = "plan"
	// ActionRescue only rescues (Engine.Rescue): expired leases, broken
	// chains, runs with nothing left to do, and a planning run nobody
	// holds, which it continues; it opens no run.
	ActionRescue Action = "rescue"
)

// Invocation is the input of a scheduled invocation: the action, and
// optionally the workflow the schedule was made for, which the handler
// checks, so a schedule pointed at the wrong function fails loudly.
type Invocation struct {
	Action   Action `json:"action"`
	Workflow string `json:"workflow,omitempty"`
}

// lambdaEvent is every shape a workflow Lambda accepts, decoded at once:
// SNS notifications carry Records; a schedule's input an action.
type lambdaEvent struct {
	Records []events.SNSEventRecord `json:"Records"`
	Invocation
	// DetailType is set by EventBridge envelopes, which are refused with
	// a hint: a schedule must pass an explicit action.
	DetailType string `json:"detail-type"`
}

// Handle is a workflow Lambda's handler, for lambda.Start(engine.Handle):
// the same binary serves every phase, routed on an explicit input. An SNS
// event carries chain links, each of which is worked; {"action":"plan"}
// rescues and plans; {"action":"rescue"} rescues. Any other input is an
// error that says what was expected, and does nothing.
func (e *Engine) Handle(ctx context.Context, raw json.RawMessage) error {
	var ev lambdaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decoding lambda input: %w", err)
	}
	if len(ev.Records) > 0 {
		return e.handleSNS(ctx, ev.Records)
	}
	if ev.Workflow != "" && ev.Workflow != e.cfg.Workflow {
		return fmt.Errorf("lambda input for workflow %q reached %q", ev.Workflow, e.cfg.Workflow)
	}
	switch ev.Action {
	case ActionPlan:
		_, _, err := e.Tick(ctx)
		return err
	case ActionRescue:
		_, err := e.Rescue(ctx)
		return err
	case "":
		if ev.DetailType != "" {
			return fmt.Errorf("lambda input is an EventBridge %q event without an action: give the schedule the input {\"action\":%q} or {\"action\":%q}",
				ev.DetailType, ActionPlan, ActionRescue)
		}
		return fmt.Errorf("lambda input has neither SNS records nor an action: want {\"action\":%q}, {\"action\":%q} or an SNS event",
			ActionPlan, ActionRescue)
	default:
		return fmt.Errorf("lambda input asks for action %q: want %q or %q", ev.Action, ActionPlan, ActionRescue)
	}
}

// handleSNS works the chain link of each SNS record.
func (e *Engine) handleSNS(ctx context.Context, records []events.SNSEventRecord) error {
	var errs []error
	for _, rec := range records {
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
