//go:build !srmbench

package web

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm/store"
)

// A normal build serves no benchmark endpoints: bench.go, with its
// /_bench/ routes, is built only with -tags srmbench, for `make bench`.

func addBenchRoutes(chi.Router, func(handlerFunc) http.HandlerFunc, *store.Store) {}

func withBenchCeiling(next http.Handler, _ *store.Store, _ *slog.Logger) http.Handler { return next }
