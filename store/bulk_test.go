package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
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

	// A load with a status on only some controls: the others are
	// assessed too, as open and unowned.
	var owner int64
	err := st.BulkLoad(ctx, func(b *store.Bulk) error {
		o, err := b.EnsureOwner(ctx, srm.Owner{Name: "Partial team", Kind: srm.Team})
		if err != nil {
			return err
		}
		owner = o.ID
		cat := b.Catalog()
		bl := cat.Baselines()[0]
		var ws []srm.Workload
		for i := range 30 {
			ws = append(ws, srm.Workload{Name: fmt.Sprint("Partial ", i), Model: srm.ServiceModels[i%len(srm.ServiceModels)], BaselineID: bl.ID})
		}
		ids, err := b.AddWorkloads(ctx, ws)
		if err != nil {
			return err
		}
		var controls []srm.Control
		for _, f := range cat.Frameworks() {
			if f.Default {
				controls = cat.ControlsOf([]int64{f.ID})
			}
		}
		i := 0
		_, err = b.AddStatuses(ctx, func() (store.BulkStatus, bool) {
			for ; i < len(ids)*len(controls); i++ {
				if i%3 != 0 {
					continue
				}
				s := store.BulkStatus{WorkloadID: ids[i/len(controls)], ControlID: controls[i%len(controls)].ID, OwnerID: owner, Complete: i%2 == 0}
				if s.Complete {
					now := time.Now()
					s.CompletedAt = &now
				}
				i++
				return s, true
			}
			return store.BulkStatus{}, false
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	agree(t, pool, st, "a bulk load with statuses on some controls")
	// The foreign keys check again: a status of a workload that is not
	// there is refused.
	if _, err := pool.Exec(ctx, `INSERT INTO statuses (workload_id, control_id) SELECT 999999, min(id) FROM controls`); err == nil {
		t.Error("a status of no workload was stored after the bulk load: its foreign key is gone")
	}
}

// TestWorkloadListWithoutItsCount: a walk over every page (the portfolio
// export) gets the same workloads without counting the whole list again
// for each page: no statement reads the count's sources.
func TestWorkloadListWithoutItsCount(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	if _, err := fixture.Synthetic(ctx, st, 12, 2, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.WorkloadQuery{
		{Sort: store.ByProgress, PerPage: 5},
		{Framework: "srm", Sort: store.ByName, PerPage: 5},
		{Framework: "srm", Model: srm.PaaS, PerPage: 2},
	} {
		counted, err := st.Workloads(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		q.NoCount = true
		counter.Record()
		list, err := st.Workloads(ctx, q)
		statements := counter.Recorded()
		if err != nil {
			t.Fatal(err)
		}
		if list.Total != 0 || len(list.Items) != len(counted.Items) || len(list.Items) == 0 {
			t.Fatalf("%+v: %d workloads of %d, want %d of 0 (not counted)", q, len(list.Items), list.Total, len(counted.Items))
		}
		for i := range list.Items {
			if list.Items[i].ID != counted.Items[i].ID {
				t.Errorf("%+v: workload %d is %d, want %d", q, i, list.Items[i].ID, counted.Items[i].ID)
			}
		}
		for _, s := range statements {
			if strings.Contains(s.SQL, "portfolio_shards") || strings.Contains(s.SQL, "count(") {
				t.Errorf("%+v: the list without its count still counts:\n%s", q, s.SQL)
			}
		}
	}
}
