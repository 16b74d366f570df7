package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// Saves of what people edit are conditional on the version they read: a
// save from an older version changes nothing and reports srm.ErrStale,
// with what is stored now where the caller needs to show it.

func TestRecordStatusFromAStaleVersion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ctl := titled(t, catalogOf(t, st), "Patching of systems")
	ana, err := st.EnsureOwner(ctx, srm.Owner{Name: "Ana", Kind: srm.Person})
	if err != nil {
		t.Fatal(err)
	}

	first, err := st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 0, OwnerID: ana.ID, Note: "started"}, srm.Owner{})
	if err != nil || first.Version != 1 || first.Note != "started" {
		t.Fatalf("RecordStatus(no status yet, version 0) = %+v, %v; want it saved at version 1", first, err)
	}
	theirs, err := st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 1, OwnerID: ana.ID, Complete: true, Note: "theirs"}, srm.Owner{})
	if err != nil || theirs.Version != 2 {
		t.Fatalf("RecordStatus(from version 1) = %+v, %v; want it saved at version 2", theirs, err)
	}

	for _, from := range []int64{1, 0} { // an older version; "no status yet" when there is one
		got, err := st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: from, Note: "late"}, srm.Owner{})
		if !errors.Is(err, srm.ErrStale) || !errors.Is(err, srm.ErrConflict) {
			t.Errorf("RecordStatus(from version %d, stored 2) error = %v, want ErrStale (a kind of ErrConflict)", from, err)
		}
		if got.Version != 2 || got.Note != "theirs" || !got.Complete || got.OwnerID != ana.ID || got.OwnerName != "Ana" ||
			got.CompletedBy != "Ana" || got.CompletedAt.IsZero() {
			t.Errorf("RecordStatus(from version %d) returned %+v, want the status stored now (theirs, complete by Ana, version 2)", from, got)
		}
	}
	if now := statusesOf(t, st, w.ID)[ctl.ID]; now.Version != 2 || now.Note != "theirs" || !now.Complete {
		t.Errorf("status after stale saves = %+v, want theirs unchanged at version 2", now)
	}

	// From the version it returned, a save deliberately replaces theirs.
	mine, err := st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 2, OwnerID: ana.ID, Note: "mine"}, srm.Owner{})
	if err != nil || mine.Version != 3 || mine.Note != "mine" || mine.Complete {
		t.Errorf("RecordStatus(from the current version) = %+v, %v; want mine saved at version 3", mine, err)
	}

	// Loading data is not conditional.
	if err := st.SaveStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 1, Note: "imported"}); err != nil {
		t.Errorf("SaveStatus(whatever the version) error: %v", err)
	}
	if now := statusesOf(t, st, w.ID)[ctl.ID]; now.Note != "imported" || now.Version != 4 {
		t.Errorf("status after SaveStatus = %+v, want imported at version 4", now)
	}
}

// TestStaleRecordStatusAddsNoOwner: a save that is refused as stale changes
// nothing, so the new owner it names is not created either.
func TestStaleRecordStatusAddsNoOwner(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ctl := titled(t, catalogOf(t, st), "Patching of systems")
	saveStatus(t, st, w.ID, ctl.ID, srm.Status{Note: "theirs"}) // version 1

	_, err := st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 0, Note: "mine"}, srm.Owner{Name: "Zed team", Kind: srm.Team})
	if !errors.Is(err, srm.ErrStale) {
		t.Fatalf("RecordStatus(stale, naming a new owner) error = %v, want ErrStale", err)
	}
	owners, err := st.Owners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 0 {
		t.Errorf("owners after a refused stale save = %+v, want none: the save changed nothing, yet the owner it named "+
			"was created (store.recordStatus: the new_owner CTE inserts into owners whether or not the conditional "+
			"upsert saves; create the owner only when the save is applied, e.g. insert it in a step after the version "+
			"check, or delete it again on ErrStale when it was created by this statement)", owners)
	}
}

