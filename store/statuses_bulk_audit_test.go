package store_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/srmhq/srm"
	"github.com/srmhq/srm/store"
	"github.com/srmhq/srm/store/storetest"
)

// TestBulkSaveWritesEachStatusBeforeAndAfterToTheAudit saves three
// statuses in one bulk statement and checks that the audit has one
// status.updated row for each, by the actor, whose before and after are
// the whole status row as it was and as it is (as JSON), and none for a
// status the statement did not change.
func TestBulkSaveWritesEachStatusBeforeAndAfterToTheAudit(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	st := store.New(pool)
	ctx := store.WithActor(storetest.Context(t), store.Command("audit-test"))
	chart := baselineBySlug(t, st, "azure-chart")
	controls, err := st.Controls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := createWorkload(t, st, "Depot servers", srm.IaaS, chart.ID)
	ada := srm.Owner{Name: "Ada", Kind: srm.Person}
	if err := st.CreateOwner(ctx, &ada); err != nil {
		t.Fatal(err)
	}
	ids := []int64{controls[0].ID, controls[1].ID, controls[2].ID, controls[3].ID}
	var first []store.StatusChange
	for _, cid := range ids {
		first = append(first, store.StatusChange{ControlID: cid, Status: srm.Status{Note: "first"}})
	}
	if _, stale, err := st.RecordStatuses(ctx, w.ID, first); err != nil || len(stale) > 0 {
		t.Fatalf("%d stale: %v", len(stale), err)
	}
	rowsOf := func() map[int64]map[string]any {
		t.Helper()
		out := map[int64]map[string]any{}
		rows, _ := pool.Query(ctx, `SELECT control_id, to_jsonb(s) FROM statuses s WHERE workload_id = $1`, w.ID)
		defer rows.Close()
		for rows.Next() {
			var cid int64
			var raw []byte
			if err := rows.Scan(&cid, &raw); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			out[cid] = m
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := rowsOf()
	var second []store.StatusChange
	for _, cid := range ids[:3] {
		second = append(second, store.StatusChange{ControlID: cid,
			Status: srm.Status{Version: 1, OwnerID: ada.ID, Complete: cid == ids[0], Note: "second"}})
	}
	if saved, stale, err := st.RecordStatuses(ctx, w.ID, second); err != nil || len(stale) > 0 || len(saved) != 3 {
		t.Fatalf("%d saved, %d stale: %v", len(saved), len(stale), err)
	}
	after := rowsOf()

	rows, _ := pool.Query(ctx, `SELECT object_id::bigint, actor, before, after FROM audit
		WHERE action = 'status.updated' AND workload_id = $1 ORDER BY id`, w.ID)
	defer rows.Close()
	seen := map[int64]int{}
	for rows.Next() {
		var cid int64
		var actor string
		var b, a []byte
		if err := rows.Scan(&cid, &actor, &b, &a); err != nil {
			t.Fatal(err)
		}
		seen[cid]++
		var gotBefore, gotAfter map[string]any
		if err := json.Unmarshal(b, &gotBefore); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(a, &gotAfter); err != nil {
			t.Fatal(err)
		}
		if actor != "srm audit-test" {
			t.Errorf("control %d: actor %q, want srm audit-test", cid, actor)
		}
		if !reflect.DeepEqual(gotBefore, before[cid]) || !reflect.DeepEqual(gotAfter, after[cid]) {
			t.Errorf("control %d: audit\n before %v\n after  %v\nwant\n before %v\n after  %v", cid, gotBefore, gotAfter, before[cid], after[cid])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, cid := range ids[:3] {
		if seen[cid] != 1 {
			t.Errorf("control %d: %d status.updated rows, want 1", cid, seen[cid])
		}
	}
	if seen[ids[3]] != 0 {
		t.Errorf("control %d, not saved again: %d status.updated rows, want none", ids[3], seen[ids[3]])
	}
}
