package telemetry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestAPIHandlerServesHTTP(t *testing.T) {
	t.Parallel()
	s := telemetrytest.StandIns(t)
	table := telemetrytest.NewTable(t, s)
	seedDay(t, s, table, "SL 7/A") // an id that needs escaping in a path
	srv := httptest.NewServer(telemetry.NewAPIHandler(telemetry.NewReader(s.DynamoDB, table), telemetrytest.Logger(t)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/sensors/SL%207%2FA/readings?limit=2&order=asc")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var page pageBody
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if page.SensorID != "SL 7/A" || len(page.Readings) != 2 || page.Readings[0].Timestamp != minuteTS(0) {
		t.Fatalf("page = %+v", page)
	}

	resp, err = http.Get(srv.URL + "/sensors/nobody/latest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("unknown sensor = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
