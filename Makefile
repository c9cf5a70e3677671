# Traded: `make run` serves the demo on http://localhost:8080; `make test`
# installs what the tests need and runs every test. See README.md.

GO       ?= go
BIN      := bin/traded
ADDR     ?= :8080
DB       ?= ./data/traded.db
GOFILES  := $(shell git ls-files '*.go' 2>/dev/null)

# SQLite's query planner stability guarantee: without it every prepared
# statement is compiled again on each use (see store.DB.StablePlans).
export CGO_CFLAGS := -O2 -g -DSQLITE_ENABLE_QPSG

.PHONY: run build test test-deps test-go test-browser test-browser-dates lint assets clean fuzz bench histories ledger-histories emitters

## run: build and serve Traded with demo data on $(ADDR)
run: build
	./$(BIN) serve --addr $(ADDR) --db $(DB) --demo

## build: compile the traded binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/traded

## test: install test dependencies, then lint, unit, integration and browser tests
test: test-deps lint test-go test-browser test-browser-dates

test-deps:
	./scripts/test-deps.sh

lint:
	@unformatted=$$(gofmt -l $(GOFILES)); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## test-go: every Go test under the race detector, then 1,500 random booking
## histories against the money oracle and 400 random ledger histories
## against the ledger model without it (fixed seeds: CI stays repeatable;
## `make histories` and `make ledger-histories` explore new seeds)
test-go:
	$(GO) test -race -count=1 ./...
	TRADED_HISTORIES=1500 $(GO) test -count=1 -run '^TestBookingHistories$$' ./billing/
	TRADED_LEDGER_HISTORIES=400 $(GO) test -count=1 -run '^TestLedgerHistories$$' ./billing/

## histories: COUNT random booking histories (default 10000) from SEED
## (default a new one, printed) against internal/oracle; a failure prints
## its shortest reproduction. TRADED_HISTORY_SEED=N reruns one seed.
COUNT ?= 10000
SEED  ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
histories:
	TRADED_HISTORIES=$(COUNT) TRADED_HISTORY_SEED=$(SEED) $(GO) test -count=1 -timeout 60m -run '^TestBookingHistories$$' -v ./billing/

## ledger-histories: COUNT random ledger histories (payments, split
## receipts, credit notes, allocations, reversals, refunds) from SEED
## against the ledger model; a failure prints its steps.
ledger-histories:
	TRADED_LEDGER_HISTORIES=$(COUNT) TRADED_LEDGER_SEED=$(SEED) $(GO) test -count=1 -timeout 60m -run '^TestLedgerHistories$$' -v ./billing/

## emitters: the property test over every output with NAMES random names
## (default 1000, about 4 minutes) from SEED
NAMES ?= 1000
emitters:
	TRADED_EMITTER_NAMES=$(NAMES) TRADED_EMITTER_SEED=$(SEED) $(GO) test -count=1 -timeout 60m -run '^TestEmitters_RandomNames$$' -v ./web/

## test-browser: real pages in Debian's chromium, with axe-core on each
test-browser: build
	npm run --silent test:browser

## test-browser-dates: the suites whose story depends on the day (booking,
## consultancy) again on demo clocks across the year; test-browser runs
## everything on the default clock (TRADED_BROWSER_CLOCK, autumn term).
BROWSER_DATES ?= 2026-09-07T08:30:00Z 2027-03-16T09:00:00Z 2027-07-20T09:00:00Z
test-browser-dates: build
	@for d in $(BROWSER_DATES); do \
	  echo "browser suites on the clock $$d"; \
	  TRADED_BROWSER_CLOCK=$$d node --test --test-concurrency=1 tests/browser/booking.test.mjs tests/browser/consultancy.test.mjs || exit 1; \
	done

## assets: rebuild web/static from govuk-frontend (committed; needs npm ci)
assets:
	npm run build:assets

clean:
	rm -rf bin data tests/browser/out

## fuzz: fuzz each parser of outside input for FUZZTIME (the seed corpora run in make test)
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzImportSchools$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./organisation/
	$(GO) test -run '^$$' -fuzz '^FuzzImportBankStatement$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./billing/
	$(GO) test -run '^$$' -fuzz '^FuzzStripeWebhook$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./billing/
	$(GO) test -run '^$$' -fuzz '^FuzzAPIJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./web/
	$(GO) test -run '^$$' -fuzz '^FuzzQueryParams$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./web/

## bench: measure Traded on this machine (ceilings, wrk load of traded serve,
## bulk PDFs against Chromium, peak RSS) into bench/results.md and .json, then
## the long form of the SIGKILL crash test; fails if a target was missed
CRASH_KILLS ?= 100
bench: test-deps build
	$(GO) build -o bin/traded-bench ./cmd/traded-bench
	./bin/traded-bench -traded ./$(BIN) -out bench; status=$$?; \
	TRADED_CRASH_KILLS=$(CRASH_KILLS) TRADED_CRASH_LOAD=1s $(GO) test -count=1 -timeout 30m -run '^TestCrash_SIGKILL$$' -v ./cmd/traded/ \
	  && exit $$status
