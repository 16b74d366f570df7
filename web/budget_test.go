package web_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// queryBudget is the most round trips to the database any request may
// make: a statement sent on its own is one, and so is a batch, which the
// store sends only for a write and the setting of its actor
// (store/audit.go): largestBatch holds it to that.
const queryBudget = 4

// largestBatch is the most statements a batch may carry: the actor's
// setting and one write.
const largestBatch = 2

type budgetCase struct {
	name    string
	method  string
	path    string
	form    url.Values
	htmx    bool
	status  int
	version formVersion // of the status form, posted as "version"
}

// formVersion is which version of the status a form posts.
type formVersion int

const (
	noVersion      formVersion = iota
	currentVersion             // the one stored now, as a browser posts it from a fresh page
	staleVersion               // the one before: someone saved since the page was read
)

// measureQueries seeds n workloads, held to srm's catalog and NIST SP
// 800-53 Low (174 controls each, so that a bulk action can change 50
// rows), and returns, per request, the round trips it made with a warm
// catalog cache and right after the catalog changed, and the statements
// it sent with a warm cache. What the test reads between requests (the
// versions a page would show) it reads straight from the database, never
// through the store, whose catalog cache the request must find as the
// catalog change left it.
func measureQueries(t *testing.T, n int) (warm, cold, statements map[string]int64) {
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	const low = "nist-800-53-rev5-low"
	if _, err := st.ImportBuiltin(ctx, low, false); err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.Synthetic(ctx, st, n, 7, []string{low}); err != nil {
		t.Fatal(err)
	}
	page, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.IaaS, PerPage: 1})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("no IaaS workload seeded: %v", err)
	}
	wl := page.Items[0]
	// Pager links page from a workload with others after it, or before it.
	byProgress, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByProgress, PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	iaas, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.IaaS, Sort: store.ByProgressDesc, PerPage: 1000})
	if err != nil || len(iaas.Items) < 2 {
		t.Fatalf("%d IaaS workloads seeded (%v); the pager needs two", len(iaas.Items), err)
	}
	after, before := byProgress.Items[0].Workload.ID, iaas.Items[len(iaas.Items)-1].Workload.ID
	var sso, patching int64
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range controls {
		switch c.Title {
		case "Single sign-on and multi-factor authentication":
			sso = c.ID
		case "Patching of systems":
			patching = c.ID
		}
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) == 0 {
		t.Fatalf("no owners seeded: %v", err)
	}
	owner := owners[0].Name
	w := fmt.Sprintf("/workloads/%d", wl.ID)
	status := fmt.Sprintf("%s/controls/%d", w, sso)
	var azures int64 // a control Azure carries for the workload
	if err := pool.QueryRow(ctx, `SELECT control_id FROM assignments WHERE workload_id = $1 AND party = 'provider' ORDER BY control_id LIMIT 1`,
		wl.ID).Scan(&azures); err != nil {
		t.Fatal(err)
	}
	// A bulk action on every control of the workload, each from the version
	// stored now (read again before each request, as a page would show it),
	// and one from a version that has moved on.
	bulkForm := url.Values{"scope": {"shown"}, "action": {"owner"}, "owner_id": {fmt.Sprint(owners[1%len(owners)].ID)}}
	staleBulk := url.Values{"scope": {"shown"}, "action": {"owner"}}
	// 50 ticked rows, each the customer's or shared.
	rows, _ := pool.Query(ctx, `SELECT control_id FROM assignments WHERE workload_id = $1 AND counted ORDER BY control_id LIMIT 50`, wl.ID)
	ticked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ticked) != 50 {
		t.Fatalf("%d counted controls to tick (%v), want 50", len(ticked), err)
	}
	fifty := url.Values{"action": {"owner"}}
	for _, c := range ticked {
		fifty.Add("select", fmt.Sprint(c))
	}
	// The checklist's Save changes without JavaScript: the page's one form,
	// 20 rows changed (owner and tick, set before each request in run).
	twenty := ticked[:20]
	saveChanges := url.Values{"back": {""}}

	cases := []budgetCase{
		{"portfolio", "GET", "/", nil, false, 200, noVersion},
		{"portfolio by progress, filtered, page 2", "GET", "/?model=paas&sort=-progress&page=2", nil, false, 200, noVersion},
		{"portfolio, next page by its link", "GET", fmt.Sprintf("/?sort=progress&page=2&after=%d", after), nil, false, 200, noVersion},
		{"portfolio held to a framework, by model, page 2", "GET", "/?framework=srm&model=paas&sort=-progress&page=2", nil, false, 200, noVersion},
		{"portfolio held to a framework, next page by its link", "GET", fmt.Sprintf("/?framework=srm&sort=progress&page=2&after=%d", after), nil, false, 200, noVersion},
		{"portfolio, previous page by its link", "GET", fmt.Sprintf("/?model=iaas&sort=-progress&page=2&before=%d", before), nil, false, 200, noVersion},
		{"new workload form", "GET", "/workloads/new", nil, false, 200, noVersion},
		{"workload page", "GET", w, nil, false, 200, noVersion},
		{"workload page fragment", "GET", w, nil, true, 200, noVersion},
		{"edit form", "GET", w + "/edit", nil, false, 200, noVersion},
		{"model change preview", "POST", w, url.Values{"name": {wl.Name}, "model": {"paas"}, "baseline": {fmt.Sprint(wl.BaselineID)}}, false, 200, noVersion},
		{"complete a control", "POST", status, url.Values{"owner": {owner}, "complete": {"1"}}, false, 303, currentVersion},
		{"complete a control with htmx", "POST", status, url.Values{"owner": {owner}, "complete": {"1"}, "note": {"n"}}, true, 200, currentVersion},
		{"add an owner inline", "POST", status, url.Values{"owner": {"Budget team"}, "owner_kind": {"team"}}, true, 200, currentVersion},
		{"rejected status form", "POST", status, url.Values{"complete": {"1"}, "evidence": {"ftp://x"}}, true, 422, currentVersion},
		{"stale status form", "POST", status, url.Values{"owner": {"Budget team"}, "note": {"late"}}, true, 409, staleVersion},
		{"stale status form without JavaScript", "POST", status, url.Values{"owner": {"Budget team"}, "note": {"later"}}, false, 409, staleVersion},
		{"complete a control Azure carries", "POST", fmt.Sprintf("%s/controls/%d", w, azures), url.Values{"owner": {owner}, "complete": {"1"}}, false, 409, noVersion},
		{"repeated status submission", "POST", status, url.Values{"owner": {"Budget team"}, "owner_kind": {"team"}}, true, 200, staleVersion},
		{"workload page, filtered", "GET", w + "?layer=compute&state=open&owner=mine&q=patch", nil, false, 200, noVersion},
		{"checklist export, filtered, CSV", "GET", w + "/checklist.csv?layer=compute&state=open&owner=mine&q=patch", nil, false, 200, noVersion},
		{"checklist export, XLSX", "GET", w + "/checklist.xlsx", nil, false, 200, noVersion},
		{"OSCAL SSP", "GET", w + "/ssp.json?framework=srm", nil, false, 200, noVersion},
		{"control page", "GET", status, nil, false, 200, noVersion},
		{"control details in place", "GET", status, nil, true, 200, noVersion},
		{"checklist row save", "POST", status, url.Values{"part": {"row"}, "owner": {owner}, "back": {"layer=identity"}}, false, 303, currentVersion},
		{"bulk assign every row shown", "POST", w + "/bulk", bulkForm, false, 303, noVersion},
		{"bulk assign with a conflict", "POST", w + "/bulk", staleBulk, true, 409, noVersion},
		{"bulk assign 50 ticked rows", "POST", w + "/bulk", fifty, false, 303, noVersion},
		{"save changes on 20 rows", "POST", w + "/bulk", saveChanges, false, 303, noVersion},
		{"workload page, one layer", "GET", w + "?layer=identity", nil, false, 200, noVersion},
		{"workload page, one layer, with htmx", "GET", w + "?layer=network&state=open", nil, true, 200, noVersion},
		{"override form", "GET", fmt.Sprintf("%s/controls/%d/override", w, patching), nil, false, 200, noVersion},
		{"owners", "GET", "/owners", nil, false, 200, noVersion},
		{"owner queue", "GET", fmt.Sprint("/owners/", owners[0].ID), nil, false, 200, noVersion},
		{"matrix", "GET", "/matrix?baseline=azure-2026", nil, false, 200, noVersion},
		{"compare", "GET", "/matrix/compare", nil, false, 200, noVersion},
		{"catalog", "GET", "/controls", nil, false, 200, noVersion},
		{"readyz", "GET", "/readyz", nil, false, 200, noVersion},
		{"my controls", "GET", "/my", nil, false, 200, noVersion},
		{"account", "GET", "/account", nil, false, 200, noVersion},
		{"audit trail", "GET", "/audit", nil, false, 200, noVersion},
		{"audit trail of one workload", "GET", "/audit?workload=" + fmt.Sprint(wl.ID), nil, false, 200, noVersion},
		{"workload history", "GET", w + "/history", nil, false, 200, noVersion},
		{"users", "GET", "/admin/users", nil, false, 200, noVersion},
	}
	// A clock that stands still: a session seen more than a minute ago is
	// written back, and measuring 1,000 workloads on a loaded machine can
	// take longer than that, which would add a statement now and then.
	frozen := time.Now()
	srv := newServer(t, st, web.Config{Now: func() time.Time { return frozen }})
	// Every request is made signed in, as a person would make it: the
	// session's statements count.
	session := (&harness{t: t, st: st, srv: srv}).signInAs(srm.RoleAdmin)
	statements = map[string]int64{} // sent by the last run of each case, with a warm cache
	flip := 0
	run := func(c budgetCase) int64 {
		t.Helper()
		var req *http.Request
		if c.version != noVersion {
			var v int64
			if err := pool.QueryRow(ctx, `SELECT COALESCE((SELECT version FROM statuses WHERE workload_id = $1 AND control_id = $2), 0)`,
				wl.ID, sso).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if c.version == staleVersion {
				v--
			}
			c.form = maps.Clone(c.form)
			c.form.Set("version", fmt.Sprint(v))
		}
		if c.path == w+"/bulk" {
			// Every control's version as the page shows it now; the
			// conflicting action claims one version too old for the first.
			rows, _ := pool.Query(ctx, `SELECT control_id, version FROM statuses WHERE workload_id = $1`, wl.ID)
			ss := map[int64]int64{}
			var cid, ver int64
			if _, err := pgx.ForEachRow(rows, []any{&cid, &ver}, func() error { ss[cid] = ver; return nil }); err != nil {
				t.Fatal(err)
			}
			c.form = maps.Clone(c.form)
			c.form.Del("ver")
			for _, ctl := range controls {
				v := ss[ctl.ID]
				if c.status == http.StatusConflict && ctl.ID == sso {
					v++
				}
				c.form.Add("ver", fmt.Sprintf("%d:%d", ctl.ID, v))
			}
			// Alternate owners, so each run changes every row.
			flip++
			c.form.Set("owner_id", fmt.Sprint(owners[flip%len(owners)].ID))
			if c.form.Get("action") == "" {
				// Save changes: each row to another owner, ticked and unticked in turn.
				c.form.Del("owner_id")
				for i, cid := range twenty {
					ns := fmt.Sprint(cid)
					c.form.Set("o"+ns, owners[(flip+i)%len(owners)].Name)
					if flip%2 == 0 {
						c.form.Set("c"+ns, "on")
					} else {
						c.form.Del("c" + ns)
					}
				}
			}
		}
		if c.form != nil {
			req = httptest.NewRequest(c.method, c.path, strings.NewReader(c.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(c.method, c.path, nil)
		}
		if c.htmx {
			req.Header.Set("HX-Request", "true")
		}
		counter.Reset()
		rec := session.do(req)
		if rec.Code != c.status {
			t.Fatalf("%s %s (%d workloads): status %d, want %d", c.method, c.path, n, rec.Code, c.status)
		}
		if b := counter.LargestBatch(); b > largestBatch {
			t.Errorf("%s: a batch of %d statements, want at most %d (the actor's setting and one write)", c.name, b, largestBatch)
		}
		statements[c.name] = counter.Statements()
		return counter.Count()
	}

	warm, cold = map[string]int64{}, map[string]int64{}
	for _, c := range cases {
		run(c) // fill the catalog cache
		warm[c.name] = run(c)
	}
	warmStatements := maps.Clone(statements)
	for i, c := range cases {
		// Change the catalog, so this request finds the cache stale.
		ctl := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: fmt.Sprintf("Budget control %d", i)}
		if err := st.CreateControl(ctx, &ctl); err != nil {
			t.Fatal(err)
		}
		cold[c.name] = run(c)
	}
	return warm, cold, warmStatements
}

