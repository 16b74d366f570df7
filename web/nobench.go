//go:build !srmbench

package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm/store"
)

// A normal build serves no benchmark endpoints: bench.go, with its
// /_bench/ routes, is built only with -tags srmbench, for `make bench`.

// BenchBuild reports whether this build serves the benchmark endpoints.
const BenchBuild = false

func addBenchRoutes(chi.Router, func(handlerFunc) http.HandlerFunc, *store.Store) {}

func withBenchCeiling(next http.Handler, _ *store.Store) http.Handler { return next }
