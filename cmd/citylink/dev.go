package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/console"
	"github.com/citylink/citylink/internal/localaws"
	"github.com/citylink/citylink/internal/pglocal"
	"github.com/citylink/citylink/internal/telemetry/telemetrydev"
	"github.com/citylink/citylink/migrations"
)

// devSystem is everything `citylink dev` runs, for the index page and its
// JSON twin.
type devSystem struct {
	Console    string            `json:"console"`
	Database   string            `json:"database"`
	Simulators map[string]string `json:"simulators"`
	AWS        map[string]string `json:"aws_stand_ins"`
	Telemetry  map[string]string `json:"telemetry"`
}

// devFlags are dev's own settings, beside the simulated city's.
type devFlags struct {
	sim     simFlags
	addr    string
	dsn     string
	sensors int
}

func newDevCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var f devFlags
	c := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system locally: Postgres, the simulated city, the AWS stand-ins, the console",
		Long: `dev starts everything on this machine: a throwaway Postgres (or
DATABASE_URL), migrated; the simulated city's systems; the AWS stand-ins with
the telemetry pipeline; a fleet of simulated streetlight sensors; and the
operations console (default http://127.0.0.1:8080). It prints every endpoint
and runs until ctrl-c.`,
		Example: `  citylink dev                                   # what make run does
  citylink dev --lights 5000 --tick 1s           # a small, fast city
  citylink dev --addr 127.0.0.1:9000 --fault-throttle 0.1
  DATABASE_URL=postgres://localhost/citylink citylink dev`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runDev(c.Context(), &f, out, logger)
		},
	}
	f.sim.register(c.Flags())
	c.Flags().StringVar(&f.addr, "addr", "127.0.0.1:8080", "where the console listens")
	c.Flags().StringVar(&f.dsn, "database-url", "", "Postgres to use (default $DATABASE_URL, else a throwaway cluster)")
	c.Flags().IntVar(&f.sensors, "sensors", 100, "simulated streetlight sensors reporting power draw every minute")
	return c
}