func TestUpdateWorkloadFromAStaleVersion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	t26 := baselineBySlug(t, st, "azure-2026")
	read := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID) // version 1: both people read this

	theirs := read
	theirs.Description, theirs.Model, theirs.BaselineID = "theirs", srm.PaaS, t26.ID
	saved, err := st.UpdateWorkload(ctx, theirs)
	if err != nil || saved.Version != 2 || saved.Description != "theirs" {
		t.Fatalf("UpdateWorkload(from version 1) = %+v, %v; want theirs at version 2", saved, err)
	}

	mine := read
	mine.Name, mine.Description = "Depot VMs", "mine"
	cur, err := st.UpdateWorkload(ctx, mine)
	if !errors.Is(err, srm.ErrStale) || !errors.Is(err, srm.ErrConflict) {
		t.Fatalf("UpdateWorkload(from version 1, stored 2) error = %v, want ErrStale", err)
	}
	if cur.ID != read.ID || cur.Name != "Depot servers" || cur.Description != "theirs" || cur.Model != srm.PaaS ||
		cur.BaselineID != t26.ID || cur.Version != 2 {
		t.Errorf("UpdateWorkload(stale) returned %+v, want the workload stored now (theirs, PaaS, 2026 table, version 2)", cur)
	}
	if got, _ := st.Workload(ctx, read.ID); got.Name != "Depot servers" || got.Description != "theirs" || got.Version != 2 {
		t.Errorf("workload after a stale update = %+v, want theirs unchanged", got)
	}

	mine.Version = cur.Version
	again, err := st.UpdateWorkload(ctx, mine)
	if err != nil || again.Version != 3 || again.Name != "Depot VMs" {
		t.Errorf("UpdateWorkload(from the current version) = %+v, %v; want mine at version 3", again, err)
	}
	if got, _ := st.Workload(ctx, read.ID); got.Name != "Depot VMs" || got.Description != "mine" || got.Model != srm.IaaS || got.Version != 3 {
		t.Errorf("workload after the deliberate replace = %+v, want mine at version 3", got)
	}
}

func TestSetOverrideIsConditionalOnItsVersion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Web app", srm.PaaS, chart.ID)
	fw := titled(t, catalogOf(t, st), "Perimeter firewall with detection and alerts")
	o := srm.Override{WorkloadID: w.ID, ControlID: fw.ID, Party: srm.Customer, Reason: "Own appliance."}

	if err := st.SetOverride(ctx, o); err != nil {
		t.Fatalf("SetOverride(version 0, none yet) error: %v", err)
	}
	if got := overridesOf(t, st, w.ID)[fw.ID]; got.Version != 1 {
		t.Fatalf("new override = %+v, want version 1", got)
	}

	late := o
	late.Party, late.Reason = srm.Provider, "Someone else's idea."
	if err := st.SetOverride(ctx, late); !errors.Is(err, srm.ErrStale) || !errors.Is(err, srm.ErrConflict) {
		t.Errorf("SetOverride(version 0 when one exists) error = %v, want ErrStale", err)
	}
	if got := overridesOf(t, st, w.ID)[fw.ID]; got.Party != srm.Customer || got.Reason != "Own appliance." || got.Version != 1 {
		t.Errorf("override after a refused set = %+v, want the first unchanged", got)
	}

	late.Version = 1
	if err := st.SetOverride(ctx, late); err != nil {
		t.Fatalf("SetOverride(version 1) error: %v", err)
	}
	late.Reason = "Stale again."
	if err := st.SetOverride(ctx, late); !errors.Is(err, srm.ErrStale) {
		t.Errorf("SetOverride(version 1, stored 2) error = %v, want ErrStale", err)
	}
	if got := overridesOf(t, st, w.ID)[fw.ID]; got.Party != srm.Provider || got.Reason != "Someone else's idea." || got.Version != 2 {
		t.Errorf("override = %+v, want provider, the second reason, version 2", got)
	}

	// Removed in between: a save from the removed one's version is stale;
	// one from "none yet" records it again.
	if err := st.DeleteOverride(ctx, w.ID, fw.ID); err != nil {
		t.Fatal(err)
	}
	late.Version = 2
	if err := st.SetOverride(ctx, late); !errors.Is(err, srm.ErrStale) {
		t.Errorf("SetOverride(version 2 of a removed override) error = %v, want ErrStale", err)
	}
	if got := overridesOf(t, st, w.ID); len(got) != 0 {
		t.Errorf("overrides after a stale set of a removed one = %+v, want none", got)
	}
	late.Version = 0
	if err := st.SetOverride(ctx, late); err != nil {
		t.Errorf("SetOverride(version 0 after removal) error: %v", err)
	}
}

