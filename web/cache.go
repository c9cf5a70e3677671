package web

import (
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// publicCache keeps the rendered bodies of public pages as visitors who
// are not signed in see them, each under the store version of the tables
// it was read from (store.DB.Version): a booking changes the places left,
// so the next visitor gets a fresh page, and until then every visitor gets
// the same bytes without a query or a template run. Pages for signed-in
// users carry their name and forms, and are never cached.
//
// Quotes are kept the same way (handleQuoteCreate): the answer to the same
// request is the same until the tariff, a tier or a subscription changes.
type publicCache struct {
	mu      sync.Mutex
	entries map[string]publicEntry
	size    int // bytes of the bodies held
}

type publicEntry struct {
	version uint64
	ctype   string
	body    []byte
}

// maxPublicBytes bounds the cache: keys include what the visitor asks for
// (any year, any quote), so when the bodies held pass this it starts again.
const maxPublicBytes = 8 << 20

// get returns the body kept under key if it was kept at version.
func (pc *publicCache) get(key string, version uint64) (publicEntry, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.entries[key]
	return e, ok && e.version == version
}

// put keeps a copy of body under key at version.
func (pc *publicCache) put(key string, version uint64, ctype string, body []byte) {
	e := publicEntry{version: version, ctype: ctype, body: append([]byte(nil), body...)}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.entries == nil || pc.size+len(e.body) > maxPublicBytes {
		pc.entries, pc.size = map[string]publicEntry{}, 0
	}
	if old, ok := pc.entries[key]; ok {
		pc.size -= len(old.body)
	}
	pc.entries[key] = e
	pc.size += len(e.body)
}

// public answers a GET for a page that is the same for every visitor who is
// not signed in: from the cache while the tables it is read from are
// unchanged, or by render, whose answer is then kept. It sends an ETag and
// answers a matching If-None-Match with 304 Not Modified. Signed-in users
// (anyone with a session cookie) get render's answer, marked no-store.
func (s *Server) public(c *fiber.Ctx, key string, tables []string, render func() error) error {
	c.Vary(fiber.HeaderCookie)
	if currentUser(c) != nil || c.Cookies(cookieName) != "" {
		c.Set(fiber.HeaderCacheControl, "no-store") // private (securityHeaders)
		return render()
	}
	version := s.db.Version(c.UserContext(), tables...)
	h := fnv.New64a()
	h.Write([]byte(key))
	etag := fmt.Sprintf(`W/"%s-%x-%x"`, s.epoch, h.Sum64(), version)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "public, max-age=30")
	if matchETag(c.Get(fiber.HeaderIfNoneMatch), etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if e, ok := s.cache.get(key, version); ok {
		c.Set(fiber.HeaderContentType, e.ctype)
		return c.Send(e.body)
	}
	if err := render(); err != nil {
		return err
	}
	if c.Response().StatusCode() == fiber.StatusOK {
		s.cache.put(key, version, string(c.Response().Header.ContentType()), c.Response().Body())
	}
	return nil
}

// matchETag reports whether an If-None-Match header names etag (weakly, as
// RFC 9110 has GET compare). Not Fiber's Ctx.Fresh: it also calls a request
// fresh when it carries only If-Modified-Since, and these pages have no
// Last-Modified to compare that with.
func matchETag(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}
