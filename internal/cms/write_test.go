package cms_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/citylink/citylink/internal/citysim/cmssim"
	"github.com/citylink/citylink/internal/citysim/simcity"

	"github.com/citylink/citylink/internal/cms"
)

func TestUpdate(t *testing.T) {
	t.Parallel()
	_, srv, clock := newSim(t, 400, cmssim.Options{Faults: faulty, LostReplyRate: 0.3})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	d, err := c.Get(ctx, "dev-0000010")
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(testStart.Add(time.Hour))
	// Unconditional patches are retried through lost answers and end in the
	// same state however often they land.
	for range 5 {
		got, err := c.Update(ctx, d.ID, cms.DevicePatch{Address: new("121 N LaSalle St"), Circuit: new("CK-0999-B")}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Address != "121 N LaSalle St" || got.Version != d.Version+1 || got.PoleID != d.PoleID {
			t.Fatalf("after patch: %+v", got)
		}
	}
	cur, err := c.Update(ctx, d.ID, cms.DevicePatch{Address: new("1 S State St")}, d.Version+1)
	if err != nil || cur.Version != d.Version+2 || cur.Address != "1 S State St" {
		t.Fatalf("conditional update at the current version: %+v, %v", cur, err)
	}
	_, err = c.Update(ctx, d.ID, cms.DevicePatch{Address: new("2 S State St")}, d.Version)
	var apiErr *cms.APIError
	if !errors.Is(err, cms.ErrPreconditionFailed) || !errors.As(err, &apiErr) || apiErr.Key != "preconditionFailed" {
		t.Fatalf("stale conditional update: %v", err)
	}
	if _, err := c.Update(ctx, "dev-9999999", cms.DevicePatch{Address: new("x")}, 0); !errors.Is(err, cms.ErrNotFound) {
		t.Fatalf("update of an unknown device: %v", err)
	}
}

func TestBulkUpsertSplitsAndReportsPerItem(t *testing.T) {
	t.Parallel()
	_, srv, clock := newSim(t, 600, cmssim.Options{Faults: faulty, LostReplyRate: 0.2})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	clock.Set(testStart.Add(time.Minute))
	var items []cms.DeviceUpsert
	for i := range 1234 {
		items = append(items, cms.DeviceUpsert{ExternalID: fmt.Sprintf("SL-8%06d", i), DevicePatch: cms.DevicePatch{
			LampType: new(simcity.LampHPS), NominalWatts: new(150), InputWatts: new(188), RateSchedule: new(simcity.RateLS2),
		}})
	}
	items[700].InputWatts = new(100) // below nominal: refused
	results, err := c.BulkUpsert(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(items) {
		t.Fatalf("%d results for %d items", len(results), len(items))
	}
	for i, r := range results {
		want := cms.BulkCreated
		if i == 700 {
			want = cms.BulkFailed
		}
		// A lost answer retried turns created into unchanged: the write had
		// already landed.
		ok := r.Status == want || (want == cms.BulkCreated && r.Status == cms.BulkUnchanged)
		if r.Index != i || r.ExternalID != items[i].ExternalID || !ok {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if p := results[700].Error; p == nil || p.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "inputWatts" {
		t.Fatalf("failed item's problem: %+v", results[700].Error)
	}
	items[700].InputWatts = new(188)
	items[3].NominalWatts, items[3].InputWatts = new(250), new(295)
	results, err = c.BulkUpsert(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		// Items 3 and 700 change, unless a lost answer's retry found them
		// already changed; the rest are as the first upsert left them.
		changed := r.Status == cms.BulkUpdated || r.Status == cms.BulkCreated
		if r.Status == cms.BulkFailed || (changed && i != 3 && i != 700) {
			t.Fatalf("second upsert, item %d: %+v", i, r)
		}
	}
	if _, err := c.FindByExternalID(ctx, items[700].ExternalID); err != nil {
		t.Fatalf("corrected item: %v", err)
	}
	d, err := c.FindByExternalID(ctx, items[3].ExternalID)
	if err != nil || d.NominalWatts != 250 {
		t.Fatalf("updated device: %+v, %v", d, err)
	}
}

func TestHungRequestsEndWithTheContext(t *testing.T) {
	t.Parallel()
	_, srv, _ := newSim(t, 100, cmssim.Options{Faults: simcity.Faults{Seed: 1, HangRate: 1}})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Get(ctx, "dev-0000001"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []cms.Options{
		{BaseURL: "", APIKey: "k"},
		{BaseURL: "ftp://cms.example", APIKey: "k"},
		{BaseURL: "https://cms.example"},
		{BaseURL: "https://cms.example", APIKey: "k", PageSize: 5000},
	} {
		if _, err := cms.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestConditionalUpdateSurvivesLostAnswer(t *testing.T) {
	t.Parallel()
	_, srv, clock := newSim(t, 200, cmssim.Options{LostReplyRate: 1})
	c := newClient(t, srv, cmssim.DefaultAPIKey, 0)
	ctx := context.Background()
	d, err := c.Get(ctx, "dev-0000003")
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(testStart.Add(time.Hour))
	// The patch lands, its answer is lost, the retry is refused with 412,
	// and Update recognises its own write.
	got, err := c.Update(ctx, d.ID, cms.DevicePatch{RateSchedule: new(simcity.RateLS3)}, d.Version)
	if err != nil || got.Version != d.Version+1 || got.RateSchedule != simcity.RateLS3 {
		t.Fatalf("conditional update with a lost answer: %+v, %v", got, err)
	}
	// Someone else's write at the next version is still a conflict.
	if _, err := c.Update(ctx, d.ID, cms.DevicePatch{RateSchedule: new(simcity.RateLS1)}, d.Version); !errors.Is(err, cms.ErrPreconditionFailed) {
		t.Fatalf("update against a stale version: %v", err)
	}
}
