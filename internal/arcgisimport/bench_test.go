package arcgisimport_test

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/measure"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/work"
)

var (
	benchLights  = flag.Int("import.lights", simcity.DefaultLights, "lights in the benchmark city, every one an approved audit")
	benchLatency = flag.Duration("import.latency", 0, "latency added to every simulator call")
)

// BenchmarkImportCity imports a whole city in which every light has an
// approved audit: the plan reads the 270,000 features in keyset pages, ten
// chains write them into the CMS with one bulk upsert per batch of 100. With
// -import.latency=20ms every simulator call takes 20 ms more, and the
// benchmark reports the wall time against the ideal bound for ten chains:
// the plan's calls one after another, then each chain's share of the batch
// calls one after another, each call costing exactly the latency.
//
//	go test -run '^$' -bench ImportCity -benchtime 1x ./internal/arcgisimport/
//	go test -run '^$' -bench ImportCity -benchtime 1x ./internal/arcgisimport/ -import.latency=20ms
func BenchmarkImportCity(b *testing.B) {
	ctx := context.Background()
	city := simcity.New(1, *benchLights)
	city.Audits = city.Audits[:0]
	for _, l := range city.Lights {
		city.Audits = append(city.Audits, simcity.Audit{AssetID: l.AssetID, Status: simcity.AuditApproved, Auditor: "Bench Crew",
			AuditedAt: simcity.Epoch().Add(-time.Duration(len(city.Audits)%5000) * time.Minute)})
	}
	faults := simcity.Faults{Latency: *benchLatency}
	for b.Loop() {
		b.StopTimer()
		var auditCalls, cmsCalls measure.Calls
		sim := arcgissim.NewServers(city, arcgissim.Options{Faults: faults}, arcgissim.Options{})
		auditSrv := httptest.NewServer(auditCalls.Wrap(sim.Audit))
		cmsSrv := httptest.NewServer(cmsCalls.Wrap(cmssim.NewServer(cmssim.Options{City: city, Seed: 1, Faults: faults})))
		retry := httpretry.Policy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}
		audit, err := arcgis.New(arcgis.Options{ServiceURL: auditSrv.URL + "/arcgis/rest/services/" + arcgissim.AuditService + "/FeatureServer",
			HTTPClient: &http.Client{Transport: httpretry.New(&http.Transport{MaxIdleConnsPerHost: 32}, retry)}})
		if err != nil {
			b.Fatal(err)
		}
		c, err := cms.New(cms.Options{BaseURL: cmsSrv.URL, APIKey: cmssim.DefaultAPIKey, Retry: retry, Transport: &http.Transport{MaxIdleConnsPerHost: 32}})
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := pgxpool.ParseConfig(pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		stmts := &measure.Statements{}
		cfg.ConnConfig.Tracer = stmts
		cfg.MaxConns = 12
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		local := work.NewLocal(ctx, nil)
		eng, err := work.New(work.Config{Workflow: "arcgis-import", DB: pool, Publisher: local,
			Source: &arcgisimport.Source{Client: audit, Mapping: arcgisimport.DefaultMapping()},
			Sink:   &arcgisimport.Sink{Client: c}})
		if err != nil {
			b.Fatal(err)
		}
		local.Deliver = eng.Work
		b.StartTimer()

		start := time.Now()
		res, err := eng.Plan(ctx)
		if err != nil {
			b.Fatal(err)
		}
		planned := time.Since(start)
		planCalls := auditCalls.Load()
		if err := local.Wait(); err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)

		b.StopTimer()
		var state string
		var succeeded int
		if err := pool.QueryRow(ctx, `SELECT state, succeeded FROM runs WHERE id = $1`, res.Run).Scan(&state, &succeeded); err != nil {
			b.Fatal(err)
		}
		if state != "succeeded" || succeeded != len(city.Lights) || res.Items != len(city.Lights) {
			b.Fatalf("run %s: %d of %d items succeeded (%d planned)", state, succeeded, len(city.Lights), res.Items)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(planned.Seconds(), "plan-s")
		b.ReportMetric(float64(res.Items)/wall.Seconds(), "items/s")
		b.ReportMetric(float64(stmts.Load().Statements)/float64(res.Items), "stmts/item")
		b.ReportMetric(float64(planCalls), "arcgis-calls")
		b.ReportMetric(float64(cmsCalls.Load()), "cms-calls")
		if lat := *benchLatency; lat > 0 {
			// One CMS bulk upsert per batch: the work's calls are the batches.
			bound := measure.Bound{PlanCalls: planCalls, WorkCalls: int64(res.Batches), Chains: res.Chains, Latency: lat}
			b.ReportMetric(bound.Ideal().Seconds(), "ideal-s")
			b.ReportMetric(bound.Ratio(wall), "x-ideal")
		}
		pool.Close()
		auditSrv.Close()
		cmsSrv.Close()
		b.StartTimer()
	}
}
