package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestWhatTheStoreHandsOutIsTheCallersToChange checks that the cached
// catalog and owners list are shared safely: one request that changes
// every slice and map the store gave it (controls, areas, baselines with
// their cells, frameworks, a workload's controls, the owners of the
// workload page, the baseline Assess returns) leaves what the next request gets, and the party the engine
// decides, as they were.
func TestWhatTheStoreHandsOutIsTheCallersToChange(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	if err := st.CreateOwner(ctx, &srm.Owner{Name: "Platform team", Kind: srm.Team}); err != nil {
		t.Fatal(err)
	}

	// The first reads fill the caches; the picture is taken from the next.
	if _, err := st.WorkloadState(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	want := handedOut(ctx, t, st, w.ID)

	cat, err := st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scribble := func(cs []srm.Control, as []srm.AreaInfo, bs ...srm.Baseline) {
		for i := range cs {
			cs[i].Title, cs[i].Area = "scribbled", "nowhere"
		}
		for i := range as {
			as[i].Name = "scribbled"
		}
		for _, b := range bs {
			for i := range b.Rows {
				b.Rows[i].Label = "scribbled"
				for m := range b.Rows[i].Cells {
					b.Rows[i].Cells[m] = srm.Provider
				}
			}
		}
	}
	scribble(cat.Controls(), cat.Areas(), cat.Baselines()...)
	b, _ := cat.Baseline(chart.ID)
	bySlug, _ := cat.BaselineBySlug("azure-chart")
	scribble(nil, nil, b, bySlug)
	scribble(cat.ControlsOf(w.Frameworks), nil)
	fws := cat.Frameworks()
	for i := range fws {
		fws[i].Name, fws[i].Slug = "scribbled", "scribbled"
	}
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := st.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	baselines, err := st.Baselines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scribble(controls, areas, baselines...)
	ws, err := st.WorkloadState(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ws.Owners {
		ws.Owners[i].Name = "scribbled"
	}
	assessed, _, err := ws.Catalog.Assess(chart.ID, ws.Workload.Frameworks, srm.IaaS, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	scribble(ws.Catalog.Controls(), ws.Catalog.Areas(), assessed)
	scribble(ws.Controls(), nil)

	if got := handedOut(ctx, t, st, w.ID); got != want {
		t.Errorf("after one caller changed what it was given, the next gets\n%s\nwant\n%s", got, want)
	}
}

// handedOut is everything the store hands out about the catalog and the
// owners, written down (so that it shares no memory with the store).
func handedOut(ctx context.Context, t *testing.T, st *store.Store, workloadID int64) string {
	t.Helper()
	cat, err := st.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := st.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	baselines, err := st.Baselines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.WorkloadState(ctx, workloadID)
	if err != nil {
		t.Fatal(err)
	}
	b, as, err := ws.Catalog.Assess(ws.Workload.BaselineID, ws.Workload.Frameworks, ws.Workload.Model, ws.Overrides, ws.Statuses)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(map[string]any{
		"catalog": []any{cat.Controls(), cat.Areas(), cat.Baselines(), cat.Frameworks(), cat.ControlsOf(ws.Workload.Frameworks)},
		"store":   []any{controls, areas, baselines},
		"owners":  ws.Owners,
		"page":    []any{ws.Catalog.Controls(), ws.Controls(), b, as},
	}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
