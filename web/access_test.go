package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// public are the routes anyone may use signed out.
var public = map[string]bool{
	"GET /healthz":               true,
	"GET /readyz":                true,
	"GET /static/*":              true,
	"GET /favicon.ico":           true,
	"GET /signin":                true,
	"POST /signin":               true,
	"POST /signin/oidc":          true,
	"GET /signin/oidc/callback":  true,
	"HEAD /healthz":              true,
	"HEAD /readyz":               true,
	"HEAD /static/*":             true,
	"HEAD /favicon.ico":          true,
	"HEAD /signin":               true,
	"HEAD /signin/oidc/callback": true,
}

// anyStage are the routes for anyone signed in, whatever their role and
// however far they have got with signing in.
var anyStage = map[string]bool{
	"GET /signin/code":     true,
	"POST /signin/code":    true,
	"POST /signout":        true,
	"GET /account/mfa":     true,
	"POST /account/mfa":    true,
	"POST /reauth/sso":     true,
	"GET /reauth/continue": true,
	"HEAD /signin/code":    true,
	"HEAD /account/mfa":    true,
	"HEAD /account":        true,
}

// needs is the least role each route asks for. Every route the router has
// must be here, in public or in anyStage: a new route without a decision
// fails TestEveryRouteHasAnAccessDecision.
var needs = map[string]srm.Role{
	"GET /":                                               srm.RoleViewer,
	"GET /my":                                             srm.RoleViewer,
	"GET /account":                                        srm.RoleViewer,
	"POST /account/mfa/remove":                            srm.RoleViewer,
	"POST /account/mfa/codes":                             srm.RoleViewer,
	"POST /account/password":                              srm.RoleViewer,
	"GET /workloads/{id}":                                 srm.RoleViewer,
	"GET /workloads/{id}/history":                         srm.RoleViewer,
	"GET /workloads/{id}/checklist.csv":                   srm.RoleViewer,
	"GET /workloads/{id}/checklist.xlsx":                  srm.RoleViewer,
	"GET /workloads/{id}/ssp.json":                        srm.RoleViewer,
	"GET /portfolio.csv":                                  srm.RoleViewer,
	"GET /portfolio.xlsx":                                 srm.RoleViewer,
	"GET /workloads/{id}/crm.csv":                         srm.RoleViewer,
	"GET /workloads/{id}/crm.xlsx":                        srm.RoleViewer,
	"GET /owners/{id}/queue.csv":                          srm.RoleViewer,
	"GET /owners/{id}/queue.xlsx":                         srm.RoleViewer,
	"GET /matrix.csv":                                     srm.RoleViewer,
	"GET /matrix.xlsx":                                    srm.RoleViewer,
	"GET /matrix":                                         srm.RoleViewer,
	"GET /matrix/compare":                                 srm.RoleViewer,
	"GET /owners":                                         srm.RoleViewer,
	"GET /owners/{id}":                                    srm.RoleViewer,
	"GET /controls":                                       srm.RoleViewer,
	"POST /workloads/{id}/controls/{cid}":                 srm.RoleEditor,
	"GET /workloads/{id}/controls/{cid}":                  srm.RoleViewer,
	"POST /workloads/{id}/bulk":                           srm.RoleEditor,
	"GET /workloads/{id}/controls/{cid}/override":         srm.RoleEditor,
	"POST /workloads/{id}/controls/{cid}/override":        srm.RoleEditor,
	"POST /workloads/{id}/controls/{cid}/override/delete": srm.RoleEditor,
	"POST /owners":                                        srm.RoleEditor,
	"GET /workloads/new":                                  srm.RoleAdmin,
	"GET /workloads/import":                               srm.RoleAdmin,
	"POST /workloads/import":                              srm.RoleAdmin,
	"POST /workloads":                                     srm.RoleAdmin,
	"GET /workloads/{id}/edit":                            srm.RoleAdmin,
	"POST /workloads/{id}":                                srm.RoleAdmin,
	"GET /workloads/{id}/delete":                          srm.RoleAdmin,
	"POST /workloads/{id}/delete":                         srm.RoleAdmin,
	"GET /workloads/{id}/frameworks":                      srm.RoleAdmin,
	"POST /workloads/{id}/frameworks/{fid}":               srm.RoleAdmin,
	"POST /workloads/{id}/frameworks/{fid}/delete":        srm.RoleAdmin,
	"GET /controls/new":                                   srm.RoleAdmin,
	"POST /controls":                                      srm.RoleAdmin,
	"GET /controls/{id}/edit":                             srm.RoleAdmin,
	"POST /controls/{id}":                                 srm.RoleAdmin,
	"POST /controls/{id}/delete":                          srm.RoleAdmin,
	"GET /audit":                                          srm.RoleAdmin,
	"GET /audit.csv":                                      srm.RoleAdmin,
	"GET /admin/users":                                    srm.RoleAdmin,
	"POST /admin/users":                                   srm.RoleAdmin,
	"GET /admin/users/{id}":                               srm.RoleAdmin,
	"POST /admin/users/{id}":                              srm.RoleAdmin,
	"POST /admin/users/{id}/revoke":                       srm.RoleAdmin,
	"POST /admin/users/{id}/mfa/reset":                    srm.RoleAdmin,
	"POST /admin/users/{id}/unlock":                       srm.RoleAdmin,
	"POST /admin/users/{id}/owner":                        srm.RoleAdmin,
	"POST /admin/settings":                                srm.RoleAdmin,
	"GET /account/tokens":                                 srm.RoleViewer,
	"POST /account/tokens":                                srm.RoleViewer,
	"POST /account/tokens/{tid}/revoke":                   srm.RoleViewer,
	"GET /admin/users/{id}/tokens":                        srm.RoleAdmin,
	"POST /admin/users/{id}/tokens":                       srm.RoleAdmin,
	"POST /admin/users/{id}/tokens/{tid}/revoke":          srm.RoleAdmin,
	"GET /admin/frameworks":                               srm.RoleAdmin,
	"POST /admin/frameworks":                              srm.RoleAdmin,
	"POST /admin/frameworks/builtin":                      srm.RoleAdmin,
	"GET /admin/frameworks/{slug}":                        srm.RoleAdmin,
	"POST /admin/frameworks/{slug}/families":              srm.RoleAdmin,
}

