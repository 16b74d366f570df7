package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srmhq/srm"
)

// Bulk is a load of many rows at once, for fixtures (srm seed): see
// BulkLoad. Its methods write with COPY in BulkLoad's transaction.
type Bulk struct {
	tx        pgx.Tx
	on        *Store
	cat       Catalog
	workloads []int64 // added, in order
	statuses  int     // added
	before    int     // workloads stored before the load
	deferred  []deferred
	deferDone bool
	assessed  *newAssessment // of the workloads added, once statuses come
}

// BulkLoad runs load in one transaction made for adding many rows: it
// holds the catalog (see catalogLock), pauses the audit triggers of
// workloads, owners and statuses and records instead one audit row
// ("seed.loaded", with the counts), then writes the engine's assignments of
// the workloads load added (assessNew) and refreshes the planner's
// statistics. When the load at least doubles the workloads, the secondary
// indexes and foreign keys of the tables it fills most (statuses,
// assignments, owner_progress) are dropped before the first status is
// copied and made again, exactly as they were, before it commits (see
// deferChecks): building an index once and checking a foreign key with one
// join is far cheaper than doing both row by row for millions of rows. It
// holds those tables exclusively meanwhile, so pages wait for a large
// seed. Pausing triggers and dropping indexes take the owner of srm's
// schema. An error from load undoes everything, the drops included.
func (s *Store) BulkLoad(ctx context.Context, load func(*Bulk) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(catalogLock)); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
		cat, err := loadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		for _, stmt := range []string{
			`ALTER TABLE statuses DISABLE TRIGGER audit_statuses`,
			`ALTER TABLE statuses DISABLE TRIGGER audit_statuses_updated`,
			`ALTER TABLE workloads DISABLE TRIGGER audit_workloads`,
			`ALTER TABLE owners DISABLE TRIGGER audit_owners`,
			// Under srm.bulk these do nothing (they return at once), but
			// each row would still queue an event and call them.
			`ALTER TABLE owner_progress DISABLE TRIGGER owner_progress_delta`,
			`ALTER TABLE layer_progress DISABLE TRIGGER layer_progress_delta`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: bulk load: %w", err)
			}
		}
		// Sorts and joins of millions of rows, in memory rather than on disk.
		if _, err := tx.Exec(ctx, `SELECT set_config('work_mem', '256MB', true)`); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
		b := &Bulk{tx: tx, on: s.on(tx), cat: cat}
		if err := load(b); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT audit_event('seed.loaded', 'portfolio', '', '', NULL, NULL, $1)`,
			map[string]int{"workloads": len(b.workloads), "statuses": b.statuses}); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
		if len(b.workloads) > 0 {
			if err := b.assess(ctx); err != nil {
				return err
			}
			if err := b.assessed.finish(ctx, tx); err != nil {
				return fmt.Errorf("store: bulk load: %w", err)
			}
		}
		if err := restoreChecks(ctx, tx, b.deferred); err != nil {
			return fmt.Errorf("store: bulk load: %w", err)
		}
		for _, stmt := range []string{
			`ALTER TABLE statuses ENABLE TRIGGER audit_statuses`,
			`ALTER TABLE statuses ENABLE TRIGGER audit_statuses_updated`,
			`ALTER TABLE workloads ENABLE TRIGGER audit_workloads`,
			`ALTER TABLE owners ENABLE TRIGGER audit_owners`,
			`ALTER TABLE owner_progress ENABLE TRIGGER owner_progress_delta`,
			`ALTER TABLE layer_progress ENABLE TRIGGER layer_progress_delta`,
			`ANALYZE workloads`, `ANALYZE audit`, `ANALYZE statuses`, `ANALYZE layer_progress`, `ANALYZE owners`,
			`ANALYZE assignments`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("store: bulk load: %s: %w", stmt, err)
			}
		}
		return nil
	})
}

// Catalog is the catalog as the load's transaction holds it.
func (b *Bulk) Catalog() Catalog { return b.cat }

// Workloads counts the workloads stored, including those added so far.
func (b *Bulk) Workloads(ctx context.Context) (int, error) {
	var n int
	if err := b.tx.QueryRow(ctx, `SELECT count(*) FROM workloads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: bulk load: %w", err)
	}
	return n, nil
}

// EnsureOwner is Store.EnsureOwner in the load's transaction.
func (b *Bulk) EnsureOwner(ctx context.Context, o srm.Owner) (srm.Owner, error) {
	return b.on.EnsureOwner(ctx, o)
}

