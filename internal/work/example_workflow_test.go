package work_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/citylink/citylink/internal/work"
)

// auditedLight is the typed value of one item: what the sink needs.
type auditedLight struct {
	Asset    string `json:"asset"`
	LampType string `json:"lamp_type"`
	Watts    int    `json:"watts"`
}

// offset is the watermark of sliceSource: an exact resume point.
type offset struct {
	N int `json:"n"`
}

// sliceSource serves its lights two per page.
type sliceSource struct{ lights []auditedLight }

func (s sliceSource) Changes(_ context.Context, after work.Watermark) (work.Page, error) {
	var at offset
	if len(after) > 0 {
		if err := json.Unmarshal(after, &at); err != nil {
			return work.Page{}, fmt.Errorf("reading watermark: %w", err)
		}
	}
	end := min(at.N+2, len(s.lights))
	var page work.Page
	for _, l := range s.lights[at.N:end] {
		it, err := work.NewItem(l.Asset, l)
		if err != nil {
			return work.Page{}, err
		}
		page.Items = append(page.Items, it)
	}
	next, err := json.Marshal(offset{N: end})
	if err != nil {
		return work.Page{}, err
	}
	page.Next, page.More = next, end < len(s.lights)
	return page, nil
}

// errValidation stands for a target's refusal, such as a CMS 422: a client
// error of the shared contract that is not retryable.
type errValidation struct{ field string }

func (e *errValidation) Error() string   { return "invalid " + e.field }
func (e *errValidation) Retryable() bool { return false }

// target stands for the system a sink writes to; upsert by asset id makes
// applying an item twice harmless.
type target struct {
	mu      sync.Mutex
	devices map[string]auditedLight
}

func (t *target) upsert(l auditedLight) (string, error) {
	if l.Watts <= 0 {
		return "", &errValidation{field: "watts"}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.devices[l.Asset] = l
	return "dev-" + l.Asset, nil
}

var errUnknownLamp = errors.New("unknown lamp type")

// Example_writingAWorkflow is a workflow's Source and per-item Sink. The
// engine calls them as here, page by page and batch by batch.
func Example_writingAWorkflow() {
	src := sliceSource{lights: []auditedLight{
		{Asset: "SL-1", LampType: "LED", Watts: 40},
		{Asset: "SL-2", LampType: "HPS", Watts: 150},
		{Asset: "SL-3", LampType: "LED", Watts: 0},
		{Asset: "SL-4", LampType: "neon", Watts: 60},
	}}
	cms := &target{devices: map[string]auditedLight{}}
	sink := work.PerItem(10, func(ctx context.Context, key string, l auditedLight) work.Outcome {
		if l.LampType == "neon" {
			return work.Skip(errUnknownLamp.Error())
		}
		ref, err := cms.upsert(l)
		return work.Result(ref, err)
	})

	ctx := context.Background()
	var after work.Watermark
	for {
		page, err := src.Changes(ctx, after)
		if err != nil {
			fmt.Println(err)
			return
		}
		outs, err := sink.Apply(ctx, page.Items)
		if err != nil {
			fmt.Println(err)
			return
		}
		for i, o := range outs {
			fmt.Println(page.Items[i].Key, o.Status(), o.Err())
		}
		after = page.Next
		if !page.More {
			break
		}
	}
	fmt.Println("watermark", string(after))
	// Output:
	// SL-1 succeeded <nil>
	// SL-2 succeeded <nil>
	// SL-3 dead invalid watts
	// SL-4 skipped <nil>
	// watermark {"n":4}
}
