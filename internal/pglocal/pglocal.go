// Package pglocal starts a throwaway PostgreSQL cluster from the PostgreSQL
// binaries installed on this machine: initdb in a temporary directory, then a
// postgres server on a free loopback port with its unix socket beside the
// data. Tests and `citylink dev` use it when no DATABASE_URL is given.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint says how to get what this package needs; it ends every error
// about missing binaries, so a failing test tells its reader what to do.
const InstallHint = "install PostgreSQL (Debian: apt-get install postgresql; `bash .ci/run` does it) " +
	"or set DATABASE_URL to a server where this user may CREATE DATABASE"

// Cluster is a running throwaway PostgreSQL server. Stop removes it and its
// data directory.
type Cluster struct {
	dir      string
	port     int
	password string
	cmd      *exec.Cmd
	done     chan error
}

// Options change how StartWith sets a cluster up.
type Options struct {
	// Password, when set, is the superuser postgres's password, and every
	// connection over TCP must authenticate with a password
	// (scram-sha-256), as on RDS; the unix socket stays trusted. Without it
	// every connection is trusted.
	Password string
}

// Start initialises a cluster in a new temporary directory and starts it. When
// the process runs as root the cluster is owned by and run as the `postgres`
// user, because initdb refuses to run as root.
func Start(ctx context.Context) (*Cluster, error) { return StartWith(ctx, Options{}) }

// StartWith is Start with opts.
func StartWith(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "citylink-pg-")
	if err != nil {
		return nil, fmt.Errorf("creating cluster directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("handing the cluster directory to postgres: %w", err)
		}
	}
	c := &Cluster{dir: dir, password: opts.Password, done: make(chan error, 1)}
	if err := c.init(ctx, bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(ctx, bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// URL returns the connection string of database db on the cluster, as the
// superuser postgres (with its password, when the cluster has one).
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: fmt.Sprintf("127.0.0.1:%d", c.port), Path: "/" + db, RawQuery: "sslmode=disable"}
	if c.password != "" {
		u.User = url.UserPassword("postgres", c.password)
	}
	return u.String()
}

// Port is the cluster's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// Stop shuts the server down at once (the data is thrown away) and removes
// the cluster's directory.
func (c *Cluster) Stop() error {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	return os.RemoveAll(c.dir)
}

func (c *Cluster) init(ctx context.Context, bin string, cred *syscall.Credential) error {
	auth := []string{"--auth=trust"}
	if c.password != "" {
		// initdb writes pg_hba.conf from these: the socket trusted, TCP
		// (host lines, IPv4 and IPv6) by scram-sha-256 password.
		pwfile := filepath.Join(c.dir, "pwfile")
		if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing the password file: %w", err)
		}
		if cred != nil {
			if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("handing the password file to postgres: %w", err)
			}
		}
		auth = []string{"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile}
	}
	args := append([]string{"-D", filepath.Join(c.dir, "data"), "-U", "postgres"}, auth...)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		append(args, "-E", "UTF8", "--locale=C", "--no-sync")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	return nil
}

func (c *Cluster) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logf, err := os.Create(filepath.Join(c.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("creating server log: %w", err)
	}
	defer logf.Close()
	c.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(c.dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", c.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=400",
		"-c", "shared_buffers=256MB",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Pdeathsig stops the server if this process dies without calling Stop.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	go func() { c.done <- c.cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case werr := <-c.done:
			log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
			return fmt.Errorf("postgres exited before it was ready (%v): %s", werr, log)
		case <-ctx.Done():
			_ = c.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = c.cmd.Process.Kill()
			return fmt.Errorf("postgres not ready after 60s: %w", err)
		}
	}
}

// binDir finds the directory that holds initdb and postgres: PATH first, then
// Debian's /usr/lib/postgresql/<version>/bin, newest version first.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found: " + InstallHint)
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// credential returns who the cluster runs as: this process's user, or
// `postgres` when this process is root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root: no `postgres` user to run it as (%v): %s", err, InstallHint)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
