package cms_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/cms"
)

// Example creates a streetlight in a simulated CMS, idempotently, and reads
// back what changed.
func Example() {
	start := time.Date(2026, time.May, 1, 12, 0, 0, 0, time.UTC)
	sim := cmssim.NewServer(cmssim.Options{City: simcity.New(1, 1000), Seed: 1, Clock: func() time.Time { return start }})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	ctx := context.Background()
	c, err := cms.New(cms.Options{BaseURL: srv.URL, APIKey: sim.APIKey()})
	if err != nil {
		panic(err)
	}
	in := cms.DeviceUpsert{ExternalID: "SL-7000001", DevicePatch: cms.DevicePatch{LampType: new("LED"), NominalWatts: new(70), InputWatts: new(74)}}
	d, created, err := c.Create(ctx, in)
	fmt.Println(d.ExternalID, d.State, created, err)
	again, created, err := c.Create(ctx, in)
	fmt.Println(again.ID == d.ID, created, err)

	for d, err := range c.Devices(ctx, cms.DeviceQuery{Since: start}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(d.ExternalID, d.NominalWatts, d.UpdatedAt.Format(time.RFC3339))
	}
	// Output:
	// SL-7000001 planned true <nil>
	// true false <nil>
	// SL-7000001 70 2026-05-01T12:00:00Z
}
