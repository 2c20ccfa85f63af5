package arcgissim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// apiError is the error object ArcGIS wraps in an HTTP 200 answer.
type apiError struct {
	Code    int      `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details"`
}

// writeJSON answers 200 with v as JSON, as ArcGIS answers everything,
// errors included.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeBody(w, body)
}

func writeBody(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// writeError answers an ArcGIS error inside an HTTP 200 body.
func writeError(w http.ResponseWriter, code int, message string, details ...string) {
	if details == nil {
		details = []string{}
	}
	writeJSON(w, map[string]any{"error": apiError{Code: code, Message: message, Details: details}})
}

// appendFeature writes one record as an ArcGIS feature JSON object, with the
// chosen fields in layer order and its point in sr. The caller holds the
// read lock.
func (l *Layer) appendFeature(buf *bytes.Buffer, r *record, fields []int, geometry bool, sr outSR) {
	buf.WriteString(`{"attributes":{`)
	for n, i := range fields {
		if n > 0 {
			buf.WriteByte(',')
		}
		appendString(buf, l.fields[i].Name)
		buf.WriteByte(':')
		appendValue(buf, r.vals[i])
	}
	buf.WriteByte('}')
	if geometry && l.cfg.GeometryType != "" {
		buf.WriteString(`,"geometry":`)
		if r.geom == nil {
			buf.WriteString("null")
		} else {
			var b [64]byte
			x, y := sr.project(r.geom.X, r.geom.Y)
			buf.WriteString(`{"x":`)
			buf.Write(strconv.AppendFloat(b[:0], x, 'f', -1, 64))
			buf.WriteString(`,"y":`)
			buf.Write(strconv.AppendFloat(b[:0], y, 'f', -1, 64))
			buf.WriteByte('}')
		}
	}
	buf.WriteByte('}')
}

func appendValue(buf *bytes.Buffer, v any) {
	var b [32]byte
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case int64:
		buf.Write(strconv.AppendInt(b[:0], x, 10))
	case float64:
		buf.Write(strconv.AppendFloat(b[:0], x, 'f', -1, 64))
	case string:
		appendString(buf, x)
	default:
		enc, _ := json.Marshal(x)
		buf.Write(enc)
	}
}

func appendString(buf *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	enc, _ := json.Marshal(s)
	buf.Write(enc)
}

// fieldsJSON lists the chosen fields' metadata.
func (l *Layer) fieldsJSON(fields []int) []Field {
	out := make([]Field, len(fields))
	for n, i := range fields {
		out[n] = l.fields[i]
	}
	return out
}
