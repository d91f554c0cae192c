package notify

import "strings"

// passwordMask replaces the password of a URL's user information wherever bannin shows an
// endpoint or a server address to someone other than its owner (List output, logs, errors,
// configuration items). AWS keeps an HTTP/S endpoint's password for GetSubscriptionAttributes
// only.
const passwordMask = "****"

// RedactURL returns s with the password of its user information replaced by "****"
// (https://user:****@host/path), so that an endpoint or a mail server address can be logged
// or shown. It works on the text, not on a parsed URL, so a malformed URL is masked too; a
// string without user information is returned as is.
func RedactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	start := i + len("://")
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	authority := s[start:end]
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(authority[:at], ':')
	if colon < 0 {
		return s
	}
	return s[:start] + authority[:colon+1] + passwordMask + s[start+at:]
}
