package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// The assignments table holds, for every workload and control, what the Go
// engine decided: the party (srm.Assess) and whether the control counts and
// is done (srm.Assignment.Counted and Done). The database only sums these
// facts into the progress summaries (migration 000011); it never decides
// a party itself. Every change that can move a party or a count writes the
// engine's answer in the same transaction:
//
//	a workload created, its model or baseline changed   reassess that workload
//	an override set or removed                          reassess that control of that workload
//	a control added, or moved to another layer or area  reassess that control of every workload
//	a control removed                                    its rows go by ON DELETE CASCADE
//	a framework attached to a workload                   reassess its controls for that workload
//	a framework detached                                 its rows of that workload are deleted
//	a framework imported anew (store/frameworks.go)      reassess added and re-read controls for the
//	                                                     workloads it is attached to; retired ones'
//	                                                     rows are deleted
//	a control's reading changed by an admin              reassess that control, as a moved control
//	a status saved                                       the engine's answer for the new status
//	                                                     (RecordStatus, see outcomes)
//	baseline rows changed by a migration                 the migration sets catalog_version.assessed
//	                                                     to false; Migrate reassesses everything
//
// Lock order, the same everywhere so that writers queue instead of
// deadlocking: the catalog lock (catalogLock: exclusive for catalog changes,
// shared for workload changes), then workload rows (in id order when
// several), then statuses, assignments and the summary rows; a catalog
// change that moves assignments holds every workload before it writes the
// catalog (whose triggers update the catalog_version row).

// reassessBatch is how many workloads reassess reads and writes at a time.
const reassessBatch = 500

// assignmentRows is a batch of assignments rows as parallel arrays, for one
// INSERT … SELECT FROM unnest.
type assignmentRows struct {
	workload []int64
	control  []int64
	layer    []string
	party    []string
	counted  []bool
	done     []bool
	owner    []*int64
}

// add appends the engine's answer for one control of workload wid.
func (r *assignmentRows) add(wid int64, a srm.Assignment) {
	var owner *int64
	if a.Status.OwnerID > 0 {
		id := a.Status.OwnerID
		owner = &id
	}
	r.workload = append(r.workload, wid)
	r.control = append(r.control, a.Control.ID)
	r.layer = append(r.layer, string(a.Control.Layer))
	r.party = append(r.party, string(a.Party))
	r.counted = append(r.counted, a.Counted())
	r.done = append(r.done, a.Done())
	r.owner = append(r.owner, owner)
}

