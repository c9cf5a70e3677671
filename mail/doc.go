// Package mail is Traded's outgoing mail: messages are written to the outbox
// table inside the transaction of the change that causes them (Enqueue), and
// a Worker sends them after commit through a Sender: SMTP in production, the
// log in demo mode, a test server in tests. A crash or an SMTP outage loses
// nothing: what is queued stays queued until it is sent.
//
// It is a package of its own because booking, billing and the web layer all
// send mail, and none of them should know how.
//
// It owns the table outbox. It may import store and the root package
// traded; nothing of the domain (the renderers of attachments are
// registered with the Worker, typed and checked, by cmd/traded from app).
package mail
