package work

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/testclock"
	"github.com/citylink/citylink/internal/work/fault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// pageSource is a Source over a fixed list of items, served pageSize at a
// time; its watermark is {"offset": n}.
type pageSource struct {
	items    []Item
	pageSize int
	// failAt, when > 0, makes the call for that page (1-based) fail.
	failAt int
	// started, when set, is closed on the first call; release, when set, is
	// waited on before the first page is served.
	started chan struct{}
	release chan struct{}
	// onCall, when set, runs at the start of every call with its number
	// (1-based) and the watermark asked for; an error fails the call.
	onCall func(ctx context.Context, call int, after Watermark) error

	mu    sync.Mutex
	calls int
}

// errSourceBroken is the error a pageSource fails with.
var errSourceBroken = errors.New("source broken")

type offsetMark struct {
	Offset int `json:"offset"`
}

func (s *pageSource) Changes(ctx context.Context, after Watermark) (Page, error) {
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.mu.Unlock()
	if call == 1 && s.started != nil {
		close(s.started)
	}
	if call == 1 && s.release != nil {
		select {
		case <-s.release:
		case <-ctx.Done():
			return Page{}, ctx.Err()
		}
	}
	if s.onCall != nil {
		if err := s.onCall(ctx, call, after); err != nil {
			return Page{}, err
		}
	}
	if s.failAt > 0 && call == s.failAt {
		return Page{}, fmt.Errorf("page %d: %w", call, errSourceBroken)
	}
	var m offsetMark
	if len(after) > 0 {
		if err := json.Unmarshal(after, &m); err != nil {
			return Page{}, err
		}
	}
	from := min(m.Offset, len(s.items))
	to := min(from+s.pageSize, len(s.items))
	next, _ := json.Marshal(offsetMark{Offset: to})
	return Page{Items: s.items[from:to], Next: next, More: to < len(s.items)}, nil
}

// makeItems returns n items keyed prefix-0 … prefix-(n-1).
func makeItems(prefix string, n int) []Item {
	items := make([]Item, n)
	for i := range items {
		key := fmt.Sprintf("%s-%d", prefix, i)
		items[i] = Item{Key: key, Payload: json.RawMessage(fmt.Sprintf(`{"asset":%q,"watts":%d}`, key, 40+i%60))}
	}
	return items
}

// countingSink is an idempotent sink that counts what it is asked to do and
// what it does: applies per key (one per time the engine hands it an item),
// and effects per key (one the first time a key is applied; later applies
// find the key's target reference and change nothing).
type countingSink struct {
	// decide, when set, gives the outcome of an apply; nil means success.
	decide func(ctx context.Context, key string, call int) *Outcome
	// midBatch, when set, is called after half of a batch's items are applied.
	midBatch func(ctx context.Context) error

	mu       sync.Mutex
	applies  map[string]int
	effects  map[string]int
	refs     map[string]string
	inFlight int
	maxLive  int
}

func newCountingSink() *countingSink {
	return &countingSink{applies: map[string]int{}, effects: map[string]int{}, refs: map[string]string{}}
}

func (s *countingSink) Apply(ctx context.Context, items []Item) ([]Outcome, error) {
	s.mu.Lock()
	s.inFlight++
	s.maxLive = max(s.maxLive, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	outs := make([]Outcome, len(items))
	for i, it := range items {
		if i == len(items)/2 && s.midBatch != nil {
			if err := s.midBatch(ctx); err != nil {
				return nil, err
			}
		}
		s.mu.Lock()
		s.applies[it.Key]++
		call := s.applies[it.Key]
		s.mu.Unlock()
		if s.decide != nil {
			if o := s.decide(ctx, it.Key, call); o != nil {
				outs[i] = *o
				continue
			}
		}
		s.mu.Lock()
		ref, ok := s.refs[it.Key]
		if !ok {
			ref = "T-" + it.Key
			s.refs[it.Key] = ref
			s.effects[it.Key]++
		}
		s.mu.Unlock()
		outs[i] = Success(ref)
	}
	return outs, nil
}

func (s *countingSink) counts(key string) (applies, effects int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applies[key], s.effects[key]
}

// alertRecorder is an Alerter that keeps what it is told.
type alertRecorder struct {
	mu   sync.Mutex
	dead []DeadItem
}

func (a *alertRecorder) Alert(_ context.Context, dead []DeadItem) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dead = append(a.dead, dead...)
	return nil
}

// linkRecorder is a Publisher that keeps links instead of delivering them.
type linkRecorder struct {
	mu    sync.Mutex
	links []Link
}

func (r *linkRecorder) Publish(_ context.Context, l Link) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links = append(r.links, l)
	return nil
}

// logCounter is a slog handler that counts records by message.
type logCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Message]++
	return nil
}
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler      { return h }
func (h *logCounter) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

// harness is an engine on a fresh database, wired to a Local publisher that
// delivers links to the engine's Work.
type harness struct {
	pool   *pgxpool.Pool
	engine *Engine
	local  *Local
	clock  *testclock.Clock
	sink   *countingSink
	logs   *logCounter
	// twice chooses links to deliver twice, lose deliveries whose worker
	// the sink may kill with fault.Crash; set them before planning.
	twice, lose func(Link) bool
}

// newHarness builds a harness; edit adjusts the config before New.
func newHarness(t testing.TB, src Source, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{
		pool:  pgtest.Pool(t),
		clock: testclock.New(time.Now()),
		sink:  newCountingSink(),
		logs:  &logCounter{counts: map[string]int{}},
	}
	h.local = NewLocal(context.Background(), nil)
	cfg := Config{
		Workflow:   "test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")),
		DB:         h.pool,
		Publisher:  fault.Twice[Link](h.local, func(l Link) bool { return h.twice != nil && h.twice(l) }),
		Source:     src,
		Sink:       h.sink,
		Logger:     slog.New(h.logs),
		Clock:      h.clock,
		Backoff:    time.Millisecond,
		MaxBackoff: 5 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e
	h.local.Deliver = fault.Losing(e.Work, func(l Link) bool { return h.lose != nil && h.lose(l) })
	return h
}

// countDeliveries counts every link the harness's publisher delivers.
func (h *harness) countDeliveries() *atomic.Int64 {
	var n atomic.Int64
	work := h.local.Deliver
	h.local.Deliver = func(ctx context.Context, l Link) error {
		n.Add(1)
		return work(ctx, l)
	}
	return &n
}

// wait waits for every delivery and fails the test on their errors.
func (h *harness) wait(t testing.TB) {
	t.Helper()
	if err := h.local.Wait(); err != nil {
		t.Fatalf("deliveries failed: %v", err)
	}
}

// intQuery runs a query that returns one integer.
func intQuery(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// runState returns a run's state.
func runState(t testing.TB, pool *pgxpool.Pool, run int64) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), "SELECT state FROM runs WHERE id = $1", run).Scan(&s); err != nil {
		t.Fatalf("reading run %d: %v", run, err)
	}
	return s
}
