package arcgissim

import (
	"net/http"
)

var spatialRef = map[string]any{"wkid": 4326, "latestWkid": 4326}

// info serves /arcgis/rest/info, where clients discover whether tokens are
// needed and where to get them.
func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	auth := map[string]any{"isTokenBasedSecurity": s.tokens.enabled()}
	if s.tokens.enabled() {
		auth["tokenServicesUrl"] = scheme + "://" + r.Host + "/arcgis/tokens/generateToken"
		auth["shortLivedTokenValidity"] = int(s.tokens.auth.TokenTTL.Minutes())
	}
	writeJSON(w, map[string]any{"currentVersion": version, "fullVersion": "11.3.0", "authInfo": auth})
}

// catalog serves the services directory root.
func (s *Server) catalog(w http.ResponseWriter) {
	services := make([]map[string]any, 0, len(s.opts.Services))
	for _, svc := range s.opts.Services {
		services = append(services, map[string]any{"name": svc.Name, "type": "FeatureServer"})
	}
	writeJSON(w, map[string]any{"currentVersion": version, "folders": []string{}, "services": services})
}

// serviceInfo serves a FeatureServer resource: its layers, capabilities and
// change-tracking generations.
func (s *Server) serviceInfo(w http.ResponseWriter, _ *http.Request, svc *Service) {
	var layers, tables, gens []map[string]any
	maxRecords := 0
	var lastEdit int64
	for _, l := range svc.Layers {
		entry := map[string]any{"id": l.cfg.ID, "name": l.cfg.Name}
		if l.cfg.GeometryType == "" {
			tables = append(tables, entry)
		} else {
			entry["geometryType"] = l.cfg.GeometryType
			layers = append(layers, entry)
		}
		l.mu.RLock()
		gens = append(gens, map[string]any{"id": l.cfg.ID, "minServerGen": l.minGen, "serverGen": l.gen})
		lastEdit = max(lastEdit, l.lastEdit.UnixMilli())
		l.mu.RUnlock()
		maxRecords = max(maxRecords, l.cfg.MaxRecordCount)
	}
	meta := map[string]any{
		"currentVersion":                  version,
		"serviceDescription":              svc.Description,
		"hasVersionedData":                false,
		"supportsDisconnectedEditing":     false,
		"hasStaticData":                   false,
		"maxRecordCount":                  maxRecords,
		"supportedQueryFormats":           "JSON",
		"capabilities":                    "Query,Editing,Create,Update,Delete,ChangeTracking",
		"supportsApplyEditsWithGlobalIds": false,
		"syncEnabled":                     false,
		"spatialReference":                spatialRef,
		"extractChangesCapabilities": map[string]any{
			"supportsReturnIdsOnly": true, "supportsReturnExtentOnly": false,
			"supportsReturnAttachments": false, "supportsLayerQueries": false,
			"supportsGeometry": false, "supportsReturnFeature": true,
			"supportsReturnHasGeometryUpdates": false, "supportsFieldsToCompare": false,
			"supportsServerGens": true,
		},
		"changeTrackingInfo": map[string]any{"lastSyncDate": lastEdit, "layerServerGens": gens},
		"layers":             nonNil(layers),
		"tables":             nonNil(tables),
	}
	if svc.NoChangeTracking {
		meta["capabilities"] = "Query,Editing,Create,Update,Delete"
		delete(meta, "extractChangesCapabilities")
		delete(meta, "changeTrackingInfo")
	}
	writeJSON(w, meta)
}

func nonNil(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

// layerInfo serves a layer resource: schema, paging limits, edit tracking
// and generations.
func (s *Server) layerInfo(w http.ResponseWriter, svc *Service, l *Layer) {
	l.mu.RLock()
	lastEdit, gen, minGen := l.lastEdit.UnixMilli(), l.gen, l.minGen
	l.mu.RUnlock()
	kind := "Feature Layer"
	if l.cfg.GeometryType == "" {
		kind = "Table"
	}
	var editFields any
	if l.track.edited >= 0 {
		editFields = map[string]any{
			"creationDateField": l.fields[l.track.created].Name, "creatorField": l.fields[l.track.creator].Name,
			"editDateField": l.fields[l.track.edited].Name, "editorField": l.fields[l.track.editor].Name,
		}
	}
	meta := map[string]any{
		"currentVersion":                     version,
		"id":                                 l.cfg.ID,
		"name":                               l.cfg.Name,
		"type":                               kind,
		"displayField":                       l.cfg.DisplayField,
		"description":                        "",
		"objectIdField":                      l.cfg.ObjectIDField,
		"uniqueIdField":                      map[string]any{"name": l.cfg.ObjectIDField, "isSystemMaintained": true},
		"globalIdField":                      "",
		"fields":                             l.fields,
		"maxRecordCount":                     l.cfg.MaxRecordCount,
		"standardMaxRecordCount":             l.cfg.MaxRecordCount,
		"supportedQueryFormats":              "JSON",
		"capabilities":                       "Query,Editing,Create,Update,Delete,ChangeTracking",
		"supportsApplyEditsWithGlobalIds":    false,
		"supportsRollbackOnFailureParameter": true,
		"hasStaticData":                      false,
		"hasAttachments":                     false,
		"editFieldsInfo":                     editFields,
		"editingInfo":                        map[string]any{"lastEditDate": lastEdit, "dataLastEditDate": lastEdit},
		"serverGens":                         map[string]any{"minServerGen": minGen, "serverGen": gen},
		"dateFieldsTimeReference":            map[string]any{"timeZone": "UTC", "respectsDaylightSaving": false},
		"advancedQueryCapabilities": map[string]any{
			"supportsPagination": !l.cfg.NoPagination, "supportsOrderBy": true,
			"supportsQueryWithResultType": false, "supportsDistinct": false,
			"supportsReturningQueryExtent": false, "supportsStatistics": false,
			"supportsPaginationOnAggregatedQueries": false, "supportsTrueCurve": false,
		},
	}
	if l.cfg.GeometryType != "" {
		meta["geometryType"] = l.cfg.GeometryType
		meta["extent"] = l.extent()
	}
	if svc.NoChangeTracking {
		meta["capabilities"] = "Query,Editing,Create,Update,Delete"
		delete(meta, "serverGens")
	}
	writeJSON(w, meta)
}

// extent is the bounding box of the layer's points.
func (l *Layer) extent() map[string]any {
	l.mu.RLock()
	defer l.mu.RUnlock()
	ext := map[string]any{"spatialReference": spatialRef}
	first := true
	var xmin, ymin, xmax, ymax float64
	for _, r := range l.recs {
		if r.deleted || r.geom == nil {
			continue
		}
		if first {
			xmin, xmax, ymin, ymax, first = r.geom.X, r.geom.X, r.geom.Y, r.geom.Y, false
			continue
		}
		xmin, xmax = min(xmin, r.geom.X), max(xmax, r.geom.X)
		ymin, ymax = min(ymin, r.geom.Y), max(ymax, r.geom.Y)
	}
	if !first {
		ext["xmin"], ext["ymin"], ext["xmax"], ext["ymax"] = xmin, ymin, xmax, ymax
	}
	return ext
}
