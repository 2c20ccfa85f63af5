// Package billingexport is the billing-export workflow: every 24 hours, the
// streetlights provisioned, changed or removed in the CMS since the last
// run become one inventory change file for the energy utility, delivered
// over SFTP or HTTPS.
//
// # How a per-run file fits batches delivered at least once
//
// The engine's unit of work is an item in a batch, applied at least once;
// the utility's unit is one file per run. The two meet in Postgres:
//
//   - Plan. The Source reads the CMS device listing page by page after the
//     stored cursor (an exact resume point, kept as the watermark) and plans
//     one item per device, carrying the device as the CMS showed it.
//   - Work. The Sink turns each device into the file row it calls for and
//     records it in billing_rows under (run, asset id). What kind of row
//     (ADD, CHANGE, REMOVE, or none) follows from the asset's last row in an
//     earlier run, which is what the utility already bills; the rows of the
//     item's own run are never consulted, so applying a batch again (a
//     duplicate link, a worker lost after its insert) computes the same rows,
//     and ON CONFLICT DO NOTHING keeps the first. An item's target reference
//     is the name of the file its row goes into.
//   - Deliver. Once the run is closed (every item has its outcome), Deliver
//     renders the run's rows in asset id order with the utility package and
//     sends them under a name made from the run (the run's day and id). The
//     file is a function of the run alone: sending it again delivers the same
//     name and bytes, which both drops treat as the same file (SFTP renames
//     over it, the HTTPS PUT is idempotent by name), so a lost answer never
//     makes a second file. Two invocations that finish at once do not both
//     send it: a run's delivery holds the run's advisory lock in the
//     transaction that records it, and an invocation that finds the lock
//     taken leaves the run to the holder. A delivered file is recorded in billing_files;
//     until it is, every invocation of the workflow (each link, each tick,
//     the rescue tick) tries the closed runs still owed a file, so a worker
//     that dies between closing the run and delivering delays the file by
//     minutes, not a day.
//
// A run that records no row (nothing billable changed) sends no file. The
// file holds every row its run recorded: an item whose batch the rescuer
// abandoned after the row went in (its workers kept dying) ends failed, yet
// its row is in the file, and when it is carried into the next run it finds
// that row and is skipped as "no billing change": billed once either way.
// Mappings (accounts per rate schedule, the dimming profile of lights with a
// controller, the sender's name in file names) are configuration with
// documented defaults: see DefaultMapping.
package billingexport
