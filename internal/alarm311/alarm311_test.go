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
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
	"github.com/citylink/citylink/internal/work/worktest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

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

// city is a small simulated city with alarm-311 wired to it through the
// workflow test kit: the simulators run on the harness's clock, which the
// harness moves past the lease when it rescues a lost worker's batch.
type city struct {
	t     *testing.T
	h     *worktest.Harness
	cms   *cmssim.Server
	o311  *open311sim.Server
	lossy *lossy
	pool  *pgxpool.Pool
	cmsC  *cms.Client
	o311C *open311.Client
	cfg   alarm311.Config
	// cmsWrites counts the calls to the CMS other than GET.
	cmsWrites atomic.Int64
}

type cityOptions struct {
	lights       int
	alarmsPerDay float64
	errorRate    float64
	lostRate     float64
	twice, lose  func(work.Link) bool
	duplicates   open311sim.Duplicates
}

// harnessClock reads the harness's clock once the harness exists: the
// sink needs a clock before the harness is built, the harness a sink.
type harnessClock struct{ h **worktest.Harness }

func (c harnessClock) Now() time.Time { return (*c.h).Clock.Now() }

func newCity(t *testing.T, o cityOptions) *city {
	t.Helper()
	var h *worktest.Harness
	clk := harnessClock{&h}
	// The servers start before the simulators, which need the harness's
	// clock; their handlers are filled in below.
	var cmsH, o311H http.Handler
	cmsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cmsH.ServeHTTP(w, r) }))
	t.Cleanup(cmsSrv.Close)
	o311Srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { o311H.ServeHTTP(w, r) }))
	t.Cleanup(o311Srv.Close)
	cmsC, err := cms.New(cms.Options{BaseURL: cmsSrv.URL, APIKey: cmssim.DefaultAPIKey, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := open311.New(open311.Options{BaseURL: o311Srv.URL, APIKey: open311sim.DefaultAPIKey})
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
	c := &city{t: t, pool: pool, cmsC: cmsC, o311C: oc, cfg: cfg}
	h = worktest.New(t, worktest.Config{
		Source: src, Sink: sink, Pool: pool, Twice: o.twice, Lose: o.lose,
		Engine: func(e *work.Config) { e.BatchSize, e.Logger = 25, quiet },
		// Effects counts, in the Open311 server itself, the requests that
		// carry each episode's marker.
		Effects: func(context.Context) (map[string]int, error) {
			out := map[string]int{}
			for _, r := range c.o311.Requests() {
				if m := markerRE.FindStringSubmatch(r.Description); m != nil {
					out["episode "+m[1]]++
				}
			}
			return out, nil
		},
	})
	city := simcity.New(7, o.lights)
	c.h = h
	c.cms = cmssim.NewServer(cmssim.Options{City: city, Seed: 7, Clock: h.Clock.Now, AlarmsPerDay: o.alarmsPerDay, ChangesPerDay: -1,
		Faults: simcity.Faults{Seed: 3, ErrorRate: o.errorRate}})
	c.o311 = open311sim.NewServer(open311sim.Options{Seed: 7, Now: h.Clock.Now, City: city, TokenDelay: -1, Duplicates: o.duplicates,
		Faults: simcity.Faults{Seed: 4, ErrorRate: o.errorRate}})
	c.lossy = &lossy{next: c.o311, rate: o.lostRate, rng: rand.New(rand.NewPCG(5, 5))}
	cmsH = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			c.cmsWrites.Add(1)
		}
		c.cms.ServeHTTP(w, r)
	})
	o311H = c.lossy
	return c
}

// run plans a run and works it to the end, rescuing lost workers' batches.
func (c *city) run() *worktest.Run {
	c.t.Helper()
	return c.h.Run(c.t)
}

// advance moves the city on by d.
func (c *city) advance(d time.Duration) {
	c.h.Clock.Advance(d)
	now := c.h.Clock.Now()
	c.cms.Advance(now)
	c.o311.Advance(now)
}

// now is the city's time.
func (c *city) now() time.Time { return c.h.Clock.Now() }

var markerRE = regexp.MustCompile(`\[citylink alarm-311 episode (\d+)\]`)

// TestExactlyOneRequestPerEpisode runs alarm-311 every 8 hours over a week on
// a city of 3,000 lights, with every chain link delivered twice, every
// seventh worker lost mid-batch, 5% errors from both simulators and a tenth
// of the POST answers lost after the request was filed.
func TestExactlyOneRequestPerEpisode(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 3000, alarmsPerDay: 60, errorRate: 0.05, lostRate: 0.1,
		twice: func(work.Link) bool { return true }, lose: worktest.Every(7)})
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
	byEpisode := map[string][]open311sim.Request{}
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
	c.h.NoEffectTwice(t)
	if c.h.Lost() == 0 {
		t.Error("no worker was lost: the test exercised no rescue")
	}
	t.Logf("%d workers lost; %d alarms, %d episodes (%d closed, %d by token), %d posts (%d answers lost)",
		c.h.Lost(), alarms, episodes, closed, tokens, c.lossy.posts.Load(), c.lossy.lost.Load())
}
