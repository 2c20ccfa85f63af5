package gissync

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/citylink/citylink/internal/work"
)

// previewBatch is how many items a preview decides at once: the engine's
// batch size, so the DOT lookups are the size the sink's are.
const previewBatch = 100

// PreviewPush writes what gis-push would do with items (as PushSource plans
// them), and writes nothing anywhere: per asset, the feature it would add to
// the DOT layer with every shared field and its location, or the fields it
// would update with the layer's value and the CMS's, and the edits it would
// report (a CMS edit to a field the DOT owns, a conflict). It reads the sync
// state in a read-only transaction (Postgres refuses any write there) and
// the DOT layer with queries only.
func PreviewPush(ctx context.Context, cfg Config, items []work.Item, w io.Writer) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	s := &PushSink{cfg: cfg, log: cfg.Logger}
	var adds, updates, unchanged, same, reports, deleted, bad int
	err = readOnly(ctx, cfg, func(tx pgx.Tx) error {
		for chunk := range chunks(items) {
			pl, matchErr, err := s.plan(ctx, tx, chunk)
			if err != nil {
				return err
			}
			if matchErr != nil {
				return matchErr
			}
			for i, o := range pl.outs {
				if o.Status() == work.Dead {
					bad++
					fmt.Fprintf(w, "  bad     %s: %v\n", chunk[i].Key, o.Err())
				}
			}
			for _, p := range pl.adds {
				adds++
				var set []string
				for _, f := range fields {
					if v := p.rec[f]; v != "" {
						set = append(set, f+"="+v)
					}
				}
				loc := "no location"
				if l := p.dev.Location; l.Latitude != 0 || l.Longitude != 0 {
					loc = fmt.Sprintf("point %.6f,%.6f", l.Longitude, l.Latitude)
				}
				fmt.Fprintf(w, "  add     %s: %s; %s\n", p.dev.ExternalID, strings.Join(set, ", "), loc)
			}
			for _, p := range pl.updates {
				updates++
				oid, _ := p.feat.ObjectID(dotObjectID)
				fmt.Fprintf(w, "  update  %s (object id %d): %s\n", p.dev.ExternalID, oid, fieldChanges(p.dotRec, p.write))
			}
			for _, p := range pl.changed {
				reports += writeReports(w, p.dev.ExternalID, p.reports)
			}
			unchanged += pl.unchanged
			same += pl.same
			deleted += pl.deleted
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %d to add, %d to update, %d unchanged since the last sync, %d already in the DOT layer, %d edits to report, %d deleted in the DOT layer (not added back), %d not devices\n",
		adds, updates, unchanged, same, reports, deleted, bad)
	return nil
}

// PreviewPull writes what gis-pull would do with items (as PullSource plans
// them), and writes nothing anywhere: per asset, the CMS patch it would make
// with the device's value and the DOT's for each field, the edits it would
// report instead of propagating (a DOT edit to a field the CMS owns, a
// conflict), features deleted in the layer, and features whose asset the CMS does
// not have. It reads the sync state in a read-only transaction and the CMS
// with GETs only.
func PreviewPull(ctx context.Context, cfg Config, items []work.Item, w io.Writer) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	s := &PullSink{cfg: cfg, log: cfg.Logger}
	var patches, unchanged, same, missing, reports, deleted, bad int
	err = readOnly(ctx, cfg, func(tx pgx.Tx) error {
		for chunk := range chunks(items) {
			assets := make([]string, len(chunk))
			for i, it := range chunk {
				assets[i] = it.Key
			}
			states, err := loadStates(ctx, tx, assets)
			if err != nil {
				return err
			}
			for _, it := range chunk {
				p, err := work.Decode[pulled](it)
				if err == nil && p.OID == 0 {
					err = fmt.Errorf("gissync: payload of %s is not a DOT feature: %s", it.Key, it.Payload)
				}
				if err != nil {
					bad++
					fmt.Fprintf(w, "  bad     %s: %v\n", it.Key, err)
					continue
				}
				if p.Deleted {
					deleted++
					fmt.Fprintf(w, "  deleted %s (object id %d): %s\n", it.Key, p.OID, deletedResolution)
					continue
				}
				step := s.decideOne(ctx, it.Key, p, states[it.Key])
				if step.err != nil {
					return fmt.Errorf("reading the CMS device of %s: %w", it.Key, step.err)
				}
				reports += writeReports(w, it.Key, step.d.reports)
				switch {
				case step.out.Status() == "":
					patches++
					fmt.Fprintf(w, "  patch   %s (device %s): %s\n", it.Key, step.dev.ID, fieldChanges(step.cmsRec, step.d.write))
				case step.sv == nil:
					unchanged++
				case step.sv.DeviceID == "":
					missing++
					fmt.Fprintf(w, "  skip    %s (object id %d): no device for the asset in the CMS\n", it.Key, p.OID)
				default:
					same++
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %d CMS patches, %d unchanged since the last sync, %d already in the CMS, %d edits to report, %d deleted in the DOT layer, %d not in the CMS, %d not features\n",
		patches, unchanged, same, reports, deleted, missing, bad)
	return nil
}

// readOnly runs fn in a read-only transaction.
func readOnly(ctx context.Context, cfg Config, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, cfg.DB, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// chunks cuts items into previewBatch-sized pieces.
func chunks(items []work.Item) func(func([]work.Item) bool) {
	return func(yield func([]work.Item) bool) {
		for len(items) > 0 {
			n := min(previewBatch, len(items))
			if !yield(items[:n]) {
				return
			}
			items = items[n:]
		}
	}
}

// fieldChanges lists the fields write sets, in the shared order, as
// `field: "old" → "new"`.
func fieldChanges(have record, write map[string]string) string {
	var out []string
	for _, f := range fields {
		if v, ok := write[f]; ok {
			out = append(out, fmt.Sprintf("%s: %q → %q", f, have[f], v))
		}
	}
	return strings.Join(out, ", ")
}

// writeReports writes the edits a direction would report, and counts them.
func writeReports(w io.Writer, asset string, rs []report) int {
	for _, r := range rs {
		fmt.Fprintf(w, "  report  %s %s %s: cms %q, dot %q, agreed %q: %s\n", asset, r.Kind, r.Field, r.CMS, r.DOT, r.Base, r.Resolution)
	}
	return len(rs)
}
