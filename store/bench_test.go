package store_test

import (
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// benchStore is a store on 1,000 seeded workloads (25,000 statuses).
func benchStore(b *testing.B) (*store.Store, srm.WorkloadSummary, int64) {
	b.Helper()
	st := storetest.New(b)
	if _, err := fixture.Synthetic(storetest.Context(b), st, 1000, 11, nil); err != nil {
		b.Fatal(err)
	}
	page, err := st.Workloads(storetest.Context(b), store.WorkloadQuery{Model: srm.PaaS, PerPage: 1})
	if err != nil || len(page.Items) == 0 {
		b.Fatalf("no workload: %v", err)
	}
	cat, err := st.Catalog(storetest.Context(b))
	if err != nil {
		b.Fatal(err)
	}
	var sso int64
	for _, c := range cat.Controls() {
		if c.Title == "Single sign-on and multi-factor authentication" {
			sso = c.ID
		}
	}
	return st, page.Items[0], sso
}

func BenchmarkHotQueries(b *testing.B) {
	st, wl, sso := benchStore(b)
	ctx := storetest.Context(b)
	b.Run("WorkloadState", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.WorkloadState(ctx, wl.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Workloads by progress", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByProgressDesc, Page: 5}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Workloads by progress, page 15 by page number", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByProgressDesc, Page: 15}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Workloads by progress, the page after a workload", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Workloads(ctx, store.WorkloadQuery{Sort: store.ByProgressDesc, Page: 15, After: wl.Workload.ID}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PortfolioProgress", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.PortfolioProgress(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RecordStatus", func(b *testing.B) {
		// Each save sends the version the last one left, as the page does.
		ws, err := st.WorkloadState(ctx, wl.ID)
		if err != nil {
			b.Fatal(err)
		}
		cur := ws.Statuses[sso]
		for b.Loop() {
			next := srm.Status{Complete: !cur.Complete, Version: cur.Version}
			if cur, err = st.RecordStatus(ctx, wl.ID, sso, next, srm.Owner{Name: "Bench team", Kind: srm.Team}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
