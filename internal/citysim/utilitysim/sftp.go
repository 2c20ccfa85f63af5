package utilitysim

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"path"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SFTPOptions configures the simulated utility's SFTP drop.
type SFTPOptions struct {
	// Seed derives the host key when HostKey is nil, so a dev setup can pin
	// the same host key every run.
	Seed uint64
	// HostKey is the server's key.
	HostKey ssh.Signer
	// User is the account senders log in as (default "citylink").
	User string
	// AuthorizedKeys are the public keys allowed to log in; at least one.
	AuthorizedKeys []ssh.PublicKey
	// Dir is the drop directory (default "/inbox"); it is the only place
	// files may be written.
	Dir string
	// Inbox receives the files; a new one when nil.
	Inbox *Inbox
	// Now is the file system's clock (time.Now when nil).
	Now func() time.Time
	// DropRate is the share of uploads whose connection is cut part-way,
	// decided in order from Seed.
	DropRate float64
	// Logger gets one line per session; discarded when nil.
	Logger *slog.Logger
}

// SFTP is the simulated utility's SFTP drop: an SSH server with
// public-key authentication serving the sftp subsystem over an in-memory
// file system. Files completed under a visible name are imported into the
// inbox.
type SFTP struct {
	opts   SFTPOptions
	config *ssh.ServerConfig
	fs     *memFS

	mu     sync.Mutex
	rng    *rand.Rand // drop decisions
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// KeyFromSeed returns a deterministic ed25519 SSH key for seed, for
// the drop's host key and for dev and test client keys.
func KeyFromSeed(seed uint64) ssh.Signer {
	signer, err := ssh.NewSignerFromKey(privateKey(seed))
	if err != nil {
		panic(fmt.Sprintf("citysim: ed25519 signer: %v", err)) // cannot happen for a valid key
	}
	return signer
}

// KeyPEM returns KeyFromSeed(seed)'s private key in OpenSSH
// format, to write a key file for the sftp command:
// sftp -i key -P port citylink@127.0.0.1.
func KeyPEM(seed uint64) []byte {
	block, err := ssh.MarshalPrivateKey(privateKey(seed), "citylink simulated utility key")
	if err != nil {
		panic(fmt.Sprintf("citysim: marshalling ed25519 key: %v", err)) // cannot happen for a valid key
	}
	return pem.EncodeToMemory(block)
}

func privateKey(seed uint64) ed25519.PrivateKey {
	rng := rand.New(rand.NewPCG(seed, 0x55f7))
	var b [ed25519.SeedSize]byte
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return ed25519.NewKeyFromSeed(b[:])
}

// NewSFTP returns the SFTP drop configured by opts; start it with
// Listen or Serve.
func NewSFTP(opts SFTPOptions) (*SFTP, error) {
	if len(opts.AuthorizedKeys) == 0 {
		return nil, errors.New("utility sftp: at least one authorized key is required")
	}
	if opts.HostKey == nil {
		opts.HostKey = KeyFromSeed(opts.Seed)
	}
	opts.User = cmp.Or(opts.User, "citylink")
	opts.Dir = path.Clean("/" + cmp.Or(opts.Dir, "/inbox"))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Inbox == nil {
		opts.Inbox = NewInbox(opts.Now)
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	s := &SFTP{opts: opts, conns: make(map[net.Conn]bool), rng: rand.New(rand.NewPCG(opts.Seed, 0xd209))}
	s.fs = newUtilityFS(opts.Dir, opts.Inbox, opts.Now)
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() != opts.User {
				return nil, fmt.Errorf("unknown user %q", meta.User())
			}
			for _, k := range opts.AuthorizedKeys {
				if bytes.Equal(k.Marshal(), key.Marshal()) {
					return &ssh.Permissions{}, nil
				}
			}
			return nil, errors.New("key not authorized")
		},
	}
	s.config.AddHostKey(opts.HostKey)
	return s, nil
}

// HostKey returns the server's public host key, for clients to pin.
func (s *SFTP) HostKey() ssh.PublicKey { return s.opts.HostKey.PublicKey() }

// Inbox returns the drop box the server fills.
func (s *SFTP) Inbox() *Inbox { return s.opts.Inbox }

// Dir returns the drop directory.
func (s *SFTP) Dir() string { return s.opts.Dir }

// Listen starts serving on addr ("127.0.0.1:0" when empty) and returns the
// address it listens on.
func (s *SFTP) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", cmp.Or(addr, "127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("utility sftp: listening: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.Serve(ln)
	}()
	return ln.Addr(), nil
}

// Serve accepts connections on ln until Close.
func (s *SFTP) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("utility sftp: accepting: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.conns[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// Close stops the listener, closes open sessions and waits for them.
func (s *SFTP) Close() error {
	s.mu.Lock()
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// serveConn runs one SSH connection: sessions that ask for the sftp
// subsystem get the drop's file system; everything else is refused.
func (s *SFTP) serveConn(conn net.Conn) {
	defer conn.Close()
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.config)
	if err != nil {
		s.opts.Logger.Info("utility sftp handshake failed", "remote", conn.RemoteAddr().String(), "error", err)
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				ok := req.Type == "subsystem" && subsystem(req.Payload) == "sftp"
				_ = req.Reply(ok, nil)
				if !ok {
					continue
				}
				go ssh.DiscardRequests(creqs)
				var drop func() bool
				if s.opts.DropRate > 0 {
					drop = s.drop
				}
				srv := sftp.NewRequestServer(ch, s.fs.handlers(drop, func() { conn.Close() }))
				_ = srv.Serve()
				_ = srv.Close()
				return
			}
		}()
	}
}

// drop decides whether the next upload is cut.
func (s *SFTP) drop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < s.opts.DropRate
}

// subsystem reads the subsystem name from a "subsystem" request's
// payload (an SSH string).
func subsystem(payload []byte) string {
	if len(payload) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(payload)
	if int(n) > len(payload)-4 {
		return ""
	}
	return string(payload[4 : 4+n])
}
