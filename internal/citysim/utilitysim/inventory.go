package utilitysim

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The inventory change file as the utility specifies it, read here by the
// simulator's own parser so that a mistake in the client's writer (or in
// the client's parser, which its tests read the writer's output with) is
// seen by a test instead of being agreed with:
//
//   - RFC 4180 CSV: fields separated by commas, every record (the last one
//     included) ended by CRLF, a field that holds a comma, a quote or a line
//     break enclosed in double quotes with inner quotes doubled. A UTF-8
//     byte order mark before the header is allowed, as spreadsheet tools
//     write one.
//   - The first record is the header, exactly these 14 column names in this
//     order; every later record has exactly 14 fields.
//   - No field but address has leading or trailing blanks.
//   - change_type: ADD, CHANGE or REMOVE. effective_date: a YYYY-MM-DD day.
//   - account_id, asset_id and rate_schedule are never empty; an asset
//     appears at most once in a file.
//   - latitude and longitude: plain decimal WGS84 degrees.
//   - lamp_type: LED, HPS, LPS or MH (may be empty on a REMOVE).
//   - nominal_watts and input_watts: whole non-negative watts; input_watts
//     is above zero except on a REMOVE.
//   - annual_burn_hours: 4100, the dusk-to-dawn year the tariff assumes.
//   - monthly_kwh: input_watts × 4100 h / 12 months in kWh, written with
//     exactly two decimals and correctly rounded to the hundredth.
var inventoryColumns = []string{
	"change_type", "effective_date", "account_id", "asset_id", "pole_id", "address",
	"latitude", "longitude", "lamp_type", "nominal_watts", "input_watts", "rate_schedule",
	"annual_burn_hours", "monthly_kwh",
}

// Column positions, in inventoryColumns' order.
const (
	colChangeType = iota
	colEffective
	colAccount
	colAsset
	colPole
	colAddress
	colLat
	colLon
	colLampType
	colNominal
	colInput
	colRate
	colBurnHours
	colKWh
)

// burnHoursPerYear is the tariff's assumed operating year of a
// photocell-controlled streetlight.
const burnHoursPerYear = 4100

// inventoryError says where an inventory file breaks the specification.
type inventoryError struct {
	line   int    // 1-based line where the record starts
	column string // column name, when one field is at fault
	msg    string
}

func (e *inventoryError) Error() string {
	if e.column != "" {
		return fmt.Sprintf("inventory file line %d, %s: %s", e.line, e.column, e.msg)
	}
	return fmt.Sprintf("inventory file line %d: %s", e.line, e.msg)
}

// checkInventory reads a whole inventory change file as the utility's import
// does and returns how many changes it holds, or why the file is refused.
func checkInventory(data []byte) (int, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(data) == 0 {
		return 0, &inventoryError{line: 1, msg: "file is empty: no header"}
	}
	r := &csvReader{data: data, line: 1}
	head, line, err := r.record()
	if err != nil {
		return 0, err
	}
	if strings.Join(head, ",") != strings.Join(inventoryColumns, ",") {
		return 0, &inventoryError{line: line, msg: fmt.Sprintf("header is %q, want %q", strings.Join(head, ","), strings.Join(inventoryColumns, ","))}
	}
	seen := make(map[string]int)
	rows := 0
	for !r.done() {
		rec, line, err := r.record()
		if err != nil {
			return rows, err
		}
		if len(rec) != len(inventoryColumns) {
			return rows, &inventoryError{line: line, msg: fmt.Sprintf("%d fields, want %d", len(rec), len(inventoryColumns))}
		}
		if col, msg := checkChange(rec); msg != "" {
			return rows, &inventoryError{line: line, column: inventoryColumns[col], msg: msg}
		}
		if first, dup := seen[rec[colAsset]]; dup {
			return rows, &inventoryError{line: line, column: "asset_id", msg: fmt.Sprintf("asset %s already on line %d", rec[colAsset], first)}
		}
		seen[rec[colAsset]] = line
		rows++
	}
	return rows, nil
}

