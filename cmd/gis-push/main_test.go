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
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBootstrap builds the Lambda and runs it against the Runtime API
// harness: the plan tick from testdata ({"action":"plan"}) plans a run of the CMS's
// devices, and the SNS events of its chain links add them to an empty DOT
// layer.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	city := simcity.New(12, 300)
	cmsSim := cmssim.NewServer(cmssim.Options{City: city, Seed: 12, AlarmsPerDay: -1, ChangesPerDay: -1})
	layer := arcgissim.NewDOTLayer(&simcity.City{}, arcgissim.LayerConfig{})
	dotSim := arcgissim.NewServer(arcgissim.Options{Seed: 12,
		Services: []arcgissim.Service{{Name: arcgissim.DOTService, Layers: []*arcgissim.Layer{layer}}}})
	cmsSrv, dotSrv := httptest.NewServer(cmsSim), httptest.NewServer(dotSim)
	defer cmsSrv.Close()
	defer dotSrv.Close()

	goaws := awstest.StartSNS()
	defer goaws.Close()
	topic, err := awstest.SNSClient(goaws.Endpoint).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("gis-push-bootstrap-links")})
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/gis-push",
		"DATABASE_URL="+dbURL, "CMS_URL="+cmsSrv.URL, "CMS_API_KEY="+cmsSim.APIKey(),
		"DOT_URL="+dotSrv.URL+"/arcgis/rest/services/"+arcgissim.DOTService+"/FeatureServer",
		"LINK_TOPIC_ARN="+aws.ToString(topic.TopicArn), "AWS_ENDPOINT_URL="+goaws.Endpoint)

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
	if err := pool.QueryRow(ctx, `SELECT id, chain_count, item_count FROM runs WHERE workflow = 'gis-push'`).Scan(&run, &chains, &items); err != nil {
		t.Fatalf("no run planned: %v\n%s", err, fn.Logs())
	}
	if items == 0 || chains == 0 {
		t.Fatalf("run %d has %d items in %d chains", run, items, chains)
	}
	link, err := os.ReadFile("testdata/sns-event.json")
	if err != nil {
		t.Fatal(err)
	}
	for chain := range chains {
		ev := strings.NewReplacer("RUN", fmt.Sprint(run), "CHAIN", fmt.Sprint(chain)).Replace(string(link))
		if _, err := fn.Invoke(ctx, []byte(ev), time.Minute); err != nil {
			t.Fatalf("sns event of chain %d: %v\n%s", chain, err, fn.Logs())
		}
	}
	var state string
	var succeeded int
	if err := pool.QueryRow(ctx, `SELECT state, succeeded FROM runs WHERE id = $1`, run).Scan(&state, &succeeded); err != nil || state != "succeeded" || succeeded != items {
		t.Fatalf("run state = %q with %d of %d succeeded (%v)\n%s", state, succeeded, items, err, fn.Logs())
	}
	if n := layer.Count(); n != items {
		t.Fatalf("DOT layer has %d features, want %d", n, items)
	}
}
