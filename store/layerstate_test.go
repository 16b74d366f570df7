package store_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestWorkloadLayerStateReadsOneLayerAndTheWholeProgress holds the one-layer
// read to the whole one, on a workload held to srm's catalog and NIST SP
// 800-53 Low with owners, completions, not applicable and overrides, and on
// one held to srm's only: for each layer, one statement that returns the
// workload and that layer's statuses only, the engine's assignments of
// exactly that layer's controls, and the progress per layer and per
// framework that the whole workload's assignments tally to. After a catalog
// change the cached catalog cannot say which controls are the layer's: the
// statement then returns every status, and the state is the whole one, at
// no statement more than WorkloadState's.
func TestWorkloadLayerStateReadsOneLayerAndTheWholeProgress(t *testing.T) {
	t.Parallel()
	pool, counter := storetest.CountingPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	low, err := st.ImportBuiltin(ctx, "nist-800-53-rev5-low", false)
	if err != nil {
		t.Fatal(err)
	}
	chart := baselineBySlug(t, st, "azure-chart")
	both := createWorkload(t, st, "Portal", srm.PaaS, chart.ID)
	own := createWorkload(t, st, "Ledger", srm.IaaS, chart.ID)
	if err := st.AttachFramework(ctx, both.ID, low.Framework.ID); err != nil {
		t.Fatal(err)
	}
	team := srm.Owner{Name: "Platform team", Kind: srm.Team}
	if err := st.CreateOwner(ctx, &team); err != nil {
		t.Fatal(err)
	}
	for _, w := range []srm.Workload{both, own} {
		ws, err := st.WorkloadState(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		controls := ws.Controls()
		for i, c := range controls {
			var s srm.Status
			switch {
			case i%4 == 0:
				s = srm.Status{OwnerID: team.ID, Complete: true}
			case i%6 == 1:
				s = srm.Status{NotApplicable: true, NAReason: "not here"}
			case i%5 == 2:
				s = srm.Status{OwnerID: team.ID}
			default:
				continue
			}
			if err := st.SaveStatus(ctx, w.ID, c.ID, s); err != nil {
				t.Fatal(err)
			}
		}
		for _, o := range []srm.Override{
			{WorkloadID: w.ID, ControlID: controls[2].ID, Party: srm.Customer, Reason: "ours"},
			{WorkloadID: w.ID, ControlID: controls[len(controls)-3].ID, Party: srm.Provider, Reason: "Azure's"},
		} {
			if err := st.SetOverride(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	for _, w := range []srm.Workload{both, own} {
		whole, err := st.WorkloadState(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, all, err := whole.Assess(whole.Workload)
		if err != nil {
			t.Fatal(err)
		}
		want := srm.TallyWorkload(all)
		if w.ID == both.ID && len(want.Frameworks) != 2 {
			t.Fatalf("%s: progress in %d frameworks, want 2", w.Name, len(want.Frameworks))
		}
		for _, l := range srm.Layers {
			counter.Reset()
			ws, err := st.WorkloadLayerState(ctx, w.ID, l)
			if err != nil {
				t.Fatal(err)
			}
			if n := counter.Count(); n != 1 {
				t.Errorf("%s, %s: %d statements, want 1", w.Name, l, n)
			}
			if ws.Layer != l || ws.Progress == nil {
				t.Fatalf("%s, %s: a state of layer %q with progress %v, want the layer's with progress", w.Name, l, ws.Layer, ws.Progress)
			}
			var wantStatuses []int64
			var wantRows []srm.Assignment
			for _, a := range all {
				if a.Control.Layer != l {
					continue
				}
				wantRows = append(wantRows, a)
				if _, ok := whole.Statuses[a.Control.ID]; ok {
					wantStatuses = append(wantStatuses, a.Control.ID)
				}
			}
			var gotStatuses []int64
			for id, s := range ws.Statuses {
				gotStatuses = append(gotStatuses, id)
				if s != whole.Statuses[id] {
					t.Errorf("%s, %s: status of %d = %+v, want %+v", w.Name, l, id, s, whole.Statuses[id])
				}
			}
			slices.Sort(gotStatuses)
			slices.Sort(wantStatuses)
			if !slices.Equal(gotStatuses, wantStatuses) {
				t.Errorf("%s, %s: statuses of %v, want those of the layer's controls %v", w.Name, l, gotStatuses, wantStatuses)
			}
			if rows := counter.Rows(); rows != 1 {
				t.Errorf("%s, %s: the statement returned %d rows, want the workload's one, its %d statuses in it", w.Name, l, rows, len(wantStatuses))
			}
			_, got, err := ws.Assess(ws.Workload)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantRows) {
				t.Errorf("%s, %s: %d assignments, want the whole assessment's %d of the layer, the same", w.Name, l, len(got), len(wantRows))
			}
			if !reflect.DeepEqual(*ws.Progress, want) {
				t.Errorf("%s, %s: progress %+v, want what the whole assessment tallies, %+v", w.Name, l, *ws.Progress, want)
			}
			if !reflect.DeepEqual(ws.Workload, whole.Workload) || !reflect.DeepEqual(ws.Overrides, whole.Overrides) ||
				!reflect.DeepEqual(ws.Owners, whole.Owners) {
				t.Errorf("%s, %s: the workload, overrides or owners differ from WorkloadState's", w.Name, l)
			}
		}
	}

	// A catalog change: the first read finds the cached catalog stale.
	extra := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Layer state control"}
	if err := st.CreateControl(ctx, &extra); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	ws, err := st.WorkloadLayerState(ctx, both.ID, srm.Data)
	if err != nil {
		t.Fatal(err)
	}
	if n := counter.Count(); n != 2 {
		t.Errorf("after a catalog change: %d statements, want 2 (the state and the catalog), as WorkloadState", n)
	}
	whole, err := st.WorkloadState(ctx, both.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Layer != "" || ws.Progress != nil || !reflect.DeepEqual(ws.Statuses, whole.Statuses) {
		t.Errorf("after a catalog change: a state of layer %q, progress %v, %d statuses; want the whole state's %d",
			ws.Layer, ws.Progress, len(ws.Statuses), len(whole.Statuses))
	}
	if _, ok := ws.Catalog.Control(extra.ID); !ok {
		t.Errorf("after a catalog change: the state's catalog lacks the new control")
	}
	counter.Reset()
	if ws, err = st.WorkloadLayerState(ctx, both.ID, srm.Data); err != nil {
		t.Fatal(err)
	}
	if n := counter.Count(); n != 1 || ws.Layer != srm.Data {
		t.Errorf("the read after: %d statements, layer %q; want 1 and the data layer's", n, ws.Layer)
	}
	_, got, err := ws.Assess(ws.Workload)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(got, func(a srm.Assignment) bool { return a.Control.ID == extra.ID }) {
		t.Errorf("the data layer's assignments lack the new control")
	}

	if _, err := st.WorkloadLayerState(ctx, own.ID+both.ID+1000, srm.Data); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("an unknown workload: %v, want ErrNotFound", err)
	}
	if ws, err := st.WorkloadLayerState(ctx, both.ID, srm.Layer("moon")); err != nil || ws.Layer != "" || ws.Progress != nil {
		t.Errorf("a layer that is none: layer %q, progress %v, %v; want the whole state", ws.Layer, ws.Progress, err)
	}
}
