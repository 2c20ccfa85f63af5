package telemetry_test

import (
	"os"
	"testing"

	"github.com/citylink/citylink/internal/telemetry/telemetrytest"
)

func TestMain(m *testing.M) { os.Exit(telemetrytest.Main(m)) }
