package utility_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"

	"github.com/citylink/citylink/internal/httpretry"
	"github.com/citylink/citylink/internal/utility"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// inventoryFile renders n changes as a file.
func inventoryFile(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := utility.NewWriter(&buf)
	for _, c := range sampleChanges(n) {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func startSFTP(t testing.TB, opts utilitysim.SFTPOptions) (*utilitysim.SFTP, utility.SFTPConfig) {
	t.Helper()
	clientKey := utilitysim.KeyFromSeed(1001)
	opts.AuthorizedKeys = []ssh.PublicKey{clientKey.PublicKey()}
	srv, err := utilitysim.NewSFTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, utility.SFTPConfig{
		Addr: addr.String(), User: "citylink", Signer: clientKey, HostKey: srv.HostKey(), Dir: srv.Dir(),
	}
}

func TestSFTPDeliversAtomically(t *testing.T) {
	t.Parallel()
	srv, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 1})
	cfg.VerifyContent = true
	d, err := utility.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := inventoryFile(t, 500)
	name := utility.FileName("citylink", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), 1)
	rc, err := d.Deliver(ctx, name, data)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := srv.Inbox().File(name)
	if !ok || !bytes.Equal(got.Data, data) || got.Rows != 500 || got.Err != "" || got.SHA256 != rc.SHA256 || got.Via != "sftp" {
		t.Fatalf("arrived: ok=%v rows=%d err=%q sha=%s receipt=%+v", ok, got.Rows, got.Err, got.SHA256, rc)
	}
	if p := srv.Inbox().PartialReads(); len(p) != 0 {
		t.Errorf("the utility saw half-written files: %v", p)
	}
	// Delivering again (a retried run) replaces the file, never duplicates.
	if _, err := d.Deliver(ctx, name, data); err != nil {
		t.Fatal(err)
	}
	if files := srv.Inbox().Files(); len(files) != 1 {
		t.Errorf("after a repeat delivery the drop holds %d files", len(files))
	}
}

func TestSFTPRetriesCutConnections(t *testing.T) {
	t.Parallel()
	// Half the uploads lose their connection part-way; the retry uploads
	// afresh, and the utility never imports a half file.
	srv, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 3, DropRate: 0.5})
	cfg.Attempts, cfg.RetryDelay = 12, time.Millisecond
	d, err := utility.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		name := utility.FileName("citylink", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), i)
		data := inventoryFile(t, 200+i)
		if _, err := d.Deliver(context.Background(), name, data); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		if got, ok := srv.Inbox().File(name); !ok || !bytes.Equal(got.Data, data) || got.Err != "" {
			t.Errorf("file %d arrived damaged: ok=%v err=%q", i, ok, got.Err)
		}
	}
	if files := srv.Inbox().Files(); len(files) != 4 {
		t.Errorf("the utility imported %d files, want 4", len(files))
	}
	if p := srv.Inbox().PartialReads(); len(p) != 0 {
		t.Errorf("partial files seen: %v", p)
	}

	// Every upload cut, one attempt: the delivery fails and nothing is
	// imported, because the half file only ever had a hidden name.
	always, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 3, DropRate: 1})
	cfg.Attempts = 1
	d, _ = utility.NewSFTP(cfg)
	if _, err := d.Deliver(context.Background(), "cut.csv", inventoryFile(t, 100)); err == nil {
		t.Error("a cut upload reported success")
	}
	if files := always.Inbox().Files(); len(files) != 0 {
		t.Errorf("a cut upload was imported: %+v", files[0].Name)
	}
}

func TestSFTPRefusesWrongKeysAndHosts(t *testing.T) {
	t.Parallel()
	_, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 1})
	ctx := context.Background()
	data := inventoryFile(t, 3)

	wrongKey := cfg
	wrongKey.Signer = utilitysim.KeyFromSeed(666)
	d, _ := utility.NewSFTP(wrongKey)
	if _, err := d.Deliver(ctx, "a.csv", data); !errors.Is(err, utility.ErrUnauthorized) {
		t.Errorf("unauthorized key: %v, want ErrUnauthorized", err)
	}
	wrongHost := cfg
	wrongHost.HostKey = utilitysim.KeyFromSeed(777).PublicKey()
	d, _ = utility.NewSFTP(wrongHost)
	if _, err := d.Deliver(ctx, "a.csv", data); !errors.Is(err, utility.ErrUnauthorized) {
		t.Errorf("a server with another host key: %v, want ErrUnauthorized", err)
	}
	d, _ = utility.NewSFTP(cfg)
	if _, err := d.Deliver(ctx, "../etc/passwd", data); err == nil {
		t.Error("a path was accepted as a file name")
	}
	if _, err := utility.NewSFTP(utility.SFTPConfig{Addr: cfg.Addr, User: "x", Signer: cfg.Signer}); err == nil {
		t.Error("a config without a pinned host key was accepted")
	}
}

