package arcgis_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/arcgis"
)

// Example reads every approved audit of a small simulated city, page by
// page, and then asks the DOT layer which poles exist for two asset ids.
func Example() {
	town := simcity.New(1, 2000)
	sim := arcgissim.NewServers(town,
		arcgissim.Options{Auth: arcgissim.Auth{Users: map[string]string{"citylink": "secret"}}},
		arcgissim.Options{})
	audits, dot := httptest.NewServer(sim.Audit), httptest.NewServer(sim.DOT)
	defer audits.Close()
	defer dot.Close()
	ctx := context.Background()

	ac, err := arcgis.New(arcgis.Options{
		ServiceURL: audits.URL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
		Username:   "citylink", Password: "secret", // the token service is found through /arcgis/rest/info
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	approved, pages := 0, 0
	err = ac.QueryPages(ctx, 0, arcgis.Query{Where: "audit_status = 'approved'", OutFields: []string{"asset_id", "audit_date"}, Count: 250},
		func(fs *arcgis.FeatureSet) error {
			pages++
			approved += len(fs.Features)
			return nil
		})
	want := 0
	for _, a := range town.Audits {
		if a.Status == simcity.AuditApproved {
			want++
		}
	}
	fmt.Println(err, approved == want, pages == (want+249)/250)

	dc, _ := arcgis.New(arcgis.Options{ServiceURL: dot.URL + "/arcgis/rest/services/" + arcgissim.DOTService + "/FeatureServer"})
	fs, err := dc.Query(ctx, 0, arcgis.Query{Where: "ASSET_ID IN ('SL-0000001', 'SL-9999999')", OutFields: []string{"ASSET_ID", "OBJECTID"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fs.Features {
		id, _ := f.String("ASSET_ID")
		oid, _ := f.ObjectID("OBJECTID")
		fmt.Println(id, oid)
	}
	// Output:
	// <nil> true true
	// SL-0000001 1
}
