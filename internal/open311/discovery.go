package open311

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

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

// Discover reads the discovery document at discoveryURL with hc (a client
// over the retrying transport when nil).
func Discover(ctx context.Context, hc *http.Client, discoveryURL string) (Discovery, error) {
	if hc == nil {
		hc = &http.Client{Transport: httpretry.New(nil, httpretry.Policy{})}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL, nil)
	if err != nil {
		return Discovery{}, fmt.Errorf("building discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Discovery{}, fmt.Errorf("getting discovery: %w", err)
	}
	defer resp.Body.Close()
	var w struct {
		Changeset  flexString `json:"changeset"`
		Contact    string     `json:"contact"`
		KeyService string     `json:"key_service"`
		Endpoints  []struct {
			Specification string     `json:"specification"`
			URL           string     `json:"url"`
			Changeset     flexString `json:"changeset"`
			Type          string     `json:"type"`
			Formats       []string   `json:"formats"`
		} `json:"endpoints"`
	}
	if err := decode(resp, &w); err != nil {
		return Discovery{}, fmt.Errorf("getting discovery: %w", err)
	}
	d := Discovery{Changeset: string(w.Changeset), Contact: w.Contact, KeyService: w.KeyService}
	for _, e := range w.Endpoints {
		d.Endpoints = append(d.Endpoints, Endpoint{
			Specification: e.Specification, URL: e.URL, Changeset: string(e.Changeset),
			Type: strings.ToLower(e.Type), Formats: e.Formats,
		})
	}
	return d, nil
}

// GeoReportV2 picks the GeoReport v2 endpoint of the given type (production
// or test) that serves JSON, preferring https; it is the BaseURL for New.
func (d Discovery) GeoReportV2(typ string) (Endpoint, bool) {
	var best Endpoint
	found := false
	for _, e := range d.Endpoints {
		spec := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e.Specification, "https://"), "http://"), "/")
		if spec != strings.TrimPrefix(SpecGeoReportV2, "http://") || e.Type != typ {
			continue
		}
		if !slices.ContainsFunc(e.Formats, func(f string) bool { return strings.Contains(f, "json") }) {
			continue
		}
		if !found || (strings.HasPrefix(e.URL, "https://") && !strings.HasPrefix(best.URL, "https://")) {
			best, found = e, true
		}
	}
	return best, found
}
