package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

func TestAdminAddsAndRemovesAFrameworkKeepingTheWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	f, err := os.Open("../framework/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := framework.ParseReading(strings.NewReader("area network-controls network Network controls\nfamily XX network-controls\nfamily YY network-controls\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.st.ImportFramework(ctx, f, store.ImportOptions{Slug: "small", Name: "Small catalog", Reading: rd})
	if err != nil {
		t.Fatal(err)
	}
	fw := res.Framework
	w := h.workload("Portal", srm.PaaS) // network controls: shared under PaaS
	path := workloadPath(w.ID) + "/frameworks"
	held := func() []int64 {
		ws, err := h.st.WorkloadState(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ws.Workload.Frameworks
	}

	doc := h.page(path)
	row := doc.Find(tid("framework-small"))
	if got := text(row.Find(tid("framework-work"))); got != "Adding it puts 4 controls on the workload's list." {
		t.Errorf("before adding: %q", got)
	}
	if !strings.Contains(text(row), "0 customer, 4 shared, 0 Azure") {
		t.Errorf("the row does not say the parties under PaaS: %q", text(row))
	}
	if got := text(doc.Find(tid("framework-srm"))); !strings.Contains(got, "The workload's only framework") {
		t.Errorf("srm's row = %q, want it to say it cannot be removed", got)
	}
	wantRedirect(t, "add", h.submit(row.Find("form"), nil), path)
	if got := held(); len(got) != 2 || !slices.Contains(got, fw.ID) {
		t.Fatalf("after adding: frameworks %v", got)
	}
	if page := h.get(workloadPath(w.ID)).Body.String(); !strings.Contains(page, "Automated Policy") {
		t.Errorf("the workload page does not list the framework's controls")
	}
	var xx1 int64
	cat, _ := h.st.Catalog(ctx)
	for _, c := range cat.Controls() {
		if c.FrameworkID == fw.ID && c.Ref == "XX-1" {
			xx1 = c.ID
		}
	}
	if err := h.st.SaveStatus(ctx, w.ID, xx1, srm.Status{Complete: true, Note: "done"}); err != nil {
		t.Fatal(err)
	}

	doc = h.page(path)
	wantRedirect(t, "remove", h.submit(doc.Find(tid("framework-small")).Find("form"), nil), path)
	if got := held(); slices.Contains(got, fw.ID) {
		t.Fatalf("after removing: frameworks %v", got)
	}
	doc = h.page(path)
	if got := text(doc.Find(tid("framework-small")).Find(tid("framework-work"))); got != "Adding it puts 4 controls on the workload's list, 1 of them complete from before." {
		t.Errorf("after removing, the work kept: %q", got)
	}
	if st := h.status(w.ID, xx1); !st.Complete || st.Note != "done" {
		t.Errorf("XX-1's status after removing = %+v, want it kept", st)
	}

	// The last framework stays, with a reason.
	rec := h.post(path+"/"+itoa(cat.Frameworks()[0].ID)+"/delete", nil)
	wantStatus(t, "remove the last framework", rec, http.StatusUnprocessableEntity)
	if !strings.Contains(text(parse(t, rec).Find(tid("form-error"))), "at least one framework") {
		t.Errorf("removing the last framework does not say why it is refused")
	}
	// Only admins change frameworks.
	if rec := h.as(srm.RoleEditor).get(path); rec.Code != http.StatusForbidden {
		t.Errorf("GET %s as an editor = %d, want 403", path, rec.Code)
	}
}

// importSmall imports framework/testdata/small.json as "small", every
// control read as network controls (shared under PaaS), and attaches it to
// workload wid.
func importSmall(t *testing.T, h *harness, wids ...int64) srm.Framework {
	t.Helper()
	ctx := storetest.Context(t)
	f, err := os.Open("../framework/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := framework.ParseReading(strings.NewReader("area network-controls network Network controls\nfamily XX network-controls\nfamily YY network-controls\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.st.ImportFramework(ctx, f, store.ImportOptions{Slug: "small", Name: "Small catalog", Reading: rd})
	if err != nil {
		t.Fatal(err)
	}
	for _, wid := range wids {
		if err := h.st.AttachFramework(ctx, wid, res.Framework.ID); err != nil {
			t.Fatal(err)
		}
	}
	return res.Framework
}

func TestChecklistFiltersByFrameworkWithTheOtherFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Portal", srm.PaaS)
	// With one framework there is nothing to choose.
	before := h.page(workloadPath(w.ID))
	if before.Find(tid("filter-framework")).Length() != 0 {
		t.Errorf("a workload with one framework shows a framework menu")
	}
	own := len(rowTitles(before))
	importSmall(t, h, w.ID)
	doc := h.page(workloadPath(w.ID))
	menu := doc.Find(tid("filter-framework"))
	var options []string
	menu.Find("option").Each(func(_ int, s *goquery.Selection) { options = append(options, s.AttrOr("value", "")+"="+text(s)) })
	if len(options) != 3 || options[0] != "=All frameworks" || options[2] != "small=Small catalog" {
		t.Errorf("the framework menu offers %q, want all, srm's own and Small catalog", options)
	}
	if got := accessibleName(doc, menu); got != "Framework" {
		t.Errorf("the framework menu is named %q", got)
	}
	small := []string{"Policy", "Automated Policy", "Boundary", "Loose Control"}
	got := rowTitles(h.page(workloadPath(w.ID) + "?framework=small"))
	slices.Sort(got)
	want := slices.Clone(small)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("?framework=small shows %q, want the small catalog's controls %q", got, want)
	}
	srmOnly := rowTitles(h.page(workloadPath(w.ID) + "?framework=srm"))
	if len(srmOnly) != own || slices.Contains(srmOnly, "Boundary") {
		t.Errorf("?framework=srm shows %d rows (Boundary among them: %v), want srm's %d", len(srmOnly), slices.Contains(srmOnly, "Boundary"), own)
	}
	// It combines with the others: the small catalog's network controls, by text.
	doc = h.page(workloadPath(w.ID) + "?framework=small&layer=network&q=policy")
	if got := rowTitles(doc); len(got) != 2 || !slices.Contains(got, "Policy") || !slices.Contains(got, "Automated Policy") {
		t.Errorf("framework, layer and text together show %q, want Policy and Automated Policy", got)
	}
	if got := doc.Find(`select[name="framework"] option[selected]`).AttrOr("value", ""); got != "small" {
		t.Errorf("the framework menu shows %q, want small kept in the form", got)
	}
	// And it lives in the address: the links and forms carry it on.
	back := doc.Find(`input[name="back"]`).First().AttrOr("value", "")
	if q, _ := url.ParseQuery(back); q.Get("framework") != "small" || q.Get("layer") != "network" {
		t.Errorf("the rows' back address %q lost the filter", back)
	}
	if got := rowTitles(h.page(workloadPath(w.ID) + "?framework=small&party=provider")); len(got) != 0 {
		t.Errorf("the small catalog under PaaS has no Azure controls, yet the filter shows %q", got)
	}
	// A framework the workload does not hold is dropped, as any unknown value.
	if got := rowTitles(h.page(workloadPath(w.ID) + "?framework=nist-800-53-rev5-low")); len(got) != own+len(small) {
		t.Errorf("an unknown framework shows %d rows, want every control (%d)", len(got), own+len(small))
	}
}

