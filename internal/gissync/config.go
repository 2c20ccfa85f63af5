package gissync

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// Workflow names.
const (
	PushWorkflow = "gis-push"
	PullWorkflow = "gis-pull"
)

// Config configures the sources and sinks of both directions.
type Config struct {
	// DB holds the sync state (migration 0006).
	DB *pgxpool.Pool
	// CMS and DOT are the two sides; Layer is the DOT's pole layer id.
	CMS   *cms.Client
	DOT   *arcgis.Client
	Layer int
	// Ownership says whose edits count for each shared field;
	// DefaultOwnership when nil. A field it does not name is nobody's.
	Ownership Ownership
	// PageSize is the DOT query page of gis-pull (1000).
	PageSize int
	// NoChangeTracking keeps gis-pull to (edit date, object id) reads even
	// where the DOT service offers extractChanges.
	NoChangeTracking bool
	// Clock defaults to the system clock; Logger to slog.Default().
	Clock  work.Clock
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.DB == nil || c.CMS == nil || c.DOT == nil {
		return c, errors.New("gissync: config needs a database, a CMS client and a DOT client")
	}
	if c.Ownership == nil {
		c.Ownership = DefaultOwnership()
	}
	for f, o := range c.Ownership {
		if dotField[f] == "" {
			return c, errors.New("gissync: ownership names unknown field " + f)
		}
		if o != OwnerCMS && o != OwnerDOT && o != OwnerNone {
			return c, errors.New("gissync: field " + f + " has unknown owner " + string(o))
		}
	}
	c.PageSize = cmp.Or(c.PageSize, 1000)
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