func runDev(ctx context.Context, f *devFlags, out io.Writer, logger *slog.Logger) error {
	f.dsn = cmp.Or(f.dsn, os.Getenv("DATABASE_URL"))
	sf, addr, dsn, sensors := &f.sim, &f.addr, &f.dsn, &f.sensors

	pool, dbURL, stopDB, err := devDatabase(ctx, *dsn, logger)
	if err != nil {
		return err
	}
	defer stopDB()
	defer pool.Close()

	logger.Info("building the simulated city", "lights", sf.lights, "seed", sf.seed)
	// The fault flags go to the gates in front of the simulators, where the
	// console can switch them later, not into the simulators themselves.
	faults := console.Faults{ErrorRate: sf.faults.ErrorRate, ThrottleRate: sf.faults.ThrottleRate,
		HangRate: sf.faults.HangRate, LatencyMS: int(sf.faults.Latency / time.Millisecond)}
	sf.faults = simcity.Faults{}
	sys, err := sf.start(logger)
	if err != nil {
		return err
	}
	defer sys.Close()
	gates, err := startGates(sys, faults, sf.seed)
	if err != nil {
		return err
	}
	defer func() {
		for _, g := range gates {
			g.Close()
		}
	}()
	go sf.advance(ctx, sys, logger)
	keyFile, err := writeSFTPKey(sf.seed)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(keyFile))

	logger.Info("starting the AWS stand-ins")
	stack, err := localaws.Start(ctx, localaws.ModuleDir())
	if err != nil {
		return fmt.Errorf("starting the AWS stand-ins: %w", err)
	}
	defer stack.Close()
	tel, err := telemetrydev.Start(ctx, stack, telemetrydev.Config{Logger: logger.With("half", "telemetry")})
	if err != nil {
		return err
	}
	defer tel.Close()
	fleet := telemetrydev.Fleet{Producer: tel.Producer(), Logger: logger.With("half", "telemetry")}
	for _, l := range sys.City.Lights[:min(*sensors, len(sys.City.Lights))] {
		fleet.Sensors = append(fleet.Sensors, l.AssetID)
	}
	if len(fleet.Sensors) > 0 {
		go fleet.Run(ctx)
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	consoleURL := "http://" + l.Addr().String()
	state := devSystem{
		Console:  consoleURL,
		Database: dbURL,
		Simulators: map[string]string{
			"arcgis_audit": sys.AuditURL, "arcgis_dot": sys.DOTURL, "cms": sys.CMSURL,
			"open311": sys.Open311URL, "utility_https": sys.UtilityURL, "utility_sftp": sys.SFTPAddr,
		},
		AWS: map[string]string{"kinesis": stack.KinesisEndpoint, "dynamodb": stack.DynamoDBEndpoint, "s3": stack.S3Endpoint},
		Telemetry: map[string]string{
			"test_page": consoleURL + "/telemetry/",
			"example":   exampleSensor(consoleURL, fleet.Sensors),
			"submit":    "POST " + consoleURL + "/telemetry/readings",
			"readings":  consoleURL + "/telemetry/sensors/{id}/readings",
			"latest":    consoleURL + "/telemetry/sensors/{id}/latest",
		},
	}
	con, err := newConsole(pool, nil, gates, logger)
	if err != nil {
		return err
	}
	mux := devMux(con, tel.Handler(), state)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()

	fmt.Fprintf(out, "citylink dev is running.\n\nconsole      %s\ndatabase     %s\n", consoleURL, dbURL)
	fmt.Fprintf(out, "kinesis      %s\ndynamodb     %s\ns3           %s\n\n", stack.KinesisEndpoint, stack.DynamoDBEndpoint, stack.S3Endpoint)
	describeSystems(out, sys, keyFile)
	fmt.Fprintln(out, "\nctrl-c stops everything.")
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// exampleSensor links the test page to a sensor of the simulated fleet.
func exampleSensor(console string, sensors []string) string {
	if len(sensors) == 0 {
		return "submit a reading first"
	}
	return console + "/telemetry/?sensor=" + sensors[0]
}

// newConsole builds the operations console over the database, the
// workflows runner starts, and the gates' fault switches.
func newConsole(pool *pgxpool.Pool, runner console.Runner, gates []*gate, logger *slog.Logger) (*console.Console, error) {
	city := make([]console.System, len(gates))
	for i, g := range gates {
		city[i] = g
	}
	return console.New(console.Config{DB: pool, Runner: runner, City: city, Logger: logger.With("part", "console")})
}

// devMux routes dev's one address: the console's pages and endpoints, the
// telemetry test page and API under /telemetry/, and status.json.
func devMux(con http.Handler, telemetry http.Handler, state devSystem) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/telemetry/", http.StripPrefix("/telemetry", telemetry))
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(state)
	})
	mux.Handle("GET /{$}", con)
	mux.Handle("/static/", con)
	mux.Handle("/api/", con)
	return mux
}

// startGates puts a switchable gate in front of each simulated HTTP system
// and points sys at the gates, so everything dev wires to the city (the
// workflows, the printed endpoints) goes through them. The utility's drop
// (TLS and SFTP) has none.
func startGates(sys *citysim.Systems, f console.Faults, seed uint64) ([]*gate, error) {
	targets := []struct {
		name string
		url  *string
	}{
		{"arcgis-audit", &sys.AuditURL}, {"arcgis-dot", &sys.DOTURL}, {"cms", &sys.CMSURL}, {"open311", &sys.Open311URL},
	}
	var gates []*gate
	for i, t := range targets {
		g, err := startGate(t.name, *t.url, f, seed+uint64(i)*1000)
		if err != nil {
			for _, g := range gates {
				g.Close()
			}
			return nil, fmt.Errorf("gate to %s: %w", t.name, err)
		}
		*t.url = g.url
		gates = append(gates, g)
	}
	return gates, nil
}

// devDatabase connects to dsn, or starts a throwaway cluster when dsn is
// empty, and migrates it.
func devDatabase(ctx context.Context, dsn string, logger *slog.Logger) (*pgxpool.Pool, string, func(), error) {
	stop := func() {}
	if dsn == "" {
		logger.Info("starting a throwaway Postgres cluster")
		c, err := pglocal.Start(ctx)
		if err != nil {
			return nil, "", nil, err
		}
		stop = func() { c.Stop() }
		dsn = c.URL("postgres")
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		stop()
		return nil, "", nil, fmt.Errorf("connecting to %s: %w", dsn, err)
	}
	if err := migrations.Up(ctx, pool, logger); err != nil {
		pool.Close()
		stop()
		return nil, "", nil, err
	}
	return pool, dsn, stop, nil
}
