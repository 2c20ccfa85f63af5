package utility_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/utility"
)

func sampleChanges(n int) []utility.Change {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	out := make([]utility.Change, 0, n)
	for i := range n {
		out = append(out, utility.Change{
			Type: []utility.ChangeType{utility.Added, utility.Changed, utility.Removed}[i%3], Effective: day,
			AccountID: "SL-ACCT-0042", AssetID: fmt.Sprintf("SL-%07d", i),
			PoleID: "P-1", Address: `1200 W MADISON ST, "REAR"`, Lat: 41.88162, Lon: -87.65807,
			LampType: "LED", NominalWatts: 90, InputWatts: 96 + i%50, RateSchedule: "LS-2 LED",
			InService: day.AddDate(-3, 0, i), Controller: i%2 == 0,
		})
		if out[i].Type == utility.Removed {
			out[i].Removal = day
		}
		if out[i].Controller {
			out[i].DimmingProfile = "DIM-50-MIDNIGHT"
		}
	}
	return out
}

func TestMonthlyKWh(t *testing.T) {
	t.Parallel()
	for w, want := range map[int]float64{96: 32.80, 100: 34.17, 160: 54.67, 295: 100.79, 0: 0} {
		if got := utility.MonthlyKWh(w); got != want {
			t.Errorf("MonthlyKWh(%d) = %v, want %v", w, got, want)
		}
	}
}

func TestWriteParseRoundTrip(t *testing.T) {
	t.Parallel()
	in := sampleChanges(40)
	var buf bytes.Buffer
	w := utility.NewWriter(&buf)
	for _, c := range in {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != len(in) || !strings.HasPrefix(buf.String(), strings.Join(utility.Header, ",")+"\r\n") {
		t.Fatalf("rows %d, file starts %q", w.Rows(), buf.String()[:80])
	}
	out, err := utility.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("parsed %d rows, wrote %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("row %d: %+v, wrote %+v", i, out[i], in[i])
		}
	}
}

func TestEncodeEmptyFileHasHeader(t *testing.T) {
	t.Parallel()
	b, err := utility.Encode(nil)
	if err != nil || string(b) != strings.Join(utility.Header, ",")+"\r\n" {
		t.Fatalf("empty file: %q %v", b, err)
	}
	if got, err := utility.Parse(bytes.NewReader(b)); err != nil || len(got) != 0 {
		t.Errorf("parsing the empty file: %v %v", got, err)
	}
	if _, err := utility.Encode([]utility.Change{{AssetID: "SL-1"}}); err == nil {
		t.Error("a bad change encoded")
	}
}

func TestWriterRefusesBadRows(t *testing.T) {
	t.Parallel()
	good := sampleChanges(1)[0]
	for name, edit := range map[string]func(*utility.Change){
		"type":     func(c *utility.Change) { c.Type = "UPDATE" },
		"asset":    func(c *utility.Change) { c.AssetID = "" },
		"account":  func(c *utility.Change) { c.AccountID = "" },
		"date":     func(c *utility.Change) { c.Effective = time.Time{} },
		"latitude": func(c *utility.Change) { c.Lat = 91 },
		"watts":    func(c *utility.Change) { c.Type = utility.Added; c.InputWatts = 0 },
		"rate":     func(c *utility.Change) { c.RateSchedule = "" },
		"removal":  func(c *utility.Change) { c.Type = utility.Removed; c.Removal = time.Time{} },
		"early":    func(c *utility.Change) { c.Type = utility.Added; c.Removal = c.Effective },
	} {
		c := good
		edit(&c)
		if err := utility.NewWriter(&bytes.Buffer{}).Write(c); err == nil {
			t.Errorf("%s: bad row accepted", name)
		}
	}
	w := utility.NewWriter(&bytes.Buffer{})
	if err := w.Write(good); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(good); err == nil {
		t.Error("the same asset twice in one file was accepted")
	}
}

func TestParseRecordedFiles(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/inventory_sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := utility.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Address != "1200 W MADISON ST, CHICAGO IL" || got[2].Type != utility.Removed ||
		got[2].InputWatts != 295 || got[1].Effective != time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) ||
		!got[0].Controller || got[0].DimmingProfile != "DIM-50-MIDNIGHT" || got[2].Controller ||
		got[2].Removal != time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) || got[1].InService != time.Date(2019, 5, 4, 0, 0, 0, 0, time.UTC) {
		t.Errorf("sample: %+v", got)
	}
	for file, want := range map[string]struct {
		line  int
		field string
	}{
		"inventory_bad_kwh.csv":   {2, "monthly_kwh"},
		"inventory_truncated.csv": {3, ""},
	} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = utility.Parse(bytes.NewReader(b))
		var pe *utility.ParseError
		if !errors.As(err, &pe) || pe.Line != want.line || pe.Field != want.field {
			t.Errorf("%s: %v, want line %d field %q", file, err, want.line, want.field)
		}
	}
	withBOM := "\ufeff" + strings.Join(utility.Header, ",") + "\r\n"
	if _, err := utility.Parse(strings.NewReader(withBOM)); err != nil {
		t.Errorf("a header after a byte order mark: %v", err)
	}
	if _, err := utility.Parse(strings.NewReader("")); err == nil {
		t.Error("an empty file parsed")
	}
	if _, err := utility.Parse(strings.NewReader("asset_id,watts\r\n")); err == nil {
		t.Error("a foreign header parsed")
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	got := utility.FileName("citylink", time.Date(2026, 11, 22, 23, 0, 0, 0, time.FixedZone("CST", -6*3600)), 2)
	if got != "citylink_streetlight_inventory_20261123_002.csv" {
		t.Errorf("FileName = %q", got)
	}
}
