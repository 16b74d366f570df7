package web

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/static"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/views"
)

// addRoutes is the whole URL surface of the application, in one place,
// with the role each route needs. Outside the session: health checks and
// static files. Inside: signing in, open to all; everything else needs a
// role, and anything not listed is refused (deny by default). Dangerous
// actions also need a fresh proof of identity (a.stepUp).
func addRoutes(r chi.Router, logger *slog.Logger, st *store.Store, a *auth, cfg Config) {
	h := func(fn handlerFunc) http.HandlerFunc { return handle(logger, fn) }

	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(st, cfg.Ready))
	if cfg.Metrics != nil && cfg.MetricsToken != "" { // else /metrics is an address like any unknown one
		r.Method(http.MethodGet, "/metrics", cfg.Metrics.Handler(cfg.MetricsToken)) // no session: the bearer token
	}
	r.Method(http.MethodGet, "/static/*", http.StripPrefix("/static/", staticFiles()))
	r.Method(http.MethodHead, "/static/*", http.StripPrefix("/static/", staticFiles()))
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	r.Mount("/api", apiRoutes(logger, st, cfg)) // tokens, never the session (api.go)

	r.Group(func(r chi.Router) {
		r.Use(a.sessions.LoadAndSave, a.identify)

		// Signing in: open to everyone.
		r.Get("/signin", h(a.signInForm))
		r.Post("/signin", h(a.signIn))
		r.Post("/signin/oidc", h(a.startSSO))
		r.Get("/signin/oidc/callback", h(a.finishSSO))

		// Finishing signing in, and signing out: any signed-in session.
		r.Group(func(r chi.Router) {
			r.Use(a.signedIn)
			r.Get("/signin/code", h(a.codeForm))
			r.Post("/signin/code", h(a.checkCode))
			r.Post("/signout", h(a.signOut))
			r.Get("/account/mfa", h(a.enrolForm))
			r.Post("/account/mfa", h(a.stepUp("set up your authenticator app", nil, a.enrol)))
			r.Post("/reauth/sso", h(a.confirmBySSO))
			r.Get("/reauth/continue", h(a.continueAfterSSO))
		})

		r.Group(func(r chi.Router) {
			r.Use(a.require(srm.RoleViewer))
			r.Get("/", h(portfolioPage(st)))
			r.Get("/my", h(myControlsPage(st)))
			r.Get("/account", h(a.accountPage))
			r.Post("/account/mfa/remove", h(a.stepUp("remove your authenticator app", nil, a.removeMFA)))
			r.Post("/account/mfa/codes", h(a.stepUp("get new recovery codes", nil, a.newCodes)))
			r.Post("/account/password", h(a.changePassword))
			r.Get("/account/tokens", h(tokensPage(st, ownTokens(st), a.now)))
			r.Post("/account/tokens", h(a.stepUp("make an API token", nil, createToken(st, ownTokens(st), a.now))))
			r.Post("/account/tokens/{tid}/revoke", h(revokeToken(st, ownTokens(st))))
			r.Get("/portfolio.csv", h(portfolioExport(st, exchange.CSV)))
			r.Get("/portfolio.xlsx", h(portfolioExport(st, exchange.XLSX)))
			r.Get("/workloads/{id}", h(workloadPage(st)))
			r.Get("/workloads/{id}/checklist.csv", h(checklistExport(st, exchange.CSV)))
			r.Get("/workloads/{id}/checklist.xlsx", h(checklistExport(st, exchange.XLSX)))
			r.Get("/workloads/{id}/crm.csv", h(crmExport(st, exchange.CSV)))
			r.Get("/workloads/{id}/crm.xlsx", h(crmExport(st, exchange.XLSX)))
			r.Get("/workloads/{id}/ssp.json", h(sspExport(st)))
			r.Get("/workloads/{id}/history", h(workloadHistoryPage(st)))
			r.Get("/workloads/{id}/controls/{cid}", h(controlPage(st)))
			r.Get("/matrix", h(matrixPage(st)))
			r.Get("/matrix.csv", h(matrixExport(st, exchange.CSV)))
			r.Get("/matrix.xlsx", h(matrixExport(st, exchange.XLSX)))
			r.Get("/matrix/compare", h(comparePage(st)))
			r.Get("/owners", h(ownersPage(st)))
			r.Get("/owners/{id}", h(queuePage(st)))
			r.Get("/owners/{id}/queue.csv", h(queueExport(st, exchange.CSV)))
			r.Get("/owners/{id}/queue.xlsx", h(queueExport(st, exchange.XLSX)))
			r.Get("/controls", h(catalogPage(st)))
			addBenchRoutes(r, h, st) // none unless built with -tags srmbench
		})

		r.Group(func(r chi.Router) {
			r.Use(a.require(srm.RoleEditor))
			r.Post("/workloads/{id}/controls/{cid}", h(saveStatus(st)))
			r.Post("/workloads/{id}/bulk", h(bulkStatus(st)))
			r.Get("/workloads/{id}/controls/{cid}/override", h(overrideForm(st)))
			r.Post("/workloads/{id}/controls/{cid}/override", h(saveOverride(st)))
			r.Post("/workloads/{id}/controls/{cid}/override/delete", h(deleteOverride(st)))
			r.Post("/owners", h(createOwner(st)))
		})

		r.Group(func(r chi.Router) {
			r.Use(a.require(srm.RoleAdmin))
			r.Get("/workloads/new", h(newWorkloadForm(st)))
			r.Get(views.WorkloadImportURL, h(workloadImportPage()))
			r.Post(views.WorkloadImportURL, h(uploadImport(st)))
			r.Post("/workloads", h(createWorkload(st)))
			r.Get("/workloads/{id}/edit", h(editWorkloadForm(st)))
			r.Post("/workloads/{id}", h(updateWorkload(st)))
			r.Get("/workloads/{id}/delete", h(deleteWorkloadForm(st)))
			r.Post("/workloads/{id}/delete", h(deleteWorkload(st)))
			r.Get("/workloads/{id}/frameworks", h(workloadFrameworksPage(st)))
			r.Post("/workloads/{id}/frameworks/{fid}", h(attachFramework(st)))
			r.Post("/workloads/{id}/frameworks/{fid}/delete", h(detachFramework(st)))

			r.Get("/controls/new", h(newControlForm(st)))
			r.Post("/controls", h(createControl(st)))
			r.Get("/controls/{id}/edit", h(editControlForm(st)))
			r.Post("/controls/{id}", h(updateControl(st)))
			r.Post("/controls/{id}/delete", h(deleteControl(st)))

			r.Get("/audit", h(auditPage(st)))
			r.Get("/audit.csv", h(auditCSV(st)))

			r.Get("/admin/users", h(usersPage(st)))
			r.Post("/admin/users", h(a.stepUp("add an admin account", addsAdmin, createUser(st))))
			r.Get("/admin/users/{id}", h(userPage(st)))
			r.Post("/admin/users/{id}", h(a.stepUp("give an account admin rights", a.raisesToAdmin, updateUser(st, a.sessions))))
			r.Post("/admin/users/{id}/revoke", h(revokeUser(st, a.sessions)))
			r.Post("/admin/users/{id}/mfa/reset", h(a.stepUp("reset someone's authenticator app", nil, resetMFA(st))))
			r.Post("/admin/users/{id}/unlock", h(unlockUser(st)))
			r.Post("/admin/users/{id}/owner", h(linkUserOwner(st)))
			r.Get("/admin/users/{id}/tokens", h(tokensPage(st, usersTokens(st), a.now)))
			r.Post("/admin/users/{id}/tokens", h(a.stepUp("make an API token for someone", nil, createToken(st, usersTokens(st), a.now))))
			r.Post("/admin/users/{id}/tokens/{tid}/revoke", h(revokeToken(st, usersTokens(st))))
			r.Get("/admin/frameworks", h(adminFrameworksPage(st)))
			r.Post("/admin/frameworks", h(uploadFramework(st)))
			r.Post("/admin/frameworks/builtin", h(importBuiltinFramework(st)))
			r.Get("/admin/frameworks/{slug}", h(frameworkPage(st)))
			r.Post("/admin/frameworks/{slug}/families", h(readFamily(st)))
			r.Post("/admin/settings", h(a.stepUp("change who must use an authenticator app", a.changesRequireMFA, saveSettings(st, a.sessions))))
		})

	})

	// Anything else: signed-out visitors are sent to sign in rather than
	// told what exists; signed-in people get 404 or 405.
	guarded := func(fn handlerFunc) http.HandlerFunc {
		return chi.Chain(a.sessions.LoadAndSave, a.identify, a.require(srm.RoleViewer)).HandlerFunc(h(fn)).ServeHTTP
	}
	r.NotFound(guarded(func(w http.ResponseWriter, r *http.Request) error { return srm.ErrNotFound }))
	r.MethodNotAllowed(guarded(func(w http.ResponseWriter, r *http.Request) error { return errMethod }))
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
