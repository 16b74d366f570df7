package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/srmhq/srm"
)

// statusRow is a statuses row as the store reads it, by column name (see
// statusColumns). A workload's controls without a status read as zero.
type statusRow struct {
	ControlID     int64              `db:"control_id"`
	OwnerID       int64              `db:"owner_id"`
	Complete      bool               `db:"complete"`
	CompletedBy   string             `db:"completed_by"`
	CompletedAt   pgtype.Timestamptz `db:"completed_at"`
	Note          string             `db:"note"`
	Evidence      string             `db:"evidence"`
	NotApplicable bool               `db:"not_applicable"`
	NAReason      string             `db:"na_reason"`
	Version       int64              `db:"status_version"`
	UpdatedAt     time.Time          `db:"status_updated_at"`
}

// statusColumns selects a statusRow from the statuses row named s, which
// may be missing (a LEFT JOIN).
const statusColumns = `COALESCE(s.control_id, 0) AS control_id, COALESCE(s.owner_id, 0) AS owner_id,
	COALESCE(s.complete, false) AS complete, COALESCE(s.completed_by, '') AS completed_by, s.completed_at,
	COALESCE(s.note, '') AS note, COALESCE(s.evidence, '') AS evidence,
	COALESCE(s.not_applicable, false) AS not_applicable, COALESCE(s.na_reason, '') AS na_reason,
	COALESCE(s.version, 0) AS status_version, COALESCE(s.updated_at, now()) AS status_updated_at`

// status is r as an srm.Status with the owner named name.
func (r statusRow) status(name string) srm.Status {
	st := srm.Status{OwnerID: r.OwnerID, OwnerName: name, Complete: r.Complete, CompletedBy: r.CompletedBy,
		Note: r.Note, Evidence: r.Evidence, NotApplicable: r.NotApplicable, NAReason: r.NAReason,
		Version: r.Version, UpdatedAt: r.UpdatedAt}
	if r.CompletedAt.Valid {
		st.CompletedAt = r.CompletedAt.Time
	}
	if st.OwnerID == 0 {
		st.OwnerName = ""
	}
	return st
}

// ErrNoSuchOwner is returned when a status names an owner that does not
// exist (any more). It wraps srm.ErrNotFound.
var ErrNoSuchOwner = fmt.Errorf("owner: %w", srm.ErrNotFound)

// SaveStatus records the customer's work on one control of one workload,
// whatever its version: for loading data, not for people's edits. It is
// RecordStatus from the version stored now, tried again when someone saves
// in between.
func (s *Store) SaveStatus(ctx context.Context, workloadID, controlID int64, st srm.Status) error {
	st.Version = 0 // right for a first status; otherwise the refusal says the version
	for range 5 {
		cur, err := s.RecordStatus(ctx, workloadID, controlID, st, srm.Owner{})
		if !errors.Is(err, srm.ErrStale) {
			return err
		}
		st.Version = cur.Version // 0 when there is no status (any more)
	}
	return fmt.Errorf("store: save status of control %d, workload %d: changed by others five times in a row: %w",
		controlID, workloadID, srm.ErrStale)
}

// savedStatusRow is what the status save returns: the status as stored,
// its owner's name, whether this save stored it, and the owner it created
// when it did not (to take back).
type savedStatusRow struct {
	Stored       bool   `db:"stored"`
	Found        bool   `db:"found"` // a refused save: the status row as it is now came back
	CreatedOwner int64  `db:"created_owner"`
	OwnerName    string `db:"owner_name"`
	Assessed     bool   `db:"assessed"`  // the workload is assessed on the control (an assignments row)
	Customers    bool   `db:"customers"` // and its stored party is on the customer's list
	statusRow
}

