// Package work is citylink's integration engine, shared by every workflow.
//
// A scheduled tick plans a run: it reads the workflow's Source since the
// stored watermark page by page, each page recorded as items in its own
// short transaction with the cursor after it (no transaction stays open
// while the source is called), so a plan cut off by its Lambda's deadline
// continues in the next invocation; once the source is exhausted it cuts the
// items into batches, advances the watermark and publishes up to ten chain
// links. Each link claims the
// next pending batch of its run under a lease (SELECT … FOR UPDATE SKIP
// LOCKED), applies its items through the workflow's Sink with per-item
// retries, records every outcome in one statement and publishes the chain's
// next link; the last link closes the run. Delivery is at least once
// everywhere: links carry the chain step they expect, leases expire, and the
// rescuer returns abandoned batches and restarts broken chains. The engine
// knows no workflow and no outside system.
//
// # Writing a workflow
//
// A workflow is a package (internal/<workflow>) with a Source, a Sink and the
// mapping between them, and a Lambda binary (cmd/<workflow>) that wires them
// to an Engine and hands engine.Handle to lambda.Start. The engine does the
// rest: runs, batches, leases, retries, carry-over, dead items and alerts.
//
// # The Source contract
//
// Source.Changes(ctx, after) returns the page of changes that follows the
// watermark after (nil: from the beginning). Build each item with NewItem
// from the source key (an asset id, an alarm id: what an operator searches
// for) and a typed value the sink will need; the engine stores it as JSON.
// Page.Next is the watermark just past the page's items and Page.More says
// whether another page follows. One call reads one page: a Source never
// walks a whole listing, so a plan holds one page in memory and can stop
// between pages.
//
// The pages of one plan may be read by different invocations, in different
// processes: the engine records each page's Next as the run's planning
// cursor, and a plan that reaches its invocation's deadline (less
// Config.Margin and the longest page so far) stops there, leaving the run in
// state planning; the next tick, or the rescue tick minutes later, calls
// Changes with that cursor. So a Source keeps nothing between calls: the
// watermark it is given is all it knows (an ArcGIS extractChanges server
// generation and the object ids still to fetch, a CMS cursor, an edit time
// and object id). A page whose call fails, or that the deadline cuts off, is
// not recorded and is asked for again; a page is never recorded twice.
//
// # Watermarks
//
// A Watermark is opaque JSON only the Source reads. Make it an exact resume
// point: a composite (edit time, object id) rather than a bare timestamp, so
// rows that share a timestamp are neither skipped nor repeated; the CMS
// cursor or an ArcGIS server generation where the system offers one. The
// engine stores the last page's Next as the workflow's watermark only once
// the source is exhausted, in the transaction that cuts the run's batches; a
// plan that fails or stops keeps its pages in its planning run and the
// stored watermark where it was. A key that comes again in a later page of
// one plan (a feature edited again while the plan was reading) updates its
// item with the later value: one item per key and run, in the place the key
// first came.
//
// # The Sink contract and idempotency
//
// Sink.Apply applies a batch and returns one Outcome per item, in order. Most
// sinks handle one item at a time: write an ApplyFunc and let PerItem make
// the Sink, which decodes each payload with Decode, runs a bounded number of
// items at once and keeps every outcome in its item's place. Sinks with a
// bulk API (ArcGIS applyEdits, the CMS bulk upsert) implement Sink and call
// Decode themselves.
//
// An item may be applied more than once: a worker dies after the target
// answered, a link is delivered twice, a timeout hides a success. A sink is
// therefore idempotent: it finds the target's record by the source key (an
// upsert by asset id, a search for the marker it wrote into an Open311
// request) before it creates one, and never makes a second effect for one
// item.
//
// # Outcome classes
//
// Every item ends in one of four states:
//
//   - Success(ref): applied; ref is the target's reference (a CMS device id,
//     an Open311 service_request_id), recorded for operators.
//   - Skip(reason): deliberately not applied (unmappable, unchanged); final.
//   - Retry(err, after): a transient failure. The engine tries the item
//     again within the run (Config.Tries, with backoff, waiting at least
//     after), then carries it into the next runs (Config.MaxAttempts in all)
//     before it is dead; see "Retries: three layers, one bound".
//   - Permanent(err): retrying cannot help (a validation error, a refused
//     payload); the item is dead at once, written to the critical error log
//     and announced by the Alerter.
//
// Whenever items go dead (permanently, on their last attempt, or with a
// batch the rescuer abandons) the engine also writes a CloudWatch Embedded
// Metric Format line to Config.Metrics (stdout in Lambda): DeadItems, unit
// Count, in namespace Citylink/Work with the dimension Workflow, which
// template.yaml's <W>DeadItemsAlarm sums. No PutMetricData call, no IAM.
//
// Result(ref, err) and FromError(err) build the outcome from what a client
// returned. Every citylink client's errors meet one contract,
// RetryableError (Retryable() bool) and RetryAfterError (RetryAfter()
// time.Duration), so FromError needs no knowledge of the client: a
// retryable error is a Retry after the delay the target asked for, any other
// error of the contract is Permanent, the end of the context is a Retry, and
// an error outside the contract is a Retry too (bounded by Tries and
// MaxAttempts). Conditions that mean something to the workflow are matched
// with errors.Is first: cms.ErrNotFound may mean "create it instead",
// open311.ErrMaybeCreated means "search before you file again".
//
// # Retries: three layers, one bound
//
// A failing call to an outside system is retried by three layers, and their
// counts multiply, so each is kept small and has its own job:
//
//  1. The transport (internal/httpretry, under all four clients): up to 4
//     attempts per call (Policy.MaxAttempts), full-jitter backoff from 100ms
//     capped at 5s, Retry-After honoured up to a minute. It rides out a
//     blip: a reset connection, one 503, a 429. Clients that retry above the
//     transport count against the same 4 (ArcGIS errors inside a 200 body,
//     which the transport cannot see; the Open311 POST, which the transport
//     must not repeat; an SFTP reconnect, 3), so one call makes at most 4
//     attempts whichever layer sees the failure. Each retry is logged at
//     info, each give-up at warn, through the client's Options.Logger.
//  2. Tries within a run (Config.Tries, 2): one more application of the
//     item after the sink gave up on it, after the engine's backoff (200ms
//     doubling to 30s, or the target's Retry-After when longer). It is for
//     what only the sink can mend (a search after a lost POST answer, a
//     device re-read after a 412, a refreshed token), not for a target that
//     is down: the transport has already waited that out.
//  3. Carry-over (Config.MaxAttempts, 3 runs): a run that ends with the item
//     failed carries it into the next run, hours later for the 8-hour and
//     24-hour workflows, which is what an outage needs. The last run's
//     failure makes the item dead.
//
// So one item whose sink makes one call to a target that keeps failing
// costs at most 4 × 2 = 8 calls in a run and 4 × 2 × 3 = 24 in all before
// it is dead and announced (a sink that makes k calls per item multiplies
// this by k at most). With the earlier default of 4 tries it was 48; tries
// beyond two only repeated, seconds later, what the transport had just
// tried four times. Tries count within one claim of the item's batch: a
// retry that does not fit before the worker's deadline hands the batch on
// to the chain's next link, which tries again, and Config.MaxClaims (5)
// bounds those claims, so near deadlines an item may be applied up to
// MaxClaims times in a run. A workflow that wants another balance sets Tries and
// MaxAttempts in its Config and Retry.MaxAttempts in its clients' Options.
//
// # Lambda entry
//
// One binary serves every phase, routed on an explicit input by Handle: an
// SNS event carries chain links and works them; the workflow's EventBridge
// Scheduler schedule passes the input {"action":"plan"} (rescue, then plan a
// run or continue the planning one) and a second schedule, every few
// minutes, {"action":"rescue"} (expired leases, broken chains, runs with
// nothing left, a planning run nobody holds), so a lost chain or a plan cut
// off by its deadline waits minutes rather than a day. A plan that stopped
// before its deadline returns success: the next tick goes on. Either input may name its "workflow",
// which must be the engine's. Any other input is refused with an error that
// says what was expected.
//
// # Wiring
//
// See the package examples: Example is the whole of a cmd/<workflow>/main.go,
// ExampleLocal the in-process wiring of `citylink dev` and the tests, and
// Example_writingAWorkflow a Source and a per-item Sink end to end.
package work
