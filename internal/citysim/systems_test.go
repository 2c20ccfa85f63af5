package citysim_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/open311"
	"github.com/citylink/citylink/internal/utility"
)

// TestSystemsServeEveryProtocol starts the whole simulated city, as `citylink
// sim` does, and talks to each system over the network with its real client.
func TestSystemsServeEveryProtocol(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 7, Lights: 3000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)

	audit, err := arcgis.New(arcgis.Options{
		ServiceURL: sys.AuditURL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
		Username:   citysim.SystemsArcGISUser, Password: citysim.SystemsArcGISPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := audit.QueryCount(ctx, 0, arcgis.Query{})
	if err != nil {
		t.Fatalf("counting audits: %v", err)
	}
	if n != len(sys.City.Audits) {
		t.Errorf("audit layer holds %d features, the city has %d audits", n, len(sys.City.Audits))
	}
	if err := sys.Advance(simcity.Epoch().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if after, err := audit.QueryCount(ctx, 0, arcgis.Query{}); err != nil || after <= n {
		t.Errorf("after Advance the audit layer holds %d features (err %v), want more than %d", after, err, n)
	}

	devices, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: sys.CMS.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	if err := devices.ListDevices(ctx, cms.DeviceQuery{}, func(p cms.DevicePage) error {
		seen += len(p.Devices)
		return nil
	}); err != nil {
		t.Fatalf("listing devices: %v", err)
	}
	if seen == 0 || seen > len(sys.City.Lights) {
		t.Errorf("CMS lists %d devices for a city of %d lights", seen, len(sys.City.Lights))
	}

	requests, err := open311.New(open311.Config{BaseURL: sys.Open311URL, APIKey: open311sim.DefaultAPIKey, JurisdictionID: open311sim.DefaultJurisdiction})
	if err != nil {
		t.Fatal(err)
	}
	services, err := requests.Services(ctx)
	if err != nil {
		t.Fatalf("open311 services: %v", err)
	}
	if !hasService(services, "SLOUT") {
		t.Errorf("open311 services %+v lack SLOUT", services)
	}

	light := sys.City.Lights[0]
	file, err := utility.Encode([]utility.Change{{
		Type: utility.Added, Effective: simcity.Epoch(), AccountID: "CITY-0001",
		AssetID: light.AssetID, PoleID: light.PoleID, Address: light.Address, Lat: light.Lat, Lon: light.Lon,
		LampType: light.LampType, NominalWatts: light.NominalWatts, InputWatts: light.InputWatts, RateSchedule: light.RateSchedule,
	}})
	if err != nil {
		t.Fatal(err)
	}
	https, err := utility.NewHTTPS(utility.HTTPSConfig{
		BaseURL: sys.UtilityURL + "/inbox", Token: utilitysim.DefaultToken,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: sys.UtilityCA}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := https.Deliver(ctx, "inventory-https.csv", file); err != nil {
		t.Fatalf("delivering over https: %v", err)
	}
	sftp, err := utility.NewSFTP(utility.SFTPConfig{
		Addr: sys.SFTPAddr, User: "citylink", Signer: sys.SFTPClientKey, HostKey: sys.UtilitySFTP.HostKey(), Dir: sys.UtilitySFTP.Dir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sftp.Deliver(ctx, "inventory-sftp.csv", file); err != nil {
		t.Fatalf("delivering over sftp: %v", err)
	}
	if got := len(sys.Inbox.Files()); got != 2 {
		t.Errorf("the utility's inbox holds %d files, want 2 (one per channel)", got)
	}
}

func hasService(ss []open311.Service, code string) bool {
	for _, s := range ss {
		if s.Code == code {
			return true
		}
	}
	return false
}

// TestSystemsServeAGivenCityAndAnEmptyDOTLayer checks the options
// `citylink bench` starts the city with: a city built beforehand, a DOT
// layer with nothing in it yet, and a wrapper around each system that sees
// its calls.
func TestSystemsServeAGivenCityAndAnEmptyDOTLayer(t *testing.T) {
	t.Parallel()
	town := simcity.New(3, 500)
	seen := map[string]int{}
	var mu sync.Mutex
	sys, err := citysim.StartSystems(citysim.SystemsOptions{City: town, EmptyDOT: true,
		Wrap: func(system string, h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[system]++
				mu.Unlock()
				h.ServeHTTP(w, r)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	if sys.City != town || len(sys.City.Lights) != 500 {
		t.Fatalf("served a city of %d lights, not the one given", len(sys.City.Lights))
	}
	if n := sys.DOTLayer.Count(); n != 0 {
		t.Fatalf("the empty DOT layer has %d features", n)
	}
	if sys.AuditLayer.Count() == 0 {
		t.Fatal("the audit layer is empty too")
	}
	dot, err := arcgis.New(arcgis.Options{ServiceURL: sys.DOTURL + "/arcgis/rest/services/" + arcgissim.DOTService + "/FeatureServer",
		Username: citysim.SystemsArcGISUser, Password: citysim.SystemsArcGISPassword})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := dot.QueryIDs(context.Background(), 0, arcgis.Query{})
	if err != nil || len(ids) != 0 {
		t.Fatalf("DOT layer over HTTP: %d ids, %v", len(ids), err)
	}
	resp, err := http.Get(sys.CMSURL + "/api/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if seen[citysim.SystemDOT] == 0 || seen[citysim.SystemCMS] != 1 || seen[citysim.SystemAudit] != 0 {
		t.Fatalf("the wrapper saw %v", seen)
	}
}