func TestSFTPHonoursContext(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never speaks SSH: the handshake hangs
	// until the context ends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 1})
	cfg.Addr = ln.Addr().String()
	d, _ := utility.NewSFTP(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Deliver(ctx, "a.csv", []byte("x")); err == nil {
		t.Error("delivery with a cancelled context succeeded")
	}
}

func startHTTPS(t testing.TB, opts utilitysim.HTTPSOptions) (*utilitysim.HTTPS, utility.HTTPSConfig) {
	t.Helper()
	drop := utilitysim.NewHTTPS(opts)
	srv := httptest.NewTLSServer(drop)
	t.Cleanup(srv.Close)
	return drop, utility.HTTPSConfig{
		BaseURL: srv.URL + "/inbox", Token: utilitysim.DefaultToken, Transport: srv.Client().Transport,
		Retry: httpretry.Policy{MaxAttempts: 20, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
	}
}

func TestHTTPSDeliversUnderFaults(t *testing.T) {
	t.Parallel()
	drop, cfg := startHTTPS(t, utilitysim.HTTPSOptions{
		Faults: simcity.Faults{Seed: 5, ErrorRate: 0.3, ThrottleRate: 0.2},
	})
	d, err := utility.NewHTTPS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5 {
		data := inventoryFile(t, 50+i)
		name := utility.FileName("citylink", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), i)
		rc, err := d.Deliver(ctx, name, data)
		if err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		got, ok := drop.Inbox().File(name)
		if !ok || !bytes.Equal(got.Data, data) || rc.Rows != 50+i || rc.Status != "accepted" || got.Via != "https" {
			t.Errorf("file %d: receipt %+v, arrived ok=%v rows=%d", i, rc, ok, got.Rows)
		}
		// The same file again is idempotent.
		if _, err := d.Deliver(ctx, name, data); err != nil {
			t.Errorf("file %d again: %v", i, err)
		}
	}
	if n := len(drop.Inbox().Files()); n != 5 {
		t.Errorf("drop holds %d files, want 5", n)
	}
}

func TestHTTPSTypedRefusals(t *testing.T) {
	t.Parallel()
	_, cfg := startHTTPS(t, utilitysim.HTTPSOptions{})
	d, _ := utility.NewHTTPS(cfg)
	ctx := context.Background()
	if _, err := d.Deliver(ctx, "x.csv", inventoryFile(t, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Deliver(ctx, "x.csv", inventoryFile(t, 3)); !errors.Is(err, utility.ErrConflict) {
		t.Errorf("different content under one name: %v, want ErrConflict", err)
	}
	_, err := d.Deliver(ctx, "bad.csv", []byte("not,an,inventory\r\n"))
	var rej *utility.RejectedError
	if !errors.As(err, &rej) || rej.Reason == "" {
		t.Errorf("invalid file: %v, want RejectedError", err)
	}
	cfg.Token = "wrong"
	d, _ = utility.NewHTTPS(cfg)
	_, err = d.Deliver(ctx, "y.csv", inventoryFile(t, 2))
	var he *utility.HTTPError
	if !errors.As(err, &he) || he.Status != 401 || he.Retryable() {
		t.Errorf("bad token: %v", err)
	}
}

// dropListing lists the drop directory as the utility's SFTP server holds
// it, hidden files included.
func dropListing(t *testing.T, cfg utility.SFTPConfig) []string {
	t.Helper()
	conn, err := ssh.Dial("tcp", cfg.Addr, &ssh.ClientConfig{
		User: cfg.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(cfg.Signer)}, HostKeyCallback: ssh.FixedHostKey(cfg.HostKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	infos, err := c.ReadDir(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	return names
}

func TestSFTPCutUploadsLeaveNoTemporaryFiles(t *testing.T) {
	t.Parallel()
	// A cut connection cannot remove its own temporary file; the attempt
	// that follows, on a new connection, must, or every cut upload leaves
	// a hidden .part file in the utility's drop for good.
	_, cfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 3, DropRate: 0.5})
	cfg.Attempts, cfg.RetryDelay = 12, time.Millisecond
	d, err := utility.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 4 {
		name := utility.FileName("citylink", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), i)
		if _, err := d.Deliver(context.Background(), name, inventoryFile(t, 200+i)); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
		want = append(want, name)
	}
	got := dropListing(t, cfg)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("drop holds %q, want only %q", got, want)
	}
}

func TestDeliverRefusesControlCharactersInNames(t *testing.T) {
	t.Parallel()
	// Refused before anything is sent, over either transport: the name is
	// bad input, not a delivery failure to retry.
	srv, scfg := startSFTP(t, utilitysim.SFTPOptions{Seed: 1})
	sd, err := utility.NewSFTP(scfg)
	if err != nil {
		t.Fatal(err)
	}
	hsrv, hcfg := startHTTPS(t, utilitysim.HTTPSOptions{})
	hd, err := utility.NewHTTPS(hcfg)
	if err != nil {
		t.Fatal(err)
	}
	data := inventoryFile(t, 2)
	for _, name := range []string{"a\nb.csv", "a\rb.csv", "a\x00b.csv", "a\x7fb.csv", "a\u0085b.csv", "a\xffb.csv"} {
		if _, err := sd.Deliver(context.Background(), name, data); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
			t.Errorf("SFTP %q: %v", name, err)
		}
		if _, err := hd.Deliver(context.Background(), name, data); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
			t.Errorf("HTTPS %q: %v", name, err)
		}
	}
	if n := len(srv.Inbox().Files()) + len(hsrv.Inbox().Files()); n != 0 {
		t.Errorf("%d files arrived", n)
	}
}
