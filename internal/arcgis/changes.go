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
	var res struct {
		Changes
		StatusURL string `json:"statusUrl"`
	}
	if err := c.call(ctx, http.MethodPost, c.serviceURL("extractChanges"), p, true, &res); err != nil {
		return nil, fmt.Errorf("extracting changes: %w", err)
	}
	if res.StatusURL != "" {
		return nil, fmt.Errorf("extracting changes: server answered asynchronously (%s)", res.StatusURL)
	}
	return &res.Changes, nil
}
