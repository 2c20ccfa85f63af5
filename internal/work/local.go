package work

import (
	"context"
	"errors"
	"sync"
)

// Local delivers links to a handler on goroutines, in process: the fan-out of
// `citylink dev` and of the tests. Like SNS it delivers at least once. Faults
// that tests inject (links delivered twice, workers lost mid-batch) are
// decorations of its Publish and Deliver, kept in the test kit
// (internal/work/worktest), not switches of this type.
type Local struct {
	// Deliver handles a link; usually an Engine's Work.
	Deliver func(ctx context.Context, link Link) error
	// OnError, when set, is told of each failed delivery (`citylink dev`
	// logs them); otherwise Wait returns them.
	OnError func(Link, error)

	ctx  context.Context
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// NewLocal returns a Local that delivers to deliver with contexts derived
// from ctx.
func NewLocal(ctx context.Context, deliver func(ctx context.Context, link Link) error) *Local {
	return &Local{ctx: ctx, Deliver: deliver}
}

// Publish starts the delivery of link and returns at once.
func (l *Local) Publish(_ context.Context, link Link) error {
	if l.Deliver == nil {
		return errors.New("work: local publisher has nothing to deliver to")
	}
	l.wg.Add(1)
	go l.deliver(link)
	return nil
}

func (l *Local) deliver(link Link) {
	defer l.wg.Done()
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := l.Deliver(ctx, link); err != nil {
		if l.OnError != nil {
			l.OnError(link, err)
			return
		}
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
	}
}

// Wait blocks until every delivery, including those published by deliveries,
// has returned, and returns their errors.
func (l *Local) Wait() error {
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	err := errors.Join(l.errs...)
	l.errs = nil
	return err
}
