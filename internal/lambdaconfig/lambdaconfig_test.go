package lambdaconfig

import (
	"context"
	"strings"
	"testing"

	"github.com/citylink/citylink/internal/work"
)

func TestRequireNamesEveryMissingVariable(t *testing.T) {
	t.Setenv("LAMBDACONFIG_SET", "x")
	t.Setenv("LAMBDACONFIG_A", "")
	t.Setenv("LAMBDACONFIG_B", "")
	env, err := Require("LAMBDACONFIG_SET")
	if err != nil || env["LAMBDACONFIG_SET"] != "x" {
		t.Fatalf("Require = %v, %v", env, err)
	}
	_, err = Require("LAMBDACONFIG_A", "LAMBDACONFIG_SET", "LAMBDACONFIG_B")
	if err == nil || err.Error() != "missing environment: LAMBDACONFIG_A, LAMBDACONFIG_B" {
		t.Fatalf("err = %v", err)
	}
}

func TestInt(t *testing.T) {
	t.Setenv("LAMBDACONFIG_N", "")
	if n, err := Int("LAMBDACONFIG_N", 7); n != 7 || err != nil {
		t.Fatalf("unset: %d, %v", n, err)
	}
	t.Setenv("LAMBDACONFIG_N", "12")
	if n, err := Int("LAMBDACONFIG_N", 7); n != 12 || err != nil {
		t.Fatalf("12: %d, %v", n, err)
	}
	for _, bad := range []string{"-1", "ten", "1.5"} {
		t.Setenv("LAMBDACONFIG_N", bad)
		if _, err := Int("LAMBDACONFIG_N", 7); err == nil || !strings.Contains(err.Error(), "LAMBDACONFIG_N") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func TestPoolNeverEchoesTheConnectionString(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://u:s3cret@[::1:5432/db")
	_, err := Pool(context.Background())
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("DATABASE_URL", "postgres://localhost/db")
	t.Setenv("DB_MAX_CONNS", "many")
	if _, err := Pool(context.Background()); err == nil || !strings.Contains(err.Error(), "DB_MAX_CONNS") {
		t.Fatalf("err = %v", err)
	}
}

func TestEngineNeedsTheLinkTopic(t *testing.T) {
	t.Setenv("LINK_TOPIC_ARN", "")
	if _, err := Engine(context.Background(), work.Config{Workflow: "test"}); err == nil || !strings.Contains(err.Error(), "LINK_TOPIC_ARN") {
		t.Fatalf("err = %v", err)
	}
}
