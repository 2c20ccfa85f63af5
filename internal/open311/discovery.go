package open311

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/httpretry"
)

// SpecGeoReportV2 is the specification URL discovery documents give for
// GeoReport v2 endpoints.
const SpecGeoReportV2 = "http://wiki.open311.org/GeoReport_v2"

// Discovery is a server's service discovery document.
type Discovery struct {
	Changeset  string
	Contact    string
	KeyService string
	Endpoints  []Endpoint
}

// Endpoint is one API endpoint a discovery document lists.
type Endpoint struct {
	Specification string
	URL           string
	Changeset     string
	// Type is production or test.
	Type    string
	Formats []string
}

// DiscoverTimeout bounds Discover when the caller's context allows longer.
const DiscoverTimeout = 30 * time.Second

// Discover reads the discovery document at discoveryURL with hc (a client
// over the retrying transport when nil), in JSON or XML (the spec serves
// both, discovery.json and discovery.xml), within DiscoverTimeout.
func Discover(ctx context.Context, hc *http.Client, discoveryURL string) (Discovery, error) {
	if hc == nil {
		hc = &http.Client{Transport: httpretry.New(nil, httpretry.Policy{})}
	}
	ctx, cancel := context.WithTimeout(ctx, DiscoverTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return Discovery{}, fmt.Errorf("building discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json, text/xml;q=0.9")
	resp, err := hc.Do(req)
	if err != nil {
		return Discovery{}, fmt.Errorf("getting discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := readAnswer(resp)
	if err != nil {
		return Discovery{}, fmt.Errorf("getting discovery: %w", err)
	}
	var w wireDiscovery
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '<' {
		err = xml.Unmarshal(trimmed, &w)
	} else {
		err = json.Unmarshal(body, &w)
	}
	if err != nil {
		return Discovery{}, fmt.Errorf("getting discovery: decoding answer: %w", err)
	}
	d := Discovery{Changeset: string(w.Changeset), Contact: w.Contact, KeyService: w.KeyService}
	for _, e := range w.Endpoints {
		d.Endpoints = append(d.Endpoints, Endpoint{
			Specification: strings.TrimSpace(e.Specification), URL: strings.TrimSpace(e.URL), Changeset: string(e.Changeset),
			Type: strings.ToLower(strings.TrimSpace(e.Type)), Formats: e.Formats,
		})
	}
	return d, nil
}

// wireDiscovery is the discovery document in either format.
type wireDiscovery struct {
	Changeset  flexString `json:"changeset" xml:"changeset"`
	Contact    string     `json:"contact" xml:"contact"`
	KeyService string     `json:"key_service" xml:"key_service"`
	Endpoints  []struct {
		Specification string     `json:"specification" xml:"specification"`
		URL           string     `json:"url" xml:"url"`
		Changeset     flexString `json:"changeset" xml:"changeset"`
		Type          string     `json:"type" xml:"type"`
		Formats       []string   `json:"formats" xml:"formats>format"`
	} `json:"endpoints" xml:"endpoints>endpoint"`
}

// Format is the format to speak to the endpoint in: JSON when it lists
// it, XML (which GeoReport v2 makes mandatory) otherwise.
func (e Endpoint) Format() Format {
	if slices.ContainsFunc(e.Formats, func(f string) bool { return strings.Contains(strings.ToLower(f), "json") }) {
		return JSON
	}
	return XML
}

// GeoReportV2 picks the GeoReport v2 endpoint of the given type (production
// or test), preferring https, then JSON; it is the BaseURL for New, and its
// Format the Config's Format. Endpoints that serve only XML are kept: the
// client speaks XML.
func (d Discovery) GeoReportV2(typ string) (Endpoint, bool) {
	var best Endpoint
	found := false
	rank := func(e Endpoint) int {
		r := 0
		if strings.HasPrefix(e.URL, "https://") {
			r += 2
		}
		if e.Format() == JSON {
			r++
		}
		return r
	}
	for _, e := range d.Endpoints {
		spec := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e.Specification, "https://"), "http://"), "/")
		if spec != strings.TrimPrefix(SpecGeoReportV2, "http://") || e.Type != typ {
			continue
		}
		if !found || rank(e) > rank(best) {
			best, found = e, true
		}
	}
	return best, found
}
