package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Watermark is how far a workflow has read its source: opaque JSON that only
// the Source understands, such as {"edited":"2026-11-23T10:00:00Z","oid":4711}
// or an ArcGIS server generation. The engine stores it and hands it back; a
// nil Watermark means "from the beginning".
type Watermark json.RawMessage

// Item is one change read from a source: the source's key for the thing that
// changed (an asset id, an alarm id) and the payload the sink applies.
type Item struct {
	// ID is the engine's id of the item; zero until the item is planned.
	ID int64
	// Key is the source key; operators look items up by it.
	Key string
	// Payload is the change, as JSON.
	Payload json.RawMessage
	// Attempts counts the runs in which the item was already tried; an item
	// carried over from a failed run starts above zero.
	Attempts int
}

// Page is one page of a source's changes.
type Page struct {
	// Items are the changes on this page.
	Items []Item
	// Next is the watermark that follows these items: the engine passes it to
	// the next call, and stores it once a page reports More == false.
	Next Watermark
	// More reports whether another page follows.
	More bool
}

// Source reads a workflow's changes page by page, so that a plan never holds
// more than one page of a large source in memory.
type Source interface {
	// Changes returns the page of changes that follows after. The engine
	// calls it with the stored watermark first, then with each page's Next
	// until a page reports More == false. Consecutive calls of one plan may
	// come from different invocations (a plan cut off by its Lambda's
	// deadline continues in the next one, in another process), so after
	// must be all a Source needs to continue: no state kept between calls.
	// A key that comes again in a later page of the same plan updates its
	// item with the later value; it never makes a second item.
	Changes(ctx context.Context, after Watermark) (Page, error)
}

// Sink applies items to the target system. It must be idempotent: it keeps
// the mapping from source key to target reference and never creates a second
// effect for one item, because an item can be applied more than once (a
// worker that dies after applying, a retry after a timeout).
type Sink interface {
	// Apply applies items and returns one outcome per item, in order. An
	// error instead means nothing can be said about any item; the engine
	// treats it as a retryable failure of each of them.
	Apply(ctx context.Context, items []Item) ([]Outcome, error)
}

// Status is what happened to an item.
type Status string

// The states an item can end in. Pending is the state of an item not yet
// applied; Failed items are carried into the next run until their attempts
// run out and they become Dead.
const (
	Pending   Status = "pending"
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Skipped   Status = "skipped"
	Dead      Status = "dead"
)

// Outcome is a sink's verdict on one item. Build it with Success, Retry,
// Permanent or Skip.
type Outcome struct {
	status     Status
	targetRef  string
	err        error
	retryAfter time.Duration
	reason     string
}

// Success reports an item applied; ref is the target's reference for it (the
// CMS asset id, the Open311 service_request_id).
func Success(ref string) Outcome { return Outcome{status: Succeeded, targetRef: ref} }

// Retry reports a transient failure (5xx, 429, a timeout, an expired token).
// after is the target's Retry-After, or zero to let the engine's backoff decide.
func Retry(err error, after time.Duration) Outcome {
	return Outcome{status: Failed, err: err, retryAfter: after}
}

// Permanent reports a failure that retrying cannot fix, such as a validation
// error; the item becomes dead at once.
func Permanent(err error) Outcome { return Outcome{status: Dead, err: err} }

// Skip reports an item deliberately not applied, with the reason.
func Skip(reason string) Outcome { return Outcome{status: Skipped, reason: reason} }

// Status returns the state the outcome leads to: Succeeded, Skipped, Dead for
// a permanent error, Failed for a retryable one.
func (o Outcome) Status() Status { return o.status }

// Err returns the failure, or nil.
func (o Outcome) Err() error { return o.err }

func (o Outcome) retryable() bool { return o.status == Failed }

func (o Outcome) errText() string {
	if o.err == nil {
		if o.status == Failed || o.status == Dead {
			return "unknown error"
		}
		return ""
	}
	return o.err.Error()
}

// Link is one step of a chain: a message that tells a worker to claim the
// next batch of a run. Seq is the chain's step the link expects, so a link
// delivered twice advances the chain once.
type Link struct {
	Workflow string `json:"workflow"`
	Run      int64  `json:"run"`
	Chain    int    `json:"chain"`
	Seq      int64  `json:"seq"`
}

func (l Link) String() string {
	return fmt.Sprintf("%s run %d chain %d seq %d", l.Workflow, l.Run, l.Chain, l.Seq)
}

// Publisher delivers chain links to workers: SNS in AWS, goroutines in
// `citylink dev` and tests. Delivery is at least once.
type Publisher interface {
	Publish(ctx context.Context, link Link) error
}

// DeadItem is an item whose attempts ran out or that failed permanently.
type DeadItem struct {
	Workflow string `json:"workflow"`
	Run      int64  `json:"run"`
	ItemID   int64  `json:"item_id"`
	Key      string `json:"source_key"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// Alerter announces dead items to people (the alert SNS topic in AWS).
type Alerter interface {
	Alert(ctx context.Context, dead []DeadItem) error
}

// PlanFailure is a plan that failed PlanAlertAfter times in a row: its
// run stays in planning, retried every tick, until the source answers.
type PlanFailure struct {
	Workflow string    `json:"workflow"`
	Run      int64     `json:"run"`
	Failures int       `json:"failures"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

// PlanAlerter is an Alerter that also announces plans that keep failing.
// The engine uses it when its Alerter has it (SNSAlerter does); otherwise
// such a plan is only logged, and shown by `citylink status`.
type PlanAlerter interface {
	AlertPlan(ctx context.Context, f PlanFailure) error
}

// Clock tells the time. Leases and the rescuer use it, so tests can move
// time forward instead of sleeping.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// ErrRunOpen is returned by Plan when the workflow already has a running
// run, or another invocation is planning its run.
var ErrRunOpen = errors.New("work: a run of this workflow is open")

// ErrLeaseLost reports that a worker tried to record a batch whose lease it no
// longer holds: the lease expired and the rescuer gave the batch to another
// worker, whose outcomes count. Nothing is written; Work logs it and goes on
// with its chain.
var ErrLeaseLost = errors.New("work: batch lease lost")
