// Package telemetry ingests streetlight sensor readings: it decodes and
// validates Kinesis records, stores readings in DynamoDB and serves a
// sensor's history over API Gateway. It is what the store and query Lambdas
// link, so it holds nothing else: the S3 archive is package archive, and
// the device-side producer, the local Kinesis poller, the submit endpoint
// and table creation, which only `citylink dev` and tests need, are package
// telemetrydev.
//
// # Keys
//
// A streetlight node reports several metrics at one instant (power,
// voltage, current, light level, temperature), so a reading's identity is
// (sensor, millisecond, metric): see Key. The table's partition key is
// sensor_id and its sort key sk is "<13-digit epoch ms>#<metric>":
//
//   - The time comes first, so a sensor's history in a time range, every
//     metric together, is one Query with sk BETWEEN "<from>" AND "<to>$"
//     (the question the API and the test page ask most), newest or oldest
//     first, and a page boundary may fall between two metrics of one
//     instant without losing either.
//   - The metric is part of the key, so a reading of one metric never
//     overwrites another's: that was the first key's fault, (sensor_id,
//     ts), under which 999 lx at 03:05:00 replaced 42.7 W at that
//     millisecond.
//   - The API's metric filter is a FilterExpression over that range, not an
//     index. An index by metric (a local secondary index on
//     "<metric>#<ms>") would double every write, and writes are the
//     table's load: 270,000 sensors reporting five metrics a minute are
//     22,500 writes a second, against occasional reads. A filtered page
//     reads what it skips (at most four DynamoDB pages before it answers
//     with what it found and a cursor), which a sensor's handful of
//     metrics makes cheap.
//
// The same reading sent twice has the same key, and the second write
// replaces the first with identical attributes: storing is idempotent, and
// a resent reading with a corrected value wins, last write first.
//
// # Migrating a table with the old key
//
// DynamoDB cannot change a table's key schema, and CloudFormation replaces
// a table whose keys change, deleting the old one with its data. So the new
// key comes as a new table, and the old one is retired, not altered:
//
//  1. Declare the new table under a new logical id and name (for example
//     SensorDataV2) beside the old one, and point the store Lambda's
//     SENSOR_TABLE at it. A store left on the old table fails every write
//     (the items lack its key) and says so: StoreHandler fails a batch the
//     table refuses entirely rather than dropping it, so nothing is lost
//     while the two are out of step.
//  2. Point the query Lambda at the new table.
//  3. Backfill the retention window from the S3 archive, not from the old
//     table: the archive holds every reading as received, including the
//     metrics the old key overwrote, with its sequence number. Replaying
//     its readings objects through Store.Put is idempotent, so a backfill
//     may be rerun or overlap the live stream.
//  4. Delete the old table once the backfill has covered the retention
//     (the old items would have expired by then anyway).
//
// Until step 3 ends, queries for times before the switch answer from the
// new table only; an operator who needs them meanwhile reads the archive.
//
// # Retention
//
// The table keeps a reading for the retention after it was taken (its TTL,
// DefaultRetention, 90 days; READING_TTL in the Lambdas). A reading already
// older than that would be written with an expires_at in the past, and
// DynamoDB's TTL would delete it after the store had reported it kept. So
// such a reading is refused everywhere, with the reason
// older_than_retention: Decoder refuses it (one decoder serves the store
// Lambda, the archive Lambda and the dev submit endpoint, which answers
// with the reason), and Store refuses it again should a decoder with a
// longer retention let it through (PutResult.Expired, the metric
// RecordsExpired). It is not lost: the archive Lambda, refusing it too,
// keeps the raw record under the quarantine prefix with that reason.
package telemetry
