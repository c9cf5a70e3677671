package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/gofiber/template/html/v2"

	"traded/account"
	"traded/app"
	"traded/billing"
	"traded/booking"
	"traded/catalogue"
	"traded/consultancy"
	"traded/jobs"
	"traded/notify"
	"traded/organisation"
	"traded/store"
	"traded/templates"
)

// Config is what the web layer needs to know of its deployment.
type Config struct {
	// Dev is local development: cookies are not marked Secure.
	Dev bool
	// BaseURL is the public address, for links in mail and calendars.
	BaseURL string
	// QuietAccessLog logs only failed requests (for load tests).
	QuietAccessLog bool
	// TrustedProxies are the addresses of reverse proxies in front of Traded:
	// requests from them are taken to come from the X-Forwarded-For client,
	// so rate limits and the audit log see the real address.
	TrustedProxies []string
	// SignInLimitPerAddress and SignInLimitPerAccount are how many failed
	// sign-ins an address or an account may make in 15 minutes (0: 20 and 5).
	SignInLimitPerAddress int
	SignInLimitPerAccount int
	// LinkLimitPerAddress is how many emailed links an address may ask for
	// in 15 minutes (0: 10).
	LinkLimitPerAddress int
	// Limits override the limits on mail-sending and secret-checking
	// actions (limits.go); zero fields keep the defaults.
	Limits LimitsConfig
	// Mail wakes the mail worker after a change has queued mail (optional).
	Mail interface{ Wake() }
	// StripeWebhookSecret verifies Stripe's webhook calls.
	StripeWebhookSecret string
	// Jobs is the background jobs runner whose status admins see at
	// /admin/jobs (nil: the page lists none).
	Jobs *jobs.Runner
}

// Server is the Traded web application.
type Server struct {
	cfg         Config
	app         *fiber.App
	log         *slog.Logger
	db          *store.DB
	orgs        *organisation.Service
	accounts    *account.Service
	catalogue   *catalogue.Service
	booking     *booking.Service
	consultancy *consultancy.Service
	billing     *billing.Service
	notifier    *notify.Notifier
	sessions    *session.Store
	cache       publicCache
	proxies     proxies // Config.TrustedProxies, parsed
	csrfKey     []byte  // see csrf.go
	// epoch is drawn at random when the server starts and goes in every
	// ETag: the table versions an ETag is made of start again at each
	// restart, so without it a browser's old ETag could match a new page.
	epoch string
}

// New builds the web layer over services built by app.New (which web does
// not construct or connect) and parses every template, failing fast on a
// bad one.
func New(cfg Config, a *app.App, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: log, db: a.DB, orgs: a.Organisations, accounts: a.Accounts, catalogue: a.Catalogue, booking: a.Booking, consultancy: a.Consultancy, billing: a.Billing, notifier: a.Notifier,
		epoch: strings.ToLower(rand.Text()[:10])}
	db := a.DB
	s.sessions = s.newSessions()
	key, err := loadCSRFKey(context.Background(), db)
	if err != nil {
		return nil, err
	}
	s.csrfKey = key
	views := html.NewFileSystem(http.FS(templates.FS), ".html")
	views.AddFuncMap(templateFuncs())
	if err := views.Load(); err != nil {
		return nil, err
	}
	fcfg := fiber.Config{
		AppName:               "Traded",
		Views:                 views,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		BodyLimit:             8 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
	}
	if len(cfg.TrustedProxies) > 0 {
		ps, err := parseProxies(cfg.TrustedProxies)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		s.proxies = ps
		// c.IP() answers with what clientAddress worked out from
		// X-Forwarded-For, for requests from these proxies only.
		fcfg.EnableTrustedProxyCheck = true
		fcfg.TrustedProxies = cfg.TrustedProxies
		fcfg.ProxyHeader = clientIPHeader
		fcfg.EnableIPValidation = true
	}
	s.app = fiber.New(fcfg)
	s.routes()
	return s, nil
}

