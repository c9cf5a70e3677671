package web

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientIPHeader is where clientAddress leaves the address it worked out,
// for Fiber's c.IP() to return (Config.ProxyHeader): every limit, audit
// entry and log line that calls c.IP() then sees it. Any value a client or
// proxy sent under this name is removed first.
const clientIPHeader = "X-Traded-Client-Ip"

// proxies is the parsed Config.TrustedProxies: addresses and CIDR ranges.
type proxies []netip.Prefix

func parseProxies(list []string) (proxies, error) {
	var ps proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

func (ps proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress works out who is asking when Traded sits behind proxies it
// trusts. Each proxy appends the address it was reached from to
// X-Forwarded-For, so only the right-hand end of the chain is trustworthy:
// walking it from the right, past the trusted proxies, the first address
// that is not one is the client. Anything to its left was written by the
// client and may be forged (the first hop is whatever the client typed).
// An entry that is not an address ends the walk at the proxy that passed
// it on. A request that does not come from a trusted proxy is taken at its
// connection's address, whatever headers it carries.
func (s *Server) clientAddress(c *fiber.Ctx) error {
	h := &c.Request().Header
	h.Del(clientIPHeader)
	if len(s.proxies) == 0 {
		return c.Next()
	}
	remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok || !s.proxies.trusted(remote) {
		return c.Next()
	}
	var hops []string
	for _, v := range h.PeekAll(fiber.HeaderXForwardedFor) {
		hops = append(hops, strings.Split(string(v), ",")...)
	}
	client := remote.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !s.proxies.trusted(a) {
			break
		}
	}
	h.Set(clientIPHeader, client.String())
	return c.Next()
}

// parseHop reads one X-Forwarded-For entry: an address, perhaps with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
