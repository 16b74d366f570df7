package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store/storetest"
)

func TestCreateWorkloadRedirectsToItsPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	chart := h.baselineID("azure-chart")

	rec := h.post("/workloads", url.Values{
		"name":        {"  Depot servers  "},
		"description": {"Virtual machines in the depots."},
		"model":       {"iaas"},
		"baseline":    {itoa(chart)},
	})
	wantStatus(t, "POST /workloads", rec, http.StatusSeeOther)
	loc := rec.Header().Get("Location")
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/workloads/"), 10, 64)
	if !strings.HasPrefix(loc, "/workloads/") || err != nil {
		t.Fatalf("POST /workloads: Location = %q, want /workloads/{id}", loc)
	}

	w := h.stored(id)
	if w.Name != "Depot servers" || w.Model != srm.IaaS || w.BaselineID != chart || w.Description != "Virtual machines in the depots." {
		t.Errorf("stored workload = %+v, want the submitted (trimmed) fields", w)
	}
	doc := h.page(loc)
	if got := text(doc.Find(tid("workload-name"))); got != "Depot servers" {
		t.Errorf("workload-name = %q, want %q", got, "Depot servers")
	}
	if got := text(doc.Find(tid("workload-model"))); got != "IaaS" {
		t.Errorf("workload-model = %q, want %q", got, "IaaS")
	}
}

func TestNewWorkloadFormOffersBaselinesAndModels(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/workloads/new")
	form := doc.Find(tid("workload-form"))
	if form.Length() != 1 {
		t.Fatal("GET /workloads/new: no workload-form")
	}
	if n := form.Find(`input[name="model"]`).Length(); n != 4 {
		t.Errorf("model choices = %d, want 4", n)
	}
	if n := form.Find(`select[name="baseline"] option`).Length(); n != 2 {
		t.Errorf("baseline options = %d, want 2", n)
	}
}

func TestWorkloadPageListsEveryControlByLayer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	controls, err := h.st.Controls(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := h.st.Baselines(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	chart := bs[0]

	doc := h.page(workloadPath(w.ID))

	var layers []string
	doc.Find("details.layer").Each(func(_ int, s *goquery.Selection) {
		layers = append(layers, s.AttrOr("data-testid", ""))
	})
	want := []string{"layer-physical", "layer-identity", "layer-perimeter", "layer-network", "layer-compute", "layer-application", "layer-data"}
	if !slices.Equal(layers, want) {
		t.Fatalf("layer sections = %q, want %q", layers, want)
	}

	if got := doc.Find(`.rows > li`).Length(); got != len(controls) {
		t.Errorf("control rows = %d, want every control of the catalog (%d)", got, len(controls))
	}
	for _, c := range controls {
		sel := rowIn(doc.Find(tid("layer-"+string(c.Layer))), c.Title)
		if sel.Length() != 1 {
			t.Errorf("control %q: %d cards in layer-%s, want 1", c.Title, sel.Length(), c.Layer)
			continue
		}
		p := text(sel.ChildrenFiltered("b"))
		if p != "Customer" && p != "Shared" && p != "Azure" {
			t.Errorf("control %q: party = %q, want Customer, Shared or Azure", c.Title, p)
		}
		// Why it is so: on the control's page, linked from its row.
		if href := sel.ChildrenFiltered("a").AttrOr("href", ""); href != statusPath(w.ID, c.ID) {
			t.Errorf("control %q: details link = %q, want %q", c.Title, href, statusPath(w.ID, c.ID))
		}
		row, _ := chart.Row(c.Area)
		reason := text(card(h.page(statusPath(w.ID, c.ID)), c.Title).Find(tid("reason")))
		for _, part := range []string{"Azure chart", row.Label, "IaaS"} {
			if !strings.Contains(reason, part) {
				t.Errorf("control %q: reason = %q, want it to mention %q", c.Title, reason, part)
			}
		}
	}
}

func TestPatchingOfSystemsDependsOnTheModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name      string
		model     srm.ServiceModel
		party     string
		inherited bool
	}{
		{"IaaS customer patches the OS", srm.IaaS, "Customer", false},
		{"PaaS provider patches the OS", srm.PaaS, "Azure", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.workload("Workload "+string(tt.model), tt.model)
			doc := h.page(workloadPath(w.ID))
			c := card(doc, "Patching of systems")
			if got := party(doc, "Patching of systems"); got != tt.party {
				t.Errorf("Patching of systems under %s = %q, want %q", tt.model, got, tt.party)
			}
			if got := c.Find(tid("inherited")).Length() > 0; got != tt.inherited {
				t.Errorf("Patching of systems under %s: inherited line = %v, want %v", tt.model, got, tt.inherited)
			}
			if got := c.Find(`input[name^="o"]`).Length() > 0; got == tt.inherited {
				t.Errorf("Patching of systems under %s: status form = %v, want %v", tt.model, got, !tt.inherited)
			}
		})
	}
}

