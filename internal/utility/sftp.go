package utility

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/citylink/citylink/internal/backoff"
	"github.com/citylink/citylink/internal/httpretry"
)

// Receipt confirms one delivered file.
type Receipt struct {
	Name   string
	Size   int64
	SHA256 string // hex
	Via    string // sftp or https
	// Status and Rows are the utility's own verdict when it gives one
	// (the HTTPS drop does); empty over SFTP.
	Status string
	Rows   int
}

// SFTPOptions configures delivery over SFTP, in the shape every citylink
// client's options share.
type SFTPOptions struct {
	// Addr is host:port of the utility's SFTP server.
	Addr string
	User string
	// Signer is the client's private key (public-key authentication).
	Signer ssh.Signer
	// HostKey pins the server's host key; it is required, as an unpinned
	// host would receive billing data from anyone's DNS.
	HostKey ssh.PublicKey
	// Dir is the remote drop directory.
	Dir string
	// Timeout bounds dialling and the SSH handshake (default 30s); the
	// transfer is bounded by the context.
	Timeout time.Duration
	// VerifyContent reads the uploaded file back and compares its SHA-256
	// before renaming it into place, besides checking its size.
	VerifyContent bool
	// Retry is the retry policy of a delivery whose connection fails: its
	// MaxAttempts (3 when zero), BaseDelay (1s) and MaxDelay (30s), with
	// full jitter, as every client's. Refused credentials and host keys are
	// not retried.
	Retry httpretry.Policy
	// Attempts and RetryDelay are the former spelling of Retry.MaxAttempts
	// and Retry.BaseDelay, used when those are zero, kept while callers move.
	Attempts   int
	RetryDelay time.Duration
	// Logger receives the retry log (every retry, every give-up; see
	// httpretry.Policy.Logger) unless Retry.Logger is set; slog.Default()
	// when nil. It is the same field in every client's options.
	Logger *slog.Logger
}

// SFTPConfig is the former name of SFTPOptions, kept while callers move.
type SFTPConfig = SFTPOptions

// ErrUnauthorized means the server refused the key, or did not present the
// pinned host key; trying again will not help.
var ErrUnauthorized error = permanentError("utility: sftp credentials or host key refused")

// SFTP delivers inventory files to an SFTP drop. A file is written under a
// hidden temporary name, its size (and optionally content) checked, then
// renamed into place with posix-rename, so the utility never reads half a
// file and a repeated delivery replaces rather than duplicates.
type SFTP struct{ cfg SFTPOptions }

// NewSFTP returns an SFTP deliverer for cfg.
func NewSFTP(cfg SFTPOptions) (*SFTP, error) {
	switch {
	case cfg.Addr == "":
		return nil, errors.New("utility: sftp address is required")
	case cfg.Signer == nil:
		return nil, errors.New("utility: sftp private key is required")
	case cfg.HostKey == nil:
		return nil, errors.New("utility: sftp host key is required")
	case cfg.User == "":
		return nil, errors.New("utility: sftp user is required")
	}
	cfg.Dir = cmp.Or(cfg.Dir, ".")
	cfg.Timeout = cmp.Or(cfg.Timeout, 30*time.Second)
	cfg.Retry.MaxAttempts = cmp.Or(cfg.Retry.MaxAttempts, cfg.Attempts, 3)
	cfg.Retry.BaseDelay = cmp.Or(cfg.Retry.BaseDelay, cfg.RetryDelay, time.Second)
	cfg.Retry.MaxDelay = cmp.Or(cfg.Retry.MaxDelay, 30*time.Second)
	cfg.Retry.Logger = cmp.Or(cfg.Retry.Logger, cfg.Logger)
	return &SFTP{cfg: cfg}, nil
}

// checkName refuses names that are not a plain visible file name: empty,
// a path, hidden, longer than 255 bytes, not UTF-8, or holding a control
// character (a newline in a file name garbles every listing and log that
// shows it, and the utility's drop refuses it).
func checkName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") ||
		!utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return fmt.Errorf("utility: %q is not a plain file name", name)
	}
	return nil
}

