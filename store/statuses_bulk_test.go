package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/fixture"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestRecordStatusesSavesTheRestWhenSomeRowsConflict: a bulk action read
// four statuses; meanwhile someone saved one of them. The other three are
// saved, each with its own audit row, the fourth keeps the other person's
// work and comes back as stale with what is stored now, and the stored
// assignments still agree with the engine.
func TestRecordStatusesSavesTheRestWhenSomeRowsConflict(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := store.WithActor(t.Context(), store.Actor{Name: "bulk@example.com"})
	w := createWorkload(t, st, "Bulk", srm.OnPrem, baselineBySlug(t, st, "azure-2026").ID)
	owner, err := st.EnsureOwner(ctx, srm.Owner{Name: "Platform team", Kind: srm.Team})
	if err != nil {
		t.Fatal(err)
	}
	cs := catalogOf(t, st)[:4]
	// One control already has a status, read at version 1.
	saveStatus(t, st, w.ID, cs[0].ID, srm.Status{Note: "Earlier note."})
	read := statusesOf(t, st, w.ID)

	// Someone else saves the third control after the page was read.
	saveStatus(t, st, w.ID, cs[2].ID, srm.Status{Note: "Theirs."})
	before, err := st.Audit(t.Context(), store.AuditQuery{WorkloadID: w.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}

	var changes []store.StatusChange
	for _, c := range cs {
		s := read[c.ID] // zero, version 0, for controls without a status when read
		s.OwnerID, s.Complete = owner.ID, true
		changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
	}
	saved, stale, err := st.RecordStatuses(ctx, w.ID, changes)
	if err != nil {
		t.Fatalf("RecordStatuses: %v", err)
	}
	if len(saved) != 3 || len(stale) != 1 {
		t.Fatalf("RecordStatuses saved %d and refused %d, want 3 and 1", len(saved), len(stale))
	}
	if cur, ok := stale[cs[2].ID]; !ok || cur.Note != "Theirs." || cur.Complete {
		t.Errorf("stale[%q] = %+v, %v; want their status (note Theirs., not complete)", cs[2].Title, cur, ok)
	}
	now := statusesOf(t, st, w.ID)
	for i, c := range cs {
		got := now[c.ID]
		if i == 2 {
			if got.Complete || got.OwnerID != 0 || got.Note != "Theirs." {
				t.Errorf("%q after the bulk save = %+v, want their save untouched", c.Title, got)
			}
			continue
		}
		if !got.Complete || got.OwnerID != owner.ID || got.CompletedBy != owner.Name || got != saved[c.ID] {
			t.Errorf("%q after the bulk save = %+v, want complete by %s (and what RecordStatuses returned, %+v)", c.Title, got, owner.Name, saved[c.ID])
		}
	}
	if got := now[cs[0].ID]; got.Note != "Earlier note." || got.Version != 2 {
		t.Errorf("%q kept note %q at version %d, want the earlier note at version 2", cs[0].Title, got.Note, got.Version)
	}
	after, err := st.Audit(t.Context(), store.AuditQuery{WorkloadID: w.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, e := range after.Entries {
		if e.Actor == "bulk@example.com" && e.ObjectType == "status" {
			added++
		}
	}
	if added != 3 || len(after.Entries)-len(before.Entries) != 3 {
		t.Errorf("audit rows by the bulk save = %d (%d new in all), want 3: one per status saved", added, len(after.Entries)-len(before.Entries))
	}
	agree(t, pool, st, "a bulk save with a conflict")

	// The same changes again: every version has moved, nothing is saved.
	saved, stale, err = st.RecordStatuses(ctx, w.ID, changes)
	if err != nil || len(saved) != 0 || len(stale) != 4 {
		t.Errorf("repeating the bulk save = %d saved, %d stale, %v; want 0, 4, nil", len(saved), len(stale), err)
	}
}

// TestConcurrentBulkSavesDoNotDeadlock: bulk actions on different
// workloads that share owners and portfolio rows run side by side, as 16
// people ticking rows do, and every one succeeds (a deadlock between their
// summary updates would fail one with a 500).
func TestConcurrentBulkSavesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	st := storetest.New(t)
	ctx := storetest.Context(t)
	if _, err := fixture.Synthetic(ctx, st, 64, 9, nil); err != nil {
		t.Fatal(err)
	}
	list, err := st.Workloads(ctx, store.WorkloadQuery{PerPage: 64})
	if err != nil {
		t.Fatal(err)
	}
	owners, err := st.Owners(ctx)
	if err != nil || len(owners) < 4 {
		t.Fatalf("owners: %d, %v", len(owners), err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(list.Items))
	for i, w := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 6 {
				ws, err := st.WorkloadState(ctx, w.ID)
				if err != nil {
					errs <- err
					return
				}
				var changes []store.StatusChange
				for _, c := range ws.Controls() {
					s := ws.Statuses[c.ID]
					s.OwnerID = owners[(i+round+int(c.ID))%4].ID
					changes = append(changes, store.StatusChange{ControlID: c.ID, Status: s})
				}
				if _, stale, err := st.RecordStatuses(ctx, w.ID, changes); err != nil || len(stale) > 0 {
					errs <- fmt.Errorf("workload %d, round %d: %d stale, %v", w.ID, round, len(stale), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
