package web_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

func wpath(id any) string { return fmt.Sprint("/api/v1/workloads/", id) }

// apiAuditRows counts the trail's rows with action.
func apiAuditRows(t *testing.T, h *harness, action string) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM audit WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAPIWorkloadWritesCarryTheirVersionAndRetriesChangeNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, admin := h.apiToken(srm.RoleAdmin, true)
	bid := h.baselineID("azure-chart")

	var w struct {
		ID         int64
		Version    int64
		Name       string
		Model      string
		Frameworks []int64
	}
	res := c.do("POST", "/api/v1/workloads", map[string]any{"name": "Billing API", "model": "paas", "baseline_id": bid}).want("create", 201, "")
	res.decode(&w)
	if res.Header().Get("Location") != wpath(w.ID) || res.Header().Get("ETag") != `"1"` || w.Version != 1 || len(w.Frameworks) != 1 {
		t.Errorf("create: Location %q, ETag %q, %+v", res.Header().Get("Location"), res.Header().Get("ETag"), w)
	}
	// A retried creation makes no second workload.
	c.do("POST", "/api/v1/workloads", map[string]any{"name": "billing api", "model": "paas", "baseline_id": bid}).want("create again", 409, "name-taken")
	c.do("POST", "/api/v1/workloads", map[string]any{"name": " ", "model": "cloud", "baseline_id": bid}).want("create invalid", 422, "invalid")

	move := map[string]any{"name": "Billing API", "description": "Invoices", "model": "iaas", "baseline_id": bid}
	c.do("PUT", wpath(w.ID), move).want("update without a version", 422, "invalid")
	res = c.do("PUT", wpath(w.ID), move, "If-Match", `"1"`).want("update", 200, "")
	res.decode(&w)
	if w.Version != 2 || w.Model != "iaas" || res.Header().Get("ETag") != `"2"` {
		t.Fatalf("update: %+v, ETag %q", w, res.Header().Get("ETag"))
	}
	updates := apiAuditRows(t, h, "workload.updated")
	// The same write again, from the same version: saved already, nothing changes.
	res = c.do("PUT", wpath(w.ID), move, "If-Match", `"1"`).want("retry", 200, "")
	res.decode(&w)
	if w.Version != 2 || apiAuditRows(t, h, "workload.updated") != updates {
		t.Errorf("retry: version %d, %d more audit rows; want 2 and none", w.Version, apiAuditRows(t, h, "workload.updated")-updates)
	}
	// Another write from the old version: 409 with what is stored now.
	move["version"], move["description"] = 1, "Someone else's"
	p := c.do("PUT", wpath(w.ID), move).want("stale", 409, "stale").json()
	cur, _ := p["current"].(map[string]any)
	if cur["version"] != float64(2) || cur["description"] != "Invoices" {
		t.Errorf("stale: current = %v, want version 2 with the stored description", cur)
	}
	c.do("PUT", wpath(w.ID), move, "If-Match", `"2"`).want("version and If-Match disagree", 422, "invalid")
	move["frameworks"] = []int64{1}
	c.do("PUT", wpath(w.ID), move).want("frameworks on update", 422, "invalid")

	c.do("DELETE", wpath(w.ID), nil).want("delete", 204, "")
	c.do("DELETE", wpath(w.ID), nil).want("delete again", 404, "not-found")
	c.get(wpath(w.ID)).want("read deleted", 404, "not-found")

	// The trail names the person and the token.
	page, err := h.st.Audit(storetest.Context(t), store.AuditQuery{Action: "workload.deleted"})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].ActorID != admin.ID ||
		page.Entries[0].Actor != admin.Email+` (API token "test token")` {
		t.Fatalf("workload.deleted rows: %+v, %v", page.Entries, err)
	}
}

func TestAPIStatusWriteIsConditionalAndIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, _ := h.apiToken(srm.RoleEditor, true)
	w := h.workload("Status API", srm.IaaS)
	patching, physical := h.controlID("Patching of systems"), h.controlID("Physical security of buildings and datacenters")
	path := fmt.Sprint(wpath(w.ID), "/controls/", patching)

	body := map[string]any{"version": 0, "owner": "Platform team", "owner_kind": "team", "complete": true, "note": "Monthly", "evidence": "https://wiki.example.com/patching"}
	var a struct {
		Party  string
		Status struct {
			Owner       *struct{ Name string }
			CompletedBy string `json:"completed_by"`
			Version     int64
		}
	}
	c.do("PUT", path, body).want("first save", 200, "").decode(&a)
	if a.Party != "customer" || a.Status.Version != 1 || a.Status.Owner == nil || a.Status.Owner.Name != "Platform team" || a.Status.CompletedBy != "Platform team" {
		t.Fatalf("first save: %+v", a)
	}
	rows := apiAuditRows(t, h, "status.updated") + apiAuditRows(t, h, "status.created")
	// The client never saw the answer and sends it again: nothing changes.
	c.do("PUT", path, body).want("retry", 200, "").decode(&a)
	if a.Status.Version != 1 || apiAuditRows(t, h, "status.updated")+apiAuditRows(t, h, "status.created") != rows {
		t.Errorf("retry: version %d; want 1 and no new audit row", a.Status.Version)
	}
	// A different write from version 0: someone saved first.
	body["note"] = "Weekly"
	res := c.do("PUT", path, body).want("stale", 409, "stale")
	cur, _ := res.json()["current"].(map[string]any)
	if cur["version"] != float64(1) || cur["note"] != "Monthly" || res.Header().Get("ETag") != `"1"` {
		t.Errorf("stale: current %v, ETag %q", cur, res.Header().Get("ETag"))
	}
	delete(body, "version")
	c.do("PUT", path, body, "If-Match", `"1"`).want("with If-Match", 200, "").decode(&a)
	if a.Status.Version != 2 {
		t.Errorf("with If-Match: version %d, want 2", a.Status.Version)
	}
	if got := c.get(path).want("read", 200, "").Header().Get("ETag"); got != `"2"` {
		t.Errorf("GET control: ETag %q, want \"2\"", got)
	}

	c.do("PUT", path, map[string]any{"version": 2, "complete": true}).want("complete without an owner", 422, "invalid")
	p := c.do("PUT", path, map[string]any{"version": 2, "not_applicable": true, "evidence": "ftp://x"}).want("NA without a reason", 422, "invalid").json()
	fields := map[string]bool{}
	for _, e := range p["errors"].([]any) {
		fields[e.(map[string]any)["field"].(string)] = true
	}
	if !fields["na_reason"] || !fields["evidence"] {
		t.Errorf("422 names %v, want na_reason and evidence", fields)
	}
	c.do("PUT", fmt.Sprint(wpath(w.ID), "/controls/", physical), map[string]any{"version": 0, "note": "x"}).want("Azure's control", 409, "provider-control")
	c.do("PUT", fmt.Sprint(wpath(w.ID), "/controls/999999"), map[string]any{"version": 0}).want("unknown control", 404, "not-found")
}

func TestAPIProblemsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, _ := h.apiToken(srm.RoleAdmin, true)
	bid := h.baselineID("azure-chart")

	p := c.do("POST", "/api/v1/workloads", "{\n  \"name\": \"x\",\n  \"model\" \"paas\"\n}").want("broken JSON", 400, "bad-json").json()
	if p["line"] != float64(3) || p["column"] == nil || p["offset"] == nil {
		t.Errorf("broken JSON: line %v, column %v, offset %v; want line 3", p["line"], p["column"], p["offset"])
	}
	c.do("POST", "/api/v1/workloads", `{"name": "x"`).want("cut short", 400, "bad-json")
	c.do("POST", "/api/v1/workloads", `{"name": "x", "model": "paas", "baseline_id": 1} {}`).want("two values", 400, "bad-json")
	c.do("POST", "/api/v1/workloads", "name=x", "Content-Type", "application/x-www-form-urlencoded").want("a form", 415, "unsupported-media-type")
	c.do("POST", "/api/v1/workloads", map[string]any{"name": strings.Repeat("x", 70<<10), "model": "paas", "baseline_id": bid}).want("too large", 413, "too-large")
	p = c.do("POST", "/api/v1/workloads", map[string]any{"name": "x", "model": "paas", "baseline_id": bid, "owner": "me"}).want("unknown field", 422, "invalid").json()
	if e := p["errors"].([]any)[0].(map[string]any); e["field"] != "owner" || e["pointer"] != "/owner" {
		t.Errorf("unknown field: %v", e)
	}
	p = c.do("POST", "/api/v1/workloads", map[string]any{"name": "x", "model": "paas", "baseline_id": "one"}).want("wrong type", 422, "invalid").json()
	if e := p["errors"].([]any)[0].(map[string]any); e["field"] != "baseline_id" {
		t.Errorf("wrong type: %v", e)
	}
	c.get("/api/v1/workloads?model=cloud").want("bad filter", 400, "bad-request")
	c.get("/api/v1/workloads?limit=0").want("bad limit", 400, "bad-request")
	c.get("/api/v1/workloads/abc").want("bad id", 400, "bad-request")
	c.get("/api/v1/audit?from=yesterday").want("bad time", 400, "bad-request")
	c.get("/api/v1/nothing").want("unknown address", 404, "not-found")
	c.get("/api/elsewhere").want("outside v1", 404, "not-found")
	c.do("PATCH", wpath(1), map[string]any{}).want("unknown method", 405, "method-not-allowed")
	c.do("PUT", wpath(1), map[string]any{"name": "x", "model": "paas", "baseline_id": bid}, "If-Match", "abc").want("bad If-Match", 400, "bad-request")
	r := apiClient{h: h}.get("/api/v1/workloads").want("no token", 401, "unauthorized")
	if got := r.Header().Get("WWW-Authenticate"); got != `Bearer realm="srm"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	r = apiClient{h: h, token: "srm_" + strings.Repeat("x", 43)}.get("/api/v1/workloads").want("unknown token", 401, "unauthorized")
	if got := r.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

func TestAPIWorkloadListPagesByKeysetWithThePortfoliosFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, _ := h.apiToken(srm.RoleViewer, false)
	for _, n := range []string{"Echo", "alpha", "Delta", "charlie", "Bravo"} {
		h.workload(n, srm.PaaS)
	}
	h.workload("Zulu VMs", srm.IaaS)
	var names []string
	path := "/api/v1/workloads?model=paas&limit=2"
	for pages := 0; path != "" && pages < 5; pages++ {
		var page struct {
			Items []struct{ Name, Model string }
			Total int
			Next  string
		}
		c.get(path).want("page", 200, "").decode(&page)
		if page.Total != 5 {
			t.Errorf("%s: total %d, want 5", path, page.Total)
		}
		for _, w := range page.Items {
			names = append(names, w.Name)
		}
		path = page.Next
	}
	if got := strings.Join(names, ","); got != "alpha,Bravo,charlie,Delta,Echo" {
		t.Errorf("PaaS workloads by name, two a page: %s", got)
	}
	var all struct{ Total int }
	c.get("/api/v1/workloads?sort=-progress").want("all", 200, "").decode(&all)
	if all.Total != 6 {
		t.Errorf("all workloads: total %d, want 6", all.Total)
	}
}

func TestAPIDisabledOwnerOrLowerRoleStopsATokenOnItsNextRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, u := h.apiToken(srm.RoleAdmin, true)
	w := h.workload("Role change", srm.PaaS)
	c.get("/api/v1/audit").want("admin reads the trail", 200, "")
	u.Role = srm.RoleViewer
	u, err := h.st.UpdateUser(storetest.Context(t), u)
	if err != nil {
		t.Fatal(err)
	}
	c.get("/api/v1/audit").want("demoted to viewer", 403, "forbidden")
	c.do("DELETE", wpath(w.ID), nil).want("viewer deletes", 403, "forbidden")
	c.get(wpath(w.ID)).want("viewer reads", 200, "")
	u.Disabled = true
	if _, err := h.st.UpdateUser(storetest.Context(t), u); err != nil {
		t.Fatal(err)
	}
	c.get(wpath(w.ID)).want("disabled", 401, "unauthorized")
	if n := apiAuditRows(t, h, "token.refused"); n != 1 {
		t.Errorf("token.refused rows = %d, want 1", n)
	}
}

func TestAPIRateLimitsEachToken(t *testing.T) {
	t.Parallel()
	pool, _ := storetest.AppPool(t, nil)
	st := store.New(pool)
	clock := &testClock{}
	h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{APIRateLimit: 3, Now: clock.Now})}
	a, _ := h.apiToken(srm.RoleViewer, false)
	b, _ := h.apiToken(srm.RoleViewer, false)
	for i := range 3 {
		a.get("/api/v1/owners").want(fmt.Sprint("request ", i+1), 200, "")
	}
	r := a.get("/api/v1/owners").want("fourth request", 429, "rate-limited")
	if got := r.Header().Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After = %q, want 20 (three a minute)", got)
	}
	b.get("/api/v1/owners").want("another token", 200, "")
	clock.advance(20 * time.Second)
	a.get("/api/v1/owners").want("after waiting", 200, "")
}

func TestAPIIsNotSubjectToTheBrowsersAntiForgeryChecks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, _ := h.apiToken(srm.RoleAdmin, true)
	c.do("POST", "/api/v1/workloads", map[string]any{"name": "From a pipeline", "model": "saas", "baseline_id": h.baselineID("azure-chart")},
		"Sec-Fetch-Site", "cross-site", "Origin", "https://ci.example.com").want("cross-site with a token", 201, "")
	apiClient{h: h}.do("POST", "/api/v1/workloads", map[string]any{"name": "x", "model": "saas", "baseline_id": 1},
		"Sec-Fetch-Site", "cross-site").want("cross-site without a token", 401, "unauthorized")
}

func TestAPIReferenceDataAndAuditTrail(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c, _ := h.apiToken(srm.RoleAdmin, false)
	h.owner("Network team")
	var owners struct{ Items []struct{ Name, Kind string } }
	c.get("/api/v1/owners").want("owners", 200, "").decode(&owners)
	if len(owners.Items) == 0 || owners.Items[0].Name != "Network team" {
		t.Errorf("owners: %+v", owners)
	}
	var fws struct{ Items []struct{ Slug string } }
	c.get("/api/v1/frameworks").want("frameworks", 200, "").decode(&fws)
	if len(fws.Items) == 0 || fws.Items[0].Slug != srm.SRMFramework {
		t.Errorf("frameworks: %+v", fws)
	}
	var bs struct {
		Items []struct {
			Slug string
			Rows []struct {
				Area  string
				Cells map[string]string
			}
		}
	}
	c.get("/api/v1/baselines").want("baselines", 200, "").decode(&bs)
	found := false
	for _, b := range bs.Items {
		for _, r := range b.Rows {
			if b.Slug == "azure-chart" && r.Area == "operating-system" {
				found = r.Cells["iaas"] == "customer" && r.Cells["paas"] == "provider"
			}
		}
	}
	if !found {
		t.Error("baselines: the Azure chart's operating system row is not customer under IaaS and Azure's under PaaS")
	}
	h.owner("Data team")
	var ids []int64
	path := "/api/v1/audit?action=owner.created&limit=1"
	for pages := 0; path != "" && pages < 10; pages++ {
		var page struct {
			Items []struct {
				ID     int64
				Action string
			}
			Next string
		}
		c.get(path).want("audit", 200, "").decode(&page)
		for _, e := range page.Items {
			if e.Action != "owner.created" || (len(ids) > 0 && e.ID >= ids[len(ids)-1]) {
				t.Errorf("audit page %s: %+v after ids %v; want older owner.created rows", path, e, ids)
			}
			ids = append(ids, e.ID)
		}
		path = page.Next
	}
	if want := apiAuditRows(t, h, "owner.created"); len(ids) != want || want < 2 {
		t.Errorf("audit pages of one row gave %d rows, want every owner.created row (%d)", len(ids), want)
	}
	served := c.get("/api/v1/openapi.json").want("document", 200, "")
	file, err := os.ReadFile("api_openapi.json")
	if err != nil || served.Body.String() != string(file) {
		t.Error("/api/v1/openapi.json is not the document the tests check against")
	}
	_ = http.StatusOK
}