// route is one method and pattern of the router.
type route struct{ method, pattern string }

func (r route) key() string { return r.method + " " + r.pattern }

// routes walks the server's router.
func routes(t *testing.T, srv http.Handler) []route {
	t.Helper()
	mux, ok := srv.(chi.Routes)
	if !ok {
		t.Fatalf("the server is a %T, not a chi router", srv)
	}
	var out []route
	err := chi.Walk(mux, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/") {
			return nil // tokens, not sessions: apiNeeds and its tests in api_test.go
		}
		out = append(out, route{method, strings.TrimSuffix(pattern, "/")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if out[i].pattern == "" {
			out[i].pattern = "/"
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

func TestEveryRouteHasAnAccessDecision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, r := range routes(t, h.srv) {
		k := r.key()
		if _, ok := needs[k]; !ok && !public[k] && !anyStage[k] {
			t.Errorf("route %s has no access decision in access_test.go: add it to needs, public or anyStage", k)
		}
	}
}

// routeFixture is one of each thing the routes name, and the paths with their
// ids filled in.
type routeFixture struct {
	workload srm.Workload
	control  int64 // a customer control of the workload
	custom   srm.Control
	owner    srm.Owner
	user     srm.User // an account for the /admin/users/{id} routes
}

func newFixture(h *harness) routeFixture {
	h.t.Helper()
	f := routeFixture{workload: h.workload("Access fixture", srm.IaaS), owner: h.owner("Access team")}
	f.control = h.controlID("Patching of systems")
	f.custom = srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Access fixture control"}
	if err := h.st.CreateControl(storetest.Context(h.t), &f.custom); err != nil {
		h.t.Fatal(err)
	}
	f.user = newUser(h.t, h.st, "fixture@example.com", srm.RoleViewer)
	return f
}

func (f routeFixture) path(pattern string) string {
	p := pattern
	switch {
	case strings.HasPrefix(p, "/workloads/{id}"):
		p = strings.Replace(p, "{id}", fmt.Sprint(f.workload.ID), 1)
	case strings.HasPrefix(p, "/owners/{id}"):
		p = strings.Replace(p, "{id}", fmt.Sprint(f.owner.ID), 1)
	case strings.HasPrefix(p, "/controls/{id}"):
		p = strings.Replace(p, "{id}", fmt.Sprint(f.custom.ID), 1)
	case strings.HasPrefix(p, "/admin/users/{id}"):
		p = strings.Replace(p, "{id}", fmt.Sprint(f.user.ID), 1)
	case p == "/static/*":
		p = "/static/css/app.css"
	}
	return strings.Replace(p, "{cid}", fmt.Sprint(f.control), 1)
}

func TestSignedOutRequestsAreSentToSignInOrRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := newFixture(h)
	out := h.signedOut()
	paths := append(routes(t, h.srv), route{"GET", "/no/such/page"}, route{"POST", "/no/such/page"}, route{"DELETE", "/workloads/1"})
	for _, r := range paths {
		if public[r.key()] {
			continue
		}
		path := f.path(r.pattern)
		req := httptest.NewRequest(r.method, path, strings.NewReader("name=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := out.do(req)
		switch r.method {
		case http.MethodGet, http.MethodHead:
			if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin?next=") {
				t.Errorf("signed-out %s %s: %d to %q, want 303 to /signin?next=…", r.method, path, rec.Code, rec.Header().Get("Location"))
			}
		default:
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("signed-out %s %s: %d, want 401", r.method, path, rec.Code)
			}
		}
	}
	if n := sessionRows(t, h); n != 1 {
		t.Errorf("%d session rows after signed-out requests, want only the admin's 1", n)
	}
}

// auditCount is the number of audit rows.
func auditCount(t *testing.T, h *harness) int {
	t.Helper()
	return count(t, h, `SELECT count(*) FROM audit`)
}

func sessionRows(t *testing.T, h *harness) int {
	t.Helper()
	return count(t, h, `SELECT count(*) FROM sessions`)
}

func count(t *testing.T, h *harness, sql string) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEveryRouteAnswersEachRoleAsTheTableSays(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := newFixture(h)
	sessions := map[srm.Role]*harness{srm.RoleViewer: h.as(srm.RoleViewer), srm.RoleEditor: h.as(srm.RoleEditor), srm.RoleAdmin: h.as(srm.RoleAdmin)}
	var all []route
	for _, r := range routes(t, h.srv) {
		if _, ok := needs[r.key()]; ok {
			all = append(all, r)
		}
	}
	// Deletions last, so what the other routes name is still there.
	slices.SortStableFunc(all, func(a, b route) int {
		return strings.Compare(fmt.Sprint(strings.HasSuffix(a.pattern, "/delete")), fmt.Sprint(strings.HasSuffix(b.pattern, "/delete")))
	})
	for _, r := range all {
		need := needs[r.key()]
		for _, role := range srm.Roles {
			path := f.path(r.pattern)
			req := httptest.NewRequest(r.method, path, strings.NewReader(""))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := sessions[role].do(req)
			allowed := role.Allows(need)
			switch {
			case allowed && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized || rec.Code >= 500):
				t.Errorf("%s %s as %s: %d, want it allowed (this route needs %s)", r.method, path, role, rec.Code, need)
			case !allowed && rec.Code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403 (this route needs %s)", r.method, path, role, rec.Code, need)
			}
		}
	}
}

func TestNoGetChangesAnything(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := newFixture(h)
	before := auditCount(t, h)
	for _, r := range routes(t, h.srv) {
		if r.method != http.MethodGet {
			continue
		}
		h.get(f.path(r.pattern))
	}
	if after := auditCount(t, h); after != before {
		t.Errorf("GET requests wrote %d audit rows; a GET must change nothing", after-before)
	}
}

func TestUnsafeRequestsNeedTheSessionsToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	f := newFixture(h)
	before := auditCount(t, h)
	for _, r := range routes(t, h.srv) {
		if r.method != http.MethodPost || public[r.key()] {
			continue
		}
		path := f.path(r.pattern)
		forged := "x" + h.csrf[1:]
		if forged == h.csrf { // the real token starts with x one time in 64
			forged = "y" + h.csrf[1:]
		}
		for name, token := range map[string]string{"no token": "", "another session's token": forged} {
			req := httptest.NewRequest(r.method, path, strings.NewReader(url.Values{"csrf": {token}, "name": {"Forged"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// The session's cookie set by hand, so the harness adds no token.
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
			if token != "" {
				req.Header.Set("X-CSRF-Token", token)
			}
			rec := h.do(req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 403", path, name, rec.Code)
			}
		}
	}
	if after := auditCount(t, h); after != before {
		t.Errorf("forged requests wrote %d audit rows; they must change nothing", after-before)
	}
	// A cross-site browser request is refused before the token is looked at.
	req := httptest.NewRequest(http.MethodPost, "/owners", strings.NewReader("owner_name=Cross+site&owner_kind=team"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := h.do(req); rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST /owners: %d, want 403", rec.Code)
	}
}
