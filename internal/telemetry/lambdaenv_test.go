package telemetry_test

import (
	"context"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/telemetry"
)

// TestLambdaEnv sets environment variables, so it cannot run in parallel.
func TestLambdaEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("CITYLINK_TEST_TABLE", "SensorData")
	t.Setenv("CITYLINK_TEST_BUCKET", "archive")
	t.Setenv("CITYLINK_TEST_UNSET", "")

	cfg, env, err := telemetry.LambdaEnv(context.Background(), "CITYLINK_TEST_TABLE", "CITYLINK_TEST_BUCKET")
	if err != nil {
		t.Fatal(err)
	}
	if env["CITYLINK_TEST_TABLE"] != "SensorData" || env["CITYLINK_TEST_BUCKET"] != "archive" || len(env) != 2 {
		t.Errorf("env = %v, want the two required variables", env)
	}
	if cfg.Region != "eu-west-2" {
		t.Errorf("aws config region = %q, want eu-west-2 from AWS_REGION", cfg.Region)
	}

	_, _, err = telemetry.LambdaEnv(context.Background(), "CITYLINK_TEST_TABLE", "CITYLINK_TEST_UNSET")
	if err == nil || !strings.Contains(err.Error(), "CITYLINK_TEST_UNSET is not set") {
		t.Errorf("LambdaEnv with an unset variable: %v, want it named", err)
	}
}
