// Package cmssim simulates the streetlight central management system's
// REST API: devices (listed with cursors, created, patched, bulk upserted
// by external id) and the alarms their controllers raise and clear, with
// an API key, problem+json errors, and replies that can be lost after a
// write was applied.
//
// Advance moves the CMS on to a new time: alarms are raised and cleared
// and devices change the way a real fleet does, deterministically for a
// seed.
package cmssim
