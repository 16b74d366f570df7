package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestBulkSaveTriggersLookUpWorkloadsByKey saves 50 statuses of one
// workload (owner and completion changed, so that every summary moves)
// with auto_explain sending the plan of every statement, the triggers'
// own included, back to the client, and checks that the statement
// triggers (assignments_update_delta, audit_statuses_updated) read the
// workloads table by key only: a bulk save touches one workload, and a
// scan of all of them (as a hash join to the per-workload sums was
// planned, since the planner cannot know how many workloads a statement's
// rows hold) costs in proportion to the portfolio: 10,000 rows read twice
// per save at full size. On a small database a lookup by key may itself
// be planned as a sequential scan filtered on the id, which reads a page
// or two; what must not be there is a scan of workloads with no condition
// on its id.
func TestBulkSaveTriggersLookUpWorkloadsByKey(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(storetest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		plans []string
	)
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		if strings.Contains(n.Message, "plan:") {
			mu.Lock()
			plans = append(plans, n.Message+"\nCONTEXT: "+n.Where)
			mu.Unlock()
		}
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		for _, s := range []string{`LOAD 'auto_explain'`, `SET auto_explain.log_min_duration = 0`,
			`SET auto_explain.log_nested_statements = on`, `SET auto_explain.log_level = notice`,
			`SET client_min_messages = notice`} {
			if _, err := c.Exec(ctx, s, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
		}
		return nil
	}
	ctx := store.WithActor(storetest.Context(t), store.Command("test"))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	if _, err := fixture.Synthetic(ctx, st, 40, 3, nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 1})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("no workload seeded: %v", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) < 2 {
		t.Fatalf("owners: %v", err)
	}
	w := list.Items[0]
	ws, err := st.WorkloadState(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	var changes []store.StatusChange
	for i, c := range ws.Controls() {
		s := ws.Statuses[c.ID]
		s.OwnerID = owners[i%len(owners)].ID
		s.Complete = !s.Complete
		changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
		if len(changes) == 50 {
			break
		}
	}
	mu.Lock()
	plans = nil
	mu.Unlock()
	saved, stale, err := st.RecordStatuses(ctx, w.ID, changes)
	if err != nil || len(stale) > 0 || len(saved) != len(changes) {
		t.Fatalf("%d saved, %d stale of %d: %v", len(saved), len(stale), len(changes), err)
	}

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, p := range plans {
		for _, fn := range []string{"assignments_update_delta", "audit_statuses_updated"} {
			if !strings.Contains(p, "PL/pgSQL function "+fn+"()") {
				continue
			}
			seen[fn] = true
			if !workloadsByKey(p) {
				t.Errorf("%s reads every workload for a save of one:\n%s", fn, p)
			}
		}
	}
	for _, fn := range []string{"assignments_update_delta", "audit_statuses_updated"} {
		if !seen[fn] {
			t.Errorf("no plan of %s's statements came back (%d plans): the check checked nothing", fn, len(plans))
		}
	}
}

// workloadsByKey reports whether every scan of the workloads table in plan
// has a condition on the workload's id (an index condition, or a filter
// on a table small enough to be read whole).
func workloadsByKey(plan string) bool {
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "Scan") || !strings.Contains(l, " on workloads ") && !strings.HasSuffix(l, " on workloads") {
			continue
		}
		keyed := false
		for _, next := range lines[i+1:] {
			if strings.Contains(next, "->") {
				break
			}
			if strings.Contains(next, "(id = ") {
				keyed = true
			}
		}
		if !keyed {
			return false
		}
	}
	return true
}
