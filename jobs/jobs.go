package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Job is one piece of background work.
type Job struct {
	// Name says what it does, in a word or two ("expire offers").
	Name string
	// Every is how often it runs; the first run is at start.
	Every time.Duration
	// Run does the work and says what it did ("3 invoices"), or "" when
	// there was nothing to do.
	Run func(ctx context.Context) (string, error)
}

// Status is what admins see of a job.
type Status struct {
	Name       string
	Every      time.Duration
	Runs       int
	LastStart  time.Time // zero before the first run
	LastTook   time.Duration
	LastResult string
	LastError  string // "" when the last run succeeded
	Failures   int    // runs that ended in an error, since start
}

type entry struct {
	job  Job
	next time.Time
	st   Status
}

// Runner runs jobs until its context ends.
type Runner struct {
	log *slog.Logger
	// After, if set, is called after every run of any job (the mail
	// worker's Wake: jobs queue mail).
	After func()
	// Tick is how often the runner looks for a job that is due (a minute).
	Tick time.Duration

	mu   sync.Mutex
	jobs []*entry
	now  func() time.Time
}

// New returns a runner with no jobs.
func New(log *slog.Logger) *Runner {
	return &Runner{log: log, Tick: time.Minute, now: time.Now}
}

// Add adds jobs. It panics on a job with no name, no Run, an Every below
// a second or a name already taken: those are mistakes in the wiring, found
// at start.
func (r *Runner) Add(js ...Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range js {
		switch {
		case j.Name == "" || j.Run == nil:
			panic("jobs: a job needs a name and a Run")
		case j.Every < time.Second:
			panic(fmt.Sprintf("jobs: %q runs every %v: too often", j.Name, j.Every))
		case slices.ContainsFunc(r.jobs, func(e *entry) bool { return e.job.Name == j.Name }):
			panic(fmt.Sprintf("jobs: two jobs named %q", j.Name))
		}
		r.jobs = append(r.jobs, &entry{job: j, st: Status{Name: j.Name, Every: j.Every}})
	}
}

// Run runs every job when it is due until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.Tick)
	defer t.Stop()
	for {
		r.RunDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue runs, in the order added, each job whose time has come, and
// returns how many ran.
func (r *Runner) RunDue(ctx context.Context) int {
	r.mu.Lock()
	var due []*entry
	now := r.now()
	for _, e := range r.jobs {
		if !now.Before(e.next) {
			due = append(due, e)
		}
	}
	r.mu.Unlock()
	ran := 0
	for _, e := range due {
		if ctx.Err() != nil {
			break
		}
		r.run(ctx, e)
		ran++
	}
	return ran
}

func (r *Runner) run(ctx context.Context, e *entry) {
	start := r.now()
	result, err := e.job.Run(ctx)
	took := r.now().Sub(start)
	if err != nil && ctx.Err() != nil {
		return // stopped: not the job's fault, and it runs again at start
	}
	r.mu.Lock()
	e.next = start.Add(e.job.Every)
	e.st.Runs++
	e.st.LastStart, e.st.LastTook, e.st.LastResult, e.st.LastError = start, took, result, ""
	if err != nil {
		e.st.LastError = err.Error()
		e.st.Failures++
	}
	r.mu.Unlock()
	switch {
	case err != nil:
		r.log.Warn("job failed", "job", e.job.Name, "err", err)
	case result != "":
		r.log.Info("job", "job", e.job.Name, "result", result, "took_ms", took.Milliseconds())
	}
	if r.After != nil {
		r.After()
	}
}

// Status returns every job's status, in the order added.
func (r *Runner) Status() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, len(r.jobs))
	for i, e := range r.jobs {
		out[i] = e.st
	}
	return out
}
