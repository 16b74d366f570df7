package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/srmhq/srm"
)

// Statuses returns the customer's work on every control of a workload that
// has any, keyed by control id.
func (s *Store) Statuses(ctx context.Context, workloadID int64) (map[int64]srm.Status, error) {
	rows, err := s.db.Query(ctx, `
		SELECT s.control_id, COALESCE(s.owner_id, 0), COALESCE(o.name, ''), s.complete, s.completed_by,
		       s.completed_at, s.note, s.evidence, s.not_applicable, s.na_reason, s.version, s.updated_at
		FROM statuses s
		LEFT JOIN owners o ON o.id = s.owner_id
		WHERE s.workload_id = $1`, workloadID)
	if err != nil {
		return nil, fmt.Errorf("store: statuses of workload %d: %w", workloadID, err)
	}
	out := map[int64]srm.Status{}
	var (
		cid int64
		st  srm.Status
		at  *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&cid, &st.OwnerID, &st.OwnerName, &st.Complete, &st.CompletedBy,
		&at, &st.Note, &st.Evidence, &st.NotApplicable, &st.NAReason, &st.Version, &st.UpdatedAt}, func() error {
		st.CompletedAt = time.Time{}
		if at != nil {
			st.CompletedAt = *at
		}
		out[cid] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: statuses of workload %d: %w", workloadID, err)
	}
	return out, nil
}

// ErrNoSuchOwner is returned when a status names an owner that does not
// exist (any more). It wraps srm.ErrNotFound.
var ErrNoSuchOwner = fmt.Errorf("owner: %w", srm.ErrNotFound)

// SaveStatus records the customer's work on one control of one workload,
// whatever its version: for loading data, not for people's edits. See
// RecordStatus.
func (s *Store) SaveStatus(ctx context.Context, workloadID, controlID int64, st srm.Status) error {
	_, err := s.recordStatus(ctx, workloadID, controlID, st, srm.Owner{}, false)
	return err
}

// RecordStatus records the customer's work on one control of one workload
// in one statement and returns it as saved. When newOwner has a name, that
// owner is found (ignoring case) or created and takes the control. Ticking
// complete stamps who (the owner at that moment) and when; the stamp stays
// while it remains ticked and is cleared when it is unticked. The save is
// conditional on st.Version (0: there is no status yet): when someone saved
// in between, nothing changes, the error wraps srm.ErrStale and the status
// returned is the one stored now, so the caller can show it. An unknown
// owner is ErrNoSuchOwner; an unknown workload or control an error wrapping
// srm.ErrNotFound.
func (s *Store) RecordStatus(ctx context.Context, workloadID, controlID int64, st srm.Status, newOwner srm.Owner) (srm.Status, error) {
	return s.recordStatus(ctx, workloadID, controlID, st, newOwner, true)
}

