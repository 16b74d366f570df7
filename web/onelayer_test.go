package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// mixedWorkloads imports NIST SP 800-53 Low into st and registers two
// workloads with a realistic mix of work: Portal (PaaS) held to srm's
// catalog and Low, Ledger (IaaS) to srm's only (so Low, the largest
// framework, is one it does not hold). On each: owners on some controls,
// some complete, some not applicable, and two overrides.
func mixedWorkloads(t *testing.T, st *store.Store) (both, own srm.Workload, owners []srm.Owner) {
	t.Helper()
	ctx := storetest.Context(t)
	res, err := st.ImportBuiltin(ctx, "nist-800-53-rev5-low", false)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chart, ok := cat.BaselineBySlug("azure-chart")
	if !ok {
		t.Fatal("no azure-chart baseline")
	}
	for _, name := range []string{"Platform team", "Ana Ortiz"} {
		o := srm.Owner{Name: name, Kind: srm.Team}
		if err := st.CreateOwner(ctx, &o); err != nil {
			t.Fatal(err)
		}
		owners = append(owners, o)
	}
	both = srm.Workload{Name: "Portal", Model: srm.PaaS, BaselineID: chart.ID}
	own = srm.Workload{Name: "Ledger", Model: srm.IaaS, BaselineID: chart.ID}
	for _, w := range []*srm.Workload{&both, &own} {
		if err := st.CreateWorkload(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AttachFramework(ctx, both.ID, res.Framework.ID); err != nil {
		t.Fatal(err)
	}
	for _, w := range []srm.Workload{both, own} {
		ws, err := st.WorkloadState(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		controls := ws.Controls()
		for i, c := range controls {
			var s srm.Status
			switch {
			case i%5 == 0:
				s = srm.Status{OwnerID: owners[0].ID, Complete: true}
			case i%7 == 0:
				s = srm.Status{OwnerID: owners[1].ID, NotApplicable: true, NAReason: "No such thing here"}
			case i%3 == 0:
				s = srm.Status{OwnerID: owners[i%2].ID}
			case i%11 == 0:
				s = srm.Status{Complete: true}
			default:
				continue
			}
			if err := st.SaveStatus(ctx, w.ID, c.ID, s); err != nil {
				t.Fatal(err)
			}
		}
		// Two departures from the chart, in different layers.
		for _, o := range []struct {
			c     srm.Control
			party srm.Party
		}{{controls[1], srm.Customer}, {controls[len(controls)-2], srm.Provider}} {
			if err := st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: o.c.ID, Party: o.party, Reason: "Agreed with Azure"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return both, own, owners
}

// outer is sel's HTML, or a note that it is missing.
func outer(sel *goquery.Selection) string {
	if sel.Length() == 0 {
		return "(missing)"
	}
	h, err := goquery.OuterHtml(sel)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return h
}

// checklistRows describes each row of sel as a person and the form see it:
// its control, its text, and its fields' values and ticks (its links carry
// the filter, which differs between the pages compared).
func checklistRows(sel *goquery.Selection) []string {
	var out []string
	sel.Find(".rows > li").Each(func(_ int, li *goquery.Selection) {
		row := li.ChildrenFiltered("a").AttrOr("id", "") + " " + li.AttrOr("class", "") + " " + text(li)
		li.Find("input").Each(func(_ int, in *goquery.Selection) {
			_, checked := in.Attr("checked")
			row += fmt.Sprintf(" [%s=%s %v]", in.AttrOr("name", ""), in.AttrOr("value", ""), checked)
		})
		out = append(out, row)
	})
	return out
}

// The checklist filtered to one layer reads that layer's controls only
// (store.WorkloadLayerState), yet says of the whole workload exactly what
// the unfiltered page says: the rings and their legend, the progress in all
// and per framework, each layer's bar, and how many controls there are;
// and its rows are the rows the same filter shows in that layer's section
// without the layer, whatever else the filter holds.
func TestOneLayerChecklistShowsTheWholeWorkloadsProgress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	both, own, owners := mixedWorkloads(t, h.st)
	filters := []string{"", "state=open", "state=complete", "state=not-applicable", "party=shared", "party=customer",
		"party=provider", "owner=none", "owner=" + itoa(owners[0].ID), "q=policy", "framework=srm",
		"framework=nist-800-53-rev5-low"}
	for _, w := range []srm.Workload{both, own} {
		path := workloadPath(w.ID)
		all := h.page(path)
		summary := outer(all.Find("section.summary"))
		if w.ID == both.ID && all.Find(tid("framework-progress-nist-800-53-rev5-low")).Length() == 0 {
			t.Fatalf("%s: no progress for Low on the unfiltered page; the comparison would miss it", w.Name)
		}
		controls := all.Find(".rows > li").Length()
		var rows int
		for _, f := range filters {
			full := h.page(path + "?" + f)
			for _, l := range srm.Layers {
				q := "layer=" + string(l)
				if f != "" {
					q += "&" + f
				}
				for _, htmx := range []bool{false, true} {
					var one *goquery.Document
					if htmx {
						one = h.page(path+"?"+q, "HX-Request", "true")
					} else {
						one = h.page(path + "?" + q)
					}
					what := fmt.Sprintf("%s ?%s (htmx %v)", w.Name, q, htmx)
					if got := outer(one.Find("section.summary")); got != summary {
						t.Errorf("%s: the progress summary differs from the unfiltered page's:\n got %s\nwant %s", what, snippet(got), snippet(summary))
					}
					want := full.Find("details#layer-" + string(l))
					got := one.Find("details.layer")
					if want.Length() == 0 {
						if got.Length() != 0 || one.Find(tid("no-match")).Length() != 1 {
							t.Errorf("%s: %d sections and no 'no match', want none as ?%s shows none in %s", what, got.Length(), f, l)
						}
						continue
					}
					if got.Length() != 1 || got.AttrOr("id", "") != "layer-"+string(l) {
						t.Errorf("%s: %d sections (%q), want that layer's only", what, got.Length(), got.AttrOr("id", ""))
						continue
					}
					if g, wh := outer(got.Find("summary.layer-head")), outer(want.Find("summary.layer-head")); g != wh {
						t.Errorf("%s: the layer's head differs from the one ?%s shows:\n got %s\nwant %s", what, f, snippet(g), snippet(wh))
					}
					gotRows, wantRows := checklistRows(got), checklistRows(want)
					if !slices.Equal(gotRows, wantRows) {
						t.Errorf("%s: rows\n%s\nwant those ?%s shows in %s:\n%s", what, strings.Join(gotRows, "\n"), f, l, strings.Join(wantRows, "\n"))
					}
					rows += len(gotRows)
					wantSummary := fmt.Sprintf(" the filter, of %d. ", controls)
					if s := text(one.Find(tid("filter-summary"))); !strings.Contains(s+" ", wantSummary) {
						t.Errorf("%s: the filter summary reads %q, want it to count %d controls", what, s, controls)
					}
				}
			}
		}
		if rows == 0 {
			t.Errorf("%s: no filter showed any row; the comparison compared nothing", w.Name)
		}
	}
}

// The checklist of one layer reads from the database the statuses of that
// layer's controls, not the workload's every status: the statuses its
// read-only statements take from the table (EXPLAIN ANALYZE of each) are
// the layer's. The same at the htmx fragment.
func TestOneLayerChecklistReadsOnlyItsLayersStatuses(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	both, _, _ := mixedWorkloads(t, st)
	ctx := storetest.Context(t)
	ws, err := st.WorkloadState(ctx, both.ID)
	if err != nil {
		t.Fatal(err)
	}
	statusesIn := map[srm.Layer]int{}
	statuses := 0
	for _, c := range ws.Controls() {
		if _, ok := ws.Statuses[c.ID]; ok {
			statusesIn[c.Layer]++
			statuses++
		}
	}
	srv := newServer(t, st, web.Config{})
	session := (&harness{t: t, st: st, srv: srv}).signInAs(srm.RoleEditor)
	statusesRead := func(path string, htmx bool) int {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		session.do(req) // the catalog and owners caches filled
		counter.Record()
		if rec := session.do(req); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, rec.Code)
		}
		read := 0
		for _, s := range counter.Recorded() {
			if !strings.HasPrefix(strings.TrimSpace(s.SQL), "SELECT") {
				continue
			}
			rows, _ := pool.Query(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.SQL, s.Args...)
			plans, err := pgx.CollectRows(rows, pgx.RowTo[[]map[string]any])
			if err != nil || len(plans) != 1 || len(plans[0]) != 1 {
				t.Fatalf("EXPLAIN %s: %v", s.SQL, err)
			}
			read += rowsFrom(plans[0][0]["Plan"].(map[string]any), "statuses")
		}
		return read
	}
	path := workloadPath(both.ID)
	for _, htmx := range []bool{false, true} {
		if full := statusesRead(path, htmx); full != statuses {
			t.Errorf("the unfiltered page (htmx %v) read %d statuses, want every one, %d", htmx, full, statuses)
		}
		for _, l := range srm.Layers {
			if got := statusesRead(path+"?layer="+string(l), htmx); got > statusesIn[l] {
				t.Errorf("?layer=%s (htmx %v): %d statuses read, want at most the layer's %d (of %d)", l, htmx, got, statusesIn[l], statuses)
			}
		}
	}
}
