package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/citylink/citylink/internal/deploy"
)

// root is the repository root, where the templates live.
const root = "../.."

var (
	specOnce sync.Once
	spec     *deploy.Spec
	specErr  error
)

// loadSpec reads the pinned specification once per test binary.
func loadSpec(t *testing.T) *deploy.Spec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = deploy.LoadSpec(deploy.DefaultSpecPath()) })
	if specErr != nil {
		t.Fatal(specErr)
	}
	return spec
}

// templates are the three templates the repository ships.
var templates = []string{"template.yaml", "network.yaml", "pipeline.yaml"}

func parse(t *testing.T, name string) *deploy.Template {
	t.Helper()
	tpl, err := deploy.ParseFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestTemplatesMatchSpecification holds every resource type, property name
// and property type of the three templates to AWS's specification, and
// every reference to something the template declares.
func TestTemplatesMatchSpecification(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			tpl := parse(t, name)
			for _, err := range s.Check(tpl) {
				t.Error(err)
			}
			for _, err := range s.References(tpl) {
				t.Error(err)
			}
		})
	}
}

// TestSpecificationCatchesMistakes edits template.yaml the way a hand slips
// and expects each edit to be reported: the check is only worth having if a
// misspelt property fails it.
func TestSpecificationCatchesMistakes(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	orig, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, old, new, want string }{
		{"misspelt property", "StorageEncrypted: true", "StorageEncripted: true", "has no property StorageEncripted"},
		{"misspelt nested property", "EncryptionType: KMS", "EncryptionTyp: KMS", "has no property EncryptionTyp"},
		{"misspelt SAM property", "CodeUri: cmd/telemetry-api", "CodeURI: cmd/telemetry-api", "has no property CodeURI"},
		{"misspelt pass-through property in Globals", "LogFormat: JSON", "LogFromat: JSON", "has no property LogFromat"},
		{"invented property", "BisectBatchOnFunctionError: true", "BisectBatchOnFunctionError: true\n      RetryForever: true", "has no property RetryForever"},
		{"wrong type", "BackupRetentionPeriod: 14", "BackupRetentionPeriod: fortnight", "is not an integer"},
		{"list for a scalar", "BatchSize: 500", "BatchSize: [500]", "is not an integer"},
		{"unknown resource type", "Type: AWS::Kinesis::Stream", "Type: AWS::Kinesis::Streams", "unknown resource type AWS::Kinesis::Streams"},
		{"missing required property", "      KeySchema:\n", "      KeySchemata:\n", "required property KeySchema is missing"},
		{"unknown resource attribute", "    DeletionPolicy: Snapshot\n", "    DeletionPolicies: Snapshot\n", "unknown resource attribute DeletionPolicies"},
		{"Ref to nothing", "!Ref TelemetryStoreFunction", "!Ref TelemetryStorFunction", "Ref TelemetryStorFunction names no parameter or resource"},
		{"GetAtt of an attribute the type lacks", "!GetAtt Database.Endpoint.Address", "!GetAtt Database.Endpoint.Host", "has no attribute Endpoint.Host"},
		{"Sub of nothing", "${ArchiveBucket.Arn}/*", "${ArchiveBuckett.Arn}/*", "names no resource"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(orig), c.old) {
				t.Fatalf("template.yaml no longer holds %q: update this case", c.old)
			}
			tpl, err := deploy.Parse([]byte(strings.Replace(string(orig), c.old, c.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			all := errors.Join(append(s.Check(tpl), s.References(tpl)...)...)
			if all == nil || !strings.Contains(all.Error(), c.want) {
				t.Fatalf("after %q -> %q, got %v, want an error containing %q", c.old, c.new, all, c.want)
			}
		})
	}
}
