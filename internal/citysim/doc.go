// Package citysim starts the whole simulated city: one City and, on
// loopback ports, every system the integrations talk to (the auditor's and
// the DOT's ArcGIS feature services, the streetlight CMS, the Open311
// server and the utility's HTTPS and SFTP drops).
//
// Each system lives in its own package beside this one (arcgissim, cmssim,
// open311sim, utilitysim), over the shared core in package simcity (the
// lights, fault injection). This package only wires them together for
// `citylink dev`, `citylink sim` and the end-to-end tests; a client's own
// tests start the one system they need directly.
package citysim
