package utility_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/simcity"
	"github.com/citylink/citylink/internal/citysim/utilitysim"

	"github.com/citylink/citylink/internal/utility"
)

// cityChanges turns the simulated city's 270,000 lights into one full
// inventory: the first file a utility receives.
func cityChanges(b *testing.B) []utility.Change {
	b.Helper()
	town := simcity.New(1, simcity.DefaultLights)
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	out := make([]utility.Change, len(town.Lights))
	for i, l := range town.Lights {
		out[i] = utility.Change{
			Type: utility.Added, Effective: day, AccountID: "SL-ACCT-" + l.RateSchedule,
			AssetID: l.AssetID, PoleID: l.PoleID, Address: l.Address, Lat: l.Lat, Lon: l.Lon,
			LampType: l.LampType, NominalWatts: l.NominalWatts, InputWatts: l.InputWatts, RateSchedule: l.RateSchedule,
		}
	}
	return out
}

func encodeAll(b *testing.B, w io.Writer, changes []utility.Change) {
	b.Helper()
	cw := utility.NewWriter(w)
	for _, c := range changes {
		if err := cw.Write(c); err != nil {
			b.Fatal(err)
		}
	}
	if err := cw.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriteCityInventory writes the 270,000-light inventory file.
func BenchmarkWriteCityInventory(b *testing.B) {
	changes := cityChanges(b)
	var buf bytes.Buffer
	encodeAll(b, &buf, changes)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf.Reset()
		encodeAll(b, &buf, changes)
	}
	b.ReportMetric(float64(len(changes))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParseCityInventory validates the 270,000-light file as the
// utility's importer does.
func BenchmarkParseCityInventory(b *testing.B) {
	changes := cityChanges(b)
	var buf bytes.Buffer
	encodeAll(b, &buf, changes)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := utility.Parse(bytes.NewReader(data))
		if err != nil || len(got) != len(changes) {
			b.Fatalf("parsed %d rows: %v", len(got), err)
		}
	}
	b.ReportMetric(float64(len(changes))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkSFTPDeliverCityInventory delivers the 270,000-light file to the
// simulated SFTP drop over loopback: connect, upload, size check, rename.
func BenchmarkSFTPDeliverCityInventory(b *testing.B) {
	_, cfg := startSFTP(b, utilitysim.SFTPOptions{Seed: 1})
	d, err := utility.NewSFTP(cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchDeliver(b, d)
}

// BenchmarkHTTPSDeliverCityInventory PUTs the 270,000-light file to the
// simulated HTTPS drop over TLS on loopback, receipt checked.
func BenchmarkHTTPSDeliverCityInventory(b *testing.B) {
	_, cfg := startHTTPS(b, utilitysim.HTTPSOptions{AllowOverwrite: true})
	d, err := utility.NewHTTPS(cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchDeliver(b, d)
}

// benchDeliver delivers the whole city's inventory file through d, once an
// iteration.
func benchDeliver(b *testing.B, d interface {
	Deliver(ctx context.Context, name string, data []byte) (utility.Receipt, error)
}) {
	var buf bytes.Buffer
	encodeAll(b, &buf, cityChanges(b))
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Deliver(context.Background(), "inventory.csv", data); err != nil {
			b.Fatal(err)
		}
	}
}
