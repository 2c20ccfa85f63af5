package main_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBootstrapImportsTheCity builds the Lambda binary and runs a whole
// import through it: the scheduler's plan input from testdata plans, the links
// travel through an SNS stand-in, and each comes back to the binary as an
// SNS event until the run is closed and every approved audit is a device.
func TestBootstrapImportsTheCity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 3, Lights: 2000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	links := awstest.StartLinkTopic(t, "citylink-arcgis-import-links")
	// The credentials come by name, as deployed: the CMS key from a
	// Secrets Manager secret, the audit account from a SecureString
	// parameter, each through its own endpoint variable.
	secrets := awstest.StartSecrets(t)
	cmsSecret := secrets.PutSecret("citylink/cms", `{"api_key": "`+cmssim.DefaultAPIKey+`"}`)
	secrets.PutParameter("/citylink/audit", `{"username": "`+citysim.SystemsArcGISUser+`", "password": "`+citysim.SystemsArcGISPassword+`"}`, true)
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/arcgis-import",
		"DATABASE_URL="+dbURL, "LINK_TOPIC_ARN="+links.ARN,
		"AWS_ENDPOINT_URL="+links.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+secrets.Endpoint, "AWS_ENDPOINT_URL_SSM="+secrets.Endpoint,
		"ARCGIS_SERVICE_URL="+sys.AuditURL+"/arcgis/rest/services/"+arcgissim.AuditService+"/FeatureServer",
		"ARCGIS_SECRET_ID=/citylink/audit", "CMS_URL="+sys.CMSURL, "CMS_SECRET_ID="+cmsSecret)

	scheduled, err := os.ReadFile("testdata/schedule-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile("testdata/sns-event.json")
	if err != nil {
		t.Fatal(err)
	}
	fn.WorkChains(t, scheduled, event, links)

	c, err := cms.New(cms.Options{BaseURL: sys.CMSURL, APIKey: cmssim.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	approved := 0
	for _, a := range sys.City.Audits {
		if a.Status != simcity.AuditApproved {
			continue
		}
		approved++
		if _, err := c.FindByExternalID(ctx, a.AssetID); err != nil {
			t.Fatalf("approved audit %s: %v", a.AssetID, err)
		}
	}
	var state string
	var items int
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT state, item_count FROM runs WHERE workflow = 'arcgis-import'`).Scan(&state, &items); err != nil {
		t.Fatal(err)
	}
	if state != "succeeded" || items != approved || approved == 0 {
		t.Fatalf("run is %s with %d items, want succeeded with %d", state, items, approved)
	}
	// Each secret was read once, at the cold start, for the whole run.
	if n := secrets.Calls(localaws.TargetGetSecretValue); n != 1 {
		t.Fatalf("GetSecretValue called %d times over one cold start, want 1", n)
	}
	if n := secrets.Calls(localaws.TargetGetParameter); n != 1 {
		t.Fatalf("GetParameter called %d times over one cold start, want 1", n)
	}
}

// TestBootstrapWithAMissingSecretFailsItsInit: a secret named in the
// environment that does not exist stops the function at init, with an error
// naming the variable, as Lambda reports an init failure.
func TestBootstrapWithAMissingSecretFailsItsInit(t *testing.T) {
	t.Parallel()
	secrets := awstest.StartSecrets(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/arcgis-import",
		"DATABASE_URL="+pgtest.URL(t), "LINK_TOPIC_ARN=arn:aws:sns:us-east-1:000000000000:links",
		"AWS_ENDPOINT_URL="+secrets.Endpoint, "AWS_ACCESS_KEY_ID=AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY=test",
		"ARCGIS_SERVICE_URL=http://127.0.0.1:1/arcgis/rest/services/Audit/FeatureServer",
		"CMS_URL=http://127.0.0.1:1", "CMS_SECRET_ID=citylink/no-such-secret")
	scheduled, err := os.ReadFile("testdata/schedule-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fn.Invoke(context.Background(), scheduled, time.Minute)
	if !errors.Is(err, runtimeapi.ErrExited) {
		t.Fatalf("invoke = %v, want the function to have exited at init\n%s", err, fn.Logs())
	}
	logs := fn.Logs()
	if !strings.Contains(logs, "failed to start") || !strings.Contains(logs, "CMS_SECRET_ID") || !strings.Contains(logs, "ResourceNotFoundException") {
		t.Fatalf("the init error does not name CMS_SECRET_ID:\n%s", logs)
	}
}
