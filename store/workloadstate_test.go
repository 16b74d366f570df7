package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store/storetest"
)

// TestWorkloadStateReadsBackWhatWasSaved checks the workload page's one
// statement against what the store saved: statuses with their owners'
// names (including an owner added after the owners list was cached),
// overrides with and without a status, a workload with nothing yet, and
// an unknown workload.
func TestWorkloadStateReadsBackWhatWasSaved(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := controls[len(controls)-1].ID, controls[len(controls)-2].ID, controls[0].ID
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	empty := createWorkload(t, st, "Office suite", srm.SaaS, chart.ID)

	platform := srm.Owner{Name: "Platform team", Kind: srm.Team}
	if err := st.CreateOwner(ctx, &platform); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveStatus(ctx, w.ID, a, srm.Status{OwnerID: platform.ID, Complete: true, Note: "done in May",
		Evidence: "https://example.com/e", CompletedBy: "Platform team"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WorkloadState(ctx, w.ID); err != nil { // caches the owners list
		t.Fatal(err)
	}
	ada := srm.Owner{Name: "Ada", Kind: srm.Person}
	if err := st.CreateOwner(ctx, &ada); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveStatus(ctx, w.ID, b, srm.Status{OwnerID: ada.ID, NotApplicable: true, NAReason: "no data"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []srm.Override{
		{WorkloadID: w.ID, ControlID: a, Party: srm.Shared, Reason: "we run part of it"},
		{WorkloadID: w.ID, ControlID: c, Party: srm.Customer, Reason: "own building"},
	} {
		if err := st.SetOverride(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	ws, err := st.WorkloadState(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Workload.ID != w.ID || ws.Workload.Name != "Depot servers" || ws.Workload.Model != srm.IaaS || len(ws.Catalog.Controls()) == 0 {
		t.Errorf("workload = %+v (catalog %v), want Depot servers, IaaS, with the catalog", ws.Workload, len(ws.Catalog.Controls()) != 0)
	}
	if len(ws.Statuses) != 2 {
		t.Fatalf("%d statuses, want 2: %+v", len(ws.Statuses), ws.Statuses)
	}
	sa, sb := ws.Statuses[a], ws.Statuses[b]
	if sa.OwnerName != "Platform team" || !sa.Complete || sa.CompletedAt.IsZero() || sa.Note != "done in May" ||
		sa.Evidence != "https://example.com/e" || sa.Version < 1 {
		t.Errorf("status of %d = %+v", a, sa)
	}
	if sb.OwnerName != "Ada" || sb.Complete || !sb.CompletedAt.IsZero() || !sb.NotApplicable || sb.NAReason != "no data" {
		t.Errorf("status of %d = %+v; the owner added after the list was cached must have its name", b, sb)
	}
	if len(ws.Overrides) != 2 {
		t.Fatalf("%d overrides, want 2: %+v", len(ws.Overrides), ws.Overrides)
	}
	oa, oc := ws.Overrides[a], ws.Overrides[c]
	if oa.Party != srm.Shared || oa.Reason != "we run part of it" || oa.Version != 1 || oa.WorkloadID != w.ID ||
		time.Since(oa.CreatedAt) > time.Minute {
		t.Errorf("override of %d = %+v", a, oa)
	}
	if oc.Party != srm.Customer || oc.Reason != "own building" || oc.ControlID != c {
		t.Errorf("override of %d, a control without a status = %+v", c, oc)
	}
	if len(ws.Owners) < 2 {
		t.Errorf("owners list has %d owners, want both", len(ws.Owners))
	}

	none, err := st.WorkloadState(ctx, empty.ID)
	if err != nil || none.Workload.Name != "Office suite" || len(none.Statuses) != 0 || len(none.Overrides) != 0 {
		t.Errorf("workload with nothing yet = %+v, %v", none, err)
	}
	if _, err := st.WorkloadState(ctx, empty.ID+1000); !errors.Is(err, srm.ErrNotFound) {
		t.Errorf("unknown workload: error %v, want ErrNotFound", err)
	}
}
