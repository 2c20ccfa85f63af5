package imports_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// workflows are the packages that each hold one workflow's source, mapping
// and sink. A new workflow is added here; the test below fails for an
// internal package that looks like a workflow (it imports the engine and a
// client) and is not listed, so none escapes the rules.
var workflows = []string{
	"internal/alarm311",
	"internal/arcgisimport",
	"internal/billingexport",
	"internal/gissync",
}

// workflowMayImport is what a workflow package may import from the module:
// the engine, the clients, the clients' retry policy and backoff, and
// shared configuration (any internal package named ...config). Nothing
// else: not another workflow, the simulators, telemetry or a test kit.
func workflowMayImport(pkg string) bool {
	switch pkg {
	case "internal/work",
		"internal/arcgis", "internal/cms", "internal/open311", "internal/utility",
		"internal/httpretry", "internal/backoff":
		return true
	}
	return strings.HasPrefix(pkg, "internal/") && strings.HasSuffix(path.Base(pkg), "config")
}

// wirings are the packages that wire workflows for their runners (the
// Lambdas, citylink dev, run and bench): they may import workflows, the
// clients, the engine, lambdaconfig and each other, and no workflow
// imports them. A workflow's own wiring (wiringOf) imports that workflow
// only, wire none, and only the registry internal/wiring imports them all.
var wirings = []string{
	"internal/wiring", "internal/wiring/wire",
	"internal/wiring/alarm311", "internal/wiring/arcgisimport",
	"internal/wiring/billingexport", "internal/wiring/gissync",
}

// wiringOf maps each workflow's own wiring package to the one workflow it
// may import; wire, the shared core, imports none.
var wiringOf = map[string]string{
	"internal/wiring/wire":          "",
	"internal/wiring/alarm311":      "internal/alarm311",
	"internal/wiring/arcgisimport":  "internal/arcgisimport",
	"internal/wiring/billingexport": "internal/billingexport",
	"internal/wiring/gissync":       "internal/gissync",
}

var clients = []string{"internal/arcgis", "internal/cms", "internal/open311", "internal/utility"}

// imports maps each package of the module to the module packages it
// imports directly (tests excluded), without the module prefix.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...")
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
		var own []string
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, mod) {
				own = append(own, strings.TrimPrefix(imp, mod))
			}
		}
		m[strings.TrimPrefix(f[0], mod)] = own
	}
	return m
}

func TestWorkflowsImportOnlyEngineClientsAndConfig(t *testing.T) {
	t.Parallel()
	direct := imports(t)
	all := deps(t)
	for pkg, imps := range direct {
		if !strings.HasPrefix(pkg, "internal/") || slices.Contains(workflows, pkg) || slices.Contains(wirings, pkg) {
			continue
		}
		if slices.Contains(imps, "internal/work") && slices.ContainsFunc(imps, func(i string) bool { return slices.Contains(clients, i) }) {
			t.Errorf("%s imports the engine and a client, so it is a workflow: add it to workflows in %s", pkg, "internal/imports/workflows_test.go")
		}
	}
	for _, w := range workflows {
		imps, ok := direct[w]
		if !ok {
			continue // a workflow still to come
		}
		for _, imp := range imps {
			if !workflowMayImport(imp) {
				t.Errorf("workflow %s imports %s; a workflow imports only the engine, the clients and shared configuration", w, imp)
			}
		}
		for _, d := range all[w] {
			d = strings.TrimPrefix(d, mod)
			if d != w && slices.Contains(workflows, d) {
				t.Errorf("workflow %s depends on workflow %s; workflows share code through the engine or a client, never each other", w, d)
			}
		}
	}
}

// TestWiringImportsWorkflowsAndNothingOfDev: a wiring package imports the
// workflows, the clients, the engine and shared configuration, never a
// simulator or test kit (it ships in every workflow Lambda), and no
// workflow or client imports it.
func TestWiringImportsWorkflowsAndNothingOfDev(t *testing.T) {
	t.Parallel()
	direct := imports(t)
	all := deps(t)
	for _, w := range wirings {
		imps, ok := direct[w]
		if !ok {
			t.Fatalf("%s is listed in wirings but does not exist", w)
		}
		for _, imp := range imps {
			if !workflowMayImport(imp) && !slices.Contains(workflows, imp) && !slices.Contains(wirings, imp) {
				t.Errorf("%s imports %s; a wiring imports only workflows, the engine, the clients and shared configuration", w, imp)
			}
		}
		if own, ok := wiringOf[w]; ok {
			for _, d := range all[w] {
				d = strings.TrimPrefix(d, mod)
				if slices.Contains(workflows, d) && d != own {
					t.Errorf("%s depends on workflow %s; a workflow's wiring links only its own workflow (%q)", w, d, own)
				}
				if d == "internal/wiring" {
					t.Errorf("%s depends on the registry internal/wiring, which links every workflow", w)
				}
			}
		}
		for pkg, ds := range all {
			if (slices.Contains(workflows, pkg) || slices.Contains(clients, pkg) || pkg == "internal/work") && slices.Contains(ds, mod+w) {
				t.Errorf("%s depends on %s; the wiring sits above the workflows, never below", pkg, w)
			}
		}
	}
}
