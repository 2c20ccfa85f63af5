package arcgis_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/arcgissim"

	"github.com/citylink/citylink/internal/arcgis"
)

// dbLayer is a feature layer served the way a database-backed ArcGIS
// Server answers, in the ways the simulator is kinder than the real thing:
// rows that tie on orderByFields come back in whatever order the database's
// plan for that page yields (here: a different one for every resultOffset),
// and a query answers at most limit features with exceededTransferLimit set,
// objectIds queries included, whatever maxRecordCount the layer resource
// advertises.
type dbLayer struct {
	advertised int // maxRecordCount in the layer resource
	limit      int // what a query actually answers at most
	pagination bool
	// noFlag leaves exceededTransferLimit out of paged answers, as some
	// ArcGIS Server versions do.
	noFlag bool
	status map[int64]string // OBJECTID -> STATUS
}

// afterID reads the "OBJECTID > n" that keyset paging appends to the where clause.
var afterID = regexp.MustCompile(`OBJECTID > (\d+)$`)

func (l *dbLayer) serve(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch {
		case strings.HasSuffix(r.URL.Path, "/FeatureServer/0"):
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id": 0, "name": "Audits", "type": "Feature Layer", "objectIdField": "OBJECTID",
				"maxRecordCount": l.advertised, "capabilities": "Query",
				"advancedQueryCapabilities": map[string]any{"supportsPagination": l.pagination, "supportsOrderBy": true},
			})
		case strings.HasSuffix(r.URL.Path, "/FeatureServer/0/query"):
			l.query(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (l *dbLayer) query(w http.ResponseWriter, r *http.Request) {
	var ids []int64
	if s := r.Form.Get("objectIds"); s != "" {
		for _, p := range strings.Split(s, ",") {
			id, _ := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if _, ok := l.status[id]; ok {
				ids = append(ids, id)
			}
		}
	} else {
		var after int64
		if m := afterID.FindStringSubmatch(r.Form.Get("where")); m != nil {
			after, _ = strconv.ParseInt(m[1], 10, 64)
		}
		for id := range l.status {
			if id > after {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	if r.Form.Get("returnIdsOnly") == "true" {
		_ = json.NewEncoder(w).Encode(map[string]any{"objectIdFieldName": "OBJECTID", "objectIds": ids})
		return
	}
	offset, _ := strconv.Atoi(r.Form.Get("resultOffset"))
	if order := r.Form.Get("orderByFields"); order != "" {
		byOID := strings.Contains(strings.ToUpper(order), "OBJECTID")
		slices.SortFunc(ids, func(a, b int64) int {
			if strings.HasPrefix(strings.ToUpper(order), "STATUS") {
				if c := cmp.Compare(l.status[a], l.status[b]); c != 0 {
					return c
				}
			}
			if byOID {
				return cmp.Compare(a, b)
			}
			// Ties in the order the database happens to produce them.
			return cmp.Compare((a*7919+int64(offset)*104729)%1009, (b*7919+int64(offset)*104729)%1009)
		})
	}
	n := l.limit
	if c, _ := strconv.Atoi(r.Form.Get("resultRecordCount")); c > 0 && c < n {
		n = c
	}
	ids = ids[min(offset, len(ids)):]
	exceeded := len(ids) > n && !(l.noFlag && r.Form.Get("resultRecordCount") != "")
	ids = ids[:min(n, len(ids))]
	features := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		features = append(features, map[string]any{"attributes": map[string]any{"OBJECTID": id, "STATUS": l.status[id]}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"objectIdFieldName": "OBJECTID", "fields": []any{}, "features": features, "exceededTransferLimit": exceeded,
	})
}

func newDBLayer(n int, advertised, limit int, pagination bool) *dbLayer {
	l := &dbLayer{advertised: advertised, limit: limit, pagination: pagination, status: map[int64]string{}}
	for i := range n {
		l.status[int64(i+1)] = []string{"approved", "audited"}[i%2]
	}
	return l
}

// readAll pages through the layer and counts how often each object id came.
func readAll(t *testing.T, srv *httptest.Server, q arcgis.Query) map[int64]int {
	t.Helper()
	c, err := arcgis.New(arcgis.Options{ServiceURL: srv.URL + "/arcgis/rest/services/Audits/FeatureServer", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	err = c.QueryPages(context.Background(), 0, q, func(fs *arcgis.FeatureSet) error {
		for _, f := range fs.Features {
			id, ok := f.ObjectID("OBJECTID")
			if !ok {
				return fmt.Errorf("feature without an object id: %v", f.Attributes)
			}
			seen[id]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

func checkEachOnce(t *testing.T, seen map[int64]int, n int) {
	t.Helper()
	var missing, repeated []int64
	for id := int64(1); id <= int64(n); id++ {
		switch seen[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			repeated = append(repeated, id)
		}
	}
	if len(missing) > 0 || len(repeated) > 0 {
		t.Errorf("of %d features, %d never read and %d read more than once", n, len(missing), len(repeated))
	}
}

func TestQueryPagesOrderByTiesNeitherSkipNorRepeat(t *testing.T) {
	t.Parallel()
	// Ordered by a field with two values, offset paging is only stable if
	// the object id breaks the ties: a database orders tied rows as it
	// pleases, page by page.
	const n = 60
	srv := newDBLayer(n, 1000, 1000, true).serve(t)
	checkEachOnce(t, readAll(t, srv, arcgis.Query{OrderBy: []string{"STATUS ASC"}, Count: 7}), n)
}

func TestQueryPagesByObjectIDsFollowsTransferLimit(t *testing.T) {
	t.Parallel()
	// A server without pagination that answers fewer features per objectIds
	// query than the chunk asked for says so with exceededTransferLimit;
	// the rest of the chunk must still be read.
	const n = 250
	srv := newDBLayer(n, 100, 40, false).serve(t)
	checkEachOnce(t, readAll(t, srv, arcgis.Query{}), n)
}

func TestQueryPagesSurvivesDeletesMidPaging(t *testing.T) {
	t.Parallel()
	// Editors delete features while a long read pages through the layer.
	// Paging by offset would then skip as many features as were deleted
	// before the next page's offset; every feature that still exists when
	// its page is read must be read.
	const n = 100
	s := newSim(t, n, arcgissim.LayerConfig{MaxRecordCount: 10}, arcgissim.Options{})
	c := newClient(t, s, arcgis.Options{})
	seen := map[int64]int{}
	pages := 0
	err := c.QueryPages(context.Background(), 0, arcgis.Query{}, func(fs *arcgis.FeatureSet) error {
		pages++
		for _, f := range fs.Features {
			id, _ := f.ObjectID("OBJECTID")
			seen[id]++
		}
		if pages == 1 {
			// Delete features already read: none still unread may be lost.
			res := s.layer.ApplyEdits(arcgissim.Edits{Deletes: []int64{1, 2, 3, 4, 5, 6, 7, 8}}, time.Now())
			for _, r := range res.DeleteResults {
				if !r.Success {
					return fmt.Errorf("deleting: %+v", r.Error)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkEachOnce(t, seen, n)
}

func TestQueryPagesFullPageWithoutTransferFlag(t *testing.T) {
	t.Parallel()
	// Some ArcGIS Server versions leave exceededTransferLimit out of paged
	// answers. A page as full as asked for (or as maxRecordCount) may then
	// have more behind it: only a short page ends the read.
	const n = 25
	for _, tc := range []struct {
		name string
		q    arcgis.Query
	}{
		{"keyset at maxRecordCount", arcgis.Query{}},
		{"keyset at count", arcgis.Query{Count: 5}},
		{"offset at maxRecordCount", arcgis.Query{OrderBy: []string{"STATUS"}}},
		{"offset at count, a multiple of the total", arcgis.Query{OrderBy: []string{"STATUS"}, Count: 5}},
	} {
		l := newDBLayer(n, 10, 10, true)
		l.noFlag = true
		seen := readAll(t, l.serve(t), tc.q)
		if len(seen) != n {
			t.Errorf("%s: read %d of %d features", tc.name, len(seen), n)
		}
		checkEachOnce(t, seen, n)
	}
}
