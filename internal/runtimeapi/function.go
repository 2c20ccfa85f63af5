package runtimeapi

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
)

// Function is a Lambda `bootstrap` binary running against its own Runtime
// API, with the environment the Lambda service gives a function.
type Function struct {
	*Server
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// Build compiles the Go main package pkg (a path like ./cmd/telemetry-api,
// relative to dir) the way `make build` does for provided.al2023, but for
// this machine's architecture, and returns the path of its `bootstrap`.
func Build(ctx context.Context, dir, pkg, outDir string) (string, error) {
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w: %s", pkg, err, b)
	}
	return out, nil
}

// Run starts the binary at path as function name, with env added to the
// Lambda variables. Its stdout and stderr (the function's CloudWatch log)
// are kept for Logs.
func Run(path, name string, env []string) (*Function, error) {
	s, err := Start(name)
	if err != nil {
		return nil, err
	}
	f := &Function{Server: s, logs: &syncBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(path)
	f.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"_HANDLER=bootstrap",
	}, env...)
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		s.Close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	go func() { f.cmd.Wait(); close(f.done) }()
	return f, nil
}

// Logs returns what the function has written so far.
func (f *Function) Logs() string { return f.logs.String() }

// Stop kills the function and closes its Runtime API.
func (f *Function) Stop() {
	_ = f.cmd.Process.Kill()
	<-f.done
	f.Server.Close()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
