package store_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestWorkloadStateReadsTheWorkloadOnceNotPerStatus runs the page's
// statement under EXPLAIN ANALYZE for a workload with a status per
// control: the workload's own lookups (its frameworks, its overrides, the
// workload row) must each run once, not once per status row. The planner
// once turned the frameworks array into a subplan run for each of a
// Moderate workload's 312 statuses, most of the page's PostgreSQL time.
func TestWorkloadStateReadsTheWorkloadOnceNotPerStatus(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	if _, err := fixture.Synthetic(ctx, st, 3, 5, nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 1})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no workload: %v", err)
	}
	if _, err := st.WorkloadState(ctx, list.Items[0].ID); err != nil { // load the caches
		t.Fatal(err)
	}
	counter.Record()
	ws, err := st.WorkloadState(ctx, list.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	statements := counter.Recorded()
	if len(statements) != 1 || len(ws.Statuses) < 2 {
		t.Fatalf("%d statements for %d statuses, want 1 statement for several", len(statements), len(ws.Statuses))
	}
	rows, _ := pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+statements[0].SQL, statements[0].Args...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	loops := regexp.MustCompile(`loops=(\d+)`)
	for _, l := range lines {
		if !strings.Contains(l, " on workload_frameworks") && !strings.Contains(l, " on overrides") &&
			!strings.Contains(l, " on workloads") {
			continue
		}
		if m := loops.FindStringSubmatch(l); m != nil {
			if n, _ := strconv.Atoi(m[1]); n > 1 {
				t.Errorf("a lookup of the workload ran %d times (once per status?):\n%s\nplan:\n%s", n, l, strings.Join(lines, "\n"))
			}
		}
	}
}
