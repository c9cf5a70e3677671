// Package app builds Traded's services and connects them: the one place
// where construction happens. cmd/traded calls New with the store it
// opened, registers Renderers with its mail worker and runs Jobs; web
// receives the built App and constructs nothing.
// Tests build theirs through New too, so they run what production runs, or
// through Domains to drive the domains alone.
//
// The services are connected through the interfaces the consuming package
// declares: booking.Charger (billing charges for bookings),
// booking.Notifier (notify writes booking mail) and consultancy.Notifier
// (notify writes quote and visit mail).
//
// It owns no tables and holds no logic of its own: it may import every
// domain package (organisation, account, catalogue, booking, consultancy,
// billing), notify, mail, jobs and store; never web or Fiber.
package app