// checkChange checks one data record and names the first column at fault.
func checkChange(rec []string) (int, string) {
	for i, f := range rec {
		if i != colAddress && strings.TrimSpace(f) != f {
			return i, fmt.Sprintf("%q has blanks around it", f)
		}
	}
	typ := rec[colChangeType]
	switch typ {
	case "ADD", "CHANGE", "REMOVE":
	default:
		return colChangeType, fmt.Sprintf("%q is not ADD, CHANGE or REMOVE", typ)
	}
	if d, err := time.Parse("2006-01-02", rec[colEffective]); err != nil || d.Format("2006-01-02") != rec[colEffective] {
		return colEffective, fmt.Sprintf("%q is not a YYYY-MM-DD day", rec[colEffective])
	}
	for _, c := range []int{colAccount, colAsset, colRate} {
		if rec[c] == "" {
			return c, "is empty"
		}
	}
	if !degrees(rec[colLat], 90) {
		return colLat, fmt.Sprintf("%q is not a latitude in decimal degrees", rec[colLat])
	}
	if !degrees(rec[colLon], 180) {
		return colLon, fmt.Sprintf("%q is not a longitude in decimal degrees", rec[colLon])
	}
	switch lamp := rec[colLampType]; lamp {
	case "LED", "HPS", "LPS", "MH":
	case "":
		if typ != "REMOVE" {
			return colLampType, "is empty"
		}
	default:
		return colLampType, fmt.Sprintf("%q is not LED, HPS, LPS or MH", lamp)
	}
	if _, ok := watts(rec[colNominal]); !ok {
		return colNominal, fmt.Sprintf("%q is not whole watts", rec[colNominal])
	}
	input, ok := watts(rec[colInput])
	if !ok {
		return colInput, fmt.Sprintf("%q is not whole watts", rec[colInput])
	}
	if input == 0 && typ != "REMOVE" {
		return colInput, "is zero on a light that is billed"
	}
	if rec[colBurnHours] != strconv.Itoa(burnHoursPerYear) {
		return colBurnHours, fmt.Sprintf("%q, want %d", rec[colBurnHours], burnHoursPerYear)
	}
	hundredths, ok := hundredthsOf(rec[colKWh])
	if !ok {
		return colKWh, fmt.Sprintf("%q is not kWh with two decimals", rec[colKWh])
	}
	// input W × 4100 h / 12 / 1000 is input×41/120 kWh, input×205/6
	// hundredths. The written figure is a correct rounding when it lies within
	// half a hundredth of that: |h − input×205/6| ≤ 1/2, in whole numbers
	// |6h − 205×input| ≤ 3 (either neighbour is allowed on an exact half).
	if diff := 6*hundredths - 205*input; diff < -3 || diff > 3 {
		return colKWh, fmt.Sprintf("%s kWh is not %d input watts × %d h / 12 months", rec[colKWh], input, burnHoursPerYear)
	}
	return 0, ""
}

// degrees reports whether s is a plain decimal number (optional minus,
// digits, optional fraction) no larger than limit in magnitude.
func degrees(s string, limit float64) bool {
	t := strings.TrimPrefix(s, "-")
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return false
	}
	v, err := strconv.ParseFloat(s, 64)
	return err == nil && v >= -limit && v <= limit
}

// watts reads whole non-negative watts: digits only.
func watts(s string) (int, bool) {
	if s == "" || len(s) > 6 || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// hundredthsOf reads a non-negative figure written with exactly two decimals
// as a whole number of hundredths.
func hundredthsOf(s string) (int, bool) {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || whole == "" || len(whole) > 9 || len(frac) != 2 || !allDigits(whole) || !allDigits(frac) {
		return 0, false
	}
	w, _ := strconv.Atoi(whole)
	f, _ := strconv.Atoi(frac)
	return w*100 + f, true
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// csvReader splits RFC 4180 records, strictly: CRLF ends every record, and
// quotes appear only around a whole field.
type csvReader struct {
	data []byte
	pos  int
	line int // line the next record starts on
}

func (r *csvReader) done() bool { return r.pos >= len(r.data) }

// record reads the next record and the line it starts on.
func (r *csvReader) record() ([]string, int, error) {
	start := r.line
	var fields []string
	for {
		field, err := r.field(start)
		if err != nil {
			return nil, start, err
		}
		fields = append(fields, field)
		if r.pos >= len(r.data) {
			return nil, start, &inventoryError{line: start, msg: "the last record does not end with CRLF: the file is cut short"}
		}
		switch r.data[r.pos] {
		case ',':
			r.pos++
		case '\r':
			if r.pos+1 >= len(r.data) || r.data[r.pos+1] != '\n' {
				return nil, start, &inventoryError{line: r.line, msg: "a bare CR: records end with CRLF"}
			}
			r.pos += 2
			r.line++
			return fields, start, nil
		case '\n':
			return nil, start, &inventoryError{line: r.line, msg: "a bare LF: records end with CRLF"}
		}
	}
}

// field reads one field, leaving pos on the separator after it.
func (r *csvReader) field(start int) (string, error) {
	if r.pos < len(r.data) && r.data[r.pos] == '"' {
		r.pos++
		var b strings.Builder
		for {
			if r.pos >= len(r.data) {
				return "", &inventoryError{line: start, msg: "a quoted field is never closed"}
			}
			c := r.data[r.pos]
			r.pos++
			if c == '\n' {
				r.line++
			}
			if c != '"' {
				b.WriteByte(c)
				continue
			}
			if r.pos < len(r.data) && r.data[r.pos] == '"' {
				b.WriteByte('"')
				r.pos++
				continue
			}
			if r.pos < len(r.data) && r.data[r.pos] != ',' && r.data[r.pos] != '\r' && r.data[r.pos] != '\n' {
				return "", &inventoryError{line: r.line, msg: "text after a closing quote"}
			}
			return b.String(), nil
		}
	}
	i := r.pos
	for i < len(r.data) && r.data[i] != ',' && r.data[i] != '\r' && r.data[i] != '\n' {
		if r.data[i] == '"' {
			return "", &inventoryError{line: r.line, msg: "a quote inside an unquoted field"}
		}
		i++
	}
	f := string(r.data[r.pos:i])
	r.pos = i
	return f, nil
}