// saveStatusSQL saves a status in one statement, so that a save costs one
// round trip (with the actor's setting before it, in one batch: write).
// In order:
//
//  1. Lock the workload row, as every writer of its assignments does first
//     (store/assess.go), then the status row: a save queues behind anyone
//     saving the same status. Then the control's assignment, the engine's
//     answer written down: locked, it is read as it is now, after any
//     change of the workload waited for.
//  2. Go on only if the stored version is still @version (0: no status)
//     and, when @customers_only, the workload is assessed on the control
//     and its party is one of @customers (the parties srm.Party.Counted
//     names, computed in Go: the rule is not repeated here).
//  3. The owner: by name (found ignoring case, else created), or by id.
//  4. Upsert the status. Ticking complete stamps the owner's name and the
//     time; the stamp stays while it remains ticked. With @keep, the note,
//     evidence and not-applicable mark and reason are the ones stored (none:
//     the defaults, which the caller sends): a checklist row changes the
//     owner and completion only. The version check makes those the ones the
//     caller read. ON CONFLICT checks the version again, on the row as it
//     is after any wait.
//  5. Write the engine's answer to the assignment: counted and done for the
//     party the control has when the row is written and the not-applicable
//     mark written (@parties, @na, @counted and @done are
//     outcomesEitherWay(status), computed in Go).
//
// A refused save returns stored = false and the status row as it is now,
// when there is one: locked FOR UPDATE in step 1, it is the row as the
// save that was waited for left it (READ COMMITTED follows the row to its
// newest version). So a stale save costs the same one round trip as a
// good one. Only when there was no row to lock and another save inserted
// one meanwhile (ON CONFLICT then refuses on its version) does the caller
// read it in a second statement, whose snapshot includes that save.
// assessed and customers say whether step 2's check of the assignment
// passed, whether or not it was asked for.
const saveStatusSQL = `
WITH workload AS MATERIALIZED (
	SELECT w.id FROM workloads w WHERE w.id = @workload::bigint FOR NO KEY UPDATE OF w
),
current AS MATERIALIZED (
	SELECT s.* FROM statuses s
	WHERE s.workload_id = @workload::bigint AND s.control_id = @control::bigint AND (SELECT count(*) FROM workload) >= 0
	FOR UPDATE
),
assignment AS MATERIALIZED (
	SELECT a.party = ANY (@customers::text[]) AS customers FROM assignments a
	WHERE a.workload_id = @workload::bigint AND a.control_id = @control::bigint AND (SELECT count(*) FROM current) >= 0
	FOR NO KEY UPDATE
),
go_on AS MATERIALIZED (
	SELECT 1 AS yes WHERE COALESCE((SELECT version FROM current), 0) = @version::bigint
	                  AND (NOT @customers_only::boolean OR COALESCE((SELECT customers FROM assignment), false))
),
named AS MATERIALIZED (
	SELECT o.id, o.name FROM owners o WHERE @owner_name::text IS NOT NULL AND lower(o.name) = lower(@owner_name::text)
),
created AS (
	INSERT INTO owners AS o (name, kind)
	SELECT @owner_name::text, @owner_kind::text FROM go_on
	WHERE @owner_name::text IS NOT NULL AND NOT EXISTS (SELECT FROM named)
	ON CONFLICT (lower(name)) DO UPDATE SET name = o.name -- added by someone else a moment ago: use theirs
	RETURNING o.id, o.name, o.xmax = 0 AS inserted        -- xmax is 0 on a row this statement inserted
),
owner AS (
	SELECT COALESCE((SELECT id FROM named), (SELECT id FROM created), @owner::bigint) AS id,
	       COALESCE((SELECT name FROM named), (SELECT name FROM created),
	                (SELECT o.name FROM owners o WHERE o.id = @owner::bigint), '') AS name
),
saved AS (
	INSERT INTO statuses AS s (workload_id, control_id, owner_id, complete, completed_by, completed_at,
	                           note, evidence, not_applicable, na_reason)
	SELECT @workload::bigint, @control::bigint, owner.id, @complete::boolean,
	       CASE WHEN @complete::boolean THEN owner.name ELSE '' END, CASE WHEN @complete::boolean THEN now() END,
	       COALESCE(kept.note, @note::text), COALESCE(kept.evidence, @evidence::text),
	       COALESCE(kept.not_applicable, @not_applicable::boolean), COALESCE(kept.na_reason, @na_reason::text)
	FROM go_on CROSS JOIN owner LEFT JOIN current kept ON @keep::boolean
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
	WHERE s.version = @version::bigint
	RETURNING s.*
),
assigned AS (
	UPDATE assignments a SET
		owner_id = saved.owner_id,
		counted  = (SELECT e.counted FROM unnest(@parties::text[], @na::boolean[], @counted::boolean[]) AS e (party, na, counted)
		            WHERE e.party = a.party AND e.na = saved.not_applicable),
		done     = (SELECT e.done FROM unnest(@parties::text[], @na::boolean[], @done::boolean[]) AS e (party, na, done)
		            WHERE e.party = a.party AND e.na = saved.not_applicable)
	FROM saved
	WHERE a.workload_id = saved.workload_id AND a.control_id = saved.control_id
	RETURNING a.control_id
),
shown AS (
	SELECT true AS stored, saved.* FROM saved
	UNION ALL
	SELECT false, c.* FROM current c WHERE NOT EXISTS (SELECT FROM saved)
)
SELECT COALESCE(s.stored, false) AS stored, COALESCE(NOT s.stored, false) AS found,
       COALESCE((SELECT id FROM created WHERE inserted), 0) AS created_owner,
       CASE WHEN s.owner_id IS NULL THEN ''
            WHEN s.stored THEN (SELECT name FROM owner)
            ELSE COALESCE((SELECT o.name FROM owners o WHERE o.id = s.owner_id), '') END AS owner_name,
       EXISTS (SELECT FROM assignment) AS assessed, COALESCE((SELECT customers FROM assignment), false) AS customers,
       ` + statusColumns + `
FROM (SELECT) AS one LEFT JOIN shown s ON true`