// write stores the rows, changing only those that differ from what is
// stored; the summaries follow by the table's triggers. fresh says none of
// the rows is stored yet (new workloads): they are copied.
func (r *assignmentRows) write(ctx context.Context, db DBTX, fresh bool) error {
	if len(r.workload) == 0 {
		return nil
	}
	if fresh {
		_, err := db.CopyFrom(ctx, pgx.Identifier{"assignments"},
			[]string{"workload_id", "control_id", "layer", "party", "counted", "done", "owner_id"},
			pgx.CopyFromSlice(len(r.workload), func(i int) ([]any, error) {
				return []any{r.workload[i], r.control[i], r.layer[i], r.party[i], r.counted[i], r.done[i], r.owner[i]}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy assignments: %w", err)
		}
		return nil
	}
	_, err := db.Exec(ctx, `
		INSERT INTO assignments AS a (workload_id, control_id, layer, party, counted, done, owner_id)
		SELECT * FROM unnest(@workload::bigint[], @control::bigint[], @layer::text[], @party::text[],
		                     @counted::boolean[], @done::boolean[], @owner::bigint[])
		ORDER BY 1, 2
		ON CONFLICT (workload_id, control_id) DO UPDATE
			SET layer = EXCLUDED.layer, party = EXCLUDED.party, counted = EXCLUDED.counted,
			    done = EXCLUDED.done, owner_id = EXCLUDED.owner_id
			WHERE (a.layer, a.party, a.counted, a.done, a.owner_id)
			      IS DISTINCT FROM (EXCLUDED.layer, EXCLUDED.party, EXCLUDED.counted, EXCLUDED.done, EXCLUDED.owner_id)`,
		pgx.NamedArgs{"workload": r.workload, "control": r.control, "layer": r.layer, "party": r.party,
			"counted": r.counted, "done": r.done, "owner": r.owner})
	if err != nil {
		return fmt.Errorf("write assignments: %w", err)
	}
	return nil
}

// outcomes is the engine's answer for a control whose status becomes st,
// for each party that may carry it: whether it counts and whether it is
// done. A status save writes the answer for the party the control has when
// the row is written, so it needs no lock taken beforehand and decides
// nothing in SQL.
func outcomes(st srm.Status) (parties []string, counted, done []bool) {
	for _, p := range srm.Parties {
		a := srm.Assignment{Party: p, Status: st}
		parties, counted, done = append(parties, string(p)), append(counted, a.Counted()), append(done, a.Done())
	}
	return parties, counted, done
}

// outcomesEitherWay is outcomes for st both applicable and not applicable,
// whatever st says: a save that keeps the stored not-applicable mark
// (RecordStatus with KeepDetails) learns it only as it writes the row, and
// takes the answer for the mark it writes.
func outcomesEitherWay(st srm.Status) (parties []string, notApplicable, counted, done []bool) {
	for _, na := range []bool{false, true} {
		st.NotApplicable = na
		p, c, d := outcomes(st)
		parties, counted, done = append(parties, p...), append(counted, c...), append(done, d...)
		for range p {
			notApplicable = append(notApplicable, na)
		}
	}
	return parties, notApplicable, counted, done
}

// customerParties are the parties whose controls are on the customer's
// to-do list (srm.Party.Counted): the ones a customer can record work on.
func customerParties() []string {
	var out []string
	for _, p := range srm.Parties {
		if p.Counted() {
			out = append(out, string(p))
		}
	}
	return out
}

// countedLayer is the layer whose portfolio_shards rows say how many
// workloads there are: every workload has a layer_progress row in each of
// srm.Layers, and each row counts it once in its shard.
var countedLayer = string(srm.Layers[0])

// layerNames is srm.Layers as the text[] SQL takes.
func layerNames() []string {
	out := make([]string, len(srm.Layers))
	for i, l := range srm.Layers {
		out[i] = string(l)
	}
	return out
}

// catalogLock is the advisory lock that orders catalog changes against
// workload changes: a catalog change holds it exclusively, a workload change
// shared (pg_advisory_xact_lock and _shared, until the transaction ends).
// An advisory lock rather than the catalog_version row: saving a status
// that creates an owner updates that row (owners_version), and must not
// queue behind a catalog change that waits for the status's workload.
const catalogLock = 0x73726d2d636174 // "srm-cat"

// holdCatalog takes the catalog lock shared, so that no catalog change runs
// alongside the caller's transaction, and returns the catalog as it is.
func (s *Store) holdCatalog(ctx context.Context, tx pgx.Tx) (Catalog, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(catalogLock)); err != nil {
		return Catalog{}, fmt.Errorf("hold the catalog: %w", err)
	}
	// A statement of its own, so that its snapshot is taken after the wait
	// and includes the catalog change waited for.
	var version int64
	if err := tx.QueryRow(ctx, `SELECT version FROM catalog_version`).Scan(&version); err != nil {
		return Catalog{}, fmt.Errorf("catalog version: %w", err)
	}
	// On a miss, load it in tx, on the connection already held: loading
	// on another from the pool, while this one waits, could take the last
	// free connection, or wait for one that never frees. No catalog
	// change can run while the lock is held, so what tx reads is the
	// committed catalog at version, fit to cache (unless s is itself bound
	// to a transaction, which may have changed the catalog).
	return s.catalog.at(version, !s.bound, func() (Catalog, int64, error) {
		cat, err := loadCatalog(ctx, tx)
		return cat, cat.version, err
	})
}

// lockCatalog is the start of a change to the catalog: no workload change
// runs alongside it.
func lockCatalog(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(catalogLock)); err != nil {
		return fmt.Errorf("lock the catalog: %w", err)
	}
	return nil
}

