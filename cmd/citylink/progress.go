package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/citylink/citylink/internal/work"
)

// isTerminal reports whether out is a terminal, where a progress bar that
// redraws itself makes sense; anything else (a file, a pipe, CI's log) gets
// plain lines.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// watcher shows a run's progress until it closes. It reads the runs and
// items tables only, so it serves any run however it was started: by
// `citylink run`, by a replay, by the schedule in AWS or in `citylink dev`.
type watcher struct {
	db  work.DB
	out io.Writer
	// bar draws a progress bar (items done of total, rate, ETA); otherwise
	// a plain line is printed every lineEvery.
	bar       bool
	poll      time.Duration
	lineEvery time.Duration
	now       func() time.Time
}

func newWatcher(db work.DB, out io.Writer) *watcher {
	return &watcher{db: db, out: out, bar: isTerminal(out), poll: 500 * time.Millisecond, lineEvery: 5 * time.Second, now: time.Now}
}

// watch polls run until it closes or ctx ends, and returns its last
// progress.
func (w *watcher) watch(ctx context.Context, run int64) (work.Progress, error) {
	var bar *progressbar.ProgressBar
	start := w.now()
	var lastLine time.Time
	startDone := -1
	t := time.NewTicker(w.poll)
	defer t.Stop()
	for {
		p, err := work.RunProgress(ctx, w.db, run)
		if err != nil {
			return p, err
		}
		if startDone < 0 {
			startDone = p.Done()
		}
		switch {
		case w.bar:
			if bar == nil || bar.GetMax() != p.Total {
				bar = w.newBar(p)
			}
			bar.Describe(describe(p))
			bar.Set(p.Done())
		case p.Closed() || lastLine.IsZero() || w.now().Sub(lastLine) >= w.lineEvery:
			fmt.Fprintln(w.out, progressLine(p, p.Done()-startDone, w.now().Sub(start)))
			lastLine = w.now()
		}
		if p.Closed() {
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(w.out)
			}
			return p, nil
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-t.C:
		}
	}
}

func (w *watcher) newBar(p work.Progress) *progressbar.ProgressBar {
	return progressbar.NewOptions(p.Total,
		progressbar.OptionSetWriter(w.out),
		progressbar.OptionSetDescription(describe(p)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("items"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

func describe(p work.Progress) string {
	s := fmt.Sprintf("run %d %s", p.Run, p.Workflow)
	if p.Failed+p.Dead > 0 {
		s += fmt.Sprintf(" (%d failed, %d dead)", p.Failed, p.Dead)
	}
	return s
}

// progressLine is one plain progress report: items done of total, the rate
// since watching began, and the time left at that rate.
func progressLine(p work.Progress, doneSince int, elapsed time.Duration) string {
	pct := 100.0
	if p.Total > 0 {
		pct = 100 * float64(p.Done()) / float64(p.Total)
	}
	s := fmt.Sprintf("run %d %s %s: %d/%d items (%.0f%%)", p.Run, p.Workflow, p.State, p.Done(), p.Total, pct)
	if secs := elapsed.Seconds(); secs > 0 && doneSince > 0 {
		rate := float64(doneSince) / secs
		s += fmt.Sprintf(", %.1f items/s", rate)
		if !p.Closed() {
			s += fmt.Sprintf(", ETA %s", time.Duration(float64(p.Pending)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	return s + fmt.Sprintf("; %d succeeded, %d skipped, %d failed, %d dead", p.Succeeded, p.Skipped, p.Failed, p.Dead)
}
