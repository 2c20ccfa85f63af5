package open311sim

import (
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPostRejectsNonFiniteCoordinates(t *testing.T) {
	t.Parallel()
	// NaN and Inf parse as floats and slip past range checks (every
	// comparison with NaN is false); once stored, no JSON encoder can
	// write the request, and every later GET failed.
	_, srv, _ := testServer(t, Options{Seed: 1})
	for _, bad := range [][2]string{{"NaN", "-87.6"}, {"41.8", "NaN"}, {"Inf", "1"}, {"-Inf", "1"}, {"41.8", "+Inf"}} {
		form := validForm("SL-0000001")
		form.Set("lat", bad[0])
		form.Set("long", bad[1])
		status, body := postForm(t, srv.URL, form)
		var errs []struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		}
		if status != 400 || json.Unmarshal([]byte(body), &errs) != nil || len(errs) != 1 || errs[0].Code != 400 {
			t.Errorf("lat %s long %s: %d %s, want the spec's 400 error array", bad[0], bad[1], status, body)
		}
	}
	status, body := getBody(t, srv.URL+"/requests.json")
	var list []map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil {
		t.Errorf("GET requests.json after the bad POSTs: %d %q", status, body)
	}
}

func TestEncodingErrorsAreNotSwallowed(t *testing.T) {
	t.Parallel()
	// Whatever cannot be encoded is a 500 with an error document, never a
	// 200 with an empty body.
	for _, f := range []format{formatJSON, formatXML} {
		rec := httptest.NewRecorder()
		write(rec, f, []any{math.NaN()}, struct {
			XMLName xml.Name `xml:"bad"`
			C       chan int `xml:"c"`
		}{})
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "500") {
			t.Errorf("%s: %d %q, want a 500 error document", f, rec.Code, rec.Body.String())
		}
	}
}

func TestDiscoveryInXMLAndJSON(t *testing.T) {
	t.Parallel()
	// Service discovery "must be both xml and json".
	_, srv, _ := testServer(t, Options{Seed: 1})
	status, body := getBody(t, srv.URL+"/discovery.xml")
	var d struct {
		XMLName   xml.Name `xml:"discovery"`
		Changeset string   `xml:"changeset"`
		Endpoints []struct {
			Specification string   `xml:"specification"`
			URL           string   `xml:"url"`
			Type          string   `xml:"type"`
			Formats       []string `xml:"formats>format"`
		} `xml:"endpoints>endpoint"`
	}
	if status != 200 || xml.Unmarshal([]byte(body), &d) != nil || len(d.Endpoints) != 1 ||
		d.Endpoints[0].Specification != "http://wiki.open311.org/GeoReport_v2" || d.Endpoints[0].URL != srv.URL || len(d.Endpoints[0].Formats) != 2 || d.Changeset == "" {
		t.Errorf("discovery.xml: %d %s", status, body)
	}
	if status, _ := getBody(t, srv.URL+"/discovery.json"); status != 200 {
		t.Errorf("discovery.json: %d", status)
	}
}

func TestEndDateIncludesThePublishedSecond(t *testing.T) {
	t.Parallel()
	// A request filed at 09:00:00.250 is published as 09:00:00Z; asking
	// for end_date=09:00:00Z, its own published time, must find it.
	sim, srv, clock := testServer(t, Options{Seed: 1})
	clock.Set(time.Date(2026, 11, 2, 9, 0, 0, 250_000_000, time.UTC))
	if status, body := postForm(t, srv.URL, validForm("SL-0000001")); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}
	reqs := sim.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d", len(reqs))
	}
	published := formatTime(reqs[0].Requested)
	q := url.Values{"start_date": {"2026-11-01T00:00:00Z"}, "end_date": {published}}
	status, body := getBody(t, srv.URL+"/requests.json?"+q.Encode())
	var list []map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 1 {
		t.Errorf("end_date=%s (the request's own requested_datetime): %d %s, want the request", published, status, body)
	}
	q = url.Values{"start_date": {published}, "end_date": {"2026-11-03T00:00:00Z"}}
	if _, body := getBody(t, srv.URL+"/requests.json?"+q.Encode()); !strings.Contains(body, reqs[0].ID) {
		t.Errorf("start_date=%s: %s, want the request", published, body)
	}
}

