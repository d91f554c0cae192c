// Package scenario holds the end-to-end user stories of the issues as tests: a call made
// with a real client, then everything it causes (mail, webhooks, alarms, remediation),
// observed the way a user would.
package scenario