func (s *Store) recordStatus(ctx context.Context, workloadID, controlID int64, st srm.Status, newOwner srm.Owner, conditional bool) (srm.Status, error) {
	var owner *int64
	if st.OwnerID > 0 {
		owner = &st.OwnerID
	}
	var newName, newKind *string
	if newOwner.Name != "" {
		name, kind := strings.TrimSpace(newOwner.Name), string(newOwner.Kind)
		newName, newKind = &name, &kind
	}
	var (
		out    srm.Status
		at     *time.Time
		stored bool
	)
	// record_status (migration 000004) does the whole save in one round
	// trip: the version check, the owner, the upsert, and on a refusal the
	// row as the winner left it.
	err := s.db.QueryRow(ctx, `
		SELECT stored, owner_id, owner_name, complete, completed_by, completed_at, note, evidence,
		       not_applicable, na_reason, version, updated_at
		FROM record_status($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		actorJSON(ctx), workloadID, controlID, owner, newName, newKind, st.Complete, st.Note, st.Evidence, st.NotApplicable, st.NAReason,
		st.Version, conditional,
	).Scan(&stored, &out.OwnerID, &out.OwnerName, &out.Complete, &out.CompletedBy, &at, &out.Note, &out.Evidence,
		&out.NotApplicable, &out.NAReason, &out.Version, &out.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) { // not saved, and no row to show: it went away meanwhile
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d from version %d: %w",
			controlID, workloadID, st.Version, srm.ErrStale)
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == foreignKeyViolation && pe.ConstraintName == "statuses_owner_id_fkey" {
			return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, ErrNoSuchOwner)
		}
		return srm.Status{}, fmt.Errorf("store: save status of control %d, workload %d: %w", controlID, workloadID, translate(err))
	}
	if at != nil {
		out.CompletedAt = *at
	}
	if out.OwnerID == 0 {
		out.OwnerName = ""
	}
	if !stored {
		return out, fmt.Errorf("store: save status of control %d, workload %d from version %d: %w",
			controlID, workloadID, st.Version, srm.ErrStale)
	}
	return out, nil
}

// WorkloadState is everything the workload page needs from the database:
// the workload, the catalog, the owners to choose from, and the customer's
// work and overrides.
type WorkloadState struct {
	Workload  srm.Workload
	Catalog   *Catalog
	Owners    []srm.Owner
	Statuses  map[int64]srm.Status
	Overrides map[int64]srm.Override
}

// WorkloadState loads one workload with its statuses and overrides in one
// statement, plus one each when the cached catalog or owners list is out of
// date. An unknown workload is an error wrapping srm.ErrNotFound.
func (s *Store) WorkloadState(ctx context.Context, id int64) (WorkloadState, error) {
	// One row per status, each carrying the workload, the cache versions
	// and the overrides (as JSON, usually NULL); a workload without
	// statuses gives one row whose control is 0. Owners' names come from
	// the cached owners list, which the row's owners_version keeps current.
	rows, err := s.db.Query(ctx, `
		SELECT `+prefixed("w", workloadColumns)+`,
		       (SELECT version FROM catalog_version), (SELECT owners_version FROM catalog_version), o.overrides,
		       COALESCE(s.control_id, 0), COALESCE(s.owner_id, 0), COALESCE(s.complete, false),
		       COALESCE(s.completed_by, ''), s.completed_at, COALESCE(s.note, ''), COALESCE(s.evidence, ''),
		       COALESCE(s.not_applicable, false), COALESCE(s.na_reason, ''), COALESCE(s.version, 0),
		       COALESCE(s.updated_at, now())
		FROM workloads w
		CROSS JOIN LATERAL (
			SELECT json_agg(json_build_object('control_id', control_id, 'party', party, 'reason', reason,
			                                  'created_at', created_at, 'version', version)) AS overrides
			FROM overrides WHERE workload_id = w.id
		) o
		LEFT JOIN statuses s ON s.workload_id = w.id
		WHERE w.id = $1`, id)
	if err != nil {
		return WorkloadState{}, fmt.Errorf("store: workload %d: %w", id, translate(err))
	}
	var (
		r             workloadRow
		version       int64
		ownersVersion int64
		overrides     []byte
		cid           int64
		st            srm.Status
		at            pgtype.Timestamptz
		found         bool
	)
	ws := WorkloadState{Statuses: make(map[int64]srm.Status, 32)}
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Name, &r.Description, &r.Model, &r.BaselineID, &r.Version,
		&r.CreatedAt, &r.UpdatedAt, &version, &ownersVersion, &overrides,
		&cid, &st.OwnerID, &st.Complete, &st.CompletedBy, &at, &st.Note, &st.Evidence, &st.NotApplicable,
		&st.NAReason, &st.Version, &st.UpdatedAt}, func() error {
		found = true
		if cid == 0 {
			return nil
		}
		st.CompletedAt = time.Time{}
		if at.Valid {
			st.CompletedAt = at.Time
		}
		ws.Statuses[cid] = st
		return nil
	})
	if err != nil {
		return WorkloadState{}, fmt.Errorf("store: state of workload %d: %w", id, translate(err))
	}
	if !found {
		return WorkloadState{}, fmt.Errorf("store: workload %d: %w", id, srm.ErrNotFound)
	}
	ws.Workload = r.workload()
	if ws.Overrides, err = decodeOverrides(id, overrides); err != nil {
		return WorkloadState{}, fmt.Errorf("store: state of workload %d: %w", id, err)
	}
	owners, err := s.ownersAt(ctx, ownersVersion)
	if err != nil {
		return WorkloadState{}, err
	}
	ws.Owners = owners.owners
	for cid, st := range ws.Statuses {
		if st.OwnerID != 0 {
			st.OwnerName = owners.names[st.OwnerID]
			ws.Statuses[cid] = st
		}
	}
	if ws.Catalog, err = s.catalogAt(ctx, version); err != nil {
		return WorkloadState{}, err
	}
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
// replaces it. It is conditional on o.Version (0: there is no override
// yet); when someone saved in between the error wraps srm.ErrStale. Unknown
// ids are an error wrapping srm.ErrNotFound.
func (s *Store) SetOverride(ctx context.Context, o srm.Override) error {
	var tag pgconn.CommandTag
	var err error
	if o.Version == 0 {
		tag, err = s.exec(ctx, `
			INSERT INTO overrides (workload_id, control_id, party, reason)
			SELECT $1::bigint, $2::bigint, $3::text, $4::text FROM actor
			ON CONFLICT (workload_id, control_id) DO NOTHING`,
			o.WorkloadID, o.ControlID, o.Party, o.Reason)
	} else {
		tag, err = s.exec(ctx, `
			UPDATE overrides SET party = $3, reason = $4, created_at = now(), version = version + 1
			FROM actor
			WHERE workload_id = $1 AND control_id = $2 AND version = $5`,
			o.WorkloadID, o.ControlID, o.Party, o.Reason, o.Version)
	}
	if err != nil {
		return fmt.Errorf("store: override control %d of workload %d: %w", o.ControlID, o.WorkloadID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: override control %d of workload %d from version %d: %w", o.ControlID, o.WorkloadID, o.Version, srm.ErrStale)
	}
	return nil
}

// DeleteOverride returns one control of one workload to its baseline. There
// being no override is not an error.
func (s *Store) DeleteOverride(ctx context.Context, workloadID, controlID int64) error {
	_, err := s.exec(ctx, `DELETE FROM overrides USING actor WHERE workload_id = $1 AND control_id = $2`, workloadID, controlID)
	if err != nil {
		return fmt.Errorf("store: clear override of control %d, workload %d: %w", controlID, workloadID, err)
	}
	return nil
}

// PortfolioProgress returns the progress of every workload together, per
// layer in the order of srm.Layers, by the counting rule, and the number of
// workloads in the portfolio.
func (s *Store) PortfolioProgress(ctx context.Context) ([]srm.LayerProgress, int, error) {
	rows, err := s.db.Query(ctx, `
		SELECT layer, sum(controls)::int, sum(total)::int, sum(done)::int,
		       (SELECT sum(workloads) FROM portfolio_shards WHERE layer = 'physical')::int
		FROM portfolio_shards
		GROUP BY layer`)
	if err != nil {
		return nil, 0, fmt.Errorf("store: portfolio progress: %w", err)
	}
	out := make([]srm.LayerProgress, len(srm.Layers))
	for i, l := range srm.Layers {
		out[i].Layer = l
	}
	var (
		layer     string
		lp        srm.LayerProgress
		workloads int
	)
	_, err = pgx.ForEachRow(rows, []any{&layer, &lp.Controls, &lp.Progress.Total, &lp.Progress.Done, &workloads}, func() error {
		if i := srm.Layer(layer).Index(); i >= 0 {
			lp.Layer = srm.Layer(layer)
			out[i] = lp
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("store: portfolio progress: %w", err)
	}
	return out, workloads, nil
}
