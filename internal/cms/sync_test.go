package cms_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/citylink/citylink/internal/citysim/cmssim"

	"github.com/citylink/citylink/internal/cms"
)

// TestIncrementalListingMissesNoWrite runs writers against the CMS while a
// consumer keeps listing from its last cursor, as a sync job does between
// runs. The clock stands still, so only the CMS's stamping keeps writes
// apart. Afterwards every device the writers changed must have reached the
// consumer at its final version.
func TestIncrementalListingMissesNoWrite(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 2000, cmssim.Options{Faults: faulty})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 37)
	ctx := context.Background()

	before := map[string]int{}
	cursor := ""
	err := c.ListDevices(ctx, cms.DeviceQuery{}, func(p cms.DevicePage) error {
		for _, d := range p.Devices {
			before[d.ID] = d.Version
		}
		cursor = p.NextCursor
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	drain := func() {
		err := c.ListDevices(ctx, cms.DeviceQuery{After: cursor}, func(p cms.DevicePage) error {
			for _, d := range p.Devices {
				seen[d.ID] = max(seen[d.ID], d.Version)
			}
			cursor = p.NextCursor
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}

	const writers, rounds = 4, 15
	wrote := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				var items []cms.DeviceUpsert
				for i := range 12 {
					// Writers share asset ids, so their writes interleave on the same devices.
					id := fmt.Sprintf("SL-%07d", 1+(w*7+r*13+i*29)%2000)
					items = append(items, cms.DeviceUpsert{ExternalID: id, DevicePatch: cms.DevicePatch{Circuit: new(fmt.Sprintf("CK-%04d-%c", w*100+r, 'A'+i%3))}})
				}
				if _, err := c.BulkUpsert(ctx, items); err != nil {
					t.Error(err)
				}
				wrote <- struct{}{}
			}
		})
	}
	go func() { wg.Wait(); close(wrote) }()
	for range wrote {
		drain()
	}
	drain()

	final := map[string]int{}
	for d, err := range c.Devices(ctx, cms.DeviceQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		final[d.ID] = d.Version
	}
	changed := 0
	for id, v := range final {
		if v == before[id] {
			if _, ok := seen[id]; ok {
				t.Errorf("device %s was not written but the consumer saw it", id)
			}
			continue
		}
		changed++
		if seen[id] != v {
			t.Errorf("device %s is at version %d; the consumer last saw %d", id, v, seen[id])
		}
	}
	if changed < 100 {
		t.Fatalf("only %d devices changed", changed)
	}
}
