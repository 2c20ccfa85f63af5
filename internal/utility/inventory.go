// Package utility delivers the streetlight inventory change file to the
// energy utility, which bills unmetered streetlights on their inventory: the
// rate schedule and an estimated monthly kWh per light. It writes and parses
// the CSV file, and delivers it over SFTP (upload under a temporary name,
// check the size, rename into place) or HTTPS (an idempotent PUT by file name
// with Content-MD5 and Content-Digest, answered by a checksummed receipt).
package utility

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// ChangeType says what happened to a streetlight since the last file.
type ChangeType string

// The change types of the inventory file.
const (
	Added   ChangeType = "ADD"    // provisioned: start billing
	Changed ChangeType = "CHANGE" // lamp, wattage, rate or location changed
	Removed ChangeType = "REMOVE" // taken out of service: stop billing
)

func (t ChangeType) valid() bool { return t == Added || t == Changed || t == Removed }

// BurnHoursPerYear is the dusk-to-dawn operating time utilities assume for
// photocell-controlled streetlights.
const BurnHoursPerYear = 4100

// MonthlyKWh is the estimated monthly consumption of a light drawing
// inputWatts for BurnHoursPerYear, rounded to the hundredth the file carries.
func MonthlyKWh(inputWatts int) float64 {
	return math.Round(float64(inputWatts)*BurnHoursPerYear/12/1000*100) / 100
}

// Change is one row of the inventory change file.
type Change struct {
	Type ChangeType
	// Effective is the day the change takes effect for billing.
	Effective time.Time
	// AccountID is the utility account the light is billed to.
	AccountID       string
	AssetID, PoleID string
	Address         string
	Lat, Lon        float64
	// LampType is LED, HPS, LPS or MH.
	LampType     string
	NominalWatts int
	// InputWatts is the fixture's draw including driver or ballast losses;
	// the kWh estimate uses it.
	InputWatts   int
	RateSchedule string
	// InService is the day the light went into service; zero when the
	// asset register does not know it.
	InService time.Time
	// Removal is the day a removed light left service; zero otherwise.
	Removal time.Time
	// Controller reports a smart controller on the light (Y or N in the
	// file): the utility moves lights with a metering grade node to
	// metered rates.
	Controller bool
	// DimmingProfile names the controller's dimming schedule, which lowers
	// the light's real consumption below the burn-hours estimate; empty
	// for a light without one.
	DimmingProfile string
}

// Header is the first row of every inventory change file.
var Header = []string{
	"change_type", "effective_date", "account_id", "asset_id", "pole_id", "address",
	"latitude", "longitude", "lamp_type", "nominal_watts", "input_watts", "rate_schedule",
	"annual_burn_hours", "monthly_kwh", "in_service_date", "removal_date", "controller", "dimming_profile",
}

const dateLayout = "2006-01-02"

// Check reports what makes c unfit for the file, or nil: a workflow checks
// a row when it records it, so a bad row fails alone rather than its file.
func (c Change) Check() error {
	switch {
	case !c.Type.valid():
		return fmt.Errorf("change type %q is not ADD, CHANGE or REMOVE", c.Type)
	case c.Effective.IsZero():
		return errors.New("effective date is missing")
	case c.AccountID == "":
		return errors.New("account id is missing")
	case c.AssetID == "":
		return errors.New("asset id is missing")
	case c.Lat < -90 || c.Lat > 90 || c.Lon < -180 || c.Lon > 180:
		return fmt.Errorf("location %v,%v is not WGS84 degrees", c.Lat, c.Lon)
	case c.NominalWatts < 0 || c.InputWatts < 0:
		return errors.New("watts are negative")
	case c.Type != Removed && c.InputWatts == 0:
		return errors.New("input watts are missing")
	case c.RateSchedule == "":
		return errors.New("rate schedule is missing")
	case c.Type == Removed && c.Removal.IsZero():
		return errors.New("removal date is missing")
	case c.Type != Removed && !c.Removal.IsZero():
		return errors.New("removal date on a light not removed")
	}
	return nil
}

// record renders c as a CSV row.
func (c Change) record() []string {
	return []string{
		string(c.Type), c.Effective.Format(dateLayout), c.AccountID, c.AssetID, c.PoleID, c.Address,
		strconv.FormatFloat(c.Lat, 'f', 6, 64), strconv.FormatFloat(c.Lon, 'f', 6, 64), c.LampType,
		strconv.Itoa(c.NominalWatts), strconv.Itoa(c.InputWatts), c.RateSchedule,
		strconv.Itoa(BurnHoursPerYear), strconv.FormatFloat(MonthlyKWh(c.InputWatts), 'f', 2, 64),
		formatDay(c.InService), formatDay(c.Removal), yesNo(c.Controller), c.DimmingProfile,
	}
}

// formatDay renders a date column, empty for the zero time.
func formatDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// Writer writes an inventory change file row by row.
type Writer struct {
	cw     *csv.Writer
	rows   int
	header bool
	seen   map[string]bool
}

// NewWriter returns a Writer that writes to w. The header is written with the
// first row, or by Flush for a file without changes.
func NewWriter(w io.Writer) *Writer {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180, which utility import tools expect
	return &Writer{cw: cw, seen: make(map[string]bool)}
}

// Write adds one change. A light appears at most once per file.
func (w *Writer) Write(c Change) error {
	if err := c.Check(); err != nil {
		return fmt.Errorf("asset %s: %w", c.AssetID, err)
	}
	if w.seen[c.AssetID] {
		return fmt.Errorf("asset %s: already in this file", c.AssetID)
	}
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.seen[c.AssetID] = true
	w.rows++
	if err := w.cw.Write(c.record()); err != nil {
		return fmt.Errorf("writing row: %w", err)
	}
	return nil
}

func (w *Writer) writeHeader() error {
	if w.header {
		return nil
	}
	w.header = true
	if err := w.cw.Write(Header); err != nil {
		return fmt.Errorf("writing header: %w", err)
	}
	return nil
}

// Flush writes buffered rows to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.writeHeader(); err != nil {
		return err
	}
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("flushing inventory file: %w", err)
	}
	return nil
}

// Rows returns how many changes were written.
func (w *Writer) Rows() int { return w.rows }

// Encode renders changes as a whole inventory change file.
func Encode(changes []Change) ([]byte, error) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, c := range changes {
		if err := w.Write(c); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FileName names an inventory change file: the sender, the day it covers
// and a sequence number for several files a day.
func FileName(sender string, day time.Time, seq int) string {
	return fmt.Sprintf("%s_streetlight_inventory_%s_%03d.csv", sender, day.UTC().Format("20060102"), seq)
}
