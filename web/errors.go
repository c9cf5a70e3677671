package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"traded"
)

// statusOf maps an error code to its HTTP status: the one place that does.
func statusOf(code string) int {
	switch code {
	case traded.EINVALID:
		return http.StatusUnprocessableEntity
	case traded.EMALFORMED:
		return http.StatusBadRequest
	case traded.ENOTFOUND:
		return http.StatusNotFound
	case traded.ECONFLICT:
		return http.StatusConflict
	case traded.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case traded.EFORBIDDEN:
		return http.StatusForbidden
	case traded.ETOOMANY:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// fromFiber turns Fiber's own errors (unknown route, wrong method, body too
// large, bad request line) into ours.
func fromFiber(err error) error {
	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return err
	}
	switch fe.Code {
	case http.StatusNotFound:
		return traded.Errorf(traded.ENOTFOUND, "Page not found. If you typed the web address, check it is correct.")
	case http.StatusMethodNotAllowed:
		return &traded.Error{Code: traded.EMALFORMED, Message: "That method is not allowed here."}
	case http.StatusRequestEntityTooLarge:
		return traded.Errorf(traded.EMALFORMED, "The request is too large.")
	case http.StatusTooManyRequests:
		return traded.Errorf(traded.ETOOMANY, "Too many requests. Wait a few minutes and try again.")
	case http.StatusForbidden:
		return traded.Errorf(traded.EFORBIDDEN, "%s", fe.Message)
	case http.StatusUnauthorized:
		return traded.Errorf(traded.EUNAUTHORIZED, "%s", fe.Message)
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return traded.Errorf(traded.EMALFORMED, "The request could not be understood.")
	}
	return err
}

// errorTitles are the page headings for each code.
var errorTitles = map[string]string{
	traded.EINVALID:      "There is a problem with what you entered",
	traded.EMALFORMED:    "There is a problem with the request",
	traded.ENOTFOUND:     "Page not found",
	traded.ECONFLICT:     "That cannot be done now",
	traded.EUNAUTHORIZED: "You need to sign in",
	traded.EFORBIDDEN:    "You cannot see this page",
	traded.ETOOMANY:      "Too many attempts",
	traded.EINTERNAL:     "Sorry, there is a problem with the service",
}

// handleError is Fiber's ErrorHandler: it answers every error a handler
// returns, as JSON under /api/ (or when the client asks for JSON) and as a
// page otherwise, and logs only internal errors. No internal text reaches a
// user.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	err = fromFiber(err)
	code := traded.ErrorCode(err)
	status := statusOf(code)
	if code == traded.EINTERNAL {
		s.log.Error("internal error", "method", c.Method(), "path", logPath(c.Path()), "request_id", requestID(c), "err", err)
	}
	if status == http.StatusTooManyRequests {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
	if wantsJSON(c) {
		body := fiber.Map{"code": code, "message": traded.ErrorMessage(err)}
		if f := traded.ErrorField(err); f != "" {
			body["field"] = f
		}
		return c.Status(status).JSON(fiber.Map{"error": body})
	}
	c.Status(status)
	page := s.page(c, errorTitles[code])
	page.Message = traded.ErrorMessage(err)
	if rerr := s.render(c, "error", page); rerr != nil {
		s.log.Error("render error page", "err", rerr)
		return c.Status(status).SendString(traded.ErrorMessage(err))
	}
	return nil
}

// wantsJSON reports whether the client should get JSON: API paths always,
// elsewhere when JSON is preferred to HTML.
func wantsJSON(c *fiber.Ctx) bool {
	if strings.HasPrefix(c.Path(), "/api/") {
		return true
	}
	return c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON
}

// secretPaths are the paths whose last segment is a secret: emailed sign-in,
// reset and set-password links and calendar feed tokens. The database keeps
// only their hashes; logPath keeps them out of the log.
var secretPaths = []string{"/sign-in/link/", "/reset-password/", "/set-password/", "/calendar/"}

// logPath is path as the log may keep it: the secret in a link or feed
// address replaced by "REDACTED", so that whoever reads the logs cannot
// sign in, reset a password or read a school's calendar with it. Any path
// under those prefixes is redacted, routed or not (a mistyped link is
// still somebody's secret, nearly).
func logPath(path string) string {
	for _, p := range secretPaths {
		if rest, ok := strings.CutPrefix(path, p); ok && rest != "" {
			return p + "REDACTED"
		}
	}
	return path
}

// logRequests logs one line per request (paths through logPath).
func (s *Server) logRequests(c *fiber.Ctx) error {
	start := s.now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(http.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if s.cfg.QuietAccessLog && status < 500 {
		return nil
	}
	s.log.Log(c.UserContext(), level, "request", "method", c.Method(), "path", logPath(c.Path()), "status", status,
		"duration_ms", s.now().Sub(start).Milliseconds(), "request_id", requestID(c))
	return nil
}
