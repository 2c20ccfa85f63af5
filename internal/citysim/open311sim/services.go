package citysim

import (
	"net/http"
	"time"
)

// open311Discovery serves the service discovery document.
func (s *Open311) open311Discovery(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	changeset := open311Time(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	open311WriteJSON(w, http.StatusOK, map[string]any{
		"changeset":   changeset,
		"contact":     "Simulated city 311, citylink. Not a real service.",
		"key_service": "API keys are configured in the simulator's options.",
		"endpoints": []map[string]any{{
			"specification": "http://wiki.open311.org/GeoReport_v2",
			"url":           scheme + "://" + r.Host,
			"changeset":     changeset,
			"type":          "test",
			"formats":       []string{"application/json", "text/xml"},
		}},
	})
}

// open311Root routes GET services.{fmt} and requests.{fmt}.
func (s *Open311) open311Root(w http.ResponseWriter, r *http.Request) {
	name, f, ok := open311SplitFormat(r.PathValue("resource"))
	if !ok {
		open311WriteError(w, open311JSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.open311Jurisdiction(w, r, f) {
		return
	}
	switch name {
	case "services":
		views := make([]open311ServiceView, 0, len(s.services))
		for i := range s.services {
			views = append(views, open311ServiceViewOf(&s.services[i]))
		}
		open311Write(w, f, views, open311ServicesXML{Services: views})
	case "requests":
		s.open311List(w, r, f)
	default:
		open311WriteError(w, f, http.StatusNotFound, "unknown resource "+name)
	}
}

// open311Definition serves services/{service_code}.{fmt}.
func (s *Open311) open311Definition(w http.ResponseWriter, r *http.Request) {
	code, f, ok := open311SplitFormat(r.PathValue("file"))
	if !ok {
		open311WriteError(w, open311JSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.open311Jurisdiction(w, r, f) {
		return
	}
	svc, ok := s.byCode[code]
	if !ok {
		open311WriteError(w, f, http.StatusNotFound, "service_code "+code+" not found")
		return
	}
	d := open311DefinitionViewOf(svc)
	open311Write(w, f, d, d)
}

// open311Jurisdiction answers 404 and reports false when the request names a
// jurisdiction this server does not serve.
func (s *Open311) open311Jurisdiction(w http.ResponseWriter, r *http.Request, f open311Format) bool {
	j := r.FormValue("jurisdiction_id")
	if j == "" || j == s.opts.Jurisdiction {
		return true
	}
	open311WriteError(w, f, http.StatusNotFound, "jurisdiction_id "+j+" not found")
	return false
}