// App returns the Fiber app, for tests that drive it with app.Test.
func (s *Server) App() *fiber.App { return s.app }

func (s *Server) now() time.Time { return s.db.Clock.Now() }

func (s *Server) routes() {
	app := s.app
	app.Use(s.clientAddress)
	app.Use(requestid.New())
	app.Use(s.logRequests)
	app.Use(recover.New())
	app.Use(s.securityHeaders)

	static, _ := fs.Sub(staticFS, "static")
	app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 3600}))
	app.Get("/healthz", s.handleHealth)
	app.Get("/robots.txt", func(c *fiber.Ctx) error { return c.Redirect("/static/robots.txt", http.StatusMovedPermanently) })

	app.Use(s.authenticate)
	app.Use(s.csrfProtection)
	app.Use(checkFormText)

	// The JSON API. Each route names who may call it (see authz.go).
	api := app.Group("/api/v1")
	api.Get("/catalogue", s.require(anyone), s.handleCatalogueAPI)
	api.Post("/quotes", s.require(anyone), s.handleQuoteCreate)
	api.Get("/me", s.require(signedIn), s.handleMe)
	api.Get("/organisations/:urn", s.require(signedIn), s.handleOrganisationAPI)

	// Pages.
	app.Get("/", s.require(anyone), s.handleHome)
	app.Get("/catalogue", s.require(anyone), s.handleCataloguePage)
	app.Get("/accessibility", s.require(anyone), s.handleAccessibility)
	s.accountRoutes(app)
	s.schoolRoutes(app)
	s.adminRoutes(app)
	s.billingRoutes(app)
	s.ledgerRoutes(app)
	s.exportRoutes(app)
	s.financeRoutes(app)
	s.programmeRoutes(app)
	s.sessionRoutes(app)
	s.bookingRoutes(app)
	s.calendarRoutes(app)
	s.consultancyRoutes(app)
	s.outboxRoutes(app)
	s.holidayRoutes(app)
	s.jobRoutes(app)
}

// securityHeaders sets the headers every answer carries, and after the
// handler has run marks private answers Cache-Control: no-store (see
// private). Outside --dev it sends HSTS: Traded is served over https
// (behind a proxy that terminates TLS, or by itself), and a browser that
// has seen it will not be talked down to http on a school's network.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	if !s.cfg.Dev {
		c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
	}
	err := c.Next()
	if private(c) {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return err
}

// private is whether an answer is for one person only and must not be kept
// by the browser or anything between (school computers are shared): every
// answer to a signed-in user or an API token, pages and downloads alike
// (invoice PDFs, certificates, CSV exports, invites), every answer that
// came with a session cookie, and the emailed-link and calendar-feed
// addresses, whose path is the secret. Static files and the public pages
// of a visitor with no session are not private: those are cached.
func private(c *fiber.Ctx) bool {
	path := c.Path()
	if strings.HasPrefix(path, "/static/") {
		return false
	}
	if currentUser(c) != nil || c.Get(fiber.HeaderAuthorization) != "" || c.Cookies(cookieName) != "" {
		return true
	}
	for _, p := range secretPaths {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestid.ConfigDefault.ContextKey).(string)
	return id
}

// handleHealth answers 200 "ok" while the database can be read and
// written, and 503 otherwise.
func (s *Server) handleHealth(c *fiber.Ctx) error {
	err := s.db.Read().PingContext(c.UserContext())
	if err == nil {
		err = s.db.CheckWritable(c.UserContext())
	}
	if err != nil {
		s.log.Error("health check failed", "err", err)
		c.Set(fiber.HeaderCacheControl, "no-store")
		// the details (a file path) are in the log, not for anyone who asks
		return c.Status(fiber.StatusServiceUnavailable).SendString("unhealthy: the database cannot be read or written")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok")
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops taking connections and waits, until ctx ends, for requests
// in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }
