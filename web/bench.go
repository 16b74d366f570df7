//go:build srmbench

package web

import (
	"net/http"
	"net/http/pprof"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm/store"
)

// This file is built only into the binary that `make bench` measures
// (go build -tags srmbench; docs/performance.md). A normal build has
// nobench.go instead, and none of these routes.

// BenchBuild reports whether this build serves the benchmark endpoints.
const BenchBuild = true

// addBenchRoutes adds, among the viewer's routes, GET /_bench/workload/{id}:
// the workload page, signed in, without its HTML.
func addBenchRoutes(r chi.Router, h func(handlerFunc) http.HandlerFunc, st *store.Store) {
	r.Get("/_bench/workload/{id}", h(benchWorkload(st)))
}

// benchWorkload does what workloadPage does except render: it reads the
// session, loads the workload and assesses every control, then answers
// "ok", so that `make bench` can show what the page costs before its HTML.
func benchWorkload(st *store.Store) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		if _, _, err := loadWorkloadView(r, st, id); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		return nil
	}
}

// benchCeilingPath is the ceiling's address, benchProfilePath that of a
// CPU profile of srm (net/http/pprof's, ?seconds=N) for srmbench -cpuprofile.
const (
	benchCeilingPath = "/_bench/ceiling"
	benchProfilePath = "/_bench/pprof/profile"
)

// withBenchCeiling answers GET /_bench/ceiling with one SELECT 1 through the
// store's pool and no middleware: the most a page that touches the database
// could do on this machine, for benchmarks to compare pages against. Every
// other request goes to next, but GET /_bench/pprof/profile, answered by
// net/http/pprof, also without middleware.
func withBenchCeiling(next http.Handler, st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == benchProfilePath && r.Method == http.MethodGet {
			pprof.Profile(w, r)
			return
		}
		if r.URL.Path != benchCeilingPath || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
