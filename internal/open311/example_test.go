package open311_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/testclock"

	"github.com/citylink/citylink/internal/open311"
)

// Filing a streetlight outage and following it until the crew closes it.
func ExampleClient_Create() {
	clock := testclock.NewStepping(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), time.Second)
	sim := open311sim.NewServer(open311sim.Options{Seed: 1, Now: clock.Now})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c, err := open311.New(open311.Config{BaseURL: srv.URL, APIKey: open311sim.DefaultAPIKey})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	created, err := c.Create(ctx, open311.NewRequest{
		ServiceCode: "SLOUT", AddressString: "1530 N Ashland Ave", Description: "lampFailure since 02:10",
		Attributes: map[string][]string{"ASSET_ID": {"SL-0012345"}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("filed", created.ID)

	clock.Advance(14 * 24 * time.Hour) // two weeks on
	got, err := c.RequestsByID(ctx, []string{created.ID})
	if err != nil {
		panic(err)
	}
	fmt.Println(got[0].Status, got[0].Updated.After(got[0].Requested))
	// Output:
	// filed 26000001
	// closed true
}
