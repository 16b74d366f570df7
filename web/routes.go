package web

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/static"
	"github.com/srmhq/srm/store"
)

// addRoutes is the whole URL surface of the application, in one place.
func addRoutes(r chi.Router, logger *slog.Logger, st *store.Store, ready func() bool) {
	h := func(fn handlerFunc) http.HandlerFunc { return handle(logger, fn) }

	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(st, ready))
	r.Handle("/static/*", http.StripPrefix("/static/", staticFiles()))
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	r.Get("/", h(portfolioPage(st)))

	r.Get("/workloads/new", h(newWorkloadForm(st)))
	r.Post("/workloads", h(createWorkload(st)))
	r.Get("/workloads/{id}", h(workloadPage(st)))
	r.Get("/workloads/{id}/edit", h(editWorkloadForm(st)))
	r.Post("/workloads/{id}", h(updateWorkload(st)))
	r.Get("/workloads/{id}/delete", h(deleteWorkloadForm(st)))
	r.Post("/workloads/{id}/delete", h(deleteWorkload(st)))

	r.Post("/workloads/{id}/controls/{cid}", h(saveStatus(st)))
	r.Get("/workloads/{id}/controls/{cid}/override", h(overrideForm(st)))
	r.Post("/workloads/{id}/controls/{cid}/override", h(saveOverride(st)))
	r.Post("/workloads/{id}/controls/{cid}/override/delete", h(deleteOverride(st)))

	r.Get("/matrix", h(matrixPage(st)))
	r.Get("/matrix/compare", h(comparePage(st)))

	r.Get("/owners", h(ownersPage(st)))
	r.Post("/owners", h(createOwner(st)))
	r.Get("/owners/{id}", h(queuePage(st)))

	r.Get("/controls", h(catalogPage(st)))
	r.Get("/controls/new", h(newControlForm(st)))
	r.Post("/controls", h(createControl(st)))
	r.Get("/controls/{id}/edit", h(editControlForm(st)))
	r.Post("/controls/{id}", h(updateControl(st)))
	r.Post("/controls/{id}/delete", h(deleteControl(st)))

	r.NotFound(h(func(w http.ResponseWriter, r *http.Request) error { return srm.ErrNotFound }))
	r.MethodNotAllowed(h(func(w http.ResponseWriter, r *http.Request) error { return errMethod }))
}

// staticFiles serves the embedded CSS and JavaScript with a day of caching
// and no directory listings.
func staticFiles() http.Handler {
	files := http.FileServerFS(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || r.URL.Path[len(r.URL.Path)-1] == '/' {
			http.NotFound(w, r)
			return
		}
		if _, err := fs.Stat(static.FS, r.URL.Path); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
