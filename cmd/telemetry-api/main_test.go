package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/runtimeapi"
	"github.com/citylink/citylink/internal/telemetry"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

// TestBootstrapServesReadings builds the Lambda binary and runs it against
// a Runtime API harness and dynalite, the way Lambda and DynamoDB run it.
func TestBootstrapServesReadings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	if err := telemetrydev.CreateTable(ctx, s.DynamoDB, "SensorData"); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Minute)
	store := telemetry.NewStore(s.DynamoDB, telemetry.StoreConfig{Table: "SensorData"})
	if res, err := store.Put(ctx, []telemetry.Reading{
		{SensorID: "SL-1", Time: at.Add(-time.Minute), Value: 1},
		{SensorID: "SL-1", Time: at, Value: 2, Unit: "lx"},
	}); err != nil || len(res.Failed) > 0 {
		t.Fatalf("seeding: %+v %v", res, err)
	}

	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/telemetry-api",
		"SENSOR_TABLE=SensorData", "AWS_ENDPOINT_URL="+s.DynamoDBEndpoint)

	get := func(path, query string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query}
		req.RequestContext.HTTP.Method = "GET"
		payload, _ := json.Marshal(req)
		out, err := fn.Invoke(ctx, payload, 10*time.Second)
		if err != nil {
			t.Fatalf("invoke: %v\n%s", err, fn.Logs())
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		return resp
	}

	resp := get("/sensors/SL-1/readings", "limit=1")
	var page struct {
		Readings []struct {
			Value float64 `json:"value"`
		} `json:"readings"`
		NextCursor string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("readings = %d %s", resp.StatusCode, resp.Body)
	}
	if len(page.Readings) != 1 || page.Readings[0].Value != 2 || page.NextCursor == "" {
		t.Fatalf("page = %+v", page)
	}
	if resp := get("/sensors/SL-2/latest", ""); resp.StatusCode != 404 || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("unknown sensor = %d %v", resp.StatusCode, resp.Headers)
	}
}

func TestBootstrapRefusesToStartWithoutTable(t *testing.T) {
	t.Parallel()
	fn := runtimeapi.Test(t, "github.com/citylink/citylink/cmd/telemetry-api")
	_, err := fn.Invoke(context.Background(), []byte(`{}`), 5*time.Second)
	if err == nil || !strings.Contains(fn.Logs(), "SENSOR_TABLE is not set") {
		t.Fatalf("invoke err = %v, output %q; want the process to exit naming SENSOR_TABLE", err, fn.Logs())
	}
}
