package imports_test

import (
	"bufio"
	"bytes"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// shipped lists every binary under cmd/ with what it links, as `go list
// -deps` sees it when built the way it ships: the Lambdas as make build
// builds them (linux/arm64, no cgo, -tags lambda.norpc), the CLI for this
// machine.
func shipped(t *testing.T) map[string][]string {
	t.Helper()
	cmds := goList(t, nil, "-f", "{{.ImportPath}}", mod+"cmd/...")
	out := map[string][]string{}
	lambda := []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}
	for _, line := range cmds {
		cmd := strings.TrimPrefix(line, mod)
		if cmd == "cmd/citylink" {
			out[cmd] = goList(t, nil, "-deps", mod+cmd)
			continue
		}
		out[cmd] = goList(t, lambda, "-deps", "-tags", "lambda.norpc", mod+cmd)
	}
	return out
}

// goList runs go list with extra environment and returns its lines.
func goList(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// notInALambda is what a Lambda binary never links: the test framework,
// the simulated city, the local stand-ins (ours and the libraries behind
// them), the dev-only halves and every test kit. Each entry also forbids the
// packages below it.
var notInALambda = []string{
	"testing",
	mod + "internal/citysim",
	mod + "internal/localaws", mod + "internal/pglocal", mod + "internal/telemetry/telemetrydev",
	"github.com/Admiral-Piett/goaws", "github.com/johannesboyne/gofakes3",
	mod + "internal/awstest", mod + "internal/pgtest", mod + "internal/runtimeapi",
	mod + "internal/testclock", mod + "internal/work/worktest", mod + "internal/work/fault",
	mod + "internal/telemetry/telemetrytest",
}

// notInTelemetryAPI: the query API reads DynamoDB only; the Kinesis and S3
// clients belong to the store and archive Lambdas.
var notInTelemetryAPI = []string{
	"github.com/aws/aws-sdk-go-v2/service/kinesis",
	"github.com/aws/aws-sdk-go-v2/service/s3",
}

// lambdaWorkflow is the one workflow package each workflow Lambda links.
var lambdaWorkflow = map[string]string{
	"cmd/arcgis-import":  "internal/arcgisimport",
	"cmd/billing-export": "internal/billingexport",
	"cmd/alarm-311":      "internal/alarm311",
	"cmd/gis-push":       "internal/gissync",
	"cmd/gis-pull":       "internal/gissync",
}

// TestEachWorkflowLambdaLinksOnlyItsOwnWorkflow: a workflow Lambda links
// its own workflow package and no other (nor the registry internal/wiring,
// which links them all), so a workflow's binary carries only its own code;
// every other Lambda links no workflow at all.
func TestEachWorkflowLambdaLinksOnlyItsOwnWorkflow(t *testing.T) {
	t.Parallel()
	bins := shipped(t)
	for cmd, own := range lambdaWorkflow {
		if _, ok := bins[cmd]; !ok {
			t.Errorf("%s is not a binary under cmd/", cmd)
		}
		if !slices.Contains(bins[cmd], mod+own) {
			t.Errorf("%s does not link its own workflow %s", cmd, own)
		}
	}
	for cmd, deps := range bins {
		if cmd == "cmd/citylink" {
			continue
		}
		for _, d := range deps {
			d = strings.TrimPrefix(d, mod)
			if slices.Contains(workflows, d) && d != lambdaWorkflow[cmd] {
				t.Errorf("%s links workflow %s, which is not its own", cmd, d)
			}
			if d == "internal/wiring" {
				t.Errorf("%s links internal/wiring, the list of every workflow; a Lambda imports its own wiring package", cmd)
			}
		}
	}
}

// TestShippedBinariesLinkNothingOfTestsOrDev holds every binary under cmd/
// to what it may link: a Lambda nothing of tests, simulators or stand-ins;
// telemetry-api no Kinesis or S3 client; the citylink CLI, which runs the
// stand-ins and simulators on purpose, still not the test framework.
func TestShippedBinariesLinkNothingOfTestsOrDev(t *testing.T) {
	t.Parallel()
	bins := shipped(t)
	if _, ok := bins["cmd/citylink"]; !ok || len(bins) < 2 {
		t.Fatalf("go list found binaries %v; want cmd/citylink and the Lambdas", slices.Sorted(maps.Keys(bins)))
	}
	for cmd, deps := range bins {
		var bad []string
		switch cmd {
		case "cmd/citylink":
			bad = []string{"testing"}
		case "cmd/telemetry-api":
			bad = append(slices.Clone(notInALambda), notInTelemetryAPI...)
		default:
			bad = notInALambda
		}
		for _, d := range deps {
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s links %s", cmd, d)
				}
			}
		}
	}
}
