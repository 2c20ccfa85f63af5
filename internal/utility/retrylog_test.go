package utility_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/utilitysim"
	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/utility"
)

// TestOptionsLoggerLogsRetries delivers a file to a drop that first answers
// 503: the retry is logged through HTTPSOptions.Logger with the path and
// status, and without the bearer token.
func TestOptionsLoggerLogsRetries(t *testing.T) {
	t.Parallel()
	const token = "drop-T0K3N-s3cr3t"
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"name": path.Base(r.URL.Path), "size": len(body),
			"sha256": hex.EncodeToString(sum[:]), "status": "received"})
	}))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	d, err := utility.NewHTTPS(utility.HTTPSOptions{BaseURL: srv.URL + "/inbox", Token: token,
		Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Retry: httpretry.Policy{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(context.Background(), "inventory-1.csv", []byte("a,b\n")); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, want := range []string{`"msg":"retrying"`, `"method":"PUT"`, `/inbox/inventory-1.csv"`, `"status":503`, `"delay":`} {
		if !strings.Contains(log, want) {
			t.Errorf("retry log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, token) {
		t.Errorf("retry log carries the token:\n%s", log)
	}
}

// TestSFTPOptionsLoggerLogsRetries delivers to an SFTP drop that cuts every
// upload: each reconnect is logged through SFTPOptions.Logger, in the shape
// the HTTP transport logs its retries.
func TestSFTPOptionsLoggerLogsRetries(t *testing.T) {
	t.Parallel()
	_, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 3, DropRate: 1})
	var buf bytes.Buffer
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	cfg.Retry = httpretry.Policy{MaxAttempts: 3, BaseDelay: time.Millisecond}
	d, err := utility.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(context.Background(), "cut.csv", inventoryFile(t, 10)); err == nil {
		t.Fatal("a cut upload reported success")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want two retries logged for three attempts:\n%s", buf.String())
	}
	for i, l := range lines {
		for _, want := range []string{`"msg":"retrying"`, `"method":"SFTP PUT"`, `"target":"` + cfg.Addr, `"attempt":` + strconv.Itoa(i+1), `"error":`, `"delay":`} {
			if !strings.Contains(l, want) {
				t.Errorf("retry %d lacks %s: %s", i+1, want, l)
			}
		}
	}
}