// currentStatusSQL reads a status as it is now, after a refused save, and
// takes back the owner that save created (@created_owner, 0 for none)
// unless someone has given it a control meanwhile.
const currentStatusSQL = `
WITH taken_back AS (
	DELETE FROM owners o
	WHERE o.id = @created_owner::bigint AND NOT EXISTS (SELECT FROM statuses s WHERE s.owner_id = o.id)
)
SELECT false AS stored, true AS found, 0::bigint AS created_owner, COALESCE(o.name, '') AS owner_name,
       true AS assessed, true AS customers, ` + statusColumns + `
FROM statuses s LEFT JOIN owners o ON o.id = s.owner_id
WHERE s.workload_id = @workload::bigint AND s.control_id = @control::bigint`

// RecordStatus records the customer's work on one control of one workload
// in one statement and returns it as saved. When newOwner has a name, that
// owner is found (ignoring case) or created and takes the control. Ticking
// complete stamps who (the owner at that moment) and when; the stamp stays
// while it remains ticked and is cleared when it is unticked. The save is
// conditional on st.Version (0: there is no status yet): when someone saved
// in between, nothing changes (an owner it named is not created), the error
// wraps srm.ErrStale and the status returned is the one stored now, so the
// caller can show it. An unknown owner is ErrNoSuchOwner; an unknown
// workload or control an error wrapping srm.ErrNotFound.
func (s *Store) RecordStatus(ctx context.Context, workloadID, controlID int64, st srm.Status, newOwner srm.Owner) (srm.Status, error) {
	return s.recordStatus(ctx, workloadID, controlID, st, newOwner, saveHow{})
}

// SaveWork is how RecordWork saves a status.
type SaveWork struct {
	// KeepDetails keeps the note, evidence and not-applicable mark and
	// reason as they are stored (the defaults when there is no status):
	// the save changes the owner and completion only, and the status's
	// other fields are ignored. The status returned has the kept ones.
	KeepDetails bool
}

// ErrProviderCarries is RecordWork's refusal of a control the provider
// carries for the workload: there is no work of the customer's to record.
// It wraps srm.ErrConflict.
var ErrProviderCarries = fmt.Errorf("the provider carries the control: %w", srm.ErrConflict)

// RecordWork is RecordStatus for a person's edit of a control on the
// workload's checklist, checked in the same one statement against the
// engine's answer as stored (the assignments table): a control the
// workload is not assessed on (not in its frameworks) is an error wrapping
// srm.ErrNotFound, and one whose party is not on the customer's list
// (srm.Party.Counted) is ErrProviderCarries; either way nothing changes.
// Those checks come before the version's: a stale save of a control the
// provider carries is ErrProviderCarries.
func (s *Store) RecordWork(ctx context.Context, workloadID, controlID int64, st srm.Status, newOwner srm.Owner, how SaveWork) (srm.Status, error) {
	return s.recordStatus(ctx, workloadID, controlID, st, newOwner, saveHow{customersOnly: true, keep: how.KeepDetails})
}

// saveHow are the switches of saveStatusSQL.
type saveHow struct{ customersOnly, keep bool }

