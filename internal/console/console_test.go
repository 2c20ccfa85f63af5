package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// poleSource serves a fixed list of poles once.
type poleSource struct{ keys []string }

func (s poleSource) Changes(_ context.Context, after work.Watermark) (work.Page, error) {
	if after != nil {
		return work.Page{Next: after}, nil
	}
	p := work.Page{Next: work.Watermark(`{"read":true}`)}
	for _, k := range s.keys {
		p.Items = append(p.Items, work.Item{Key: k, Payload: json.RawMessage(`{"asset":"` + k + `"}`)})
	}
	return p, nil
}

// poleSink kills the items it is told are broken.
type poleSink struct {
	mu     sync.Mutex
	broken map[string]bool
}

func (s *poleSink) Apply(_ context.Context, items []work.Item) ([]work.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	outs := make([]work.Outcome, len(items))
	for i, it := range items {
		if s.broken[it.Key] {
			outs[i] = work.Permanent(fmt.Errorf("CMS rejected %s", it.Key))
		} else {
			outs[i] = work.Success("cms-" + it.Key)
		}
	}
	return outs, nil
}

// runner runs one workflow in process, as `citylink dev` does.
type runner struct {
	engine *work.Engine
	local  *work.Local
}

func (r *runner) Workflows() []string { return []string{r.engine.Workflow()} }

func (r *runner) Start(ctx context.Context, wf string) (int64, error) {
	res, err := r.engine.Plan(ctx)
	return res.Run, err
}

// fakeSystem is a simulated system reduced to its switch.
type fakeSystem struct {
	mu sync.Mutex
	f  Faults
}

func (s *fakeSystem) Name() string { return "cms" }
func (s *fakeSystem) URL() string  { return "http://127.0.0.1:1" }
func (s *fakeSystem) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}
func (s *fakeSystem) SetFaults(f Faults) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.f = f
	return nil
}
func (s *fakeSystem) Rates() Rates { return Rates{Requests: 3} }

