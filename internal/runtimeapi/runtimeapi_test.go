package runtimeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/runtimeapi"
)

func TestBootstrapRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bin, err := runtimeapi.Build(ctx, ".", "./testdata/echo", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fn, err := runtimeapi.Run(bin, "echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)

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

	_, err = fn.Invoke(ctx, []byte(`{"fail":true}`), 30*time.Second)
	var fe *runtimeapi.FunctionError
	if !errors.As(err, &fe) || fe.Message != "asked to fail" {
		t.Fatalf("err = %v, want the function's error", err)
	}
}
