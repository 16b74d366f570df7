# srm: developer and CI entry points. See .ci/pg for the project-local PostgreSQL.
SHELL := /bin/bash

.PHONY: run test generate check build db-stop clean

# Start the dev database (unless DATABASE_URL is set) and serve with the demo portfolio.
run:
	@set -euo pipefail; \
	if [ -z "$${DATABASE_URL:-}" ]; then \
		.ci/pg start; \
		DATABASE_URL="$$(.ci/pg url)"; \
	fi; \
	export DATABASE_URL; \
	go build -o bin/srm ./cmd/srm; \
	exec bin/srm serve --demo

# Run all tests against a throwaway PostgreSQL cluster.
test:
	.ci/pg test -- go test -race -count=1 ./...

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
.PHONY: bench
bench:
	.ci/pg test -- bash -c 'go build -o bin/srm ./cmd/srm && DATABASE_URL="$$TEST_DATABASE_URL" go run ./cmd/srmbench -srm bin/srm $(BENCHFLAGS)'
