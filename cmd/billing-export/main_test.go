package main_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/utilitysim"
	"github.com/citylink/citylink/internal/pgtest"
	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestBootstrapExportsTheCity builds the Lambda binary and runs a whole
// export through it: the scheduler's plan input from testdata plans, the links
// travel through an SNS stand-in and come back to the binary as SNS events,
// and the invocation that closes the run delivers the run's file over SFTP.
func TestBootstrapExportsTheCity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sys, err := citysim.StartSystems(citysim.SystemsOptions{Seed: 4, Lights: 1500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	links := awstest.StartLinkTopic(t, "citylink-billing-export-links")
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/billing-export",
		"DATABASE_URL="+dbURL, "LINK_TOPIC_ARN="+links.ARN,
		"AWS_ENDPOINT_URL="+links.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY=test",
		"CMS_URL="+sys.CMSURL, "CMS_API_KEY="+cmssim.DefaultAPIKey, "UTILITY_DELIVERY=sftp",
		"UTILITY_SFTP_ADDR="+sys.SFTPAddr, "UTILITY_SFTP_USER=citylink", "UTILITY_SFTP_KEY="+string(utilitysim.KeyPEM(4+1)),
		"UTILITY_SFTP_HOST_KEY="+string(ssh.MarshalAuthorizedKey(sys.UtilitySFTP.HostKey())), "UTILITY_SFTP_DIR="+sys.UtilitySFTP.Dir())

	scheduled, err := os.ReadFile("testdata/schedule-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	event, err := os.ReadFile("testdata/sns-event.json")
	if err != nil {
		t.Fatal(err)
	}
	fn.WorkChains(t, scheduled, event, links)

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var state, name string
	var succeeded, rows int
	if err := conn.QueryRow(ctx, `
SELECT r.state, r.succeeded, f.name, f.rows FROM runs r JOIN billing_files f ON f.run_id = r.id
WHERE r.workflow = 'billing-export'`).Scan(&state, &succeeded, &name, &rows); err != nil {
		t.Fatalf("the run and its file: %v\n%s", err, fn.Logs())
	}
	f, ok := sys.Inbox.File(name)
	if state != "succeeded" || !ok || f.Via != "sftp" || rows != succeeded || succeeded == 0 || len(sys.Inbox.Files()) != 1 {
		t.Fatalf("run %s with %d rows recorded; file %s of %d rows arrived %v (%+v)", state, succeeded, name, rows, ok, sys.Inbox.Files())
	}
}
