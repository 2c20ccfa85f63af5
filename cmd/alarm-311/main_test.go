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
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBootstrap builds the Lambda and runs it against the Runtime API
// harness: the scheduled event from testdata plans a run of three alarms,
// and the SNS events of its chain links file their requests.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	city := simcity.New(11, 300)
	cmsSim := cmssim.NewServer(cmssim.Options{City: city, Seed: 11, AlarmsPerDay: -1, ChangesPerDay: -1})
	o311 := open311sim.NewServer(open311sim.Options{Seed: 11, City: city, TokenDelay: -1})
	cmsSrv, o311Srv := httptest.NewServer(cmsSim), httptest.NewServer(o311)
	defer cmsSrv.Close()
	defer o311Srv.Close()

	var assets []string
	for _, l := range city.Lights {
		if _, err := cmsSim.RaiseAlarm(l.AssetID, cms.AlarmLampFailure, time.Now().Add(-time.Hour)); err == nil {
			assets = append(assets, l.AssetID)
		}
		if len(assets) == 3 {
			break
		}
	}

	goaws := awstest.StartSNS()
	defer goaws.Close()
	topic, err := awstest.SNSClient(goaws.Endpoint).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alarm-311-bootstrap-links")})
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/alarm-311",
		"DATABASE_URL="+dbURL, "CMS_URL="+cmsSrv.URL, "CMS_API_KEY="+cmsSim.APIKey(),
		"OPEN311_URL="+o311Srv.URL, "OPEN311_API_KEY="+open311sim.DefaultAPIKey,
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
	if err := pool.QueryRow(ctx, `SELECT id, chain_count, item_count FROM runs WHERE workflow = 'alarm-311'`).Scan(&run, &chains, &items); err != nil {
		t.Fatalf("no run planned: %v\n%s", err, fn.Logs())
	}
	if items != 3 || chains != 1 {
		t.Fatalf("run %d has %d items in %d chains, want 3 in 1", run, items, chains)
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
	if err := pool.QueryRow(ctx, `SELECT state FROM runs WHERE id = $1`, run).Scan(&state); err != nil || state != "succeeded" {
		t.Fatalf("run state = %q (%v), want succeeded\n%s", state, err, fn.Logs())
	}
	reqs := o311.Requests()
	if len(reqs) != 3 {
		t.Fatalf("server has %d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM alarm_episodes WHERE request_id = $1 AND asset_id = $2`, r.ID, r.AssetID()).Scan(&n); err != nil || n != 1 {
			t.Errorf("request %d (%s for %s) has %d episodes (%v)", i, r.ID, r.AssetID(), n, err)
		}
	}
}
