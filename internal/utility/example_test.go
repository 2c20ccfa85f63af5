package utility_test

import (
	"context"
	"fmt"
	"time"

	"github.com/citylink/citylink/internal/citysim/utilitysim"

	"github.com/citylink/citylink/internal/utility"
	"golang.org/x/crypto/ssh"
)

// Writing the day's inventory changes and delivering them over SFTP.
func ExampleSFTP_Deliver() {
	clientKey := utilitysim.KeyFromSeed(7)
	drop, err := utilitysim.NewSFTP(utilitysim.SFTPOptions{Seed: 1, AuthorizedKeys: []ssh.PublicKey{clientKey.PublicKey()}})
	if err != nil {
		panic(err)
	}
	addr, err := drop.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer drop.Close()

	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	file, err := utility.Encode([]utility.Change{{
		Type: utility.Added, Effective: day, AccountID: "SL-ACCT-0042", AssetID: "SL-0012345", PoleID: "P-884120",
		Address: "1530 N Ashland Ave", Lat: 41.9099, Lon: -87.6680, LampType: "LED",
		NominalWatts: 90, InputWatts: 96, RateSchedule: "LS-2",
	}})
	if err != nil {
		panic(err)
	}
	d, err := utility.NewSFTP(utility.SFTPConfig{
		Addr: addr.String(), User: "citylink", Signer: clientKey, HostKey: drop.HostKey(), Dir: drop.Dir(),
	})
	if err != nil {
		panic(err)
	}
	name := utility.FileName("citylink", day, 1)
	rc, err := d.Deliver(context.Background(), name, file)
	if err != nil {
		panic(err)
	}
	got, _ := drop.Inbox().File(name)
	fmt.Println(rc.Name, rc.Size == got.Size, got.Rows, utility.MonthlyKWh(96))
	// Output:
	// citylink_streetlight_inventory_20261122_001.csv true 1 32.8
}
