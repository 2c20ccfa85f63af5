package telemetry

import (
	"context"
	"time"
)

// deadlineReserve is kept back from a Lambda's deadline so a handler that
// runs out of time still returns its batch item failures before Lambda
// stops it; a stopped invocation fails the whole batch instead.
const deadlineReserve = 2 * time.Second

// WithReserve returns ctx shortened by deadlineReserve when it has a
// deadline far enough away, else ctx unchanged.
func WithReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || time.Until(d) <= 2*deadlineReserve {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, d.Add(-deadlineReserve))
}
