package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestPagerLinksWalkTheListLikePageNumbers pages through the workload list
// the way the portfolio's Next and Previous links do (after the last
// workload shown, before the first) and checks that every order and filter
// gives exactly the pages that page numbers give, forwards and backwards.
func TestPagerLinksWalkTheListLikePageNumbers(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 23 workloads with progress in ties (five levels), names in mixed case.
	for i := range 23 {
		name := fmt.Sprintf("workload %02d", (i*7)%23)
		if i%3 == 0 {
			name = fmt.Sprintf("Workload %02d", (i*7)%23)
		}
		w := createWorkload(t, st, name, srm.ServiceModels[i%4], chart.ID)
		for _, c := range controls[len(controls)-i%5*3:] { // the data layer: the customer's in every model
			if err := st.SaveStatus(ctx, w.ID, c.ID, srm.Status{OwnerID: 0, Complete: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	levels := map[int]bool{}
	for _, w := range all.Items {
		levels[w.Progress.Done] = true
	}
	if len(levels) < 4 {
		t.Fatalf("progress takes %d values; the test needs ties at several levels", len(levels))
	}
	const per = 4
	for _, sort := range []store.WorkloadSort{store.ByName, store.ByProgress, store.ByProgressDesc} {
		for _, model := range []srm.ServiceModel{"", srm.IaaS} {
			q := store.WorkloadQuery{Sort: sort, Model: model, PerPage: per}
			var byNumber [][]string
			for page := 1; ; page++ {
				q.Page = page
				p, err := st.Workloads(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Items) == 0 {
					break
				}
				byNumber = append(byNumber, names(p.Items))
			}
			if len(byNumber) < 2 {
				t.Fatalf("%s %q: %d pages; the test needs several", sort, model, len(byNumber))
			}
			// Forwards from page 1, as Next does.
			q.Page = 1
			p, err := st.Workloads(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(byNumber); i++ {
				q.After, q.Before = p.Items[len(p.Items)-1].Workload.ID, 0
				if p, err = st.Workloads(ctx, q); err != nil {
					t.Fatal(err)
				}
				if got := names(p.Items); !slices.Equal(got, byNumber[i]) {
					t.Errorf("%s %q: page %d after the last of page %d = %v, want %v", sort, model, i+1, i, got, byNumber[i])
				}
			}
			q.After = p.Items[len(p.Items)-1].Workload.ID
			if end, err := st.Workloads(ctx, q); err != nil || len(end.Items) != 0 {
				t.Errorf("%s %q: after the very last workload = %v, %v; want nothing", sort, model, names(end.Items), err)
			}
			// Backwards from the last page, as Previous does.
			for i := len(byNumber) - 2; i >= 0; i-- {
				q.After, q.Before = 0, p.Items[0].Workload.ID
				if p, err = st.Workloads(ctx, q); err != nil {
					t.Fatal(err)
				}
				if got := names(p.Items); !slices.Equal(got, byNumber[i]) {
					t.Errorf("%s %q: page %d before the first of page %d = %v, want %v", sort, model, i+1, i+2, got, byNumber[i])
				}
			}
		}
	}
	gone, err := st.Workloads(ctx, store.WorkloadQuery{After: 1 << 40})
	if err != nil || len(gone.Items) != 0 || gone.Total != 23 {
		t.Errorf("after a workload that does not exist = %d items (Total %d), %v; want none (Total 23)", len(gone.Items), gone.Total, err)
	}
}
