package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

func TestMatrixShowsABaseline(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name, path, heading string
	}{
		{"defaults to the first baseline", "/matrix", "Azure chart"},
		{"chart by slug", "/matrix?baseline=azure-chart", "Azure chart"},
		{"2026 table by slug", "/matrix?baseline=azure-2026", "Azure 2026 table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := h.page(tt.path)
			if got := text(doc.Find("h1")); got != tt.heading {
				t.Errorf("GET %s: h1 = %q, want %q", tt.path, got, tt.heading)
			}
			var cells []string
			doc.Find(tid("matrix-Patching of systems")).Find("td.cell").Each(func(_ int, s *goquery.Selection) {
				cells = append(cells, text(s))
			})
			if want := []string{"Customer", "Customer", "Azure", "Azure"}; !slices.Equal(cells, want) {
				t.Errorf("GET %s: Patching of systems = %q, want %q", tt.path, cells, want)
			}
			if n := doc.Find(tid("matrix")).Find(`tr[data-testid^="matrix-"]`).Length(); n != 25 {
				t.Errorf("GET %s: %d control rows, want 25", tt.path, n)
			}
			if doc.Find(tid("matrix-layer-compute")).Find(tid("matrix-Patching of systems")).Length() != 1 {
				t.Errorf("GET %s: Patching of systems not under compute", tt.path)
			}
		})
	}

	rec := h.get("/matrix?baseline=aws-2030")
	wantStatus(t, "GET unknown baseline", rec, http.StatusNotFound)
	if !hasTitle(parse(t, rec)) {
		t.Error("unknown baseline: 404 is not a whole page")
	}
}

func TestCompareListsWhereTheBaselinesDiffer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/matrix/compare")

	var areas []string
	doc.Find(`section[data-testid^="diff-"]`).Each(func(_ int, s *goquery.Selection) {
		areas = append(areas, strings.TrimPrefix(s.AttrOr("data-testid", ""), "diff-"))
	})
	slices.Sort(areas)
	want := []string{"accounts-and-identities", "applications", "configurations-and-settings", "devices",
		"identity-and-directory", "information-and-data"}
	if !slices.Equal(areas, want) {
		t.Errorf("differing areas = %q, want %q", areas, want)
	}
	cells := []struct{ id, want string }{
		{"diff-devices-saas", "Shared"},
		{"diff-applications-saas", "Shared"},
		{"diff-identity-and-directory-paas", "Customer"},
		{"diff-identity-and-directory-saas", "Customer"},
	}
	for _, c := range cells {
		cell := doc.Find(tid(c.id))
		if got := text(cell); got != c.want {
			t.Errorf("%s = %q, want %q", c.id, got, c.want)
		}
		if !cell.HasClass("changed") {
			t.Errorf("%s is not marked changed", c.id)
		}
	}
	if got := text(doc.Find(tid("diff-information-and-data")).Find("h2, h3")); !strings.Contains(got, "Customer data") || !strings.Contains(got, "Information and data") {
		t.Errorf("relabelled row heading = %q, want the new and the old label", got)
	}

	same := h.page("/matrix/compare?from=azure-2026&to=azure-2026")
	if same.Find(tid("no-differences")).Length() != 1 {
		t.Error("comparing a baseline with itself: no no-differences message")
	}
	wantStatus(t, "GET compare from an unknown baseline", h.get("/matrix/compare?from=nope"), http.StatusNotFound)
	wantStatus(t, "GET compare to an unknown baseline", h.get("/matrix/compare?to=nope"), http.StatusNotFound)
}

func TestOwnersListQueueAndCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	wantStatus(t, "GET /owners with none", h.get("/owners"), http.StatusOK)

	wantRedirect(t, "POST /owners", h.post("/owners", url.Values{"owner_name": {"Platform team"}, "owner_kind": {"team"}}), "/owners")
	owners, err := h.st.Owners(storetest.Context(t))
	if err != nil || len(owners) != 1 {
		t.Fatalf("Owners() = %+v, %v; want one", owners, err)
	}
	o := owners[0]

	w := h.workload("Depot servers", srm.IaaS)
	patching, endpoint := h.controlID("Patching of systems"), h.controlID("Endpoint protection")
	wantRedirect(t, "complete patching", h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}, "complete": {"1"}}),
		workloadPath(w.ID)+"#r"+itoa(patching))
	wantRedirect(t, "own endpoint protection", h.post(statusPath(w.ID, endpoint), url.Values{"owner": {o.Name}}),
		workloadPath(w.ID)+"#r"+itoa(endpoint))

	doc := h.page("/owners")
	row := doc.Find(tid("owner-Platform team"))
	if row.Length() != 1 {
		t.Fatal("owners page: Platform team not listed")
	}
	if got := text(row.Find(tid("owner-progress-" + itoa(o.ID) + "-text"))); !strings.HasPrefix(got, "1 of 2 complete") {
		t.Errorf("owner progress = %q, want 1 of 2 complete", got)
	}

	doc = h.page("/owners/" + itoa(o.ID))
	if got := text(doc.Find("h1")); got != "Platform team" {
		t.Errorf("queue h1 = %q", got)
	}
	if doc.Find(tid("queue-open")).Find(tid("queue-item-Endpoint protection")).Length() != 1 {
		t.Error("queue: Endpoint protection not open")
	}
	if doc.Find(tid("queue-done")).Find(tid("queue-item-Patching of systems")).Length() != 1 {
		t.Error("queue: Patching of systems not completed")
	}
	if got := text(doc.Find(tid("queue-progress-text"))); !strings.HasPrefix(got, "1 of 2 complete") {
		t.Errorf("queue progress = %q, want 1 of 2 complete", got)
	}

	tests := []struct {
		name, ownerName, kind, field string
	}{
		{"duplicate ignoring case", "PLATFORM TEAM", "team", "owner_name"},
		{"blank name", "  ", "team", "owner_name"},
		{"unknown kind", "Network team", "committee", "owner_kind"},
		{"NUL in name", "Net\x00work", "team", "owner_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.post("/owners", url.Values{"owner_name": {tt.ownerName}, "owner_kind": {tt.kind}})
			wantStatus(t, "POST /owners ("+tt.name+")", rec, http.StatusUnprocessableEntity)
			doc := parse(t, rec)
			if doc.Find(tid("error-"+tt.field)).Length() != 1 {
				t.Errorf("no error-%s", tt.field)
			}
			if doc.Find(tid("owner-Platform team")).Length() != 1 {
				t.Error("rejected form: the owners list is gone")
			}
		})
	}
	if owners, _ := h.st.Owners(storetest.Context(t)); len(owners) != 1 {
		t.Errorf("owners after rejected posts = %d, want 1", len(owners))
	}

	wantStatus(t, "GET unknown owner", h.get("/owners/99999"), http.StatusNotFound)
	wantStatus(t, "GET malformed owner", h.get("/owners/x"), http.StatusBadRequest)
}

func TestQueueShowsWorkThatMovedToAzureApart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.owner("Platform team")
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")
	h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}})
	form := url.Values{"name": {w.Name}, "model": {"paas"}, "baseline": {itoa(w.BaselineID)}, "confirm": {"1"},
		"version": {version(t, h.editForm(w.ID))}}
	wantRedirect(t, "move to PaaS", h.post(workloadPath(w.ID), form), workloadPath(w.ID))

	doc := h.page("/owners/" + itoa(o.ID))
	if doc.Find(tid("queue-uncounted")).Find(tid("queue-item-Patching of systems")).Length() != 1 {
		t.Error("queue: Patching of systems (now Azure's) not under no longer counted")
	}
	if doc.Find(tid("queue-open")).Find(tid("queue-item-Patching of systems")).Length() != 0 {
		t.Error("queue: Patching of systems (now Azure's) still open")
	}
}

