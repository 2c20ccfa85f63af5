package utilitysim

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

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// DefaultToken is the bearer token the simulated utility's HTTPS drop
// accepts when no other is configured.
const DefaultToken = "citylink-utility-dev-token"

// HTTPSOptions configures the simulated utility's HTTPS drop.
type HTTPSOptions struct {
	// Faults wraps the endpoint (latency, 5xx, 429, hangs).
	Faults simcity.Faults
	// Tokens are the accepted bearer tokens (or X-API-Key values);
	// DefaultToken when empty.
	Tokens []string
	// Inbox receives the files; a new one on the Now clock when nil. Give
	// the SFTP drop the same inbox to run both as one utility.
	Inbox *Inbox
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

// HTTPS is the simulated utility's HTTPS drop, an http.Handler:
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
type HTTPS struct {
	opts    HTTPSOptions
	handler http.Handler
}

// Receipt is the JSON receipt the HTTPS drop answers.
type Receipt struct {
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	ReceivedAt time.Time `json:"received_at"`
	Status     string    `json:"status"` // accepted or rejected
	Rows       int       `json:"rows"`
	Error      string    `json:"error,omitempty"`
}

// NewHTTPS returns the HTTPS drop configured by opts.
func NewHTTPS(opts HTTPSOptions) *HTTPS {
	if len(opts.Tokens) == 0 {
		opts.Tokens = []string{DefaultToken}
	}
	if opts.Inbox == nil {
		opts.Inbox = NewInbox(opts.Now)
	}
	opts.MaxBytes = cmp.Or(opts.MaxBytes, 128<<20)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	u := &HTTPS{opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /inbox/{name}", u.put)
	mux.HandleFunc("GET /inbox", u.list)
	mux.HandleFunc("GET /inbox/{name}", u.get)
	u.handler = opts.Faults.Wrap(u.auth(mux))
	return u
}

// Inbox returns the drop box the endpoint fills.
func (u *HTTPS) Inbox() *Inbox { return u.opts.Inbox }

// ServeHTTP serves the drop.
func (u *HTTPS) ServeHTTP(w http.ResponseWriter, r *http.Request) { u.handler.ServeHTTP(w, r) }

func (u *HTTPS) auth(next http.Handler) http.Handler {
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
		jsonError(w, http.StatusUnauthorized, "a valid bearer token is required")
	})
}

func (u *HTTPS) put(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !Visible(name) || !PlainName(name) {
		jsonError(w, http.StatusBadRequest, "file name must be a visible *.csv name of printable characters")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, u.opts.MaxBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		jsonError(w, http.StatusRequestEntityTooLarge, "file is larger than the drop accepts")
		return
	case err != nil:
		jsonError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if msg := checkDigests(r.Header, data); msg != "" {
		jsonError(w, http.StatusBadRequest, msg)
		return
	}
	sum := sha256.Sum256(data)
	if prev, ok := u.opts.Inbox.lookup(name); ok {
		if prev.SHA256 == hex.EncodeToString(sum[:]) {
			writeReceipt(w, http.StatusOK, prev)
			return
		}
		if prev.Err == "" && !u.opts.AllowOverwrite {
			jsonError(w, http.StatusConflict, "a different file named "+name+" was already delivered")
			return
		}
	}
	f := u.opts.Inbox.take(name, data, "https")
	u.opts.Logger.Info("utility file received", "name", f.Name, "via", "https", "size", f.Size, "rows", f.Rows, "error", f.Err)
	status := http.StatusCreated
	if f.Err != "" {
		status = http.StatusUnprocessableEntity
	}
	writeReceipt(w, status, f)
}

func (u *HTTPS) list(w http.ResponseWriter, _ *http.Request) {
	files := u.opts.Inbox.Files()
	out := make([]Receipt, 0, len(files))
	for _, f := range files {
		out = append(out, receiptOf(f))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (u *HTTPS) get(w http.ResponseWriter, r *http.Request) {
	f, ok := u.opts.Inbox.lookup(r.PathValue("name"))
	if !ok {
		jsonError(w, http.StatusNotFound, "no such file")
		return
	}
	writeReceipt(w, http.StatusOK, f)
}

// checkDigests checks Content-MD5 and a sha-256 Content-Digest when
// present, and returns what does not match.
func checkDigests(h http.Header, data []byte) string {
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

func receiptOf(f File) Receipt {
	status := "accepted"
	if f.Err != "" {
		status = "rejected"
	}
	return Receipt{
		Name: f.Name, Size: f.Size, SHA256: f.SHA256, ReceivedAt: f.Received.UTC(),
		Status: status, Rows: f.Rows, Error: f.Err,
	}
}

func writeReceipt(w http.ResponseWriter, status int, f File) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(receiptOf(f))
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