func TestUpdateControlFromAStaleVersion(t *testing.T) {
	t.Parallel()
	st := open(t)
	ctx := storetest.Context(t)
	c := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored", Description: "first"}
	if err := st.CreateControl(ctx, &c); err != nil {
		t.Fatal(err)
	}
	read, err := storedControl(st, ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if read.Version < 1 {
		t.Fatalf("custom control read back = %+v, want a version", read)
	}

	theirs := read
	theirs.Title = "Backups restored every quarter"
	saved, err := st.UpdateControl(ctx, theirs)
	if err != nil || saved.Version != read.Version+1 || saved.Title != theirs.Title {
		t.Fatalf("UpdateControl(from the version read) = %+v, %v; want theirs at version %d", saved, err, read.Version+1)
	}

	mine := read
	mine.Description = "mine"
	cur, err := st.UpdateControl(ctx, mine)
	if !errors.Is(err, srm.ErrStale) {
		t.Fatalf("UpdateControl(stale) error = %v, want ErrStale", err)
	}
	if cur.ID != c.ID || cur.Title != theirs.Title || cur.Description != "first" || cur.Version != saved.Version || cur.Builtin {
		t.Errorf("UpdateControl(stale) returned %+v, want the control stored now (%+v)", cur, saved)
	}
	if got, _ := storedControl(st, ctx, c.ID); got.Title != theirs.Title || got.Description != "first" || got.Version != saved.Version {
		t.Errorf("control after a stale update = %+v, want theirs unchanged", got)
	}
	mine.Version = cur.Version
	if again, err := st.UpdateControl(ctx, mine); err != nil || again.Description != "mine" || again.Title != read.Title {
		t.Errorf("UpdateControl(from the current version) = %+v, %v; want mine", again, err)
	}
}

// TestConcurrentSavesFromOneVersion: many people save the same thing from
// the same version at once. Exactly one save is applied; every other one is
// told ErrStale and gets back what is stored now, the winner's, so that the
// page can show it and a second save from its version replaces it.
func TestConcurrentSavesFromOneVersion(t *testing.T) {
	t.Parallel()
	const n = 20

	t.Run("RecordStatus", func(t *testing.T) {
		for _, from := range []int64{0, 1} {
			t.Run(fmt.Sprintf("from version %d", from), func(t *testing.T) {
				st := open(t)
				chart := baselineBySlug(t, st, "azure-chart")
				w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
				ctl := titled(t, catalogOf(t, st), "Patching of systems")
				if from > 0 {
					saveStatus(t, st, w.ID, ctl.ID, srm.Status{Note: "before the race"})
				}
				got := make([]srm.Status, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range n {
					wg.Go(func() {
						<-start
						got[i], errs[i] = st.RecordStatus(storetest.Context(t), w.ID, ctl.ID,
							srm.Status{Version: from, Note: fmt.Sprintf("note %d", i)}, srm.Owner{})
					})
				}
				close(start)
				wg.Wait()
				stored := statusesOf(t, st, w.ID)[ctl.ID]
				if stored.Version != from+1 {
					t.Errorf("stored status = %+v, want version %d: exactly one save applied", stored, from+1)
				}
				winners, lost, blind := 0, 0, 0
				example := ""
				for i := range n {
					switch {
					case errs[i] == nil:
						winners++
						if got[i].Note != stored.Note || got[i].Version != stored.Version {
							lost++
						}
					case !errors.Is(errs[i], srm.ErrStale):
						t.Errorf("saver %d: error %v, want ErrStale", i, errs[i])
					case got[i].Note != stored.Note || got[i].Version != stored.Version:
						blind++
						example = fmt.Sprintf("%q at version %d", got[i].Note, got[i].Version)
					}
				}
				if lost > 0 {
					t.Errorf("%d saves were reported applied but are not stored (lost updates); stored: %+v", lost, stored)
				}
				if blind > 0 {
					t.Errorf("%d of %d refused saves came back with something other than the winner's %q at version %d (e.g. %s)%s",
						blind, n-winners, stored.Note, stored.Version, example, snapshotBug)
				}
				if winners != 1 {
					t.Errorf("%d of %d concurrent saves from version %d were applied, want exactly 1", winners, n, from)
				}
			})
		}
	})

	t.Run("UpdateControl", func(t *testing.T) {
		st := open(t)
		c := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored"}
		if err := st.CreateControl(storetest.Context(t), &c); err != nil {
			t.Fatal(err)
		}
		read, err := storedControl(st, storetest.Context(t), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]srm.Control, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				edit := read
				edit.Description = fmt.Sprintf("description %d", i)
				got[i], errs[i] = st.UpdateControl(storetest.Context(t), edit)
			})
		}
		close(start)
		wg.Wait()
		stored, err := storedControl(st, storetest.Context(t), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		winners, blind := 0, 0
		example := ""
		for i := range n {
			switch {
			case errs[i] == nil:
				winners++
			case !errors.Is(errs[i], srm.ErrStale):
				t.Errorf("editor %d: error %v, want ErrStale", i, errs[i])
			case got[i].Description != stored.Description || got[i].Version != stored.Version:
				blind++
				example = fmt.Sprintf("%q at version %d", got[i].Description, got[i].Version)
			}
		}
		if blind > 0 {
			t.Errorf("%d of %d refused edits came back with something other than the winner's %q at version %d (e.g. %s)%s",
				blind, n-winners, stored.Description, stored.Version, example, snapshotBug)
		}
		if winners != 1 || stored.Version != read.Version+1 {
			t.Errorf("%d of %d concurrent edits applied, stored version %d; want exactly 1 and version %d", winners, n, stored.Version, read.Version+1)
		}
	})
}

