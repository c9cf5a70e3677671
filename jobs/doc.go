// Package jobs runs Traded's background work: each job is named, runs
// every so often, and keeps its last run, result and error for admins to
// see (the /admin/jobs page). It owns no tables and knows nothing of what
// the jobs do; cmd/traded (through app) gives it the jobs.
//
// Jobs run one at a time in the runner's goroutine, as Traded's
// housekeeping always has: they all write through the one writer, so
// running them at once would only queue them. A job's Every is judged by
// the real clock (the next run is so long after the last began), while
// what a job does is judged by the store's clock.
//
// It may import only the standard library.
package jobs
