package arcgisimport

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// Preview writes the edits that applying items would make in the CMS, and
// writes nothing anywhere: each device to create with its fields, each
// device to update with the fields that would change, each skipped feature
// with its reason, and a count of devices that already hold what the audit
// says. It reads the CMS's whole device listing once to compare.
func Preview(ctx context.Context, c *cms.Client, items []work.Item, w io.Writer) error {
	have := map[string]cms.Device{}
	for d, err := range c.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			return fmt.Errorf("reading the cms devices: %w", err)
		}
		have[d.ExternalID] = d
	}
	var creates, updates, skips, same int
	for _, it := range items {
		l, err := work.Decode[Light](it)
		if err != nil {
			return err
		}
		switch {
		case l.Skip != "":
			skips++
			fmt.Fprintf(w, "  skip    %s (object id %d): %s\n", it.Key, l.ObjectID, l.Skip)
		case l.Device == nil:
		default:
			d, ok := have[l.Device.ExternalID]
			if !ok {
				creates++
				fmt.Fprintf(w, "  create  %s: %s\n", l.Device.ExternalID, strings.Join(changes(cms.Device{}, l.Device.DevicePatch, false), ", "))
				continue
			}
			diff := changes(d, l.Device.DevicePatch, true)
			if len(diff) == 0 {
				same++
				continue
			}
			updates++
			fmt.Fprintf(w, "  update  %s (%s): %s\n", l.Device.ExternalID, d.ID, strings.Join(diff, ", "))
		}
	}
	fmt.Fprintf(w, "  %d to create, %d to update, %d already up to date, %d skipped\n", creates, updates, same, skips)
	return nil
}

// changes lists the fields p would set on d, as "field: old → new" (or
// "field=new" without old values).
func changes(d cms.Device, p cms.DevicePatch, old bool) []string {
	var out []string
	add := func(name, have, want string) {
		if have == want {
			return
		}
		if old {
			out = append(out, fmt.Sprintf("%s: %q → %q", name, have, want))
		} else {
			out = append(out, fmt.Sprintf("%s=%s", name, want))
		}
	}
	s := func(name string, v *string, have string) {
		if v != nil {
			add(name, have, *v)
		}
	}
	n := func(name string, v *int, have int) {
		if v != nil {
			add(name, fmt.Sprint(have), fmt.Sprint(*v))
		}
	}
	s("poleId", p.PoleID, d.PoleID)
	s("lampType", p.LampType, d.LampType)
	n("nominalWatts", p.NominalWatts, d.NominalWatts)
	n("inputWatts", p.InputWatts, d.InputWatts)
	s("rateSchedule", p.RateSchedule, d.RateSchedule)
	s("controllerId", p.ControllerID, d.ControllerID)
	s("circuit", p.Circuit, d.Circuit)
	s("address", p.Address, d.Address)
	s("inServiceDate", p.InServiceDate, d.InServiceDate)
	if p.Location != nil {
		add("location", fmt.Sprintf("%.6f,%.6f", d.Location.Latitude, d.Location.Longitude),
			fmt.Sprintf("%.6f,%.6f", p.Location.Latitude, p.Location.Longitude))
	}
	return out
}
