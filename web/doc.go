// Package web is Traded's HTTP layer: the Fiber app, its routes and
// handlers, pages and the JSON API, and the mapping of errors to statuses.
// It is the only package that knows about Fiber.
//
// It owns the table web_secrets (the CSRF key). It receives the services
// app built and constructs none; it reads and writes the domains only
// through their methods, and decides who may see what only through the
// policies in account/policy.go (see authz.go). It may import every
// package but cmd; nothing imports it but cmd/traded and cmd/traded-bench.
package web