// lockWorkloads holds every workload row, in id order, before a change
// that writes the assignments of all of them. It comes before anything
// that updates the catalog_version row (see catalogLock).
func lockWorkloads(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM workloads ORDER BY id FOR NO KEY UPDATE`); err != nil {
		return fmt.Errorf("lock the workloads: %w", err)
	}
	return nil
}

// reassess recomputes with the engine the assignments of the workloads ids
// (every workload when ids is nil) for the controls only (every control of
// cat when only is nil), and writes what changed, in batches. fresh says
// the workloads are new and have no assignments yet. The caller holds the
// catalog and the workloads' rows.
func reassess(ctx context.Context, tx pgx.Tx, cat Catalog, ids []int64, only []srm.Control, fresh bool) error {
	controls := cat.controls
	var controlIDs []int64 // nil: every control
	if only != nil {
		controls = only
		controlIDs = make([]int64, len(only))
		for i, c := range only {
			controlIDs[i] = c.ID
		}
		if len(only) == 0 {
			return nil
		}
	}
	type workload struct {
		ID         int64
		Model      string
		BaselineID int64
		Frameworks []int64
	}
	rows, _ := tx.Query(ctx, `
		SELECT w.id, w.model, w.baseline_id,
		       array(SELECT framework_id FROM workload_frameworks wf WHERE wf.workload_id = w.id ORDER BY 1) AS frameworks
		FROM workloads w
		WHERE @ids::bigint[] IS NULL OR w.id = ANY(@ids::bigint[]) ORDER BY w.id`, pgx.NamedArgs{"ids": ids})
	ws, err := pgx.CollectRows(rows, pgx.RowToStructByName[workload])
	if err != nil {
		return fmt.Errorf("reassess: workloads: %w", err)
	}
	// Many workloads at once: row by row, their deltas would update each
	// shared total (portfolio_shards, owner_totals) thousands of times in
	// one transaction. Skip the deltas (srm.bulk), sum each batch's
	// workloads afresh, and the shared totals at the end.
	bulk := len(ws) > 1
	// A workload is assessed on the controls of its frameworks only; the
	// lists are the same for every workload held to the same frameworks.
	lists := map[string][]srm.Control{}
	controlsOf := func(fws []int64) []srm.Control {
		key := fmt.Sprint(fws)
		l, ok := lists[key]
		if !ok {
			l = make([]srm.Control, 0, len(controls))
			for _, c := range controls {
				if slices.Contains(fws, c.FrameworkID) {
					l = append(l, c)
				}
			}
			lists[key] = l
		}
		return l
	}
	if bulk {
		if _, err := tx.Exec(ctx, `SELECT set_config('srm.bulk', 'on', true)`); err != nil {
			return fmt.Errorf("reassess: %w", err)
		}
	}
	for batch := range slices.Chunk(ws, reassessBatch) {
		bids := make([]int64, len(batch))
		for i, w := range batch {
			bids[i] = w.ID
		}
		overrides, statuses, err := partiesAndWork(ctx, tx, bids, controlIDs)
		if err != nil {
			return err
		}
		if only == nil && !bulk { // one whole workload: a new one, or a new model
			// Every workload has a layer_progress row for each of srm.Layers,
			// in its model's shard of the portfolio (a model change moves it,
			// from the old model's rows to the new one's: lock the shards'
			// rows first, in one order, as two workloads of one shard moving in
			// opposite directions would otherwise take them in opposite orders).
			if _, err := tx.Exec(ctx, `
				SELECT 1 FROM portfolio_shards
				WHERE shard IN (SELECT id % 16 FROM workloads WHERE id = ANY(@ids::bigint[]))
				ORDER BY model, layer, shard FOR NO KEY UPDATE`, pgx.NamedArgs{"ids": bids}); err != nil {
				return fmt.Errorf("reassess: lock the portfolio: %w", err)
			}
			if _, err := tx.Exec(ctx, `
				INSERT INTO layer_progress AS lp (workload_id, layer, model, controls, total, done)
				SELECT w.id, l.layer, w.model, 0, 0, 0
				FROM workloads w CROSS JOIN unnest(@layers::text[]) AS l (layer)
				WHERE w.id = ANY(@ids::bigint[])
				ORDER BY w.id, l.layer
				ON CONFLICT (workload_id, layer) DO UPDATE SET model = EXCLUDED.model WHERE lp.model <> EXCLUDED.model`,
				pgx.NamedArgs{"layers": layerNames(), "ids": bids}); err != nil {
				return fmt.Errorf("reassess: layer rows: %w", err)
			}
		}
		if only == nil && !fresh {
			// Whole workloads: drop what the engine no longer assesses for
			// them (a framework removed, a control retired).
			if _, err := tx.Exec(ctx, `
				DELETE FROM assignments a USING controls c
				WHERE a.workload_id = ANY(@ids::bigint[]) AND c.id = a.control_id
				  AND (c.retired_at IS NOT NULL OR NOT EXISTS (
				      SELECT FROM workload_frameworks wf WHERE wf.workload_id = a.workload_id AND wf.framework_id = c.framework_id))`,
				pgx.NamedArgs{"ids": bids}); err != nil {
				return fmt.Errorf("reassess: drop assignments: %w", err)
			}
		}
		var out assignmentRows
		for _, w := range batch {
			b, ok := cat.baseline(w.BaselineID) // read only: no copy per workload
			if !ok {
				return fmt.Errorf("reassess workload %d: baseline %d: %w", w.ID, w.BaselineID, srm.ErrNotFound)
			}
			as, err := srm.Assess(b, srm.ServiceModel(w.Model), controlsOf(w.Frameworks), overrides[w.ID], statuses[w.ID])
			if err != nil {
				return fmt.Errorf("reassess workload %d: %w", w.ID, err)
			}
			for _, a := range as {
				out.add(w.ID, a)
			}
		}
		if err := out.write(ctx, tx, fresh); err != nil {
			return fmt.Errorf("reassess: %w", err)
		}
		if bulk {
			if err := sumWorkloads(ctx, tx, bids); err != nil {
				return err
			}
		}
	}
	if bulk {
		return sumTotals(ctx, tx)
	}
	return nil
}

// sumWorkloads sums the summaries of the workloads ids afresh from their
// assignments: a layer_progress row for each of srm.Layers, owner_progress,
// and workloads.total and done. Plain sums of the engine's facts.
func sumWorkloads(ctx context.Context, tx pgx.Tx, ids []int64) error {
	args := pgx.NamedArgs{"ids": ids, "layers": layerNames()}
	for _, sql := range []string{
		`INSERT INTO layer_progress AS lp (workload_id, layer, model, controls, total, done)
		 SELECT w.id, l.layer, w.model, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
		 FROM workloads w
		 CROSS JOIN unnest(@layers::text[]) AS l (layer)
		 LEFT JOIN (SELECT workload_id, layer, count(*) AS controls, sum(counted::int) AS total, sum(done::int) AS done
		            FROM assignments WHERE workload_id = ANY(@ids::bigint[]) GROUP BY workload_id, layer) a
		        ON a.workload_id = w.id AND a.layer = l.layer
		 WHERE w.id = ANY(@ids::bigint[])
		 ON CONFLICT (workload_id, layer) DO UPDATE
		     SET model = EXCLUDED.model, controls = EXCLUDED.controls, total = EXCLUDED.total, done = EXCLUDED.done
		     WHERE (lp.model, lp.controls, lp.total, lp.done)
		           IS DISTINCT FROM (EXCLUDED.model, EXCLUDED.controls, EXCLUDED.total, EXCLUDED.done)`,
		`WITH sums AS (
		     SELECT owner_id, workload_id, sum(counted::int)::int AS total, sum(done::int)::int AS done
		     FROM assignments WHERE workload_id = ANY(@ids::bigint[]) AND owner_id IS NOT NULL
		     GROUP BY owner_id, workload_id
		 ), gone AS (
		     DELETE FROM owner_progress op
		     WHERE op.workload_id = ANY(@ids::bigint[])
		       AND NOT EXISTS (SELECT FROM sums s WHERE s.owner_id = op.owner_id AND s.workload_id = op.workload_id)
		 )
		 INSERT INTO owner_progress AS op (owner_id, workload_id, total, done)
		 SELECT owner_id, workload_id, total, done FROM sums
		 ON CONFLICT (owner_id, workload_id) DO UPDATE SET total = EXCLUDED.total, done = EXCLUDED.done
		     WHERE (op.total, op.done) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.done)`,
		`UPDATE workloads w SET total = s.total, done = s.done
		 FROM (SELECT workload_id, sum(total)::int AS total, sum(done)::int AS done
		       FROM layer_progress WHERE workload_id = ANY(@ids::bigint[]) GROUP BY workload_id) s
		 WHERE w.id = s.workload_id AND (w.total, w.done) IS DISTINCT FROM (s.total, s.done)`,
	} {
		if _, err := tx.Exec(ctx, sql, args); err != nil {
			return fmt.Errorf("sum the workloads' progress: %w", err)
		}
	}
	return nil
}

// sumTotals sums portfolio_shards and owner_totals afresh from the
// per-workload rows, after a bulk change, and turns srm.bulk off again. It
// holds both tables first, so that no other change's delta lands while it
// sums (those wait and apply theirs to the fresh sums).
func sumTotals(ctx context.Context, tx pgx.Tx) error {
	for _, sql := range []string{
		`LOCK TABLE portfolio_shards, owner_totals IN EXCLUSIVE MODE`,
		`UPDATE portfolio_shards p
		 SET workloads = COALESCE(s.workloads, 0), controls = COALESCE(s.controls, 0),
		     total = COALESCE(s.total, 0), done = COALESCE(s.done, 0)
		 FROM portfolio_shards p2
		 LEFT JOIN (SELECT model, layer, (workload_id % 16)::int AS shard, count(*) AS workloads,
		                   sum(controls) AS controls, sum(total) AS total, sum(done) AS done
		            FROM layer_progress GROUP BY 1, 2, 3) s
		        ON s.model = p2.model AND s.layer = p2.layer AND s.shard = p2.shard
		 WHERE (p.model, p.layer, p.shard) = (p2.model, p2.layer, p2.shard)
		   AND (p.workloads, p.controls, p.total, p.done)
		       IS DISTINCT FROM (COALESCE(s.workloads, 0), COALESCE(s.controls, 0), COALESCE(s.total, 0), COALESCE(s.done, 0))`,
		`INSERT INTO owner_totals AS t (owner_id, total, done)
		 SELECT o.id, COALESCE(sum(op.total), 0), COALESCE(sum(op.done), 0)
		 FROM owners o LEFT JOIN owner_progress op ON op.owner_id = o.id
		 GROUP BY o.id
		 ON CONFLICT (owner_id) DO UPDATE SET total = EXCLUDED.total, done = EXCLUDED.done
		 WHERE (t.total, t.done) IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.done)`,
		`SELECT set_config('srm.bulk', 'off', true)`,
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("sum the portfolio and owners' totals: %w", err)
		}
	}
	return nil
}

// partiesAndWork reads what the engine needs besides the catalog: the
// overrides and the statuses of the workloads ids, for the controls
// controlIDs (every control when nil), keyed by workload and control.
func partiesAndWork(ctx context.Context, tx pgx.Tx, ids, controlIDs []int64) (map[int64]map[int64]srm.Override, map[int64]map[int64]srm.Status, error) {
	args := pgx.NamedArgs{"ids": ids, "controls": controlIDs}
	type overrideRow struct {
		WorkloadID int64
		ControlID  int64
		Party      string
	}
	rows, _ := tx.Query(ctx, `
		SELECT workload_id, control_id, party FROM overrides
		WHERE workload_id = ANY(@ids::bigint[]) AND (@controls::bigint[] IS NULL OR control_id = ANY(@controls::bigint[]))`, args)
	ors, err := pgx.CollectRows(rows, pgx.RowToStructByName[overrideRow])
	if err != nil {
		return nil, nil, fmt.Errorf("reassess: overrides: %w", err)
	}
	overrides := map[int64]map[int64]srm.Override{}
	for _, o := range ors {
		if overrides[o.WorkloadID] == nil {
			overrides[o.WorkloadID] = map[int64]srm.Override{}
		}
		overrides[o.WorkloadID][o.ControlID] = srm.Override{WorkloadID: o.WorkloadID, ControlID: o.ControlID, Party: srm.Party(o.Party)}
	}
	type workRow struct {
		WorkloadID    int64
		ControlID     int64
		OwnerID       *int64
		Complete      bool
		NotApplicable bool
	}
	rows, _ = tx.Query(ctx, `
		SELECT workload_id, control_id, owner_id, complete, not_applicable FROM statuses
		WHERE workload_id = ANY(@ids::bigint[]) AND (@controls::bigint[] IS NULL OR control_id = ANY(@controls::bigint[]))`, args)
	srs, err := pgx.CollectRows(rows, pgx.RowToStructByName[workRow])
	if err != nil {
		return nil, nil, fmt.Errorf("reassess: statuses: %w", err)
	}
	statuses := map[int64]map[int64]srm.Status{}
	for _, r := range srs {
		if statuses[r.WorkloadID] == nil {
			statuses[r.WorkloadID] = map[int64]srm.Status{}
		}
		st := srm.Status{Complete: r.Complete, NotApplicable: r.NotApplicable}
		if r.OwnerID != nil {
			st.OwnerID = *r.OwnerID
		}
		statuses[r.WorkloadID][r.ControlID] = st
	}
	return overrides, statuses, nil
}

// Reassess recomputes every assignment of every workload with the engine,
// as after a change of baseline rows, and sets catalog_version.assessed.
// Migrate calls it when a migration has cleared that flag.
func (s *Store) Reassess(ctx context.Context) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockCatalog(ctx, tx); err != nil {
			return err
		}
		if err := lockWorkloads(ctx, tx); err != nil {
			return err
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if err := reassess(ctx, tx, cat, nil, nil, false); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE catalog_version SET assessed = true WHERE NOT assessed`); err != nil {
			return fmt.Errorf("store: reassess: %w", err)
		}
		return nil
	})
}

