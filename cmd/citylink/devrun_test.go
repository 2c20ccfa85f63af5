package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/pglocal"
)

// buildCitylink builds the binary as make run does.
func buildCitylink(t *testing.T) string {
	t.Helper()
	bin := t.TempDir() + "/citylink"
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDevRunIsSafeAndStopsCleanly runs the built `citylink dev` as `make
// run` does, with a DATABASE_URL holding a password, and uses it as a
// newcomer and as a hostile web page would: the password appears nowhere
// it prints, logs or serves; a foreign Host and a cross-site or non-JSON
// POST are refused; every 405 is one problem shape with a right Allow; the
// printed curl lines work as pasted; the test page opens on a sensor the
// fleet has; and ctrl-c stops it with exit status 0, saying what it stops.
func TestDevRunIsSafeAndStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := buildCitylink(t)
	cluster, err := pglocal.Start(context.Background())
	if err != nil {
		t.Fatalf("starting Postgres: %v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	const secret = "S3cret-Pa55-xyzzy"
	dbURL, err := url.Parse(cluster.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	dbURL.User = url.UserPassword("postgres", secret)

	cmd := exec.Command(bin, "dev", "--addr", "127.0.0.1:0", "--lights", "2000", "--tick", "100ms", "--sensors", "5")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL.String())
	var stdout, stderr lockedBuffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := bufio.NewScanner(io.TeeReader(pipe, &stdout))
	console := ""
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "console"); ok && console == "" {
			console = strings.TrimSpace(rest)
		}
		if strings.HasPrefix(lines.Text(), "ctrl-c stops everything") {
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, pipe)
		exited <- cmd.Wait()
	}()
	if console == "" {
		t.Fatalf("dev printed no console address:\n%s\n%s", stdout.String(), stderr.String())
	}
	consoleURL, _ := url.Parse(console)

	// Every page and the status say the database without its password.
	pages := map[string]string{}
	for _, path := range []string{"/", "/status.json", "/telemetry/", "/telemetry/page.js"} {
		resp, err := http.Get(console + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pages[path] = string(b)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
		for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("GET %s has no %s header", path, h)
			}
		}
	}
	var st devSystem
	if err := json.Unmarshal([]byte(pages["/status.json"]), &st); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	if !strings.Contains(st.Database, "xxxxx") || !strings.Contains(st.Database, dbURL.Host) {
		t.Errorf("status database = %q, want the URL with its password redacted", st.Database)
	}

	// The test page opens on a sensor the fleet reports, and says its times are UTC.
	def := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(pages["/telemetry/"])
	if def == nil || !strings.HasSuffix(st.Telemetry["example"], "sensor="+def[1]) {
		t.Errorf("test page's default sensor %v is not the fleet's %s", def, st.Telemetry["example"])
	}
	if strings.Count(pages["/telemetry/"], "(UTC)") < 2 {
		t.Error("the test page's From and To do not say they are UTC")
	}
	if st.Fleet.Sensors != 5 {
		t.Errorf("status fleet = %+v, want 5 sensors", st.Fleet)
	}

	// A hostile page: another Host (DNS rebinding), a cross-site form, a
	// text/plain POST, a cross-site fetch.
	do := func(method, path, host, origin, site, ctype, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, console+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	reading := `{"sensor_id":"SL-HOSTILE","value":1,"timestamp":"` + time.Now().UTC().Add(-time.Minute).Format(time.RFC3339) + `"}`
	for _, tc := range []struct {
		name, method, path, host, origin, site, ctype string
		status                                        int
	}{
		{"foreign host", "GET", "/", "rebind.attacker.example:" + consoleURL.Port(), "", "", "", http.StatusMisdirectedRequest},
		{"foreign host posting", "POST", "/telemetry/readings", "rebind.attacker.example", "http://rebind.attacker.example", "", "application/json", http.StatusMisdirectedRequest},
		{"cross-site form", "POST", "/telemetry/readings", "", "http://attacker.example", "cross-site", "text/plain", http.StatusForbidden},
		{"cross-site JSON", "POST", "/telemetry/readings", "", "http://attacker.example", "cross-site", "application/json", http.StatusForbidden},
		{"null origin", "POST", "/telemetry/readings", "", "null", "", "application/json", http.StatusForbidden},
		{"text/plain without origin", "POST", "/telemetry/readings", "", "", "", "text/plain", http.StatusUnsupportedMediaType},
		{"same origin JSON", "POST", "/telemetry/readings", "", console, "same-origin", "application/json", http.StatusAccepted},
	} {
		resp, body := do(tc.method, tc.path, tc.host, tc.origin, tc.site, tc.ctype, reading)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		} else if tc.status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %s answer, want problem+json", tc.name, resp.Header.Get("Content-Type"))
		}
	}

	// 405s: one shape, with the methods that would work.
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/telemetry/readings", "POST"},
		{"PUT", "/telemetry/readings", "POST"},
		{"POST", "/telemetry/sensors/SL-0000001/latest", "GET, HEAD"},
		{"DELETE", "/telemetry/sensors/SL-0000001/readings", "GET, HEAD"},
		{"POST", "/telemetry/", "GET, HEAD"},
		{"POST", "/status.json", "GET, HEAD"},
	} {
		resp, body := do(tc.method, tc.path, "", "", "", "application/json", "{}")
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Allow") != tc.allow ||
			json.Unmarshal([]byte(body), &p) != nil || p.Status != 405 {
			t.Errorf("%s %s = %d %s Allow %q: %s, want a 405 problem allowing %s", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), body, tc.allow)
		}
	}

	// The printed curl lines work as pasted.
	printed := stdout.String()
	curl := func(prefix string) string {
		t.Helper()
		for _, l := range strings.Split(printed, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), prefix); ok {
				out, err := exec.Command("sh", "-c", strings.TrimSpace(rest)).CombinedOutput()
				if err != nil {
					t.Fatalf("%s %s: %v\n%s", prefix, rest, err, out)
				}
				return string(out)
			}
		}
		t.Fatalf("no %q line in:\n%s", prefix, printed)
		return ""
	}
	if out := curl("submit:"); !strings.Contains(out, `"received":1`) {
		t.Errorf("the printed submit line answered %s", out)
	}
	if out := curl("query:"); !strings.Contains(out, `"count"`) {
		t.Errorf("the printed ArcGIS query line answered %s", out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for out := curl("latest:"); !strings.Contains(out, `"value":42.5`); out = curl("latest:") {
		if time.Now().After(deadline) {
			t.Fatalf("the printed latest line answers %s, not the submitted reading", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// ctrl-c: a clean stop, exit status 0, and what was stopped is said.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("dev after ctrl-c: %v\n%s", err, stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{"stopping the console", "stopping the telemetry pipeline", "stopping the AWS stand-ins", "stopping the simulated city", "stopping the database", "citylink dev stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q:\n%s", want, logs)
		}
	}
	for name, text := range map[string]string{"stdout": printed, "stderr": logs, "/": pages["/"], "/status.json": pages["/status.json"], "/telemetry/": pages["/telemetry/"]} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the database password", name)
		}
	}
}

// TestDevChecksItsAddressFirst: with the console's port taken, dev stops
// before it starts anything else, and says which flag changes the address.
func TestDevChecksItsAddressFirst(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var logs bytes.Buffer
	err = run(context.Background(), []string{"dev", "--addr", l.Addr().String()}, io.Discard, slogTo(&logs))
	if err == nil || !strings.Contains(err.Error(), "--addr") || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Fatalf("dev on a busy port = %v, want an error naming the address and --addr", err)
	}
	if logs.Len() > 0 {
		t.Fatalf("dev started things before checking its address:\n%s", logs.String())
	}
	var ne *net.OpError
	if !errors.As(err, &ne) {
		t.Errorf("error %v does not wrap the listen error", err)
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
