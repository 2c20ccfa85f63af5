package main_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBootstrap builds the Lambda and runs it against the Runtime API
// harness: the plan tick from testdata ({"action":"plan"}) plans a run of the DOT layer's
// features, and the SNS event of its chain link brings a DOT technician's
// address correction into the CMS.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	city := simcity.New(13, 300)
	cmsSim := cmssim.NewServer(cmssim.Options{City: city, Seed: 13, AlarmsPerDay: -1, ChangesPerDay: -1})
	layer := arcgissim.NewDOTLayer(city, arcgissim.LayerConfig{})
	dotSim := arcgissim.NewServer(arcgissim.Options{Seed: 13,
		Services: []arcgissim.Service{{Name: arcgissim.DOTService, Layers: []*arcgissim.Layer{layer}}}})
	cmsSrv, dotSrv := httptest.NewServer(cmsSim), httptest.NewServer(dotSim)
	defer cmsSrv.Close()
	defer dotSrv.Close()
	cmsC, err := cms.New(cms.Options{BaseURL: cmsSrv.URL, APIKey: cmsSim.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	var dev cms.Device
	for d, err := range cmsC.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		dev = d
		break
	}
	oid := int64(0)
	for i, l := range city.Lights {
		if l.AssetID == dev.ExternalID {
			oid = int64(i + 1) // the layer is seeded in city order
		}
	}
	res := layer.ApplyEdits(arcgissim.Edits{Editor: "dot_gis_tech", Updates: []arcgissim.Feature{
		{Attributes: map[string]any{"OBJECTID": oid, "ADDRESS": "1 Corrected Ave"}}}}, time.Now())
	if len(res.UpdateResults) != 1 || !res.UpdateResults[0].Success {
		t.Fatalf("editing the DOT layer: %+v", res)
	}

	goaws := awstest.StartSNS()
	defer goaws.Close()
	topic, err := awstest.SNSClient(goaws.Endpoint).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("gis-pull-bootstrap-links")})
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/gis-pull",
		"DATABASE_URL="+dbURL, "CMS_URL="+cmsSrv.URL, "CMS_API_KEY="+cmsSim.APIKey(),
		"DOT_URL="+dotSrv.URL+"/arcgis/rest/services/"+arcgissim.DOTService+"/FeatureServer",
		"LINK_TOPIC_ARN="+aws.ToString(topic.TopicArn), "AWS_ENDPOINT_URL="+goaws.Endpoint, "BATCH_SIZE=500")

	tick, err := os.ReadFile("testdata/schedule-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(ctx, tick, time.Minute); err != nil {
		t.Fatalf("plan tick: %v\n%s", err, fn.Logs())
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var run int64
	var chains, items int
	if err := pool.QueryRow(ctx, `SELECT id, chain_count, item_count FROM runs WHERE workflow = 'gis-pull'`).Scan(&run, &chains, &items); err != nil {
		t.Fatalf("no run planned: %v\n%s", err, fn.Logs())
	}
	if items != 300 || chains != 1 {
		t.Fatalf("run %d has %d items in %d chains, want 300 in 1", run, items, chains)
	}
	link, err := os.ReadFile("testdata/sns-event.json")
	if err != nil {
		t.Fatal(err)
	}
	ev := strings.NewReplacer("RUN", fmt.Sprint(run), "CHAIN", "0").Replace(string(link))
	if _, err := fn.Invoke(ctx, []byte(ev), time.Minute); err != nil {
		t.Fatalf("sns event: %v\n%s", err, fn.Logs())
	}
	var state string
	var succeeded int
	if err := pool.QueryRow(ctx, `SELECT state, succeeded FROM runs WHERE id = $1`, run).Scan(&state, &succeeded); err != nil || state != "succeeded" || succeeded != 1 {
		t.Fatalf("run state = %q with %d succeeded (%v), want one device written\n%s", state, succeeded, err, fn.Logs())
	}
	got, err := cmsC.Get(ctx, dev.ID)
	if err != nil || got.Address != "1 Corrected Ave" {
		t.Fatalf("CMS address of %s = %q (%v)", dev.ExternalID, got.Address, err)
	}
}