// Deliver uploads data as name, trying again on connection failures. A
// temporary file that a cut connection could not remove is removed by the
// next attempt. ctx bounds the whole delivery: when it ends, or the last
// attempt fails, the connection is closed and that attempt's temporary file
// may remain (it is hidden, so never imported).
func (s *SFTP) Deliver(ctx context.Context, name string, data []byte) (Receipt, error) {
	if err := checkName(name); err != nil {
		return Receipt{}, err
	}
	var stale []string // temporary files earlier attempts left behind
	for attempt := 1; ; attempt++ {
		rc, left, err := s.deliverOnce(ctx, name, data, stale)
		stale = left
		if err == nil || errors.Is(err, ErrUnauthorized) || ctx.Err() != nil || attempt >= s.cfg.Retry.MaxAttempts {
			return rc, err
		}
		wait := s.cfg.Retry.Backoff().Delay(attempt)
		s.cfg.Retry.LogRetry(ctx, "SFTP PUT", s.cfg.Addr+"/"+strings.TrimPrefix(s.cfg.Dir, "/"), attempt, 0, err, wait)
		if werr := backoff.Sleep(ctx, wait); werr != nil {
			return Receipt{}, fmt.Errorf("%w (after: %w)", werr, err)
		}
	}
}

// deliverOnce is one connection's worth of Deliver. It first removes the
// stale temporary files of earlier attempts, and returns those still left,
// its own included when it could not remove it.
func (s *SFTP) deliverOnce(ctx context.Context, name string, data []byte, stale []string) (Receipt, []string, error) {
	client, closeConn, err := s.connect(ctx)
	if err != nil {
		return Receipt{}, stale, err
	}
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn) // abandon a transfer the caller gave up on
	defer stop()

	var left []string
	for _, p := range stale {
		if err := client.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			left = append(left, p)
		}
	}
	final := path.Join(s.cfg.Dir, name)
	tmp := path.Join(s.cfg.Dir, "."+name+"."+randomSuffix()+".part")
	removeTmp := func() {
		if err := client.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			left = append(left, tmp)
		}
	}
	if err := s.upload(client, tmp, data); err != nil {
		removeTmp()
		return Receipt{}, left, ctxErr(ctx, fmt.Errorf("uploading %s: %w", name, err))
	}
	if err := client.PosixRename(tmp, final); err != nil {
		// Servers without the posix-rename extension: plain rename refuses
		// to replace, so remove an earlier delivery first.
		_ = client.Remove(final)
		if err2 := client.Rename(tmp, final); err2 != nil {
			removeTmp()
			return Receipt{}, left, ctxErr(ctx, fmt.Errorf("renaming %s into place: %w", name, errors.Join(err, err2)))
		}
	}
	sum := sha256.Sum256(data)
	return Receipt{Name: name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Via: "sftp"}, left, nil
}

// upload writes data to tmp, which must not exist, and checks it arrived whole.
func (s *SFTP) upload(client *sftp.Client, tmp string, data []byte) error {
	f, err := client.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		f.Close()
		return fmt.Errorf("writing: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	st, err := client.Stat(tmp)
	if err != nil {
		return fmt.Errorf("checking size: %w", err)
	}
	if st.Size() != int64(len(data)) {
		return fmt.Errorf("server holds %d bytes, sent %d", st.Size(), len(data))
	}
	if !s.cfg.VerifyContent {
		return nil
	}
	r, err := client.Open(tmp)
	if err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading back: %w", err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		return errors.New("content read back differs from what was sent")
	}
	return nil
}

// connect dials, authenticates and opens the sftp subsystem; closeConn
// tears everything down and may be called more than once.
func (s *SFTP) connect(ctx context.Context) (*sftp.Client, func(), error) {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dialling %s: %w", s.cfg.Addr, err)
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // bound the handshake
	}
	pinned := ssh.FixedHostKey(s.cfg.HostKey)
	badHost := false
	sc, chans, reqs, err := ssh.NewClientConn(conn, s.cfg.Addr, &ssh.ClientConfig{
		User: s.cfg.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(s.cfg.Signer)},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := pinned(host, remote, key)
			badHost = err != nil
			return err
		},
		Timeout: s.cfg.Timeout,
	})
	if err != nil {
		conn.Close()
		if badHost || strings.Contains(err.Error(), "unable to authenticate") {
			return nil, nil, fmt.Errorf("ssh handshake with %s: %w: %w", s.cfg.Addr, ErrUnauthorized, err)
		}
		return nil, nil, fmt.Errorf("ssh handshake with %s: %w", s.cfg.Addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	sshClient := ssh.NewClient(sc, chans, reqs)
	client, err := sftp.NewClient(sshClient)
	if err != nil {
		sshClient.Close()
		return nil, nil, fmt.Errorf("starting sftp: %w", err)
	}
	closeConn := func() {
		client.Close()
		sshClient.Close()
	}
	return client, closeConn, nil
}

// ctxErr prefers the context's error when it ended the transfer.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
