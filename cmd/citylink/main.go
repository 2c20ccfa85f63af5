// Command citylink is the operator's tool: it runs the whole system on one
// machine (dev), the simulated city systems alone (sim), and the database
// migrations (migrate).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: citylink <command> [flags]

commands:
  dev       run the whole system locally: Postgres, the simulated city, the AWS stand-ins
  sim       run the simulated city systems alone, on printed local ports
  migrate   apply the database migrations (DATABASE_URL), or show their status: migrate status
`

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, logger); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "citylink:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], out, logger)
	case "sim":
		return runSim(ctx, args[1:], out, logger)
	case "migrate":
		return runMigrate(ctx, args[1:], out, logger)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
