package imports_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/citylink/citylink/"

// deps maps each package of the module to everything it imports, directly
// or not, as `go list -deps` sees it (tests excluded: they may use anything).
func deps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, mod+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.String())
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		m[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	return m
}

func TestWhoMayImportWhom(t *testing.T) {
	t.Parallel()
	all := deps(t)
	if len(all) < 10 {
		t.Fatalf("go list found only %d packages", len(all))
	}
	forbid := func(pkg string, bad ...string) {
		for _, d := range all[pkg] {
			for _, b := range bad {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
	for pkg := range all {
		switch {
		case pkg == "internal/work":
			// The engine knows no workflow and no outside system.
			bad := []string{mod + "internal/telemetry", mod + "internal/citysim"}
			for _, c := range append(slices.Clone(clients), workflows...) {
				bad = append(bad, mod+c)
			}
			forbid(pkg, bad...)
		case strings.HasPrefix(pkg, "internal/citysim"):
			// A simulator reads what a client sends with its own code, so a
			// client's mistake fails a test instead of being agreed with.
			for _, c := range clients {
				forbid(pkg, mod+c)
			}
		case strings.HasPrefix(pkg, "internal/telemetry") && pkg != "internal/telemetry/telemetrydev":
			// Telemetry and the integration engine are separate halves.
			forbid(pkg, mod+"internal/work", mod+"internal/citysim")
		}
	}
	for _, c := range clients {
		// A client knows nothing of runs and batches, nor of our simulator.
		forbid(c, mod+"internal/work", mod+"internal/citysim", mod+"internal/telemetry")
	}
}
