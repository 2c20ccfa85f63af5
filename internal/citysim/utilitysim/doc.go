// Package utilitysim simulates the electric utility's drop box for the
// city's streetlight inventory files, over SFTP (key authentication) and
// HTTPS (bearer token), both feeding one Inbox.
//
// The Inbox checks each file the way the utility's import does, so a test
// sees a malformed file rejected with the reason the utility would give.
package utilitysim
