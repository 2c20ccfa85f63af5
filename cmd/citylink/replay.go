package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/work"
)

// replayResult is what `citylink replay --json` prints.
type replayResult struct {
	Workflow string         `json:"workflow"`
	From     int64          `json:"from_run"`
	Queued   []int64        `json:"queued_items"`
	Run      *work.Progress `json:"run,omitempty"`
}

func newReplayCmd(out io.Writer) *cobra.Command {
	var (
		db                   dbFlag
		runID                int64
		failed, dead, asJSON bool
		wait                 bool
		timeout              time.Duration
	)
	c := &cobra.Command{
		Use:   "replay --run ID [--failed] [--dead]",
		Short: "Give a run's failed and dead items a fresh set of attempts in a new run, and show its progress",
		Long: `replay queues a run's failed items (--failed), dead items (--dead) or both
(neither flag) with their attempts reset, so the workflow's next run carries
them; then it waits for that run and shows its progress (a bar on a terminal,
plain lines otherwise) until it closes. Under citylink dev the next run starts
at the workflow's next tick; in AWS, at its schedule. --wait=false returns once
the items are queued.

Exit code 4 says that the run that carried the items has failed or dead items
again; 3 that there is no such run.`,
		Example: `  citylink replay --run 12                  # failed and dead items of run 12
  citylink replay --run 12 --dead --wait=false
  citylink replay --run 12 --json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("run") {
				return usageError("replay needs --run (see citylink replay --help)")
			}
			var states []work.Status
			if failed || !dead {
				states = append(states, work.Failed)
			}
			if dead || !failed {
				states = append(states, work.Dead)
			}
			pool, err := db.connect(c.Context(), "replay")
			if err != nil {
				return err
			}
			defer pool.Close()
			ctx := c.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return replay(ctx, pool, out, runID, states, wait, asJSON)
		},
	}
	db.register(c)
	c.Flags().Int64Var(&runID, "run", 0, "the run whose items to replay")
	c.Flags().BoolVar(&failed, "failed", false, "replay the failed items")
	c.Flags().BoolVar(&dead, "dead", false, "replay the dead items")
	c.Flags().BoolVar(&wait, "wait", true, "wait for the run that carries them and show its progress")
	c.Flags().DurationVar(&timeout, "timeout", 0, "give up waiting after this long (0: wait until the run closes)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return c
}

func replay(ctx context.Context, db work.DB, out io.Writer, runID int64, states []work.Status, wait, asJSON bool) error {
	wf, ids, err := work.ReplayRun(ctx, db, runID, states)
	if errors.Is(err, work.ErrRunNotFound) {
		return notFound("run %d does not exist", runID)
	}
	if err != nil {
		return err
	}
	res := replayResult{Workflow: wf, From: runID, Queued: ids}
	if res.Queued == nil {
		res.Queued = []int64{}
	}
	if !asJSON {
		fmt.Fprintf(out, "queued %d %s items of run %d for the next %s run\n", len(ids), statesText(states), runID, wf)
	}
	if len(ids) > 0 && wait {
		p, err := waitForReplay(ctx, db, out, ids, asJSON)
		if err != nil {
			return err
		}
		res.Run = &p
	}
	if asJSON {
		if err := writeJSON(out, res); err != nil {
			return err
		}
	}
	if res.Run != nil && res.Run.Failed+res.Run.Dead > 0 {
		return errAttention
	}
	return nil
}

// waitForReplay waits for the run that carries the replayed items, then
// watches it until it closes.
func waitForReplay(ctx context.Context, db work.DB, out io.Writer, ids []int64, quiet bool) (work.Progress, error) {
	w := newWatcher(db, out)
	if quiet {
		w.out, w.bar = io.Discard, false
	}
	told := false
	for {
		run, err := work.CarriedInto(ctx, db, ids)
		if err != nil {
			return work.Progress{}, err
		}
		if run != 0 {
			return w.watch(ctx, run)
		}
		if !told && !quiet {
			fmt.Fprintln(out, "waiting for the workflow's next run to carry them (ctrl-c stops waiting; the items stay queued)")
			told = true
		}
		select {
		case <-ctx.Done():
			return work.Progress{}, fmt.Errorf("waiting for the replay's run: %w", ctx.Err())
		case <-time.After(w.poll):
		}
	}
}

func statesText(ss []work.Status) string {
	if len(ss) == 2 {
		return "failed and dead"
	}
	return string(ss[0])
}