func TestCreateWorkloadRejectsBadInputAndKeepsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.workload("Depot servers", srm.IaaS)
	chart := itoa(h.baselineID("azure-chart"))

	tests := []struct {
		name        string
		field       string // the field whose error must show
		nameIn      string
		description string
		model       string
		baseline    string
	}{
		{"blank name", "name", "   ", "kept description", "paas", chart},
		{"201-character name", "name", strings.Repeat("n", 201), "kept description", "paas", chart},
		{"duplicate name ignoring case", "name", "DEPOT SERVERS", "kept description", "paas", chart},
		{"unknown model", "model", "Shipment tracker", "kept description", "cloud", chart},
		{"unknown baseline", "baseline", "Shipment tracker", "kept description", "paas", "99999"},
		{"NUL byte in description", "description", "Shipment tracker", "before\x00after", "paas", chart},
		{"invalid UTF-8 in name", "name", "Shipment \xff tracker", "kept description", "paas", chart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.post("/workloads", url.Values{
				"name": {tt.nameIn}, "description": {tt.description}, "model": {tt.model}, "baseline": {tt.baseline},
			})
			wantStatus(t, "POST /workloads ("+tt.name+")", rec, http.StatusUnprocessableEntity)
			doc := parse(t, rec)
			if !hasTitle(doc) {
				t.Error("rejected form: not a whole page")
			}
			form := doc.Find(tid("workload-form"))
			if form.Length() != 1 {
				t.Fatal("rejected form: no workload-form re-rendered")
			}
			if form.Find(tid("error-"+tt.field)).Length() != 1 {
				t.Errorf("rejected form: no error-%s; errors shown: %q", tt.field, text(form.Find(".field-error")))
			}
			if msg := text(form.Find(tid("error-" + tt.field))); msg == "" {
				t.Errorf("error-%s is empty", tt.field)
			}
			// The typed input comes back (valid UTF-8 cases only: an HTML
			// parser replaces invalid bytes).
			if tt.field != "name" || !strings.Contains(tt.name, "UTF-8") {
				if got := form.Find(`input[name="name"]`).AttrOr("value", "?"); got != strings.TrimSpace(tt.nameIn) {
					t.Errorf("name kept = %q, want %q", got, strings.TrimSpace(tt.nameIn))
				}
			}
			if tt.field != "description" {
				if got := form.Find(`textarea[name="description"]`).Text(); got != tt.description {
					t.Errorf("description kept = %q, want %q", got, tt.description)
				}
			}
			if tt.field != "model" {
				if got := form.Find(`input[name="model"][checked]`).AttrOr("value", ""); got != tt.model {
					t.Errorf("model kept = %q, want %q", got, tt.model)
				}
			}
		})
	}

	page, err := h.st.Workloads(storetest.Context(t), storeQueryAll())
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 {
		t.Errorf("workloads after rejected creates = %d, want 1", page.Total)
	}
}

func TestEditWorkloadSavesNameAndDescription(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	h.workload("Office suite", srm.SaaS)

	doc := h.page(workloadPath(w.ID) + "/edit")
	if got := doc.Find(`input[name="name"]`).AttrOr("value", ""); got != "Depot servers" {
		t.Errorf("edit form name = %q, want %q", got, "Depot servers")
	}
	if got := doc.Find(`input[name="model"][checked]`).AttrOr("value", ""); got != "iaas" {
		t.Errorf("edit form model = %q, want iaas", got)
	}

	form := url.Values{"name": {"Depot VMs"}, "description": {"Now in Azure."}, "model": {"iaas"}, "baseline": {itoa(w.BaselineID)},
		"version": {version(t, doc.Find(tid("workload-form")))}}
	wantRedirect(t, "POST edit", h.post(workloadPath(w.ID), form), workloadPath(w.ID))
	got := h.stored(w.ID)
	if got.Name != "Depot VMs" || got.Description != "Now in Azure." || got.Model != srm.IaaS {
		t.Errorf("after edit = %+v, want name Depot VMs, the new description, model iaas", got)
	}
	if text(h.page(workloadPath(w.ID)).Find(tid("workload-name"))) != "Depot VMs" {
		t.Error("workload page does not show the new name")
	}

	form.Set("name", "office SUITE")
	form.Set("version", version(t, h.editForm(w.ID))) // the form as the person opens it again
	rec := h.post(workloadPath(w.ID), form)
	wantStatus(t, "POST edit with a taken name", rec, http.StatusUnprocessableEntity)
	if parse(t, rec).Find(tid("error-name")).Length() != 1 {
		t.Error("edit with a taken name: no error-name")
	}
	if got := h.stored(w.ID).Name; got != "Depot VMs" {
		t.Errorf("name after rejected edit = %q, want %q", got, "Depot VMs")
	}
}

func TestDeleteWorkloadAsksFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)

	doc := h.page(workloadPath(w.ID) + "/delete")
	if doc.Find(tid("confirm-delete")).Length() != 1 {
		t.Fatal("GET delete: no confirm-delete button")
	}
	if got := h.stored(w.ID).Name; got != "Depot servers" {
		t.Fatalf("GET delete changed the workload: %q", got)
	}

	wantRedirect(t, "POST delete", h.post(workloadPath(w.ID)+"/delete", nil), "/")
	rec := h.get(workloadPath(w.ID))
	wantStatus(t, "GET deleted workload", rec, http.StatusNotFound)
	if !hasTitle(parse(t, rec)) {
		t.Error("404 for a deleted workload is not a whole page")
	}
	wantStatus(t, "POST delete again", h.post(workloadPath(w.ID)+"/delete", nil), http.StatusNotFound)
}

func TestModelChangeIsPreviewedThenSavedAndKeepsWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Depot servers", srm.IaaS)
	patching := h.controlID("Patching of systems")
	o := h.owner("Platform team")
	wantRedirect(t, "complete patching",
		h.post(statusPath(w.ID, patching), url.Values{"owner": {o.Name}, "complete": {"1"}}),
		workloadPath(w.ID)+"#r"+itoa(patching))

	edit := h.editForm(w.ID)
	rec := h.submit(edit, url.Values{"model": {"paas"}})
	wantStatus(t, "POST model change without confirm", rec, http.StatusOK)
	doc := parse(t, rec)
	confirm := doc.Find(tid("confirm-form"))
	if confirm.Length() != 1 {
		t.Fatal("preview: no confirm-form")
	}
	if got, want := version(t, confirm), version(t, edit); got != want {
		t.Errorf("confirm form carries version %s, want the edit form's %s", got, want)
	}
	moves := func(group string) []string {
		var out []string
		doc.Find(tid(group)).Find(`li[data-testid^="move-"]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimPrefix(s.AttrOr("data-testid", ""), "move-"))
		})
		return out
	}
	toProvider, toShared, toCustomer := moves("to-provider"), moves("to-shared"), moves("to-customer")
	for _, title := range []string{"Patching of systems", "Endpoint protection", "Secure access to virtual machines"} {
		if !slices.Contains(toProvider, title) {
			t.Errorf("IaaS→PaaS preview: to-provider = %q, want it to list %q", toProvider, title)
		}
	}
	for _, title := range []string{"Access to infrastructure and change control", "Deny by default", "Secrets kept in a secure store"} {
		if !slices.Contains(toShared, title) {
			t.Errorf("IaaS→PaaS preview: to-shared = %q, want it to list %q", toShared, title)
		}
	}
	if len(toCustomer) != 0 {
		t.Errorf("IaaS→PaaS preview: to-customer = %q, want none", toCustomer)
	}
	if kept := text(doc.Find(tid("move-Patching of systems")).Find(".kept")); !strings.Contains(kept, "Platform team") {
		t.Errorf("preview of Patching of systems: kept = %q, want the owner Platform team", kept)
	}
	if got := h.stored(w.ID).Model; got != srm.IaaS {
		t.Fatalf("model after preview = %q, want iaas (unchanged)", got)
	}

	wantRedirect(t, "POST model change with confirm", h.submit(confirm, nil), workloadPath(w.ID))
	if got := h.stored(w.ID).Model; got != srm.PaaS {
		t.Fatalf("model after confirm = %q, want paas", got)
	}
	doc = h.page(workloadPath(w.ID))
	if got := party(doc, "Patching of systems"); got != "Azure" {
		t.Errorf("Patching of systems under PaaS = %q, want Azure", got)
	}
	if got := text(card(doc, "Patching of systems").Find(tid("inherited"))); !strings.Contains(got, "Platform team") {
		t.Errorf("inherited line = %q, want it to say Platform team's earlier work is kept", got)
	}

	// Back to IaaS: the control comes back to the customer, still complete.
	rec = h.submit(h.editForm(w.ID), url.Values{"model": {"iaas"}})
	wantStatus(t, "POST back to IaaS without confirm", rec, http.StatusOK)
	doc = parse(t, rec)
	if doc.Find(tid("to-customer")).Find(tid("move-Patching of systems")).Length() != 1 {
		t.Error("PaaS→IaaS preview: Patching of systems not in to-customer")
	}
	wantRedirect(t, "POST back to IaaS", h.submit(doc.Find(tid("confirm-form")), nil), workloadPath(w.ID))
	doc = h.page(workloadPath(w.ID))
	c := card(doc, "Patching of systems")
	if got := party(doc, "Patching of systems"); got != "Customer" {
		t.Errorf("Patching of systems back under IaaS = %q, want Customer", got)
	}
	if !c.HasClass("done") || c.Find(`label > input[name^="c"][checked]`).Length() != 1 {
		t.Error("Patching of systems back under IaaS: not shown complete again")
	}
	if got := c.Find(`input[name^="o"]`).AttrOr("value", ""); got != "Platform team" {
		t.Errorf("owner after the round trip = %q, want Platform team kept", got)
	}
	if got := text(c.Find("small")); !strings.HasPrefix(got, "on ") {
		t.Errorf("completed stamp = %q, want the day it was completed", got)
	}
	if done, _ := progress(t, progressText(doc)); done != 1 {
		t.Errorf("progress after the round trip = %q, want 1 complete", progressText(doc))
	}
}

func TestPortfolioFiltersByModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.workload("Depot servers", srm.IaaS)
	h.workload("Shipment tracker", srm.PaaS)
	h.workload("Office suite", srm.SaaS)

	tests := []struct {
		query string
		want  []string
	}{
		{"/", []string{"Depot servers", "Office suite", "Shipment tracker"}},
		{"/?model=iaas", []string{"Depot servers"}},
		{"/?model=paas", []string{"Shipment tracker"}},
		{"/?model=onprem", nil},
		{"/?model=cloud", []string{"Depot servers", "Office suite", "Shipment tracker"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			doc := h.page(tt.query)
			if got := rowNames(doc); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: workloads = %q, want %q", tt.query, got, tt.want)
			}
			if tt.want == nil && doc.Find(tid("no-workloads")).Length() != 1 {
				t.Errorf("GET %s: no no-workloads message", tt.query)
			}
		})
	}
}

func TestPortfolioSortsByNameAndProgress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.owner("Platform team")
	// Names in one order, progress in the other.
	done := map[string][]string{
		"alpha":   {"Patching of systems", "Endpoint protection"},
		"Bravo":   {"Patching of systems"},
		"charlie": nil,
	}
	for name, titles := range done {
		w := h.workload(name, srm.IaaS)
		for _, title := range titles {
			if err := h.st.SaveStatus(storetest.Context(t), w.ID, h.controlID(title), srm.Status{OwnerID: o.ID, Complete: true}); err != nil {
				t.Fatal(err)
			}
		}
	}

	tests := []struct {
		query string
		want  []string
	}{
		{"/?sort=name", []string{"alpha", "Bravo", "charlie"}},
		{"/?sort=progress", []string{"charlie", "Bravo", "alpha"}},
		{"/?sort=-progress", []string{"alpha", "Bravo", "charlie"}},
		{"/?sort=sideways", []string{"alpha", "Bravo", "charlie"}},
		{"/?sort=progress%3BDROP+TABLE+workloads", []string{"alpha", "Bravo", "charlie"}},
		{"/?page=abc&sort=-progress", []string{"alpha", "Bravo", "charlie"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := rowNames(h.page(tt.query)); !slices.Equal(got, tt.want) {
				t.Errorf("GET %s: workloads = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestPortfolioPagesPastFifty(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 55 {
		h.workload("Workload "+strconv.Itoa(100+i), srm.PaaS)
	}

	doc := h.page("/")
	if got := len(rowNames(doc)); got != 50 {
		t.Errorf("page 1: %d workloads, want 50", got)
	}
	pager := doc.Find(tid("pager"))
	if pager.Length() != 1 {
		t.Fatal("page 1: no pager")
	}
	next := pager.Find(`a[rel="next"]`).AttrOr("href", "")
	if !strings.Contains(next, "page=2") {
		t.Errorf("page 1: next link = %q, want page=2", next)
	}

	doc = h.page("/?page=2")
	got := rowNames(doc)
	want := []string{"Workload 150", "Workload 151", "Workload 152", "Workload 153", "Workload 154"}
	if !slices.Equal(got, want) {
		t.Errorf("page 2: workloads = %q, want %q", got, want)
	}
	if p := text(doc.Find(tid("pager"))); !strings.Contains(p, "Page 2 of 2") || !strings.Contains(p, "55 workloads") {
		t.Errorf("page 2: pager = %q, want Page 2 of 2 and 55 workloads", p)
	}
	if doc.Find(tid("pager")).Find(`a[rel="prev"]`).Length() != 1 {
		t.Error("page 2: no previous link")
	}

	// Past the end and nonsense pages still answer.
	for _, q := range []string{"/?page=99", "/?page=-3", "/?page=0"} {
		wantStatus(t, "GET "+q, h.get(q), http.StatusOK)
	}
}

// rowNames lists the workload names of the portfolio table in order.
func rowNames(doc *goquery.Document) []string {
	var out []string
	doc.Find(tid("workloads")).Find(`tbody tr[data-testid^="workload-"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimPrefix(s.AttrOr("data-testid", ""), "workload-"))
	})
	return out
}

