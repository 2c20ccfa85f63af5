package arcgissim

import (
	"cmp"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
)

// Field names of the third-party audit layer, as the auditor's hosted
// feature service names them.
const (
	AuditFieldAssetID      = "asset_id"
	AuditFieldPoleID       = "pole_id"
	AuditFieldStatus       = "audit_status"
	AuditFieldAuditor      = "auditor"
	AuditFieldAuditDate    = "audit_date"
	AuditFieldLampType     = "lamp_type"
	AuditFieldNominalWatts = "nominal_watts"
	AuditFieldInputWatts   = "input_watts"
	AuditFieldRate         = "rate_schedule"
	AuditFieldInService    = "in_service_date"
	AuditFieldController   = "controller_id"
	AuditFieldCircuit      = "circuit"
	AuditFieldAddress      = "address"
)

// Field names of the DOT GIS pole layer, as the department's enterprise
// geodatabase names them.
const (
	DOTFieldAssetID    = "ASSET_ID"
	DOTFieldPoleID     = "POLE_ID"
	DOTFieldLampType   = "LAMP_TYPE"
	DOTFieldWatts      = "WATTAGE"
	DOTFieldController = "CONTROLLER_ID"
	DOTFieldCircuit    = "CIRCUIT"
	DOTFieldAddress    = "ADDRESS"
	DOTFieldStreet     = "STREET"
	DOTFieldOwner      = "OWNER"
	DOTFieldInService  = "INSTALL_DATE"
	DOTFieldStatus     = "STATUS"
)

// str and the like shorten field definitions.
func str(name string, length int, nullable bool) Field {
	return Field{Name: name, Type: FieldString, Length: length, Nullable: nullable, Editable: true}
}

func typed(name, typ string, nullable bool) Field {
	return Field{Name: name, Type: typ, Nullable: nullable, Editable: true}
}

// NewAuditLayer builds the third-party audit layer from the city: one point
// feature per audit record with its status, auditor, audit date and the
// lamp attributes the auditor recorded. tune supplies the layer's ID, Name,
// MaxRecordCount and NoPagination; the schema is fixed and asset_id is
// indexed. Seeded features carry
// the audit date as their edit date, so "audited since" and "edited since"
// agree.
func NewAuditLayer(c *simcity.City, tune LayerConfig) *Layer {
	l := NewLayer(LayerConfig{
		ID: tune.ID, Name: cmp.Or(tune.Name, "Streetlight Audits"), GeometryType: "esriGeometryPoint",
		DisplayField: AuditFieldAssetID, MaxRecordCount: tune.MaxRecordCount, NoPagination: tune.NoPagination,
		ObjectIDField: "OBJECTID", EditTracking: true, Indexes: []string{AuditFieldAssetID},
		Fields: []Field{
			str(AuditFieldAssetID, 20, false),
			str(AuditFieldPoleID, 20, true),
			str(AuditFieldStatus, 16, false),
			str(AuditFieldAuditor, 64, true),
			typed(AuditFieldAuditDate, FieldDate, true),
			str(AuditFieldLampType, 8, true),
			typed(AuditFieldNominalWatts, FieldInteger, true),
			typed(AuditFieldInputWatts, FieldInteger, true),
			str(AuditFieldRate, 8, true),
			typed(AuditFieldInService, FieldDate, true),
			str(AuditFieldController, 32, true),
			str(AuditFieldCircuit, 32, true),
			str(AuditFieldAddress, 128, true),
		},
	})
	idx := func(name string) int { i, _ := l.field(name); return i }
	pos := [...]int{idx(AuditFieldAssetID), idx(AuditFieldPoleID), idx(AuditFieldStatus), idx(AuditFieldAuditor),
		idx(AuditFieldAuditDate), idx(AuditFieldLampType), idx(AuditFieldNominalWatts), idx(AuditFieldInputWatts),
		idx(AuditFieldRate), idx(AuditFieldInService), idx(AuditFieldController), idx(AuditFieldCircuit), idx(AuditFieldAddress)}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserve(len(c.Audits))
	var last time.Time
	for _, a := range c.Audits {
		lt, ok := c.LightByAssetID(a.AssetID)
		if !ok {
			continue
		}
		vals := make([]any, len(l.fields))
		at := a.AuditedAt.UnixMilli()
		for n, v := range [...]any{lt.AssetID, lt.PoleID, a.Status, a.Auditor, at, lt.LampType,
			int64(lt.NominalWatts), int64(lt.InputWatts), lt.RateSchedule, lt.InService.UnixMilli(),
			nullIfEmpty(lt.ControllerID), lt.Circuit, lt.Address} {
			vals[pos[n]] = v
		}
		vals[l.track.created], vals[l.track.creator] = at, a.Auditor
		vals[l.track.edited], vals[l.track.editor] = at, a.Auditor
		l.insert(vals, &Point{X: lt.Lon, Y: lt.Lat})
		if a.AuditedAt.After(last) {
			last = a.AuditedAt
		}
	}
	l.lastEdit = last
	return l
}

