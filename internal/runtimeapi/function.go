package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Function is a Lambda `bootstrap` binary running against its own Runtime
// API, with the environment the Lambda service gives a function.
type Function struct {
	*Server
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// ErrExited is returned by Invoke when the function's process ends before
// it answers, as a function that fails its start-up does.
var ErrExited = errors.New("function process exited")

// Build compiles the Go main package pkg (an import path, or a path relative
// to the current directory) the way `make build` does for provided.al2023,
// but for this machine's architecture, and returns its `bootstrap`.
func Build(ctx context.Context, pkg, outDir string) (string, error) {
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w: %s", pkg, err, b)
	}
	return out, nil
}

// Run starts the binary at path as function name, with env added to the
// Lambda variables (JSON logs, a region, static credentials that only the
// local stand-ins accept). Its stdout and stderr, the function's CloudWatch
// log, are kept for Logs.
func Run(path, name string, env ...string) (*Function, error) {
	s, err := Listen(name)
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "citylink-lambda-")
	if err != nil {
		s.Close()
		return nil, err
	}
	f := &Function{Server: s, logs: &syncBuffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(path)
	f.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIACITYLINKLOCAL",
		"AWS_SECRET_ACCESS_KEY=citylink-local-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"_HANDLER=bootstrap",
	}, env...)
	f.cmd.Stdout, f.cmd.Stderr = f.logs, f.logs
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		s.Close()
		os.RemoveAll(home)
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	go func() {
		_ = f.cmd.Wait()
		os.RemoveAll(home)
		close(f.done)
	}()
	return f, nil
}

// Test builds the main package pkg, runs it as a function with env, and
// stops it when the test ends.
func Test(tb testing.TB, pkg string, env ...string) *Function {
	tb.Helper()
	bin, err := Build(context.Background(), pkg, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	f, err := Run(bin, filepath.Base(pkg), env...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Stop)
	return f
}

// Invoke hands payload to the function and waits for its answer, failing
// at once with ErrExited if the process ends first.
func (f *Function) Invoke(ctx context.Context, payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-f.done:
			cancel(ErrExited)
		case <-ctx.Done():
		}
	}()
	b, err := f.Server.Invoke(ctx, payload, timeout)
	if errors.Is(context.Cause(ctx), ErrExited) {
		return nil, fmt.Errorf("%w: %s", ErrExited, f.Logs())
	}
	return b, err
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

// WorkChains drives a workflow Lambda through a whole run as SNS would:
// it invokes f with plan (the scheduler's input), then with event (a
// real-shaped SNS event whose first record's message is replaced) for
// every link published to links, including those the links publish, until
// none is left. A plan that publishes no link, an invocation that fails,
// or links that keep coming (more than maxLinks) fail the test.
func (f *Function) WorkChains(tb testing.TB, plan, event []byte, links interface{ Take() []string }) {
	tb.Helper()
	const maxLinks = 200
	ctx := context.Background()
	if _, err := f.Invoke(ctx, plan, time.Minute); err != nil {
		tb.Fatalf("plan input: %v\n%s", err, f.Logs())
	}
	queue := links.Take()
	if len(queue) == 0 {
		tb.Fatalf("the plan published no link\n%s", f.Logs())
	}
	for handled := 0; len(queue) > 0; handled++ {
		if handled > maxLinks {
			tb.Fatal("links keep coming")
		}
		msg := queue[0]
		if _, err := f.Invoke(ctx, snsEvent(tb, event, msg), time.Minute); err != nil {
			tb.Fatalf("link %s: %v\n%s", msg, err, f.Logs())
		}
		queue = append(queue[1:], links.Take()...)
	}
}

// snsEvent is the SNS event template with its first record carrying
// message.
func snsEvent(tb testing.TB, template []byte, message string) []byte {
	tb.Helper()
	var ev map[string]any
	if err := json.Unmarshal(template, &ev); err != nil {
		tb.Fatalf("the SNS event template: %v", err)
	}
	ev["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)["Message"] = message
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
