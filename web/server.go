// Package web is srm's HTTP interface: the routes, the handlers and the
// middleware. Handlers read forms, call store and srm, and render views.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/srmhq/srm/store"
)

// maxBody caps request bodies; srm's forms are far smaller.
const maxBody = 1 << 20

// Config is how the server behaves; the zero Config is valid (see each
// field's default).
type Config struct {
	// Ready reports whether the process should take traffic (false while
	// shutting down); nil means always.
	Ready func() bool
	// IdleTimeout signs a person out after this long without a request
	// (default 30 minutes); Lifetime after this long whatever they do
	// (default 12 hours).
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// TrustedProxies are the CIDRs of reverse proxies whose
	// X-Forwarded-For srm believes. Empty: the TCP peer is the client.
	TrustedProxies []string
	// OIDC configures single sign-on; nil turns it off.
	OIDC *OIDCConfig
	// RequestTimeout bounds the work of one request, database included
	// (default 5 seconds); ExportTimeout bounds a download that streams a
	// whole export, such as the audit trail as CSV (default 10 minutes).
	RequestTimeout time.Duration
	ExportTimeout  time.Duration
	// StepUpWindow is how long signing in, or confirming it is you, lets
	// dangerous actions (admin rights, authenticators, the MFA setting)
	// through before srm asks for the password again (default
	// DefaultStepUpWindow, 10 minutes).
	StepUpWindow time.Duration
	// Now is the clock of session times (idleness, proofs of identity);
	// nil means time.Now. Tests move it instead of waiting.
	Now func() time.Time
	// APIRateLimit is how many requests a minute each API token may make
	// (default DefaultAPIRateLimit); more get 429 with Retry-After.
	APIRateLimit int
	// Metrics, when set, counts every request (NewMetrics); nil counts
	// none. This server has a /metrics route only with MetricsToken set,
	// and it answers only requests that bear the token; without one,
	// /metrics is an unknown address like any other (main may serve
	// Metrics.Handler on an address of its own). A MetricsToken without
	// Metrics gets a new Metrics.
	Metrics      *Metrics
	MetricsToken string
}

// NewServer returns the application's root handler. Every dependency is a
// parameter, so tests build it exactly as main does. The Store also keeps
// the sessions; main runs their cleanup (store.Sessions.Clean).
func NewServer(ctx context.Context, logger *slog.Logger, st *store.Store, cfg Config) (http.Handler, error) {
	if cfg.Ready == nil {
		cfg.Ready = func() bool { return true }
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 12 * time.Hour
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ExportTimeout <= 0 {
		cfg.ExportTimeout = DefaultExportTimeout
	}
	if cfg.StepUpWindow <= 0 {
		cfg.StepUpWindow = DefaultStepUpWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sm := newSessionManager(st, cfg)
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		handle(logger, func(http.ResponseWriter, *http.Request) error { return err })(w, r)
	}
	a := &auth{st: st, sessions: sm, idle: cfg.IdleTimeout, stepUpWindow: cfg.StepUpWindow, now: cfg.Now}
	if cfg.OIDC != nil {
		var err error
		if a.oidc, err = newOIDCProvider(ctx, *cfg.OIDC, logger); err != nil {
			return nil, err
		}
	}
	clientIPs := middleware.ClientIPFromRemoteAddr
	if len(cfg.TrustedProxies) > 0 {
		clientIPs = middleware.ClientIPFromXFF(cfg.TrustedProxies...)
	}
	if cfg.MetricsToken != "" && cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(logger, st)
	}
	r := chi.NewRouter()
	if cfg.Metrics != nil {
		r.Use(cfg.Metrics.instrument) // first: it sees every answer, the recovered panics' 500 included
	}
	r.Use(middleware.RequestID, clientIPs, logRequests(logger), middleware.Recoverer, headAsGet)
	// The API takes no cookie, only a token a browser never sends by
	// itself: nothing there for a cross-site request to ride on, and its
	// refusals must be problem+json (api.go).
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("/api/")
	r.Use(cop.Handler)
	r.Use(securityHeaders, limitBody, deadline(cfg.RequestTimeout, cfg.ExportTimeout))
	addRoutes(r, logger, st, a, cfg)
	// Only a binary built with -tags srmbench (make bench) has a ceiling.
	return withBenchCeiling(r, st), nil
}

// logRequests writes one structured line per request.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(start)),
				slog.String("request_id", middleware.GetReqID(r.Context())),
			)
		})
	}
}

// securityHeaders sets the headers every response should carry.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("Permissions-Policy", permissionsPolicy)
		// A page srm opens, or that opens srm, gets no handle on its window.
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// permissionsPolicy turns off, for srm's pages and anything they might
// ever embed, the browser features srm never uses: device sensors and
// hardware, media capture, payments, WebAuthn, full screen, autoplay and
// ad-interest topics. Only features current browsers recognise are
// listed (interest-cohort, for instance, is gone: Chromium warns about it).
const permissionsPolicy = "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), display-capture=(), " +
	"encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), " +
	"magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), " +
	"publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()"

// headAsGet answers a HEAD request as the GET of the same address would be
// answered, without the body: chi sends a HEAD that has no route of its own
// to the GET route (middleware.GetHead), and the body is dropped here, so
// the status and headers, Content-Length included, are GET's. HEAD is a
// safe method: it passes the anti-forgery checks as GET does, and no
// handler changes anything on GET.
func headAsGet(next http.Handler) http.Handler {
	next = middleware.GetHead(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w = headWriter{w}
		}
		next.ServeHTTP(w, r)
	})
}

// headWriter drops a response's body.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }

// Unwrap lets http.ResponseController reach the writer underneath.
func (w headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The default budgets of a request and of a streamed export.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultExportTimeout  = 10 * time.Minute
)

// deadline gives every request a context that ends after timeout, so a
// database that hangs turns into a 503 rather than a request that hangs.
// A download that streams a whole export (a path ending in .csv or .xlsx) gets
// export instead, and so does its connection's write deadline: a large
// file must not be cut off mid-way by the budget of a page. An import of
// workloads gets it too: a file of 100,000 rows takes longer than a page
// (and a cut-off import writes nothing).
func deadline(timeout, export time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := timeout
			if isExport(r) || isImport(r) {
				d = export
				// Not every writer has a deadline to move (httptest's has
				// none); the server's own write timeout is then not in play.
				_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(export))
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// isExport reports whether r asks for a streamed export.
func isExport(r *http.Request) bool {
	return r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, ".csv") || strings.HasSuffix(r.URL.Path, ".xlsx"))
}

// isImport reports whether r is an import of workloads (the page's upload
// or the API's).
func isImport(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == workloadImportPath || r.URL.Path == apiImportPath)
}

// limitBody refuses bodies larger than maxBody (a catalog's upload:
// maxUpload; see bodyLimit).
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		next.ServeHTTP(w, r)
	})
}

// readyz answers 200 when the database answers within a second and the
// process is not shutting down, 503 otherwise.
func readyz(st *store.Store, ready func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("shutting down\n"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("database unavailable\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	}
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}
