package utilitysim

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/utility"
)

const inventoryHeader = "change_type,effective_date,account_id,asset_id,pole_id,address,latitude,longitude,lamp_type,nominal_watts,input_watts,rate_schedule,annual_burn_hours,monthly_kwh"

// inventoryFile joins a header and rows as the specification says: CRLF
// after every record.
func inventoryFile(rows ...string) string {
	return inventoryHeader + "\r\n" + strings.Join(rows, "\r\n") + "\r\n"
}

const goodRow = "ADD,2026-11-22,SL-ACCT-0042,SL-0012345,P-884120,1200 W MADISON ST,41.881620,-87.658070,LED,90,96,LS-2 LED,4100,32.80"

// TestInventoryAcceptsTheClientsFiles checks the two independent readings of
// the specification agree on valid files: what the client's writer produces
// for a slice of the simulated city, every change type among them, the
// simulator takes in whole.
func TestInventoryAcceptsTheClientsFiles(t *testing.T) {
	t.Parallel()
	c := simcity.New(5, 2000)
	var changes []utility.Change
	types := []utility.ChangeType{utility.Added, utility.Changed, utility.Removed}
	for i, l := range c.Lights {
		ch := utility.Change{
			Type: types[i%3], Effective: simcity.Epoch(), AccountID: "SL-ACCT-0042",
			AssetID: l.AssetID, PoleID: l.PoleID, Address: l.Address, Lat: l.Lat, Lon: l.Lon,
			LampType: l.LampType, NominalWatts: l.NominalWatts, InputWatts: l.InputWatts, RateSchedule: l.RateSchedule,
		}
		if ch.Type == utility.Removed && i%2 == 0 {
			ch.LampType, ch.InputWatts = "", 0
		}
		changes = append(changes, ch)
	}
	// An address with a comma and a quote is written quoted.
	changes[0].Address = `1200 W "OLD" MADISON ST, REAR`
	data, err := utility.Encode(changes)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := checkInventory(data)
	if err != nil || rows != len(changes) {
		t.Fatalf("checkInventory = %d, %v; want %d rows", rows, err, len(changes))
	}
	empty, err := utility.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := checkInventory(empty); err != nil || rows != 0 {
		t.Errorf("a file of no changes: %d, %v", rows, err)
	}
}

// TestInventoryRejectsWhatAClientMightWriteWrong feeds the simulator files a
// client with a bug in its writer would produce. The client's own parser
// accepts most of these (it trims blanks, takes LF, reads any float), so a
// simulator that checked files with it could never fail a test for them.
func TestInventoryRejectsWhatAClientMightWriteWrong(t *testing.T) {
	t.Parallel()
	field := func(row string, i int, v string) string {
		f := strings.Split(row, ",")
		f[i] = v
		return strings.Join(f, ",")
	}
	cases := []struct {
		name, file, want string
	}{
		{"LF line ends", strings.ReplaceAll(inventoryFile(goodRow), "\r\n", "\n"), "line 1: a bare LF"},
		{"last record not ended", strings.TrimSuffix(inventoryFile(goodRow, field(goodRow, colAsset, "SL-2")), "\r\n"), "line 3: the last record does not end with CRLF"},
		{"kWh with one decimal", inventoryFile(field(goodRow, colKWh, "32.8")), "line 2, monthly_kwh"},
		{"kWh rounded the wrong way", inventoryFile(field(goodRow, colKWh, "32.79")), "line 2, monthly_kwh"},
		{"kWh from nominal watts", inventoryFile(field(goodRow, colKWh, "30.75")), "line 2, monthly_kwh"},
		{"lamp type lower case", inventoryFile(field(goodRow, colLampType, "led")), "line 2, lamp_type"},
		{"lamp type missing on an ADD", inventoryFile(field(goodRow, colLampType, "")), "line 2, lamp_type"},
		{"padded asset id", inventoryFile(field(goodRow, colAsset, " SL-0012345")), "line 2, asset_id"},
		{"latitude in exponent form", inventoryFile(field(goodRow, colLat, "4.188162e+01")), "line 2, latitude"},
		{"longitude in hundredths of a degree", inventoryFile(field(goodRow, colLon, "-8765.8070")), "line 2, longitude"},
		{"date in US order", inventoryFile(field(goodRow, colEffective, "11/22/2026")), "line 2, effective_date"},
		{"fractional watts", inventoryFile(field(goodRow, colInput, "96.0")), "line 2, input_watts"},
		{"billed light without input watts", inventoryFile(field(field(goodRow, colInput, "0"), colKWh, "0.00")), "line 2, input_watts"},
		{"burn hours per month", inventoryFile(field(goodRow, colBurnHours, "342")), "line 2, annual_burn_hours"},
		{"columns reordered", strings.Replace(inventoryFile(goodRow), "latitude,longitude", "longitude,latitude", 1), "line 1: header is"},
		{"an extra column", inventoryFile(goodRow + ",x"), "line 2: 15 fields"},
		{"unescaped quote", inventoryFile(field(goodRow, colAddress, `1200 W "OLD" MADISON`)), "line 2: a quote inside an unquoted field"},
		{"asset twice", inventoryFile(goodRow, goodRow), "line 3, asset_id: asset SL-0012345 already on line 2"},
		{"empty", "", "line 1: file is empty"},
	}
	for _, tc := range cases {
		rows, err := checkInventory([]byte(tc.file))
		if err == nil {
			t.Errorf("%s: accepted (%d rows)", tc.name, rows)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}

// TestInventoryAcceptsEitherRoundingOfAHalf: 3 W for 4100 h a year is
// exactly 1.025 kWh a month, so 1.02 and 1.03 are both correct roundings
// (the client's float arithmetic gives 1.02).
func TestInventoryAcceptsEitherRoundingOfAHalf(t *testing.T) {
	t.Parallel()
	row := strings.Replace(goodRow, ",90,96,LS-2 LED,4100,32.80", ",3,3,LS-2 LED,4100,%s", 1)
	for kwh, ok := range map[string]bool{"1.02": true, "1.03": true, "1.01": false, "1.04": false} {
		_, err := checkInventory([]byte(inventoryFile(strings.Replace(row, "%s", kwh, 1))))
		if (err == nil) != ok {
			t.Errorf("%s kWh for 3 W: err = %v, want accepted %v", kwh, err, ok)
		}
	}
	if got := utility.MonthlyKWh(3); got != 1.02 && got != 1.03 {
		t.Errorf("the client's MonthlyKWh(3) = %v, neither rounding of 1.025", got)
	}
}

// TestDropRejectsAMalformedFile shows the rejection reaches the sender: the
// HTTPS drop answers 422 with the reason, and the inbox keeps the file as
// rejected.
func TestDropRejectsAMalformedFile(t *testing.T) {
	t.Parallel()
	inbox := NewInbox(func() time.Time { return simcity.Epoch() })
	srv := httptest.NewServer(NewHTTPS(HTTPSOptions{Inbox: inbox}))
	defer srv.Close()
	lf := strings.ReplaceAll(inventoryFile(goodRow), "\r\n", "\n")
	st, rc, _ := putFile(t, srv.URL+"/inbox/lf.csv", DefaultToken, lf, nil)
	if st != 422 || rc["status"] != "rejected" || !strings.Contains(rc["error"].(string), "CRLF") {
		t.Errorf("LF file: %d %v", st, rc)
	}
	if f, ok := inbox.File("lf.csv"); !ok || f.Rows != 0 || !strings.Contains(f.Err, "bare LF") {
		t.Errorf("inbox keeps %+v, %v", f, ok)
	}
}
