// Command citylink is the operator's tool: it runs the whole system on one
// machine (dev), the simulated city systems alone (sim), the database
// migrations (migrate), and answers what the workflows did (status, items)
// and gives failed items another go (replay).
//
// The commands are built with cobra, so every command has --help with
// examples, and a mistyped flag or command is a usage error (exit code 2)
// that scripts can tell from a failure (exit code 1).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes scripts can rely on. They are documented in the root command's
// help and in README.md.
const (
	exitOK        = 0 // the command did what was asked
	exitFailed    = 1 // the command could not do it (database down, bad data, …)
	exitUsage     = 2 // a mistyped command, flag or argument
	exitNotFound  = 3 // the run, workflow or asset asked about does not exist
	exitAttention = 4 // the command worked, and what it reports has failed or dead items
)

const exitCodesHelp = `Exit codes:
  0  done
  1  failed (the error says why: database unreachable, bad data, ...)
  2  usage error: unknown command, flag or argument
  3  not found: the run, workflow or asset asked about does not exist
  4  needs attention: the runs shown (or the run replayed) have failed or dead items`

// exitError carries an exit code other than exitFailed up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a mistake in the command line.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// notFound marks a question about something that is not there.
func notFound(format string, args ...any) error {
	return &exitError{code: exitNotFound, err: fmt.Errorf(format, args...)}
}

// errAttention is returned after a successful report that shows failed or
// dead items, so a script can act on it without parsing the output.
var errAttention = &exitError{code: exitAttention, err: errors.New("failed or dead items need attention")}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, logger)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps what run returned to the process's exit code, printing the
// error once.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee != errAttention {
			fmt.Fprintln(stderr, "citylink:", err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "citylink:", err)
	return exitFailed
}

// run executes the command line args, writing its results to out.
func run(ctx context.Context, args []string, out io.Writer, logger *slog.Logger) error {
	root := newRoot(out, logger)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// newRoot builds the command tree. Every command writes to out and logs to
// logger, so tests run them in process.
func newRoot(out io.Writer, logger *slog.Logger) *cobra.Command {
	root := &cobra.Command{
		Use:   "citylink",
		Short: "Run, watch and repair citylink's streetlight integrations",
		Long: `citylink runs a city's smart-streetlight data integrations (ArcGIS audits ->
CMS, CMS -> utility billing, CMS alarms -> Open311, CMS <-> DOT GIS) and its
sensor telemetry. This command starts the whole system on one machine and
answers what the workflows did.

Commands that read the database use DATABASE_URL (or --database-url).

` + exitCodesHelp,
		Example: `  citylink dev                                   # the whole system and its console
  citylink status --workflow arcgis-import       # its latest runs
  citylink items --asset SL-0000042               # what happened to one streetlight
  citylink replay --run 12 --failed --dead       # give a run's failures another go`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w (see %s --help)", err, c.CommandPath())}
	})
	root.Args = noArgs
	root.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	root.AddCommand(
		newDevCmd(out, logger),
		newSimCmd(out, logger),
		newMigrateCmd(out, logger),
		newStatusCmd(out),
		newItemsCmd(out),
		newReplayCmd(out),
		newRunCmd(out, logger),
		newBenchCmd(out, logger),
	)
	return root
}

// noArgs rejects positional arguments as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if !c.HasParent() {
		return usageError("unknown command %q (see citylink --help)", args[0])
	}
	return usageError("%s takes no arguments, got %q (see %s --help)", c.Name(), args, c.CommandPath())
}
