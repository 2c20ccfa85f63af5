package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/work"
)

// runRow is a run as `citylink status` lists it: the run with its live
// counts, how long it took and how fast it went.
type runRow struct {
	work.Progress
	Batches     int     `json:"batches"`
	Carried     int     `json:"carried"`
	Seconds     float64 `json:"duration_seconds"`
	ItemsPerSec float64 `json:"items_per_second"`
}

func newRunRow(r work.Run, p work.Progress, now time.Time) runRow {
	end := now
	if p.Finished != nil {
		end = *p.Finished
	}
	row := runRow{Progress: p, Batches: r.Batches, Carried: r.Carried, Seconds: end.Sub(p.Started).Seconds()}
	if row.Seconds > 0 {
		row.ItemsPerSec = float64(p.Done()) / row.Seconds
	}
	return row
}

// runDetail is one run with its batches and its failed and dead items.
type runDetail struct {
	runRow
	BatchList []work.BatchRecord `json:"batch_list"`
	Problems  []work.ItemRecord  `json:"failed_and_dead"`
}

func newStatusCmd(out io.Writer) *cobra.Command {
	var (
		db       dbFlag
		workflow string
		runID    int64
		limit    int
		asJSON   bool
	)
	c := &cobra.Command{
		Use:   "status",
		Short: "Show runs with their state, counts, duration and throughput; or one run in detail",
		Long: `status lists the latest runs (of one workflow with --workflow), newest first,
with their state, items per outcome, duration and throughput. Counts of a run
still working are read live from its items.

With --run it shows one run: its progress, its batches, and its failed and
dead items with their errors.

Exit code 4 says that the latest run of a workflow shown (or the run asked
for) has failed or dead items; 3 that there is no such run or workflow.`,
		Example: `  citylink status
  citylink status --workflow arcgis-import --limit 5
  citylink status --run 12
  citylink status --run 12 --json | jq '.failed_and_dead[].error'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			pool, err := db.connect(c.Context(), "status")
			if err != nil {
				return err
			}
			defer pool.Close()
			if c.Flags().Changed("run") {
				return showRun(c.Context(), pool, out, runID, limit, asJSON)
			}
			return listRuns(c.Context(), pool, out, workflow, limit, asJSON)
		},
	}
	db.register(c)
	c.Flags().StringVar(&workflow, "workflow", "", "only this workflow's runs")
	c.Flags().Int64Var(&runID, "run", 0, "show this run in detail")
	c.Flags().IntVar(&limit, "limit", 20, "at most this many runs (or, with --run, failed and dead items)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func listRuns(ctx context.Context, db work.DB, out io.Writer, workflow string, limit int, asJSON bool) error {
	runs, err := work.Runs(ctx, db, workflow, limit)
	if err != nil {
		return err
	}
	if len(runs) == 0 && workflow != "" {
		return notFound("workflow %q has no runs", workflow)
	}
	rows := make([]runRow, 0, len(runs))
	attention := false
	latest := map[string]bool{}
	for _, r := range runs {
		p, err := work.RunProgress(ctx, db, r.ID)
		if err != nil {
			return err
		}
		if !latest[r.Workflow] {
			latest[r.Workflow] = true
			attention = attention || p.Failed+p.Dead+p.PlanFailures > 0
		}
		rows = append(rows, newRunRow(r, p, time.Now()))
	}
	if asJSON {
		if err := writeJSON(out, rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tWORKFLOW\tSTATE\tSTARTED\tDURATION\tITEMS\tSUCCEEDED\tSKIPPED\tFAILED\tDEAD\tITEMS/S")
		for _, r := range rows {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\n", r.Run, r.Workflow, r.State,
				r.Started.Local().Format("2006-01-02 15:04:05"), seconds(r.Seconds), r.Total,
				r.Succeeded, r.Skipped, r.Failed, r.Dead, r.ItemsPerSec)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, r := range rows {
			if r.PlanFailures > 0 {
				fmt.Fprintf(out, "run %d (%s) stuck planning: %s\n", r.Run, r.Workflow, planFailure(r.Progress))
			}
		}
		if len(rows) == 0 {
			fmt.Fprintln(out, "no runs yet")
		}
	}
	if attention {
		return errAttention
	}
	return nil
}

func showRun(ctx context.Context, db work.DB, out io.Writer, id int64, limit int, asJSON bool) error {
	p, err := work.RunProgress(ctx, db, id)
	if errors.Is(err, work.ErrRunNotFound) {
		return notFound("run %d does not exist", id)
	}
	if err != nil {
		return err
	}
	bs, err := work.Batches(ctx, db, id)
	if err != nil {
		return err
	}
	bad, err := work.RunItems(ctx, db, id, []work.Status{work.Failed, work.Dead}, limit)
	if err != nil {
		return err
	}
	d := runDetail{runRow: newRunRow(work.Run{Batches: len(bs)}, p, time.Now()), BatchList: bs, Problems: bad}
	if asJSON {
		err = writeJSON(out, d)
	} else {
		err = printRun(out, d)
	}
	if err != nil {
		return err
	}
	if p.Failed+p.Dead+p.PlanFailures > 0 {
		return errAttention
	}
	return nil
}

// planFailure says why a run is stuck planning: its plan attempts that
// failed in a row and the last error.
func planFailure(p work.Progress) string {
	at := ""
	if p.PlanErrorAt != nil {
		at = ", last at " + p.PlanErrorAt.Local().Format(time.RFC3339)
	}
	return fmt.Sprintf("failed %d times in a row%s: %s", p.PlanFailures, at, oneLine(p.PlanError))
}

func printRun(out io.Writer, d runDetail) error {
	fmt.Fprintf(out, "run %d  %s  %s\n", d.Run, d.Workflow, d.State)
	fmt.Fprintf(out, "started   %s", d.Started.Local().Format(time.RFC3339))
	if d.Finished != nil {
		fmt.Fprintf(out, "   finished %s", d.Finished.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(out, "\nduration  %s   %.1f items/s\n", seconds(d.Seconds), d.ItemsPerSec)
	fmt.Fprintf(out, "items     %d: %d succeeded, %d skipped, %d failed, %d dead, %d pending\n",
		d.Total, d.Succeeded, d.Skipped, d.Failed, d.Dead, d.Pending)
	if d.PlanFailures > 0 {
		fmt.Fprintf(out, "plan      %s\n", planFailure(d.Progress))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tSTATE\tITEMS\tCLAIMS\tCHAIN\tFINISHED")
	for _, b := range d.BatchList {
		chain, fin := "-", "-"
		if b.Chain != nil {
			chain = fmt.Sprint(*b.Chain)
		}
		if b.Finished != nil {
			fin = b.Finished.Local().Format("15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\n", b.Seq, b.State, b.Items, b.Attempt, chain, fin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Problems) == 0 {
		return nil
	}
	fmt.Fprintln(out, "\nfailed and dead items:")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tKEY\tSTATE\tATTEMPTS\tERROR")
	for _, it := range d.Problems {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", it.ID, it.Key, it.State, it.Attempts, oneLine(it.Error))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nreplay them: citylink replay --run %d\n", d.Run)
	return nil
}

func newItemsCmd(out io.Writer) *cobra.Command {
	var (
		db     dbFlag
		asset  string
		limit  int
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "items --asset ID",
		Short: "Show what happened to one asset in every workflow, in time order",
		Long: `items answers "what happened to pole X": every item of the asset in every
workflow (import, billing, 311 episodes, GIS sync), in the order of their
runs, with its outcome, the target's reference and the error. Items keyed by
the asset and something of it ("SL-0000042:lamp_out") count as the asset's.

Exit code 3 says that no workflow has ever seen the asset.`,
		Example: `  citylink items --asset SL-0000042
  citylink items --asset SL-0000042 --json | jq -r '.[] | [.workflow, .state] | @tsv'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if asset == "" {
				return usageError("items needs --asset (see citylink items --help)")
			}
			pool, err := db.connect(c.Context(), "items")
			if err != nil {
				return err
			}
			defer pool.Close()
			hist, err := work.AssetHistory(c.Context(), pool, asset, limit)
			if err != nil {
				return err
			}
			if len(hist) == 0 {
				if asJSON {
					fmt.Fprintln(out, "[]")
				}
				return notFound("no workflow has an item of %s", asset)
			}
			if asJSON {
				return writeJSON(out, hist)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tWORKFLOW\tITEM\tKEY\tSTATE\tATTEMPTS\tFINISHED\tTARGET / ERROR")
			for _, it := range hist {
				fin := "-"
				if it.Finished != nil {
					fin = it.Finished.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", it.Run, it.Workflow, it.ID, it.Key, it.State,
					it.Attempts, fin, oneLine(cmp.Or(it.Error, it.Reason, it.TargetRef)))
			}
			return tw.Flush()
		},
	}
	db.register(c)
	c.Flags().StringVar(&asset, "asset", "", "the asset id, such as SL-0000042")
	c.Flags().IntVar(&limit, "limit", 500, "at most this many items")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}