// snapshotBug explains the failure of the loser of a race that sees the
// row as it was before the race.
const snapshotBug = "\nBug: the SELECT that returns the stored row when the conditional write did not apply runs in the " +
	"same statement as the write, so under READ COMMITTED it reads the statement's snapshot, taken before the winner " +
	"committed. The loser waited for the winner's row lock, yet gets the row as it was before the race (or, from " +
	"version 0, no row at all): the page then shows a conflict with stale values, and its hidden version is still " +
	"stale, so the person's deliberate second save is refused again. Fix (store/statuses.go recordStatus, " +
	"store/controls.go UpdateControl): when the write did not apply, read the current row in a second statement " +
	"(a new snapshot), as UpdateWorkload does with s.Workload."

// whileHeld runs hold in a transaction, then starts save, waits until save
// is blocked on the transaction's row lock, and commits: save then runs
// into the winner's committed change, as the loser of a race does.
func whileHeld(t *testing.T, pool *pgxpool.Pool, hold string, args []any, save func()) {
	t.Helper()
	ctx := storetest.Context(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if err := storetest.NameActor(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, hold, args...); err != nil {
		t.Fatalf("%s: %v", hold, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		save()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case <-done:
			t.Fatal("the save did not wait for the uncommitted change of the same row")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the save never waited for the row lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
}

// TestStaleSaveThatWaitedForTheWinnerGetsTheWinners replays, step by step,
// what the loser of a race between two people saving from one version goes
// through: its save waits for the winner's row lock, finds the row changed
// and is refused. What it gets back must be the winner's row, which is what
// the conflict box shows and whose version the form carries for a second save.
func TestStaleSaveThatWaitedForTheWinnerGetsTheWinners(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ctl := titled(t, catalogOf(t, st), "Patching of systems")
	other := titled(t, catalogOf(t, st), "Endpoint protection")

	t.Run("RecordStatus from an existing status", func(t *testing.T) {
		saveStatus(t, st, w.ID, ctl.ID, srm.Status{Note: "before the race"}) // version 1
		var got srm.Status
		var err error
		whileHeld(t, pool, `UPDATE statuses SET note = 'the winner''s', version = version + 1, updated_at = now()
			WHERE workload_id = $1 AND control_id = $2`, []any{w.ID, ctl.ID}, func() {
			got, err = st.RecordStatus(ctx, w.ID, ctl.ID, srm.Status{Version: 1, Note: "the loser's"}, srm.Owner{})
		})
		if !errors.Is(err, srm.ErrStale) {
			t.Fatalf("RecordStatus(from version 1 while the winner saved) error = %v, want ErrStale", err)
		}
		if got.Note != "the winner's" || got.Version != 2 {
			t.Errorf("RecordStatus(loser) returned note %q at version %d; want the winner's at version 2%s", got.Note, got.Version, snapshotBug)
		}
	})

	t.Run("RecordStatus when there was no status yet", func(t *testing.T) {
		var got srm.Status
		var err error
		whileHeld(t, pool, `INSERT INTO statuses (workload_id, control_id, note) VALUES ($1, $2, 'the winner''s')`,
			[]any{w.ID, other.ID}, func() {
				got, err = st.RecordStatus(ctx, w.ID, other.ID, srm.Status{Version: 0, Note: "the loser's"}, srm.Owner{})
			})
		if !errors.Is(err, srm.ErrStale) {
			t.Fatalf("RecordStatus(from version 0 while the winner saved) error = %v, want ErrStale", err)
		}
		if got.Note != "the winner's" || got.Version != 1 {
			t.Errorf("RecordStatus(loser) returned note %q at version %d; want the winner's at version 1%s", got.Note, got.Version, snapshotBug)
		}
	})

	t.Run("UpdateControl", func(t *testing.T) {
		c := srm.Control{Layer: srm.Data, Area: "information-and-data", Title: "Backups restored", Description: "before the race"}
		if err := st.CreateControl(ctx, &c); err != nil {
			t.Fatal(err)
		}
		read, err := storedControl(st, ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got srm.Control
		whileHeld(t, pool, `UPDATE controls SET description = 'the winner''s', version = version + 1 WHERE id = $1`,
			[]any{c.ID}, func() {
				edit := read
				edit.Description = "the loser's"
				got, err = st.UpdateControl(ctx, edit)
			})
		if !errors.Is(err, srm.ErrStale) {
			t.Fatalf("UpdateControl(from the version read while the winner saved) error = %v, want ErrStale", err)
		}
		if got.Description != "the winner's" || got.Version != read.Version+1 {
			t.Errorf("UpdateControl(loser) returned %q at version %d; want the winner's at version %d%s",
				got.Description, got.Version, read.Version+1, snapshotBug)
		}
	})

	t.Run("UpdateWorkload", func(t *testing.T) {
		var got srm.Workload
		var err error
		whileHeld(t, pool, `UPDATE workloads SET description = 'the winner''s', version = version + 1 WHERE id = $1`,
			[]any{w.ID}, func() {
				edit := w
				edit.Description = "the loser's"
				got, err = st.UpdateWorkload(ctx, edit)
			})
		if !errors.Is(err, srm.ErrStale) || got.Description != "the winner's" || got.Version != w.Version+1 {
			t.Errorf("UpdateWorkload(loser) = %q at version %d, %v; want ErrStale with the winner's at version %d",
				got.Description, got.Version, err, w.Version+1)
		}
	})
}

// TestConcurrentFirstSavesNamingNewOwners: many people save the first
// status of one control at once, each naming a new owner. One save is
// applied; every refused one leaves no owner behind, though it may have
// created its owner before it found the winner's status.
func TestConcurrentFirstSavesNamingNewOwners(t *testing.T) {
	t.Parallel()
	const n = 12
	st := open(t)
	chart := baselineBySlug(t, st, "azure-chart")
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ctl := titled(t, catalogOf(t, st), "Patching of systems")
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = st.RecordStatus(storetest.Context(t), w.ID, ctl.ID, srm.Status{Complete: true},
				srm.Owner{Name: fmt.Sprintf("Owner %d", i), Kind: srm.Team})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("savers %d and %d were both applied", winner, i)
		case !errors.Is(err, srm.ErrStale):
			t.Errorf("saver %d: error %v, want ErrStale", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no save was applied")
	}
	owners, err := st.Owners(storetest.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0].Name != fmt.Sprintf("Owner %d", winner) {
		t.Errorf("owners after the race = %+v, want only the winner's, Owner %d", owners, winner)
	}
	if got := statusesOf(t, st, w.ID)[ctl.ID]; got.OwnerName != fmt.Sprintf("Owner %d", winner) || got.CompletedBy != got.OwnerName {
		t.Errorf("stored status = %+v, want the winner's owner, stamped", got)
	}
}
