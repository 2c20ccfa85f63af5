// Package arcgissim simulates ArcGIS Enterprise feature services over
// HTTP: layers with schemas and indexes, the query operation with where
// clauses in ArcGIS's SQL subset and object id paging, applyEdits,
// extractChanges, and token security.
//
// NewServers builds the two services the integrations meet: the
// third-party auditor's audit layer (kept changing by an AuditFeed) and
// the DOT's pole layer (kept changing by a DOTCrew), both generated from
// the same simcity.City.
package arcgissim
