package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/console"
)

// gate stands in front of one simulated system in `citylink dev`: a
// reverse proxy whose faults the console switches while the city runs, and
// which counts the requests that pass, for the console's live rates. The
// simulators take their faults once, at start; the gate is what makes them
// switchable without reaching into them.
type gate struct {
	name, target, url string
	srv               *http.Server
	proxy             http.Handler

	mu      sync.Mutex
	faults  console.Faults
	handler atomic.Pointer[http.Handler]
	seed    uint64
	counts  [rateWindow + 1]secondCount
}

// rateWindow is the seconds the live rates average over.
const rateWindow = 5

type secondCount struct {
	sec                 int64
	req, errs, throttle int
}

// startGate serves a gate to target on a free loopback port.
func startGate(name, target string, f console.Faults, seed uint64) (*gate, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gate{name: name, target: target, url: "http://" + ln.Addr().String(), seed: seed}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, r.Context().Err()) {
			return // the client gave up (a hang it met, or its own timeout)
		}
		http.Error(w, "gate: "+err.Error(), http.StatusBadGateway)
	}
	g.proxy = rp
	if err := g.SetFaults(f); err != nil {
		ln.Close()
		return nil, err
	}
	g.srv = &http.Server{Handler: http.HandlerFunc(g.serve), ReadHeaderTimeout: 10 * time.Second}
	go g.srv.Serve(ln)
	return g, nil
}

func (g *gate) serve(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	(*g.handler.Load()).ServeHTTP(sw, r)
	g.count(sw.status)
}

func (g *gate) count(status int) {
	now := time.Now().Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := &g.counts[now%int64(len(g.counts))]
	if c.sec != now {
		*c = secondCount{sec: now}
	}
	c.req++
	switch {
	case status == http.StatusTooManyRequests:
		c.throttle++
	case status >= 500:
		c.errs++
	}
}

// Name, URL, Faults, SetFaults and Rates make a gate a console.System.
func (g *gate) Name() string { return g.name }
func (g *gate) URL() string  { return g.url }

func (g *gate) Faults() console.Faults {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults
}

func (g *gate) SetFaults(f console.Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seed++
	h := simcity.Faults{
		Seed: g.seed, ErrorRate: f.ErrorRate, ThrottleRate: f.ThrottleRate, HangRate: f.HangRate,
		Latency: time.Duration(f.LatencyMS) * time.Millisecond, RetryAfter: time.Second,
	}.Wrap(g.proxy)
	g.handler.Store(&h)
	g.faults = f
	return nil
}

func (g *gate) Rates() console.Rates {
	now := time.Now().Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	var r console.Rates
	for _, c := range g.counts {
		// The last rateWindow whole seconds; the current one is still
		// counting.
		if c.sec < now && c.sec >= now-rateWindow {
			r.Requests += float64(c.req)
			r.Errors += float64(c.errs)
			r.Throttled += float64(c.throttle)
		}
	}
	r.Requests /= rateWindow
	r.Errors /= rateWindow
	r.Throttled /= rateWindow
	return r
}

func (g *gate) Close() error { return g.srv.Close() }

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
