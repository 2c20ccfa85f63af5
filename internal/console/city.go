package console

import (
	"fmt"
	"net/http"
)

// systemView is a simulated system as the console shows it.
type systemView struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Faults Faults `json:"faults"`
	Rates  Rates  `json:"rates"`
}

func (c *Console) city(w http.ResponseWriter, r *http.Request) {
	out := make([]systemView, 0, len(c.cfg.City))
	for _, s := range c.cfg.City {
		out = append(out, systemView{Name: s.Name(), URL: s.URL(), Faults: s.Faults(), Rates: s.Rates()})
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) setFaults(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("system")
	var sys System
	for _, s := range c.cfg.City {
		if s.Name() == name {
			sys = s
		}
	}
	if sys == nil {
		problem(w, http.StatusNotFound, fmt.Sprintf("no simulated system %q", name))
		return
	}
	var f Faults
	if !decode(w, r, &f) {
		return
	}
	if err := f.Validate(); err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := sys.SetFaults(f); err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.InfoContext(r.Context(), "faults switched", "system", name, "error_rate", f.ErrorRate,
		"throttle_rate", f.ThrottleRate, "hang_rate", f.HangRate, "latency_ms", f.LatencyMS)
	writeJSON(w, http.StatusOK, systemView{Name: name, URL: sys.URL(), Faults: sys.Faults(), Rates: sys.Rates()})
}
