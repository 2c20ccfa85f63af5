package runtimeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestBootstrapRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fn := runtimeapi.Test(t, "./testdata/echo")

	for i, say := range []string{"first", "second"} {
		body, err := fn.Invoke(ctx, []byte(`{"say":"`+say+`"}`), 30*time.Second)
		if err != nil {
			t.Fatalf("invoke %d: %v\nlogs:\n%s", i, err, fn.Logs())
		}
		var got struct {
			Said        string `json:"said"`
			HasDeadline bool   `json:"has_deadline"`
			RequestID   string `json:"request_id"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
		if got.Said != say || !got.HasDeadline || got.RequestID == "" {
			t.Fatalf("answer %+v, want %q echoed with a deadline and request id", got, say)
		}
	}

	_, err := fn.Invoke(ctx, []byte(`{"fail":true}`), 30*time.Second)
	var fe *runtimeapi.FunctionError
	if !errors.As(err, &fe) || fe.Message != "asked to fail" {
		t.Fatalf("err = %v, want the function's error", err)
	}
}

func TestInvokeFailsFastWhenTheProcessExits(t *testing.T) {
	t.Parallel()
	fn, err := runtimeapi.Run("/bin/false", "false")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	if _, err := fn.Invoke(context.Background(), []byte(`{}`), time.Minute); !errors.Is(err, runtimeapi.ErrExited) {
		t.Fatalf("invoke of an exited function = %v, want ErrExited", err)
	}
}

// TestServerSpeaksTheRuntimeAPI plays the function's side by hand: the
// headers of /next, and the /response and /error routes.
func TestServerSpeaksTheRuntimeAPI(t *testing.T) {
	t.Parallel()
	s, err := runtimeapi.Listen("by-hand")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	base := "http://" + s.Addr() + "/2018-06-01/runtime/invocation/"
	play := func(route, reply string) string {
		resp, err := http.Get(base + "next")
		if err != nil {
			t.Error(err)
			return ""
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if id == "" || resp.Header.Get("Lambda-Runtime-Deadline-Ms") == "" || resp.Header.Get("Lambda-Runtime-Invoked-Function-Arn") == "" {
			t.Errorf("next headers = %v", resp.Header)
		}
		post, err := http.Post(base+id+"/"+route, "application/json", strings.NewReader(reply))
		if err != nil {
			t.Error(err)
			return ""
		}
		post.Body.Close()
		if post.StatusCode != http.StatusAccepted {
			t.Errorf("POST %s = %d", route, post.StatusCode)
		}
		return string(event)
	}
	got := make(chan string, 1)
	go func() { got <- play("response", `{"ok":true}`) }()
	out, err := s.Invoke(context.Background(), []byte(`{"n":1}`), 5*time.Second)
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("Invoke = %s, %v", out, err)
	}
	if ev := <-got; ev != `{"n":1}` {
		t.Fatalf("function got %s", ev)
	}
	go play("error", `{"errorType":"Boom","errorMessage":"it broke"}`)
	_, err = s.Invoke(context.Background(), []byte(`{}`), 5*time.Second)
	var fe *runtimeapi.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Boom" || fe.Message != "it broke" {
		t.Fatalf("Invoke error = %v, want the function's error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Invoke(ctx, []byte(`{}`), time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with no function polling = %v, want context.Canceled", err)
	}
}
