package open311sim

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/testclock"
)

func testServer(t testing.TB, opts Options) (*Server, *httptest.Server, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	opts.Now = clock.Now
	sim := NewServer(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, clock
}

func postForm(t *testing.T, base string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/requests.json", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func validForm(asset string) url.Values {
	return url.Values{
		"api_key": {DefaultAPIKey}, "service_code": {ServiceLightOut},
		"lat": {"41.8819"}, "long": {"-87.6278"}, "attribute[ASSET_ID]": {asset},
		"description": {"lampFailure alarm from the CMS"},
	}
}

func TestPostValidation(t *testing.T) {
	t.Parallel()
	_, srv, _ := testServer(t, Options{Seed: 1})
	edit := func(f func(url.Values)) url.Values {
		v := validForm("SL-0000001")
		f(v)
		return v
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no api key", edit(func(v url.Values) { v.Del("api_key") }), 403, "api_key"},
		{"bad api key", edit(func(v url.Values) { v.Set("api_key", "nope") }), 403, "api_key"},
		{"no service code", edit(func(v url.Values) { v.Del("service_code") }), 400, "service_code was not provided"},
		{"unknown service code", edit(func(v url.Values) { v.Set("service_code", "POTHOLE") }), 404, "POTHOLE"},
		{"no location", edit(func(v url.Values) { v.Del("lat"); v.Del("long") }), 400, "location is required"},
		{"lat without long", edit(func(v url.Values) { v.Del("long") }), 400, "together"},
		{"missing asset", edit(func(v url.Values) { v.Del("attribute[ASSET_ID]") }), 400, "ASSET_ID is required"},
		{"unknown attribute", edit(func(v url.Values) { v.Set("attribute[COLOR]", "red") }), 400, "COLOR"},
		{"bad list value", edit(func(v url.Values) { v.Set("attribute[LAMP_TYPE]", "NEON") }), 400, "NEON"},
		{"bad datetime", edit(func(v url.Values) { v.Set("attribute[OBSERVED_AT]", "yesterday") }), 400, "OBSERVED_AT"},
		{"multi on single", edit(func(v url.Values) { v["attribute[LAMP_TYPE][]"] = []string{"LED", "HPS"} }), 400, "single value"},
		{"wrong jurisdiction", edit(func(v url.Values) { v.Set("jurisdiction_id", "elsewhere.gov") }), 404, "jurisdiction"},
		{"address only", edit(func(v url.Values) { v.Del("lat"); v.Del("long"); v.Set("address_string", "100 N State St") }), 200, "service_request_id"},
	}
	for _, c := range cases {
		status, body := postForm(t, srv.URL, c.form)
		if status != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: got %d %s, want %d containing %q", c.name, status, body, c.status, c.want)
		}
		if status != 200 {
			var errs []struct {
				Code        int    `json:"code"`
				Description string `json:"description"`
			}
			if err := json.Unmarshal([]byte(body), &errs); err != nil || len(errs) != 1 || errs[0].Code != status {
				t.Errorf("%s: error body %s is not the spec's error array: %v", c.name, body, err)
			}
		}
	}
}

