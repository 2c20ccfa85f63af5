// Package simcity is the core every simulated system shares: a reproducible
// city of streetlights (City, Light, Audit) generated from a seed, and the
// HTTP fault injector (Faults) that puts errors, throttling and hangs in
// front of a system.
//
// The systems (arcgissim, cmssim, open311sim, utilitysim) each see
// the same city, so an asset id an integration reads from one system is
// known to the others, as in the real city. They share nothing else: each
// takes its clock as a func() time.Time so tests can move time by hand.
package simcity
