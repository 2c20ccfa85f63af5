package deploy_test

import (
	"testing"

	"github.com/citylink/citylink/internal/deploy"
)

// TestGoformationParses reads each template with goformation as well: its
// typed resources refuse a field its types lack, a second opinion beside
// the specification check.
func TestGoformationParses(t *testing.T) {
	t.Parallel()
	for _, name := range templates {
		t.Run(name, func(t *testing.T) {
			tpl := parse(t, name)
			typed, err := deploy.Typed(tpl)
			if err != nil {
				t.Fatal(err)
			}
			if len(typed.Resources) != len(tpl.Resources) {
				t.Fatalf("goformation read %d resources, yaml %d", len(typed.Resources), len(tpl.Resources))
			}
		})
	}
}