// AddWorkloads stores ws (their name, description, model, baseline and
// frameworks: w.Frameworks, or the default ones when it names none) and
// returns their ids, in the order of ws. A framework id not in the
// catalog is an error wrapping srm.ErrNotFound.
func (b *Bulk) AddWorkloads(ctx context.Context, ws []srm.Workload) ([]int64, error) {
	var defaults []int64
	for _, f := range b.cat.frameworks {
		if f.Default {
			defaults = append(defaults, f.ID)
		}
	}
	for _, w := range ws {
		for _, id := range w.Frameworks {
			if _, ok := b.cat.Framework(id); !ok {
				return nil, fmt.Errorf("store: bulk load: framework %d: %w", id, srm.ErrNotFound)
			}
		}
	}
	if b.assessed != nil {
		return nil, fmt.Errorf("store: bulk load: workloads added after statuses: %w", srm.ErrInvalid)
	}
	var last int64
	var stored int
	if err := b.tx.QueryRow(ctx, `SELECT COALESCE(max(id), 0), count(*) FROM workloads`).Scan(&last, &stored); err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	if len(b.workloads) == 0 {
		b.before = stored
	}
	rows := make([][]any, len(ws))
	for i, w := range ws {
		rows[i] = []any{w.Name, w.Description, string(w.Model), w.BaselineID}
	}
	if _, err := b.tx.CopyFrom(ctx, pgx.Identifier{"workloads"}, []string{"name", "description", "model", "baseline_id"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("store: bulk load workloads: %w", translate(err))
	}
	// COPY takes the identities in the order of its rows.
	rs, _ := b.tx.Query(ctx, `SELECT id FROM workloads WHERE id > $1 ORDER BY id`, last) // CollectRows reports its error
	ids, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("store: bulk load: %w", err)
	}
	var wids, fids []int64
	for i, w := range ws {
		fws := w.Frameworks
		if len(fws) == 0 {
			fws = defaults
		}
		for _, f := range fws {
			wids, fids = append(wids, ids[i]), append(fids, f)
		}
	}
	if _, err := b.tx.Exec(ctx, `
		INSERT INTO workload_frameworks (workload_id, framework_id)
		SELECT w, f FROM unnest($1::bigint[], $2::bigint[]) AS t(w, f) ORDER BY w, f
		ON CONFLICT DO NOTHING`, wids, fids); err != nil {
		return nil, fmt.Errorf("store: bulk load frameworks: %w", translate(err))
	}
	b.workloads = append(b.workloads, ids...)
	return ids, nil
}

// BulkStatus is one status AddStatuses stores: the owner, and whether,
// when and by whom the control was completed.
type BulkStatus struct {
	WorkloadID, ControlID int64
	OwnerID               int64
	Complete              bool
	CompletedBy           string
	CompletedAt           *time.Time
}

// assess plans the engine's assessment of the workloads added (once), and
// turns srm.bulk on: the summaries are summed at the end.
func (b *Bulk) assess(ctx context.Context) error {
	if b.assessed != nil {
		return nil
	}
	if _, err := b.tx.Exec(ctx, `SELECT set_config('srm.bulk', 'on', true)`); err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	a, err := planNew(ctx, b.tx, b.cat, b.workloads)
	if err != nil {
		return fmt.Errorf("store: bulk load: %w", err)
	}
	b.assessed = a
	return nil
}

// statusChunk is how many statuses AddStatuses copies at a time, each
// chunk followed by the engine's assignments of those controls.
const statusChunk = 50_000

// AddStatuses stores the statuses next returns until it returns false, and
// returns how many it stored. They must be of workloads the load added,
// after the last AddWorkloads. It copies them in chunks, holding one in
// memory, and after each chunk the engine's assignment of each of those
// controls (see newAssessment): one pass, no join of millions of rows.
func (b *Bulk) AddStatuses(ctx context.Context, next func() (BulkStatus, bool)) (int, error) {
	if !b.deferDone && len(b.workloads) > 0 && len(b.workloads) >= b.before {
		b.deferDone = true
		var err error
		if b.deferred, err = deferChecks(ctx, b.tx, bulkTables); err != nil {
			return 0, fmt.Errorf("store: bulk load: %w", err)
		}
	}
	if err := b.assess(ctx); err != nil {
		return 0, err
	}
	chunk := make([]BulkStatus, 0, statusChunk)
	total := 0
	for more := true; more; {
		chunk = chunk[:0]
		for len(chunk) < statusChunk {
			s, ok := next()
			if !ok {
				more = false
				break
			}
			chunk = append(chunk, s)
		}
		if len(chunk) == 0 {
			break
		}
		n, err := b.tx.CopyFrom(ctx, pgx.Identifier{"statuses"},
			[]string{"workload_id", "control_id", "owner_id", "complete", "completed_by", "completed_at"},
			pgx.CopyFromSlice(len(chunk), func(i int) ([]any, error) {
				s := chunk[i]
				var owner *int64
				if s.OwnerID > 0 {
					owner = &s.OwnerID
				}
				return []any{s.WorkloadID, s.ControlID, owner, s.Complete, s.CompletedBy, s.CompletedAt}, nil
			}))
		if err != nil {
			return total, fmt.Errorf("store: bulk load statuses: %w", translate(err))
		}
		total += int(n)
		var rows assignmentRows
		for _, s := range chunk {
			if _, err := b.assessed.add(&rows, s.WorkloadID, s.ControlID, srm.Status{OwnerID: s.OwnerID, Complete: s.Complete}); err != nil {
				return total, fmt.Errorf("store: bulk load statuses: %w", err)
			}
		}
		if err := rows.write(ctx, b.tx, true); err != nil {
			return total, fmt.Errorf("store: bulk load: %w", err)
		}
		if err := b.assessed.sumChunk(ctx, b.tx, &rows); err != nil {
			return total, fmt.Errorf("store: bulk load: %w", err)
		}
	}
	b.statuses += total
	return total, nil
}

