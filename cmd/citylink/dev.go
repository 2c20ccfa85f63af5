package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/citylink/citylink/internal/wiring"
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
	// Fleet is the simulated fleet's status, as of the request.
	Fleet telemetrydev.FleetStatus `json:"fleet"`
}

// devFlags are dev's own settings, beside the simulated city's.
type devFlags struct {
	sim     simFlags
	addr    string
	dsn     string
	sensors int
	// allowHosts are host names the console answers besides IP literals
	// and localhost (DNS rebinding protection).
	allowHosts []string
	// compress divides the workflows' production schedules; rescue is the
	// rescue tick's period.
	compress float64
	rescue   time.Duration
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
	c.Flags().StringSliceVar(&f.allowHosts, "allow-host", nil, "host names the console answers besides IP addresses and localhost")
	c.Flags().Float64Var(&f.compress, "compress", 480, "divide the workflows' schedules by this (480: arcgis-import every minute, billing-export every 3)")
	c.Flags().DurationVar(&f.rescue, "rescue-every", 30*time.Second, "how often the rescue tick returns lost batches and restarts broken chains")
	return c
}

// devAlarmsPerRun is about how many alarms each alarm-311 run of dev finds.
const devAlarmsPerRun = 20

func runDev(ctx context.Context, f *devFlags, out io.Writer, logger *slog.Logger) error {
	f.dsn = cmp.Or(f.dsn, os.Getenv("DATABASE_URL"))
	sf, addr, dsn, sensors := &f.sim, &f.addr, &f.dsn, &f.sensors
	// The console's address first: a busy port is found before Postgres,
	// the city and the stand-ins have started.
	l, err := listenConsole(*addr)
	if err != nil {
		return err
	}
	defer l.Close()
	defer logger.Info("citylink dev stopped")

	pool, dbURL, stopDB, err := devDatabase(ctx, *dsn, logger)
	if err != nil {
		return err
	}
	dbURL = redactDSN(dbURL)
	defer stopping(logger, "the database", stopDB)()
	defer pool.Close()

	logger.Info("building the simulated city", "lights", sf.lights, "seed", sf.seed)
	// The fault flags go to the gates in front of the simulators, where the
	// console can switch them later, not into the simulators themselves.
	faults := console.Faults{ErrorRate: sf.faults.ErrorRate, ThrottleRate: sf.faults.ThrottleRate,
		HangRate: sf.faults.HangRate, LatencyMS: int(sf.faults.Latency / time.Millisecond)}
	sf.faults = simcity.Faults{}
	if sf.alarmsPerDay == 0 {
		// The city keeps the wall clock while the workflows run compressed:
		// at the CMS's own rate an alarm-311 run would seldom see an alarm.
		alarms, _ := wiring.Find(wiring.Alarm311)
		sf.alarmsPerDay = devAlarmsPerRun * float64(24*time.Hour) / (float64(alarms.Every) / f.compress)
	}
	sys, err := sf.start(logger)
	if err != nil {
		return err
	}
	defer stopping(logger, "the simulated city", sys.Close)()
	gates, err := startGates(sys, faults, sf.seed)
	if err != nil {
		return err
	}
	defer stopping(logger, "the simulators' fault gates", func() {
		for _, g := range gates {
			g.Close()
		}
	})()
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
	defer stopping(logger, "the AWS stand-ins", stack.Close)()
	tel, err := telemetrydev.Start(ctx, stack, telemetrydev.Config{Logger: logger.With("half", "telemetry")})
	if err != nil {
		return err
	}
	defer stopping(logger, "the telemetry pipeline", tel.Close)()
	fleet := &telemetrydev.Fleet{Producer: tel.Producer(), Logger: logger.With("half", "telemetry")}
	for _, l := range sys.City.Lights[:min(*sensors, len(sys.City.Lights))] {
		fleet.Sensors = append(fleet.Sensors, l.AssetID)
	}
	if len(fleet.Sensors) > 0 {
		go fleet.Run(ctx)
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
	if f.compress <= 0 {
		return usageError("--compress must be positive")
	}
	runners := devRunners{}
	env := devEnv{sys: sys, db: pool, logger: logger.With("half", "integrations")}
	for _, wf := range devWorkflows() {
		r, err := startWorkflow(ctx, wf, env)
		if err != nil {
			return err
		}
		runners[wf.Name] = r
		go r.schedule(ctx, time.Duration(float64(wf.Every)/f.compress), f.rescue)
	}
	con, err := newConsole(pool, runners, gates, logger)
	if err != nil {
		return err
	}
	mux := devMux(con, tel.Handler(), func() devSystem {
		st := state
		st.Fleet = fleet.Status()
		return st
	})
	mux.HandleFunc("POST /workflows/{name}/run", func(w http.ResponseWriter, r *http.Request) {
		serveRun(w, r, runners[r.PathValue("name")])
	})
	srv := &http.Server{Handler: guardConsole(mux, f.allowHosts), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		logger.Info("stopping the console")
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()

	fmt.Fprintf(out, "citylink dev is running.\n\nconsole      %s\ndatabase     %s\n", consoleURL, dbURL)
	fmt.Fprintf(out, "kinesis      %s\ndynamodb     %s\ns3           %s\n\n", stack.KinesisEndpoint, stack.DynamoDBEndpoint, stack.S3Endpoint)
	describeSystems(out, sys, keyFile)
	describeTelemetry(out, consoleURL, fleet.Sensors, time.Now())
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
func devMux(con http.Handler, telemetry http.Handler, state func() devSystem) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/telemetry/", http.StripPrefix("/telemetry", telemetry))
	mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(state())
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
		return nil, "", nil, fmt.Errorf("connecting to %s: %w", redactDSN(dsn), err)
	}
	if err := migrations.Up(ctx, pool, logger); err != nil {
		pool.Close()
		stop()
		return nil, "", nil, err
	}
	return pool, dsn, stop, nil
}
