package utility

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseError locates what is wrong in an inventory change file.
type ParseError struct {
	Line  int    // 1-based line of the CSV record
	Field string // header name of the offending column, if one
	Err   error
}

func (e *ParseError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("inventory file line %d, %s: %v", e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("inventory file line %d: %v", e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a whole inventory change file the way the utility does: the
// header must match, every row must be well-typed, the kWh column must agree
// with the input watts, and no light may appear twice.
func Parse(r io.Reader) ([]Change, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(Header)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Line: 1, Err: errors.New("file is empty: no header")}
	}
	if err != nil {
		return nil, &ParseError{Line: 1, Err: err}
	}
	if len(head) > 0 {
		head[0] = strings.TrimPrefix(head[0], "\ufeff") // spreadsheet tools write a byte order mark
	}
	if !slices.Equal(head, Header) {
		return nil, &ParseError{Line: 1, Err: fmt.Errorf("header is %q, want %q", strings.Join(head, ","), strings.Join(Header, ","))}
	}
	var out []Change
	seen := make(map[string]int)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return out, &ParseError{Line: line, Err: err}
		}
		line, _ := cr.FieldPos(0)
		c, field, err := parseRecord(rec)
		if err != nil {
			return out, &ParseError{Line: line, Field: field, Err: err}
		}
		if first, dup := seen[c.AssetID]; dup {
			return out, &ParseError{Line: line, Field: "asset_id", Err: fmt.Errorf("asset %s already on line %d", c.AssetID, first)}
		}
		seen[c.AssetID] = line
		out = append(out, c)
	}
}

// parseRecord reads one row; on error it names the column.
func parseRecord(rec []string) (Change, string, error) {
	var c Change
	var err error
	field := func(i int) string { return strings.TrimSpace(rec[i]) }
	c.Type = ChangeType(field(0))
	if !c.Type.valid() {
		return c, Header[0], fmt.Errorf("%q is not ADD, CHANGE or REMOVE", rec[0])
	}
	if c.Effective, err = time.Parse(dateLayout, field(1)); err != nil {
		return c, Header[1], fmt.Errorf("%q is not a YYYY-MM-DD date", rec[1])
	}
	c.AccountID, c.AssetID, c.PoleID, c.Address = field(2), field(3), field(4), rec[5]
	if c.Lat, err = strconv.ParseFloat(field(6), 64); err != nil || c.Lat < -90 || c.Lat > 90 {
		return c, Header[6], fmt.Errorf("%q is not a latitude", rec[6])
	}
	if c.Lon, err = strconv.ParseFloat(field(7), 64); err != nil || c.Lon < -180 || c.Lon > 180 {
		return c, Header[7], fmt.Errorf("%q is not a longitude", rec[7])
	}
	c.LampType = field(8)
	if c.NominalWatts, err = strconv.Atoi(field(9)); err != nil {
		return c, Header[9], fmt.Errorf("%q is not whole watts", rec[9])
	}
	if c.InputWatts, err = strconv.Atoi(field(10)); err != nil {
		return c, Header[10], fmt.Errorf("%q is not whole watts", rec[10])
	}
	c.RateSchedule = field(11)
	if h, err := strconv.Atoi(field(12)); err != nil || h != BurnHoursPerYear {
		return c, Header[12], fmt.Errorf("%q, want %d", rec[12], BurnHoursPerYear)
	}
	kwh, err := strconv.ParseFloat(field(13), 64)
	if err != nil {
		return c, Header[13], fmt.Errorf("%q is not a number", rec[13])
	}
	if want := MonthlyKWh(c.InputWatts); math.Abs(kwh-want) > 0.005 {
		return c, Header[13], fmt.Errorf("%.2f kWh disagrees with %d input watts (%.2f kWh)", kwh, c.InputWatts, want)
	}
	for i, to := range map[int]*time.Time{14: &c.InService, 15: &c.Removal} {
		if field(i) == "" {
			continue
		}
		if *to, err = time.Parse(dateLayout, field(i)); err != nil {
			return c, Header[i], fmt.Errorf("%q is not a YYYY-MM-DD date", rec[i])
		}
	}
	switch field(16) {
	case "Y":
		c.Controller = true
	case "N":
	default:
		return c, Header[16], fmt.Errorf("%q is not Y or N", rec[16])
	}
	c.DimmingProfile = field(17)
	if err := c.Check(); err != nil {
		return c, "", err
	}
	return c, "", nil
}
