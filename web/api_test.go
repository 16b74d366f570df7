package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// apiNeed is what an API route asks of a token: the least role of its
// account, and whether it must be read-write. public: no token at all.
type apiNeed struct {
	role   srm.Role
	write  bool
	public bool
}

// apiNeeds is every route of the API. A route the router has and this
// table lacks fails TestEveryAPIRouteIsInTheTable.
var apiNeeds = map[string]apiNeed{
	"GET /api/v1/openapi.json":                  {public: true},
	"GET /api/v1/workloads":                     {role: srm.RoleViewer},
	"POST /api/v1/workloads":                    {role: srm.RoleAdmin, write: true},
	"POST /api/v1/workloads/import":             {role: srm.RoleAdmin, write: true},
	"GET /api/v1/workloads/{id}":                {role: srm.RoleViewer},
	"PUT /api/v1/workloads/{id}":                {role: srm.RoleAdmin, write: true},
	"DELETE /api/v1/workloads/{id}":             {role: srm.RoleAdmin, write: true},
	"GET /api/v1/workloads/{id}/controls":       {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/ssp":            {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/controls/{cid}": {role: srm.RoleViewer},
	"PUT /api/v1/workloads/{id}/controls/{cid}": {role: srm.RoleEditor, write: true},
	"GET /api/v1/owners":                        {role: srm.RoleViewer},
	"GET /api/v1/frameworks":                    {role: srm.RoleViewer},
	"GET /api/v1/baselines":                     {role: srm.RoleViewer},
	"GET /api/v1/audit":                         {role: srm.RoleAdmin},
	// Downloads: read-only tokens may export.
	"GET /api/v1/portfolio.csv":                 {role: srm.RoleViewer},
	"GET /api/v1/portfolio.xlsx":                {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/checklist.csv":  {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/checklist.xlsx": {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/crm.csv":        {role: srm.RoleViewer},
	"GET /api/v1/workloads/{id}/crm.xlsx":       {role: srm.RoleViewer},
	"GET /api/v1/owners/{id}/queue.csv":         {role: srm.RoleViewer},
	"GET /api/v1/owners/{id}/queue.xlsx":        {role: srm.RoleViewer},
	"GET /api/v1/matrix.csv":                    {role: srm.RoleViewer},
	"GET /api/v1/matrix.xlsx":                   {role: srm.RoleViewer},
}

// apiRouteList walks the server's router for the API's routes, as
// "METHOD pattern".
func apiRouteList(t *testing.T, srv http.Handler) []string {
	t.Helper()
	var out []string
	err := chi.Walk(srv.(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(pattern, "/api/") && method != http.MethodHead {
			out = append(out, method+" "+pattern)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestEveryAPIRouteIsInTheTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := apiRouteList(t, h.srv)
	for _, k := range got {
		if _, ok := apiNeeds[k]; !ok {
			t.Errorf("API route %s is not in apiNeeds: say what it needs", k)
		}
	}
	for k := range apiNeeds {
		if !slices.Contains(got, k) {
			t.Errorf("apiNeeds has %s, which the router lacks", k)
		}
	}
	// And the document describes exactly these operations.
	doc, _ := openAPI(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(documented)
	want := make([]string, 0, len(got))
	for _, k := range got {
		m, p, _ := strings.Cut(k, " ")
		want = append(want, m+" "+p)
	}
	if !slices.Equal(documented, want) {
		t.Errorf("the OpenAPI document's operations:\n%v\nthe router's:\n%v", documented, want)
	}
}

// apiFixture is what the table's paths and bodies name.
type apiFixture struct {
	w, del   srm.Workload
	control  int64 // a customer control of w
	baseline int64
}

func (f apiFixture) path(pattern string, method string) string {
	id := f.w.ID
	if method == http.MethodDelete {
		id = f.del.ID
	}
	p := strings.Replace(pattern, "{id}", strconv.FormatInt(id, 10), 1)
	return strings.Replace(p, "{cid}", strconv.FormatInt(f.control, 10), 1)
}

func (f apiFixture) body(key string, n int) any {
	switch key {
	case "POST /api/v1/workloads":
		return map[string]any{"name": fmt.Sprint("Table workload ", n), "model": "paas", "baseline_id": f.baseline}
	case "PUT /api/v1/workloads/{id}":
		return map[string]any{"name": f.w.Name, "model": "iaas", "baseline_id": f.baseline, "version": 1}
	case "PUT /api/v1/workloads/{id}/controls/{cid}":
		return map[string]any{"version": 0, "owner": "Table team", "owner_kind": "team", "note": "from the table"}
	}
	return nil
}

// Every route of the API against every kind of caller: no token, the
// session cookie of a signed-in admin, a revoked, an expired and a
// disabled account's token get 401; a read-only token gets 403 on writes;
// each role gets what the table says.
func TestEveryAPIRouteAnswersTokensAndRolesAsTheTableSays(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // signed in as an admin: its session cookie is tried too
	ctx := storetest.Context(t)
	f := apiFixture{w: h.workload("API table", srm.IaaS), del: h.workload("API table, to delete", srm.IaaS),
		control: h.controlID("Patching of systems"), baseline: h.baselineID("azure-chart")}

	tokens := map[string]apiClient{}
	for _, role := range srm.Roles {
		tokens[string(role)], _ = h.apiToken(role, true)
	}
	tokens["read-only admin"], _ = h.apiToken(srm.RoleAdmin, false)
	revoked, ru := h.apiToken(srm.RoleAdmin, true)
	ts, _ := h.st.Tokens(ctx, ru.ID)
	if err := h.st.RevokeToken(ctx, ru.ID, ts[0].ID); err != nil {
		t.Fatal(err)
	}
	expired, eu := h.apiToken(srm.RoleAdmin, true)
	if _, err := h.pool.Exec(ctx, `UPDATE api_tokens SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE user_id = $1`, eu.ID); err != nil {
		t.Fatal(err)
	}
	disabled, du := h.apiToken(srm.RoleAdmin, true)
	du.Disabled = true
	if _, err := h.st.UpdateUser(ctx, du); err != nil {
		t.Fatal(err)
	}
	dead := map[string]apiClient{"no token": {h: h}, "revoked token": revoked, "expired token": expired, "disabled account's token": disabled}

	keys := make([]string, 0, len(apiNeeds))
	for k := range apiNeeds {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.SortStableFunc(keys, func(a, b string) int { // deletions last
		return strings.Compare(fmt.Sprint(strings.HasPrefix(a, "DELETE")), fmt.Sprint(strings.HasPrefix(b, "DELETE")))
	})
	n := 0
	for _, key := range keys {
		need := apiNeeds[key]
		method, pattern, _ := strings.Cut(key, " ")
		path := f.path(pattern, method)
		if need.public {
			apiClient{h: h}.do(method, path, nil).want(key+" without a token", http.StatusOK, "")
			continue
		}
		for name, c := range dead {
			c.do(method, path, f.body(key, n)).want(key+" with "+name, http.StatusUnauthorized, "unauthorized")
		}
		// The session cookie of a signed-in admin, with its anti-forgery token: never accepted.
		req := httptest.NewRequest(method, path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: h.cookie})
		req.Header.Set("X-CSRF-Token", h.csrf)
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s with an admin's session cookie: %d %s, want 401 problem", key, rec.Code, rec.Header().Get("Content-Type"))
		}

		ro := tokens["read-only admin"].do(method, path, f.body(key, n))
		if need.write {
			ro.want(key+" with a read-only token", http.StatusForbidden, "read-only-token")
		} else if ro.Code == http.StatusForbidden || ro.Code == http.StatusUnauthorized || ro.Code >= 500 {
			t.Errorf("%s with a read-only admin token: %d, want it allowed", key, ro.Code)
		}
		for _, role := range srm.Roles { // admin last: it may delete what the path names
			n++
			res := tokens[string(role)].do(method, path, f.body(key, n))
			allowed := role.Allows(need.role)
			switch {
			case !allowed:
				res.want(fmt.Sprintf("%s as %s", key, role), http.StatusForbidden, "forbidden")
			case res.Code == http.StatusForbidden || res.Code == http.StatusUnauthorized || res.Code >= 500:
				t.Errorf("%s as %s: %d, want it allowed (needs %s); body:\n%s", key, role, res.Code, need.role, snippet(res.Body.String()))
			}
		}
	}
	// The writes that were allowed happened: the table's workloads exist,
	// the model changed, the status was saved, the deleted one is gone.
	if w := h.stored(f.w.ID); w.Model != srm.IaaS || w.Version != 2 {
		t.Errorf("after the table, the workload is %+v, want version 2 (one PUT saved, the retries changed nothing)", w)
	}
	if _, err := h.st.Workload(ctx, f.del.ID); err == nil {
		t.Error("DELETE as admin did not delete the workload")
	}
	if s := h.status(f.w.ID, f.control); s.OwnerName != "Table team" || s.Version != 1 {
		t.Errorf("status after the table = %+v, want Table team's, saved once", s)
	}
}
