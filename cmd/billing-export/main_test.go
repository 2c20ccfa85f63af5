package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
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

// inbox is an HTTP subscription that queues what goaws delivers: goaws
// delivers inside Publish, while the function that published is still in
// its invocation.
type inbox struct {
	mu       sync.Mutex
	messages []string
}

func (b *inbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d struct{ Type, Message string }
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if d.Type == "Notification" {
		b.mu.Lock()
		b.messages = append(b.messages, d.Message)
		b.mu.Unlock()
	}
}

func (b *inbox) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.messages
	b.messages = nil
	return m
}

// snsEvent is testdata/sns-event.json, a real-shaped SNS event, carrying
// message.
func snsEvent(t *testing.T, message string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/sns-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)["Message"] = message
	b, _ := json.Marshal(ev)
	return b
}

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
	goaws := awstest.StartSNS()
	t.Cleanup(goaws.Close)
	client := awstest.SNSClient(goaws.Endpoint)
	box := &inbox{}
	endpoint := httptest.NewServer(box)
	t.Cleanup(endpoint.Close)
	topic, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("citylink-billing-export-links")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("http"), Endpoint: aws.String(endpoint.URL)}); err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/billing-export",
		"DATABASE_URL="+dbURL, "LINK_TOPIC_ARN="+aws.ToString(topic.TopicArn),
		"AWS_ENDPOINT_URL="+goaws.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIACITYLINKTEST", "AWS_SECRET_ACCESS_KEY=test",
		"CMS_URL="+sys.CMSURL, "CMS_API_KEY="+cmssim.DefaultAPIKey, "UTILITY_DELIVERY=sftp",
		"UTILITY_SFTP_ADDR="+sys.SFTPAddr, "UTILITY_SFTP_USER=citylink", "UTILITY_SFTP_KEY="+string(utilitysim.KeyPEM(4+1)),
		"UTILITY_SFTP_HOST_KEY="+string(ssh.MarshalAuthorizedKey(sys.UtilitySFTP.HostKey())), "UTILITY_SFTP_DIR="+sys.UtilitySFTP.Dir())

	scheduled, err := os.ReadFile("testdata/schedule-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fn.Invoke(ctx, scheduled, time.Minute); err != nil {
		t.Fatalf("plan input: %v\n%s", err, fn.Logs())
	}
	queue := box.take()
	if len(queue) == 0 {
		t.Fatalf("the plan published no link\n%s", fn.Logs())
	}
	for handled := 0; len(queue) > 0; handled++ {
		if handled > 200 {
			t.Fatal("links keep coming")
		}
		msg := queue[0]
		if _, err := fn.Invoke(ctx, snsEvent(t, msg), time.Minute); err != nil {
			t.Fatalf("link %s: %v\n%s", msg, err, fn.Logs())
		}
		queue = append(queue[1:], box.take()...)
	}

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
