package arcgisimport

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
)

// Fields names the audit layer's fields the import reads. The defaults are
// the third-party auditor's hosted layer's names.
type Fields struct {
	AssetID      string `json:"assetId"`      // asset_id: the city's asset id, the key in the CMS
	PoleID       string `json:"poleId"`       // pole_id
	Status       string `json:"status"`       // audit_status
	LampType     string `json:"lampType"`     // lamp_type, translated by Mapping.LampTypes
	NominalWatts string `json:"nominalWatts"` // nominal_watts
	InputWatts   string `json:"inputWatts"`   // input_watts
	RateSchedule string `json:"rateSchedule"` // rate_schedule
	InService    string `json:"inService"`    // in_service_date (a date field)
	Controller   string `json:"controller"`   // controller_id; empty values leave the CMS's controller alone
	Circuit      string `json:"circuit"`      // circuit
	Address      string `json:"address"`      // address
	// EditDate is the field the watermark follows; empty takes the layer's
	// editFieldsInfo.editDateField.
	EditDate string `json:"editDate"`
}

// Mapping is how audit features become CMS devices: configuration, not
// code, so a new auditor's field names or lamp vocabulary need no release.
// DefaultMapping documents the defaults; a JSON Mapping overrides them
// field by field (ParseMapping).
type Mapping struct {
	Fields Fields `json:"fields"`
	// Approved lists the audit statuses that make a feature importable
	// ("approved": audited, then approved by the city's reviewer).
	Approved []string `json:"approved"`
	// LampTypes translates the layer's lamp types (matched without regard
	// to case or surrounding space) into the CMS's LED, HPS, LPS or MH. A
	// lamp type not listed makes the feature a skipped item.
	LampTypes map[string]string `json:"lampTypes"`
}

// DefaultMapping returns the mapping for the third-party audit layer:
//
//	fields:    asset_id, pole_id, audit_status, lamp_type, nominal_watts,
//	           input_watts, rate_schedule, in_service_date, controller_id,
//	           circuit, address; edit date from the layer's editFieldsInfo
//	approved:  ["approved"]
//	lampTypes: LED, HPS, LPS, MH as themselves, and the long names
//	           "Light Emitting Diode", "High Pressure Sodium", "Low Pressure
//	           Sodium", "Metal Halide", "Sodium Vapor" (HPS)
func DefaultMapping() Mapping {
	return Mapping{
		Fields: Fields{
			AssetID: "asset_id", PoleID: "pole_id", Status: "audit_status", LampType: "lamp_type",
			NominalWatts: "nominal_watts", InputWatts: "input_watts", RateSchedule: "rate_schedule",
			InService: "in_service_date", Controller: "controller_id", Circuit: "circuit", Address: "address",
		},
		Approved: []string{"approved"},
		LampTypes: map[string]string{
			"LED": "LED", "HPS": "HPS", "LPS": "LPS", "MH": "MH",
			"LIGHT EMITTING DIODE": "LED", "HIGH PRESSURE SODIUM": "HPS",
			"LOW PRESSURE SODIUM": "LPS", "METAL HALIDE": "MH", "SODIUM VAPOR": "HPS",
		},
	}
}

