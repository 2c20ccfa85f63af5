package awstest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/awstest"
)

// runtimeClient plays a function's side of the Runtime API for one
// invocation: it takes the next event and posts reply to path.
func runtimeClient(t *testing.T, addr, path, reply string) (event string, err error) {
	resp, err := http.Get("http://" + addr + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	if id == "" || resp.Header.Get("Lambda-Runtime-Deadline-Ms") == "" {
		t.Errorf("next headers = %v", resp.Header)
	}
	post, err := http.Post("http://"+addr+"/2018-06-01/runtime/invocation/"+id+"/"+path, "application/json", strings.NewReader(reply))
	if err != nil {
		return "", err
	}
	post.Body.Close()
	if post.StatusCode != http.StatusAccepted {
		t.Errorf("post %s = %d", path, post.StatusCode)
	}
	return string(b), nil
}

func TestRuntimeAPIRoundTrip(t *testing.T) {
	t.Parallel()
	rt := awstest.NewRuntimeAPI()
	defer rt.Close()

	got := make(chan string, 1)
	go func() {
		ev, err := runtimeClient(t, rt.Addr, "response", `{"ok":true}`)
		if err != nil {
			t.Error(err)
		}
		got <- ev
	}()
	out, err := rt.Invoke(context.Background(), []byte(`{"n":1}`), 5*time.Second)
	if err != nil || string(out) != `{"ok":true}` {
		t.Fatalf("Invoke = %s, %v", out, err)
	}
	if ev := <-got; ev != `{"n":1}` {
		t.Fatalf("function got %s", ev)
	}

	go func() {
		if _, err := runtimeClient(t, rt.Addr, "error", `{"errorType":"Boom","errorMessage":"it broke"}`); err != nil {
			t.Error(err)
		}
	}()
	_, err = rt.Invoke(context.Background(), []byte(`{}`), 5*time.Second)
	var fe *awstest.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Boom" || fe.Message != "it broke" {
		t.Fatalf("Invoke error = %v, want the function's error", err)
	}
}

func TestRuntimeAPIInvokeHonoursContext(t *testing.T) {
	t.Parallel()
	rt := awstest.NewRuntimeAPI()
	defer rt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rt.Invoke(ctx, []byte(`{}`), time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with no function polling = %v, want context.Canceled", err)
	}
}
