package telemetrydev_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/citylink/citylink/internal/awstest"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
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
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index  int    `json:"index"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || json.Unmarshal(b, &res) != nil || res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Reason != "bad_value" {
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
