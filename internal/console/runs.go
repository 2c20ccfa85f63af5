package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/work"
)

// runView is a run as the console lists it: live counts, duration and
// throughput.
type runView struct {
	work.Progress
	Done        int     `json:"done"`
	Seconds     float64 `json:"duration_seconds"`
	ItemsPerSec float64 `json:"items_per_second"`
}

func newRunView(p work.Progress) runView {
	v := runView{Progress: p, Done: p.Done(), Seconds: since(p.Started, p.Finished)}
	if v.Seconds > 0 {
		v.ItemsPerSec = float64(v.Done) / v.Seconds
	}
	return v
}

// workflowView is one workflow with its latest runs.
type workflowView struct {
	Workflow  string    `json:"workflow"`
	Startable bool      `json:"startable"`
	Runs      []runView `json:"runs"`
}

// runsPerWorkflow is how many of each workflow's latest runs the console
// lists.
const runsPerWorkflow = 8

func (c *Console) workflows(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var names []string
	if c.cfg.Runner != nil {
		names = c.cfg.Runner.Workflows()
	}
	runs, err := work.Runs(ctx, c.cfg.DB, "", 200)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	for _, run := range runs {
		if !slices.Contains(names, run.Workflow) {
			names = append(names, run.Workflow)
		}
	}
	out := make([]workflowView, 0, len(names))
	for _, name := range names {
		v := workflowView{Workflow: name, Runs: []runView{}}
		v.Startable = c.cfg.Runner != nil && slices.Contains(c.cfg.Runner.Workflows(), name)
		for _, run := range runs {
			if run.Workflow != name || len(v.Runs) == runsPerWorkflow {
				continue
			}
			p, err := work.RunProgress(ctx, c.cfg.DB, run.ID)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			v.Runs = append(v.Runs, newRunView(p))
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) startRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if c.cfg.Runner == nil || !slices.Contains(c.cfg.Runner.Workflows(), name) {
		problem(w, http.StatusNotFound, fmt.Sprintf("no workflow %q runs here", name))
		return
	}
	id, err := c.cfg.Runner.Start(r.Context(), name)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"workflow": name, "run": id})
}

// runDetail is one run with its batches and its failed and dead items.
type runDetail struct {
	runView
	Batches  []work.BatchRecord `json:"batches"`
	Problems []work.ItemRecord  `json:"failed_and_dead"`
}

// problemsShown is how many failed and dead items a run's page lists.
const problemsShown = 200

func (c *Console) run(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p, err := work.RunProgress(ctx, c.cfg.DB, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	bs, err := work.Batches(ctx, c.cfg.DB, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	bad, err := work.RunItems(ctx, c.cfg.DB, id, []work.Status{work.Failed, work.Dead}, problemsShown)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, runDetail{runView: newRunView(p), Batches: orEmpty(bs), Problems: orEmpty(bad)})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (c *Console) throughput(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	p, err := work.RunProgress(r.Context(), c.cfg.DB, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// About sixty points, whatever the run's length.
	step := max(time.Second, (time.Duration(since(p.Started, p.Finished)*float64(time.Second)) / 60).Round(time.Second))
	rates, err := work.Throughput(r.Context(), c.cfg.DB, id, step)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": id, "step_seconds": step.Seconds(), "points": orEmpty(rates)})
}

// replayView is what a replay answers: the items queued and the run that
// carries them (0 when none could be started: the next scheduled run will).
type replayView struct {
	Workflow string  `json:"workflow"`
	Queued   []int64 `json:"queued_items"`
	Run      int64   `json:"run"`
	Note     string  `json:"note,omitempty"`
}

func (c *Console) replayRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct {
		Failed bool `json:"failed"`
		Dead   bool `json:"dead"`
	}
	if !decode(w, r, &body) {
		return
	}
	var states []work.Status
	if body.Failed {
		states = append(states, work.Failed)
	}
	if body.Dead {
		states = append(states, work.Dead)
	}
	if len(states) == 0 {
		problem(w, http.StatusBadRequest, `say which items to replay: {"failed": true} and/or {"dead": true}`)
		return
	}
	wf, ids, err := work.ReplayRun(r.Context(), c.cfg.DB, id, states)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.startReplay(w, r, wf, ids)
}

const itemWorkflowSQL = `SELECT workflow FROM items WHERE id = $1`

func (c *Console) replayItem(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var body struct{}
	if !decode(w, r, &body) {
		return
	}
	var wf string
	err := c.cfg.DB.QueryRow(r.Context(), itemWorkflowSQL, id).Scan(&wf)
	if errors.Is(err, pgx.ErrNoRows) {
		problem(w, http.StatusNotFound, fmt.Sprintf("no item %d", id))
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	n, err := work.Replay(r.Context(), c.cfg.DB, wf, []int64{id})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if n == 0 {
		problem(w, http.StatusConflict, fmt.Sprintf("item %d is not failed or dead, or a later run carries it already", id))
		return
	}
	c.startReplay(w, r, wf, []int64{id})
}

// startReplay starts the run that carries the queued items when the
// workflow runs here, and answers with it.
func (c *Console) startReplay(w http.ResponseWriter, r *http.Request, wf string, ids []int64) {
	v := replayView{Workflow: wf, Queued: orEmpty(ids)}
	switch {
	case len(ids) == 0:
		v.Note = "nothing to replay"
	case c.cfg.Runner == nil || !slices.Contains(c.cfg.Runner.Workflows(), wf):
		v.Note = "queued; the workflow's next scheduled run carries them"
	default:
		run, err := c.cfg.Runner.Start(r.Context(), wf)
		switch {
		case errors.Is(err, work.ErrRunOpen):
			v.Note = "queued; a run is open, the next run carries them"
		case err != nil:
			c.fail(w, r, err)
			return
		default:
			v.Run = run
			if into, err := work.CarriedInto(r.Context(), c.cfg.DB, ids); err != nil || into != run {
				// Another plan got in first; report where the items went.
				v.Run = into
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}
