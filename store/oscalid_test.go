package store_test

import (
	"os"
	"testing"

	"github.com/srmhq/srm/framework"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// A framework control keeps its OSCAL id ("ac-2.1"), which the OSCAL SSP
// names it by: the import stores the file's, and migration 000015 gives
// controls imported before it the same ids, from their refs.
func TestControlsKeepTheirOSCALID(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := storetest.Context(t)
	b := framework.Builtins()[1] // Moderate
	cat, err := b.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // ref → OSCAL id
	for _, c := range cat.Controls {
		want[c.ID] = c.OSCALID
	}
	fw := mustImportBuiltin(t, st, b.Slug)
	check := func(when string, st *store.Store) {
		t.Helper()
		n := 0
		for _, c := range catalogOf(t, st) {
			if c.FrameworkID != fw.ID {
				if c.OSCALID != "" {
					t.Errorf("%s: srm's control %q has OSCAL id %q", when, c.Title, c.OSCALID)
				}
				continue
			}
			n++
			if c.OSCALID != want[c.Ref] {
				t.Errorf("%s: %s has OSCAL id %q, want %q", when, c.Ref, c.OSCALID, want[c.Ref])
			}
		}
		if n != len(want) {
			t.Errorf("%s: %d controls, want %d", when, n, len(want))
		}
	}
	check("imported", st)

	// As before migration 000015: no column. Apply it again.
	up, err := os.ReadFile("../migrations/000015_control_oscal_id.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE public.controls DROP COLUMN oscal_id`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, string(up)); err != nil {
		t.Fatalf("migration 000015: %v", err)
	}
	check("migrated", store.New(pool))
}