func (s *Store) recordStatus(ctx context.Context, workloadID, controlID int64, st srm.Status, newOwner srm.Owner, how saveHow) (srm.Status, error) {
	if how.keep {
		// The defaults of a control without a status, taken when there is
		// none to keep.
		st.Note, st.Evidence, st.NotApplicable, st.NAReason = "", "", false, ""
	}
	args := pgx.NamedArgs{
		"workload": workloadID, "control": controlID, "version": st.Version,
		"owner": nil, "owner_name": nil, "owner_kind": nil,
		"complete": st.Complete, "note": st.Note, "evidence": st.Evidence,
		"not_applicable": st.NotApplicable, "na_reason": st.NAReason,
		"keep": how.keep, "customers_only": how.customersOnly, "customers": customerParties(),
	}
	if st.OwnerID > 0 {
		args["owner"] = st.OwnerID
	}
	if name := strings.TrimSpace(newOwner.Name); name != "" {
		args["owner_name"], args["owner_kind"] = name, string(newOwner.Kind)
	}
	args["parties"], args["na"], args["counted"], args["done"] = outcomesEitherWay(st)
	var saved savedStatusRow
	err := s.write(ctx, func(b *pgx.Batch) {
		b.Queue(saveStatusSQL, args).Query(func(rows pgx.Rows) (err error) {
			saved, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[savedStatusRow])
			return err
		})
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == foreignKeyViolation && pe.ConstraintName == "statuses_owner_id_fkey" {
			return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, ErrNoSuchOwner)
		}
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, translate(err))
	}
	switch {
	case saved.Stored:
		return saved.status(saved.OwnerName), nil
	case how.customersOnly && !saved.Assessed:
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: not assessed on it: %w", controlID, workloadID, srm.ErrNotFound)
	case how.customersOnly && !saved.Customers:
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, ErrProviderCarries)
	}
	stale := fmt.Errorf("store: save status of control %d, workload %d from version %d: %w",
		controlID, workloadID, st.Version, srm.ErrStale)
	switch {
	case saved.Found: // the row as it is now came back with the refusal
		return saved.status(saved.OwnerName), stale
	case st.Version != 0 && saved.CreatedOwner == 0: // no row: it went away meanwhile
		return srm.Status{}, stale
	}
	var cur savedStatusRow
	err = s.write(ctx, func(b *pgx.Batch) {
		b.Queue(currentStatusSQL, pgx.NamedArgs{"workload": workloadID, "control": controlID,
			"created_owner": saved.CreatedOwner}).Query(func(rows pgx.Rows) (err error) {
			cur, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[savedStatusRow])
			return err
		})
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows): // not saved, and no row to show: it went away meanwhile
		return srm.Status{}, stale
	case err != nil:
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, translate(err))
	}
	return cur.status(cur.OwnerName), stale
}

// WorkloadState is everything the workload page needs from the database:
// the workload, the catalog, the owners to choose from, and the customer's
// work and overrides.
type WorkloadState struct {
	Workload  srm.Workload // Frameworks set
	Catalog   Catalog
	Owners    []srm.Owner
	Statuses  map[int64]srm.Status // of every control, its frameworks' or not (of Layer's only, when set)
	Overrides map[int64]srm.Override

	// Layer, when set, is the one layer whose statuses Statuses holds
	// (WorkloadLayerState); Assess then assesses that layer's controls only.
	Layer srm.Layer
	// Progress is the workload's progress over all its controls, read from
	// the engine's stored answers, when Statuses holds only Layer's; nil
	// otherwise (tally the assignments).
	Progress *srm.WorkloadProgress
}

// Controls are the controls of the workload's frameworks: what the engine
// assesses it on.
func (ws WorkloadState) Controls() []srm.Control {
	return ws.Catalog.ControlsOf(ws.Workload.Frameworks)
}

// Assess runs the engine for the workload as its state stands in ws, under
// wl's model and baseline (which may differ from the stored workload's),
// on the controls ws holds the statuses of: every control of its
// frameworks, or those of ws.Layer.
func (ws WorkloadState) Assess(wl srm.Workload) (srm.Baseline, []srm.Assignment, error) {
	return ws.Catalog.AssessLayer(wl.BaselineID, ws.Workload.Frameworks, ws.Layer, wl.Model, ws.Overrides, ws.Statuses)
}

// statusArrays are a workload's statuses as WorkloadState reads them: one
// array per column, in the same order, so that hundreds of statuses come
// in one row instead of one row each (scanning a row per status was most
// of the page's time in pgx).
type statusArrays struct {
	ControlIDs, OwnerIDs, Versions []int64
	Complete, NotApplicable        []bool
	CompletedBy, Notes, Evidence   []string
	NAReasons                      []string
	CompletedAt                    []pgtype.Timestamptz
	UpdatedAt                      []time.Time
}

// statusArraysSQL aggregates the statuses of workload w.id as
// statusArrays; none is NULLs. The arrays are in the same order, whatever
// it is: one aggregate node feeds each the same rows in turn (an ORDER BY
// per array would sort the statuses eleven times). only, when not empty,
// is a further condition on the statuses s.
func statusArraysSQL(only string) string {
	where := `s.workload_id = w.id`
	if only != "" {
		where += ` AND (` + only + `)`
	}
	return `
	SELECT array_agg(s.control_id) AS control_ids, array_agg(COALESCE(s.owner_id, 0)) AS owner_ids,
	       array_agg(s.version) AS versions, array_agg(s.complete) AS complete,
	       array_agg(s.not_applicable) AS not_applicable, array_agg(s.completed_by) AS completed_by,
	       array_agg(s.note) AS notes, array_agg(s.evidence) AS evidence, array_agg(s.na_reason) AS na_reasons,
	       array_agg(s.completed_at) AS completed_at, array_agg(s.updated_at) AS updated_at
	FROM statuses s WHERE ` + where
}

