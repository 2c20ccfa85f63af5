// Package alarm311 is the alarm-311 workflow: alarms the streetlight CMS
// raises become Open311 GeoReport v2 service requests, exactly one per
// (asset, alarm type) while a request for it is open.
//
// # Episodes
//
// An episode is the span in which one request stands for an (asset, alarm
// type): it starts with the first alarm of that type on the asset that the
// 311 service list takes (DefaultServices maps alarm types to service codes)
// and ends when the city closes the request. Later alarms of the same type
// while the request is open are recorded against it, not filed again; a
// cleared alarm is recorded with its clear time; a new alarm after the close
// starts a new episode and a new request. An alarm that clears before a
// request was filed for it is recorded and not filed.
//
// # Filing exactly once
//
// A POST requests is not idempotent. Before any POST the episode is
// committed in state filing with a marker ("citylink alarm-311 episode N"),
// which the request carries in its description (GET does not return
// attributes). After a POST whose answer was lost (open311.ErrMaybeCreated),
// the sink searches the service's requests since the episode began for the
// marker and adopts what it finds; it posts again only when the search
// comes back empty. For a batch service, whose requests show in GET only
// once the server has given them an id, that search waits TokenGrace after
// the last POST. Work on one (asset, alarm type) is serialised by a Postgres
// advisory lock, and the partial unique index on alarm_episodes allows one
// live episode per (asset, alarm type), so neither duplicated chain links nor
// a worker lost mid-batch can file twice.
//
// Some 311 servers keep one open request per problem and turn a second
// down (400 "duplicate request: service request 1234 is already open"),
// typically because a resident reported the lamp first. The sink looks up
// the ids and tokens the answer names and, when the server confirms an open
// request of the episode's service code, the episode tracks that request as
// its own: it is polled, and its close ends the episode. A server that
// answers a duplicate with the open request's id (a service_notice saying
// so) is adopted the same way, through the ordinary answer. Only a refusal
// that names no such request leaves the episode refused.
//
// # Runs
//
// Each run (every 8 hours) plans the CMS alarms written since the stored
// cursor, then one item per live episode, which polls its request: a batch
// service's token is resolved to a request id (in this run or a later one),
// a closed request closes its episode, and a filing left unfinished is
// finished. Item keys start with the asset id ("SL-0001234:lampFailure:…"),
// so work.AssetHistory and the console show what happened to a light.
//
// # Previews
//
// Preview prints what a run would do with the items its source plans (the
// requests it would open, with service code, asset, location and
// description; the alarms it would record; the episodes it would close or
// poll) and writes nothing: it reads the episode tables in a read-only
// transaction and the outside systems with GETs only. Config.ReadOnly gives
// the source the same read-only transaction and makes NewSink refuse the
// configuration, so a dry run's wiring cannot write by mistake.
//
// # Which request is open for pole X
//
// Every episode and request id is in Postgres. OpenRequestsSQL answers
// "which 311 request is open for pole X, since when, and why" in one query,
// by asset id or pole id:
//
//	SELECT request_id, token, service_code, alarm_type, opened_at, filed_at, reason, status_notes
//	FROM alarm_episodes
//	WHERE (asset_id = $1 OR pole_id = $1) AND state IN ('filing', 'open')
//	ORDER BY opened_at
//
// and the alarms behind a request are
//
//	SELECT a.* FROM alarm_events a JOIN alarm_episodes e ON e.id = a.episode_id
//	WHERE e.request_id = $1 ORDER BY a.raised_at
package alarm311

// OpenRequestsSQL is the operator's query from the package doc: the open
// (or still filing) 311 requests of a light, by asset id or pole id.
const OpenRequestsSQL = `
SELECT request_id, token, service_code, alarm_type, opened_at, filed_at, reason, status_notes
FROM alarm_episodes
WHERE (asset_id = $1 OR pole_id = $1) AND state IN ('filing', 'open')
ORDER BY opened_at`
