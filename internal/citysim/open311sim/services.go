package open311sim

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// discovery serves the service discovery document, as discovery.json or
// discovery.xml: the spec requires both.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	changeset := formatTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d := discoveryView{
		Changeset:  changeset,
		Contact:    "Simulated city 311, citylink. Not a real service.",
		KeyService: "API keys are configured in the simulator's options.",
		Endpoints: []endpointView{{
			Specification: "http://wiki.open311.org/GeoReport_v2",
			URL:           scheme + "://" + r.Host,
			Changeset:     changeset,
			Type:          "test",
			Formats:       []string{"application/json", "text/xml"},
		}},
	}
	f := formatJSON
	if strings.HasSuffix(r.URL.Path, ".xml") {
		f = formatXML
	}
	write(w, f, d, d)
}

// discoveryView is the service discovery document.
type discoveryView struct {
	XMLName    xml.Name       `json:"-" xml:"discovery"`
	Changeset  string         `json:"changeset" xml:"changeset"`
	Contact    string         `json:"contact" xml:"contact"`
	KeyService string         `json:"key_service" xml:"key_service"`
	Endpoints  []endpointView `json:"endpoints" xml:"endpoints>endpoint"`
}

type endpointView struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

// root routes GET services.{fmt} and requests.{fmt}.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	name, f, ok := splitFormat(r.PathValue("resource"))
	if !ok {
		writeError(w, formatJSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.jurisdiction(w, r, f) {
		return
	}
	switch name {
	case "services":
		views := make([]serviceView, 0, len(s.services))
		for i := range s.services {
			views = append(views, serviceViewOf(&s.services[i]))
		}
		write(w, f, views, servicesXML{Services: views})
	case "requests":
		s.list(w, r, f)
	default:
		writeError(w, f, http.StatusNotFound, "unknown resource "+name)
	}
}

// definition serves services/{service_code}.{fmt}.
func (s *Server) definition(w http.ResponseWriter, r *http.Request) {
	code, f, ok := splitFormat(r.PathValue("file"))
	if !ok {
		writeError(w, formatJSON, http.StatusNotFound, "unknown resource; add .json or .xml")
		return
	}
	if !s.jurisdiction(w, r, f) {
		return
	}
	svc, ok := s.byCode[code]
	if !ok {
		writeError(w, f, http.StatusNotFound, "service_code "+code+" not found")
		return
	}
	d := definitionViewOf(svc)
	write(w, f, d, d)
}

// jurisdiction answers 404 and reports false when the request names a
// jurisdiction this server does not serve.
func (s *Server) jurisdiction(w http.ResponseWriter, r *http.Request, f format) bool {
	j := r.FormValue("jurisdiction_id")
	if j == "" || j == s.opts.Jurisdiction {
		return true
	}
	writeError(w, f, http.StatusNotFound, "jurisdiction_id "+j+" not found")
	return false
}
