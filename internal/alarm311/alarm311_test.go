package alarm311_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/alarm311"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/fault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// clock is the settable clock the simulators, the sink and the engine share.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// lossy files POSTs and then loses a share of the answers, as a gateway that
// times out after the server committed; it counts the POSTs that reach it.
type lossy struct {
	next  http.Handler
	rate  float64
	posts atomic.Int64
	lost  atomic.Int64
	mu    sync.Mutex
	rng   *rand.Rand
}

func (l *lossy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		l.next.ServeHTTP(w, r)
		return
	}
	l.posts.Add(1)
	l.mu.Lock()
	lose := l.rng.Float64() < l.rate
	half := l.rng.IntN(2) == 0
	l.mu.Unlock()
	if !lose {
		l.next.ServeHTTP(w, r)
		return
	}
	l.lost.Add(1)
	l.next.ServeHTTP(httptest.NewRecorder(), r) // filed; the answer goes nowhere
	if half {
		http.Error(w, "<html>504 Gateway Time-out</html>", http.StatusGatewayTimeout)
		return
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// city is a small simulated city with alarm-311 wired to it.
type city struct {
	t       *testing.T
	clock   *clock
	cms     *citysim.CMS
	o311    *citysim.Open311
	lossy   *lossy
	pool    *pgxpool.Pool
	cmsC    *cms.Client
	engine  *work.Engine
	local   *work.Local
	sinkCfg alarm311.Config
	// twice, when set, delivers every chain link twice.
	twice *atomic.Bool
}

type cityOptions struct {
	lights       int
	alarmsPerDay float64
	errorRate    float64
	lostRate     float64
}

func newCity(t *testing.T, o cityOptions) *city {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)}
	c := citysim.NewCity(7, o.lights)
	cmsSim := citysim.NewCMS(citysim.CMSOptions{City: c, Seed: 7, Clock: clk.Now, AlarmsPerDay: o.alarmsPerDay, ChangesPerDay: -1,
		Faults: citysim.Faults{Seed: 3, ErrorRate: o.errorRate}})
	o311 := citysim.NewOpen311(citysim.Open311Options{Seed: 7, Now: clk.Now, City: c, TokenDelay: -1,
		Faults: citysim.Faults{Seed: 4, ErrorRate: o.errorRate}})
	lo := &lossy{next: o311, rate: o.lostRate, rng: rand.New(rand.NewPCG(5, 5))}
	cmsSrv := httptest.NewServer(cmsSim)
	t.Cleanup(cmsSrv.Close)
	o311Srv := httptest.NewServer(lo)
	t.Cleanup(o311Srv.Close)

	cmsC, err := cms.New(cms.Options{BaseURL: cmsSrv.URL, APIKey: cmsSim.APIKey(), PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := open311.New(open311.Options{BaseURL: o311Srv.URL, APIKey: citysim.DefaultOpen311APIKey})
	if err != nil {
		t.Fatal(err)
	}
	pool := pgtest.Pool(t)
	quiet := slog.New(slog.DiscardHandler)
	cfg := alarm311.Config{Logger: quiet, DB: pool, CMS: cmsC, Open311: oc, Clock: clk, TokenGrace: -1, PollPage: 100}
	src, err := alarm311.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := alarm311.NewSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	local := work.NewLocal(context.Background(), nil)
	twice := new(atomic.Bool)
	engine, err := work.New(work.Config{
		Workflow: alarm311.Workflow, DB: pool, Publisher: fault.Twice[work.Link](local, func(work.Link) bool { return twice.Load() }), Source: src, Sink: sink, Clock: clk, Logger: quiet,
		BatchSize: 25, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	local.Deliver = engine.Work
	return &city{t: t, clock: clk, cms: cmsSim, o311: o311, lossy: lo, pool: pool, cmsC: cmsC,
		engine: engine, local: local, sinkCfg: cfg, twice: twice}
}

// run plans a run and works it to the end.
func (c *city) run() work.PlanResult {
	c.t.Helper()
	res, planned, err := c.engine.Tick(context.Background())
	if err != nil {
		c.t.Fatalf("tick: %v", err)
	}
	if !planned {
		c.t.Fatal("tick planned nothing: a run is still open")
	}
	if err := c.local.Wait(); err != nil {
		c.t.Fatalf("working the run: %v", err)
	}
	return res
}

// advance moves the city on by d.
func (c *city) advance(d time.Duration) {
	now := c.clock.Advance(d)
	c.cms.Advance(now)
	c.o311.Advance(now)
}

var markerRE = regexp.MustCompile(`\[citylink alarm-311 episode (\d+)\]`)

// TestExactlyOneRequestPerEpisode runs alarm-311 every 8 hours over a week on
// a city of 3,000 lights, with every chain link delivered twice, 5% errors
// from both simulators and a tenth of the POST answers lost after the
// request was filed.
func TestExactlyOneRequestPerEpisode(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 3000, alarmsPerDay: 60, errorRate: 0.05, lostRate: 0.1})
	c.twice.Store(true)
	ctx := context.Background()

	for range 21 {
		c.advance(8 * time.Hour)
		c.run()
	}
	// One more run with no time passing picks up whatever the last left
	// to carry; then a run with no changes must post nothing.
	c.run()
	posts := c.lossy.posts.Load()
	if posts == 0 || c.lossy.lost.Load() == 0 {
		t.Fatalf("posts = %d, lost = %d: the test exercised nothing", posts, c.lossy.lost.Load())
	}
	c.run()
	if n := c.lossy.posts.Load() - posts; n != 0 {
		t.Errorf("a run with no changes posted %d requests", n)
	}

	// Every request citylink filed names one episode, and every episode
	// has exactly one request.
	reqs := c.o311.Requests()
	byEpisode := map[string][]citysim.Open311Request{}
	for _, r := range reqs {
		if m := markerRE.FindStringSubmatch(r.Description); m != nil {
			byEpisode[m[1]] = append(byEpisode[m[1]], r)
		}
	}
	for ep, rs := range byEpisode {
		if len(rs) != 1 {
			t.Errorf("episode %s has %d requests", ep, len(rs))
		}
	}
	type span struct{ from, to time.Time }
	open := map[string][]span{}
	for _, rs := range byEpisode {
		r := rs[0]
		end := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		if r.Status == "closed" {
			end = r.Updated
		}
		key := r.AssetID() + "/" + r.ServiceCode
		for _, s := range open[key] {
			if r.Requested.Before(s.to) && s.from.Before(end) {
				t.Errorf("%s has two requests open at once (%v and %v)", key, s.from, r.Requested)
			}
		}
		open[key] = append(open[key], span{r.Requested, end})
	}

	rows, err := c.pool.Query(ctx, `SELECT id::text, state, coalesce(request_id, ''), coalesce(token, '') FROM alarm_episodes`)
	if err != nil {
		t.Fatal(err)
	}
	var episodes, closed, tokens int
	for rows.Next() {
		var id, state, reqID, token string
		if err := rows.Scan(&id, &state, &reqID, &token); err != nil {
			t.Fatal(err)
		}
		episodes++
		switch state {
		case "closed":
			closed++
		case "filing", "refused":
			t.Errorf("episode %s ended the test %s", id, state)
			continue
		}
		if token != "" {
			tokens++
		}
		rs := byEpisode[id]
		if len(rs) != 1 || rs[0].ID != reqID {
			t.Errorf("episode %s records request %q; the server has %d for it", id, reqID, len(rs))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(byEpisode) != episodes {
		t.Errorf("%d requests carry a marker, for %d episodes", len(byEpisode), episodes)
	}
	if closed == 0 || tokens == 0 {
		t.Errorf("closed = %d, batch tokens = %d: closes and tokens not exercised", closed, tokens)
	}

	// Every alarm the CMS raised is recorded; every active alarm of a type
	// 311 takes is recorded against an episode.
	services := alarm311.DefaultServices()
	var alarms, active int
	for a, err := range c.cmsC.Alarms(ctx, cms.AlarmQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		alarms++
		var episode *int64
		if err := c.pool.QueryRow(ctx, `SELECT episode_id FROM alarm_events WHERE alarm_id = $1`, a.ID).Scan(&episode); err != nil {
			t.Errorf("alarm %s (%s, %s) not recorded: %v", a.ID, a.Type, a.State, err)
			continue
		}
		if _, wanted := services[a.Type]; wanted && a.Active() {
			active++
			if episode == nil {
				t.Errorf("active alarm %s of %s is recorded against no request", a.ID, a.ExternalID)
			}
		}
	}
	if alarms == 0 || active == 0 {
		t.Fatalf("alarms = %d, active = %d: nothing to check", alarms, active)
	}
	if t.Failed() {
		rows, _ := c.pool.Query(ctx, `SELECT coalesce(source_key, ''), error FROM critical_errors ORDER BY id`)
		for rows.Next() {
			var key, msg string
			_ = rows.Scan(&key, &msg)
			t.Logf("critical error: %s: %s", key, msg)
		}
		rows.Close()
	}
	t.Logf("%d alarms, %d episodes (%d closed, %d by token), %d posts (%d answers lost)",
		alarms, episodes, closed, tokens, c.lossy.posts.Load(), c.lossy.lost.Load())
}
