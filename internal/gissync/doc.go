// Package gissync keeps the DOT GIS pole layer and the streetlight CMS in
// step, in both directions, without echoes: the gis-push workflow (hourly)
// upserts the lights the CMS changed into the DOT layer with applyEdits, and
// gis-pull (hourly) brings the features the DOT edited into the CMS.
//
// # What is synced
//
// Eight shared fields (Field*): pole id, ownership, lamp type, wattage,
// controller id, in-service date, circuit and address. Ownership (which is
// configuration; DefaultOwnership is the city's agreement) says whose edits
// count: the CMS owns the lamp and controller data, the DOT the pole and its
// ownership, and the circuit and address are nobody's, edited on both sides.
// New assets are added to the DOT layer with the CMS position; positions are
// not synced after that, nor the DOT's own STATUS and STREET.
//
// # No ping-pong
//
// gis_sync (migration 0006) keeps per asset the DOT object id (looked up
// once by asset id, then read by object id), the CMS device id, a content
// hash of the record last read from or written to each side, and base: per
// field the value both sides last agreed on. A record whose hash matches
// the stored one is unchanged, or is the other direction's own write, and is
// skipped without reading the other side. Otherwise the two records and the
// base are compared field by field (decide):
//
//   - equal values agree;
//   - a field the target owns is not written; a source edit to it since
//     the base is reported (not_owned) and not propagated;
//   - a field the source owns is written;
//   - a nobody's field is written when only the source changed it.
//
// # Conflicts
//
// When both sides changed a nobody's field since the base, the later edit
// wins: the CMS device's updatedAt against the DOT feature's EditDate, a tie
// going to the CMS. The direction whose source holds the winner writes it and
// records the conflict in gis_sync_reports with both values and the base;
// the other direction leaves the field and the base alone, so the winner's
// direction still sees the conflict when it runs. Base values move only for
// fields both sides hold equally afterwards.
//
// # Writing
//
// gis-push sends one applyEdits per batch with rollbackOnFailure false: adds
// for assets the layer does not have, updates of only the changed fields for
// the rest; each feature's result is its item's outcome, so one refused
// feature fails alone. An add whose answer was lost is found by its asset id
// on the retry and never added twice. gis-pull patches each CMS device under
// If-Match, so a device changed in between is read again.
//
// # Reading the DOT layer
//
// Where the DOT service advertises change tracking (the ChangeTracking
// capability, with server generations), gis-pull asks extractChanges for
// what was added, updated and deleted after the server generation it
// stored: one call per run, which also sees an edit whose edit date a
// client set in the past. Otherwise (or with Config.NoChangeTracking) it
// reads by (edit date, object id) after the stored key, and at the end of
// each read lists the layer's object ids to find the features the sync
// state knows that are gone. The first run reads the whole layer by keyset,
// taking the server generation before it starts.
//
// A feature deleted in the DOT layer is reported (kind deleted in
// gis_sync_reports, once), not propagated: the CMS device stays, for an
// operator to retire, and gis-push does not add the feature back while the
// light's state remembers the deletion. A feature with the asset id that
// appears again clears it.
//
// # Previews
//
// PreviewPush and PreviewPull print what a run would do with the items its
// source plans (per asset, the feature to add or the fields to update, the
// CMS patch, and the edits that would be reported instead) from the same
// decision the sinks take, and write nothing: the sync state is read in a
// read-only transaction and the other systems with reads only. The sources
// write nothing either, so they need no read-only switch.
//
// Operators see what was not propagated, and every conflict, with
//
//	SELECT * FROM gis_sync_reports WHERE asset_id = 'SL-0001234' ORDER BY id;
package gissync
