package arcgis

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Edits is one applyEdits call against a layer.
type Edits struct {
	Adds    []Feature
	Updates []Feature // each carries the layer's object id attribute
	Deletes []int64
	// RollbackOnFailure applies nothing when any edit fails. It is sent
	// explicitly: false (the zero value) applies what it can and reports
	// each failure, which is what a batch that must not fail for one item
	// wants.
	RollbackOnFailure bool
}

// EditResult is the outcome of one add, update or delete, in request order.
type EditResult struct {
	ObjectID int64      `json:"objectId"`
	GlobalID string     `json:"globalId"`
	Success  bool       `json:"success"`
	Error    *EditError `json:"error"`
}

// Err returns the edit's error, or nil when it succeeded.
func (r EditResult) Err() error {
	if r.Success {
		return nil
	}
	if r.Error == nil {
		return &EditError{Description: "edit failed without an error"}
	}
	return r.Error
}

// EditResults holds per-feature results; index i answers Adds[i],
// Updates[i] or Deletes[i].
type EditResults struct {
	AddResults    []EditResult `json:"addResults"`
	UpdateResults []EditResult `json:"updateResults"`
	DeleteResults []EditResult `json:"deleteResults"`
	EditMoment    int64        `json:"editMoment"`
}

// ApplyEdits sends adds, updates and deletes in one call and returns the
// per-feature results. A call without adds is idempotent (updates set the
// same values again, deletes of gone features fail harmlessly with
// EditErrObjectMissing), so it is marked safe to retry on 5xx and lost
// answers; a call with adds is not, since a retry could add twice.
func (c *Client) ApplyEdits(ctx context.Context, layer int, e Edits) (*EditResults, error) {
	p := url.Values{}
	for _, part := range []struct {
		name string
		v    any
		n    int
	}{{"adds", e.Adds, len(e.Adds)}, {"updates", e.Updates, len(e.Updates)}} {
		if part.n == 0 {
			continue
		}
		s, err := rawJSON(part.v)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", part.name, err)
		}
		p.Set(part.name, s)
	}
	if len(e.Deletes) > 0 {
		// A comma-separated list is the form every server version accepts;
		// JSON arrays came later.
		p.Set("deletes", formatIDs(e.Deletes))
	}
	p.Set("rollbackOnFailure", strconv.FormatBool(e.RollbackOnFailure))
	p.Set("returnEditMoment", "true")
	var res EditResults
	err := c.call(ctx, http.MethodPost, c.serviceURL(strconv.Itoa(layer), "applyEdits"), p, len(e.Adds) == 0, &res)
	if err != nil {
		return nil, fmt.Errorf("applying edits to layer %d: %w", layer, err)
	}
	if len(res.AddResults) != len(e.Adds) || len(res.UpdateResults) != len(e.Updates) || len(res.DeleteResults) != len(e.Deletes) {
		return &res, fmt.Errorf("applying edits to layer %d: %d/%d/%d results for %d/%d/%d edits", layer,
			len(res.AddResults), len(res.UpdateResults), len(res.DeleteResults), len(e.Adds), len(e.Updates), len(e.Deletes))
	}
	return &res, nil
}