// targets are a's fields in the order statusArraysSQL selects them.
func (a *statusArrays) targets() []any {
	return []any{&a.ControlIDs, &a.OwnerIDs, &a.Versions, &a.Complete, &a.NotApplicable, &a.CompletedBy, &a.Notes,
		&a.Evidence, &a.NAReasons, &a.CompletedAt, &a.UpdatedAt}
}

// statuses are a as statuses by control id, with their owners' names
// from names.
func (a *statusArrays) statuses(names map[int64]string) (map[int64]srm.Status, error) {
	n := len(a.ControlIDs)
	for _, l := range []int{len(a.OwnerIDs), len(a.Versions), len(a.Complete), len(a.NotApplicable), len(a.CompletedBy),
		len(a.Notes), len(a.Evidence), len(a.NAReasons), len(a.CompletedAt), len(a.UpdatedAt)} {
		if l != n {
			return nil, fmt.Errorf("statuses: columns of %d and %d values", n, l)
		}
	}
	out := make(map[int64]srm.Status, n)
	for i, cid := range a.ControlIDs {
		r := statusRow{ControlID: cid, OwnerID: a.OwnerIDs[i], Complete: a.Complete[i], CompletedBy: a.CompletedBy[i],
			CompletedAt: a.CompletedAt[i], Note: a.Notes[i], Evidence: a.Evidence[i], NotApplicable: a.NotApplicable[i],
			NAReason: a.NAReasons[i], Version: a.Versions[i], UpdatedAt: a.UpdatedAt[i]}
		out[cid] = r.status(names[r.OwnerID])
	}
	return out, nil
}

// WorkloadState loads one workload with its statuses and overrides in one
// statement, plus one each when the cached catalog or owners list is out of
// date. An unknown workload is an error wrapping srm.ErrNotFound.
func (s *Store) WorkloadState(ctx context.Context, id int64) (WorkloadState, error) {
	return s.workloadState(ctx, id, nil)
}

// WorkloadStateOf is WorkloadState with the statuses of the controls
// with ids controls only (those of them that have one): the workload, its
// frameworks and overrides, the owners and the catalog are all there, so
// that the engine (Catalog.Assess) gives every control its party and
// checklist place, but only the named controls have their status. A bulk
// action without JavaScript reads this rather than the whole workload: it
// looks at the rows the form names and then redirects, and a workload
// holds hundreds of statuses. As WorkloadState, one statement.
func (s *Store) WorkloadStateOf(ctx context.Context, id int64, controls []int64) (WorkloadState, error) {
	if controls == nil {
		controls = []int64{} // none, not all
	}
	return s.workloadState(ctx, id, controls)
}

// workloadState is WorkloadState, of the statuses of controls only unless
// controls is nil.
func (s *Store) workloadState(ctx context.Context, id int64, controls []int64) (WorkloadState, error) {
	only := ""
	if controls != nil {
		only = `s.control_id = ANY (@controls::bigint[])`
	}
	ws, _, err := s.readState(ctx, id, stateQuery{only: only, args: pgx.NamedArgs{"controls": controls}})
	return ws, err
}

// stateQuery is what a read of a workload's state asks for beyond the
// workload, its frameworks, overrides and the cache versions: a condition
// on the statuses (only; "" for all), and more columns with the lateral
// joins they need, scanned into more.
type stateQuery struct {
	only          string
	columns, from string
	args          pgx.NamedArgs
	more          []any
}

