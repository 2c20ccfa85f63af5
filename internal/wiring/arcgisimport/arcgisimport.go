// Package arcgisimport wires the arcgis-import workflow (internal/arcgisimport)
// for its Lambda and for internal/wiring's list. It imports that workflow
// and no other, so cmd/arcgis-import links only its own.
package arcgisimport

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/citylink/citylink/internal/arcgisimport"
	"github.com/citylink/citylink/internal/wiring/wire"
	"github.com/citylink/citylink/internal/work"
)

// Name is the workflow's name.
const Name = "arcgis-import"

// Workflow is arcgis-import: every 8 hours.
func Workflow() wire.Workflow {
	return wire.Workflow{Name: Name, Every: 8 * time.Hour, Wire: wireArcGISImport}
}

// wireArcGISImport: the third-party audit layer (ARCGIS_SERVICE_URL,
// ARCGIS_LAYER, ARCGIS_USERNAME, ARCGIS_PASSWORD) into the CMS (CMS_URL,
// CMS_API_KEY); IMPORT_MAPPING overrides arcgisimport.DefaultMapping.
func wireArcGISImport(ctx context.Context, env wire.Env) (wire.Parts, error) {
	s := env.Settings
	layer, err := s.Int("ARCGIS_LAYER", 0)
	if err != nil {
		return wire.Parts{}, err
	}
	mapping, err := arcgisimport.ParseMapping(s.Optional("IMPORT_MAPPING", ""))
	if err != nil {
		return wire.Parts{}, fmt.Errorf("IMPORT_MAPPING: %w", err)
	}
	audit, _, err := wire.ArcGISClient(ctx, env, "ARCGIS_SERVICE_URL", "ARCGIS")
	if err != nil {
		return wire.Parts{}, err
	}
	c, base, err := wire.CMSClient(ctx, env)
	if err != nil {
		return wire.Parts{}, err
	}
	return wire.Parts{
		Source: &arcgisimport.Source{Client: audit, Layer: layer, Mapping: mapping},
		Sink:   &arcgisimport.Sink{Client: c},
		Target: "CMS " + base,
		Preview: func(ctx context.Context, items []work.Item, w io.Writer) error {
			return arcgisimport.Preview(ctx, c, items, w)
		},
	}, nil
}
