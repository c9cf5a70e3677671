package web

import (
	"github.com/gofiber/fiber/v2"

	"traded/jobs"
)

func (s *Server) jobRoutes(app *fiber.App) {
	app.Get("/admin/jobs", s.require(admin), s.handleJobs)
	app.Get("/api/v1/jobs", s.require(admin), s.handleJobsAPI)
}

type jobsPage struct {
	*Page
	Jobs []jobs.Status
}

func (s *Server) jobStatus() []jobs.Status {
	if s.cfg.Jobs == nil {
		return nil
	}
	return s.cfg.Jobs.Status()
}

// handleJobs shows the background jobs: how often each runs, when it last
// did, what it did and its last error.
func (s *Server) handleJobs(c *fiber.Ctx) error {
	return s.render(c, "jobs", &jobsPage{Page: s.page(c, "Background jobs"), Jobs: s.jobStatus()})
}

type jobJSON struct {
	Name          string  `json:"name"`
	EverySeconds  int64   `json:"every_seconds"`
	Runs          int     `json:"runs"`
	Failures      int     `json:"failures"`
	LastStart     *string `json:"last_start"`
	LastTookMilli int64   `json:"last_took_ms"`
	LastResult    string  `json:"last_result"`
	LastError     string  `json:"last_error"`
}

func (s *Server) handleJobsAPI(c *fiber.Ctx) error {
	out := []jobJSON{}
	for _, j := range s.jobStatus() {
		v := jobJSON{Name: j.Name, EverySeconds: int64(j.Every.Seconds()), Runs: j.Runs, Failures: j.Failures,
			LastTookMilli: j.LastTook.Milliseconds(), LastResult: j.LastResult, LastError: j.LastError}
		if !j.LastStart.IsZero() {
			at := j.LastStart.UTC().Format("2006-01-02T15:04:05Z")
			v.LastStart = &at
		}
		out = append(out, v)
	}
	return c.JSON(fiber.Map{"jobs": out})
}
