package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/srmhq/srm"
)

// StatusChange is the status one control of a workload should have after a
// bulk action: the whole status, with the Version it was read at (0: there
// is no status yet). OwnerID names an existing owner, or 0 for nobody.
type StatusChange struct {
	ControlID int64
	Status    srm.Status
}

// bulkStatusSQL saves many statuses of one workload in one statement, each
// conditional on its own version. In order:
//
//  1. Lock the workload row, as every writer of its assignments does first,
//     then the status rows asked for, in control order: a bulk save queues
//     behind anyone saving one of them and reads what they left.
//  2. Lock the summary rows the changes will move, in one order: the
//     owners' totals (old and new owners) by owner id, the portfolio's
//     rows of the workload's model and shard by layer. Row by row, the
//     summary triggers would take them in the order of the rows, and two
//     bulk actions on workloads sharing owners (or a shard) would take
//     them in opposite orders and deadlock.
//  3. Keep the changes whose stored version is still the one they were
//     read at (0: no status).
//  4. Upsert those statuses. Ticking complete stamps the owner's name and
//     the time; a stamp stays while the control remains complete. ON
//     CONFLICT checks the version again. Each row changed writes its own
//     audit row (the statuses audit trigger).
//  5. Write the engine's answer to each saved control's assignment: for
//     the party it has when the row is written. @o_counted and @o_done are
//     outcomes(status), computed in Go, for each control of @control in
//     turn and, within it, each party of @parties: the answer for the
//     control at position i (from 1) and the party at position p is at
//     (i-1)*len(@parties)+p. Looked up by position rather than joined:
//     a join of the saved rows to an unnest of the answers was planned as
//     a nested loop that unnested all 150 answers again for every row.
//
// It returns one row per control asked for: stored, and the status as it
// is now (saved by this statement, or what someone else saved first).
const bulkStatusSQL = `
WITH workload AS MATERIALIZED (
	SELECT w.id FROM public.workloads w WHERE w.id = @workload::bigint FOR NO KEY UPDATE OF w
),
want AS MATERIALIZED (
	SELECT t.* FROM unnest(@control::bigint[], @version::bigint[], @owner::bigint[], @complete::boolean[],
	                       @note::text[], @evidence::text[], @not_applicable::boolean[], @na_reason::text[])
	     AS t (control_id, version, owner_id, complete, note, evidence, not_applicable, na_reason)
	WHERE EXISTS (SELECT FROM workload)
),
current AS MATERIALIZED (
	SELECT s.* FROM public.statuses s
	WHERE s.workload_id = @workload::bigint AND s.control_id = ANY (@control::bigint[])
	  AND EXISTS (SELECT FROM workload)
	ORDER BY s.control_id
	FOR UPDATE
),
summaries AS MATERIALIZED (
	SELECT 1 FROM public.owner_totals t
	WHERE t.owner_id IN (SELECT c.owner_id FROM current c UNION SELECT w.owner_id FROM want w)
	ORDER BY t.owner_id
	FOR NO KEY UPDATE
),
shards AS MATERIALIZED (
	SELECT 1 FROM public.portfolio_shards p JOIN public.workloads w ON w.id = @workload::bigint
	WHERE p.model = w.model AND p.shard = w.id % 16 AND EXISTS (SELECT FROM want)
	ORDER BY p.model, p.layer, p.shard
	FOR NO KEY UPDATE OF p
),
go_on AS MATERIALIZED (
	SELECT w.* FROM want w LEFT JOIN current c ON c.control_id = w.control_id
	WHERE COALESCE(c.version, 0) = w.version
	  AND (SELECT count(*) FROM summaries) >= 0 AND (SELECT count(*) FROM shards) >= 0
),
saved AS (
	INSERT INTO public.statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
	                                  note, evidence, not_applicable, na_reason, version)
	SELECT @workload::bigint, g.control_id, g.owner_id, g.complete,
	       CASE WHEN g.complete THEN COALESCE(o.name, '') ELSE '' END, CASE WHEN g.complete THEN now() END,
	       g.note, g.evidence, g.not_applicable, g.na_reason, g.version + 1
	FROM go_on g LEFT JOIN public.owners o ON o.id = g.owner_id
	ORDER BY g.control_id
	ON CONFLICT (workload_id, control_id) DO UPDATE SET
		owner_id       = EXCLUDED.owner_id,
		complete       = EXCLUDED.complete,
		completed_by   = CASE WHEN NOT EXCLUDED.complete THEN '' WHEN s.complete THEN s.completed_by
		                      ELSE EXCLUDED.completed_by END,
		completed_at   = CASE WHEN NOT EXCLUDED.complete THEN NULL WHEN s.complete THEN s.completed_at
		                      ELSE EXCLUDED.completed_at END,
		note           = EXCLUDED.note,
		evidence       = EXCLUDED.evidence,
		not_applicable = EXCLUDED.not_applicable,
		na_reason      = EXCLUDED.na_reason,
		version        = s.version + 1,
		updated_at     = now()
	WHERE s.version = EXCLUDED.version - 1
	RETURNING s.*
),
assigned AS (
	UPDATE public.assignments a SET owner_id = saved.owner_id,
		counted = (@o_counted::boolean[])[(array_position(@control::bigint[], saved.control_id) - 1)
		                                  * cardinality(@parties::text[]) + array_position(@parties::text[], a.party)],
		done    = (@o_done::boolean[])[(array_position(@control::bigint[], saved.control_id) - 1)
		                               * cardinality(@parties::text[]) + array_position(@parties::text[], a.party)]
	FROM saved
	WHERE a.workload_id = saved.workload_id AND a.control_id = saved.control_id AND a.party = ANY (@parties::text[])
	RETURNING a.control_id
)
SELECT true AS stored, COALESCE(o.name, '') AS owner_name, ` + statusColumns + `
FROM saved s LEFT JOIN public.owners o ON o.id = s.owner_id
UNION ALL
SELECT false, COALESCE(o.name, ''), ` + statusColumns + `
FROM current s LEFT JOIN public.owners o ON o.id = s.owner_id
WHERE NOT EXISTS (SELECT FROM saved x WHERE x.control_id = s.control_id)`