func TestEmptyOptionalValuesAreLeftOut(t *testing.T) {
	t.Parallel()
	// The spec's examples leave empty optional values out (or null); a
	// URI-typed field like media_url is never "".
	_, srv, _ := testServer(t, Options{Seed: 1})
	form := validForm("SL-0000001")
	form.Del("description")
	if status, body := postForm(t, srv.URL, form); status != 200 {
		t.Fatalf("post: %d %s", status, body)
	}
	_, body := getBody(t, srv.URL+"/requests.json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
		t.Fatalf("GET: %s %v", body, err)
	}
	for k, v := range list[0] {
		if v == "" {
			t.Errorf("%s is \"\" in %s", k, body)
		}
	}
	_, body = getBody(t, srv.URL+"/requests.xml")
	if strings.Contains(body, "<media_url></media_url>") || strings.Contains(body, "<media_url/>") {
		t.Errorf("XML carries an empty media_url: %s", body)
	}
}

func TestPostBoundsAddressString(t *testing.T) {
	t.Parallel()
	_, srv, _ := testServer(t, Options{Seed: 1})
	form := validForm("SL-0000001")
	form.Set("address_string", strings.Repeat("1 Main St ", 100))
	if status, body := postForm(t, srv.URL, form); status != 400 || !strings.Contains(body, "address_string") {
		t.Errorf("address_string of %d characters: %d %s, want 400", len(form.Get("address_string")), status, body)
	}
	form = validForm("SL-0000002")
	form.Set("description", strings.Repeat("x", 4001))
	if status, body := postForm(t, srv.URL, form); status != 400 || !strings.Contains(body, "description") {
		t.Errorf("description of 4001 characters: %d %s, want 400", status, body)
	}
}

// FuzzPost files arbitrary forms: every answer is a 200 with a request or
// the spec's error array, and the requests listed afterwards always encode.
func FuzzPost(f *testing.F) {
	f.Add("41.8819", "-87.6278", "100 N State St", "lampFailure", "SL-0000001", "")
	f.Add("NaN", "1", "", "", "SL-0000002", "")
	f.Add("1e400", "-0", "\x00\xff", "<&>", "SL-3", "http://x/y.jpg")
	f.Add("", "", strings.Repeat("a", 300), "", "", "not a url")
	_, srv, _ := testServer(f, Options{Seed: 1, MaxResults: 50})
	// While fuzzing (not in ordinary runs, which hold no timed
	// assertions) every request must be answered within a second.
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	f.Fuzz(func(t *testing.T, lat, long, address, description, asset, media string) {
		form := url.Values{"api_key": {DefaultAPIKey}, "service_code": {ServiceLightOut},
			"lat": {lat}, "long": {long}, "address_string": {address}, "description": {description},
			"attribute[ASSET_ID]": {asset}, "media_url": {media}}
		began := time.Now()
		status, body := postForm(t, srv.URL, form)
		if d := time.Since(began); fuzzing && d > time.Second {
			t.Fatalf("POST took %v", d)
		}
		var list []map[string]any
		if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 {
			t.Fatalf("POST answered %d %q: not a one-entry list", status, body)
		}
		if status != 200 && list[0]["code"] != float64(status) {
			t.Fatalf("POST answered %d with %q", status, body)
		}
		for _, res := range []string{"/requests.json", "/requests.xml"} {
			if status, body := getBody(t, srv.URL+res); status != 200 || body == "" {
				t.Fatalf("GET %s after POST %v: %d %q", res, form, status, body)
			}
		}
	})
}