func TestCrewsCloseRequestsOverTime(t *testing.T) {
	t.Parallel()
	sim, srv, clock := testServer(t, Options{Seed: 7})
	for _, a := range []string{"SL-1", "SL-2", "SL-3"} {
		if status, body := postForm(t, srv.URL, validForm(a)); status != 200 {
			t.Fatalf("post: %d %s", status, body)
		}
	}
	for _, r := range sim.Requests() {
		if r.Status != "open" || r.ID == "" || r.Expected.IsZero() {
			t.Fatalf("new request %+v: want open with id and expected_datetime", r)
		}
	}
	clock.Advance(30 * 24 * time.Hour)
	for _, r := range sim.Requests() {
		if r.Status != "closed" || r.StatusNotes == "" || !r.Updated.After(r.Requested) {
			t.Errorf("after 30 days request %s: status %q notes %q updated %v", r.ID, r.Status, r.StatusNotes, r.Updated)
		}
	}
	// The same seed and the same requests give the same history.
	sim2, srv2, clock2 := testServer(t, Options{Seed: 7})
	for _, a := range []string{"SL-1", "SL-2", "SL-3"} {
		postForm(t, srv2.URL, validForm(a))
	}
	clock2.Advance(30 * 24 * time.Hour)
	a, b := sim.Requests(), sim2.Requests()
	for i := range a {
		if a[i].ID != b[i].ID || !a[i].Updated.Equal(b[i].Updated) || a[i].StatusNotes != b[i].StatusNotes {
			t.Errorf("request %d differs between runs with one seed: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestBatchTokenResolves(t *testing.T) {
	t.Parallel()
	_, srv, clock := testServer(t, Options{Seed: 3, TokenDelay: time.Minute})
	form := validForm("SL-9")
	form.Set("service_code", ServiceAreaOutage)
	status, body := postForm(t, srv.URL, form)
	var posted []struct {
		Token string `json:"token"`
		ID    string `json:"service_request_id"`
	}
	if err := json.Unmarshal([]byte(body), &posted); status != 200 || err != nil || len(posted) != 1 || posted[0].Token == "" || posted[0].ID != "" {
		t.Fatalf("batch post: %d %s", status, body)
	}
	get := func() string {
		resp, err := http.Get(srv.URL + "/tokens/" + posted[0].Token + ".json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); strings.Contains(got, "service_request_id") {
		t.Fatalf("token resolved before its delay: %s", got)
	}
	clock.Advance(time.Minute)
	if got := get(); !strings.Contains(got, `"service_request_id":"26000001"`) {
		t.Fatalf("token not resolved after its delay: %s", got)
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	_, rej, _ := testServer(t, Options{Duplicates: DuplicatesReject})
	postForm(t, rej.URL, validForm("SL-5"))
	if status, body := postForm(t, rej.URL, validForm("SL-5")); status != 400 || !strings.Contains(body, "26000001") {
		t.Errorf("reject mode: %d %s", status, body)
	}
	_, ret, _ := testServer(t, Options{Duplicates: DuplicatesReturnExisting})
	postForm(t, ret.URL, validForm("SL-5"))
	if status, body := postForm(t, ret.URL, validForm("SL-5")); status != 200 || !strings.Contains(body, `"service_request_id":"26000001"`) {
		t.Errorf("return-existing mode: %d %s", status, body)
	}
}

func TestListFiltersAndXML(t *testing.T) {
	t.Parallel()
	_, srv, clock := testServer(t, Options{Seed: 11})
	for i, code := range []string{ServiceLightOut, ServiceDayBurner, ServiceLightOut} {
		f := validForm("SL-" + string(rune('A'+i)))
		f.Set("service_code", code)
		postForm(t, srv.URL, f)
		clock.Advance(time.Minute)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, body := get("/requests.json?service_code=SLOUT")
	if strings.Count(body, `"service_code":"SLOUT"`) != 2 || strings.Contains(body, "SLDAY") {
		t.Errorf("service_code filter: %s", body)
	}
	_, body = get("/requests.json?service_request_id=26000002,26000099")
	if strings.Count(body, "service_request_id") != 1 {
		t.Errorf("id list: %s", body)
	}
	if status, _ := get("/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z"); status != 400 {
		t.Errorf("a window over 90 days: status %d, want 400", status)
	}
	if status, body := get("/requests/404.json"); status != 404 || !strings.Contains(body, `"code":404`) {
		t.Errorf("unknown id: %d %s", status, body)
	}
	status, body := get("/requests.xml?status=open")
	var doc struct {
		XMLName  xml.Name `xml:"service_requests"`
		Requests []struct {
			ID string `xml:"service_request_id"`
		} `xml:"request"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); status != 200 || err != nil || len(doc.Requests) != 3 || doc.Requests[0].ID != "26000003" {
		t.Errorf("XML list: %d %v %s", status, err, body)
	}
	if _, body := get("/services/SLKNK.xml"); !strings.Contains(body, "<code>HAZARD</code>") || !strings.Contains(body, "<datatype>multivaluelist</datatype>") {
		t.Errorf("XML service definition: %s", body)
	}
}

func TestChecksAssetsAgainstTheCity(t *testing.T) {
	t.Parallel()
	town := simcity.New(1, 100)
	sim, srv, _ := testServer(t, Options{City: town})
	light := town.Lights[41]
	form := validForm(light.AssetID)
	form.Del("lat")
	form.Del("long")
	form.Set("address_id", "pole "+light.PoleID)
	if status, body := postForm(t, srv.URL, form); status != 200 {
		t.Fatalf("known asset: %d %s", status, body)
	}
	got := sim.Requests()[0]
	if got.Address != light.Address || got.Lat != light.Lat || got.Long != light.Lon || !got.HasLocation {
		t.Errorf("request not placed at the light: %+v, light %+v", got, light)
	}
	if status, body := postForm(t, srv.URL, validForm("SL-9999999")); status != 400 || !strings.Contains(body, "asset register") {
		t.Errorf("unknown asset: %d %s", status, body)
	}
}

func TestPublicHistory(t *testing.T) {
	t.Parallel()
	town := simcity.New(2, 1000)
	sim, srv, _ := testServer(t, Options{Seed: 4, City: town, PublicRequests: 200, Duplicates: DuplicatesReject})
	reqs := sim.Requests()
	if len(reqs) < 150 {
		t.Fatalf("%d public requests, want most of 200", len(reqs))
	}
	var open, closed int
	var openOne Request
	for _, r := range reqs {
		switch r.Status {
		case "open":
			open++
			openOne = r
		case "closed":
			closed++
		}
		if _, ok := town.LightByAssetID(r.AssetID()); !ok || r.ID == "" {
			t.Fatalf("public request %+v names no light of the city", r)
		}
	}
	if open == 0 || closed == 0 {
		t.Fatalf("history has %d open and %d closed requests, want both", open, closed)
	}
	// citylink filing for a light a resident already reported meets the
	// duplicate answer.
	form := validForm(openOne.AssetID())
	form.Set("service_code", openOne.ServiceCode)
	if status, body := postForm(t, srv.URL, form); status != 400 || !strings.Contains(body, openOne.ID) {
		t.Errorf("duplicate of a resident's request: %d %s", status, body)
	}
	// The same seed gives the same history.
	again, _, _ := testServer(t, Options{Seed: 4, City: town, PublicRequests: 200})
	if b := again.Requests(); len(b) != len(reqs) || b[17].AssetID() != reqs[17].AssetID() || !b[17].Updated.Equal(reqs[17].Updated) {
		t.Error("public history differs between runs with one seed")
	}
}