func TestErrorsAnswerWithAPageAndTheRightStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{"unknown path", http.MethodGet, "/no/such/page", http.StatusNotFound},
		{"malformed workload id", http.MethodGet, "/workloads/abc", http.StatusBadRequest},
		{"unknown workload", http.MethodGet, "/workloads/99999", http.StatusNotFound},
		{"zero workload id", http.MethodGet, "/workloads/0", http.StatusBadRequest},
		{"negative workload id", http.MethodGet, "/workloads/-1", http.StatusBadRequest},
		{"overflowing workload id", http.MethodGet, "/workloads/99999999999999999999", http.StatusBadRequest},
		{"edit unknown workload", http.MethodGet, "/workloads/99999/edit", http.StatusNotFound},
		{"delete page of unknown workload", http.MethodGet, "/workloads/99999/delete", http.StatusNotFound},
		{"update unknown workload", http.MethodPost, "/workloads/99999", http.StatusNotFound},
		{"wrong method", http.MethodPut, workloadPath(w.ID), http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"name": {"x"}, "model": {"iaas"}, "baseline": {itoa(w.BaselineID)}}
			rec := h.do(newFormRequest(tt.method, tt.path, form))
			wantStatus(t, tt.method+" "+tt.path, rec, tt.want)
			doc := parse(t, rec)
			if !hasTitle(doc) {
				t.Errorf("%s %s: error page has no <title>", tt.method, tt.path)
			}
			if doc.Find(tid("error")).Length() != 1 {
				t.Errorf("%s %s: no error section", tt.method, tt.path)
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
				t.Errorf("%s %s: Content-Type = %q, want text/html", tt.method, tt.path, got)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := h.get(path)
		wantStatus(t, "GET "+path, rec, http.StatusOK)
		if got := rec.Body.String(); got != "ok\n" {
			t.Errorf("GET %s: body = %q, want ok", path, got)
		}
	}

	draining := newServer(t, h.st, web.Config{Ready: func() bool { return false }})
	rec := (&harness{t: t, st: h.st, srv: draining}).get("/readyz")
	wantStatus(t, "GET /readyz while shutting down", rec, http.StatusServiceUnavailable)
	wantStatus(t, "GET /healthz while shutting down", (&harness{t: t, st: h.st, srv: draining}).get("/healthz"), http.StatusOK)
}

func TestWorkloadPageFragmentOrWholePage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Shipment tracker", srm.PaaS)
	page := workloadPath(w.ID)

	tests := []struct {
		name      string
		headers   []string
		wantTitle bool
	}{
		{"full page", nil, true},
		{"htmx swap gets the body only", []string{"HX-Request", "true"}, false},
		{"history restore gets the whole page", []string{"HX-Request", "true", "HX-History-Restore-Request", "true"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.get(page, tt.headers...)
			wantStatus(t, "GET "+page, rec, http.StatusOK)
			if !slices.Contains(rec.Header().Values("Vary"), "HX-Request") {
				t.Errorf("Vary = %q, want HX-Request", rec.Header().Values("Vary"))
			}
			doc := parse(t, rec)
			if got := hasTitle(doc); got != tt.wantTitle {
				t.Errorf("has <title> = %v, want %v", got, tt.wantTitle)
			}
			if doc.Find(tid("workload-body")).Length() != 1 {
				t.Error("no workload-body")
			}
			if got := party(doc, "Patching of systems"); got != "Azure" {
				t.Errorf("Patching of systems under PaaS = %q, want Azure", got)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, path := range []string{"/", "/no/such/page", "/static/css/app.css", "/healthz"} {
		rec := h.get(path)
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q, want nosniff", path, got)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy = %q, want script-src 'self'", path, csp)
		}
	}
}

func TestCrossSitePostIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	form := url.Values{"name": {"Planted"}, "model": {"iaas"}, "baseline": {itoa(h.baselineID("azure-chart"))}}
	rec := h.post("/workloads", form, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, "cross-site POST /workloads", rec, http.StatusForbidden)
	if page, _ := h.st.Workloads(storetest.Context(t), storeQueryAll()); page.Total != 0 {
		t.Errorf("workloads after a cross-site POST = %d, want 0", page.Total)
	}
	rec = h.post("/workloads", form, "Sec-Fetch-Site", "same-origin")
	wantStatus(t, "same-origin POST /workloads", rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/workloads/") {
		t.Errorf("same-origin POST /workloads: Location = %q, want /workloads/{id}", loc)
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body := "model=iaas&baseline=" + itoa(h.baselineID("azure-chart")) + "&name=" + strings.Repeat("a", 1<<20+1)
	for _, path := range []string{"/workloads", "/owners", "/controls"} {
		rec := h.postRaw(path, body)
		wantStatus(t, "POST "+path+" over 1 MiB", rec, http.StatusRequestEntityTooLarge)
		if !hasTitle(parse(t, rec)) {
			t.Errorf("POST %s over 1 MiB: 413 is not a whole page", path)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := h.get("/static/css/app.css")
	wantStatus(t, "GET app.css", rec, http.StatusOK)
	if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "max-age=") {
		t.Errorf("app.css Cache-Control = %q, want a max-age", got)
	}
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("app.css Content-Type = %q, want text/css", got)
	}
	if rec.Body.Len() == 0 {
		t.Error("app.css is empty")
	}
	wantStatus(t, "GET htmx", h.get("/static/js/htmx.min.js"), http.StatusOK)
	for _, path := range []string{"/static/", "/static/css/", "/static/nope.css", "/static/../go.mod", "/static/static.go"} {
		if rec := h.get(path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", path, rec.Code)
		}
	}
}

func TestWorkloadNamesAreEscaped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	name := `<script>alert(1)</script>`
	rec := h.post("/workloads", url.Values{"name": {name}, "description": {`<img src=x onerror=alert(2)>`},
		"model": {"iaas"}, "baseline": {itoa(h.baselineID("azure-chart"))}})
	wantStatus(t, "POST /workloads", rec, http.StatusSeeOther)
	wp := rec.Header().Get("Location")

	for _, path := range []string{wp, "/", wp + "/edit", wp + "/delete", wp + "/controls/" + itoa(h.controlID("Patching of systems")) + "/override"} {
		rec := h.get(path)
		wantStatus(t, "GET "+path, rec, http.StatusOK)
		body := rec.Body.String()
		if strings.Contains(body, name) || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s: the raw markup of the name or description is in the HTML", path)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("GET %s: the escaped name is not on the page", path)
		}
	}
	doc := h.page(wp)
	if got := text(doc.Find(tid("workload-name"))); got != name {
		t.Errorf("workload-name = %q, want the name as typed", got)
	}
	// Only srm's own scripts, from /static/js: htmx and the checklist's.
	if n := doc.Find("script").Length(); n != 2 || doc.Find(`script[src^="/static/js/"]`).Length() != n {
		t.Errorf("<script> elements = %d, want only htmx's and checklist.js", n)
	}

	// A model-change preview carries the name in hidden fields.
	prev := h.post(wp, url.Values{"name": {name}, "model": {"paas"}, "baseline": {itoa(h.baselineID("azure-chart"))}})
	wantStatus(t, "POST preview", prev, http.StatusOK)
	if strings.Contains(prev.Body.String(), name) {
		t.Error("preview: the raw name is in the HTML")
	}
}

