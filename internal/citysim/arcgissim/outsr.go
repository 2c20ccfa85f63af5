package arcgissim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// outSR is a spatial reference query answers can be given in. The layer
// stores WGS84 longitude and latitude; the other one a city's web maps use
// is Web Mercator. Any other is refused rather than answered in degrees
// under another name.
type outSR int

const (
	wgs84       outSR = 4326
	webMercator outSR = 3857 // Esri's older id for it is 102100
)

// parseOutSR reads outSR as a well-known id or a spatial reference object
// ({"wkid":3857} or {"wkid":102100,"latestWkid":3857}); empty is the
// layer's own, WGS84.
func parseOutSR(v string) (outSR, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return wgs84, nil
	}
	id, err := strconv.Atoi(v)
	if err != nil {
		var obj struct {
			WKID       int `json:"wkid"`
			LatestWKID int `json:"latestWkid"`
		}
		if json.Unmarshal([]byte(v), &obj) != nil || (obj.WKID == 0 && obj.LatestWKID == 0) {
			return 0, fmt.Errorf("'outSR' parameter is invalid: %q is neither a wkid nor a spatial reference with one", v)
		}
		id = obj.LatestWKID
		if id == 0 {
			id = obj.WKID
		}
	}
	switch id {
	case 4326:
		return wgs84, nil
	case 3857, 102100, 102113, 900913:
		return webMercator, nil
	}
	return 0, fmt.Errorf("'outSR' parameter is invalid: spatial reference %d is not supported by this simulated layer (4326 or 3857)", id)
}

// json is the spatialReference object of answers in sr.
func (sr outSR) json() map[string]any {
	if sr == webMercator {
		return map[string]any{"wkid": 102100, "latestWkid": 3857}
	}
	return map[string]any{"wkid": 4326, "latestWkid": 4326}
}

// earthRadius is the sphere Web Mercator projects onto, in metres.
const earthRadius = 6378137.0

// project turns WGS84 degrees into sr's coordinates.
func (sr outSR) project(lon, lat float64) (float64, float64) {
	if sr != webMercator {
		return lon, lat
	}
	lat = math.Max(-85.05112878, math.Min(85.05112878, lat)) // the projection's square
	x := earthRadius * lon * math.Pi / 180
	y := earthRadius * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
	return x, y
}

// writeGeoJSON answers a query page as a GeoJSON FeatureCollection (RFC
// 7946): WGS84 coordinates, the object id as the feature's id, the chosen
// fields as properties, and exceededTransferLimit where ArcGIS puts it.
func (l *Layer) writeGeoJSON(w http.ResponseWriter, recs []*record, q query, exceeded bool) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for n, r := range recs {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"type":"Feature","id":`)
		buf.WriteString(strconv.FormatInt(r.oid, 10))
		buf.WriteString(`,"geometry":`)
		if r.geom == nil || !q.returnGeometry || l.cfg.GeometryType == "" {
			buf.WriteString("null")
		} else {
			fmt.Fprintf(&buf, `{"type":"Point","coordinates":[%s,%s]}`,
				strconv.FormatFloat(r.geom.X, 'f', -1, 64), strconv.FormatFloat(r.geom.Y, 'f', -1, 64))
		}
		buf.WriteString(`,"properties":{`)
		for i, f := range q.outFields {
			if i > 0 {
				buf.WriteByte(',')
			}
			appendString(&buf, l.fields[f].Name)
			buf.WriteByte(':')
			appendValue(&buf, r.vals[f])
		}
		buf.WriteString(`}}`)
	}
	buf.WriteString(`]`)
	if exceeded {
		buf.WriteString(`,"properties":{"exceededTransferLimit":true}`)
	}
	buf.WriteString(`}`)
	w.Header().Set("Content-Type", "application/geo+json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}
