// Package arcgisimport is the arcgis-import workflow: every 8 hours, the
// streetlights of the third-party audit layer that were audited and approved
// since the last run become devices in the streetlight CMS, created or
// updated by asset id.
//
// The Source pages the audit layer by (edit date, object id), or asks
// extractChanges for what changed since the kept server generation where the
// service tracks changes, and maps each approved feature into a Light with
// the Mapping (field names and lamp types: configuration with documented
// defaults, see DefaultMapping). A feature that cannot be a device (no asset
// id, no geometry, a lamp type the mapping does not know) is still planned,
// as an item the Sink skips with the reason, so operators see every audit
// the run read. The Sink writes a batch with one CMS bulk upsert by asset id,
// which is idempotent: the CMS never holds two devices for one light however
// often a batch is applied.
package arcgisimport
