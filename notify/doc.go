// Package notify tells people about their bookings: confirmations, requests
// for approval, waiting-list offers, cancellations, swaps and rescheduled
// sessions; and about consultancy: quotes and visits. It implements
// booking.Notifier and consultancy.Notifier, queueing mail in the outbox in
// the same transaction as the change, so a message goes if and only if the
// change happened.
//
// It is a package of its own because it joins booking (what changed) and
// mail (how people hear of it), and later calendar invites, none of which
// should know about the others.
//
// It owns no tables: it asks account for the people to tell and
// organisation for a school's address, in the change's transaction, and
// writes only to the outbox, through mail. It may import the domains it
// tells about (booking, consultancy, and the lower ones: account and
// organisation for whom to tell, catalogue for types), calendar, mail,
// store and traded; never billing, app, web or Fiber.
package notify
