package web

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
)

func pathID(c *fiber.Ctx, name, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, traded.Errorf(traded.ENOTFOUND, "There is no %s %q.", what, c.Params(name))
	}
	return id, nil
}

// idempotency returns the request's Idempotency-Key ("" when none) and a
// hash of what it asks (path and body), so that a retry with the same key
// is told from a different request that reuses it.
func idempotency(c *fiber.Ctx) (key, hash string) {
	key = strings.TrimSpace(c.Get("Idempotency-Key"))
	if key == "" {
		return "", ""
	}
	sum := sha256.Sum256(append([]byte(c.Path()+"\n"), c.Body()...))
	return key, hex.EncodeToString(sum[:])
}

// isAPI reports whether the request came to the JSON API, whose answers
// are JSON, rather than to a page.
func isAPI(c *fiber.Ctx) bool { return strings.HasPrefix(c.Path(), "/api/") }

// routeAction is the action a change route names: the :action parameter
// of a page's route, else the last segment of the route (the API has a
// route per action, each with its own guard).
func routeAction(c *fiber.Ctx) string {
	if a := c.Params("action"); a != "" {
		return a
	}
	return path.Base(c.Route().Path)
}
