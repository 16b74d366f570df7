package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/exchange"
	"github.com/srmhq/srm/store"
)

// The JSON API under /api/v1 (docs/api.md, the OpenAPI document in
// api_openapi.json). It is a router of its own, mounted outside the
// session: no cookie is read there, so no anti-forgery token is needed,
// and a request is whoever its personal API token (Authorization: Bearer)
// says, with the owner's role as it is now. Every error is RFC 9457
// application/problem+json with a stable type per kind.

// apiMaxBody caps a request body on the API: srm's largest, a workload,
// is a few kilobytes.
const apiMaxBody = 64 << 10

// DefaultAPIRateLimit is how many requests a minute one token may make
// (Config.APIRateLimit), in bursts of up to as many.
const DefaultAPIRateLimit = 600

// problemBase starts every problem type: a URN, stable, naming the kind.
const problemBase = "urn:srm:problem:"

// problem is an RFC 9457 problem: the answer to every failed API request.
type problem struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	// Errors lists what is wrong with each field (422), or where the JSON
	// is broken (400).
	Errors []fieldError `json:"errors,omitempty"`
	// Line, Column and Offset say where a body stops being JSON (400).
	Line   int   `json:"line,omitempty"`
	Column int   `json:"column,omitempty"`
	Offset int64 `json:"offset,omitempty"`
	// Current is what is stored now, when a write was based on an older
	// version (409).
	Current any `json:"current,omitempty"`
	// Problems are what is wrong with an import file, by row and column
	// (422 import-invalid).
	Problems        []cellProblem `json:"problems,omitempty"`
	ProblemsOmitted int           `json:"problems_omitted,omitempty"`

	retryAfter int    // seconds, for 429 and 503
	challenge  string // WWW-Authenticate, for 401
}

// fieldError is one field's problem, by JSON pointer and name.
type fieldError struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

func (p *problem) Error() string { return p.Title + ": " + p.Detail }

// newProblem is a problem of kind with status, title and detail.
func newProblem(status int, kind, title, detail string) *problem {
	return &problem{Status: status, Type: problemBase + kind, Title: title, Detail: detail}
}

// invalid is a 422 listing what is wrong with each field.
func invalid(ps srm.Problems) *problem {
	p := newProblem(http.StatusUnprocessableEntity, "invalid", "Some fields are not valid", "Nothing was saved. Fix the fields listed in errors.")
	for _, f := range slices.Sorted(maps.Keys(ps)) {
		p.Errors = append(p.Errors, fieldError{Field: f, Pointer: "/" + f, Detail: ps[f]})
	}
	return p
}

// stale is a 409: the write was based on version sent, and current is
// what is stored now.
func stale(current any) *problem {
	p := newProblem(http.StatusConflict, "stale", "Changed since you read it",
		"Someone saved a newer version first, so nothing was saved. current is what is stored now: merge and send again with its version.")
	p.Current = current
	return p
}

// apiProblem maps an error to the problem that answers it.
func apiProblem(err error) *problem {
	var (
		p        *problem
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &tooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, "too-large", "The body is too large",
			fmt.Sprintf("srm accepts request bodies of up to %d bytes on the API.", tooLarge.Limit))
	case errors.Is(err, srm.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "Not found", "There is no such resource, or it has been deleted.")
	case errors.Is(err, srm.ErrInvalid):
		return newProblem(http.StatusBadRequest, "bad-request", "The request is malformed", "A path or query parameter is not valid.")
	case errors.Is(err, srm.ErrStale), errors.Is(err, srm.ErrConflict):
		return newProblem(http.StatusConflict, "conflict", "Conflict", "The change conflicts with what is stored. Read it again and retry.")
	case errors.Is(err, srm.ErrUnavailable):
		p := newProblem(http.StatusServiceUnavailable, "unavailable", "The database is not answering",
			"srm cannot reach its database right now. Nothing was half-saved: try again in a few seconds.")
		p.retryAfter = 5
		return p
	case errors.Is(err, errMethod):
		return newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "This resource does not accept that method.")
	}
	return newProblem(http.StatusInternalServerError, "internal", "Something went wrong", "srm could not finish this request. It has been logged.")
}

// writeProblem answers with p.
func writeProblem(w http.ResponseWriter, p *problem) {
	h := w.Header()
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	if p.challenge != "" {
		h.Set("WWW-Authenticate", p.challenge)
	}
	writeJSON(w, p.Status, "application/problem+json", p)
}

// writeJSON answers with v as JSON, marshalled first so that an error
// never leaves half a body on the wire.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status, contentType = []byte(`{"status":500,"type":"`+problemBase+`internal","title":"Something went wrong"}`),
			http.StatusInternalServerError, "application/problem+json"
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ok answers 200 (or status) with v.
func ok(w http.ResponseWriter, status int, v any) error {
	writeJSON(w, status, "application/json", v)
	return nil
}