// newAssessment is the engine's assessment of the workloads a bulk load
// adds (no assignments, no overrides yet). The party of a control depends
// only on the workload's baseline, model and frameworks (srm.Assess reads a
// status only to carry it), so the engine assesses each distinct
// (baseline, model, frameworks) once, not once per workload: a template.
// Whether a control counts and is done depends on its party and its
// status, and the engine answers that for each status copied
// (Bulk.AddStatuses writes the assignment next to its status), and for
// every party and every combination of the two facts it reads (complete,
// not applicable) for the controls left without a status, as outcomes does
// for a status save: the database picks the engine's row, it decides
// nothing.
type newAssessment struct {
	wID  []int64
	wKey []int32
	// the templates, as parallel arrays
	tKey           []int32
	tControl       []int64
	tLayer, tParty []string
	keyOf          map[int64]int32 // workload to template
	index          []map[int64]int // per template: control to its index in t*
	size           []int64         // per template: its controls
	covered        map[int64]int64 // per workload: assignments written with its statuses
	modelOf        map[int64]string
}

// planNew assesses the templates of the new workloads ids.
func planNew(ctx context.Context, tx pgx.Tx, cat Catalog, ids []int64) (*newAssessment, error) {
	var overridden bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM overrides WHERE workload_id = ANY(@ids::bigint[]))`,
		pgx.NamedArgs{"ids": ids}).Scan(&overridden); err != nil {
		return nil, fmt.Errorf("assess new workloads: %w", err)
	}
	if overridden { // BulkLoad has no way to add one: a mistake, not data
		return nil, fmt.Errorf("assess new workloads: a new workload has an override, which this path does not read")
	}
	type workload struct {
		ID         int64
		Model      string
		BaselineID int64
		Frameworks []int64
	}
	rows, _ := tx.Query(ctx, `
		SELECT w.id, w.model, w.baseline_id,
		       array(SELECT framework_id FROM workload_frameworks wf WHERE wf.workload_id = w.id ORDER BY 1) AS frameworks
		FROM workloads w WHERE w.id = ANY(@ids::bigint[]) ORDER BY w.id`, pgx.NamedArgs{"ids": ids})
	ws, err := pgx.CollectRows(rows, pgx.RowToStructByName[workload])
	if err != nil {
		return nil, fmt.Errorf("assess new workloads: %w", err)
	}
	n := &newAssessment{wID: make([]int64, len(ws)), wKey: make([]int32, len(ws)), keyOf: make(map[int64]int32, len(ws)),
		covered: make(map[int64]int64, len(ws)), modelOf: make(map[int64]string, len(ws))}
	keys := map[string]int32{}
	for i, w := range ws {
		k := fmt.Sprint(w.BaselineID, w.Model, w.Frameworks)
		key, ok := keys[k]
		if !ok {
			key = int32(len(keys))
			keys[k] = key
			b, ok := cat.baseline(w.BaselineID)
			if !ok {
				return nil, fmt.Errorf("assess workload %d: baseline %d: %w", w.ID, w.BaselineID, srm.ErrNotFound)
			}
			as, err := srm.Assess(b, srm.ServiceModel(w.Model), cat.controlsOf(w.Frameworks), nil, nil)
			if err != nil {
				return nil, fmt.Errorf("assess workload %d: %w", w.ID, err)
			}
			idx := make(map[int64]int, len(as))
			for _, a := range as {
				idx[a.Control.ID] = len(n.tKey)
				n.tKey, n.tControl = append(n.tKey, key), append(n.tControl, a.Control.ID)
				n.tLayer, n.tParty = append(n.tLayer, string(a.Control.Layer)), append(n.tParty, string(a.Party))
			}
			n.index, n.size = append(n.index, idx), append(n.size, int64(len(as)))
		}
		n.wID[i], n.wKey[i], n.keyOf[w.ID], n.modelOf[w.ID] = w.ID, key, key, w.Model
	}
	return n, nil
}

// add appends to r the engine's assignment of a control of a new workload
// with status st, and reports false when the control is none of the
// workload's (no assignment, as srm.Assess gives none) or the workload is
// not new.
func (n *newAssessment) add(r *assignmentRows, workloadID, controlID int64, st srm.Status) (bool, error) {
	key, ok := n.keyOf[workloadID]
	if !ok {
		return false, fmt.Errorf("workload %d is not one the load added: %w", workloadID, srm.ErrInvalid)
	}
	j, ok := n.index[key][controlID]
	if !ok {
		return false, nil
	}
	a := srm.Assignment{Control: srm.Control{ID: controlID, Layer: srm.Layer(n.tLayer[j])}, Party: srm.Party(n.tParty[j]), Status: st}
	r.add(workloadID, a)
	n.covered[workloadID]++
	return true, nil
}

// sumChunk adds the progress of the assignments rows r (a chunk of new
// workloads' assignments, just written) to their layer_progress and
// owner_progress rows: plain sums of the engine's facts, each added to
// what earlier chunks of the same workload summed.
func (n *newAssessment) sumChunk(ctx context.Context, tx pgx.Tx, r *assignmentRows) error {
	type lk struct {
		w int64
		l string
	}
	type ok struct{ o, w int64 }
	type sum struct{ controls, total, done int32 }
	layers, owners := map[lk]sum{}, map[ok]sum{}
	for i, w := range r.workload {
		c, d := int32(0), int32(0)
		if r.counted[i] {
			c = 1
		}
		if r.done[i] {
			d = 1
		}
		k := lk{w, r.layer[i]}
		s := layers[k]
		layers[k] = sum{s.controls + 1, s.total + c, s.done + d}
		if r.owner[i] != nil {
			k := ok{*r.owner[i], w}
			s := owners[k]
			owners[k] = sum{0, s.total + c, s.done + d}
		}
	}
	var (
		lw, ow, oo         []int64
		ll, lm             []string
		lc, lt, ld, ot, od []int32
	)
	for k, s := range layers {
		lw, ll, lm = append(lw, k.w), append(ll, k.l), append(lm, n.modelOf[k.w])
		lc, lt, ld = append(lc, s.controls), append(lt, s.total), append(ld, s.done)
	}
	for k, s := range owners {
		oo, ow, ot, od = append(oo, k.o), append(ow, k.w), append(ot, s.total), append(od, s.done)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO layer_progress AS lp (workload_id, layer, model, controls, total, done)
		SELECT * FROM unnest(@w::bigint[], @l::text[], @m::text[], @c::int[], @t::int[], @d::int[]) ORDER BY 1, 2
		ON CONFLICT (workload_id, layer) DO UPDATE
		SET controls = lp.controls + EXCLUDED.controls, total = lp.total + EXCLUDED.total, done = lp.done + EXCLUDED.done`,
		pgx.NamedArgs{"w": lw, "l": ll, "m": lm, "c": lc, "t": lt, "d": ld}); err != nil {
		return fmt.Errorf("sum new workloads' layers: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO owner_progress AS op (owner_id, workload_id, total, done)
		SELECT * FROM unnest(@o::bigint[], @w::bigint[], @t::int[], @d::int[]) ORDER BY 1, 2
		ON CONFLICT (owner_id, workload_id) DO UPDATE
		SET total = op.total + EXCLUDED.total, done = op.done + EXCLUDED.done`,
		pgx.NamedArgs{"o": oo, "w": ow, "t": ot, "d": od}); err != nil {
		return fmt.Errorf("sum new workloads' owners: %w", err)
	}
	return nil
}

// sumNewWorkloadTotals sets the totals of the workloads @ids from their
// layers' sums.
const sumNewWorkloadTotals = `UPDATE workloads w SET total = s.total, done = s.done
	 FROM (SELECT lp.workload_id, sum(lp.total)::int AS total, sum(lp.done)::int AS done
	       FROM layer_progress lp JOIN unnest(@ids::bigint[]) AS n (id) ON n.id = lp.workload_id
	       GROUP BY 1) s
	 WHERE w.id = s.workload_id AND (w.total, w.done) IS DISTINCT FROM (s.total, s.done)`

// finish writes the assignments of the controls left without a status,
// then sums the new workloads' progress and the portfolio's totals. srm.bulk
// is on (BulkLoad).
func (n *newAssessment) finish(ctx context.Context, tx pgx.Tx) error {
	var missing bool
	for i, w := range n.wID {
		if n.covered[w] < n.size[n.wKey[i]] {
			missing = true
			break
		}
	}
	if missing {
		var (
			oParty                        []string
			oComplete, oNA, oCount, oDone []bool
		)
		for _, p := range srm.Parties {
			for _, complete := range []bool{false, true} {
				for _, na := range []bool{false, true} {
					a := srm.Assignment{Party: p, Status: srm.Status{Complete: complete, NotApplicable: na}}
					oParty, oComplete, oNA = append(oParty, string(p)), append(oComplete, complete), append(oNA, na)
					oCount, oDone = append(oCount, a.Counted()), append(oDone, a.Done())
				}
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO assignments (workload_id, control_id, layer, party, counted, done, owner_id)
			SELECT w.id, t.control_id, t.layer, t.party, o.counted, o.done, s.owner_id
			FROM unnest(@w_id::bigint[], @w_key::int[]) AS w (id, key)
			JOIN unnest(@t_key::int[], @t_control::bigint[], @t_layer::text[], @t_party::text[])
			     AS t (key, control_id, layer, party) ON t.key = w.key
			LEFT JOIN statuses s ON s.workload_id = w.id AND s.control_id = t.control_id
			JOIN unnest(@o_party::text[], @o_complete::boolean[], @o_na::boolean[], @o_counted::boolean[], @o_done::boolean[])
			     AS o (party, complete, na, counted, done)
			  ON o.party = t.party AND o.complete = COALESCE(s.complete, false) AND o.na = COALESCE(s.not_applicable, false)
			WHERE NOT EXISTS (SELECT FROM assignments a WHERE a.workload_id = w.id AND a.control_id = t.control_id)
			ORDER BY 1, 2`,
			pgx.NamedArgs{"w_id": n.wID, "w_key": n.wKey, "t_key": n.tKey, "t_control": n.tControl, "t_layer": n.tLayer,
				"t_party": n.tParty, "o_party": oParty, "o_complete": oComplete, "o_na": oNA, "o_counted": oCount,
				"o_done": oDone}); err != nil {
			return fmt.Errorf("assess new workloads: write assignments without a status: %w", err)
		}
	}
	args := pgx.NamedArgs{"ids": n.wID, "layers": layerNames()}
	if !missing {
		// The chunks summed every assignment: add the layers no control
		// of a workload is in, and each workload's totals.
		for _, sql := range []string{
			`INSERT INTO layer_progress (workload_id, layer, model, controls, total, done)
			 SELECT w.id, l.layer, w.model, 0, 0, 0
			 FROM workloads w JOIN unnest(@ids::bigint[]) AS n (id) ON n.id = w.id
			 CROSS JOIN unnest(@layers::text[]) AS l (layer)
			 ON CONFLICT (workload_id, layer) DO NOTHING`,
			sumNewWorkloadTotals,
		} {
			if _, err := tx.Exec(ctx, sql, args); err != nil {
				return fmt.Errorf("assess new workloads: sum their progress: %w", err)
			}
		}
		return sumTotals(ctx, tx)
	}
	// Summed again, whole, from every assignment written.
	for _, sql := range []string{
		`DELETE FROM layer_progress WHERE workload_id = ANY(@ids::bigint[])`,
		`DELETE FROM owner_progress WHERE workload_id = ANY(@ids::bigint[])`,
		`INSERT INTO layer_progress (workload_id, layer, model, controls, total, done)
		 SELECT w.id, l.layer, w.model, COALESCE(a.controls, 0), COALESCE(a.total, 0), COALESCE(a.done, 0)
		 FROM workloads w
		 JOIN unnest(@ids::bigint[]) AS n (id) ON n.id = w.id
		 CROSS JOIN unnest(@layers::text[]) AS l (layer)
		 LEFT JOIN (SELECT a.workload_id, a.layer, count(*) AS controls, sum(a.counted::int) AS total, sum(a.done::int) AS done
		            FROM assignments a JOIN unnest(@ids::bigint[]) AS n (id) ON n.id = a.workload_id
		            GROUP BY 1, 2) a
		        ON a.workload_id = w.id AND a.layer = l.layer`,
		`INSERT INTO owner_progress (owner_id, workload_id, total, done)
		 SELECT a.owner_id, a.workload_id, sum(a.counted::int), sum(a.done::int)
		 FROM assignments a JOIN unnest(@ids::bigint[]) AS n (id) ON n.id = a.workload_id
		 WHERE a.owner_id IS NOT NULL
		 GROUP BY 1, 2 ORDER BY 1, 2`,
		sumNewWorkloadTotals,
	} {
		if _, err := tx.Exec(ctx, sql, args); err != nil {
			return fmt.Errorf("assess new workloads: sum their progress: %w", err)
		}
	}
	return sumTotals(ctx, tx)
}
