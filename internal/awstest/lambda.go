package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RuntimeAPI is a minimal Lambda Runtime API (2018-06-01) on 127.0.0.1, so
// a built `bootstrap` binary runs its real lambda.Start loop in tests: each
// Invoke queues an event for the binary's next-invocation poll and waits
// for its response or error post.
type RuntimeAPI struct {
	// Addr is host:port, for the binary's AWS_LAMBDA_RUNTIME_API.
	Addr string

	srv     *httptest.Server
	queue   chan *invocation
	mu      sync.Mutex
	pending map[string]*invocation
	seq     atomic.Int64
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan result
}

type result struct {
	body []byte
	err  error
}

// FunctionError is a function's reply through the runtime's error endpoint.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// NewRuntimeAPI starts a Runtime API server. Close stops it.
func NewRuntimeAPI() *RuntimeAPI {
	r := &RuntimeAPI{queue: make(chan *invocation), pending: map[string]*invocation{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", r.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", r.reply(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", r.reply(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = httptest.NewServer(mux)
	r.Addr = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// Close stops the server.
func (r *RuntimeAPI) Close() { r.srv.Close() }

// Invoke sends payload to the function and returns its response. timeout
// becomes the invocation's deadline as the function sees it.
func (r *RuntimeAPI) Invoke(ctx context.Context, payload []byte, timeout time.Duration) ([]byte, error) {
	inv := &invocation{
		id:       fmt.Sprintf("req-%d", r.seq.Add(1)),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		done:     make(chan result, 1),
	}
	r.mu.Lock()
	r.pending[inv.id] = inv
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, inv.id)
		r.mu.Unlock()
	}()
	select {
	case r.queue <- inv:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the function to poll: %w", ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res.body, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the function's reply: %w", ctx.Err())
	}
}

func (r *RuntimeAPI) next(w http.ResponseWriter, req *http.Request) {
	select {
	case inv := <-r.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:citylink-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-req.Context().Done():
	}
}

func (r *RuntimeAPI) reply(isError bool) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		inv := r.pending[req.PathValue("id")]
		r.mu.Unlock()
		if inv == nil {
			http.Error(w, "unknown request id", http.StatusBadRequest)
			return
		}
		res := result{body: body}
		if isError {
			fe := &FunctionError{}
			if json.Unmarshal(body, fe) != nil {
				fe.Message = string(body)
			}
			res = result{err: fe}
		}
		inv.done <- res
		w.WriteHeader(http.StatusAccepted)
	}
}

// Function is a built Lambda binary running against a RuntimeAPI.
type Function struct {
	*RuntimeAPI
	cmd    *exec.Cmd
	stdout *lockedBuffer
	exited chan struct{}
}

// BuildFunction builds the Go main package pkg (an import path such as
// "github.com/citylink/citylink/cmd/telemetry-api") to a temporary
// bootstrap and returns its path.
func BuildFunction(tb testing.TB, pkg string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	return out
}

// StartFunction runs binary with env added to a clean Lambda-like
// environment, polling a new RuntimeAPI. Both stop in tb.Cleanup.
func StartFunction(tb testing.TB, binary string, env ...string) *Function {
	tb.Helper()
	rt := NewRuntimeAPI()
	f := &Function{RuntimeAPI: rt, stdout: &lockedBuffer{}, exited: make(chan struct{})}
	f.cmd = exec.Command(binary)
	f.cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + rt.Addr,
		"AWS_LAMBDA_FUNCTION_NAME=citylink-test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=AKIACITYLINKTEST",
		"AWS_SECRET_ACCESS_KEY=citylink-test-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + tb.TempDir(),
	}, env...)
	f.cmd.Stdout = f.stdout
	f.cmd.Stderr = f.stdout
	if err := f.cmd.Start(); err != nil {
		rt.Close()
		tb.Fatalf("starting %s: %v", binary, err)
	}
	go func() { _ = f.cmd.Wait(); close(f.exited) }()
	tb.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		<-f.exited
		rt.Close()
	})
	return f
}

// Output returns what the function has written to stdout and stderr.
func (f *Function) Output() string { return f.stdout.String() }

// Exited reports whether the function's process has ended.
func (f *Function) Exited() bool {
	select {
	case <-f.exited:
		return true
	default:
		return false
	}
}

// ErrExited is returned by InvokeFunction when the process ends first.
var ErrExited = errors.New("function process exited")

// InvokeFunction invokes f and fails fast if its process exits instead.
func (f *Function) InvokeFunction(ctx context.Context, payload []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-f.exited:
			cancel(ErrExited)
		case <-ctx.Done():
		}
	}()
	b, err := f.Invoke(ctx, payload, timeout)
	if cause := context.Cause(ctx); errors.Is(cause, ErrExited) {
		return nil, fmt.Errorf("%w: %s", ErrExited, f.Output())
	}
	return b, err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
