package citysim

import (
	"cmp"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// DefaultUtilityToken is the bearer token the simulated utility's HTTPS drop
// accepts when no other is configured.
const DefaultUtilityToken = "citylink-utility-dev-token"

// UtilityHTTPSOptions configures the simulated utility's HTTPS drop.
type UtilityHTTPSOptions struct {
	// Faults wraps the endpoint (latency, 5xx, 429, hangs).
	Faults Faults
	// Tokens are the accepted bearer tokens (or X-API-Key values);
	// DefaultUtilityToken when empty.
	Tokens []string
	// Inbox receives the files; a new one on the Now clock when nil. Give
	// the SFTP drop the same inbox to run both as one utility.
	Inbox *UtilityInbox
	// Now is the new inbox's clock (time.Now when nil).
	Now func() time.Time
	// AllowOverwrite lets a file be replaced by different content; by
	// default that is a 409, and only an identical PUT (or one replacing a
	// rejected file) succeeds.
	AllowOverwrite bool
	// MaxBytes bounds one file (default 128 MiB).
	MaxBytes int64
	// Logger gets one line per file; discarded when nil.
	Logger *slog.Logger
}

// UtilityHTTPS is the simulated utility's HTTPS drop, an http.Handler:
//
//	PUT  /inbox/{name}   store a file; 201 (200 when identical) with a receipt
//	GET  /inbox          list receipts
//	GET  /inbox/{name}   one file's receipt
//
// Requests carry "Authorization: Bearer <token>" (401 otherwise). A PUT may
// carry Content-MD5 (RFC 1864) and Content-Digest: sha-256=:<base64>: (RFC
// 9530); a body that does not match them is refused with 400. A file that is
// not a valid inventory change file is kept but answered 422 with the
// importer's error.
type UtilityHTTPS struct {
	opts    UtilityHTTPSOptions
	handler http.Handler
}

// UtilityReceipt is the JSON receipt the HTTPS drop answers.
type UtilityReceipt struct {
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	ReceivedAt time.Time `json:"received_at"`
	Status     string    `json:"status"` // accepted or rejected
	Rows       int       `json:"rows"`
	Error      string    `json:"error,omitempty"`
}

// NewUtilityHTTPS returns the HTTPS drop configured by opts.
func NewUtilityHTTPS(opts UtilityHTTPSOptions) *UtilityHTTPS {
	if len(opts.Tokens) == 0 {
		opts.Tokens = []string{DefaultUtilityToken}
	}
	if opts.Inbox == nil {
		opts.Inbox = NewUtilityInbox(opts.Now)
	}
	opts.MaxBytes = cmp.Or(opts.MaxBytes, 128<<20)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	u := &UtilityHTTPS{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /inbox/{name}", u.utilityPut)
	mux.HandleFunc("GET /inbox", u.utilityList)
	mux.HandleFunc("GET /inbox/{name}", u.utilityGet)
	u.handler = opts.Faults.Wrap(u.utilityAuth(mux))
	return u
}

// Inbox returns the drop box the endpoint fills.
func (u *UtilityHTTPS) Inbox() *UtilityInbox { return u.opts.Inbox }

// ServeHTTP serves the drop.
func (u *UtilityHTTPS) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.handler.ServeHTTP(w, r) }

func (u *UtilityHTTPS) utilityAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			got = r.Header.Get("X-API-Key")
		}
		for _, t := range u.opts.Tokens {
			if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1 {
				next.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="utility-drop"`)
		utilityJSONError(w, http.StatusUnauthorized, "a valid bearer token is required")
	})
}

func (u *UtilityHTTPS) utilityPut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !UtilityVisible(name) || strings.ContainsAny(name, `/\`) {
		utilityJSONError(w, http.StatusBadRequest, "file name must be a visible *.csv name")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, u.opts.MaxBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		utilityJSONError(w, http.StatusRequestEntityTooLarge, "file is larger than the drop accepts")
		return
	case err != nil:
		utilityJSONError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if msg := utilityCheckDigests(r.Header, data); msg != "" {
		utilityJSONError(w, http.StatusBadRequest, msg)
		return
	}
	sum := sha256.Sum256(data)
	if prev, ok := u.opts.Inbox.utilityLookup(name); ok {
		if prev.SHA256 == hex.EncodeToString(sum[:]) {
			utilityWriteReceipt(w, http.StatusOK, prev)
			return
		}
		if prev.Err == "" && !u.opts.AllowOverwrite {
			utilityJSONError(w, http.StatusConflict, "a different file named "+name+" was already delivered")
			return
		}
	}
	f := u.opts.Inbox.utilityTake(name, data, "https")
	u.opts.Logger.Info("utility file received", "name", f.Name, "via", "https", "size", f.Size, "rows", f.Rows, "error", f.Err)
	status := http.StatusCreated
	if f.Err != "" {
		status = http.StatusUnprocessableEntity
	}
	utilityWriteReceipt(w, status, f)
}

func (u *UtilityHTTPS) utilityList(w http.ResponseWriter, _ *http.Request) {
	files := u.opts.Inbox.Files()
	out := make([]UtilityReceipt, 0, len(files))
	for _, f := range files {
		out = append(out, utilityReceiptOf(f))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (u *UtilityHTTPS) utilityGet(w http.ResponseWriter, r *http.Request) {
	f, ok := u.opts.Inbox.utilityLookup(r.PathValue("name"))
	if !ok {
		utilityJSONError(w, http.StatusNotFound, "no such file")
		return
	}
	utilityWriteReceipt(w, http.StatusOK, f)
}

// utilityCheckDigests checks Content-MD5 and a sha-256 Content-Digest when
// present, and returns what does not match.
func utilityCheckDigests(h http.Header, data []byte) string {
	if v := h.Get("Content-MD5"); v != "" {
		sum := md5.Sum(data)
		if v != base64.StdEncoding.EncodeToString(sum[:]) {
			return "Content-MD5 does not match the body"
		}
	}
	for _, part := range strings.Split(h.Get("Content-Digest"), ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(alg, "sha-256") {
			continue
		}
		sum := sha256.Sum256(data)
		if strings.Trim(val, ":") != base64.StdEncoding.EncodeToString(sum[:]) {
			return "Content-Digest sha-256 does not match the body"
		}
	}
	return ""
}

func utilityReceiptOf(f UtilityFile) UtilityReceipt {
	status := "accepted"
	if f.Err != "" {
		status = "rejected"
	}
	return UtilityReceipt{
		Name: f.Name, Size: f.Size, SHA256: f.SHA256, ReceivedAt: f.Received.UTC(),
		Status: status, Rows: f.Rows, Error: f.Err,
	}
}

func utilityWriteReceipt(w http.ResponseWriter, status int, f UtilityFile) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(utilityReceiptOf(f))
}

func utilityJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