func TestWorkloadPageShowsProgressPerFrameworkAndInAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := h.workload("Portal", srm.PaaS) // the small catalog's 4 controls are shared under PaaS
	if h.page(workloadPath(w.ID)).Find(tid("framework-progress")).Length() != 0 {
		t.Errorf("a workload with one framework shows progress per framework")
	}
	importSmall(t, h, w.ID)
	ctx := storetest.Context(t)
	ws, err := h.st.WorkloadState(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var policy int64
	for _, c := range ws.Controls() {
		if c.Ref == "XX-1" {
			policy = c.ID
		}
	}
	if err := h.st.SaveStatus(ctx, w.ID, policy, srm.Status{Complete: true}); err != nil {
		t.Fatal(err)
	}
	sso := h.controlID("Single sign-on and multi-factor authentication")
	if err := h.st.SaveStatus(ctx, w.ID, sso, srm.Status{Complete: true}); err != nil {
		t.Fatal(err)
	}
	doc := h.page(workloadPath(w.ID))
	total := text(doc.Find(tid("workload-progress-text")))
	own := text(doc.Find(tid("framework-progress-srm-text")))
	small := text(doc.Find(tid("framework-progress-small-text")))
	if !strings.HasPrefix(small, "1 of 4 complete") {
		t.Errorf("the small catalog's progress reads %q, want 1 of 4 complete", small)
	}
	var ownDone, ownTotal, allDone, allTotal int
	if _, err := fmt.Sscanf(own, "%d of %d complete", &ownDone, &ownTotal); err != nil || ownDone != 1 || ownTotal == 0 {
		t.Fatalf("srm's progress reads %q, want 1 of its counted controls", own)
	}
	if _, err := fmt.Sscanf(total, "%d of %d complete", &allDone, &allTotal); err != nil || allDone != 2 || allTotal != ownTotal+4 {
		t.Errorf("the workload's progress reads %q, want 2 of %d (the two frameworks together)", total, ownTotal+4)
	}
	// The filter narrows the rows, not the progress.
	if got := text(h.page(workloadPath(w.ID) + "?framework=small").Find(tid("framework-progress-srm-text"))); got != own {
		t.Errorf("filtered to the small catalog, srm's progress reads %q, want %q", got, own)
	}
}