// apiHandle answers any error fn returns as a problem, logging only the
// unexpected (5xx) ones, once.
func apiHandle(logger *slog.Logger, fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		p := apiProblem(err)
		switch {
		case p.Status == http.StatusServiceUnavailable:
			logger.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		case p.Status >= 500:
			logger.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeProblem(w, p)
	}
}

// callerKey holds the srm.Caller of an API request.
type callerKey struct{}

// caller is who made the API request r (authenticate let it through).
func caller(r *http.Request) srm.Caller {
	c, _ := r.Context().Value(callerKey{}).(srm.Caller)
	return c
}

// apiServer holds what the API's middleware needs.
type apiServer struct {
	st     *store.Store
	logger *slog.Logger
	limit  *rateLimiter
}

// authenticate lets a request through only with a token srm made that is
// neither revoked nor expired, of an enabled account; the request then
// acts as that account (the audit trail names the token too). The session
// cookie is never read. Each token is held to its rate limit.
func (x *apiServer) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r)
		scheme, secret, found := strings.Cut(r.Header.Get("Authorization"), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			p := newProblem(http.StatusUnauthorized, "unauthorized", "A token is needed",
				"Send a personal API token as Authorization: Bearer srm_…. Make one on your account page, or with srm token add.")
			p.challenge = `Bearer realm="srm"`
			writeProblem(w, p)
			return
		}
		ctx := store.WithActor(r.Context(), store.Actor{Name: "api client", IP: ip, UserAgent: r.UserAgent()})
		c, err := x.st.Authenticate(ctx, strings.TrimSpace(secret))
		if err != nil {
			var refused *store.TokenRefused
			detail := "The token is not one srm knows. Check that it was copied whole."
			switch {
			case errors.As(err, &refused) && refused.Reason == "owner disabled":
				detail = "The token's account is disabled."
			case errors.As(err, &refused):
				detail = "The token is " + refused.Reason + ". Make a new one."
			case !errors.Is(err, store.ErrBadToken):
				apiHandle(x.logger, func(http.ResponseWriter, *http.Request) error { return err })(w, r)
				return
			}
			p := newProblem(http.StatusUnauthorized, "unauthorized", "The token is not valid", detail)
			p.challenge = `Bearer realm="srm", error="invalid_token"`
			writeProblem(w, p)
			return
		}
		if wait := x.limit.take(c.Token.ID); wait > 0 {
			p := newProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests",
				"This token has made more requests than srm allows a minute. Wait Retry-After seconds.")
			p.retryAfter = int(math.Ceil(wait.Seconds()))
			writeProblem(w, p)
			return
		}
		ctx = context.WithValue(r.Context(), callerKey{}, c)
		ctx = store.WithActor(ctx, store.Actor{UserID: c.User.ID, Name: fmt.Sprintf("%s (API token %q)", c.User.Email, c.Token.Name),
			IP: ip, UserAgent: r.UserAgent()})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// need lets a request through only when its caller's role allows need,
// and, for a write, when the token is read-write.
func need(role srm.Role, write bool, fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := caller(r)
		switch {
		case write && !c.Token.Writable:
			return newProblem(http.StatusForbidden, "read-only-token", "This token only reads",
				"The token is read-only. Make a read-write token to change anything.")
		case !c.User.Role.Allows(role):
			return newProblem(http.StatusForbidden, "forbidden", "Your role cannot do this",
				fmt.Sprintf("The token acts as %s, a %s; this needs %s.", c.User.Email, c.User.Role, role))
		}
		return fn(w, r)
	}
}

// decodeJSON reads r's body, a JSON object, into v: 415 unless it is
// application/json, 413 when larger than apiMaxBody, 400 with where the
// JSON breaks, 422 naming a field srm does not know or whose value is of
// the wrong type.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Send JSON",
			"The body must be application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, apiMaxBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return brokenJSON(body, dec.InputOffset(), "There is more after the JSON value; send one object.")
		}
		return nil
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return brokenJSON(body, syntax.Offset, "The body is not valid JSON: "+syntax.Error()+".")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return brokenJSON(body, int64(len(body)), "The body ends before its JSON value does.")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return brokenJSON(body, typ.Offset, "Send a JSON object.")
		}
		return invalid(srm.Problems{field: "Expected " + jsonKind(typ.Type.Kind().String()) + ", got " + typ.Value + "."})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(srm.Problems{field: "srm does not know this field. The OpenAPI document lists the fields."})
	}
	return brokenJSON(body, dec.InputOffset(), "The body is not valid JSON.")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "true or false"
	case k == "string":
		return "a string"
	case k == "slice":
		return "an array"
	}
	return "an object"
}

