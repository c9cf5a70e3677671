// Command traded runs Traded, Essex County Council's traded services for
// schools, and its admin tasks. It holds configuration and wiring only.
//
//	traded serve            serve the web app and API
//	traded migrate          apply database migrations
//	traded import-schools   load organisations from a GIAS CSV
//	traded prices ...       price list tasks (roll-forward, show)
//	traded demo             load demo data
//	traded user add         add a user
//	traded token ...        API tokens (create, revoke, list)
//	traded bank-holidays .. bank holidays (list, add, remove)
//
// Every flag has an environment-variable equivalent (TRADED_ADDR for --addr,
// and so on); a flag given on the command line wins.
//
// As the composition root it may import every package; nothing imports it.
package main
