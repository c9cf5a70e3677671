// Package account is the people who sign in to Traded: users and their
// roles, passwords (bcrypt), the single-use links that sign in, set or reset
// a password, API tokens, and the web sessions the web layer keeps for them;
// and, in policy.go, the one authorisation model: who may read, change and
// pay for each kind of resource, decided from the Resource each domain says
// its things are (pages, API and the domains' own checks all ask it).
//
// It owns the tables users, link_tokens, api_tokens and web_sessions: only
// its SQL writes them. It reads the organisations school users belong to
// through organisation, which names the school (URN and name) of every
// user it returns from a copy it keeps (organisation.FindNamesByIDs), so
// no SQL of account reads organisations. Other domains take a
// *User as who is acting; inside their own transaction they may check a
// user with UserByIDTx.
//
// It may import organisation, mail (the links go by mail, queued in the
// transaction that makes them), store and the root package traded; not
// booking, billing, web or Fiber. SessionStore has the method set of
// Fiber's session storage, so web hands it to Fiber without account
// importing it.
package account