// brokenJSON is a 400 saying where in body the JSON breaks.
func brokenJSON(body []byte, offset int64, detail string) *problem {
	p := newProblem(http.StatusBadRequest, "bad-json", "The JSON is broken", detail)
	offset = min(max(offset, 0), int64(len(body)))
	p.Offset, p.Line, p.Column = offset, 1, 1
	for _, c := range body[:offset] {
		if c == '\n' {
			p.Line, p.Column = p.Line+1, 1
		} else {
			p.Column++
		}
	}
	return p
}

// rateLimiter is a token bucket per API token: perMinute requests a
// minute, in bursts of up to perMinute.
type rateLimiter struct {
	mu        sync.Mutex
	perMinute float64
	now       func() time.Time
	buckets   map[int64]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), now: now, buckets: map[int64]*bucket{}}
}

// take spends one request of token id, or says how long to wait for one.
func (l *rateLimiter) take(id int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[id]
	if !ok {
		if len(l.buckets) > 100_000 { // forget full buckets rather than grow forever
			for k, old := range l.buckets {
				if now.Sub(old.at) > time.Minute {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.perMinute, at: now}
		l.buckets[id] = b
	}
	rate := l.perMinute / 60 // a second
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = min(l.perMinute, b.tokens+elapsed*rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

// apiRoutes is the API's whole URL surface, with the role and the kind of
// token each route needs. Anything not listed is a 404 problem.
func apiRoutes(logger *slog.Logger, st *store.Store, cfg Config) http.Handler {
	limit := cfg.APIRateLimit
	if limit <= 0 {
		limit = DefaultAPIRateLimit
	}
	x := &apiServer{st: st, logger: logger, limit: newRateLimiter(limit, cfg.Now)}
	h := func(fn handlerFunc) http.HandlerFunc { return apiHandle(logger, fn) }
	read := func(role srm.Role, fn handlerFunc) http.HandlerFunc { return h(need(role, false, fn)) }
	write := func(role srm.Role, fn handlerFunc) http.HandlerFunc { return h(need(role, true, fn)) }

	r := chi.NewRouter()
	r.NotFound(h(func(http.ResponseWriter, *http.Request) error { return srm.ErrNotFound }))
	r.MethodNotAllowed(h(func(http.ResponseWriter, *http.Request) error { return errMethod }))
	r.Get("/v1/openapi.json", serveOpenAPI)
	r.Group(func(r chi.Router) {
		r.Use(x.authenticate)
		r.Get("/v1/workloads", read(srm.RoleViewer, apiWorkloads(st)))
		r.Post("/v1/workloads", write(srm.RoleAdmin, apiCreateWorkload(st)))
		r.Post("/v1/workloads/import", write(srm.RoleAdmin, apiImport(st)))
		r.Get("/v1/workloads/{id}", read(srm.RoleViewer, apiWorkload(st)))
		r.Put("/v1/workloads/{id}", write(srm.RoleAdmin, apiUpdateWorkload(st)))
		r.Delete("/v1/workloads/{id}", write(srm.RoleAdmin, apiDeleteWorkload(st)))
		r.Get("/v1/workloads/{id}/controls", read(srm.RoleViewer, apiControls(st)))
		r.Get("/v1/workloads/{id}/ssp", read(srm.RoleViewer, apiSSP(st)))
		r.Get("/v1/workloads/{id}/controls/{cid}", read(srm.RoleViewer, apiControl(st)))
		r.Put("/v1/workloads/{id}/controls/{cid}", write(srm.RoleEditor, apiSaveStatus(st)))
		r.Get("/v1/owners", read(srm.RoleViewer, apiOwners(st)))
		r.Get("/v1/frameworks", read(srm.RoleViewer, apiFrameworks(st)))
		r.Get("/v1/baselines", read(srm.RoleViewer, apiBaselines(st)))
		r.Get("/v1/audit", read(srm.RoleAdmin, apiAudit(st)))
		// The site's downloads, at the same paths with the same queries (exports.go).
		for _, f := range []exchange.Format{exchange.CSV, exchange.XLSX} {
			r.Get("/v1/portfolio"+f.Ext(), read(srm.RoleViewer, portfolioExport(st, f)))
			r.Get("/v1/workloads/{id}/checklist"+f.Ext(), read(srm.RoleViewer, checklistExport(st, f)))
			r.Get("/v1/workloads/{id}/crm"+f.Ext(), read(srm.RoleViewer, crmExport(st, f)))
			r.Get("/v1/owners/{id}/queue"+f.Ext(), read(srm.RoleViewer, queueExport(st, f)))
			r.Get("/v1/matrix"+f.Ext(), read(srm.RoleViewer, matrixExport(st, f)))
		}
	})
	return r
}
