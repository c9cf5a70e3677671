// Package demo loads the demonstration data that `traded serve --demo` and
// `make run` show: a current price list rolled forward from the published
// 2021/22 tariff, term dates, each year's PSA sessions and moderation events,
// and a handful of schools of each tier. It is a package of its own because
// it reaches across booking, billing and accounts; nothing else imports it.
//
// Every step is idempotent: loading twice changes nothing.
//
// It owns no tables: it writes only through the domains' methods. It may
// import the domain packages and billing; never app, web or Fiber.
package demo