// bulkStatusRow is one row bulkStatusSQL returns.
type bulkStatusRow struct {
	Stored    bool   `db:"stored"`
	OwnerName string `db:"owner_name"`
	statusRow
}

// RecordStatuses saves many statuses of one workload in one statement, as
// a bulk action does: each change is conditional on its own version, so
// what someone else saved since the person read the page is never
// overwritten, and each status saved writes its own audit row. saved holds
// the statuses stored, by control id; stale holds, for each change refused
// because its version moved, the status stored now (the zero status, at
// version 0, when it went away). An unknown workload is an error wrapping
// srm.ErrNotFound; an owner that does not exist, ErrNoSuchOwner (and then
// nothing is saved).
func (s *Store) RecordStatuses(ctx context.Context, workloadID int64, changes []StatusChange) (saved, stale map[int64]srm.Status, err error) {
	saved, stale = map[int64]srm.Status{}, map[int64]srm.Status{}
	if len(changes) == 0 {
		return saved, stale, nil
	}
	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b StatusChange) int { return int(a.ControlID - b.ControlID) })
	n := len(changes)
	var (
		control, version         = make([]int64, n), make([]int64, n)
		owner                    = make([]*int64, n)
		complete, na             = make([]bool, n), make([]bool, n)
		note, evidence, naReason = make([]string, n), make([]string, n), make([]string, n)
		parties                  []string
		oCounted, oDone          []bool
	)
	for i, c := range changes {
		st := c.Status
		control[i], version[i] = c.ControlID, st.Version
		if st.OwnerID > 0 {
			id := st.OwnerID
			owner[i] = &id
		}
		complete[i], na[i] = st.Complete, st.NotApplicable
		note[i], evidence[i], naReason[i] = st.Note, st.Evidence, st.NAReason
		ps, counted, done := outcomes(st)
		if parties == nil {
			parties = ps // the same parties, in the same order, for every status
		}
		oCounted, oDone = append(oCounted, counted...), append(oDone, done...)
	}
	var recs []bulkStatusRow
	err = s.write(ctx, func(b *pgx.Batch) {
		b.Queue(bulkStatusSQL, pgx.NamedArgs{
			"workload": workloadID,
			"control":  control, "version": version, "owner": owner, "complete": complete,
			"note": note, "evidence": evidence, "not_applicable": na, "na_reason": naReason,
			"parties": parties, "o_counted": oCounted, "o_done": oDone,
		}).Query(func(rows pgx.Rows) (err error) {
			recs, err = pgx.CollectRows(rows, pgx.RowToStructByName[bulkStatusRow])
			return err
		})
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == foreignKeyViolation && pe.ConstraintName == "statuses_owner_id_fkey" {
			return nil, nil, fmt.Errorf("store: bulk save of %d statuses, workload %d: %w", n, workloadID, ErrNoSuchOwner)
		}
		return nil, nil, fmt.Errorf("store: bulk save of %d statuses, workload %d: %w", n, workloadID, translate(err))
	}
	seen := make(map[int64]bool, len(recs))
	for _, r := range recs {
		seen[r.ControlID] = true
		if r.Stored {
			saved[r.ControlID] = r.status(r.OwnerName)
		} else {
			stale[r.ControlID] = r.status(r.OwnerName)
		}
	}
	if len(recs) == 0 {
		// Not even a workload row to lock: is it there at all?
		if _, err := s.Workload(ctx, workloadID); err != nil {
			return nil, nil, err
		}
	}
	// A change with no row back asked for a status that is not there (any
	// more) from a version above 0: refused, and nothing stored now.
	for _, c := range changes {
		if !seen[c.ControlID] {
			stale[c.ControlID] = srm.Status{}
		}
	}
	return saved, stale, nil
}
