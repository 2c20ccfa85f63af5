package arcgissim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// query serves a layer's query operation over GET or POST: where,
// objectIds, outFields, returnGeometry, orderByFields, resultOffset,
// resultRecordCount, returnIdsOnly and returnCountOnly. Pages are capped at
// maxRecordCount and say exceededTransferLimit when more remain.
func (s *Server) query(w http.ResponseWriter, r *http.Request, l *Layer) {
	q, err := l.parseQuery(r.Form)
	if err != nil {
		writeError(w, 400, "Unable to complete operation.", err.Error())
		return
	}
	format := strings.ToLower(r.Form.Get("f"))
	switch format {
	case "", "json", "pjson", "geojson":
	default:
		writeError(w, 400, "Unable to complete operation.", "'f' parameter is invalid: "+r.Form.Get("f")+" is not one of json, pjson, geojson.")
		return
	}
	sr, err := parseOutSR(r.Form.Get("outSR"))
	if err != nil {
		writeError(w, 400, "Unable to complete operation.", err.Error())
		return
	}
	if format == "geojson" {
		sr = wgs84 // GeoJSON coordinates are WGS84 longitude and latitude (RFC 7946)
	}
	limit := l.cfg.MaxRecordCount
	if q.count > 0 {
		limit = min(q.count, limit)
	}
	if !q.countOnly && !q.idsOnly {
		q.need = q.offset + limit + 1 // one more tells whether more remain
	}
	recs, err := l.selectRecords(r.Context(), q, s.opts.Clock())
	if r.Context().Err() != nil {
		return // the client went away: nobody reads an answer
	}
	if err != nil {
		writeError(w, 400, "Cannot perform query. Invalid query parameters.", "'where' parameter is invalid: "+err.Error())
		return
	}
	// Writing one page reads its records' values: under the lock for that
	// page only.
	l.mu.RLock()
	defer l.mu.RUnlock()
	oidName := l.cfg.ObjectIDField
	if q.countOnly {
		writeJSON(w, map[string]any{"count": len(recs)})
		return
	}
	if q.idsOnly {
		var buf bytes.Buffer
		buf.WriteString(`{"objectIdFieldName":`)
		appendString(&buf, oidName)
		buf.WriteString(`,"objectIds":`)
		ids := make([]int64, len(recs))
		for i, r := range recs {
			ids[i] = r.oid
		}
		writeInts(&buf, ids, true)
		buf.WriteByte('}')
		writeBody(w, buf.Bytes())
		return
	}
	start := min(q.offset, len(recs))
	end := min(start+limit, len(recs))
	exceeded := end < len(recs)
	head := map[string]any{
		"objectIdFieldName": oidName,
		"uniqueIdField":     map[string]any{"name": oidName, "isSystemMaintained": true},
		"globalIdFieldName": "",
		"fields":            l.fieldsJSON(q.outFields),
	}
	if format == "geojson" {
		l.writeGeoJSON(w, recs[start:end], q, exceeded)
		return
	}
	if l.cfg.GeometryType != "" {
		head["geometryType"] = l.cfg.GeometryType
		head["spatialReference"] = sr.json()
	}
	if exceeded {
		head["exceededTransferLimit"] = true
	}
	headJSON, err := json.Marshal(head)
	if err != nil {
		writeError(w, 500, "Unable to complete operation.", err.Error())
		return
	}
	var buf bytes.Buffer
	buf.Grow(64 + (end-start)*256)
	buf.Write(headJSON[:len(headJSON)-1])
	buf.WriteString(`,"features":[`)
	for i, rec := range recs[start:end] {
		if i > 0 {
			buf.WriteByte(',')
		}
		l.appendFeature(&buf, rec, q.outFields, q.returnGeometry, sr)
	}
	buf.WriteString("]}")
	writeBody(w, buf.Bytes())
}

// featureJSON is a feature as applyEdits receives it.
type featureJSON struct {
	Attributes map[string]any `json:"attributes"`
	Geometry   *Point         `json:"geometry"`
}

// applyEdits serves a layer's applyEdits operation (POST only): adds,
// updates and deletes as JSON arrays, rollbackOnFailure (true unless false),
// returnEditMoment.
func (s *Server) applyEdits(w http.ResponseWriter, r *http.Request, l *Layer, user string) {
	if r.Method != http.MethodPost {
		writeError(w, 405, "Method not supported.", "applyEdits is only supported via POST.")
		return
	}
	form := r.Form
	if b, _ := strconv.ParseBool(form.Get("useGlobalIds")); b {
		writeError(w, 400, "Unable to complete operation.", "This layer does not support applyEdits with global ids.")
		return
	}
	e := Edits{RollbackOnFailure: true, Editor: user}
	if v := form.Get("rollbackOnFailure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, 400, "Unable to complete operation.", "'rollbackOnFailure' parameter is invalid.")
			return
		}
		e.RollbackOnFailure = b
	}
	for _, p := range []struct {
		name string
		dst  *[]Feature
	}{{"adds", &e.Adds}, {"updates", &e.Updates}} {
		v := strings.TrimSpace(form.Get(p.name))
		if v == "" {
			continue
		}
		var fs []featureJSON
		if err := json.Unmarshal([]byte(v), &fs); err != nil {
			writeError(w, 400, "Unable to complete operation.", "'"+p.name+"' parameter is invalid.")
			return
		}
		for _, f := range fs {
			*p.dst = append(*p.dst, Feature(f))
		}
	}
	if v := strings.TrimSpace(form.Get("deletes")); v != "" {
		var ids []int64
		if err := json.Unmarshal([]byte(v), &ids); err != nil {
			if ids, err = parseIDs(v); err != nil {
				writeError(w, 400, "Unable to complete operation.", "'deletes' parameter is invalid.")
				return
			}
		}
		e.Deletes = ids
	}
	now := s.opts.Clock()
	res := l.ApplyEdits(e, now)
	s.opts.Logger.Debug("arcgis apply edits", slog.String("layer", l.cfg.Name),
		slog.Int("adds", len(e.Adds)), slog.Int("updates", len(e.Updates)), slog.Int("deletes", len(e.Deletes)))
	if b, _ := strconv.ParseBool(form.Get("returnEditMoment")); b {
		writeJSON(w, struct {
			EditResults
			EditMoment int64 `json:"editMoment"`
		}{res, now.UnixMilli()})
		return
	}
	writeJSON(w, res)
}
