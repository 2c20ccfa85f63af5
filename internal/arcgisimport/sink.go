package arcgisimport

import (
	"context"
	"fmt"
	"net/http"

	"github.com/citylink/citylink/internal/cms"
	"github.com/citylink/citylink/internal/work"
)

// Sink writes planned lights into the CMS with its bulk upsert by asset id:
// one request per batch (the CMS takes up to 500 devices a request), each
// device created when the CMS has no device for its asset id and updated
// otherwise. Upsert by asset id is what makes the sink idempotent: a batch
// applied twice (a link delivered twice, a worker lost after the CMS wrote)
// finds its devices and leaves them as they are ("unchanged"), so the CMS
// never holds two devices for one light, and a run that finds nothing new
// writes nothing.
type Sink struct {
	Client *cms.Client
}

// Apply upserts the batch's devices and returns each item's outcome: the
// CMS device id on success, the reason for a skipped feature, a permanent
// failure for a device the CMS refuses as invalid, and a retry for the rest.
func (s *Sink) Apply(ctx context.Context, items []work.Item) ([]work.Outcome, error) {
	outs := make([]work.Outcome, len(items))
	var upserts []cms.DeviceUpsert
	var at []int // item index of each upsert
	for i, it := range items {
		l, err := work.Decode[Light](it)
		switch {
		case err != nil:
			outs[i] = work.Permanent(err)
		case l.Skip != "":
			outs[i] = work.Skip(l.Skip)
		case l.Device == nil:
			outs[i] = work.Permanent(fmt.Errorf("item %s has no device", it.Key))
		default:
			upserts = append(upserts, *l.Device)
			at = append(at, i)
		}
	}
	if len(upserts) == 0 {
		return outs, nil
	}
	results, err := s.Client.BulkUpsert(ctx, upserts)
	for j, r := range results {
		outs[at[j]] = bulkOutcome(r)
	}
	for _, i := range at[len(results):] {
		outs[i] = work.FromError(err) // the request that failed as a whole, and those after it
	}
	return outs, nil
}

// bulkOutcome is the outcome of one bulk upsert result.
func bulkOutcome(r cms.BulkResult) work.Outcome {
	switch r.Status {
	case cms.BulkCreated, cms.BulkUpdated, cms.BulkUnchanged:
		if r.Device == nil {
			return work.Retry(fmt.Errorf("asset %s %s, but the CMS sent no device", r.ExternalID, r.Status), 0)
		}
		return work.Success(r.Device.ID)
	}
	if r.Error == nil {
		return work.Retry(fmt.Errorf("asset %s: bulk status %q without a problem", r.ExternalID, r.Status), 0)
	}
	err := fmt.Errorf("asset %s: %s: %s", r.ExternalID, r.Error.Key, r.Error.Detail)
	if r.Error.Status >= 400 && r.Error.Status < 500 && r.Error.Status != http.StatusTooManyRequests && r.Error.Status != http.StatusRequestTimeout {
		return work.Permanent(err)
	}
	return work.Retry(err, 0)
}
