package localaws

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

//go:embed standin.js
var standinJS []byte

// ErrNotInstalled reports that node or the pinned npm stand-ins are missing.
// Its message says how to install them.
var ErrNotInstalled = errors.New("aws stand-ins not installed: run `npm ci --prefix internal/localaws` (make test does it)")

// Kind names a node stand-in.
type Kind string

// The node stand-ins pinned in package.json.
const (
	Kinesalite Kind = "kinesalite"
	Dynalite   Kind = "dynalite"
)

// Process is a running node stand-in bound to 127.0.0.1.
type Process struct {
	// Endpoint is the stand-in's base URL, for aws.Config.BaseEndpoint.
	Endpoint string

	kind      Kind
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	waitDone  chan struct{}
	closeOnce sync.Once
	stderr    *tailBuffer
	exitErr   error
}

// Exited reports whether the stand-in has ended, and if so, how, with the
// end of what it wrote to stderr: a test that sees "connection refused"
// can say why the stand-in went away.
func (p *Process) Exited() (bool, string) {
	select {
	case <-p.waitDone:
		return true, fmt.Sprintf("%v: %s", p.exitErr, strings.TrimSpace(p.stderr.String()))
	default:
		return false, ""
	}
}

// ModuleDir returns the directory holding package.json and node_modules:
// $CITYLINK_LOCALAWS_DIR when set, else this package's source directory.
func ModuleDir() string {
	if d := os.Getenv("CITYLINK_LOCALAWS_DIR"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "internal/localaws"
	}
	return filepath.Dir(file)
}

// StartNode starts the stand-in kind from the node_modules in dir and waits
// until it listens. The process ends when Close is called or when ctx is done.
func StartNode(ctx context.Context, dir string, kind Kind) (*Process, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("finding node: %w", ErrNotInstalled)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", string(kind), "package.json")); err != nil {
		return nil, fmt.Errorf("finding %s in %s: %w", kind, dir, ErrNotInstalled)
	}
	script := filepath.Join(dir, "node_modules", ".citylink-standin.js")
	if err := writeIfChanged(script, standinJS); err != nil {
		return nil, fmt.Errorf("writing stand-in script: %w", err)
	}

	cmd := exec.CommandContext(ctx, nodeBin, script, string(kind))
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	tail := &tailBuffer{max: 4096}
	cmd.Stderr = tail
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", kind, err)
	}
	p := &Process{kind: kind, cmd: cmd, stdin: stdin, waitDone: make(chan struct{}), stderr: tail}
	go func() {
		p.exitErr = cmd.Wait()
		close(p.waitDone)
	}()

	type hello struct {
		Port int `json:"port"`
	}
	lines := make(chan hello, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var h hello
			if json.Unmarshal(sc.Bytes(), &h) == nil && h.Port > 0 {
				lines <- h
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()

	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case h, ok := <-lines:
		if !ok {
			p.Close()
			return nil, fmt.Errorf("%s exited before listening: %s", kind, strings.TrimSpace(tail.String()))
		}
		p.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", h.Port)
		return p, nil
	case <-timer.C:
		p.Close()
		return nil, fmt.Errorf("%s did not listen within 30s: %s", kind, strings.TrimSpace(tail.String()))
	case <-ctx.Done():
		p.Close()
		return nil, fmt.Errorf("starting %s: %w", kind, ctx.Err())
	}
}

// Close stops the stand-in: it closes its stdin (the script exits on EOF),
// then kills it if it has not gone within two seconds.
func (p *Process) Close() {
	p.closeOnce.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.waitDone:
		case <-time.After(2 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.waitDone
		}
	})
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".standin-*.js")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
