package arcgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// ChangesRequest asks extractChanges for what changed after the given
// server generations.
type ChangesRequest struct {
	// Since maps layer ids to the server generation last seen; layers not
	// named are not asked about.
	Since map[int]int64
	// IDsOnly returns object ids instead of whole features.
	IDsOnly bool
}

// LayerChanges is what changed in one layer.
type LayerChanges struct {
	ID int `json:"id"`
	// Features carries whole rows unless IDsOnly was asked.
	Features struct {
		Adds      []Feature `json:"adds"`
		Updates   []Feature `json:"updates"`
		DeleteIDs []int64   `json:"deleteIds"`
	} `json:"features"`
	// ObjectIDs carries ids when IDsOnly was asked.
	ObjectIDs struct {
		Adds    []int64 `json:"adds"`
		Updates []int64 `json:"updates"`
		Deletes []int64 `json:"deletes"`
	} `json:"objectIds"`
}

// Changes is a synchronous extractChanges answer. LayerServerGens are the
// generations to ask from next time.
type Changes struct {
	LayerServerGens []LayerServerGen `json:"layerServerGens"`
	Edits           []LayerChanges   `json:"edits"`
}

// ServerGen returns the generation to ask from next time for a layer.
func (c *Changes) ServerGen(layer int) (int64, bool) {
	for _, g := range c.LayerServerGens {
		if g.ID == layer {
			return g.ServerGen, true
		}
	}
	return 0, false
}

// Layer returns the changes of one layer.
func (c *Changes) Layer(layer int) (*LayerChanges, bool) {
	for i := range c.Edits {
		if c.Edits[i].ID == layer {
			return &c.Edits[i], true
		}
	}
	return nil, false
}

// ExtractChanges asks the service (which must have the ChangeTracking
// capability) for inserts, updates and deletes after the given server
// generations, synchronously and embedded as JSON. It only reads, so it is
// safe to retry.
func (c *Client) ExtractChanges(ctx context.Context, req ChangesRequest) (*Changes, error) {
	if len(req.Since) == 0 {
		return nil, errors.New("extracting changes: no layers asked")
	}
	var layers []int
	var gens []LayerServerGen
	for id, gen := range req.Since {
		layers = append(layers, id)
		gens = append(gens, LayerServerGen{ID: id, ServerGen: gen})
	}
	slices.Sort(layers)
	slices.SortFunc(gens, func(a, b LayerServerGen) int { return a.ID - b.ID })
	layersJSON, _ := json.Marshal(layers)
	gensJSON, _ := json.Marshal(gens)
	p := url.Values{
		"layers":                       {string(layersJSON)},
		"layerServerGens":              {string(gensJSON)},
		"returnInserts":                {"true"},
		"returnUpdates":                {"true"},
		"returnDeletes":                {"true"},
		"returnIdsOnly":                {fmt.Sprint(req.IDsOnly)},
		"dataFormat":                   {"json"},
		"transportType":                {"esriTransportTypeEmbedded"},
		"extractChangesAsynchronously": {"false"},
	}
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodPost, c.serviceURL("extractChanges"), p, true, &raw); err != nil {
		return nil, fmt.Errorf("extracting changes: %w", err)
	}
	var res struct {
		Changes
		StatusURL string `json:"statusUrl"`
	}
	var shape changesShape
	if err := decodeBody(raw, &res); err != nil {
		return nil, fmt.Errorf("extracting changes: %w", err)
	}
	if res.StatusURL != "" {
		return nil, fmt.Errorf("extracting changes: server answered asynchronously (%s)", res.StatusURL)
	}
	if err := decodeBody(raw, &shape); err != nil {
		return nil, fmt.Errorf("extracting changes: %w", err)
	}
	for _, id := range layers {
		if err := shape.check(id, req.IDsOnly); err != nil {
			return nil, fmt.Errorf("extracting changes: %w", err)
		}
	}
	return &res.Changes, nil
}

// changesShape is what an extractChanges answer must carry, read apart
// from its content: which layers have a generation, and which of features
// and objectIds each edits entry holds.
type changesShape struct {
	LayerServerGens []struct {
		ID        int             `json:"id"`
		ServerGen json.RawMessage `json:"serverGen"`
	} `json:"layerServerGens"`
	Edits []struct {
		ID        int             `json:"id"`
		Features  json.RawMessage `json:"features"`
		ObjectIDs json.RawMessage `json:"objectIds"`
	} `json:"edits"`
}

// check makes sure the answer really speaks of layer id: a generation to
// ask from next time and an edits entry in the shape asked for. Any other
// JSON object (a server without change tracking may answer with the layer
// or service description) would otherwise read as "nothing changed", and a
// sync would stay silently empty for good.
func (s *changesShape) check(id int, idsOnly bool) error {
	gen := false
	for _, g := range s.LayerServerGens {
		gen = gen || g.ID == id && present(g.ServerGen)
	}
	if !gen {
		return fmt.Errorf("answer has no layerServerGens entry for layer %d: does the service track changes?", id)
	}
	for _, e := range s.Edits {
		if e.ID != id {
			continue
		}
		if idsOnly && !present(e.ObjectIDs) {
			return fmt.Errorf("edits entry for layer %d lacks its objectIds", id)
		}
		if !idsOnly && !present(e.Features) {
			return fmt.Errorf("edits entry for layer %d lacks its features", id)
		}
		return nil
	}
	return fmt.Errorf("answer has no edits entry for layer %d", id)
}

// present reports whether a raw JSON value is there and not null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}