// NewDOTLayer builds the DOT GIS pole layer from the city: one point feature
// per light, keyed by asset id. tune supplies the layer's ID, Name,
// MaxRecordCount and NoPagination; ASSET_ID is indexed. Seeded features were created by the
// city's initial GIS load at the city epoch.
func NewDOTLayer(c *simcity.City, tune LayerConfig) *Layer {
	l := NewLayer(LayerConfig{
		ID: tune.ID, Name: cmp.Or(tune.Name, "Streetlight Poles"), GeometryType: "esriGeometryPoint",
		DisplayField: DOTFieldAssetID, MaxRecordCount: tune.MaxRecordCount, NoPagination: tune.NoPagination,
		ObjectIDField: "OBJECTID", EditTracking: true, Indexes: []string{DOTFieldAssetID},
		Fields: []Field{
			str(DOTFieldAssetID, 20, false),
			str(DOTFieldPoleID, 20, true),
			str(DOTFieldLampType, 8, true),
			typed(DOTFieldWatts, FieldInteger, true),
			str(DOTFieldController, 32, true),
			str(DOTFieldCircuit, 32, true),
			str(DOTFieldAddress, 128, true),
			str(DOTFieldStreet, 64, true),
			str(DOTFieldOwner, 16, true),
			typed(DOTFieldInService, FieldDate, true),
			str(DOTFieldStatus, 16, true),
		},
	})
	idx := func(name string) int { i, _ := l.field(name); return i }
	pos := [...]int{idx(DOTFieldAssetID), idx(DOTFieldPoleID), idx(DOTFieldLampType), idx(DOTFieldWatts),
		idx(DOTFieldController), idx(DOTFieldCircuit), idx(DOTFieldAddress), idx(DOTFieldStreet),
		idx(DOTFieldOwner), idx(DOTFieldInService), idx(DOTFieldStatus)}
	loaded := simcity.Epoch().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserve(len(c.Lights))
	for _, lt := range c.Lights {
		vals := make([]any, len(l.fields))
		for n, v := range [...]any{lt.AssetID, lt.PoleID, lt.LampType, int64(lt.NominalWatts),
			nullIfEmpty(lt.ControllerID), lt.Circuit, lt.Address, lt.Street, lt.Ownership,
			lt.InService.UnixMilli(), "ACTIVE"} {
			vals[pos[n]] = v
		}
		vals[l.track.created], vals[l.track.creator] = loaded, "gis_loader"
		vals[l.track.edited], vals[l.track.editor] = loaded, "gis_loader"
		l.insert(vals, &Point{X: lt.Lon, Y: lt.Lat})
	}
	l.lastEdit = simcity.Epoch()
	return l
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Service names of the simulated city's two ArcGIS servers.
const (
	AuditService = "StreetlightAudit"
	DOTService   = "DOT_Streetlights"
)

// Servers is the simulated city's ArcGIS side: the third-party auditor's
// server and the DOT's, their layers, and the actors that keep editing them.
type Servers struct {
	Audit, DOT           *Server
	AuditLayer, DOTLayer *Layer
	// AuditFeed adds and reviews audits; call Sync on a schedule.
	AuditFeed *AuditFeed
	// DOTCrew edits poles; call Edit on a schedule.
	DOTCrew *DOTCrew
}

// NewServers builds the simulated city's two ArcGIS servers: the
// auditor's, serving the audit layer as layer 0 of AuditService, and
// the DOT's, serving the pole layer as layer 0 of DOTService. Each
// options value supplies auth, faults, seed, clock and logger; its Services
// are replaced.
func NewServers(c *simcity.City, audit, dot Options) *Servers {
	return newServers(c, NewDOTLayer(c, LayerConfig{}), audit, dot)
}

// NewServersEmptyDOT is NewServers with a DOT pole layer that has no
// features yet, as before the GIS's first load: what a benchmark of
// gis-push fills with the whole city.
func NewServersEmptyDOT(c *simcity.City, audit, dot Options) *Servers {
	return newServers(c, NewDOTLayer(&simcity.City{}, LayerConfig{}), audit, dot)
}

func newServers(c *simcity.City, dotLayer *Layer, audit, dot Options) *Servers {
	a := &Servers{AuditLayer: NewAuditLayer(c, LayerConfig{}), DOTLayer: dotLayer}
	audit.Services = []Service{{Name: AuditService, Description: "Third-party streetlight audits", Layers: []*Layer{a.AuditLayer}}}
	dot.Services = []Service{{Name: DOTService, Description: "Department of Transportation streetlight poles", Layers: []*Layer{a.DOTLayer}}}
	a.Audit, a.DOT = NewServer(audit), NewServer(dot)
	a.AuditFeed = NewAuditFeed(a.AuditLayer, c, audit.Seed)
	a.DOTCrew = NewDOTCrew(a.DOTLayer, dot.Seed)
	return a
}