type fixture struct {
	srv  *httptest.Server
	pool *pgxpool.Pool
	run  *runner
	sink *poleSink
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.Pool(t)
	f := &fixture{pool: pool, sink: &poleSink{broken: map[string]bool{"SL-3": true, "SL-7": true}}}
	local := work.NewLocal(context.Background(), nil)
	e, err := work.New(work.Config{Workflow: "test-import", DB: pool, Publisher: local, BatchSize: 5,
		Source: poleSource{[]string{"SL-1", "SL-2", "SL-3", "SL-4", "SL-5", "SL-6", "SL-7", "SL-8", "SL-9", "SL-10", "SL-11", "SL-12"}},
		Sink:   f.sink, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	local.Deliver = e.Work
	f.run = &runner{engine: e, local: local}
	c, err := New(Config{DB: pool, Runner: f.run, City: []System{&fakeSystem{}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(c)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

// TestRunsReplayAndAsset drives the console's endpoints as its page does:
// start a run, watch it close, read its failures, replay one item and then
// the rest, and look an asset up.
func TestRunsReplayAndAsset(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var started struct{ Run int64 }
	if code := f.do(t, "POST", "/api/workflows/test-import/runs", "{}", &started); code != http.StatusCreated || started.Run == 0 {
		t.Fatalf("start = %d %+v", code, started)
	}
	if err := f.run.local.Wait(); err != nil {
		t.Fatal(err)
	}
	var wfs []workflowView
	f.do(t, "GET", "/api/workflows", "", &wfs)
	if len(wfs) != 1 || !wfs[0].Startable || len(wfs[0].Runs) != 1 || wfs[0].Runs[0].Done != 12 || wfs[0].Runs[0].Dead != 2 || wfs[0].Runs[0].State != "partial" {
		t.Fatalf("workflows = %+v", wfs)
	}
	var d runDetail
	if code := f.do(t, "GET", fmt.Sprintf("/api/runs/%d", started.Run), "", &d); code != http.StatusOK {
		t.Fatalf("run: %d", code)
	}
	if len(d.Batches) != 3 || len(d.Problems) != 2 || d.Problems[0].Key != "SL-3" || d.Problems[0].Error != "CMS rejected SL-3" {
		t.Fatalf("run = %+v", d)
	}
	var tp struct {
		Points []work.Rate `json:"points"`
	}
	f.do(t, "GET", fmt.Sprintf("/api/runs/%d/throughput", started.Run), "", &tp)
	if n := sumRates(tp.Points); n != 12 {
		t.Fatalf("throughput adds up to %d items, want 12: %+v", n, tp.Points)
	}

	// The CMS takes SL-3 now: replaying that one item starts a run of it.
	f.sink.mu.Lock()
	delete(f.sink.broken, "SL-3")
	f.sink.mu.Unlock()
	var rv replayView
	if code := f.do(t, "POST", fmt.Sprintf("/api/items/%d/replay", d.Problems[0].ID), "{}", &rv); code != http.StatusOK ||
		len(rv.Queued) != 1 || rv.Run == 0 || rv.Run == started.Run {
		t.Fatalf("item replay = %d %+v", code, rv)
	}
	if err := f.run.local.Wait(); err != nil {
		t.Fatal(err)
	}
	if code := f.do(t, "POST", fmt.Sprintf("/api/items/%d/replay", d.Problems[0].ID), "{}", nil); code != http.StatusConflict {
		t.Fatalf("replaying a carried item again: %d", code)
	}
	if code := f.do(t, "POST", fmt.Sprintf("/api/runs/%d/replay", started.Run), "{}", nil); code != http.StatusBadRequest {
		t.Fatalf("a replay that names no state: %d", code)
	}
	if code := f.do(t, "POST", fmt.Sprintf("/api/runs/%d/replay", started.Run), `{"dead":true}`, &rv); code != http.StatusOK || len(rv.Queued) != 1 || rv.Queued[0] != d.Problems[1].ID {
		t.Fatalf("run replay = %d %+v", code, rv)
	}
	if err := f.run.local.Wait(); err != nil {
		t.Fatal(err)
	}

	var a struct {
		Items   []work.ItemRecord `json:"items"`
		Open311 []episode         `json:"open_311"`
	}
	f.do(t, "GET", "/api/assets/SL-3", "", &a)
	if len(a.Items) != 2 || a.Items[0].State != work.Failed || a.Items[1].State != work.Succeeded || a.Open311 == nil {
		t.Fatalf("asset SL-3 = %+v", a)
	}
	if _, err := f.pool.Exec(context.Background(), `INSERT INTO alarm_episodes (asset_id, alarm_type, device_id, service_code, reason, opened_at, created_at, marker, updated_at, request_id, state)
		VALUES ('SL-3', 'lamp_out', 'D-3', 'SLO', 'lamp out', now(), now(), 'm-1', now(), 'R-77', 'open')`); err != nil {
		t.Fatal(err)
	}
	f.do(t, "GET", "/api/assets/SL-3", "", &a)
	if len(a.Open311) != 1 || a.Open311[0].RequestID != "R-77" {
		t.Fatalf("open 311 of SL-3 = %+v", a.Open311)
	}

	for path, want := range map[string]int{
		"/api/runs/999999":            http.StatusNotFound,
		"/api/runs/abc":               http.StatusBadRequest,
		"/api/runs/999999/throughput": http.StatusNotFound,
		"/":                           http.StatusOK,
		"/static/console.js":          http.StatusOK,
		"/static/no-such-file.js":     http.StatusNotFound,
	} {
		if code := f.do(t, "GET", path, "", nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	if code := f.do(t, "POST", "/api/workflows/nope/runs", "{}", nil); code != http.StatusNotFound {
		t.Errorf("starting an unknown workflow: %d", code)
	}
}

func sumRates(rs []work.Rate) int {
	n := 0
	for _, r := range rs {
		n += r.Items
	}
	return n
}

// TestFaultSwitches sets a system's faults through the console and refuses
// what makes no sense, and posts that are not JSON.
func TestFaultSwitches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var sv systemView
	if code := f.do(t, "POST", "/api/city/cms/faults", `{"error_rate":0.5,"latency_ms":20}`, &sv); code != http.StatusOK || sv.Faults.ErrorRate != 0.5 || sv.Faults.LatencyMS != 20 {
		t.Fatalf("switching faults = %d %+v", code, sv)
	}
	var city []systemView
	f.do(t, "GET", "/api/city", "", &city)
	if len(city) != 1 || city[0].Faults.ErrorRate != 0.5 || city[0].Rates.Requests != 3 {
		t.Fatalf("city = %+v", city)
	}
	for body, want := range map[string]int{
		`{"error_rate":1.5}`:                     http.StatusBadRequest,
		`{"error_rate":0.6,"throttle_rate":0.6}`: http.StatusBadRequest,
		`{"latency_ms":-1}`:                      http.StatusBadRequest,
		`{"error_rate":"lots"}`:                  http.StatusBadRequest,
		`{"eror_rate":0.1}`:                      http.StatusBadRequest,
	} {
		if code := f.do(t, "POST", "/api/city/cms/faults", body, nil); code != want {
			t.Errorf("faults %s: %d, want %d", body, code, want)
		}
	}
	f.do(t, "GET", "/api/city", "", &city)
	if city[0].Faults.ErrorRate != 0.5 {
		t.Errorf("a refused switch changed the faults: %+v", city[0].Faults)
	}
	if code := f.do(t, "POST", "/api/city/ferry/faults", `{}`, nil); code != http.StatusNotFound {
		t.Errorf("faults of an unknown system: %d", code)
	}
	resp, err := http.Post(f.srv.URL+"/api/city/cms/faults", "application/x-www-form-urlencoded", strings.NewReader("error_rate=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form post: %d, want 415", resp.StatusCode)
	}
}
