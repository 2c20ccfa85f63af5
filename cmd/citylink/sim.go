package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/citylink/citylink/internal/citysim"
	"github.com/citylink/citylink/internal/citysim/arcgissim"
	"github.com/citylink/citylink/internal/citysim/open311sim"
	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"
)

// simFlags are the simulated city's settings, shared by sim and dev.
type simFlags struct {
	seed     uint64
	lights   int
	basePort int
	faults   simcity.Faults
	tick     time.Duration
	// alarmsPerDay is the CMS's alarm rate; 0 is the simulator's own.
	alarmsPerDay float64
}

func (f *simFlags) register(fs *pflag.FlagSet) {
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the simulated city")
	fs.IntVar(&f.lights, "lights", simcity.DefaultLights, "streetlights in the simulated city")
	fs.IntVar(&f.basePort, "sim-port", 0, "serve the simulators on consecutive ports from this one (0: free ports)")
	fs.Float64Var(&f.faults.ErrorRate, "fault-errors", 0, "share of simulator requests answered 500/503")
	fs.Float64Var(&f.faults.ThrottleRate, "fault-throttle", 0, "share of simulator requests answered 429")
	fs.Float64Var(&f.faults.HangRate, "fault-hang", 0, "share of simulator requests that hang")
	fs.DurationVar(&f.faults.Latency, "fault-latency", 0, "latency added to every simulator request")
	fs.DurationVar(&f.tick, "tick", 10*time.Second, "how often the city moves on (alarms, crews, device changes)")
	fs.Float64Var(&f.alarmsPerDay, "alarms-per-day", 0, "device alarms the CMS raises a day (0: 0.5% of the commissioned devices; in dev, about 20 for each alarm-311 run)")
}

func (f *simFlags) start(logger *slog.Logger) (*citysim.Systems, error) {
	f.faults.Seed = f.seed
	f.faults.RetryAfter = time.Second
	return citysim.StartSystems(citysim.SystemsOptions{
		Seed: f.seed, Lights: f.lights, Faults: f.faults, BasePort: f.basePort, Logger: logger,
		AlarmsPerDay: f.alarmsPerDay,
	})
}

// advance moves the city on every tick until ctx ends.
func (f *simFlags) advance(ctx context.Context, sys *citysim.Systems, logger *slog.Logger) {
	t := time.NewTicker(f.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := sys.Advance(now); err != nil {
				logger.Error("advancing the simulated city", "error", err)
			}
		}
	}
}

func newSimCmd(out io.Writer, logger *slog.Logger) *cobra.Command {
	var f simFlags
	c := &cobra.Command{
		Use:   "sim",
		Short: "Serve the simulated city systems alone, on printed local ports",
		Long: `sim builds the simulated city and serves its systems on loopback: the
ArcGIS audit layer and the DOT GIS layer (with token security), the
streetlight CMS, Open311 GeoReport v2, and the utility's HTTPS and SFTP drop.
It prints each endpoint with its credentials and a curl line to try, and moves
the city on every --tick until ctrl-c.`,
		Example: `  citylink sim
  citylink sim --lights 5000 --sim-port 9100
  citylink sim --fault-errors 0.05 --fault-latency 200ms   # a flaky city`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runSim(c.Context(), &f, out, logger)
		},
	}
	f.register(c.Flags())
	return c
}

func runSim(ctx context.Context, f *simFlags, out io.Writer, logger *slog.Logger) error {
	sys, err := f.start(logger)
	if err != nil {
		return err
	}
	defer sys.Close()
	keyFile, err := writeSFTPKey(f.seed)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(keyFile))
	describeSystems(out, sys, keyFile)
	fmt.Fprintln(out, "\nctrl-c stops the city.")
	f.advance(ctx, sys, logger)
	return nil
}

