package main

import (
	"net/url"
	"regexp"
)

// redactDSN hides the password of a Postgres connection string, in URL form
// (postgres://user:secret@host/db, also in its query's password=) or in
// key=value form (password=secret or password='se cret'), so it can be
// shown and logged. The result is for people, not for connecting.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// kvPassword matches the value of password= in a key=value DSN, quoted or not.
var kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