// readState reads workload id's state in one statement (plus one each
// when the cached catalog or owners list is out of date): one row with the
// workload, the cache versions, its frameworks, its overrides (as JSON,
// usually NULL), its statuses (statusArrays) and what q adds. Owners'
// names come from the cached owners list, which the row's owners_version
// keeps current. It returns the catalog version the statement saw. An
// unknown workload is an error wrapping srm.ErrNotFound.
func (s *Store) readState(ctx context.Context, id int64, q stateQuery) (WorkloadState, int64, error) {
	var (
		head                          workloadRow
		catalogVersion, ownersVersion int64
		overrides                     []byte
		frameworks                    []int64
		sa                            statusArrays
	)
	targets := append([]any{&head.ID, &head.Name, &head.Description, &head.Model, &head.BaselineID, &head.Version,
		&head.CreatedAt, &head.UpdatedAt, &catalogVersion, &ownersVersion, &overrides, &frameworks}, sa.targets()...)
	args := pgx.NamedArgs{"id": id}
	for k, v := range q.args {
		args[k] = v
	}
	err := s.db.QueryRow(ctx, `
		SELECT `+prefixed("w", workloadColumns)+`,
		       (SELECT version FROM catalog_version) AS catalog_version,
		       (SELECT owners_version FROM catalog_version) AS owners_version, o.overrides,
		       array(SELECT framework_id FROM workload_frameworks wf WHERE wf.workload_id = w.id ORDER BY 1) AS frameworks,
		       st.*`+q.columns+`
		FROM workloads w
		CROSS JOIN LATERAL (
			SELECT json_agg(json_build_object('control_id', control_id, 'party', party, 'reason', reason,
			                                  'created_at', created_at, 'version', version)) AS overrides
			FROM overrides WHERE workload_id = w.id
		) o
		CROSS JOIN LATERAL (`+statusArraysSQL(q.only)+`) st`+q.from+`
		WHERE w.id = @id`, args).Scan(append(targets, q.more...)...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return WorkloadState{}, 0, fmt.Errorf("store: workload %d: %w", id, srm.ErrNotFound)
	case err != nil:
		return WorkloadState{}, 0, fmt.Errorf("store: state of workload %d: %w", id, translate(err))
	}
	owners, err := s.ownersAt(ctx, ownersVersion)
	if err != nil {
		return WorkloadState{}, 0, err
	}
	wl := head.workload()
	wl.Frameworks = frameworks
	ws := WorkloadState{Workload: wl, Owners: slices.Clone(owners.owners)}
	if ws.Statuses, err = sa.statuses(owners.names); err != nil {
		return WorkloadState{}, 0, fmt.Errorf("store: state of workload %d: %w", id, err)
	}
	if ws.Overrides, err = decodeOverrides(id, overrides); err != nil {
		return WorkloadState{}, 0, fmt.Errorf("store: state of workload %d: %w", id, err)
	}
	if ws.Catalog, err = s.catalogAt(ctx, catalogVersion); err != nil {
		return WorkloadState{}, 0, err
	}
	return ws, catalogVersion, nil
}

// WorkloadLayerState is WorkloadState for a page that shows the controls of
// one layer: the statuses of that layer's controls only, and the
// workload's progress over all its controls (ws.Progress) read from the
// engine's answers the store keeps (layer_progress per layer; per
// framework, the assignments of every framework but the largest, whose
// progress is the rest), by the counting rule that wrote them. One
// statement, as WorkloadState, plus one each when a cache is out of date.
// The layer's controls come from the cached catalog; when the statement
// finds that catalog out of date it reads every status as well, and the
// state is WorkloadState's (Layer "" and Progress nil), so a catalog change
// costs no statement more. An unknown workload is an error wrapping
// srm.ErrNotFound.
func (s *Store) WorkloadLayerState(ctx context.Context, id int64, layer srm.Layer) (WorkloadState, error) {
	if !layer.Valid() {
		return s.WorkloadState(ctx, id)
	}
	cached, at, ok := s.catalog.current()
	if !ok {
		at = -1 // no catalog version is: read every status
	}
	plan := cached.layerPlan(layer)
	var (
		layers                               []string
		layerControls, layerTotal, layerDone []int
		sums                                 []int64
		sumControls, sumTotal, sumDone       []int
	)
	// The statuses of the layer's controls, or of every control when the
	// catalog is not the cached one (either way looked up by key); and the
	// workload's progress.
	ws, version, err := s.readState(ctx, id, stateQuery{
		only: `s.control_id = ANY (CASE WHEN (SELECT version FROM catalog_version) = @at THEN @ids::bigint[]
		                                ELSE (SELECT array_agg(c.id) FROM controls c) END)`,
		columns: `, p.layers, p.controls, p.total, p.done, f.frameworks, f.controls, f.total, f.done`,
		from: `
		CROSS JOIN LATERAL (
			SELECT array_agg(layer) AS layers, array_agg(controls) AS controls, array_agg(total) AS total, array_agg(done) AS done
			FROM layer_progress WHERE workload_id = w.id
		) p
		CROSS JOIN LATERAL (
			SELECT array_agg(framework_id) AS frameworks, array_agg(controls) AS controls, array_agg(total) AS total,
			       array_agg(done) AS done
			FROM (SELECT u.framework_id, count(*)::int AS controls, sum(a.counted::int)::int AS total, sum(a.done::int)::int AS done
			      FROM assignments a
			      JOIN unnest(@sampled::bigint[], @of::bigint[]) AS u (control_id, framework_id) ON u.control_id = a.control_id
			      WHERE a.workload_id = w.id AND a.control_id = ANY(@sampled::bigint[])
			      GROUP BY u.framework_id) s
		) f`,
		args: pgx.NamedArgs{"ids": plan.ids, "sampled": plan.sampled, "of": plan.of, "at": at},
		more: []any{&layers, &layerControls, &layerTotal, &layerDone, &sums, &sumControls, &sumTotal, &sumDone},
	})
	if err != nil || version != at {
		// The cached catalog was not the statement's: every status came.
		return ws, err
	}
	ws.Layer = layer
	p := srm.WorkloadProgress{Layers: make([]srm.LayerProgress, len(srm.Layers)), Frameworks: map[int64]srm.FrameworkProgress{}}
	for i, l := range srm.Layers {
		p.Layers[i].Layer = l
	}
	for i, l := range layers {
		if j := srm.Layer(l).Index(); j >= 0 {
			p.Layers[j].Controls, p.Layers[j].Progress = layerControls[i], srm.Progress{Done: layerDone[i], Total: layerTotal[i]}
		}
	}
	rest := srm.FrameworkProgress{Progress: p.All(), Controls: p.Controls()}
	for i, f := range sums {
		fp := srm.FrameworkProgress{Controls: sumControls[i], Progress: srm.Progress{Done: sumDone[i], Total: sumTotal[i]}}
		p.Frameworks[f] = fp
		rest.Controls -= fp.Controls
		rest.Progress = srm.Progress{Done: rest.Progress.Done - fp.Progress.Done, Total: rest.Progress.Total - fp.Progress.Total}
	}
	if rest.Controls > 0 {
		p.Frameworks[plan.largest] = rest
	}
	ws.Progress = &p
	return ws, nil
}

