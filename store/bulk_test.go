package store_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// checksOf lists the foreign keys and indexes of srm's tables as
// PostgreSQL prints them.
func checksOf(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, _ := pool.Query(storetest.Context(t), `
		SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = 'public'::regnamespace
		UNION ALL
		SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
		ORDER BY 1`)
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// TestBulkLoadAgreesWithEngineAndKeepsItsChecks: a seed that fills a
// database (the load drops the statuses', assignments' and owners'
// secondary indexes and foreign keys, and assesses each kind of workload
// once) stores exactly what the engine computes workload by workload, in
// every assignment and summary, for two frameworks; then every index and
// foreign key is there again as it was. A small seed on top (which keeps
// them) agrees too.
func TestBulkLoadAgreesWithEngineAndKeepsItsChecks(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	const slug = "nist-800-53-rev5-low"
	if _, err := st.ImportBuiltin(ctx, slug, false); err != nil {
		t.Fatal(err)
	}
	before := checksOf(t, pool)
	if _, err := fixture.Synthetic(ctx, st, 24, 3, []string{slug}); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a bulk load into an empty database")
	if after := checksOf(t, pool); !slices.Equal(after, before) {
		t.Errorf("after a bulk load the indexes and foreign keys are\n%v\nwant\n%v", after, before)
	}
	if _, err := fixture.Synthetic(ctx, st, 5, 4, nil); err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a small bulk load on top")
	// The foreign keys check again: a status of a workload that is not
	// there is refused.
	if _, err := pool.Exec(ctx, `INSERT INTO statuses (workload_id, control_id) SELECT 999999, min(id) FROM controls`); err == nil {
		t.Error("a status of no workload was stored after the bulk load: its foreign key is gone")
	}
}