// TestPortfolioPagerLinksWalkEveryPage follows Next to the end and Previous
// back to the start: every workload appears once, in order, the label
// counts the pages, and a link whose workload has gone still shows a page.
func TestPortfolioPagerLinksWalkEveryPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if _, err := fixture.Synthetic(storetest.Context(t), h.dbOwner, 120, 5, nil); err != nil { // srm seed runs as the owner
		t.Fatal(err)
	}
	rowNames := func(doc *goquery.Document) []string {
		var out []string
		doc.Find(`table tbody tr`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimSpace(s.Find("a").First().Text()))
		})
		return out
	}
	label := func(doc *goquery.Document) string {
		return strings.Join(strings.Fields(doc.Find(tid("pager")).Find("span").First().Text()), " ")
	}
	path := "/?sort=-progress"
	var forward [][]string
	var pages []string
	for {
		doc := h.page(path)
		forward = append(forward, rowNames(doc))
		pages = append(pages, path)
		if want := fmt.Sprintf("Page %d of 3 · 120 workloads", len(forward)); label(doc) != want {
			t.Errorf("GET %s: pager says %q, want %q", path, label(doc), want)
		}
		next, ok := doc.Find(tid("pager")).Find(`a[rel="next"]`).Attr("href")
		if !ok {
			break
		}
		if !strings.Contains(next, "after=") {
			t.Errorf("next link %q does not page from the last workload shown", next)
		}
		path = next
	}
	seen := map[string]bool{}
	for _, p := range forward {
		for _, n := range p {
			if seen[n] {
				t.Errorf("%q is on two pages", n)
			}
			seen[n] = true
		}
	}
	if len(forward) != 3 || len(seen) != 120 {
		t.Fatalf("walked %d pages with %d workloads; want 3 pages, 120 workloads", len(forward), len(seen))
	}
	for i := len(forward) - 1; i > 0; i-- {
		prev, ok := h.page(pages[i]).Find(tid("pager")).Find(`a[rel="prev"]`).Attr("href")
		if !ok {
			t.Fatalf("page %d has no previous link", i+1)
		}
		if got := rowNames(h.page(prev)); !slices.Equal(got, forward[i-1]) {
			t.Errorf("previous from page %d (%s) shows %v, want %v", i+1, prev, got, forward[i-1])
		}
	}
	// The workload a link pages from is deleted: the page number still works.
	var gone int64
	if err := h.pool.QueryRow(t.Context(), `SELECT id FROM workloads ORDER BY id DESC LIMIT 1`).Scan(&gone); err != nil {
		t.Fatal(err)
	}
	if err := h.st.DeleteWorkload(storetest.Context(t), gone); err != nil {
		t.Fatal(err)
	}
	doc := h.page(fmt.Sprintf("/?sort=-progress&page=2&after=%d", gone))
	if got := rowNames(doc); len(got) != 50 || label(doc) != "Page 2 of 3 · 119 workloads" {
		t.Errorf("a link from a deleted workload shows %d workloads, %q; want page 2 by its number", len(got), label(doc))
	}
}