// writeSFTPKey writes the key the SFTP drop authorises to a private file,
// for the sftp command.
func writeSFTPKey(seed uint64) (string, error) {
	dir, err := os.MkdirTemp("", "citylink-sftp-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, utilitysim.KeyPEM(seed+1), 0o600); err != nil {
		return "", fmt.Errorf("writing the sftp key: %w", err)
	}
	return path, nil
}

func describeSystems(out io.Writer, s *citysim.Systems, keyFile string) {
	fmt.Fprintf(out, "simulated city: %d streetlights, %d audited\n\n", len(s.City.Lights), len(s.City.Audits))
	token := func(base string) string {
		return fmt.Sprintf("curl -s -d username=%s -d password=%s -d f=json %s/arcgis/tokens/generateToken",
			citysim.SystemsArcGISUser, citysim.SystemsArcGISPassword, base)
	}
	fmt.Fprintf(out, "ArcGIS audit layer   %s/arcgis/rest/services/%s/FeatureServer/0\n", s.AuditURL, arcgissim.AuditService)
	fmt.Fprintf(out, "  token:  %s\n", token(s.AuditURL))
	query := fmt.Sprintf("%s/arcgis/rest/services/%s/FeatureServer/0/query?where=1%%3D1&returnCountOnly=true&f=json", s.AuditURL, arcgissim.AuditService)
	if tok, expires, err := mintArcGISToken(s.AuditURL); err != nil {
		fmt.Fprintf(out, "  query:  curl -s '%s&token=TOKEN'  (no token minted: %v; use the token line)\n", query, err)
	} else {
		fmt.Fprintf(out, "  query:  curl -s '%s&token=%s'\n          (token valid until %s UTC; the token line mints another)\n", query, tok, expires.UTC().Format("15:04"))
	}
	fmt.Fprintf(out, "DOT GIS layer        %s/arcgis/rest/services/%s/FeatureServer/0\n", s.DOTURL, arcgissim.DOTService)
	fmt.Fprintf(out, "  token:  %s\n", token(s.DOTURL))
	fmt.Fprintf(out, "Streetlight CMS      %s\n", s.CMSURL)
	fmt.Fprintf(out, "  curl -s -H 'X-API-Key: %s' '%s/api/v1/devices?limit=2'\n", s.CMS.APIKey(), s.CMSURL)
	fmt.Fprintf(out, "Open311 GeoReport v2 %s\n", s.Open311URL)
	fmt.Fprintf(out, "  curl -s %s/services.json\n", s.Open311URL)
	fmt.Fprintf(out, "  api_key=%s jurisdiction_id=%s\n", open311sim.DefaultAPIKey, open311sim.DefaultJurisdiction)
	fmt.Fprintf(out, "Utility drop (HTTPS) %s/inbox\n", s.UtilityURL)
	fmt.Fprintf(out, "  curl -sk -H 'Authorization: Bearer %s' %s/inbox\n", utilitysim.DefaultToken, s.UtilityURL)
	fmt.Fprintf(out, "Utility drop (SFTP)  %s\n", s.SFTPAddr)
	host, port := splitHostPort(s.SFTPAddr)
	fmt.Fprintf(out, "  sftp -i %s -P %s -o StrictHostKeyChecking=no citylink@%s\n", keyFile, port, host)
}

func splitHostPort(addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, ""
	}
	return host, port
}

// mintArcGISToken asks the simulated ArcGIS server for a token, as the
// printed token line does, so the printed query works as pasted.
func mintArcGISToken(base string) (string, time.Time, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.PostForm(base+"/arcgis/tokens/generateToken", url.Values{
		"username": {citysim.SystemsArcGISUser}, "password": {citysim.SystemsArcGISPassword}, "f": {"json"},
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("generating a token: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Token   string `json:"token"`
		Expires int64  `json:"expires"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		return "", time.Time{}, fmt.Errorf("generating a token: %d answer without a token", resp.StatusCode)
	}
	return body.Token, time.UnixMilli(body.Expires), nil
}
