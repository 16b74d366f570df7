# srm: developer and CI entry points. See .ci/pg for the project-local PostgreSQL.
SHELL := /bin/bash

.PHONY: run test generate check build db-stop clean

# Start the dev database (unless DATABASE_URL is set), migrate as its owner,
# and serve with the demo portfolio as the least-privilege role srm_app
# (docs/deploy.md). With your own database, set DATABASE_URL to the owner's
# connection string and APP_DATABASE_URL to the app role's.
APP_ROLE ?= srm_app
run:
	@set -euo pipefail; \
	if [ -z "$${DATABASE_URL:-}" ]; then \
		.ci/pg start; \
		DATABASE_URL="$$(.ci/pg url)"; \
		APP_DATABASE_URL="$$(.ci/pg url $(APP_ROLE))"; \
	elif [ -z "$${APP_DATABASE_URL:-}" ]; then \
		echo "make run: DATABASE_URL is set: also set APP_DATABASE_URL, the connection string of the role $(APP_ROLE) that srm serves as" >&2; \
		exit 2; \
	fi; \
	go build -o bin/srm ./cmd/srm; \
	DATABASE_URL="$$DATABASE_URL" bin/srm migrate --app-role $(APP_ROLE); \
	DATABASE_URL="$$APP_DATABASE_URL" exec bin/srm serve --demo

# Run all tests against a throwaway PostgreSQL cluster, and the benchmark
# build's own test (its endpoints exist only with -tags srmbench).
# Every benchmark also runs once, so none can rot unseen. Fuzzing runs a
# number of inputs per target, not a time: Go 1.26's fuzzer can fail a target
# with "context deadline exceeded" when a -fuzztime duration ends while a
# worker is mid-input (golang/go#75804, fixed in Go 1.27).
test:
	.ci/pg test -- go test -race -count=1 -timeout 25m ./...
	.ci/pg test -- go test -tags srmbench -count=1 -run Bench ./web/
	.ci/pg test -- go test -run '^$$' -bench . -benchtime 1x -count=1 ./...
	$(MAKE) fuzz FUZZTIME=300x

# Regenerate templ code (always from the repo root).
generate:
	go tool templ generate

# Formatting, vet, and generated code up to date.
check:
	@set -euo pipefail; \
	unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; \
		echo "$$unformatted" >&2; \
		exit 1; \
	fi
	go vet ./...
	go tool templ fmt -fail .
	go tool templ generate
	@set -euo pipefail; \
	if ! git diff --exit-code -- views; then \
		echo "check: generated templ code is out of date: run 'make generate' and commit" >&2; \
		exit 1; \
	fi; \
	untracked="$$(git ls-files --others --exclude-standard -- '*_templ.go')"; \
	if [ -n "$$untracked" ]; then \
		echo "check: untracked generated files (commit them):" >&2; \
		echo "$$untracked" >&2; \
		exit 1; \
	fi

build:
	go build -o bin/srm ./cmd/srm

db-stop:
	.ci/pg stop

clean:
	rm -rf bin/ artifacts/

# Load test on loopback against a throwaway, seeded PostgreSQL (fsync off):
# see docs/performance.md. BENCHFLAGS=-check fails the run when a budget is missed.
# The binary measured is built with -tags srmbench, which adds the benchmark
# endpoints (/_bench/...), into bin/srm-bench: bin/srm never has them.
.PHONY: bench
bench:
	.ci/pg test -- bash -c 'go build -tags srmbench -o bin/srm-bench ./cmd/srm && DATABASE_URL="$$TEST_DATABASE_URL" go run ./cmd/srmbench -srm bin/srm-bench $(BENCHFLAGS)'

# Fuzz every Fuzz target of every package for FUZZTIME each (default 60s; a
# count such as 300x avoids golang/go#75804, see test above), on a
# throwaway PostgreSQL. `go test -fuzz` takes one target per package per run, so
# this loops. A crasher is saved in <package>/testdata/fuzz/<Target>/, where
# `make test` replays it from then on. Example: make fuzz FUZZTIME=10s
FUZZTIME ?= 60s
.PHONY: fuzz
fuzz:
	.ci/pg test -- bash -c 'set -uo pipefail; failed=""; \
		for pkg in $$(go list ./...); do \
			for target in $$(go test -list "^Fuzz" "$$pkg" | grep "^Fuzz"); do \
				echo "==== $$pkg $$target ($(FUZZTIME))"; \
				go test -run "^$$" -fuzz "^$$target\$$" -fuzztime "$(FUZZTIME)" "$$pkg" || failed="$$failed $$pkg.$$target"; \
			done; \
		done; \
		if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed" >&2; exit 1; fi'

# Reliability drills, long versions (docs/reliability.md): PostgreSQL stopped and
# killed under writes (5 cycles of each), srm killed mid-write (9 times),
# migrations killed and run concurrently, shutdown, two instances. The figures
# are printed by -v. The short versions run in `make test`.
.PHONY: reliability
reliability:
	SRM_RELIABILITY=1 .ci/pg test -- go test -count=1 -v -timeout 30m ./cmd/srm
