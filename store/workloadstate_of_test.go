package store_test

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// TestWorkloadStateOfReadsTheNamedStatusesOnly checks the bulk action's
// read against the whole workload's: the same workload, frameworks,
// overrides, owners and catalog, so that the engine gives every control
// the same party; the statuses of the controls named and no others; an
// unknown workload is not found.
func TestWorkloadStateOfReadsTheNamedStatusesOnly(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := controls[0].ID, controls[1].ID, controls[2].ID
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ada := srm.Owner{Name: "Ada", Kind: srm.Person}
	if err := st.CreateOwner(ctx, &ada); err != nil {
		t.Fatal(err)
	}
	for _, cid := range []int64{a, b, c} {
		if err := st.SaveStatus(ctx, w.ID, cid, srm.Status{OwnerID: ada.ID, Note: "row"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetOverride(ctx, srm.Override{WorkloadID: w.ID, ControlID: c, Party: srm.Customer, Reason: "own building"}); err != nil {
		t.Fatal(err)
	}

	whole, err := st.WorkloadState(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	named, err := st.WorkloadStateOf(ctx, w.ID, []int64{a, c, controls[3].ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(named.Statuses)); !slices.Equal(got, []int64{a, c}) {
		t.Errorf("statuses read for %v, want those of the named controls that have one: %v", got, []int64{a, c})
	}
	for _, cid := range []int64{a, c} {
		if named.Statuses[cid] != whole.Statuses[cid] {
			t.Errorf("status of %d: %+v, want %+v", cid, named.Statuses[cid], whole.Statuses[cid])
		}
	}
	if !reflect.DeepEqual(named.Workload, whole.Workload) || !reflect.DeepEqual(named.Overrides, whole.Overrides) ||
		!reflect.DeepEqual(named.Owners, whole.Owners) {
		t.Errorf("workload, overrides or owners differ:\n%+v\n%+v", named, whole)
	}
	_, wantAs, err := whole.Catalog.Assess(whole.Workload.BaselineID, whole.Workload.Frameworks, whole.Workload.Model, whole.Overrides, whole.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	_, gotAs, err := named.Catalog.Assess(named.Workload.BaselineID, named.Workload.Frameworks, named.Workload.Model, named.Overrides, named.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotAs) != len(wantAs) {
		t.Fatalf("%d controls assessed, want %d", len(gotAs), len(wantAs))
	}
	for i := range wantAs {
		if gotAs[i].Control.ID != wantAs[i].Control.ID || gotAs[i].Party != wantAs[i].Party {
			t.Errorf("control %d: %d (%s), want %d (%s)", i, gotAs[i].Control.ID, gotAs[i].Party, wantAs[i].Control.ID, wantAs[i].Party)
		}
	}
	if _, err := st.WorkloadStateOf(ctx, w.ID+1000, []int64{a}); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("unknown workload: %v, want not found", err)
	}
}
