package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestHelpShowsExamples holds every command to the promise that its help
// has examples an operator can paste.
func TestHelpShowsExamples(t *testing.T) {
	t.Parallel()
	root := newRoot(io.Discard, slog.New(slog.DiscardHandler))
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		if !strings.Contains(c.Example, "citylink "+c.Name()) {
			t.Errorf("%s: help has no example of itself: %q", c.Name(), c.Example)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Examples:", "Exit codes:", "dev", "sim", "migrate"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("citylink --help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestExitCodes checks the codes scripts rely on for mistakes in the
// command line.
func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"bogus"}, exitUsage},
		{[]string{"dev", "--no-such-flag"}, exitUsage},
		{[]string{"migrate", "sideways"}, exitUsage},
		{[]string{"status", "--run"}, exitUsage},
		{[]string{"items"}, exitUsage},
		{[]string{"replay", "--dead"}, exitUsage},
		{[]string{"help"}, exitOK},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tc.args, io.Discard, slog.New(slog.DiscardHandler))
		if got := exitCode(err, &stderr); got != tc.want {
			t.Errorf("citylink %v: exit %d (%v), want %d", tc.args, got, err, tc.want)
		}
		if tc.want != exitOK && !strings.Contains(stderr.String(), "citylink:") {
			t.Errorf("citylink %v printed no error: %q", tc.args, stderr.String())
		}
	}
	if got := exitCode(errors.New("boom"), io.Discard); got != exitFailed {
		t.Errorf("a plain error exits %d, want %d", got, exitFailed)
	}
}
