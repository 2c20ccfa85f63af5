package gissync

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/citylink/citylink/internal/arcgis"
	"github.com/citylink/citylink/internal/cms"
)

// The fields the CMS and the DOT layer share, by citylink's name for them.
// Location is not synced after a feature is added: the DOT surveys poles.
const (
	FieldPole       = "pole_id"
	FieldOwnership  = "ownership"
	FieldLampType   = "lamp_type"
	FieldWatts      = "watts"
	FieldController = "controller_id"
	FieldInService  = "in_service_date"
	FieldCircuit    = "circuit"
	FieldAddress    = "address"
)

// fields lists the shared fields in hashing order.
var fields = []string{FieldPole, FieldOwnership, FieldLampType, FieldWatts, FieldController, FieldInService, FieldCircuit, FieldAddress}

// Owner says which system's edits to a field count.
type Owner string

// Owners. A field nobody owns takes edits from both sides; when both change
// it between two syncs, the later edit wins (see Conflicts in the package doc).
const (
	OwnerCMS  Owner = "cms"
	OwnerDOT  Owner = "dot"
	OwnerNone Owner = ""
)

// Ownership maps each shared field to its owner.
type Ownership map[string]Owner

// DefaultOwnership is the city's agreement: the CMS owns the lamp and
// controller data, the DOT owns the pole, its ownership; the circuit and
// the address are kept by both.
func DefaultOwnership() Ownership {
	return Ownership{
		FieldLampType: OwnerCMS, FieldWatts: OwnerCMS, FieldController: OwnerCMS, FieldInService: OwnerCMS,
		FieldPole: OwnerDOT, FieldOwnership: OwnerDOT,
		FieldCircuit: OwnerNone, FieldAddress: OwnerNone,
	}
}

// DOT layer field names, as the department's geodatabase names them.
const (
	dotAssetID    = "ASSET_ID"
	dotPole       = "POLE_ID"
	dotLampType   = "LAMP_TYPE"
	dotWatts      = "WATTAGE"
	dotController = "CONTROLLER_ID"
	dotCircuit    = "CIRCUIT"
	dotAddress    = "ADDRESS"
	dotOwner      = "OWNER"
	dotInService  = "INSTALL_DATE"
	dotEditDate   = "EditDate"
	dotObjectID   = "OBJECTID"
)

// dotField maps a shared field to its DOT layer column.
var dotField = map[string]string{
	FieldPole: dotPole, FieldOwnership: dotOwner, FieldLampType: dotLampType, FieldWatts: dotWatts,
	FieldController: dotController, FieldInService: dotInService, FieldCircuit: dotCircuit, FieldAddress: dotAddress,
}

// dotOutFields are the columns read from the DOT layer.
var dotOutFields = []string{dotObjectID, dotAssetID, dotPole, dotOwner, dotLampType, dotWatts, dotController,
	dotInService, dotCircuit, dotAddress, dotEditDate}

// record is one light's shared fields as text, the form both sides are
// compared, hashed and stored in.
type record map[string]string

// hash is the record's content hash.
func (r record) hash() string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{'='})
		h.Write([]byte(r[f]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// fromDevice reads a CMS device's shared fields.
func fromDevice(d cms.Device) record {
	watts := ""
	if d.NominalWatts != 0 {
		watts = strconv.Itoa(d.NominalWatts)
	}
	return record{
		FieldPole: d.PoleID, FieldOwnership: d.Ownership, FieldLampType: d.LampType, FieldWatts: watts,
		FieldController: d.ControllerID, FieldInService: d.InServiceDate, FieldCircuit: d.Circuit, FieldAddress: d.Address,
	}
}

// fromFeature reads a DOT feature's shared fields.
func fromFeature(f arcgis.Feature) record {
	r := record{}
	for _, name := range []string{FieldPole, FieldOwnership, FieldLampType, FieldController, FieldCircuit, FieldAddress} {
		r[name], _ = f.String(dotField[name])
	}
	if w, ok := f.Int(dotWatts); ok && w != 0 {
		r[FieldWatts] = strconv.FormatInt(w, 10)
	} else {
		r[FieldWatts] = ""
	}
	if t, ok := f.Time(dotInService); ok {
		r[FieldInService] = t.UTC().Format(time.DateOnly)
	} else {
		r[FieldInService] = ""
	}
	return r
}

// dotValue is a shared field's value as the DOT layer takes it: null for
// empty, an integer for the wattage, epoch milliseconds for the date.
func dotValue(field, v string) any {
	if v == "" {
		return nil
	}
	switch field {
	case FieldWatts:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		return nil
	case FieldInService:
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.UnixMilli()
		}
		return nil
	}
	return v
}

// patchField sets one shared field in a CMS patch.
func patchField(p *cms.DevicePatch, field, v string) {
	switch field {
	case FieldPole:
		p.PoleID = &v
	case FieldOwnership:
		p.Ownership = &v
	case FieldLampType:
		p.LampType = &v
	case FieldWatts:
		n, _ := strconv.Atoi(v)
		p.NominalWatts = &n
	case FieldController:
		p.ControllerID = &v
	case FieldInService:
		p.InServiceDate = &v
	case FieldCircuit:
		p.Circuit = &v
	case FieldAddress:
		p.Address = &v
	}
}