// newFormRequest is a request of any method; GETs carry no body.
func newFormRequest(method, path string, form url.Values) *http.Request {
	if method == http.MethodGet {
		return httptest.NewRequest(method, path, nil)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// headingLevels are the levels of doc's headings in document order.
func headingLevels(doc *goquery.Document) (levels []int, texts []string) {
	doc.Find("h1, h2, h3, h4, h5, h6").Each(func(_ int, s *goquery.Selection) {
		levels = append(levels, int(goquery.NodeName(s)[1]-'0'))
		texts = append(texts, text(s))
	})
	return levels, texts
}

// TestCompareHeadingsNeverSkipALevel: the comparison's headings go down one
// level at a time, and the areas only renamed sit under "Only renamed",
// one level below it, as a screen reader's list of headings shows them.
func TestCompareHeadingsNeverSkipALevel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/matrix/compare")
	levels, texts := headingLevels(doc)
	if len(levels) == 0 || levels[0] != 1 {
		t.Fatalf("headings %v %q, want an h1 first", levels, texts)
	}
	renamed := -1
	for i := 1; i < len(levels); i++ {
		if levels[i] > levels[i-1]+1 {
			t.Errorf("heading %q (h%d) follows %q (h%d): a level is skipped", texts[i], levels[i], texts[i-1], levels[i-1])
		}
		if texts[i] == "Only renamed" {
			renamed = i
		}
	}
	if renamed < 0 {
		t.Fatalf("no “Only renamed” heading among %q", texts)
	}
	under := doc.Find(tid("renamed")).Find(`section.renamed h2, section.renamed h3, section.renamed h4`)
	if under.Length() == 0 {
		t.Fatal("no renamed area under “Only renamed”")
	}
	under.Each(func(_ int, s *goquery.Selection) {
		if got := int(goquery.NodeName(s)[1] - '0'); got != levels[renamed]+1 {
			t.Errorf("renamed area %q is an h%d, want h%d under “Only renamed” (h%d)", text(s), got, levels[renamed]+1, levels[renamed])
		}
	})
}
