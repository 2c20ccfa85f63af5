package open311_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/open311"
)

func xmlReplayClient(t *testing.T, routes map[string]replayAnswer) *open311.Client {
	t.Helper()
	srv := httptest.NewServer(&replay{routes: routes})
	t.Cleanup(srv.Close)
	c, err := open311.New(open311.Config{
		BaseURL: srv.URL, APIKey: "k", Format: open311.XML, Retry: httpretry.Policy{MaxAttempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseRecordedXML(t *testing.T) {
	t.Parallel()
	c := xmlReplayClient(t, map[string]replayAnswer{
		"GET /services.xml":      {"services.xml", 200},
		"GET /services/1021.xml": {"service_definition.xml", 200},
		"GET /requests.xml":      {"requests.xml", 200},
		"POST /requests.xml":     {"post_realtime.xml", 200},
	})
	ctx := context.Background()
	svcs, err := c.Services(ctx)
	if err != nil || len(svcs) != 2 || svcs[0].Code != "1021" || !svcs[0].Metadata || svcs[1].Metadata || svcs[1].Type != "batch" {
		t.Fatalf("services: %+v %v", svcs, err)
	}
	def, err := c.ServiceDefinition(ctx, "1021")
	if err != nil || len(def.Attributes) != 2 || !def.Attributes[0].Required || def.Attributes[1].Order != 2 ||
		len(def.Attributes[1].Values) != 2 || def.Attributes[1].Values[1].Key != "traffic" {
		t.Fatalf("definition: %+v %v", def, err)
	}
	reqs, err := c.Requests(ctx, open311.Query{})
	if err != nil || len(reqs) != 2 {
		t.Fatalf("requests: %+v %v", reqs, err)
	}
	if a := reqs[0]; a.ID != "638344" || !a.Closed() || a.Lat != 37.762221815 || !a.HasLocation ||
		!a.Expected.Equal(time.Date(2026, 10, 7, 14, 37, 38, 0, time.UTC)) {
		t.Errorf("full request: %+v", a)
	}
	if b := reqs[1]; b.HasLocation || !b.Updated.IsZero() || b.Status != open311.StatusOpen {
		t.Errorf("sparse request: %+v", b)
	}
	got, err := c.Create(ctx, open311.NewRequest{ServiceCode: "1021", AddressString: "1 Main St"})
	if err != nil || got.ID != "293944" {
		t.Errorf("create: %+v %v", got, err)
	}
}

func TestParseRecordedXMLErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 200} {
		c := xmlReplayClient(t, map[string]replayAnswer{"POST /requests.xml": {"error_400.xml", status}})
		_, err := c.Create(context.Background(), open311.NewRequest{ServiceCode: "1021", AddressString: "1 Main St"})
		var ae *open311.APIError
		if !errors.As(err, &ae) || ae.Status != status || len(ae.Errors) != 1 || ae.Errors[0].Code != "400" || !ae.Mentions("ASSET_ID") {
			t.Errorf("XML error array with status %d: %v", status, err)
		}
	}
}

func TestXMLAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	c, _, _, _ := simClient(t, open311sim.Options{Seed: 12, Faults: faulty}, open311.Config{Format: open311.XML})
	ctx := context.Background()
	var created open311.Created
	var err error
	for { // an ambiguous POST was never filed by the simulator's fault layer; try again
		if created, err = c.Create(ctx, lightOut("SL-0000077")); !errors.Is(err, open311.ErrMaybeCreated) {
			break
		}
	}
	if err != nil || created.ID == "" {
		t.Fatalf("create over XML: %+v %v", created, err)
	}
	got, err := c.RequestsByID(ctx, []string{created.ID})
	if err != nil || len(got) != 1 || got[0].ServiceCode != open311sim.ServiceLightOut || !got[0].HasLocation {
		t.Errorf("read back over XML: %+v %v", got, err)
	}
	def, err := c.ServiceDefinition(ctx, open311sim.ServiceKnockdown)
	if err != nil || len(def.Attributes) < 5 {
		t.Errorf("definition over XML: %+v %v", def, err)
	}
	bad := lightOut("SL-1")
	bad.ServiceCode = "NOPE"
	var ae *open311.APIError
	if _, err := c.Create(ctx, bad); !errors.As(err, &ae) || ae.Status != 404 || len(ae.Errors) != 1 {
		t.Errorf("error over XML: %v", err)
	}
}