func TestPortfolioFiltersByFrameworkAndPagesByKeyset(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := storetest.Context(t)
	if _, err := fixture.Synthetic(ctx, h.dbOwner, 120, 5, nil); err != nil {
		t.Fatal(err)
	}
	if h.page("/").Find(tid("filter-framework")).Length() != 0 {
		t.Errorf("the portfolio offers a framework filter with only srm's own catalog")
	}
	rows, err := h.pool.Query(ctx, `SELECT id, name, model FROM workloads WHERE id % 2 = 0 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type held struct {
		name  string
		model srm.ServiceModel
	}
	holders := map[int64]held{}
	var ids []int64
	for rows.Next() {
		var id int64
		var hw held
		if err := rows.Scan(&id, &hw.name, &hw.model); err != nil {
			t.Fatal(err)
		}
		holders[id] = hw
		ids = append(ids, id)
	}
	if rows.Err() != nil || len(ids) <= 50 {
		t.Fatalf("%d workloads to hold the framework (%v), want more than a page", len(ids), rows.Err())
	}
	importSmall(t, h, ids...)
	names := map[string]bool{}
	paas := 0
	for _, hw := range holders {
		names[hw.name] = true
		if hw.model == srm.PaaS {
			paas++
		}
	}

	doc := h.page("/")
	var options []string
	doc.Find(tid("filter-framework")).Find("option").Each(func(_ int, s *goquery.Selection) { options = append(options, s.AttrOr("value", "")) })
	if !slices.Equal(options, []string{"", "srm", "small"}) {
		t.Errorf("the portfolio's framework menu offers %q, want all, srm and small", options)
	}
	path := "/?framework=small&sort=-progress"
	seen := map[string]bool{}
	pages := 0
	for path != "" {
		doc := h.page(path)
		pages++
		if want := fmt.Sprintf("Page %d of 2 · %d workloads", pages, len(ids)); strings.Join(strings.Fields(doc.Find(tid("pager")).Find("span").First().Text()), " ") != want {
			t.Errorf("GET %s: pager says %q, want %q", path, text(doc.Find(tid("pager")).Find("span").First()), want)
		}
		if got := doc.Find(`select[name="framework"] option[selected]`).AttrOr("value", ""); got != "small" {
			t.Errorf("GET %s: the menu shows %q, want small", path, got)
		}
		doc.Find(`table tbody tr`).Each(func(_ int, s *goquery.Selection) {
			n := strings.TrimSpace(s.Find("a").First().Text())
			if !names[n] {
				t.Errorf("GET %s lists %q, which does not hold the framework", path, n)
			}
			if seen[n] {
				t.Errorf("%q is on two pages", n)
			}
			seen[n] = true
		})
		next, ok := doc.Find(tid("pager")).Find(`a[rel="next"]`).Attr("href")
		path = ""
		if ok {
			if q, _ := url.Parse(next); q.Query().Get("framework") != "small" || q.Query().Get("after") == "" {
				t.Errorf("the next link %q does not keep the filter and page by keyset", next)
			}
			path = next
		}
	}
	if pages != 2 || len(seen) != len(ids) {
		t.Errorf("walked %d pages with %d workloads, want 2 pages with every holder (%d)", pages, len(seen), len(ids))
	}
	// With the model too.
	doc = h.page("/?framework=small&model=paas")
	if got := doc.Find(`table tbody tr`).Length(); got != min(paas, 50) {
		t.Errorf("PaaS workloads holding the framework: %d rows, want %d", got, min(paas, 50))
	}
	// A framework nobody has: nothing, said plainly.
	doc = h.page("/?framework=no-such-framework")
	if doc.Find(tid("no-workloads")).Length() != 1 || doc.Find(`table tbody tr`).Length() != 0 {
		t.Errorf("an unknown framework does not show an empty list")
	}
}

func TestCompareLeadsWithTheCellsThatChangeParty(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	doc := h.page("/matrix/compare")
	var moved []int
	var firstArea string
	doc.Find(tid("cell-changes")).Find("tbody tr").Each(func(i int, s *goquery.Selection) {
		n, _ := strconv.Atoi(text(s.Find(tid("moves"))))
		moved = append(moved, n)
		if i == 0 {
			firstArea = text(s.Find("th"))
		}
	})
	if len(moved) == 0 {
		t.Fatal("the comparison does not list the cells that change party")
	}
	if !slices.IsSortedFunc(moved, func(a, b int) int { return b - a }) || moved[0] == 0 {
		t.Errorf("the cells' controls moved = %v, want the largest first", moved)
	}
	if strings.Contains(firstArea, "Customer data") {
		t.Errorf("the comparison leads with %q, an area only renamed", firstArea)
	}
	// Each cell moves the controls of its area.
	byArea := map[srm.Area]int{}
	for _, c := range mustControls(t, h) {
		byArea[c.Area]++
	}
	devices := text(doc.Find(tid("move-devices-saas")).Find(tid("moves")))
	if devices != strconv.Itoa(byArea["devices"]) || devices == "0" {
		t.Errorf("devices under SaaS moves %q controls, want srm's %d in that area", devices, byArea["devices"])
	}
	total := 0
	for _, n := range moved {
		total += n
	}
	summary := text(doc.Find(tid("compare-summary")))
	if want := fmt.Sprintf("%d cells change party, moving %d controls", len(moved), total); !strings.Contains(summary, want) {
		t.Errorf("the summary says %q, want %q", summary, want)
	}
	// The renamed areas come after every area whose party changes, without
	// cells to search for a change.
	renamed := 0
	doc.Find(`section[data-testid^="diff-"]`).Each(func(_ int, s *goquery.Selection) {
		switch hasTable := s.Find("table").Length() > 0; {
		case !hasTable:
			renamed++
		case renamed > 0:
			t.Errorf("%s, whose party changes, comes after an area only renamed", s.AttrOr("data-testid", ""))
		}
	})
	if doc.Find(tid("diff-information-and-data")).Find("table").Length() != 0 {
		t.Errorf("Customer data, only renamed, still shows a table of identical cells")
	}
	if renamed == 0 || !strings.Contains(summary, fmt.Sprintf("%d areas are only renamed", renamed)) {
		t.Errorf("%d areas only renamed; the summary says %q", renamed, summary)
	}

	// Per framework: the matrix and the comparison of its controls.
	own := len(mustControls(t, h))
	w := h.workload("Portal", srm.PaaS)
	importSmall(t, h, w.ID)
	matrix := h.page("/matrix?framework=small")
	if got := matrix.Find(`table[data-testid="matrix"] tbody tr:not(.layer-row)`).Length(); got != 4 {
		t.Errorf("the matrix of the small catalog has %d rows, want its 4 controls", got)
	}
	if got := matrix.Find(`select[name="framework"] option[selected]`).AttrOr("value", ""); got != "small" {
		t.Errorf("the matrix's framework menu shows %q", got)
	}
	if href := matrix.Find(tid("compare-link")).AttrOr("href", ""); href != "/matrix/compare?framework=small" {
		t.Errorf("the compare link from the small catalog's matrix is %q", href)
	}
	if got := h.page("/matrix").Find(`table[data-testid="matrix"] tbody tr:not(.layer-row)`).Length(); got != own {
		t.Errorf("the default matrix has %d rows, want srm's own %d controls", got, own)
	}
	small := h.page("/matrix/compare?framework=small")
	if got := text(small.Find(tid("move-devices-saas")).Find(tid("moves"))); got != "0" {
		t.Errorf("for the small catalog (network controls only) devices under SaaS moves %q controls, want 0", got)
	}
	wantStatus(t, "GET the matrix of an unknown framework", h.get("/matrix?framework=nope"), http.StatusNotFound)
}