// savesAlone are the requests that read nothing besides the session
// before their one write, and answer without reading anything after it: a
// status saved from a form without JavaScript (303), or refused because
// Azure carries the control (409). They make exactly these round trips,
// also right after a catalog change: the session, then the save.
var savesAlone = map[string]int64{
	"complete a control":               2,
	"checklist row save":               2,
	"complete a control Azure carries": 2,
}

func TestEveryRequestStaysWithinItsQueryBudgetWhateverThePortfolioSize(t *testing.T) {
	t.Parallel()
	small, smallCold, statements := measureQueries(t, 10)
	large, largeCold, _ := measureQueries(t, 1000)
	for name, want := range savesAlone {
		if small[name] != want || smallCold[name] != want {
			t.Errorf("%s: %d round trips (%d after a catalog change), want exactly %d: the session and the save", name, small[name], smallCold[name], want)
		}
	}
	names := make([]string, 0, len(small))
	for name := range small {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		n := small[name]
		if n > queryBudget || smallCold[name] > queryBudget {
			t.Errorf("%s: %d round trips (%d after a catalog change), want at most %d", name, n, smallCold[name], queryBudget)
		}
		if large[name] != n || largeCold[name] != smallCold[name] {
			t.Errorf("%s: %d round trips with 10 workloads, %d with 1,000 (after a catalog change: %d and %d); want the same",
				name, n, large[name], smallCold[name], largeCold[name])
		}
		t.Logf("%-40s %d round trips (%d after a catalog change), %d statements", name, n, smallCold[name], statements[name])
	}
}
