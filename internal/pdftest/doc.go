// Package pdftest reads PDFs back with poppler for tests, so that what a
// document says is checked by a reader Traded did not write.
//
// It owns nothing and imports only the standard library; it is for tests.
package pdftest
