package store_test

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// BenchmarkBulk50OnSeededDatabase measures one bulk action on 50 rows of a
// workload (owner and completion of each row changed) against a database
// seeded beforehand, e.g. `srm seed --workloads 2000 --framework
// nist-800-53-rev5-moderate`, named by SRM_BULK_BENCH_URL. It writes to
// that database. Without the variable it skips.
func BenchmarkBulk50OnSeededDatabase(b *testing.B) {
	url := os.Getenv("SRM_BULK_BENCH_URL")
	if url == "" {
		b.Skip("SRM_BULK_BENCH_URL is not set")
	}
	ctx := store.WithActor(storetest.Context(b), store.Command("bench"))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 40})
	if err != nil || len(list.Items) == 0 {
		b.Fatalf("workloads: %v", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) < 2 {
		b.Fatalf("owners: %v", err)
	}
	round := 0
	for b.Loop() {
		w := list.Items[round%len(list.Items)]
		b.StopTimer()
		ws, err := st.WorkloadState(ctx, w.ID)
		if err != nil {
			b.Fatal(err)
		}
		var changes []store.StatusChange
		for i, c := range ws.Controls() {
			if i%5 != round%5 {
				continue
			}
			s := ws.Statuses[c.ID]
			s.OwnerID = owners[(round+i)%len(owners)].ID
			s.Complete = !s.Complete
			changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
			if len(changes) == 50 {
				break
			}
		}
		b.StartTimer()
		if _, stale, err := st.RecordStatuses(ctx, w.ID, changes); err != nil || len(stale) > 0 {
			b.Fatalf("%d stale, %v", len(stale), err)
		}
		round++
	}
}

// BenchmarkSingleSaveOnSeededDatabase measures one status save (owner and
// completion changed) on the database named by SRM_BULK_BENCH_URL.
func BenchmarkSingleSaveOnSeededDatabase(b *testing.B) {
	url := os.Getenv("SRM_BULK_BENCH_URL")
	if url == "" {
		b.Skip("SRM_BULK_BENCH_URL is not set")
	}
	ctx := store.WithActor(storetest.Context(b), store.Command("bench"))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 40})
	if err != nil || len(list.Items) == 0 {
		b.Fatalf("workloads: %v", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) < 2 {
		b.Fatalf("owners: %v", err)
	}
	round := 0
	for b.Loop() {
		w := list.Items[round%len(list.Items)]
		b.StopTimer()
		ws, err := st.WorkloadState(ctx, w.ID)
		if err != nil {
			b.Fatal(err)
		}
		c := ws.Controls()[round%len(ws.Controls())]
		s := ws.Statuses[c.ID]
		s.Complete = !s.Complete
		b.StartTimer()
		if _, err := st.RecordStatus(ctx, w.ID, c.ID, s, owners[round%len(owners)]); err != nil {
			b.Fatal(err)
		}
		round++
	}
}

// BenchmarkBulk50OwnerOnSeededDatabase measures the bulk action srmbench
// drives ("bulk action, 50 rows"): 50 rows of a workload, each from the
// version stored, all assigned one owner, on the database named by
// SRM_BULK_BENCH_URL. Rows that owner already has are left out, as the
// handler leaves them out.
func BenchmarkBulk50OwnerOnSeededDatabase(b *testing.B) {
	url := os.Getenv("SRM_BULK_BENCH_URL")
	if url == "" {
		b.Skip("SRM_BULK_BENCH_URL is not set")
	}
	ctx := store.WithActor(storetest.Context(b), store.Command("bench"))
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 40})
	if err != nil || len(list.Items) == 0 {
		b.Fatalf("workloads: %v", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) < 2 {
		b.Fatalf("owners: %v", err)
	}
	// Each workload is read once; after that, what each action saved keeps
	// it current, so that the database does nothing but the bulk actions
	// (its CPU per action can be read from outside).
	states := map[int64]store.WorkloadState{}
	for _, w := range list.Items {
		if states[w.ID], err = st.WorkloadState(ctx, w.ID); err != nil {
			b.Fatal(err)
		}
	}
	round := 0
	for b.Loop() {
		w := list.Items[round%len(list.Items)]
		owner := owners[(round+round/len(list.Items))%len(owners)].ID
		ws := states[w.ID]
		var changes []store.StatusChange
		for i, c := range ws.Controls() {
			if i < 50*(round/len(list.Items)%5) {
				continue // other rows each time round the workloads
			}
			s := ws.Statuses[c.ID]
			if s.OwnerID == owner {
				continue
			}
			s.OwnerID = owner
			changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
			if len(changes) == 50 {
				break
			}
		}
		saved, stale, err := st.RecordStatuses(ctx, w.ID, changes)
		if err != nil || len(stale) > 0 || len(saved) != len(changes) {
			b.Fatalf("%d saved, %d stale, %v", len(saved), len(stale), err)
		}
		for cid, s := range saved {
			ws.Statuses[cid] = s
		}
		round++
	}
}
