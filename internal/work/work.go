package work

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Work handles one chain link: it claims the next pending batch of the run,
// applies it through the sink, records the outcomes and publishes the chain's
// next link while pending batches remain. The link that finds nothing left
// to do tries to close the run. A stale link (delivered twice, or overtaken
// by the rescuer) does nothing.
//
// When ctx's deadline comes within the margin, Work stops claiming, gives
// back what it has not done and hands the chain on in a new link.
//
// When Work fails after stepping the chain (the next link could not be
// published, the database went away), it winds the chain back to the link
// it was given, so that the redelivery Lambda and SNS make of a failed
// invocation carries the chain on instead of being dropped as stale.
func (e *Engine) Work(ctx context.Context, link Link) (err error) {
	if e.cfg.Sink == nil {
		return errors.New("work: working needs a sink")
	}
	if link.Workflow != e.cfg.Workflow {
		return fmt.Errorf("work: link for workflow %q reached %q", link.Workflow, e.cfg.Workflow)
	}
	log := e.log.With("run", link.Run, "chain", link.Chain)
	delivered := link.Seq
	defer func() {
		// A worker whose own context ended is being killed, as a Lambda at
		// its timeout: it gets no last word, and the rescuer takes over.
		if err != nil && link.Seq != delivered && ctx.Err() == nil {
			e.rewind(ctx, log, link, delivered)
		}
	}()
	var (
		more  bool
		known bool // more was reported by the last statement
	)
	for range e.cfg.BatchesPerLink {
		known = false
		if e.short(ctx) {
			if err := ctx.Err(); err != nil {
				return err
			}
			break
		}
		c, err := e.claim(ctx, link)
		if err != nil {
			return err
		}
		if !c.stepped {
			log.DebugContext(ctx, "stale link", "seq", link.Seq)
			return nil
		}
		link.Seq++
		if c.batch == nil {
			break
		}
		var done bool
		more, done, err = e.work(ctx, log, c.batch)
		known = err == nil
		if errors.Is(err, ErrLeaseLost) {
			// Our lease expired and the batch went to another worker, which
			// records it; this chain goes on.
			log.WarnContext(ctx, "batch lease lost", "batch", c.batch.seq)
			continue
		}
		if err != nil {
			return err
		}
		if !more || !done {
			// A batch handed back undone waits for a link with a fresh
			// deadline: claiming it again under this one would retry its
			// items at once, whatever wait they asked for.
			break
		}
	}
	if !known {
		var err error
		if more, err = e.pending(ctx, link.Run); err != nil {
			return err
		}
	}
	if more {
		if err := e.cfg.Publisher.Publish(ctx, link); err != nil {
			return fmt.Errorf("publishing %s: %w", link, err)
		}
		return nil
	}
	_, err = e.closeRun(ctx, link.Run)
	return err
}

// rewindSQL winds a chain back to the seq of the link that stepped it, if
// nothing has stepped it since.
const rewindSQL = `UPDATE chains SET seq = @delivered WHERE run_id = @run AND chain = @chain AND seq = @current`

// rewind makes link's delivered seq current again after a failed Work; if
// it cannot, the rescuer restarts the chain at the next tick.
func (e *Engine) rewind(ctx context.Context, log *slog.Logger, link Link, delivered int64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tag, err := e.db.Exec(ctx, rewindSQL, pgx.NamedArgs{
		"run": link.Run, "chain": link.Chain, "current": link.Seq, "delivered": delivered,
	})
	if err != nil {
		log.ErrorContext(ctx, "chain not wound back; the rescuer will restart it", "seq", link.Seq, "error", err)
		return
	}
	log.WarnContext(ctx, "chain wound back for redelivery", "from", link.Seq, "to", delivered, "rewound", tag.RowsAffected() == 1)
}

// work applies and records one claimed batch, and reports whether the run
// has pending batches left and whether this batch is done (false: items went
// back to pending with it).
func (e *Engine) work(ctx context.Context, log *slog.Logger, b *batch) (more, done bool, err error) {
	items, err := e.items(ctx, b)
	if err != nil {
		return false, false, err
	}
	res, err := e.apply(ctx, items, b.attempt)
	if err != nil {
		return false, false, fmt.Errorf("applying batch %d: %w", b.seq, err)
	}
	if res.panic != nil {
		if err := e.logCrash(ctx, b, res.panic); err != nil {
			return false, false, err
		}
	}
	rec, err := e.record(ctx, b, items, res)
	if err != nil {
		return false, false, err
	}
	log.DebugContext(ctx, "batch recorded", "batch", b.seq, "attempt", b.attempt,
		"items", rec.items, "done", rec.done, "dead", len(rec.dead))
	if len(rec.dead) > 0 {
		log.ErrorContext(ctx, "items dead", "batch", b.seq, "dead", len(rec.dead), "first_key", rec.dead[0].Key,
			"first_error", rec.dead[0].Error)
		e.announceDead(ctx, log, rec.dead)
	}
	return rec.more, rec.done, nil
}
