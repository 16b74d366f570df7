package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// TestBulkActionWithoutJavaScriptReadsOnlyTheTickedRows ticks 5 rows of a
// workload whose every control has a status and assigns them an owner
// without JavaScript (a redirect answers): the statuses the request reads
// (EXPLAIN ANALYZE of each read-only statement it sent) are those 5, not
// the workload's hundreds, and the action still does what it did.
func TestBulkActionWithoutJavaScriptReadsOnlyTheTickedRows(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	if _, err := fixture.Synthetic(ctx, st, 3, 5, nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 1})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no workload seeded: %v", err)
	}
	wl := list.Items[0]
	srv := newServer(t, st, web.Config{})
	session := (&harness{t: t, st: st, srv: srv}).signInAs(srm.RoleEditor)
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) == 0 {
		t.Fatalf("no owners: %v", err)
	}
	// Every control gets a status, so that a read of the whole workload
	// would read them all.
	ws, err := st.WorkloadState(ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var all []store.StatusChange
	for _, c := range ws.Controls() {
		s := ws.Statuses[c.ID]
		s.Note = "seen"
		all = append(all, store.StatusChange{ControlID: c.ID, Status: s})
	}
	if _, stale, err := st.RecordStatuses(store.WithActor(ctx, store.Command("test")), wl.ID, all); err != nil || len(stale) > 0 {
		t.Fatalf("%d stale: %v", len(stale), err)
	}
	ws, err = st.WorkloadState(ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, as, err := ws.Catalog.Assess(ws.Workload.BaselineID, ws.Workload.Frameworks, ws.Workload.Model, ws.Overrides, ws.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"action": {"owner"}, "owner_id": {fmt.Sprint(owners[0].ID)}}
	var ticked []int64
	for _, a := range as {
		if a.Party.Counted() && a.Status.OwnerID != owners[0].ID && len(ticked) < 5 {
			ticked = append(ticked, a.Control.ID)
			form.Add(fmt.Sprintf("s%d", a.Control.ID), "1")
			form.Add("ver", fmt.Sprintf("%d:%d", a.Control.ID, a.Status.Version))
		}
	}
	if len(ws.Statuses) < 4*len(ticked) || len(ticked) < 5 {
		t.Fatalf("%d statuses, %d rows to tick: the seed is too small to tell", len(ws.Statuses), len(ticked))
	}

	counter.Record()
	req := httptest.NewRequest("POST", fmt.Sprintf("/workloads/%d/bulk", wl.ID), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := session.do(req)
	statements := counter.Recorded()
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "n=5") {
		t.Fatalf("bulk action: %d to %q, want 303 saying 5 changed", rec.Code, rec.Header().Get("Location"))
	}
	read := 0
	for _, s := range statements {
		if !strings.HasPrefix(strings.TrimSpace(s.SQL), "SELECT") {
			continue // a write: not run again
		}
		rows, _ := pool.Query(ctx, "EXPLAIN (ANALYZE, FORMAT JSON) "+s.SQL, s.Args...)
		plans, err := pgx.CollectRows(rows, pgx.RowTo[[]map[string]any])
		if err != nil || len(plans) != 1 || len(plans[0]) != 1 {
			t.Fatalf("EXPLAIN %s: %v", s.SQL, err)
		}
		read += rowsFrom(plans[0][0]["Plan"].(map[string]any), "statuses")
	}
	if read > len(ticked) {
		t.Errorf("the bulk action read %d statuses to change %d rows", read, len(ticked))
	}
	now, err := storedStatuses(st, ctx, wl.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, cid := range ticked {
		if now[cid].OwnerID != owners[0].ID || now[cid].Version != ws.Statuses[cid].Version+1 {
			t.Errorf("control %d: %+v, want owner %d at version %d", cid, now[cid], owners[0].ID, ws.Statuses[cid].Version+1)
		}
	}
}

// rowsFrom sums the rows that the scans of table in plan (EXPLAIN ANALYZE,
// JSON) returned.
func rowsFrom(plan map[string]any, table string) int {
	n := 0
	if plan["Relation Name"] == table {
		n += int(plan["Actual Rows"].(float64) * plan["Actual Loops"].(float64))
	}
	if kids, ok := plan["Plans"].([]any); ok {
		for _, k := range kids {
			n += rowsFrom(k.(map[string]any), table)
		}
	}
	return n
}
