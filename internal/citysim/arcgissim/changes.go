package arcgissim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// changeSet is what changed in one layer after a server generation.
type changeSet struct {
	inserts, updates []*record
	deletes          []int64
}

// changesSince collects the features inserted, updated and deleted after
// generation since, up to and including generation until. A feature both
// created and deleted inside the window is not reported. The caller holds
// the read lock.
func (l *Layer) changesSince(since, until int64) changeSet {
	var cs changeSet
	for _, r := range l.recs {
		switch {
		case r.deleted || r.gen <= since || r.createdGen > until:
		case r.createdGen > since:
			cs.inserts = append(cs.inserts, r)
		case r.gen <= until:
			cs.updates = append(cs.updates, r)
		}
	}
	for _, d := range l.deletes {
		if d.gen > since && d.gen <= until && d.createdGen <= since {
			cs.deletes = append(cs.deletes, d.oid)
		}
	}
	return cs
}

// layerGen is one entry of layerServerGens.
type layerGen struct {
	ID           int   `json:"id"`
	ServerGen    int64 `json:"serverGen"`
	MinServerGen int64 `json:"minServerGen,omitempty"`
}

// extractChanges serves the service-level extractChanges operation
// synchronously with embedded JSON: layers, layerServerGens or serverGens,
// returnInserts, returnUpdates, returnDeletes and returnIdsOnly.
func (s *Server) extractChanges(w http.ResponseWriter, r *http.Request, svc *Service) {
	if r.Method != http.MethodPost {
		writeError(w, 405, "Method not supported.", "extractChanges is only supported via POST.")
		return
	}
	form := r.Form
	if df := form.Get("dataFormat"); df != "" && !strings.EqualFold(df, "json") {
		writeError(w, 400, "Unable to extract changes.", "Only dataFormat json is supported.")
		return
	}
	var layerIDs []int
	if v := strings.TrimSpace(form.Get("layers")); v != "" {
		if err := json.Unmarshal([]byte(v), &layerIDs); err != nil {
			ids, perr := parseIDs(strings.Trim(v, "[]"))
			if perr != nil {
				writeError(w, 400, "Unable to extract changes.", "'layers' parameter is invalid.")
				return
			}
			for _, id := range ids {
				layerIDs = append(layerIDs, int(id))
			}
		}
	}
	since := map[int]int64{}
	until := map[int]int64{}
	if v := form.Get("layerServerGens"); v != "" {
		var gens []layerGen
		if err := json.Unmarshal([]byte(v), &gens); err != nil {
			writeError(w, 400, "Unable to extract changes.", "'layerServerGens' parameter is invalid.")
			return
		}
		for _, g := range gens {
			since[g.ID] = g.ServerGen
		}
	} else if v := form.Get("serverGens"); v != "" {
		var gens []int64
		if err := json.Unmarshal([]byte(v), &gens); err != nil || len(gens) != 2 {
			writeError(w, 400, "Unable to extract changes.", "'serverGens' parameter is invalid.")
			return
		}
		for _, l := range svc.Layers {
			since[l.cfg.ID], until[l.cfg.ID] = gens[0], gens[1]
		}
	} else {
		writeError(w, 400, "Unable to extract changes.", "'layerServerGens' or 'serverGens' is required.")
		return
	}
	flag := func(name string) bool { b, _ := strconv.ParseBool(form.Get(name)); return b }
	ins, upd, del, idsOnly := flag("returnInserts"), flag("returnUpdates"), flag("returnDeletes"), flag("returnIdsOnly")

	var buf bytes.Buffer
	buf.WriteString(`{"layerServerGens":[`)
	var edits bytes.Buffer
	n := 0
	for _, l := range svc.Layers {
		if len(layerIDs) > 0 && !slices.Contains(layerIDs, l.cfg.ID) {
			continue
		}
		l.mu.RLock()
		gen := l.gen
		end, ok := until[l.cfg.ID]
		if !ok || end > gen {
			end = gen
		}
		cs := l.changesSince(since[l.cfg.ID], end)
		if n > 0 {
			buf.WriteByte(',')
			edits.WriteByte(',')
		}
		n++
		genJSON, _ := json.Marshal(layerGen{ID: l.cfg.ID, ServerGen: end, MinServerGen: l.minGen})
		buf.Write(genJSON)
		edits.WriteString(`{"id":` + strconv.Itoa(l.cfg.ID) + `,`)
		if idsOnly {
			edits.WriteString(`"objectIds":{`)
			l.writeIDList(&edits, "adds", cs.inserts, ins)
			edits.WriteByte(',')
			l.writeIDList(&edits, "updates", cs.updates, upd)
			edits.WriteString(`,"deletes":`)
			writeInts(&edits, cs.deletes, del)
		} else {
			all := make([]int, len(l.fields))
			for i := range all {
				all[i] = i
			}
			edits.WriteString(`"features":{"adds":[`)
			l.writeFeatureList(&edits, cs.inserts, all, ins)
			edits.WriteString(`],"updates":[`)
			l.writeFeatureList(&edits, cs.updates, all, upd)
			edits.WriteString(`],"deleteIds":`)
			writeInts(&edits, cs.deletes, del)
		}
		edits.WriteString(`}}`)
		l.mu.RUnlock()
	}
	responseType := "esriDataChangesResponseTypeEdits"
	if idsOnly {
		responseType = "esriDataChangesResponseTypeEditsIdsOnly"
	}
	buf.WriteString(`],"transportType":"esriTransportTypeEmbedded","responseType":"` + responseType + `","edits":[`)
	buf.Write(edits.Bytes())
	buf.WriteString(`]}`)
	writeBody(w, buf.Bytes())
}

func (l *Layer) writeIDList(buf *bytes.Buffer, name string, recs []*record, want bool) {
	ids := make([]int64, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.oid)
	}
	buf.WriteString(`"` + name + `":`)
	writeInts(buf, ids, want)
}

func (l *Layer) writeFeatureList(buf *bytes.Buffer, recs []*record, fields []int, want bool) {
	if !want {
		return
	}
	for i, r := range recs {
		if i > 0 {
			buf.WriteByte(',')
		}
		l.appendFeature(buf, r, fields, true, wgs84)
	}
}

func writeInts(buf *bytes.Buffer, ids []int64, want bool) {
	buf.WriteByte('[')
	if want {
		var b [20]byte
		for i, id := range ids {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(strconv.AppendInt(b[:0], id, 10))
		}
	}
	buf.WriteByte(']')
}
