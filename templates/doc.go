// Package templates holds Traded's html/template pages, embedded in the
// binary. Each page starts with {{template "top" .}} and ends with
// {{template "bottom" .}}, the shared frame in partials/; html/template's
// escaping is the only way text reaches a page.
//
// It owns no tables and imports only the standard library; web renders it.
package templates
