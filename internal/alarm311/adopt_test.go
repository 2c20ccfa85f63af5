package alarm311_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
)

// TestAdoptsTheOpenRequestADuplicateAnswerNames files alarm-311 against a
// 311 server that refuses a second open request for one light: a resident
// has reported the lamp already. The episode takes the resident's request as
// its own (filing nothing), closes when the crew closes it, and the next
// failure files a request of its own.
func TestAdoptsTheOpenRequestADuplicateAnswerNames(t *testing.T) {
	t.Parallel()
	c := newCity(t, cityOptions{lights: 500, alarmsPerDay: -1, duplicates: open311sim.DuplicatesReject})
	ctx := context.Background()
	asset := firstCommissioned(t, c)

	resident, err := c.o311C.Create(ctx, open311.NewRequest{
		ServiceCode: "SLOUT", Description: "The light outside my house is out.", AddressString: "outside number 12",
		Attributes: map[string][]string{"ASSET_ID": {asset}, "OBSERVED_AT": {c.now().UTC().Format(time.RFC3339)}},
	})
	if err != nil || resident.ID == "" {
		t.Fatalf("a resident's report: %+v, %v", resident, err)
	}
	first, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now())
	if err != nil {
		t.Fatal(err)
	}
	run := c.run()
	run.EveryItemHasOutcome(t)

	if reqs := c.o311.Requests(); len(reqs) != 1 || reqs[0].ID != resident.ID {
		t.Fatalf("server has %d requests, want only the resident's %s", len(reqs), resident.ID)
	}
	var state string
	var id *string
	if err := c.pool.QueryRow(ctx, `SELECT state, request_id FROM alarm_episodes WHERE asset_id = $1`, asset).Scan(&state, &id); err != nil {
		t.Fatal(err)
	}
	if state != "open" || deref(id) != resident.ID {
		t.Fatalf("episode is %s with request %q, want open with the resident's %s", state, deref(id), resident.ID)
	}

	// The crew closes the resident's request; polling ends the episode, and
	// the lamp's next failure files citylink's own request.
	c.advance(21 * 24 * time.Hour)
	c.run()
	if err := c.pool.QueryRow(ctx, `SELECT state FROM alarm_episodes WHERE asset_id = $1 ORDER BY id LIMIT 1`, asset).Scan(&state); err != nil || state != "closed" {
		t.Fatalf("episode after the crew's close: %s (%v), want closed", state, err)
	}
	// The CMS may have cleared the alarm by itself in three weeks.
	_ = c.cms.ClearAlarm(first, c.now())
	if _, err := c.cms.RaiseAlarm(asset, cms.AlarmLampFailure, c.now()); err != nil {
		t.Fatal(err)
	}
	c.run()
	reqs := c.o311.Requests()
	if len(reqs) != 2 || !strings.Contains(reqs[1].Description, "[citylink alarm-311 episode ") {
		t.Fatalf("after a new failure the server has %d requests, want the resident's and citylink's", len(reqs))
	}
}
