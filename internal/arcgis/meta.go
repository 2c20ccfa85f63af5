package arcgis

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Field describes one attribute of a layer.
type Field struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // esriFieldTypeString, esriFieldTypeDate, ...
	Alias    string `json:"alias"`
	Length   int    `json:"length,omitempty"`
	Nullable bool   `json:"nullable"`
	Editable bool   `json:"editable"`
}

// EditFieldsInfo names the fields a layer with edit tracking maintains.
type EditFieldsInfo struct {
	CreationDateField string `json:"creationDateField"`
	CreatorField      string `json:"creatorField"`
	EditDateField     string `json:"editDateField"`
	EditorField       string `json:"editorField"`
}

// ServerGens are a layer's change-tracking generations.
type ServerGens struct {
	MinServerGen int64 `json:"minServerGen"`
	ServerGen    int64 `json:"serverGen"`
}

// LayerInfo is the part of a layer resource a client acts on.
type LayerInfo struct {
	ID                              int             `json:"id"`
	Name                            string          `json:"name"`
	Type                            string          `json:"type"`
	GeometryType                    string          `json:"geometryType"`
	DisplayField                    string          `json:"displayField"`
	ObjectIDField                   string          `json:"objectIdField"`
	Fields                          []Field         `json:"fields"`
	MaxRecordCount                  int             `json:"maxRecordCount"`
	Capabilities                    string          `json:"capabilities"`
	HasStaticData                   bool            `json:"hasStaticData"`
	SupportsApplyEditsWithGlobalIds bool            `json:"supportsApplyEditsWithGlobalIds"`
	EditFieldsInfo                  *EditFieldsInfo `json:"editFieldsInfo"`
	EditingInfo                     *struct {
		LastEditDate int64 `json:"lastEditDate"`
	} `json:"editingInfo"`
	ServerGens                *ServerGens `json:"serverGens"`
	AdvancedQueryCapabilities *struct {
		SupportsPagination bool `json:"supportsPagination"`
		SupportsOrderBy    bool `json:"supportsOrderBy"`
	} `json:"advancedQueryCapabilities"`
	// RootSupportsPagination is where some older servers put the flag.
	RootSupportsPagination *bool `json:"supportsPagination"`
}

// SupportsPagination reports whether query accepts resultOffset and
// resultRecordCount.
func (l *LayerInfo) SupportsPagination() bool {
	if l.AdvancedQueryCapabilities != nil {
		return l.AdvancedQueryCapabilities.SupportsPagination
	}
	return l.RootSupportsPagination != nil && *l.RootSupportsPagination
}

// LastEditDate is when the layer's data last changed, or the zero time when
// the layer does not track it.
func (l *LayerInfo) LastEditDate() time.Time {
	if l.EditingInfo == nil || l.EditingInfo.LastEditDate == 0 {
		return time.Time{}
	}
	return time.UnixMilli(l.EditingInfo.LastEditDate).UTC()
}

// Can reports whether the layer lists a capability, such as "Update" or
// "ChangeTracking".
func (l *LayerInfo) Can(capability string) bool { return hasCapability(l.Capabilities, capability) }

// Field returns the named field, matching case-insensitively as ArcGIS does.
func (l *LayerInfo) Field(name string) (Field, bool) {
	for _, f := range l.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return Field{}, false
}

func hasCapability(list, capability string) bool {
	for _, c := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(c), capability) {
			return true
		}
	}
	return false
}

// LayerServerGen is one layer's server generation.
type LayerServerGen struct {
	ID           int   `json:"id"`
	ServerGen    int64 `json:"serverGen"`
	MinServerGen int64 `json:"minServerGen,omitempty"`
}

// ServiceInfo is the part of a feature service resource a client acts on.
type ServiceInfo struct {
	Capabilities                    string `json:"capabilities"`
	MaxRecordCount                  int    `json:"maxRecordCount"`
	SupportsApplyEditsWithGlobalIds bool   `json:"supportsApplyEditsWithGlobalIds"`
	Layers                          []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"layers"`
	Tables []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"tables"`
	ChangeTrackingInfo *struct {
		LastSyncDate    int64            `json:"lastSyncDate"`
		LayerServerGens []LayerServerGen `json:"layerServerGens"`
	} `json:"changeTrackingInfo"`
	ExtractChangesCapabilities *struct {
		SupportsReturnIdsOnly bool `json:"supportsReturnIdsOnly"`
		SupportsServerGens    bool `json:"supportsServerGens"`
		SupportsReturnFeature bool `json:"supportsReturnFeature"`
	} `json:"extractChangesCapabilities"`
}

// Can reports whether the service lists a capability.
func (s *ServiceInfo) Can(capability string) bool { return hasCapability(s.Capabilities, capability) }

// ServerGen returns a layer's current server generation from the service's
// change-tracking info.
func (s *ServiceInfo) ServerGen(layer int) (int64, bool) {
	if s.ChangeTrackingInfo == nil {
		return 0, false
	}
	for _, g := range s.ChangeTrackingInfo.LayerServerGens {
		if g.ID == layer {
			return g.ServerGen, true
		}
	}
	return 0, false
}

// Service fetches the feature service resource.
func (c *Client) Service(ctx context.Context) (*ServiceInfo, error) {
	var info ServiceInfo
	if err := c.call(ctx, http.MethodPost, c.serviceURL(), nil, true, &info); err != nil {
		return nil, fmt.Errorf("reading service info: %w", err)
	}
	return &info, nil
}

// Layer fetches a layer resource. The answer is remembered for paging
// decisions; Layer always asks the server again.
func (c *Client) Layer(ctx context.Context, layer int) (*LayerInfo, error) {
	info := LayerInfo{ID: -1} // -1 tells an answer without an id
	if err := c.call(ctx, http.MethodPost, c.serviceURL(strconv.Itoa(layer)), nil, true, &info); err != nil {
		return nil, fmt.Errorf("reading layer %d info: %w", layer, err)
	}
	switch info.ID {
	case -1:
		info.ID = layer
	case layer:
	default:
		// A proxy or a misrouted URL: another layer's fields and limits
		// would steer paging and edits wrongly.
		return nil, fmt.Errorf("reading layer %d info: the server answered with layer %d", layer, info.ID)
	}
	if info.ObjectIDField == "" {
		return nil, fmt.Errorf("reading layer %d info: no objectIdField", layer)
	}
	c.mu.Lock()
	c.layers[layer] = &info
	c.mu.Unlock()
	return &info, nil
}

// cachedLayer returns the remembered layer info, fetching it the first time.
func (c *Client) cachedLayer(ctx context.Context, layer int) (*LayerInfo, error) {
	c.mu.Lock()
	info, ok := c.layers[layer]
	c.mu.Unlock()
	if ok {
		return info, nil
	}
	return c.Layer(ctx, layer)
}
