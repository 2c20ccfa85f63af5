// Package console is the operations console `citylink dev` serves: runs per
// workflow with live progress, a run's batches and its failed and dead items
// with replay, an asset's history across workflows with its open 311
// episode, and the simulated city's fault switches and request rates. The
// pages are HTML, CSS and a little JavaScript embedded in the binary (nothing
// from a CDN); everything they show comes from the JSON endpoints below, so
// scripts can use those too.
//
//	GET  /api/workflows                 runs per workflow, with live counts
//	POST /api/workflows/{name}/runs     start a run now
//	GET  /api/runs/{id}                 a run: progress, batches, failed and dead items
//	GET  /api/runs/{id}/throughput      items finished per interval
//	POST /api/runs/{id}/replay          replay its failed and/or dead items in a new run
//	POST /api/items/{id}/replay         replay one item in a new run
//	GET  /api/assets/{id}               an asset's items in every workflow, its open 311 episodes
//	GET  /api/city                      the simulated systems: faults and request rates
//	POST /api/city/{system}/faults      switch a system's faults
//
// POST bodies are JSON and must say so in Content-Type, so a form on another
// site cannot post to the console.
package console

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/citylink/citylink/internal/work"
)

//go:embed static
var static embed.FS

// Runner starts runs of the workflows it knows. `citylink dev` passes its
// scheduled workflows.
type Runner interface {
	// Workflows names the workflows, in the order the console lists them.
	Workflows() []string
	// Start plans a run of workflow now and returns its id; the run is
	// worked in the background. It returns work.ErrRunOpen while a run of
	// the workflow is open.
	Start(ctx context.Context, workflow string) (int64, error)
}

// Faults is the trouble a simulated system is told to make.
type Faults struct {
	ErrorRate    float64 `json:"error_rate"`
	ThrottleRate float64 `json:"throttle_rate"`
	HangRate     float64 `json:"hang_rate"`
	LatencyMS    int     `json:"latency_ms"`
}

// Validate rejects rates outside [0, 1], rates that add up to more than
// all requests, and negative latency.
func (f Faults) Validate() error {
	for _, r := range []float64{f.ErrorRate, f.ThrottleRate, f.HangRate} {
		if r < 0 || r > 1 {
			return errors.New("rates are shares of requests, from 0 to 1")
		}
	}
	if f.ErrorRate+f.ThrottleRate+f.HangRate > 1 {
		return errors.New("error, throttle and hang rates add up to more than 1")
	}
	if f.LatencyMS < 0 || f.LatencyMS > 600_000 {
		return errors.New("latency must be from 0 to 600000 ms")
	}
	return nil
}

// Rates are a system's requests per second over the last few seconds, by
// what they got.
type Rates struct {
	Requests  float64 `json:"requests_per_second"`
	Errors    float64 `json:"errors_per_second"`
	Throttled float64 `json:"throttled_per_second"`
}

// System is one simulated city system whose faults can be switched while it
// runs.
type System interface {
	Name() string
	URL() string
	Faults() Faults
	SetFaults(Faults) error
	Rates() Rates
}

// Config configures a Console.
type Config struct {
	// DB holds the engine's runs and items. Required.
	DB work.DB
	// Runner starts runs; nil means runs only start on their schedule.
	Runner Runner
	// City is the simulated systems, in the order the console lists them.
	City []System
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Console serves the operations console.
type Console struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New returns a Console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.DB == nil {
		return nil, errors.New("console: config needs a database")
	}
	c := &Console{cfg: cfg, log: cmp.Or(cfg.Logger, slog.Default()), mux: http.NewServeMux()}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	c.mux.Handle("GET /{$}", serveFile(files, "index.html"))
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	c.mux.HandleFunc("GET /api/workflows", c.workflows)
	c.mux.HandleFunc("POST /api/workflows/{name}/runs", c.startRun)
	c.mux.HandleFunc("GET /api/runs/{id}", c.run)
	c.mux.HandleFunc("GET /api/runs/{id}/throughput", c.throughput)
	c.mux.HandleFunc("POST /api/runs/{id}/replay", c.replayRun)
	c.mux.HandleFunc("POST /api/items/{id}/replay", c.replayItem)
	c.mux.HandleFunc("GET /api/assets/{id}", c.asset)
	c.mux.HandleFunc("GET /api/city", c.city)
	c.mux.HandleFunc("POST /api/city/{system}/faults", c.setFaults)
	return c, nil
}

// ServeHTTP serves the console's pages and endpoints.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			problem(w, http.StatusUnsupportedMediaType, "POST bodies must be application/json")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	}
	c.mux.ServeHTTP(w, r)
}

func serveFile(files fs.FS, name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, files, name)
	})
}

// problem writes an error as application/problem+json, as the telemetry
// API does.
func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail answers an error from the engine: a missing run is 404, an open run
// 409, anything else 500 (logged here, at the edge).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, work.ErrRunNotFound):
		problem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, work.ErrRunOpen):
		problem(w, http.StatusConflict, "a run of this workflow is still open; wait until it closes")
	default:
		c.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "error", err)
		problem(w, http.StatusInternalServerError, err.Error())
	}
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		problem(w, http.StatusBadRequest, "the id must be a positive whole number")
		return 0, false
	}
	return id, true
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return false
	}
	return true
}

// since is how long ago t was, for durations of runs still working.
func since(t time.Time, end *time.Time) float64 {
	if end != nil {
		return end.Sub(t).Seconds()
	}
	return time.Since(t).Seconds()
}
