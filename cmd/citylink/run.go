package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// serveRun is the console's trigger for `citylink run`: it runs a workflow
// at once (or previews it, with ?dry_run=1) and streams what it says.
func serveRun(w http.ResponseWriter, r *http.Request, runner *devRunner) {
	if runner == nil {
		http.Error(w, "no such workflow: "+r.PathValue("name"), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var err error
	if r.URL.Query().Get("dry_run") == "1" {
		err = runner.dryRun(r.Context(), w)
	} else {
		err = runner.runNow(r.Context(), w)
	}
	if err != nil {
		// The status line is sent already; the last line says it failed.
		fmt.Fprintf(w, "error: %v\n", err)
	}
}

func newRunCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var console string
	var dry bool
	var names []string
	for _, wf := range devWorkflows {
		names = append(names, wf.name)
	}
	c := &cobra.Command{
		Use:   "run <workflow>",
		Short: "Run a workflow of a running `citylink dev` at once, or preview it with --dry-run",
		Long: `run asks a running citylink dev to plan a run of the workflow now, waits until
the run is closed and prints its counts. With --dry-run it prints the edits the
run would make in its target (devices to create or update in the CMS, the rows
of the utility file) and writes nothing anywhere, not even the watermark.

Workflows: ` + strings.Join(names, ", "),
		Example: `  citylink run arcgis-import
  citylink run billing-export --dry-run
  citylink run arcgis-import --console http://127.0.0.1:9000`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("run takes one workflow: %s", strings.Join(names, ", "))
			}
			if _, ok := findWorkflow(args[0]); !ok {
				return &exitError{code: exitNotFound, err: fmt.Errorf("no workflow %q: %s", args[0], strings.Join(names, ", "))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			u := strings.TrimSuffix(console, "/") + "/workflows/" + url.PathEscape(args[0]) + "/run"
			if dry {
				u += "?dry_run=1"
			}
			req, err := http.NewRequestWithContext(c.Context(), http.MethodPost, u, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("reaching citylink dev at %s (is it running?): %w", console, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return fmt.Errorf("citylink dev answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
			}
			var last string
			buf := make([]byte, 32<<10)
			for {
				n, rerr := resp.Body.Read(buf)
				if n > 0 {
					out.Write(buf[:n])
					last = string(buf[:n])
				}
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					return fmt.Errorf("reading from citylink dev: %w", rerr)
				}
			}
			if i := strings.LastIndex(strings.TrimRight(last, "\n"), "\n"); strings.HasPrefix(last[i+1:], "error: ") {
				return fmt.Errorf("%s failed", args[0])
			}
			return nil
		},
	}
	c.Flags().StringVar(&console, "console", "http://127.0.0.1:8080", "the console of the running citylink dev")
	c.Flags().BoolVar(&dry, "dry-run", false, "print the edits the run would make, per target, and write nothing")
	return c
}
