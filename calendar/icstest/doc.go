// Package icstest reads iCalendar files with two parsers Traded does not
// write with, Mozilla's ical.js and Debian's python3-icalendar (through
// tests/ics/check.mjs and check.py), for the tests of calendar and of the
// packages that fill its events. A missing parser fails the test: these
// checks are the point, never skipped.
//
// It owns nothing; it imports calendar and the standard library, and is for
// tests.
package icstest
