// Package fault injects the failures of at-least-once delivery into an
// in-process fan-out (a work.Local): links delivered twice and workers lost
// mid-batch. It is test-only machinery, kept out of the production
// publisher; it is generic over the link type so that the engine's own
// tests can use it without an import cycle. Workflow tests reach it through
// internal/work/worktest.
package fault

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Publisher publishes links; a *work.Local is one for work.Link.
type Publisher[L any] interface {
	Publish(ctx context.Context, link L) error
}

// Twice wraps a publisher so that the links chosen by twice are published
// twice, as SNS and Lambda may deliver a message: with a work.Local both
// deliveries run at once. The result is a work.Publisher for L = work.Link.
func Twice[L any](next Publisher[L], twice func(L) bool) *TwicePublisher[L] {
	return &TwicePublisher[L]{next: next, twice: twice}
}

// TwicePublisher is the publisher Twice returns.
type TwicePublisher[L any] struct {
	next  Publisher[L]
	twice func(L) bool
}

// Publish publishes link, and again when chosen.
func (p *TwicePublisher[L]) Publish(ctx context.Context, link L) error {
	if err := p.next.Publish(ctx, link); err != nil {
		return err
	}
	if p.twice != nil && p.twice(link) {
		return p.next.Publish(ctx, link)
	}
	return nil
}

type crashKey struct{}

// crash is the kill switch of one delivery chosen by Losing.
type crash struct {
	once   sync.Once
	cancel context.CancelFunc
	fired  atomic.Bool
}

// Losing wraps a delivery function (a work.Local's Deliver) so that the
// deliveries chosen by lose run with a kill switch: a sink under test calls
// Crash mid-batch and the worker dies as a Lambda does at its timeout, its
// context cancelled before it can record its batch or give back its lease.
// The error of a worker so killed is swallowed: it is the point.
func Losing[L any](deliver func(context.Context, L) error, lose func(L) bool) func(context.Context, L) error {
	return func(ctx context.Context, link L) error {
		if lose == nil || !lose(link) {
			return deliver(ctx, link)
		}
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		k := &crash{cancel: cancel}
		err := deliver(context.WithValue(c, crashKey{}, k), link)
		if err != nil && k.fired.Load() && errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

// Chosen reports whether ctx belongs to a delivery Losing chose and whose
// worker is still alive.
func Chosen(ctx context.Context) bool {
	k, ok := ctx.Value(crashKey{}).(*crash)
	return ok && !k.fired.Load()
}

// Crash kills the worker of the delivery ctx belongs to, if Losing chose
// it, and reports whether it killed anything (once per delivery).
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