// decodeOverrides reads a workload's overrides as WorkloadState's query
// aggregates them: a JSON array, or NULL for none.
func decodeOverrides(workloadID int64, raw []byte) (map[int64]srm.Override, error) {
	out := map[int64]srm.Override{}
	if raw == nil {
		return out, nil
	}
	var rows []struct {
		ControlID int64     `json:"control_id"`
		Party     string    `json:"party"`
		Reason    string    `json:"reason"`
		CreatedAt time.Time `json:"created_at"`
		Version   int64     `json:"version"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("overrides: %w", err)
	}
	for _, o := range rows {
		out[o.ControlID] = srm.Override{WorkloadID: workloadID, ControlID: o.ControlID, Party: srm.Party(o.Party),
			Reason: o.Reason, CreatedAt: o.CreatedAt, Version: o.Version}
	}
	return out, nil
}

// Overrides returns the workload's departures from its baseline, keyed by
// control id.
func (s *Store) Overrides(ctx context.Context, workloadID int64) (map[int64]srm.Override, error) {
	rows, err := s.db.Query(ctx, `
		SELECT control_id, party, reason, created_at, version FROM overrides WHERE workload_id = $1`, workloadID)
	if err != nil {
		return nil, fmt.Errorf("store: overrides of workload %d: %w", workloadID, err)
	}
	out := map[int64]srm.Override{}
	var o srm.Override
	var party string
	_, err = pgx.ForEachRow(rows, []any{&o.ControlID, &party, &o.Reason, &o.CreatedAt, &o.Version}, func() error {
		o.WorkloadID, o.Party = workloadID, srm.Party(party)
		out[o.ControlID] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: overrides of workload %d: %w", workloadID, err)
	}
	return out, nil
}

// SetOverride records the override of one control of one workload, or
// replaces it, and reassesses that control. It is conditional on o.Version
// (0: there is no override yet); when someone saved in between the error
// wraps srm.ErrStale. Unknown ids are an error wrapping srm.ErrNotFound.
func (s *Store) SetOverride(ctx context.Context, o srm.Override) error {
	err := s.changeOverride(ctx, o.WorkloadID, o.ControlID, func(tx pgx.Tx) (bool, error) {
		args := pgx.NamedArgs{"workload": o.WorkloadID, "control": o.ControlID, "party": string(o.Party),
			"reason": o.Reason, "version": o.Version}
		sql := `
			UPDATE overrides SET party = @party, reason = @reason, created_at = now(), version = version + 1
			WHERE workload_id = @workload AND control_id = @control AND version = @version`
		if o.Version == 0 {
			sql = `
				INSERT INTO overrides (workload_id, control_id, party, reason)
				VALUES (@workload, @control, @party, @reason)
				ON CONFLICT (workload_id, control_id) DO NOTHING`
		}
		tag, err := tx.Exec(ctx, sql, args)
		return tag.RowsAffected() > 0, err
	})
	switch {
	case errors.Is(err, errUnchanged):
		return fmt.Errorf("store: override control %d of workload %d from version %d: %w", o.ControlID, o.WorkloadID, o.Version, srm.ErrStale)
	case err != nil:
		return fmt.Errorf("store: override control %d of workload %d: %w", o.ControlID, o.WorkloadID, translate(err))
	}
	return nil
}

// DeleteOverride returns one control of one workload to its baseline. There
// being no override is not an error.
func (s *Store) DeleteOverride(ctx context.Context, workloadID, controlID int64) error {
	err := s.changeOverride(ctx, workloadID, controlID, func(tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, `DELETE FROM overrides WHERE workload_id = @workload AND control_id = @control`,
			pgx.NamedArgs{"workload": workloadID, "control": controlID})
		return tag.RowsAffected() > 0, err
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return fmt.Errorf("store: clear override of control %d, workload %d: %w", controlID, workloadID, translate(err))
	}
	return nil
}

// errUnchanged is what changeOverride returns when write changed nothing.
var errUnchanged = errors.New("unchanged")

// changeOverride runs write in a transaction that holds the catalog and the
// workload's row, then reassesses the control when write changed a row.
func (s *Store) changeOverride(ctx context.Context, workloadID, controlID int64, write func(tx pgx.Tx) (bool, error)) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		cat, err := s.holdCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM workloads WHERE id = $1 FOR NO KEY UPDATE`, workloadID); err != nil {
			return err
		}
		changed, err := write(tx)
		if err != nil {
			return err
		}
		if !changed {
			return errUnchanged
		}
		c, ok := cat.Control(controlID)
		if !ok {
			return fmt.Errorf("control %d: %w", controlID, srm.ErrNotFound)
		}
		return reassess(ctx, tx, cat, []int64{workloadID}, []srm.Control{c}, false)
	})
}

