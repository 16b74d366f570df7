package web_test

import (
	"fmt"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
	"github.com/srmhq/srm/web"
)

// The API's requests stay within the budget of every request
// (queryBudget round trips, batches of at most largestBatch statements:
// budget_test.go), the token's check included, with a warm catalog cache
// and right after the catalog changed, whatever the portfolio's size.
func TestAPIRequestsStayWithinTheQueryBudget(t *testing.T) {
	t.Parallel()
	measure := func(n int) map[string][2]int64 {
		pool, counter := storetest.CountingPool(t)
		st := store.New(pool)
		ctx := storetest.Context(t)
		if _, err := fixture.Synthetic(ctx, st, n, 7, nil); err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, st: st, pool: pool, srv: newServer(t, st, web.Config{})}
		c, _ := h.apiToken(srm.RoleEditor, true)
		list, err := st.Workloads(ctx, store.WorkloadQuery{Model: srm.IaaS, PerPage: 1})
		if err != nil || len(list.Items) == 0 {
			t.Fatalf("no IaaS workload seeded: %v", err)
		}
		w := list.Items[0].Workload
		patching := h.controlID("Patching of systems")
		status := fmt.Sprint(wpath(w.ID), "/controls/", patching)
		// The version as a client read it before: straight from the
		// database, so the store's caches stay as the request finds them.
		version := func() int64 {
			var v int64
			if err := pool.QueryRow(ctx, `SELECT COALESCE((SELECT version FROM statuses WHERE workload_id = $1 AND control_id = $2), 0)`,
				w.ID, patching).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		type call struct {
			name, method, path string
			body               func() any
			status             int
		}
		none := func() any { return nil }
		note := 0
		calls := []call{
			{"API workload list", "GET", "/api/v1/workloads?model=iaas&sort=-progress&limit=20", none, 200},
			{"API workload read", "GET", wpath(w.ID), none, 200},
			{"API workload controls", "GET", wpath(w.ID) + "/controls", none, 200},
			{"API status write", "PUT", status, func() any {
				note++
				return map[string]any{"version": version(), "owner": "Budget team", "note": fmt.Sprint("n", note)}
			}, 200},
			{"API stale status write", "PUT", status, func() any {
				return map[string]any{"version": version() - 1, "owner": "Budget team", "note": "late"}
			}, 409},
		}
		out := map[string][2]int64{}
		run := func(cl call) int64 {
			t.Helper()
			body := cl.body()
			counter.Reset()
			res := c.do(cl.method, cl.path, body)
			if res.Code != cl.status {
				t.Fatalf("%s: status %d, want %d; body:\n%s", cl.name, res.Code, cl.status, snippet(res.Body.String()))
			}
			if b := counter.LargestBatch(); b > largestBatch {
				t.Errorf("%s: a batch of %d statements, want at most %d", cl.name, b, largestBatch)
			}
			return counter.Count()
		}
		for i, cl := range calls {
			run(cl) // warm the cache
			warm := run(cl)
			ctl := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: fmt.Sprintf("API budget control %d", i)}
			if err := st.CreateControl(ctx, &ctl); err != nil {
				t.Fatal(err)
			}
			out[cl.name] = [2]int64{warm, run(cl)}
		}
		return out
	}
	small, large := measure(10), measure(300)
	for name, n := range small {
		// A refused save brings back what is stored now in the same
		// statement (store.RecordStatus): four round trips even after a
		// catalog change.
		budget, cold := int64(queryBudget), int64(queryBudget)
		if n[0] > budget || n[1] > cold {
			t.Errorf("%s: %d round trips (%d after a catalog change), want at most %d (%d)", name, n[0], n[1], budget, cold)
		}
		if large[name] != n {
			t.Errorf("%s: %v round trips with 10 workloads, %v with 300; want the same", name, n, large[name])
		}
		t.Logf("%-25s %d round trips (%d after a catalog change)", name, n[0], n[1])
	}
}
