package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// TestHotPagesAreServedByIndexesAt10000Workloads replays the hot pages on
// 10,000 seeded workloads at full size, each held to srm's catalog and NIST
// SP 800-53 Moderate (3.1 million statuses and as many assignments, as
// make bench), records every statement they send, and EXPLAINs each one:
// none may scan a big table sequentially.
func TestHotPagesAreServedByIndexesAt10000Workloads(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seeds 10,000 workloads")
	}
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	const moderate = "nist-800-53-rev5-moderate"
	if _, err := st.ImportBuiltin(ctx, moderate, false); err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.Synthetic(ctx, st, 10000, 3, []string{moderate}); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.SaaS, PerPage: 1, Page: 40})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no SaaS workload seeded: %v", err)
	}
	wl := list.Items[0]
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sso int64
	for _, c := range controls {
		if c.Title == "Single sign-on and multi-factor authentication" {
			sso = c.ID
		}
	}
	srv := newServer(t, st, web.Config{})
	session := (&harness{t: t, st: st, srv: srv}).signInAs(srm.RoleEditor)
	send := func(method, path string, form url.Values, htmx bool) {
		t.Helper()
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, path, nil)
		}
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		rec := session.do(req)
		if rec.Code >= 400 {
			t.Fatalf("%s %s: status %d", method, path, rec.Code)
		}
	}
	send("GET", "/", nil, false) // load the catalog: not a hot-path statement
	seeded, err := st.WorkloadState(ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	ssoVersion := fmt.Sprint(seeded.Statuses[sso].Version) // as the workload page's status form carries it

	counter.Record()
	w := fmt.Sprintf("/workloads/%d", wl.ID)
	send("GET", "/", nil, false)
	send("GET", "/?sort=progress&page=30", nil, false)
	send("GET", "/?model=iaas&sort=-progress&page=5", nil, false)
	// Next and Previous links page by keyset, deep in the list.
	send("GET", fmt.Sprintf("/?sort=progress&page=150&after=%d", wl.ID), nil, false)
	send("GET", fmt.Sprintf("/?sort=name&page=150&before=%d", wl.ID), nil, false)
	send("GET", fmt.Sprintf("/?model=saas&sort=-progress&page=40&after=%d", wl.ID), nil, false)
	// Filtered by framework (every seeded workload holds srm's own).
	send("GET", "/?framework=srm&sort=progress&page=30", nil, false)
	send("GET", fmt.Sprintf("/?framework=srm&sort=name&page=150&after=%d", wl.ID), nil, false)
	send("GET", w, nil, false)
	send("POST", fmt.Sprintf("%s/controls/%d", w, sso), url.Values{"owner": {"Explain team"}, "complete": {"1"}, "version": {ssoVersion}}, true)
	// A checklist row's save without JavaScript: the save alone, keeping
	// the details as stored.
	send("POST", fmt.Sprintf("%s/controls/%d", w, sso), url.Values{"part": {"row"}, "owner": {"Explain team"}, "version": {fmt.Sprint(seeded.Statuses[sso].Version + 1)}}, false)
	send("GET", "/owners", nil, false)
	// The checklist filtered, a control's page, and a bulk action on every
	// row, each from the version stored now.
	send("GET", w+"?layer=compute&state=open&owner=none&q=patch", nil, false)
	send("GET", w+"?layer=identity", nil, true) // the checklist of one layer (store.WorkloadLayerState)
	send("GET", fmt.Sprintf("%s/controls/%d", w, sso), nil, true)
	now, err := storedStatuses(st, ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) == 0 {
		t.Fatalf("no owners: %v", err)
	}
	bulk := url.Values{"scope": {"shown"}, "action": {"owner"}, "owner_id": {fmt.Sprint(owners[0].ID)}}
	for _, c := range controls {
		bulk.Add("ver", fmt.Sprintf("%d:%d", c.ID, now[c.ID].Version))
	}
	send("POST", w+"/bulk", bulk, true)
	// Without JavaScript, a bulk action on 50 ticked rows reads only their
	// statuses (store.WorkloadStateOf).
	if now, err = storedStatuses(st, ctx, wl.ID); err != nil {
		t.Fatal(err)
	}
	ticked := url.Values{"action": {"complete"}}
	for _, c := range controls[:min(50, len(controls))] {
		ticked.Add("select", fmt.Sprint(c.ID))
		ticked.Add("ver", fmt.Sprintf("%d:%d", c.ID, now[c.ID].Version))
	}
	send("POST", w+"/bulk", ticked, false)
	statements := counter.Recorded()
	if len(statements) < 8 {
		t.Fatalf("recorded %d statements; the replay did not run", len(statements))
	}

	if !slices.ContainsFunc(statements, func(s storetest.Statement) bool {
		return strings.Contains(s.SQL, "FROM layer_progress WHERE workload_id = w.id")
	}) {
		t.Errorf("no statement read layer_progress: the checklist of one layer was not replayed")
	}

	big := []string{"statuses", "workloads", "layer_progress", "owner_progress", "overrides", "assignments"}
	for _, s := range statements {
		rows, _ := pool.Query(ctx, "EXPLAIN "+s.SQL, s.Args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", s.SQL, err)
		}
		plan := strings.Join(lines, "\n")
		for _, table := range big {
			if strings.Contains(plan, "Seq Scan on "+table+" ") || strings.HasSuffix(plan, "Seq Scan on "+table) {
				t.Errorf("sequential scan of %s at 10,000 workloads:\n%s\nplan:\n%s", table, s.SQL, plan)
			}
		}
	}
}
