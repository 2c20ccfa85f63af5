package citysim

import (
	"cmp"
	"time"
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

// arcgisStr and the like shorten field definitions.
func arcgisStr(name string, length int, nullable bool) ArcGISField {
	return ArcGISField{Name: name, Type: ArcGISFieldString, Length: length, Nullable: nullable, Editable: true}
}

func arcgisTyped(name, typ string, nullable bool) ArcGISField {
	return ArcGISField{Name: name, Type: typ, Nullable: nullable, Editable: true}
}

// NewAuditLayer builds the third-party audit layer from the city: one point
// feature per audit record with its status, auditor, audit date and the
// lamp attributes the auditor recorded. tune supplies the layer's ID, Name,
// MaxRecordCount and NoPagination; the schema is fixed and asset_id is
// indexed. Seeded features carry
// the audit date as their edit date, so "audited since" and "edited since"
// agree.
func NewAuditLayer(c *City, tune ArcGISLayerConfig) *ArcGISLayer {
	l := NewArcGISLayer(ArcGISLayerConfig{
		ID: tune.ID, Name: cmp.Or(tune.Name, "Streetlight Audits"), GeometryType: "esriGeometryPoint",
		DisplayField: AuditFieldAssetID, MaxRecordCount: tune.MaxRecordCount, NoPagination: tune.NoPagination,
		ObjectIDField: "OBJECTID", EditTracking: true, Indexes: []string{AuditFieldAssetID},
		Fields: []ArcGISField{
			arcgisStr(AuditFieldAssetID, 20, false),
			arcgisStr(AuditFieldPoleID, 20, true),
			arcgisStr(AuditFieldStatus, 16, false),
			arcgisStr(AuditFieldAuditor, 64, true),
			arcgisTyped(AuditFieldAuditDate, ArcGISFieldDate, true),
			arcgisStr(AuditFieldLampType, 8, true),
			arcgisTyped(AuditFieldNominalWatts, ArcGISFieldInteger, true),
			arcgisTyped(AuditFieldInputWatts, ArcGISFieldInteger, true),
			arcgisStr(AuditFieldRate, 8, true),
			arcgisTyped(AuditFieldInService, ArcGISFieldDate, true),
			arcgisStr(AuditFieldController, 32, true),
			arcgisStr(AuditFieldCircuit, 32, true),
			arcgisStr(AuditFieldAddress, 128, true),
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
			arcgisNullIfEmpty(lt.ControllerID), lt.Circuit, lt.Address} {
			vals[pos[n]] = v
		}
		vals[l.track.created], vals[l.track.creator] = at, a.Auditor
		vals[l.track.edited], vals[l.track.editor] = at, a.Auditor
		l.insert(vals, &ArcGISPoint{X: lt.Lon, Y: lt.Lat})
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
func NewDOTLayer(c *City, tune ArcGISLayerConfig) *ArcGISLayer {
	l := NewArcGISLayer(ArcGISLayerConfig{
		ID: tune.ID, Name: cmp.Or(tune.Name, "Streetlight Poles"), GeometryType: "esriGeometryPoint",
		DisplayField: DOTFieldAssetID, MaxRecordCount: tune.MaxRecordCount, NoPagination: tune.NoPagination,
		ObjectIDField: "OBJECTID", EditTracking: true, Indexes: []string{DOTFieldAssetID},
		Fields: []ArcGISField{
			arcgisStr(DOTFieldAssetID, 20, false),
			arcgisStr(DOTFieldPoleID, 20, true),
			arcgisStr(DOTFieldLampType, 8, true),
			arcgisTyped(DOTFieldWatts, ArcGISFieldInteger, true),
			arcgisStr(DOTFieldController, 32, true),
			arcgisStr(DOTFieldCircuit, 32, true),
			arcgisStr(DOTFieldAddress, 128, true),
			arcgisStr(DOTFieldStreet, 64, true),
			arcgisStr(DOTFieldOwner, 16, true),
			arcgisTyped(DOTFieldInService, ArcGISFieldDate, true),
			arcgisStr(DOTFieldStatus, 16, true),
		},
	})
	idx := func(name string) int { i, _ := l.field(name); return i }
	pos := [...]int{idx(DOTFieldAssetID), idx(DOTFieldPoleID), idx(DOTFieldLampType), idx(DOTFieldWatts),
		idx(DOTFieldController), idx(DOTFieldCircuit), idx(DOTFieldAddress), idx(DOTFieldStreet),
		idx(DOTFieldOwner), idx(DOTFieldInService), idx(DOTFieldStatus)}
	loaded := CityEpoch().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserve(len(c.Lights))
	for _, lt := range c.Lights {
		vals := make([]any, len(l.fields))
		for n, v := range [...]any{lt.AssetID, lt.PoleID, lt.LampType, int64(lt.NominalWatts),
			arcgisNullIfEmpty(lt.ControllerID), lt.Circuit, lt.Address, lt.Street, lt.Ownership,
			lt.InService.UnixMilli(), "ACTIVE"} {
			vals[pos[n]] = v
		}
		vals[l.track.created], vals[l.track.creator] = loaded, "gis_loader"
		vals[l.track.edited], vals[l.track.editor] = loaded, "gis_loader"
		l.insert(vals, &ArcGISPoint{X: lt.Lon, Y: lt.Lat})
	}
	l.lastEdit = CityEpoch()
	return l
}

func arcgisNullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Service names of the simulated city's two ArcGIS servers.
const (
	ArcGISAuditService = "StreetlightAudit"
	ArcGISDOTService   = "DOT_Streetlights"
)

// CityArcGIS is the simulated city's ArcGIS side: the third-party auditor's
// server and the DOT's, their layers, and the actors that keep editing them.
type CityArcGIS struct {
	Audit, DOT           *ArcGISServer
	AuditLayer, DOTLayer *ArcGISLayer
	// AuditFeed adds and reviews audits; call Sync on a schedule.
	AuditFeed *ArcGISAuditFeed
	// DOTCrew edits poles; call Edit on a schedule.
	DOTCrew *ArcGISDOTCrew
}

// NewCityArcGIS builds the simulated city's two ArcGIS servers: the
// auditor's, serving the audit layer as layer 0 of ArcGISAuditService, and
// the DOT's, serving the pole layer as layer 0 of ArcGISDOTService. Each
// options value supplies auth, faults, seed, clock and logger; its Services
// are replaced.
func NewCityArcGIS(c *City, audit, dot ArcGISOptions) *CityArcGIS {
	a := &CityArcGIS{AuditLayer: NewAuditLayer(c, ArcGISLayerConfig{}), DOTLayer: NewDOTLayer(c, ArcGISLayerConfig{})}
	audit.Services = []ArcGISService{{Name: ArcGISAuditService, Description: "Third-party streetlight audits", Layers: []*ArcGISLayer{a.AuditLayer}}}
	dot.Services = []ArcGISService{{Name: ArcGISDOTService, Description: "Department of Transportation streetlight poles", Layers: []*ArcGISLayer{a.DOTLayer}}}
	a.Audit, a.DOT = NewArcGISServer(audit), NewArcGISServer(dot)
	a.AuditFeed = NewArcGISAuditFeed(a.AuditLayer, c, audit.Seed)
	a.DOTCrew = NewArcGISDOTCrew(a.DOTLayer, dot.Seed)
	return a
}
