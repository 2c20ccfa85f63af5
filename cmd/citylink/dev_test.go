package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestDevRunsTheWholeSystem starts `citylink dev` as `make run` does (on a
// small city and a free port), then uses it as a person would: the status
// page lists every part, each simulator answers, a reading submitted
// through the console comes back from the history API, and so do the
// simulated fleet's.
func TestDevRunsTheWholeSystem(t *testing.T) {
	t.Parallel()
	console := startDev(t, "--lights", "2000", "--tick", "100ms")

	var st devSystem
	getJSON(t, console+"/status.json", &st)
	if st.Database == "" || len(st.AWS) != 3 || !strings.Contains(st.Telemetry["example"], "sensor=SL-") {
		t.Fatalf("status = %+v", st)
	}
	for name, url := range st.Simulators {
		if !strings.HasPrefix(url, "http://") {
			continue // the SFTP drop and the HTTPS drop are tested in citysim
		}
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Errorf("simulator %s at %s: %v", name, url, err)
			continue
		}
		resp.Body.Close()
	}

	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	resp, err := http.Post(console+"/telemetry/readings", "application/json",
		strings.NewReader(`[{"sensor_id":"DEV-SMOKE-1","timestamp":"`+ts+`","value":12.5,"unit":"W"}]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submitting a reading: %d", resp.StatusCode)
	}
	if got := latestReading(t, console, "DEV-SMOKE-1"); !strings.Contains(got, `"value":12.5`) {
		t.Fatalf("latest reading = %s", got)
	}
	fleetSensor := strings.TrimPrefix(st.Telemetry["example"], console+"/telemetry/?sensor=")
	if got := latestReading(t, console, fleetSensor); !strings.Contains(got, `"metric":"power"`) {
		t.Fatalf("the fleet's sensor %s reports %s", fleetSensor, got)
	}
}

// latestReading asks the history API for a sensor's latest reading until it
// is there: the local event source mapping delivers asynchronously, so it
// fails only after a generous deadline.
func latestReading(t *testing.T, console, sensor string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(console + "/telemetry/sensors/" + sensor + "/latest")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(body)
		}
		if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			t.Fatalf("latest reading of %s: %d %s", sensor, resp.StatusCode, body)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// startDev runs `citylink dev` on a free port with args until the test
// ends, and returns its console's URL once it has printed it. A dev that
// fails to start fails the test with its error.
func startDev(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var devErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		devErr = run(ctx, append([]string{"dev", "--addr", "127.0.0.1:0"}, args...), pw, slog.New(slog.DiscardHandler))
		pw.CloseWithError(devErr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			if devErr != nil {
				t.Errorf("dev ended with %v", devErr)
			}
		case <-time.After(time.Minute):
			t.Errorf("dev did not stop within a minute of its context's end")
		}
	})
	console := ""
	lines := bufio.NewScanner(pr)
	for console == "" && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "console"); ok {
			console = strings.TrimSpace(rest)
		}
	}
	if console == "" {
		// dev has ended (the pipe closed with its error) or printed
		// something else; the scanner's error carries dev's.
		t.Fatalf("dev printed no console address: %v", lines.Err())
	}
	go io.Copy(io.Discard, pr)
	return console
}

// TestDevFilesAlarmsOnItsSchedule runs dev with alarm-311 every second
// (--compress 28800): the simulated CMS raises alarms at the rate dev sets
// for its compressed schedules, so the scheduled runs file 311 requests
// without anyone raising an alarm by hand.
func TestDevFilesAlarmsOnItsSchedule(t *testing.T) {
	t.Parallel()
	console := startDev(t, "--lights", "2000", "--tick", "200ms", "--compress", "28800", "--sensors", "1")
	var st devSystem
	getJSON(t, console+"/status.json", &st)
	db, err := pgxpool.New(context.Background(), st.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A bound on waiting, not a figure: dev's first alarm-311 runs come
	// within seconds.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var filed int
		err := db.QueryRow(context.Background(), `SELECT count(*) FROM alarm_episodes WHERE request_id IS NOT NULL OR token IS NOT NULL`).Scan(&filed)
		if err == nil && filed > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alarm-311 request filed by dev's scheduled runs in two minutes (last error: %v)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
