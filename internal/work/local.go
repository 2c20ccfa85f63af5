package work

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Local delivers links to a handler on goroutines, in process: the fan-out of
// `citylink dev` and of the tests. Like SNS it delivers at least once, and it
// can be told to deliver some links twice and to lose a worker mid-batch, so
// tests exercise what SNS and Lambda do in production.
type Local struct {
	// Deliver handles a link; usually an Engine's Work.
	Deliver func(ctx context.Context, link Link) error
	// Twice, when set, chooses links to deliver twice, concurrently.
	Twice func(Link) bool
	// Lose, when set, chooses deliveries whose worker a sink can kill
	// mid-batch with Crash.
	Lose func(Link) bool
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

type crashKey struct{}

// crash is the kill switch of one delivery chosen by Lose.
type crash struct {
	once   sync.Once
	cancel context.CancelFunc
	fired  atomic.Bool
}

// Publish starts the delivery of link (twice, if Twice chooses it) and
// returns at once.
func (l *Local) Publish(_ context.Context, link Link) error {
	if l.Deliver == nil {
		return errors.New("work: local publisher has nothing to deliver to")
	}
	n := 1
	if l.Twice != nil && l.Twice(link) {
		n = 2
	}
	for range n {
		l.wg.Add(1)
		go l.deliver(link)
	}
	return nil
}

func (l *Local) deliver(link Link) {
	defer l.wg.Done()
	ctx := l.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if l.Lose != nil && l.Lose(link) {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		ctx = context.WithValue(c, crashKey{}, &crash{cancel: cancel})
	}
	if err := l.Deliver(ctx, link); err != nil {
		if k, ok := ctx.Value(crashKey{}).(*crash); ok && k.fired.Load() && errors.Is(err, context.Canceled) {
			return // the worker we killed; its error is the point
		}
		if l.OnError != nil {
			l.OnError(link, err)
			return
		}
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
	}
}

// Crash kills the worker of the delivery ctx belongs to, if Lose chose it:
// its context is cancelled, so it can neither record its batch nor give back
// the lease, as when a Lambda dies. A sink under test calls it mid-batch. It
// reports whether it killed anything.
func Crash(ctx context.Context) bool {
	k, ok := ctx.Value(crashKey{}).(*crash)
	if !ok {
		return false
	}
	killed := false
	k.once.Do(func() {
		k.fired.Store(true)
		k.cancel()
		killed = true
	})
	return killed
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
