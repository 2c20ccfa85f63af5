package telemetrydev_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestDevSubmitQueryArchive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := awstest.New(t)
	d, err := telemetrydev.Start(ctx, s, telemetrydev.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	// Mounted under a prefix, as `citylink dev` does: the page's links are relative.
	mux := http.NewServeMux()
	mux.Handle("/telemetry/", http.StripPrefix("/telemetry", d.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + "/telemetry"

	page := get(t, base+"/")
	if page.status != 200 || !strings.Contains(page.body, "Streetlight telemetry") {
		t.Fatalf("GET / = %d", page.status)
	}

	ts := time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04:05.000Z")
	body := `[{"sensor_id":"SL-9","timestamp":"` + ts + `","value":3.5,"unit":"lx"},` +
		`{"sensorid":"SL-9","value":"oops","timestamp":"` + ts + `"}]`
	resp, err := http.Post(base+"/readings", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		New      int `json:"new"`
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || json.Unmarshal(b, &res) != nil || res.New != 1 || len(res.Rejected) != 1 || res.Rejected[0].Reason != "bad_value" {
		t.Fatalf("POST /readings = %d %s", resp.StatusCode, b)
	}

	// The pollers deliver asynchronously: poll the API until the reading
	// is there, failing after a generous deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		latest := get(t, base+"/sensors/SL-9/latest")
		if latest.status == 200 {
			if !strings.Contains(latest.body, `"timestamp":"`+ts+`"`) || !strings.Contains(latest.body, `"value":3.5`) {
				t.Fatalf("latest = %s", latest.body)
			}
			break
		}
		if latest.status != 404 || time.Now().After(deadline) {
			t.Fatalf("latest = %d %s", latest.status, latest.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		out, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(d.Bucket), Prefix: aws.String("readings/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("archive has %d objects, want 1", len(out.Contents))
		}
		time.Sleep(20 * time.Millisecond)
	}

	bad, err := http.Post(base+"/readings", "application/json", strings.NewReader(`{"value":1}`))
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != 400 || bad.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("POST invalid = %d %s", bad.StatusCode, bad.Header.Get("Content-Type"))
	}
}

type response struct {
	status int
	body   string
}

func get(t *testing.T, url string) response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}
}

// TestDevAnswersTruthfullyWhenAStandInStops stops DynamoDB and then Kinesis
// (a proxy holds their connections unanswered, as a stopped process does):
// every request ends at the server's deadline with a problem saying what
// is unknown, the log claims no loss, and the reading whose put was cut off
// is found stored once Kinesis is back, as the answer allowed.
func TestDevAnswersTruthfullyWhenAStandInStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := telemetrytest.StandIns(t)
	kin, ddb := telemetrytest.NewProxy(t, s.KinesisEndpoint), telemetrytest.NewProxy(t, s.DynamoDBEndpoint)
	faulty := *s
	faulty.Kinesis, faulty.DynamoDB = awstest.KinesisClient(kin.Endpoint), awstest.DynamoDBClient(ddb.Endpoint)
	var logs telemetrytest.SyncBuffer
	d, err := telemetrydev.Start(ctx, &faulty, telemetrydev.Config{
		Stream: telemetrytest.UniqueName("faults"), Table: telemetrytest.UniqueName("faults"), Bucket: strings.ToLower(telemetrytest.UniqueName("faults")),
		Deadline: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, telemetrytest.LogWriter(t)), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	// The client waits far longer than the server's deadline: a hang fails
	// the test instead of passing for a timeout.
	client := &http.Client{Timeout: time.Minute}
	reading := func(v int) string {
		return fmt.Sprintf(`{"sensor_id":"SL-FAULT","metric":"power","timestamp":%d,"value":%d}`, time.Now().Add(-time.Minute).UnixMilli(), v)
	}
	post := func(body string) (int, map[string]any) {
		resp, err := client.Post(srv.URL+"/readings", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	// On a loaded machine even this may outlast the deadline; then its
	// outcome is unknown, and it lands all the same.
	if status, m := post(reading(1)); status != 202 && status != 504 {
		t.Fatalf("submit with every stand-in up = %d %v", status, m)
	}
	waitLatest(t, srv.URL, "SL-FAULT", `"value":1`)

	ddb.Pause()
	resp, err := client.Get(srv.URL + "/sensors/SL-FAULT/latest")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if (resp.StatusCode != 504 && resp.StatusCode != 503) || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "unknown") {
		t.Fatalf("latest with DynamoDB stopped = %d %s %s, want 503/504 saying the readings are unknown", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if status, m := post(reading(2)); (status != 504 && status != 503) || !strings.Contains(fmt.Sprint(m["detail"]), "unknown") {
		t.Fatalf("submit with DynamoDB stopped = %d %v", status, m)
	}
	ddb.Resume()

	kin.Pause()
	status, m := post(reading(3))
	if status != 504 || m["unknown"] != 1.0 || !strings.Contains(fmt.Sprint(m["detail"]), "unknown") {
		t.Fatalf("submit with Kinesis stopped = %d %v, want 504 with 1 reading of unknown outcome", status, m)
	}
	if strings.Contains(logs.String(), "readings not put") {
		t.Errorf("the log claims a loss it cannot know:\n%s", logs.String())
	}
	kin.Resume()
	// The held put reaches Kinesis after all: the reading was not lost.
	waitLatest(t, srv.URL, "SL-FAULT", `"value":3`)
}

// waitLatest polls a sensor's latest reading until it contains want,
// failing after a generous deadline.
func waitLatest(t *testing.T, base, sensor, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := get(t, base+"/sensors/"+sensor+"/latest")
		if got.status == 200 && strings.Contains(got.body, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("latest of %s = %d %s, want %s", sensor, got.status, got.body, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