// Atomically runs fn with a Store whose every read and write happens in
// one transaction, committed when fn returns nil and undone otherwise.
// Fixtures that must load all or nothing (the demo portfolio) use it.
func (s *Store) Atomically(ctx context.Context, fn func(*Store) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return fn(s.on(tx)) })
}

// BackdateCompletions spreads the completion times of the complete
// statuses over the past three weeks (by control), so that a demo
// portfolio looks lived in.
func (s *Store) BackdateCompletions(ctx context.Context) error {
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(`UPDATE statuses SET completed_at = now() - (control_id % 20) * interval '1 day' - interval '3 hours'
			WHERE complete`)
	})
	if err != nil {
		return fmt.Errorf("store: backdate completions: %w", err)
	}
	return nil
}

// bulkTables are the tables a bulk load fills with many rows per workload.
var bulkTables = []string{"public.statuses", "public.assignments", "public.owner_progress"}

// deferred is a foreign key or a secondary index that a bulk load dropped,
// with PostgreSQL's own definition of it, to make again.
type deferred struct {
	table, name, def string
	index            bool
}

// deferChecks drops the foreign keys and the indexes that back no
// constraint (primary keys and unique constraints stay: the load's own
// reads and upserts need them) of tables, and returns their definitions as
// PostgreSQL prints them (pg_get_constraintdef, pg_get_indexdef). DDL
// takes no parameters: the names are quoted as identifiers and the
// definitions are the catalog's own text.
func deferChecks(ctx context.Context, tx pgx.Tx, tables []string) ([]deferred, error) {
	rows, _ := tx.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname), con.conname, pg_get_constraintdef(con.oid), false
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = ANY($1::text[]::regclass[]) AND con.contype = 'f'
		UNION ALL
		SELECT format('%I.%I', n.nspname, c.relname), i.relname, pg_get_indexdef(x.indexrelid), true
		FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = ANY($1::text[]::regclass[])
		  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = x.indexrelid)
		ORDER BY 4, 1, 2`, tables)
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (deferred, error) {
		var d deferred
		err := r.Scan(&d.table, &d.name, &d.def, &d.index)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("defer indexes and foreign keys: %w", err)
	}
	for _, d := range ds {
		stmt := "ALTER TABLE " + d.table + " DROP CONSTRAINT " + pgx.Identifier{d.name}.Sanitize()
		if d.index {
			// An index lives in its table's schema.
			schema, _, _ := strings.Cut(d.table, ".")
			stmt = "DROP INDEX " + schema + "." + pgx.Identifier{d.name}.Sanitize()
		}
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("defer %s: %w", d.name, err)
		}
	}
	return ds, nil
}

// restoreChecks makes again what deferChecks dropped: the indexes first
// (each built in one sorted pass), then the foreign keys (each checked by
// one join of the whole table).
func restoreChecks(ctx context.Context, tx pgx.Tx, ds []deferred) error {
	if len(ds) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', '256MB', true)`); err != nil {
		return fmt.Errorf("restore indexes: %w", err)
	}
	for _, index := range []bool{true, false} {
		for _, d := range ds {
			if d.index != index {
				continue
			}
			stmt := d.def
			if !d.index {
				stmt = "ALTER TABLE " + d.table + " ADD CONSTRAINT " + pgx.Identifier{d.name}.Sanitize() + " " + d.def
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("restore %s: %w", d.name, err)
			}
		}
	}
	return nil
}