// ParseMapping reads a JSON mapping over the defaults: members it names
// replace the default's, members it leaves out keep them. An empty string
// is the default mapping.
func ParseMapping(s string) (Mapping, error) {
	m := DefaultMapping()
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	var over struct {
		Fields    json.RawMessage   `json:"fields"`
		Approved  []string          `json:"approved"`
		LampTypes map[string]string `json:"lampTypes"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&over); err != nil {
		return Mapping{}, fmt.Errorf("reading mapping: %w", err)
	}
	if len(over.Fields) > 0 {
		fd := json.NewDecoder(strings.NewReader(string(over.Fields)))
		fd.DisallowUnknownFields()
		if err := fd.Decode(&m.Fields); err != nil {
			return Mapping{}, fmt.Errorf("reading mapping fields: %w", err)
		}
	}
	if over.Approved != nil {
		m.Approved = over.Approved
	}
	if over.LampTypes != nil {
		m.LampTypes = over.LampTypes
	}
	return m, m.check()
}

func (m Mapping) check() error {
	f := m.Fields
	if f.AssetID == "" || f.Status == "" || f.LampType == "" {
		return errors.New("mapping: the asset id, status and lamp type fields must be named")
	}
	if len(m.Approved) == 0 {
		return errors.New("mapping: no audit status is approved")
	}
	for from, to := range m.LampTypes {
		if !slices.Contains([]string{"LED", "HPS", "LPS", "MH"}, to) {
			return fmt.Errorf("mapping: lamp type %q maps to %q, not LED, HPS, LPS or MH", from, to)
		}
	}
	return nil
}

// where is the where clause selecting approved audits.
func (m Mapping) where() string {
	quoted := make([]string, len(m.Approved))
	for i, s := range m.Approved {
		quoted[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return fmt.Sprintf("%s IN (%s)", m.Fields.Status, strings.Join(quoted, ", "))
}

// approved reports whether a feature's audit status is an approved one.
func (m Mapping) approved(f arcgis.Feature) bool {
	s, _ := f.String(m.Fields.Status)
	return slices.Contains(m.Approved, s)
}

// Light is the payload of one planned item: the device to create or update
// in the CMS, or the reason the feature cannot become one.
type Light struct {
	// ObjectID is the audit feature's object id, for operators tracing an
	// item back to the layer.
	ObjectID int64 `json:"objectId"`
	// Skip, when set, is why the feature is not imported.
	Skip string `json:"skip,omitempty"`
	// Device is the CMS device by asset id; nil when skipped.
	Device *cms.DeviceUpsert `json:"device,omitempty"`
}

// key returns the item key for a mapped feature: the asset id, or the
// object id when the feature has none.
func (l Light) key() string {
	if l.Device != nil && l.Device.ExternalID != "" {
		return l.Device.ExternalID
	}
	return fmt.Sprintf("objectid:%d", l.ObjectID)
}

// Map turns one audit feature into a Light. A feature that cannot become a
// device (no asset id, no point geometry, a lamp type the mapping does not
// know, watts that are not numbers) becomes a Light with the reason in Skip.
// Fields the feature leaves empty are left alone in the CMS.
func (m Mapping) Map(f arcgis.Feature, objectID int64) Light {
	l := Light{ObjectID: objectID}
	asset, _ := f.String(m.Fields.AssetID)
	asset = strings.TrimSpace(asset)
	if asset == "" {
		l.Skip = "missing asset id"
		return l
	}
	d := &cms.DeviceUpsert{ExternalID: asset}
	pt, ok := f.Point()
	if !ok {
		l.Skip = "no geometry"
		l.Device = d
		return l
	}
	if pt.Y < -90 || pt.Y > 90 || pt.X < -180 || pt.X > 180 {
		l.Skip = fmt.Sprintf("geometry %v,%v is not WGS84 degrees", pt.Y, pt.X)
		l.Device = d
		return l
	}
	d.Location = &cms.Location{Latitude: pt.Y, Longitude: pt.X}
	raw, _ := f.String(m.Fields.LampType)
	lamp, ok := m.LampTypes[strings.ToUpper(strings.TrimSpace(raw))]
	if !ok {
		for k, v := range m.LampTypes {
			if strings.EqualFold(k, strings.TrimSpace(raw)) {
				lamp, ok = v, true
				break
			}
		}
	}
	if !ok {
		l.Skip = fmt.Sprintf("unknown lamp type %q", raw)
		l.Device = d
		return l
	}
	d.LampType = &lamp
	str := func(field string) *string {
		if field == "" {
			return nil
		}
		if s, ok := f.String(field); ok && strings.TrimSpace(s) != "" {
			s = strings.TrimSpace(s)
			return &s
		}
		return nil
	}
	d.PoleID, d.RateSchedule = str(m.Fields.PoleID), str(m.Fields.RateSchedule)
	d.ControllerID, d.Circuit, d.Address = str(m.Fields.Controller), str(m.Fields.Circuit), str(m.Fields.Address)
	for _, w := range []struct {
		field string
		to    **int
	}{{m.Fields.NominalWatts, &d.NominalWatts}, {m.Fields.InputWatts, &d.InputWatts}} {
		if w.field == "" {
			continue
		}
		if n, ok := f.Int(w.field); ok {
			if n < 0 || n > 5000 {
				l.Skip = fmt.Sprintf("%s is %d watts", w.field, n)
				l.Device = d
				return l
			}
			v := int(n)
			*w.to = &v
		}
	}
	if m.Fields.InService != "" {
		if t, ok := f.Time(m.Fields.InService); ok {
			s := t.UTC().Format(time.DateOnly)
			d.InServiceDate = &s
		}
	}
	l.Device = d
	return l
}
