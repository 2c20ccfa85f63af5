package telemetrydev_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
)

// Example shows how `citylink dev` runs the telemetry half: the stand-ins,
// the pipeline on them, a simulated fleet, and the page and API mounted
// under /telemetry/.
func Example() {
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	stack, err := localaws.Start(ctx, localaws.ModuleDir()) // needs `npm ci --prefix internal/localaws`
	if err != nil {
		logger.Error("starting aws stand-ins", "error", err)
		return
	}
	defer stack.Close()

	dev, err := telemetrydev.Start(ctx, stack, telemetrydev.Config{Logger: logger})
	if err != nil {
		logger.Error("starting telemetry", "error", err)
		return
	}
	defer dev.Close()

	fleetCtx, stopFleet := context.WithCancel(ctx)
	defer stopFleet()
	go telemetrydev.Fleet{Producer: dev.Producer(), Sensors: []string{"SL-000001", "SL-000002"}, Interval: time.Minute, Logger: logger}.Run(fleetCtx)

	mux := http.NewServeMux()
	mux.Handle("/telemetry/", http.StripPrefix("/telemetry", dev.Handler()))
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
