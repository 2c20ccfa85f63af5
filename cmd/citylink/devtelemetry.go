package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/citylink/citylink/internal/telemetry"
)

// describeTelemetry prints the telemetry endpoints and curl lines that work
// as pasted: a reading of the fleet's first sensor, timestamped now (it
// stays within the retention for 90 days), and the queries that find it.
func describeTelemetry(out io.Writer, console string, sensors []string, now time.Time) {
	sensor := "SL-0000001"
	if len(sensors) > 0 {
		sensor = sensors[0]
	}
	base := console + "/telemetry"
	fmt.Fprintf(out, "Telemetry            %s/  (the test page)\n", base)
	fmt.Fprintf(out, "  submit: curl -s -H 'Content-Type: application/json' -d '{\"sensor_id\":\"%s\",\"metric\":\"power\",\"unit\":\"W\",\"value\":42.5,\"timestamp\":\"%s\"}' %s/readings\n",
		sensor, now.UTC().Truncate(time.Millisecond).Format(telemetry.TimeLayout), base)
	fmt.Fprintf(out, "  latest: curl -s %s/sensors/%s/latest\n", base, sensor)
	fmt.Fprintf(out, "  history: curl -s '%s/sensors/%s/readings?metric=power&limit=10'  (also from, to: RFC 3339 or epoch ms, UTC; order=asc|desc; cursor)\n", base, sensor)
}

// stopping logs what is being stopped and stops it, for the shutdown lines
// of a ctrl-c.
func stopping(logger *slog.Logger, what string, stop func()) func() {
	return func() {
		logger.Info("stopping " + what)
		stop()
	}
}
