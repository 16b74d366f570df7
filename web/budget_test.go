package web_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// queryBudget is the most SQL statements any request may send.
const queryBudget = 4

type budgetCase struct {
	name   string
	method string
	path   string
	form   url.Values
	htmx   bool
	status int
}

// measureQueries seeds n workloads and returns, per request, the statements
// it sent with a warm catalog cache and right after the catalog changed.
func measureQueries(t *testing.T, n int) (warm, cold map[string]int64) {
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := t.Context()
	if _, err := st.SeedSynthetic(ctx, n, 7); err != nil {
		t.Fatal(err)
	}
	page, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.IaaS, PerPage: 1})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("no IaaS workload seeded: %v", err)
	}
	wl := page.Items[0]
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

	cases := []budgetCase{
		{"portfolio", "GET", "/", nil, false, 200},
		{"portfolio by progress, filtered, page 2", "GET", "/?model=paas&sort=-progress&page=2", nil, false, 200},
		{"new workload form", "GET", "/workloads/new", nil, false, 200},
		{"workload page", "GET", w, nil, false, 200},
		{"workload page fragment", "GET", w, nil, true, 200},
		{"edit form", "GET", w + "/edit", nil, false, 200},
		{"model change preview", "POST", w, url.Values{"name": {wl.Name}, "model": {"paas"}, "baseline": {fmt.Sprint(wl.BaselineID)}}, false, 200},
		{"complete a control", "POST", status, url.Values{"owner": {owner}, "complete": {"1"}}, false, 303},
		{"complete a control with htmx", "POST", status, url.Values{"owner": {owner}, "complete": {"1"}, "note": {"n"}}, true, 200},
		{"add an owner inline", "POST", status, url.Values{"owner": {"Budget team"}, "owner_kind": {"team"}}, true, 200},
		{"rejected status form", "POST", status, url.Values{"complete": {"1"}, "evidence": {"ftp://x"}}, true, 422},
		{"override form", "GET", fmt.Sprintf("%s/controls/%d/override", w, patching), nil, false, 200},
		{"owners", "GET", "/owners", nil, false, 200},
		{"owner queue", "GET", fmt.Sprint("/owners/", owners[0].ID), nil, false, 200},
		{"matrix", "GET", "/matrix?baseline=azure-2026", nil, false, 200},
		{"compare", "GET", "/matrix/compare", nil, false, 200},
		{"catalog", "GET", "/controls", nil, false, 200},
		{"readyz", "GET", "/readyz", nil, false, 200},
	}
	srv := web.NewServer(slog.New(slog.DiscardHandler), st, nil)
	run := func(c budgetCase) int64 {
		t.Helper()
		var req *http.Request
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
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Fatalf("%s %s (%d workloads): status %d, want %d", c.method, c.path, n, rec.Code, c.status)
		}
		return counter.Count()
	}

	warm, cold = map[string]int64{}, map[string]int64{}
	for _, c := range cases {
		run(c) // fill the catalog cache
		warm[c.name] = run(c)
	}
	for i, c := range cases {
		// Change the catalog, so this request finds the cache stale.
		ctl := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: fmt.Sprintf("Budget control %d", i)}
		if err := st.CreateControl(ctx, &ctl); err != nil {
			t.Fatal(err)
		}
		cold[c.name] = run(c)
	}
	return warm, cold
}

func TestEveryRequestStaysWithinItsQueryBudgetWhateverThePortfolioSize(t *testing.T) {
	t.Parallel()
	small, smallCold := measureQueries(t, 10)
	large, largeCold := measureQueries(t, 1000)
	names := make([]string, 0, len(small))
	for name := range small {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		n := small[name]
		if n > queryBudget || smallCold[name] > queryBudget {
			t.Errorf("%s: %d statements (%d after a catalog change), want at most %d", name, n, smallCold[name], queryBudget)
		}
		if large[name] != n || largeCold[name] != smallCold[name] {
			t.Errorf("%s: %d statements with 10 workloads, %d with 1,000 (after a catalog change: %d and %d); want the same",
				name, n, large[name], smallCold[name], largeCold[name])
		}
		t.Logf("%-40s %d statements (%d after a catalog change)", name, n, smallCold[name])
	}
}
