package cms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Device provisioning states.
const (
	StatePlanned        = "planned"        // in the asset register, no controller yet
	StateProvisioned    = "provisioned"    // controller paired, not yet switching
	StateCommissioned   = "commissioned"   // live and reporting
	StateDecommissioned = "decommissioned" // removed from the street
)

// Device is a streetlight as the CMS holds it: the TALQ device with its lamp
// and controller, keyed by the CMS's id and by the city's asset id.
type Device struct {
	ID            string    `json:"id"`
	ExternalID    string    `json:"externalId"` // the city's asset id
	State         string    `json:"state"`
	ControllerID  string    `json:"controllerId,omitempty"`
	PoleID        string    `json:"poleId,omitempty"`
	Location      Location  `json:"location"`
	Address       string    `json:"address,omitempty"`
	Circuit       string    `json:"circuit,omitempty"`
	LampType      string    `json:"lampType,omitempty"` // LED, HPS, LPS or MH
	NominalWatts  int       `json:"nominalWatts,omitempty"`
	InputWatts    int       `json:"inputWatts,omitempty"`
	RateSchedule  string    `json:"rateSchedule,omitempty"`
	Ownership     string    `json:"ownership,omitempty"` // city or utility
	InServiceDate string    `json:"inServiceDate,omitempty"`
	Version       int       `json:"version"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Location is a WGS84 position.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// DevicePatch holds the writable fields of a device; nil fields are left as
// they are (JSON merge patch). An empty ControllerID clears the controller.
type DevicePatch struct {
	State         *string   `json:"state,omitempty"`
	ControllerID  *string   `json:"controllerId,omitempty"`
	PoleID        *string   `json:"poleId,omitempty"`
	Location      *Location `json:"location,omitempty"`
	Address       *string   `json:"address,omitempty"`
	Circuit       *string   `json:"circuit,omitempty"`
	LampType      *string   `json:"lampType,omitempty"`
	NominalWatts  *int      `json:"nominalWatts,omitempty"`
	InputWatts    *int      `json:"inputWatts,omitempty"`
	RateSchedule  *string   `json:"rateSchedule,omitempty"`
	Ownership     *string   `json:"ownership,omitempty"`
	InServiceDate *string   `json:"inServiceDate,omitempty"`
}

// DeviceUpsert is a device to create or update, named by its asset id.
type DeviceUpsert struct {
	ExternalID string `json:"externalId"`
	DevicePatch
}

// Get fetches one device by its CMS id.
func (c *Client) Get(ctx context.Context, id string) (Device, error) {
	var d Device
	if _, err := c.do(ctx, call{method: http.MethodGet, path: "/devices/" + url.PathEscape(id)}, &d); err != nil {
		return Device{}, fmt.Errorf("getting device %s: %w", id, err)
	}
	return d, nil
}

// FindByExternalID fetches the device for an asset id; ErrNotFound when the
// CMS has none.
func (c *Client) FindByExternalID(ctx context.Context, externalID string) (Device, error) {
	var page struct {
		Devices []Device `json:"devices"`
	}
	cl := call{method: http.MethodGet, path: "/devices", query: url.Values{"externalId": {externalID}}}
	if _, err := c.do(ctx, cl, &page); err != nil {
		return Device{}, fmt.Errorf("finding device for asset %s: %w", externalID, err)
	}
	for _, d := range page.Devices {
		if d.ExternalID == externalID {
			return d, nil
		}
	}
	return Device{}, fmt.Errorf("finding device for asset %s: %w", externalID, ErrNotFound)
}

// Create adds a device for an asset id and reports whether this call created
// it. When the CMS already has a device for the asset id (made earlier, or
// by this very call before its answer was lost and the request retried),
// Create returns that device with created false and no error, so creating
// is idempotent by asset id.
func (c *Client) Create(ctx context.Context, in DeviceUpsert) (d Device, created bool, err error) {
	_, err = c.do(ctx, call{method: http.MethodPost, path: "/devices", body: in, safe: true}, &d)
	if err == nil {
		return d, true, nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict {
		if apiErr.Existing != nil && apiErr.Existing.ExternalID == in.ExternalID {
			return *apiErr.Existing, false, nil
		}
		if d, ferr := c.FindByExternalID(ctx, in.ExternalID); ferr == nil {
			return d, false, nil
		}
	}
	return Device{}, false, fmt.Errorf("creating device for asset %s: %w", in.ExternalID, err)
}

// Update applies patch to device id. With ifVersion > 0 the CMS refuses
// (ErrPreconditionFailed) when the device has moved past that version. Both
// kinds are retried: an unconditional patch sets the same values however
// often it lands, and a conditional one cannot land twice. When a conditional
// update's first answer was lost and its retry is refused, Update reads the
// device back and succeeds if it holds the patch at the very next version,
// that is, if the lost attempt is what moved it.
func (c *Client) Update(ctx context.Context, id string, patch DevicePatch, ifVersion int) (Device, error) {
	cl := call{method: http.MethodPatch, path: "/devices/" + url.PathEscape(id), body: patch, safe: true}
	if ifVersion > 0 {
		cl.header = http.Header{"If-Match": {`"v` + strconv.Itoa(ifVersion) + `"`}}
	}
	var d Device
	_, err := c.do(ctx, cl, &d)
	if err != nil && ifVersion > 0 && errors.Is(err, ErrPreconditionFailed) {
		if cur, gerr := c.Get(ctx, id); gerr == nil && cur.Version == ifVersion+1 && patch.appliedTo(cur) {
			return cur, nil
		}
	}
	if err != nil {
		return Device{}, fmt.Errorf("updating device %s: %w", id, err)
	}
	return d, nil
}

// appliedTo reports whether every field the patch sets has that value in d.
func (p DevicePatch) appliedTo(d Device) bool {
	eqS := func(v *string, have string) bool { return v == nil || *v == have }
	eqI := func(v *int, have int) bool { return v == nil || *v == have }
	return eqS(p.State, d.State) && eqS(p.ControllerID, d.ControllerID) && eqS(p.PoleID, d.PoleID) &&
		(p.Location == nil || *p.Location == d.Location) && eqS(p.Address, d.Address) &&
		eqS(p.Circuit, d.Circuit) && eqS(p.LampType, d.LampType) && eqI(p.NominalWatts, d.NominalWatts) &&
		eqI(p.InputWatts, d.InputWatts) && eqS(p.RateSchedule, d.RateSchedule) &&
		eqS(p.Ownership, d.Ownership) && eqS(p.InServiceDate, d.InServiceDate)
}

// Bulk item statuses.
const (
	BulkCreated   = "created"
	BulkUpdated   = "updated"
	BulkUnchanged = "unchanged"
	BulkFailed    = "failed"
)

// BulkResult is one item's outcome in BulkUpsert. Index is the item's place
// in the caller's list.
type BulkResult struct {
	Index      int      `json:"index"`
	ExternalID string   `json:"externalId,omitempty"`
	Status     string   `json:"status"`
	Device     *Device  `json:"device,omitempty"`
	Error      *Problem `json:"error,omitempty"`
}

// BulkUpsert creates or updates devices by asset id, MaxBulk to a request,
// and returns one result per item in the order given. A failed item is a
// result, not an error; the error is for requests that failed as a whole, in
// which case the results of the requests before it are returned too. Upsert
// by asset id is idempotent, so requests are retried.
func (c *Client) BulkUpsert(ctx context.Context, items []DeviceUpsert) ([]BulkResult, error) {
	results := make([]BulkResult, 0, len(items))
	for start := 0; start < len(items); start += MaxBulk {
		chunk := items[start:min(start+MaxBulk, len(items))]
		var out struct {
			Results []BulkResult `json:"results"`
		}
		cl := call{method: http.MethodPost, path: "/devices/bulk", body: map[string]any{"devices": chunk}, safe: true}
		if _, err := c.do(ctx, cl, &out); err != nil {
			return results, fmt.Errorf("bulk upsert of items %d to %d: %w", start, start+len(chunk)-1, err)
		}
		if len(out.Results) != len(chunk) {
			return results, fmt.Errorf("bulk upsert of items %d to %d: %d results for %d items", start, start+len(chunk)-1, len(out.Results), len(chunk))
		}
		ordered := make([]BulkResult, len(chunk))
		for _, r := range out.Results {
			if r.Index < 0 || r.Index >= len(chunk) || ordered[r.Index].Status != "" {
				return results, fmt.Errorf("bulk upsert: result index %d out of range or repeated", r.Index)
			}
			r.Index += start
			ordered[r.Index-start] = r
		}
		for i, r := range ordered {
			if r.Status == "" {
				return results, fmt.Errorf("bulk upsert: no result for item %d", start+i)
			}
		}
		results = append(results, ordered...)
	}
	return results, nil
}
