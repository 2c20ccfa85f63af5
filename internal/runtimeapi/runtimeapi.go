// Package runtimeapi is a local stand-in for the AWS Lambda Runtime API, so
// that tests and `citylink dev` can run a Lambda's real `bootstrap` binary—the
// same bytes that ship—and invoke it the way the Lambda service does: the
// binary long-polls /runtime/invocation/next, and posts its answer to
// /response or /error.
package runtimeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// FunctionError is the error a function reported through the /error route,
// as the Lambda service reports it to an Invoke caller.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Server is the Runtime API for one function. It serves invocations one at a
// time, as one Lambda execution environment does.
type Server struct {
	srv     *http.Server
	addr    string
	pending chan *invocation
	current chan *invocation // the invocation handed out and not yet answered
	seq     atomic.Int64
	arn     string
	initErr chan *FunctionError
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	result   chan result
}

type result struct {
	body []byte
	err  error
}

// Listen serves the Runtime API on a free loopback port.
func Listen(functionName string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the runtime API: %w", err)
	}
	s := &Server{
		addr:    l.Addr().String(),
		pending: make(chan *invocation),
		current: make(chan *invocation, 1),
		arn:     "arn:aws:lambda:us-east-1:000000000000:function:" + functionName,
		initErr: make(chan *FunctionError, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.respond)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.failInit)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(l)
	return s, nil
}

// Addr is the value for the function's AWS_LAMBDA_RUNTIME_API variable.
func (s *Server) Addr() string { return s.addr }

// Close stops serving; a function still polling sees its connection close.
func (s *Server) Close() error { return s.srv.Close() }

// Invoke hands payload to the function and waits for its answer, for at most
// timeout (the function's configured timeout, passed to it as its deadline)
// or until ctx ends.
func (s *Server) Invoke(ctx context.Context, payload []byte, timeout time.Duration) ([]byte, error) {
	inv := &invocation{
		id:       "req-" + strconv.FormatInt(s.seq.Add(1), 10),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		result:   make(chan result, 1),
	}
	ctx, cancel := context.WithDeadline(ctx, inv.deadline.Add(time.Second))
	defer cancel()
	select {
	case s.pending <- inv:
	case fe := <-s.initErr:
		s.initErr <- fe
		return nil, fmt.Errorf("function failed to start: %w", fe)
	case <-ctx.Done():
		return nil, fmt.Errorf("no function polled for invocation %s: %w", inv.id, ctx.Err())
	}
	select {
	case r := <-inv.result:
		return r.body, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invocation %s: %w", inv.id, ctx.Err())
	}
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-s.pending:
		s.current <- inv
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", s.arn)
		w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		w.Header().Set("Content-Type", "application/json")
		w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

// take returns the handed-out invocation if id names it.
func (s *Server) take(w http.ResponseWriter, id string) *invocation {
	select {
	case inv := <-s.current:
		if inv.id == id {
			return inv
		}
		s.current <- inv
	default:
	}
	http.Error(w, `{"errorMessage":"unknown or finished request id","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
	return nil
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	inv.result <- result{body: body}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request) {
	fe := readFunctionError(r)
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	inv.result <- result{err: fe}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) failInit(w http.ResponseWriter, r *http.Request) {
	fe := readFunctionError(r)
	select {
	case s.initErr <- fe:
	default:
	}
	w.WriteHeader(http.StatusAccepted)
}

func readFunctionError(r *http.Request) *FunctionError {
	fe := &FunctionError{}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, fe); err != nil || fe.Message == "" {
		fe.Type, fe.Message = "Unknown", string(body)
	}
	return fe
}