// PortfolioProgress returns the progress of every workload together, per
// layer in the order of srm.Layers, by the counting rule, and the number of
// workloads in the portfolio.
func (s *Store) PortfolioProgress(ctx context.Context) ([]srm.LayerProgress, int, error) {
	p, err := s.Portfolio(ctx)
	return p.Layers, p.Workloads, err
}

// Portfolio is what the portfolio page shows above its list.
type Portfolio struct {
	Layers    []srm.LayerProgress // every workload together, in the order of srm.Layers
	Workloads int                 // in the portfolio
	// Frameworks are the frameworks a workload can be held to, to filter
	// the list by (Slug and Name set); none when there is no workload.
	Frameworks []srm.Framework
}

// Portfolio returns the progress of every workload together (as
// PortfolioProgress) and the frameworks, in one statement.
func (s *Store) Portfolio(ctx context.Context) (Portfolio, error) {
	rows, err := s.db.Query(ctx, `
		SELECT layer, sum(controls)::int, sum(total)::int, sum(done)::int,
		       (SELECT sum(workloads) FROM portfolio_shards WHERE layer = $1)::int,
		       (SELECT json_agg(json_build_object('slug', f.slug, 'name', f.name) ORDER BY f.position, f.id)
		        FROM public.frameworks f)
		FROM portfolio_shards
		GROUP BY layer`, countedLayer)
	if err != nil {
		return Portfolio{}, fmt.Errorf("store: portfolio progress: %w", err)
	}
	out := Portfolio{Layers: make([]srm.LayerProgress, len(srm.Layers))}
	for i, l := range srm.Layers {
		out.Layers[i].Layer = l
	}
	var (
		layer      string
		lp         srm.LayerProgress
		frameworks []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&layer, &lp.Controls, &lp.Progress.Total, &lp.Progress.Done, &out.Workloads, &frameworks}, func() error {
		if i := srm.Layer(layer).Index(); i >= 0 {
			lp.Layer = srm.Layer(layer)
			out.Layers[i] = lp
		}
		return nil
	})
	if err != nil {
		return Portfolio{}, fmt.Errorf("store: portfolio progress: %w", err)
	}
	if len(frameworks) > 0 {
		if err := json.Unmarshal(frameworks, &out.Frameworks); err != nil {
			return Portfolio{}, fmt.Errorf("store: portfolio frameworks: %w", err)
		}
	}
	return out, nil
}
