package work

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is the part of a pgx pool the engine uses; *pgxpool.Pool satisfies it.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Config configures an Engine for one workflow. Zero values take the defaults
// named on each field.
type Config struct {
	// Workflow names the workflow, such as "arcgis-import". Required.
	Workflow string
	// DB is the Postgres pool. Required.
	DB DB
	// Publisher delivers chain links. Required.
	Publisher Publisher
	// Source is read by Plan; Sink is applied by Work. A binary that only
	// plans may leave Sink nil, and the other way round.
	Source Source
	Sink   Sink
	// Alerter is told about dead items; nil means they are only logged and
	// written to the critical error log.
	Alerter Alerter
	// Metrics receives a CloudWatch Embedded Metric Format line, DeadItems
	// in Citylink/Work by Workflow, whenever items go dead; the template's
	// <W>DeadItemsAlarm watches it. nil: the function's stdout in Lambda
	// (AWS_LAMBDA_FUNCTION_NAME set), where CloudWatch Logs turns the line
	// into the metric without a PutMetricData call; none elsewhere.
	Metrics io.Writer
	// Logger defaults to slog.Default(); Clock to the system clock.
	Logger *slog.Logger
	Clock  Clock

	// BatchSize is the number of items per batch (100).
	BatchSize int
	// Chains is the most links of one run at work at once (10).
	Chains int
	// MaxAttempts is the number of runs an item is tried in before it is
	// dead (3).
	MaxAttempts int
	// Tries is the number of times an item is applied within one run before
	// the run gives up on it (2: the clients' transport already retries each
	// call; see "Retries: three layers, one bound" in the package doc).
	Tries int
	// Backoff is the first retry delay (200ms); it doubles per try, with
	// jitter, up to MaxBackoff (30s). A Retry-After longer than that wins.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// LeaseTTL is how long a claimed batch belongs to its worker (15m, the
	// longest a Lambda can run).
	LeaseTTL time.Duration
	// PlanLease is how long a planning run belongs to the invocation
	// planning it after it took the run or recorded its last page (2m), or
	// twice its longest page so far when that is longer. Every page renews
	// it, so it only has to outlast one page: an invocation killed mid-plan
	// (not stopped in time) holds the run that long, not LeaseTTL. A first
	// page slower than PlanLease may be overtaken by another planner; the
	// overtaken one then writes nothing, which wastes a page but loses none.
	PlanLease time.Duration
	// Margin is the time a worker keeps in hand before its context's deadline
	// to record what it did and hand its chain on (20s). A plan keeps it
	// and the longest page it has read so far: it starts no page later than
	// that, and a page call still running at the margin is cut off.
	Margin time.Duration
	// BatchesPerLink is how many batches one link works through before it
	// publishes the next link (1).
	BatchesPerLink int
	// Owner names this worker in batch leases (host name and process id).
	Owner string
	// MaxClaims bounds the claims of one batch (5). The rescuer gives up
	// on a batch whose workers died MaxClaims times and fails its undone
	// items. A batch handed back undone at a deadline (its items' retries
	// did not fit, or a slow target did not reach them) is claimed again by
	// the chain's next link, until its MaxClaims-th claim: there items
	// still retryable at the deadline get their outcome (failed for the
	// run) instead of being handed on. So a slow target may take up to
	// MaxClaims invocations per batch, and a batch that never finishes
	// still ends. (Tries is per claim: it does not bound hand-ons.)
	MaxClaims int
	// RescueLimit is how many expired leases the rescuer returns per
	// statement (1000).
	RescueLimit int
}

// Engine plans, works and rescues the runs of one workflow. It is safe for
// concurrent use.
type Engine struct {
	cfg    Config
	db     DB
	log    *slog.Logger
	clock  Clock
	writer itemWriter
	// metrics writes the dead-item metric; nil writes none.
	metrics *metricsWriter
}

// New returns an Engine for cfg, with defaults filled in.
func New(cfg Config) (*Engine, error) {
	if cfg.Workflow == "" {
		return nil, errors.New("work: config needs a workflow name")
	}
	if cfg.DB == nil {
		return nil, errors.New("work: config needs a database")
	}
	if cfg.Publisher == nil {
		return nil, errors.New("work: config needs a publisher")
	}
	host, _ := os.Hostname()
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 100)
	cfg.Chains = cmp.Or(cfg.Chains, 10)
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, 3)
	cfg.Tries = cmp.Or(cfg.Tries, 2)
	cfg.Backoff = cmp.Or(cfg.Backoff, 200*time.Millisecond)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 30*time.Second)
	cfg.LeaseTTL = cmp.Or(cfg.LeaseTTL, 15*time.Minute)
	cfg.PlanLease = cmp.Or(cfg.PlanLease, 2*time.Minute)
	cfg.Margin = cmp.Or(cfg.Margin, 20*time.Second)
	cfg.BatchesPerLink = cmp.Or(cfg.BatchesPerLink, 1)
	cfg.Owner = cmp.Or(cfg.Owner, fmt.Sprintf("%s/%d", cmp.Or(host, "worker"), os.Getpid()))
	cfg.MaxClaims = cmp.Or(cfg.MaxClaims, 5)
	cfg.RescueLimit = cmp.Or(cfg.RescueLimit, 1000)
	if cfg.BatchSize < 1 || cfg.Chains < 1 || cfg.MaxAttempts < 1 || cfg.Tries < 1 || cfg.BatchesPerLink < 1 || cfg.MaxClaims < 1 {
		return nil, errors.New("work: batch size, chains, attempts, tries and batches per link must be positive")
	}
	return &Engine{
		cfg:     cfg,
		db:      cfg.DB,
		log:     cmp.Or(cfg.Logger, slog.Default()).With("workflow", cfg.Workflow),
		clock:   cmp.Or[Clock](cfg.Clock, systemClock{}),
		writer:  copyItems,
		metrics: newMetricsWriter(cfg.Metrics),
	}, nil
}

// Workflow returns the name of the engine's workflow.
func (e *Engine) Workflow() string { return e.cfg.Workflow }

// LeaseTTL returns how long a claimed batch belongs to its worker, so that a
// test kit knows how far to move its clock to expire a lost worker's lease.
func (e *Engine) LeaseTTL() time.Duration { return e.cfg.LeaseTTL }

// leaseToken returns a lease owner unique to one claim, so that two
// deliveries of a link in one process never mistake each other's lease.
func (e *Engine) leaseToken() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return e.cfg.Owner + "/" + hex.EncodeToString(b[:])
}

// short reports whether ctx is done or its deadline is closer than the margin.
func (e *Engine) short(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && deadline.Sub(e.clock.Now()) < e.cfg.Margin
}
