package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// load is one wrk run: a Lua script that makes the requests, against a base
// URL, with conns connections on 2 threads for a duration.
type load struct {
	Name     string
	Script   string // Lua: request() and anything it needs; done() is added
	Conns    int
	Duration time.Duration
}

// result is what a run measured. Latencies are in microseconds.
type result struct {
	Name      string  `json:"name"`
	Requests  int64   `json:"requests"`
	PerSecond float64 `json:"requests_per_second"`
	P50       int64   `json:"p50_us"`
	P95       int64   `json:"p95_us"`
	P99       int64   `json:"p99_us"`
	Max       int64   `json:"max_us"`
	Errors    int64   `json:"errors"` // socket errors, timeouts and answers other than 2xx/3xx
	Non2xx    int64   `json:"non_2xx"`
}

// wrkDone prints the summary as one JSON line that run reads back.
const wrkDone = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`

// run runs l against base with wrk and returns what it measured.
func (l load) run(ctx context.Context, dir, base string) (result, error) {
	script := filepath.Join(dir, l.Name+".lua")
	if err := os.WriteFile(script, []byte(l.Script+wrkDone), 0o644); err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, "wrk", "-t2", fmt.Sprintf("-c%d", l.Conns), fmt.Sprintf("-d%ds", int(l.Duration.Seconds())),
		"--timeout", "5s", "-s", script, base)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk %s: %v: %s", l.Name, err, errb.String())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "WRKJSON ")
		if !ok {
			continue
		}
		var summary struct {
			result
			DurationUS int64 `json:"duration_us"`
		}
		if err := json.Unmarshal([]byte(line), &summary); err != nil {
			return result{}, fmt.Errorf("wrk %s: %w", l.Name, err)
		}
		r := summary.result
		r.Name = l.Name
		if summary.DurationUS > 0 {
			r.PerSecond = float64(r.Requests) / (float64(summary.DurationUS) / 1e6)
		}
		return r, nil
	}
	return result{}, fmt.Errorf("wrk %s printed no summary: %s", l.Name, out.String())
}

// luaStrings writes a Lua table of strings.
func luaStrings(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return "{" + strings.Join(q, ", ") + "}"
}

// getScript asks for path, with headers, on every request.
func getScript(path string, headers map[string]string) string {
	var h []string
	for k, v := range headers {
		h = append(h, fmt.Sprintf("[%q] = %q", k, v))
	}
	return fmt.Sprintf(`local req
init = function(args) req = wrk.format("GET", %q, {%s}) end
request = function() return req end
`, path, strings.Join(h, ", "))
}

// bookingScript books one delegate per request: a random school's manager
// (by its API token) on a random session, each delegate's email unique.
func bookingScript(f *fixture) string {
	var tokens, sessions []string
	for _, s := range f.Schools {
		tokens = append(tokens, s.Token)
	}
	for _, id := range f.Sessions {
		sessions = append(sessions, fmt.Sprint(id))
	}
	return fmt.Sprintf(`local tokens = %s
local sessions = %s
local counter = 0
local nextid = 1
setup = function(thread) thread:set("tid", nextid); nextid = nextid + 1 end
init = function(args) math.randomseed(tid * 7919 + os.time()) end
request = function()
  counter = counter + 1
  local body = string.format('{"delegates":[{"name":"Load Delegate","email":"t%%d-%%d@load.example"}]}', tid, counter)
  return wrk.format("POST", "/api/v1/sessions/" .. sessions[math.random(#sessions)] .. "/bookings",
    {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)], ["Content-Type"] = "application/json"}, body)
end
`, luaStrings(tokens), luaStrings(sessions))
}

// quoteScript asks for a quote for a random school, with a mix of items.
func quoteScript(f *fixture) string {
	var urns []string
	for _, s := range f.Schools {
		urns = append(urns, fmt.Sprint(s.URN))
	}
	return fmt.Sprintf(`local urns = %s
request = function()
  local body = '{"organisation":' .. urns[math.random(#urns)] ..
    ',"academic_year":"2021/22","items":[{"product":"psa-subscription"},{"product":"psa-session","staff":3},{"product":"moderation","staff":2}]}'
  return wrk.format("POST", "/api/v1/quotes", {["Content-Type"] = "application/json"}, body)
end
`, luaStrings(urns))
}
