package alarm311

import (
	"cmp"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/work"
)

// Workflow is the workflow's name in the engine's tables.
const Workflow = "alarm-311"

// DefaultServices maps the CMS alarm types a 311 crew can act on to the
// streetlight service codes of the city's Open311 service list. Alarms of
// other types (communication, power and voltage excursions, temperature) are
// for the CMS operators, not for street crews, and are recorded unfiled.
func DefaultServices() map[string]string {
	return map[string]string{
		cms.AlarmLampFailure:      "SLOUT",
		cms.AlarmLampUnexpectedOn: "SLDAY",
		cms.AlarmCyclingFailure:   "SLCYC",
		cms.AlarmSupplyLoss:       "SLPWR",
	}
}

// Config configures the workflow's source and sink.
type Config struct {
	// DB holds the episodes (migration 0005). A pool, not a transaction:
	// the sink takes a session advisory lock per (asset, alarm type).
	DB *pgxpool.Pool
	// CMS is read for alarms and for the location of their devices.
	CMS *cms.Client
	// Open311 is where requests are filed and polled.
	Open311 *open311.Client
	// Services maps alarm types to service codes; DefaultServices when nil.
	Services map[string]string
	// TokenGrace is how long after a POST to a batch service whose answer
	// was lost the sink waits before it concludes from an empty search that
	// the POST filed nothing (1h): the server lists a batch request only
	// once it has given it an id. Negative: the server gives batch
	// requests their ids at once, so an empty search is conclusive.
	TokenGrace time.Duration
	// SearchSlack widens the marker search window on both sides, for clocks
	// that disagree (10m).
	SearchSlack time.Duration
	// Posts is how many POSTs one try of an item may send, each after a
	// search found nothing (3).
	Posts int
	// PollPage is how many episodes one page of the poll listing holds (500).
	PollPage int
	// ReadOnly makes the source and Preview read the episode tables inside
	// read-only transactions, so Postgres itself refuses any write, and
	// makes NewSink refuse the configuration: a dry run wires its source
	// with it and can change nothing.
	ReadOnly bool
	// Clock defaults to the system clock; Logger to slog.Default().
	Clock  work.Clock
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.DB == nil || c.CMS == nil || c.Open311 == nil {
		return c, errors.New("alarm311: config needs a database, a CMS client and an Open311 client")
	}
	if c.Services == nil {
		c.Services = DefaultServices()
	}
	c.TokenGrace = cmp.Or(c.TokenGrace, time.Hour)
	c.SearchSlack = cmp.Or(c.SearchSlack, 10*time.Minute)
	c.Posts = cmp.Or(c.Posts, 3)
	c.PollPage = cmp.Or(c.PollPage, 500)
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
